import ij.ImagePlus;
import ij.io.FileSaver;
import ij.measure.Calibration;
import ij.process.ShortProcessor;

import java.util.Random;

/**
 * Writes the example image {@code sample-cells.tif}: a seeded, synthetic 16-bit fluorescence-like
 * image of 64 × 64 pixels at 0.1 µm per pixel, with round blobs (nuclei or vesicles), curved
 * filaments, a camera offset, shot noise and read noise. Same seed, same file: StrictMath and
 * java.util.Random give the same numbers on every JVM.
 *
 * <pre>
 * java -cp ~/.m2/repository/net/imagej/ij/1.54f/ij-1.54f.jar examples/SyntheticCells.java examples/sample-cells.tif
 * </pre>
 */
public class SyntheticCells {

    static final int SIZE = 64;
    static final long SEED = 20250401L;
    static final double PIXEL_SIZE_UM = 0.1;
    static final double CAMERA_OFFSET = 100;
    static final double READ_NOISE = 6;

    public static void main(String[] args) {
        if (args.length != 1) {
            System.err.println("usage: java -cp ij.jar examples/SyntheticCells.java OUT.tif");
            System.exit(2);
        }
        ImagePlus image = create();
        if (!new FileSaver(image).saveAsTiff(args[0])) {
            System.err.println("Cannot write " + args[0]);
            System.exit(1);
        }
    }

    /** Builds the image in memory, title {@code sample-cells}. */
    public static ImagePlus create() {
        Random random = new Random(SEED);
        double[] signal = new double[SIZE * SIZE];
        for (int blob = 0; blob < 9; blob++) {
            addGaussian(signal, 6 + random.nextDouble() * (SIZE - 12), 6 + random.nextDouble() * (SIZE - 12),
                    1.5 + random.nextDouble() * 2.5, 600 + random.nextDouble() * 1400);
        }
        for (int filament = 0; filament < 5; filament++) {
            addFilament(signal, random);
        }
        short[] pixels = new short[SIZE * SIZE];
        for (int i = 0; i < pixels.length; i++) {
            // Shot noise as a Gaussian with variance equal to the signal, plus camera read noise.
            double value = CAMERA_OFFSET + signal[i] + StrictMath.sqrt(signal[i]) * random.nextGaussian()
                    + READ_NOISE * random.nextGaussian();
            pixels[i] = (short) Math.max(0, Math.min(65535, Math.round(value)));
        }
        ImagePlus image = new ImagePlus("sample-cells", new ShortProcessor(SIZE, SIZE, pixels, null));
        Calibration calibration = image.getCalibration();
        calibration.pixelWidth = PIXEL_SIZE_UM;
        calibration.pixelHeight = PIXEL_SIZE_UM;
        calibration.setUnit("micron");
        image.resetDisplayRange();
        return image;
    }

    private static void addGaussian(double[] signal, double cx, double cy, double sigma, double peak) {
        for (int y = 0; y < SIZE; y++) {
            for (int x = 0; x < SIZE; x++) {
                double dx = x - cx;
                double dy = y - cy;
                signal[y * SIZE + x] += peak * StrictMath.exp(-(dx * dx + dy * dy) / (2 * sigma * sigma));
            }
        }
    }

    /** Adds a filament: a random walk with slowly turning direction, drawn as a chain of thin spots. */
    private static void addFilament(double[] signal, Random random) {
        double x = random.nextDouble() * SIZE;
        double y = random.nextDouble() * SIZE;
        double angle = random.nextDouble() * 2 * Math.PI;
        double peak = 150 + random.nextDouble() * 250;
        for (int step = 0; step < 90; step++) {
            addGaussian(signal, x, y, 0.8, peak);
            angle += 0.15 * random.nextGaussian();
            x += 0.7 * StrictMath.cos(angle);
            y += 0.7 * StrictMath.sin(angle);
        }
    }
}
