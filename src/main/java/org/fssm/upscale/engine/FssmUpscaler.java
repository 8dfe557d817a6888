package org.fssm.upscale.engine;

import java.util.ArrayList;
import java.util.List;

import net.imglib2.Interval;
import net.imglib2.RandomAccessibleInterval;
import net.imglib2.img.Img;
import net.imglib2.img.array.ArrayImgs;
import net.imglib2.type.numeric.RealType;
import net.imglib2.type.numeric.integer.UnsignedByteType;
import net.imglib2.type.numeric.real.FloatType;
import net.imglib2.view.Views;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Entry point of the engine for scripts and Java callers: upscales ImgLib2 planes with an FSSM
 * TorchScript model, independent of ImageJ 1.x.
 *
 * <pre>{@code
 * RandomAccessibleInterval<FloatType> big = FssmUpscaler.upscale(image, 2);
 * }</pre>
 */
public final class FssmUpscaler {

    private static final Logger LOG = LoggerFactory.getLogger(FssmUpscaler.class);

    private final UpscaleSettings settings;
    private final LoadedModel model;
    private final List<String> warnings;
    /** Tile width and height that ran out of memory halved, kept for later planes; null until then. */
    private int[] memoryTile;

    private FssmUpscaler(UpscaleSettings settings, LoadedModel model, List<String> warnings) {
        this.settings = settings;
        this.model = model;
        this.warnings = warnings;
    }

    /**
     * Validates the settings, chooses the device and loads (or reuses) the model.
     *
     * @throws UpscaleException with a user-facing message if a setting is invalid, the model is
     *     missing or corrupt, its scale differs from {@code settings.scale()}, or natives are missing
     */
    public static FssmUpscaler create(UpscaleSettings settings) {
        settings.validate();
        List<String> warnings = new ArrayList<>();
        ai.djl.Device device = Engines.resolve(settings.device(), warnings);
        LoadedModel model = ModelCache.get(settings.modelSource(), device);
        if (model.scale() != settings.scale()) {
            throw new UpscaleException("The model " + model.source() + " upscales by " + model.scale()
                    + ", but scale=" + settings.scale() + " was requested; set scale=" + model.scale()
                    + " or choose a model for x" + settings.scale() + ".");
        }
        if (model.card().scale() != 0 && model.card().scale() != model.scale()) {
            LOG.warn("Model card of {} states scale {}, but the model upscales by {}", model.source(),
                    model.card().scale(), model.scale());
        }
        return new FssmUpscaler(settings, model, warnings);
    }

    /** Upscales a 2-D or N-D image by {@code scale} with the default settings. */
    public static <T extends RealType<T>> RandomAccessibleInterval<FloatType> upscale(
            RandomAccessibleInterval<T> image, int scale) {
        return upscale(image, UpscaleSettings.defaults(scale));
    }

    /**
     * Upscales every XY plane of a 2-D or N-D image in X and Y. Dimensions 0 and 1 are X and Y;
     * the others (channels, Z, T) keep their size. 8-bit data are divided by 255; other types are
     * normalised with one percentile pair over the whole image, so call this once per channel when
     * channels need their own normalisation. The result has the input's intensity scale.
     */
    public static <T extends RealType<T>> RandomAccessibleInterval<FloatType> upscale(
            RandomAccessibleInterval<T> image, UpscaleSettings settings) {
        FssmUpscaler upscaler = create(settings);
        Img<FloatType> output = createOutput(image, settings.scale());
        List<RandomAccessibleInterval<T>> inputs = planes(Views.zeroMin(image));
        List<RandomAccessibleInterval<FloatType>> outputs = planes(output);
        Normalization normalization = image.getType() instanceof UnsignedByteType
                ? Normalization.UNSIGNED_BYTE
                : Percentiles.normalization(inputs, settings.low(), settings.high());
        List<PlaneJob> jobs = new ArrayList<>();
        for (int i = 0; i < inputs.size(); i++) {
            jobs.add(PlaneJob.grey(inputs.get(i), normalization, outputs.get(i)));
        }
        RunReport report = upscaler.run(jobs, ProgressListener.NONE);
        LOG.info("FSSM Upscale: {}", report.summary());
        return output;
    }

    /** Allocates a float image with X and Y multiplied by {@code scale} and other axes unchanged. */
    public static Img<FloatType> createOutput(Interval input, int scale) {
        long[] dimensions = input.dimensionsAsLongArray();
        dimensions[0] *= scale;
        dimensions[1] *= scale;
        return ArrayImgs.floats(dimensions);
    }

    /** Returns the XY planes of an image as 2-D views, dimensions beyond Y in row-major order. */
    public static <T> List<RandomAccessibleInterval<T>> planes(RandomAccessibleInterval<T> image) {
        List<RandomAccessibleInterval<T>> planes = new ArrayList<>();
        if (image.numDimensions() == 2) {
            planes.add(image);
            return planes;
        }
        long count = image.dimension(image.numDimensions() - 1);
        for (long index = 0; index < count; index++) {
            planes.addAll(planes(Views.hyperSlice(image, image.numDimensions() - 1, image.min(image.numDimensions() - 1) + index)));
        }
        return planes;
    }

    /**
     * Upscales planes, retrying a plane with tiles of half the side when a tile runs out of memory.
     * Each axis halves while it stays at least {@link UpscaleSettings#MIN_TILE}, and later planes
     * and calls start from the smaller tile.
     *
     * @throws UpscaleException if a plane is too small, contains NaN or infinite values, or memory runs
     *     out even for the smallest tile
     * @throws UpscaleCancelledException if the listener cancels; outputs are then incomplete
     */
    public RunReport run(List<PlaneJob> jobs, ProgressListener listener) {
        long start = System.nanoTime();
        int[] tile = tileShape(jobs);
        int overlap = settings.overlap();
        if (memoryTile != null) {
            tile = new int[] {Math.min(tile[0], memoryTile[0]), Math.min(tile[1], memoryTile[1])};
            overlap = overlapFor(tile, overlap);
        }
        long tiles = 0;
        for (int plane = 0; plane < jobs.size(); plane++) {
            PlaneJob job = jobs.get(plane);
            while (true) {
                TiledUpscaler upscaler = new TiledUpscaler(model, tile[0], tile[1], overlap);
                try {
                    upscaler.upscale(job, plane, jobs.size(), listener);
                    tiles += upscaler.tileCount(job.width(), job.height());
                    break;
                } catch (TileMemoryException e) {
                    int[] smaller = {halve(tile[0]), halve(tile[1])};
                    if (smaller[0] == tile[0] && smaller[1] == tile[1]) {
                        throw new UpscaleException("Not enough memory to upscale even a " + tile[0] + " × "
                                + tile[1] + " tile; close other images or give Fiji more memory"
                                + " (Edit > Options > Memory & Threads).", e.getCause());
                    }
                    LOG.warn("Out of memory with {}x{} tiles on plane {}; retrying with {}x{} tiles",
                            tile[0], tile[1], plane, smaller[0], smaller[1], e);
                    warnings.add("Out of memory with " + tile[0] + " × " + tile[1] + " tiles; continued with "
                            + smaller[0] + " × " + smaller[1] + ". A smaller tile setting avoids the retry.");
                    tile = smaller;
                    memoryTile = smaller;
                    overlap = overlapFor(tile, overlap);
                }
            }
        }
        long millis = (System.nanoTime() - start) / 1_000_000;
        RunReport report = new RunReport(model.source().toString(), model.scale(), model.card().scan(),
                model.device().toString(), tile[0], tile[1], overlap, tiles, jobs.size(), millis, List.copyOf(warnings));
        LOG.debug("Upscaled {} planes: {}", jobs.size(), report.summary());
        return report;
    }

    /** Returns half of a tile side, or the side itself where half would be below the minimum tile. */
    private static int halve(int side) {
        return side / 2 >= UpscaleSettings.MIN_TILE ? side / 2 : side;
    }

    /** Returns the overlap reduced to fit a smaller tile: less than half its shorter side. */
    private static int overlapFor(int[] tile, int overlap) {
        return Math.min(overlap, Math.min(tile[0], tile[1]) / 2 - 1);
    }

    /** Checks the plane sizes and returns the tile width and height for them. */
    private int[] tileShape(List<PlaneJob> jobs) {
        int width = 0;
        int height = 0;
        for (PlaneJob job : jobs) {
            if (job.width() < UpscaleSettings.MIN_IMAGE_SIZE || job.height() < UpscaleSettings.MIN_IMAGE_SIZE) {
                throw new UpscaleException("The image is " + job.width() + " × " + job.height()
                        + " pixels, but FSSM Upscale needs at least " + UpscaleSettings.MIN_IMAGE_SIZE + " × "
                        + UpscaleSettings.MIN_IMAGE_SIZE + " pixels per plane.");
            }
            width = Math.max(width, job.width());
            height = Math.max(height, job.height());
        }
        return new int[] {TileGrid.tileSize(width, settings.tile(), settings.overlap()),
                TileGrid.tileSize(height, settings.tile(), settings.overlap())};
    }

    /** Returns the settings this upscaler was created with. */
    public UpscaleSettings settings() {
        return settings;
    }

    /** Returns the loaded model, shared with other upscalers of the same source and device. */
    public LoadedModel model() {
        return model;
    }
}
