package org.fssm.upscale.cli.evaluation;

/**
 * Bicubic resizing as MATLAB's {@code imresize(..., 'bicubic')} does it, the resampling that
 * defines the low-resolution inputs and the bicubic baseline of super-resolution benchmarks.
 * Mirrors {@code fssm.imresize} of the Python package step for step, in the same order of
 * floating-point operations, so that both give the same PSNR:
 *
 * <ul>
 *   <li>Keys cubic kernel with a = −0.5;</li>
 *   <li>when shrinking by s &lt; 1 the kernel becomes {@code s · cubic(s · x)}, four times 1/s
 *       wide, so that it also low-pass filters;</li>
 *   <li>output pixel x (1-based) samples the input at {@code x / s + 0.5 · (1 − 1/s)};</li>
 *   <li>taps outside the image are mirrored with the edge pixel repeated (symmetric padding), and
 *       the weights of each output pixel are normalised to sum 1.</li>
 * </ul>
 *
 * Planes are row-major {@code double} arrays of levels; nothing is rounded or clamped here.
 */
public final class MatlabBicubic {

    /** Support of the unscaled cubic kernel: it is non-zero on (−2, 2). */
    private static final double KERNEL_WIDTH = 4.0;

    private MatlabBicubic() {
    }

    /** A plane of {@code width × height} values, row-major. */
    public record Plane(double[] values, int width, int height) {

        public Plane {
            if (values.length != (long) width * height) {
                throw new IllegalArgumentException("A " + width + " × " + height + " plane needs " + width * height
                        + " values, not " + values.length);
            }
        }

        public double get(int x, int y) {
            return values[y * width + x];
        }
    }

    /** Evaluates the Keys cubic convolution kernel with a = −0.5. */
    static double cubic(double x) {
        double absx = Math.abs(x);
        double absx2 = absx * absx;
        double absx3 = absx2 * absx;
        double inner = absx <= 1.0 ? 1.5 * absx3 - 2.5 * absx2 + 1.0 : 0.0;
        double outer = absx > 1.0 && absx <= 2.0 ? -0.5 * absx3 + 2.5 * absx2 - 4.0 * absx + 2.0 : 0.0;
        return inner + outer;
    }

    /** Taps of one axis: output pixel i is the sum over t of {@code weights[i][t] · input[source[i][t]]}. */
    record Taps(double[][] weights, int[][] source) {
    }

    /** Computes the taps that resize an axis of {@code inLength} to {@code outLength} by factor {@code scale}. */
    static Taps contributions(int inLength, int outLength, double scale) {
        boolean shrink = scale < 1.0;
        double kernelWidth = shrink ? KERNEL_WIDTH / scale : KERNEL_WIDTH;
        int taps = (int) Math.ceil(kernelWidth) + 2;
        double[][] weights = new double[outLength][taps];
        int[][] source = new int[outLength][taps];
        long period = 2L * inLength;
        for (int i = 0; i < outLength; i++) {
            double x = i + 1;
            double u = x / scale + 0.5 * (1.0 - 1.0 / scale);
            double left = Math.floor(u - kernelWidth / 2.0);
            double sum = 0;
            for (int t = 0; t < taps; t++) {
                double index = left + t;
                double distance = u - index;
                weights[i][t] = shrink ? scale * cubic(scale * distance) : cubic(distance);
                sum += weights[i][t];
                long wrapped = Math.floorMod((long) index - 1, period);
                source[i][t] = (int) (wrapped < inLength ? wrapped : period - 1 - wrapped);
            }
            for (int t = 0; t < taps; t++) {
                weights[i][t] /= sum;
            }
        }
        return new Taps(weights, source);
    }

    /**
     * Returns MATLAB's output length {@code ceil(scale · inLength)}, with a relative tolerance of
     * 1e-9 so that factors such as 1/3 give 160 for 480 and not 161.
     */
    static int outputLength(int inLength, double scale) {
        double product = scale * inLength;
        double nearest = Math.rint(product);
        if (Math.abs(product - nearest) <= 1e-9 * Math.max(1.0, Math.abs(product))) {
            return (int) nearest;
        }
        return (int) Math.ceil(product);
    }

    /** Shrinks a plane by an integer factor, with antialiasing. */
    public static Plane downscale(Plane plane, int factor) {
        return resize(plane, 1.0 / factor);
    }

    /** Enlarges a plane by an integer factor. */
    public static Plane upscale(Plane plane, int factor) {
        return resize(plane, factor);
    }

    /** Resizes both axes by {@code scale}: first Y, then X, as MATLAB does for equal factors. */
    static Plane resize(Plane plane, double scale) {
        int outWidth = outputLength(plane.width(), scale);
        int outHeight = outputLength(plane.height(), scale);
        Plane rows = resizeY(plane, outHeight, contributions(plane.height(), outHeight, scale));
        return resizeX(rows, outWidth, contributions(plane.width(), outWidth, scale));
    }

    private static Plane resizeY(Plane plane, int outHeight, Taps taps) {
        int width = plane.width();
        double[] out = new double[width * outHeight];
        for (int y = 0; y < outHeight; y++) {
            double[] weights = taps.weights()[y];
            int[] source = taps.source()[y];
            for (int x = 0; x < width; x++) {
                double sum = plane.get(x, source[0]) * weights[0];
                for (int t = 1; t < weights.length; t++) {
                    sum = sum + plane.get(x, source[t]) * weights[t];
                }
                out[y * width + x] = sum;
            }
        }
        return new Plane(out, width, outHeight);
    }

    private static Plane resizeX(Plane plane, int outWidth, Taps taps) {
        int height = plane.height();
        double[] out = new double[outWidth * height];
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < outWidth; x++) {
                double[] weights = taps.weights()[x];
                int[] source = taps.source()[x];
                double sum = plane.get(source[0], y) * weights[0];
                for (int t = 1; t < weights.length; t++) {
                    sum = sum + plane.get(source[t], y) * weights[t];
                }
                out[y * outWidth + x] = sum;
            }
        }
        return new Plane(out, outWidth, height);
    }

    /** Clamps to [0, 255] and rounds to whole levels with ties upwards, as MATLAB's uint8 conversion does. */
    public static Plane roundToLevels(Plane plane) {
        double[] out = new double[plane.values().length];
        for (int i = 0; i < out.length; i++) {
            out[i] = Math.floor(Math.min(255.0, Math.max(0.0, plane.values()[i])) + 0.5);
        }
        return new Plane(out, plane.width(), plane.height());
    }
}
