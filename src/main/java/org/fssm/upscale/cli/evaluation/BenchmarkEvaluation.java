package org.fssm.upscale.cli.evaluation;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Stream;

import ij.ImagePlus;
import ij.process.ColorProcessor;

import net.imglib2.RandomAccessibleInterval;
import net.imglib2.img.array.ArrayImgs;
import net.imglib2.type.numeric.RealType;
import net.imglib2.type.numeric.real.FloatType;

import org.fssm.upscale.cli.ImageFiles;
import org.fssm.upscale.cli.evaluation.LumaMetrics.Score;
import org.fssm.upscale.cli.evaluation.MatlabBicubic.Plane;
import org.fssm.upscale.engine.FssmUpscaler;
import org.fssm.upscale.engine.Normalization;
import org.fssm.upscale.engine.PlaneJob;
import org.fssm.upscale.engine.ProgressListener;
import org.fssm.upscale.engine.UpscaleException;

/**
 * The benchmark protocol of super-resolution papers, the same steps as {@code fssm.evaluate} of the
 * Python package: read the high-resolution (HR) image as RGB, crop it to a multiple of the scale,
 * make the low-resolution (LR) input by bicubic downscaling rounded to 8-bit, upscale it with
 * bicubic and with the network, round both results to 8-bit and compare them with the HR image on
 * luma ({@link LumaMetrics}).
 */
public final class BenchmarkEvaluation {

    /** Suffixes of the images taken from a benchmark folder, as in the Python evaluation. */
    static final Set<String> IMAGE_SUFFIXES = Set.of("png", "bmp", "jpg", "jpeg", "tif", "tiff");

    private BenchmarkEvaluation() {
    }

    /** Scores of one image; {@code model} is null when only bicubic was measured. */
    public record ImageScore(String name, Score bicubic, Score model) {
    }

    /** Returns the image files directly inside a folder, sorted by name. */
    public static List<Path> listImages(Path folder) {
        if (!Files.isDirectory(folder)) {
            throw new UpscaleException("Benchmark folder not found: " + folder + ".");
        }
        try (Stream<Path> files = Files.list(folder)) {
            List<Path> images = files.filter(Files::isRegularFile).filter(BenchmarkEvaluation::hasImageSuffix)
                    .sorted().toList();
            if (images.isEmpty()) {
                throw new UpscaleException("No images (" + String.join(", ", IMAGE_SUFFIXES.stream().sorted().toList())
                        + ") found in " + folder + ".");
            }
            return images;
        } catch (IOException e) {
            throw new UpscaleException("Cannot list the benchmark folder " + folder + ": " + e + ".", e);
        }
    }

    private static boolean hasImageSuffix(Path file) {
        String name = file.getFileName().toString();
        int dot = name.lastIndexOf('.');
        return dot >= 0 && IMAGE_SUFFIXES.contains(name.substring(dot + 1).toLowerCase(Locale.ROOT));
    }

    /**
     * Scores one HR image.
     *
     * @param model the network, or null to measure bicubic only
     */
    public static ImageScore evaluate(Path file, int scale, FssmUpscaler model) {
        Plane[] hr = modcrop(loadRgb(file), scale);
        Plane[] lr = makeLr(hr, scale);
        Score bicubic = LumaMetrics.compare(hr, bicubic(lr, scale), scale);
        Score network = model == null ? null : LumaMetrics.compare(hr, superResolve(model, lr, scale), scale);
        return new ImageScore(file.getFileName().toString(), bicubic, network);
    }

    /**
     * Reads an 8-bit grey, indexed-colour or RGB image as three planes of levels 0–255; grey is
     * replicated and a palette is applied.
     */
    static Plane[] loadRgb(Path file) {
        ImagePlus image = ImageFiles.open(file);
        if (image.getBitDepth() != 8 && image.getBitDepth() != 24) {
            throw new UpscaleException(file.getFileName() + " is a " + image.getBitDepth()
                    + "-bit image; benchmark images must be 8-bit grey or RGB.");
        }
        ColorProcessor rgb = image.getProcessor().convertToColorProcessor();
        int size = rgb.getPixelCount();
        byte[] r = new byte[size];
        byte[] g = new byte[size];
        byte[] b = new byte[size];
        rgb.getRGB(r, g, b);
        return new Plane[] {levels(r, rgb.getWidth(), rgb.getHeight()), levels(g, rgb.getWidth(), rgb.getHeight()),
                levels(b, rgb.getWidth(), rgb.getHeight())};
    }

    private static Plane levels(byte[] bytes, int width, int height) {
        double[] values = new double[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            values[i] = bytes[i] & 0xff;
        }
        return new Plane(values, width, height);
    }

    /** Crops the bottom and right edges so that width and height are multiples of the scale. */
    static Plane[] modcrop(Plane[] rgb, int scale) {
        int width = rgb[0].width() - rgb[0].width() % scale;
        int height = rgb[0].height() - rgb[0].height() % scale;
        if (width == 0 || height == 0) {
            throw new UpscaleException("A " + rgb[0].width() + " × " + rgb[0].height()
                    + " image is smaller than the scale " + scale + ".");
        }
        Plane[] cropped = new Plane[rgb.length];
        for (int c = 0; c < rgb.length; c++) {
            double[] values = new double[width * height];
            for (int y = 0; y < height; y++) {
                System.arraycopy(rgb[c].values(), y * rgb[c].width(), values, y * width, width);
            }
            cropped[c] = new Plane(values, width, height);
        }
        return cropped;
    }

    /** Makes the LR input: bicubic downscaling with antialiasing, rounded to 8-bit levels. */
    static Plane[] makeLr(Plane[] hr, int scale) {
        Plane[] lr = new Plane[hr.length];
        for (int c = 0; c < hr.length; c++) {
            lr[c] = MatlabBicubic.roundToLevels(MatlabBicubic.downscale(hr[c], scale));
        }
        return lr;
    }

    /**
     * Upscales with bicubic and rounds to 8-bit. The detour through [0, 1] repeats the Python
     * baseline's arithmetic, which hands its result to the rounding as value / 255 · 255.
     */
    static Plane[] bicubic(Plane[] lr, int scale) {
        Plane[] sr = new Plane[lr.length];
        for (int c = 0; c < lr.length; c++) {
            double[] values = MatlabBicubic.upscale(lr[c], scale).values().clone();
            for (int i = 0; i < values.length; i++) {
                values[i] = values[i] / 255.0 * 255.0;
            }
            sr[c] = MatlabBicubic.roundToLevels(new Plane(values, lr[c].width() * scale, lr[c].height() * scale));
        }
        return sr;
    }

    /** Upscales the LR image with the network through the engine's RGB path and rounds to 8-bit. */
    static Plane[] superResolve(FssmUpscaler model, Plane[] lr, int scale) {
        int width = lr[0].width();
        int height = lr[0].height();
        List<RandomAccessibleInterval<? extends RealType<?>>> inputs = new ArrayList<>();
        List<RandomAccessibleInterval<FloatType>> outputs = new ArrayList<>();
        List<float[]> outputPixels = new ArrayList<>();
        for (Plane colour : lr) {
            float[] pixels = new float[width * height];
            for (int i = 0; i < pixels.length; i++) {
                pixels[i] = (float) colour.values()[i];
            }
            inputs.add(ArrayImgs.floats(pixels, width, height));
            float[] output = new float[width * scale * height * scale];
            outputPixels.add(output);
            outputs.add(ArrayImgs.floats(output, width * scale, height * scale));
        }
        Normalization levels = Normalization.UNSIGNED_BYTE;
        PlaneJob job = new PlaneJob(inputs, List.of(levels, levels, levels), outputs);
        model.run(List.of(job), ProgressListener.NONE);

        Plane[] sr = new Plane[lr.length];
        for (int c = 0; c < lr.length; c++) {
            float[] output = outputPixels.get(c);
            double[] values = new double[output.length];
            for (int i = 0; i < values.length; i++) {
                values[i] = output[i];
            }
            sr[c] = MatlabBicubic.roundToLevels(new Plane(values, width * scale, height * scale));
        }
        return sr;
    }
}
