package org.fssm.upscale.bench;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import ij.IJ;
import ij.ImagePlus;
import ij.gui.Roi;
import ij.process.ShortProcessor;

import net.imglib2.Cursor;
import net.imglib2.RandomAccessibleInterval;
import net.imglib2.img.array.ArrayImgs;
import net.imglib2.type.numeric.integer.UnsignedByteType;
import net.imglib2.type.numeric.real.FloatType;
import net.imglib2.view.Views;

import org.fssm.upscale.engine.Device;
import org.fssm.upscale.engine.FssmUpscaler;
import org.fssm.upscale.engine.LoadedModel;
import org.fssm.upscale.engine.ModelCache;
import org.fssm.upscale.engine.ModelSource;
import org.fssm.upscale.engine.ProgressListener;
import org.fssm.upscale.engine.UpscaleCancelledException;
import org.fssm.upscale.engine.UpscaleSettings;
import org.fssm.upscale.imagej.ImagePlusUpscaler;
import org.fssm.upscale.imagej.OutputType;

/**
 * Benchmark of the Java plugin; {@code src/test/bench/run-benchmark.sh} runs every part in its own
 * JVM and prints Markdown for docs/benchmarks.md.
 *
 * <pre>
 * Benchmark inference MODEL SIZE PYTHON SCRIPT   Java vs Python TorchScript on one SIZE x SIZE input
 * Benchmark tiling MODEL IMAGE                   untiled vs default tiles on a 256 x 256 image
 * Benchmark memory MODEL SIZE IMAGE16 [TILES]    peak resident memory of a SIZE x SIZE 16-bit x2 run,
 *                                                traced per tile (TILES stops the run after that many)
 * Benchmark leak MODEL RUNS IMAGE [SIZE]         resident memory over RUNS x2 runs of a SIZE x SIZE crop
 * </pre>
 */
public final class Benchmark {

    private static final int WARMUP = 2;
    private static final int RUNS = 3;

    private Benchmark() {
    }

    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "inference" -> inference(Path.of(args[1]), Integer.parseInt(args[2]), args[3], args[4]);
            case "tiling" -> tiling(Path.of(args[1]), args[2]);
            case "memory" -> memory(Path.of(args[1]), Integer.parseInt(args[2]), args[3],
                    args.length > 4 ? Integer.parseInt(args[4]) : Integer.MAX_VALUE);
            case "leak" -> leak(Path.of(args[1]), Integer.parseInt(args[2]), args[3],
                    args.length > 4 ? Integer.parseInt(args[4]) : 256);
            default -> throw new IllegalArgumentException("Unknown part " + args[0]);
        }
        ModelCache.clear();
    }

    private static void inference(Path model, int size, String python, String script) throws Exception {
        float[] input = new float[3 * size * size];
        Random random = new Random(0);
        for (int i = 0; i < input.length; i++) {
            input[i] = random.nextFloat();
        }
        Path inputFile = Files.createTempFile("fssm-bench-", ".f32");
        ByteBuffer bytes = ByteBuffer.allocate(4 * input.length).order(ByteOrder.LITTLE_ENDIAN);
        bytes.asFloatBuffer().put(input);
        Files.write(inputFile, bytes.array());

        LoadedModel loaded = ModelCache.get(ModelSource.file(model), ai.djl.Device.cpu());
        float[] output = new float[input.length * loaded.scale() * loaded.scale()];
        List<Double> javaRuns = new ArrayList<>();
        for (int i = 0; i < WARMUP + RUNS; i++) {
            long start = System.nanoTime();
            loaded.run(input, 1, size, size, output);
            if (i >= WARMUP) {
                javaRuns.add((System.nanoTime() - start) / 1e9);
            }
        }
        ModelCache.clear();
        double javaMedian = median(javaRuns);

        String threads = System.getProperty("ai.djl.pytorch.num_threads", "default");
        Process process = new ProcessBuilder(python, script, "time", model.toString(), inputFile.toString(), "1",
                String.valueOf(size), String.valueOf(size), "--threads", threads, "--warmup", String.valueOf(WARMUP),
                "--runs", String.valueOf(RUNS)).redirectErrorStream(true).start();
        String pythonOutput = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (process.waitFor() != 0) {
            throw new IOException("Python timing failed: " + pythonOutput);
        }
        Matcher median = Pattern.compile("\"median_s\": ([0-9.eE+-]+)").matcher(pythonOutput);
        if (!median.find()) {
            throw new IOException("No median in the Python output: " + pythonOutput);
        }
        double pythonMedian = Double.parseDouble(median.group(1));
        Files.delete(inputFile);

        print("| inference, %dx%d input, %s threads | Java (DJL 0.36, libtorch 2.7.1) median %.3f s %s |"
                + " Python (torch.jit.load) median %.3f s | ratio Java/Python %.2f |",
                size, size, threads, javaMedian, javaRuns, pythonMedian, javaMedian / pythonMedian);
        print("python: %s", pythonOutput.strip());
    }

    private static void tiling(Path model, String image) {
        RandomAccessibleInterval<UnsignedByteType> pixels = grey8(image, 256);
        UpscaleSettings settings = UpscaleSettings.defaults(2).withDevice(Device.CPU).withModel(model);
        // Warm the engine and both tile shapes once, so that neither timing pays for graph optimisation.
        FssmUpscaler.upscale(grey8(image, 16), settings.withTile(256, 0));
        long start = System.nanoTime();
        RandomAccessibleInterval<FloatType> untiled = FssmUpscaler.upscale(pixels, settings.withTile(256, 0));
        double untiledSeconds = (System.nanoTime() - start) / 1e9;
        start = System.nanoTime();
        RandomAccessibleInterval<FloatType> tiled = FssmUpscaler.upscale(pixels, settings);
        double tiledSeconds = (System.nanoTime() - start) / 1e9;
        print("| tiling, 256x256 8-bit x2 | untiled (one 256x256 tile) %.1f s | tiled (tile %d, overlap %d) %.1f s |"
                + " overhead %.2fx | PSNR tiled vs untiled %.1f dB |",
                untiledSeconds, settings.tile(), settings.overlap(), tiledSeconds, tiledSeconds / untiledSeconds,
                psnr(untiled, tiled));
    }

    private static void memory(Path model, int size, String image, int maxTiles) {
        UpscaleSettings settings = UpscaleSettings.defaults(2).withDevice(Device.CPU).withModel(model);
        ImagePlusUpscaler.upscale(sixteenBit(image, 32), settings, OutputType.SAME, ProgressListener.NONE);
        long baseline = procStatus("VmHWM");
        ImagePlus input = sixteenBit(image, size);
        PeakTrace trace = new PeakTrace(maxTiles);
        long start = System.nanoTime();
        String outcome;
        try {
            ImagePlus output = ImagePlusUpscaler.upscale(input, settings, OutputType.SAME, trace).image();
            outcome = "output " + output.getWidth() + "x" + output.getHeight();
        } catch (UpscaleCancelledException e) {
            outcome = "stopped after " + trace.tiles + " of " + trace.tileCount + " tiles";
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        long peak = procStatus("VmHWM");
        print("| memory, %dx%d 16-bit x2, model %s | peak RSS %d MiB after warm-up, %d MiB during the run"
                + " (+%d MiB) | %s | %.1f s |",
                size, size, model.getFileName(), baseline / 1024, peak / 1024, (peak - baseline) / 1024,
                outcome, seconds);
        print("peak RSS (MiB) after tile: %s", trace.samples);
    }

    /** Records the peak resident memory after tiles 1, 2, 5, 10, 20, 50, ... and stops after a number of tiles. */
    private static final class PeakTrace implements ProgressListener {

        private final int maxTiles;
        private final List<String> samples = new ArrayList<>();
        private int tiles;
        private int tileCount;

        PeakTrace(int maxTiles) {
            this.maxTiles = maxTiles;
        }

        @Override
        public void tileDone(int plane, int planeCount, int tile, int count) {
            tiles++;
            tileCount = count * planeCount;
            if (isSampled(tiles) || tiles == tileCount || tiles == maxTiles) {
                long peakMebibytes = procStatus("VmHWM") / 1024;
                samples.add(tiles + ": " + peakMebibytes);
                System.out.println("tile " + tiles + " of " + tileCount + ", peak RSS " + peakMebibytes + " MiB");
            }
        }

        private static boolean isSampled(int tile) {
            for (int decade = 1; decade <= tile; decade *= 10) {
                if (tile == decade || tile == 2 * decade || tile == 5 * decade) {
                    return true;
                }
            }
            return false;
        }

        @Override
        public boolean isCancelled() {
            return tiles >= maxTiles;
        }
    }

    private static void leak(Path model, int runs, String image, int size) {
        UpscaleSettings settings = UpscaleSettings.defaults(2).withDevice(Device.CPU).withModel(model);
        ImagePlus input = IJ.openImage(image);
        input.setRoi(new Roi(0, 0, size, size));
        input = input.crop();
        long afterFifth = 0;
        List<Long> samples = new ArrayList<>();
        for (int run = 1; run <= runs; run++) {
            ImagePlusUpscaler.upscale(input, settings, OutputType.SAME, ProgressListener.NONE);
            long rss = procStatus("VmRSS");
            if (run == 5) {
                afterFifth = rss;
            }
            if (run % 5 == 0) {
                samples.add(rss / 1024);
            }
        }
        long last = procStatus("VmRSS");
        print("| leak, %d runs of %dx%d x2, model %s | VmRSS after run 5: %d MiB | after run %d: %d MiB |"
                + " change %+.1f %% | every 5 runs (MiB): %s |",
                runs, input.getWidth(), input.getHeight(), model.getFileName(), afterFifth / 1024, runs, last / 1024,
                100.0 * (last - afterFifth) / afterFifth, samples);
    }

    private static RandomAccessibleInterval<UnsignedByteType> grey8(String image, int size) {
        ImagePlus opened = IJ.openImage(image);
        opened.setRoi(new Roi(0, 0, size, size));
        return ArrayImgs.unsignedBytes((byte[]) opened.crop().getProcessor().getPixels(), size, size);
    }

    /** Returns a size x size 16-bit image made by mirroring a real 16-bit image as often as needed. */
    private static ImagePlus sixteenBit(String image, int size) {
        ShortProcessor source = (ShortProcessor) IJ.openImage(image).getProcessor();
        ShortProcessor target = new ShortProcessor(size, size);
        int width = source.getWidth();
        int height = source.getHeight();
        for (int y = 0; y < size; y++) {
            int sourceY = mirror(y, height);
            for (int x = 0; x < size; x++) {
                target.set(x, y, source.get(mirror(x, width), sourceY));
            }
        }
        return new ImagePlus("bench16.tif", target);
    }

    private static int mirror(int position, int size) {
        int period = 2 * size;
        int folded = position % period;
        return folded < size ? folded : period - 1 - folded;
    }

    private static double psnr(RandomAccessibleInterval<FloatType> a, RandomAccessibleInterval<FloatType> b) {
        double sum = 0;
        long count = 0;
        Cursor<FloatType> cursorA = Views.flatIterable(a).cursor();
        Cursor<FloatType> cursorB = Views.flatIterable(b).cursor();
        while (cursorA.hasNext()) {
            double difference = cursorA.next().getRealDouble() - cursorB.next().getRealDouble();
            sum += difference * difference;
            count++;
        }
        return 10 * Math.log10(255.0 * 255.0 / (sum / count));
    }

    /** Returns a field of /proc/self/status in KiB, for example VmRSS or VmHWM. */
    private static long procStatus(String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith(field + ":")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException("Cannot read /proc/self/status", e);
        }
        throw new IllegalStateException("No " + field + " in /proc/self/status");
    }

    private static double median(List<Double> values) {
        double[] sorted = values.stream().mapToDouble(Double::doubleValue).toArray();
        Arrays.sort(sorted);
        int middle = sorted.length / 2;
        return sorted.length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }

    private static void print(String format, Object... values) {
        System.out.println(String.format(Locale.ROOT, format, values));
    }
}
