package org.fssm.upscale.cli.evaluation;

import org.fssm.upscale.cli.evaluation.MatlabBicubic.Plane;

/**
 * PSNR and SSIM on BT.601 luma as super-resolution papers report them, the same computation as
 * {@code fssm.metrics} of the Python package: Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255 for
 * R, G, B in levels 0–255, rounded to whole levels as MATLAB's {@code rgb2ycbcr} does for uint8
 * images; {@code scale} pixels cut from every border; PSNR with peak 255; SSIM with an 11 × 11
 * Gaussian window of σ 1.5, K1 = 0.01, K2 = 0.03 and 'valid' filtering.
 */
public final class LumaMetrics {

    static final int SSIM_WINDOW = 11;
    static final double SSIM_SIGMA = 1.5;
    static final double SSIM_K1 = 0.01;
    static final double SSIM_K2 = 0.03;
    static final double PEAK = 255.0;

    private LumaMetrics() {
    }

    /** PSNR in dB and mean SSIM of one image. */
    public record Score(double psnr, double ssim) {
    }

    /** Compares two RGB images (three planes of levels 0–255) on luma after cutting {@code border} pixels. */
    public static Score compare(Plane[] reference, Plane[] estimate, int border) {
        Plane referenceY = crop(luma(reference), border);
        Plane estimateY = crop(luma(estimate), border);
        return new Score(psnr(referenceY, estimateY), ssim(referenceY, estimateY));
    }

    /** Converts RGB levels to BT.601 luma rounded to whole levels. */
    static Plane luma(Plane[] rgb) {
        double red = 65.481 / 255.0;
        double green = 128.553 / 255.0;
        double blue = 24.966 / 255.0;
        double[] r = rgb[0].values();
        double[] g = rgb[1].values();
        double[] b = rgb[2].values();
        double[] y = new double[r.length];
        for (int i = 0; i < y.length; i++) {
            // Y is at least 16, so floor(y + 0.5) rounds halves away from zero as MATLAB does.
            y[i] = Math.floor(16.0 + (red * r[i] + green * g[i] + blue * b[i]) + 0.5);
        }
        return new Plane(y, rgb[0].width(), rgb[0].height());
    }

    static Plane crop(Plane plane, int border) {
        int width = plane.width() - 2 * border;
        int height = plane.height() - 2 * border;
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException("A " + plane.width() + " × " + plane.height()
                    + " image is too small to cut a border of " + border + " pixels");
        }
        double[] out = new double[width * height];
        for (int y = 0; y < height; y++) {
            System.arraycopy(plane.values(), (y + border) * plane.width() + border, out, y * width, width);
        }
        return new Plane(out, width, height);
    }

    /** Returns the PSNR in dB, or positive infinity for identical planes. */
    static double psnr(Plane reference, Plane estimate) {
        double sum = 0;
        for (int i = 0; i < reference.values().length; i++) {
            double difference = reference.values()[i] - estimate.values()[i];
            sum += difference * difference;
        }
        double mse = sum / reference.values().length;
        return mse == 0 ? Double.POSITIVE_INFINITY : 10.0 * Math.log10(PEAK * PEAK / mse);
    }

    /** Returns the mean of the SSIM map, which is (height − 10) × (width − 10) with 'valid' filtering. */
    static double ssim(Plane reference, Plane estimate) {
        if (Math.min(reference.width(), reference.height()) < SSIM_WINDOW) {
            throw new IllegalArgumentException("A " + reference.width() + " × " + reference.height()
                    + " image is smaller than the " + SSIM_WINDOW + " × " + SSIM_WINDOW + " SSIM window");
        }
        double c1 = (SSIM_K1 * PEAK) * (SSIM_K1 * PEAK);
        double c2 = (SSIM_K2 * PEAK) * (SSIM_K2 * PEAK);
        double[] x = reference.values();
        double[] y = estimate.values();
        double[] xx = new double[x.length];
        double[] yy = new double[x.length];
        double[] xy = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            xx[i] = x[i] * x[i];
            yy[i] = y[i] * y[i];
            xy[i] = x[i] * y[i];
        }
        int width = reference.width();
        int height = reference.height();
        Plane muX = gaussianValid(x, width, height);
        Plane muY = gaussianValid(y, width, height);
        Plane eXX = gaussianValid(xx, width, height);
        Plane eYY = gaussianValid(yy, width, height);
        Plane eXY = gaussianValid(xy, width, height);

        double sum = 0;
        int count = muX.values().length;
        for (int i = 0; i < count; i++) {
            double mx = muX.values()[i];
            double my = muY.values()[i];
            double muXX = mx * mx;
            double muYY = my * my;
            double muXY = mx * my;
            double sigmaXX = eXX.values()[i] - muXX;
            double sigmaYY = eYY.values()[i] - muYY;
            double sigmaXY = eXY.values()[i] - muXY;
            sum += ((2.0 * muXY + c1) * (2.0 * sigmaXY + c2)) / ((muXX + muYY + c1) * (sigmaXX + sigmaYY + c2));
        }
        return sum / count;
    }

    /** Returns the normalised 1-D Gaussian whose outer product is MATLAB's fspecial('gaussian', 11, 1.5). */
    static double[] gaussianProfile() {
        double[] profile = new double[SSIM_WINDOW];
        double sum = 0;
        for (int k = 0; k < SSIM_WINDOW; k++) {
            double offset = k - (SSIM_WINDOW - 1) / 2.0;
            profile[k] = Math.exp(-(offset * offset) / (2.0 * SSIM_SIGMA * SSIM_SIGMA));
            sum += profile[k];
        }
        for (int k = 0; k < SSIM_WINDOW; k++) {
            profile[k] /= sum;
        }
        return profile;
    }

    /** Filters with the separable SSIM window, rows first, keeping only the 'valid' part. */
    static Plane gaussianValid(double[] values, int width, int height) {
        double[] profile = gaussianProfile();
        int outHeight = height - SSIM_WINDOW + 1;
        int outWidth = width - SSIM_WINDOW + 1;
        double[] rows = new double[outHeight * width];
        for (int y = 0; y < outHeight; y++) {
            for (int x = 0; x < width; x++) {
                double sum = profile[0] * values[y * width + x];
                for (int k = 1; k < SSIM_WINDOW; k++) {
                    sum = sum + profile[k] * values[(y + k) * width + x];
                }
                rows[y * width + x] = sum;
            }
        }
        double[] out = new double[outHeight * outWidth];
        for (int y = 0; y < outHeight; y++) {
            for (int x = 0; x < outWidth; x++) {
                double sum = profile[0] * rows[y * width + x];
                for (int k = 1; k < SSIM_WINDOW; k++) {
                    sum = sum + profile[k] * rows[y * width + x + k];
                }
                out[y * outWidth + x] = sum;
            }
        }
        return new Plane(out, outWidth, outHeight);
    }
}
