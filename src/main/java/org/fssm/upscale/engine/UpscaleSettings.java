package org.fssm.upscale.engine;

import java.nio.file.Path;

/**
 * Settings of one upscaling run, with the defaults of the dialog.
 *
 * @param scale upscaling factor, 2, 3 or 4 for the bundled models (any factor for a user's model)
 * @param tile largest side of the input tile in pixels. Along an axis shorter than the tile, the
 *     tile shrinks to that axis rounded up to a multiple of 8. Along a longer axis it shrinks to
 *     the smallest multiple of 8 that covers the axis with as many tiles as this side needs.
 * @param overlap pixels that neighbouring tiles share; the shared band is blended with linear ramps
 * @param low low percentile mapped to 0 for 16- and 32-bit data
 * @param high high percentile mapped to 1 for 16- and 32-bit data
 * @param device where the network runs
 * @param model a TorchScript file to use instead of the bundled model, or null
 */
public record UpscaleSettings(int scale, int tile, int overlap, double low, double high, Device device, Path model) {

    public static final int DEFAULT_TILE = 128;
    public static final int DEFAULT_OVERLAP = 16;
    public static final int MIN_TILE = 16;
    /**
     * Largest tile side. The Mamba layers hold tensors of about d_inner · d_state · h · w elements
     * (72 · 10 · h · w for the bundled network's card), so 512 keeps them near 1.9 · 10^8, far
     * below 2^31.
     */
    public static final int MAX_TILE = 512;
    /** Smallest plane side: mirror padding needs two pixels, and smaller planes carry no structure. */
    public static final int MIN_IMAGE_SIZE = 4;

    /** Returns the defaults for one scale: 128-pixel tiles, 16-pixel overlap, 1–99.8 %, auto device. */
    public static UpscaleSettings defaults(int scale) {
        return new UpscaleSettings(scale, DEFAULT_TILE, DEFAULT_OVERLAP,
                Percentiles.DEFAULT_LOW, Percentiles.DEFAULT_HIGH, Device.AUTO, null);
    }

    public UpscaleSettings withTile(int newTile, int newOverlap) {
        return new UpscaleSettings(scale, newTile, newOverlap, low, high, device, model);
    }

    public UpscaleSettings withPercentiles(double newLow, double newHigh) {
        return new UpscaleSettings(scale, tile, overlap, newLow, newHigh, device, model);
    }

    public UpscaleSettings withDevice(Device newDevice) {
        return new UpscaleSettings(scale, tile, overlap, low, high, newDevice, model);
    }

    public UpscaleSettings withModel(Path newModel) {
        return new UpscaleSettings(scale, tile, overlap, low, high, device, newModel);
    }

    /** Checks every value and throws one user-facing sentence for the first invalid one. */
    public void validate() {
        if (scale < 2 || (model == null && scale > 4)) {
            throw new UpscaleException("Invalid scale " + scale + ": the bundled models upscale by 2, 3 or 4.");
        }
        if (tile < MIN_TILE || tile > MAX_TILE) {
            throw new UpscaleException("Invalid tile " + tile + ": use " + MIN_TILE + " to " + MAX_TILE
                    + " pixels (default " + DEFAULT_TILE + ").");
        }
        if (overlap < 0 || 2 * overlap >= tile) {
            throw new UpscaleException("Invalid overlap " + overlap + ": use 0 to " + (tile / 2 - 1)
                    + " pixels for tile=" + tile + " (default " + DEFAULT_OVERLAP + ").");
        }
        Percentiles.checkPercentiles(low, high);
        if (device == null) {
            throw new UpscaleException("Missing device: use auto, cpu or gpu.");
        }
    }

    /** Returns the source of the model these settings select. */
    public ModelSource modelSource() {
        return ModelSource.of(model, scale);
    }
}
