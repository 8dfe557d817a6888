package org.fssm.upscale.engine;

/**
 * Linear map of raw intensities to the network's input range: {@code low} goes to 0 and
 * {@code high} to 1. Values outside [low, high] are not clipped, so the output can be mapped back
 * with {@link #inverse(double)} without losing the extremes.
 */
public record Normalization(double low, double high) {

    /** Identity map, for data that already lies in [0, 1]. */
    public static final Normalization UNIT = new Normalization(0, 1);

    /** Map of 8-bit data, {@code value / 255}. */
    public static final Normalization UNSIGNED_BYTE = new Normalization(0, 255);

    public Normalization {
        if (!Double.isFinite(low) || !Double.isFinite(high) || !(high > low)) {
            throw new IllegalArgumentException("Invalid normalisation range [" + low + ", " + high + "]");
        }
    }

    /**
     * Creates the map for a low and high intensity, widening a zero-width range (a constant image)
     * to [low, low + 1] so that it keeps its value instead of dividing by zero. Above 2^53, where
     * low + 1 rounds back to low, the range is one unit in the last place of low instead.
     */
    public static Normalization ofRange(double low, double high) {
        return high > low ? new Normalization(low, high) : new Normalization(low, low + Math.max(1, Math.ulp(low)));
    }

    public float forward(double value) {
        return (float) ((value - low) / (high - low));
    }

    public double inverse(double normalized) {
        return low + normalized * (high - low);
    }
}
