package org.fssm.upscale.engine;

import java.util.List;

import net.imglib2.RandomAccessibleInterval;
import net.imglib2.type.numeric.RealType;
import net.imglib2.type.numeric.integer.UnsignedByteType;
import net.imglib2.type.numeric.integer.UnsignedShortType;
import net.imglib2.view.Views;

/**
 * Percentile normalisation from a histogram with {@code long} counts, so that images of more than
 * 2^31 pixels are counted correctly and no sorted copy of the image is ever made.
 *
 * <p>8- and 16-bit data get one bin per value, so their percentiles are exact. Float data get
 * {@value #FLOAT_BINS} bins between the minimum and maximum, so a percentile is accurate to one bin
 * width, (max - min) / {@value #FLOAT_BINS}.
 */
public final class Percentiles {

    /** Default low percentile of the dialog and the API. */
    public static final double DEFAULT_LOW = 1.0;
    /** Default high percentile of the dialog and the API. */
    public static final double DEFAULT_HIGH = 99.8;

    static final int FLOAT_BINS = 1 << 16;

    private Percentiles() {
    }

    /**
     * Computes one normalisation over all planes together (every Z and T of one channel).
     *
     * @param low low percentile in [0, 100), mapped to 0
     * @param high high percentile in (low, 100], mapped to 1
     * @throws UpscaleException if a pixel is NaN or infinite, or the percentiles are invalid
     */
    public static Normalization normalization(
            List<? extends RandomAccessibleInterval<? extends RealType<?>>> planes, double low, double high) {
        checkPercentiles(low, high);
        RealType<?> type = planes.get(0).getType();
        long[] histogram;
        double origin;
        double binWidth;
        if (type instanceof UnsignedByteType || type instanceof UnsignedShortType) {
            histogram = new long[(int) type.getMaxValue() + 1];
            origin = 0;
            binWidth = 1;
            countIntegers(planes, histogram);
        } else {
            double[] range = finiteRange(planes);
            origin = range[0];
            binWidth = (range[1] - range[0]) / (FLOAT_BINS - 1);
            if (binWidth == 0) {
                return Normalization.ofRange(range[0], range[1]);
            }
            histogram = new long[FLOAT_BINS];
            countFloats(planes, histogram, origin, binWidth);
        }
        return Normalization.ofRange(
                origin + binWidth * quantileBin(histogram, low / 100),
                origin + binWidth * quantileBin(histogram, high / 100));
    }

    /** Checks that the percentiles are usable and throws a user-facing message if not. */
    public static void checkPercentiles(double low, double high) {
        if (!(low >= 0 && high <= 100 && low < high)) {
            throw new UpscaleException("Invalid percentiles low=" + low + ", high=" + high
                    + ": use 0 <= low < high <= 100, for example low=1 high=99.8.");
        }
    }

    /**
     * Returns the fractional bin index of quantile q, interpolated linearly between the two
     * neighbouring ranks as numpy's default percentile does.
     */
    static double quantileBin(long[] histogram, double q) {
        long total = 0;
        for (long count : histogram) {
            total += count;
        }
        double rank = q * (total - 1);
        long lowerRank = (long) Math.floor(rank);
        int lowerBin = binOfRank(histogram, lowerRank);
        int upperBin = binOfRank(histogram, Math.min(lowerRank + 1, total - 1));
        return lowerBin + (rank - lowerRank) * (upperBin - lowerBin);
    }

    private static int binOfRank(long[] histogram, long rank) {
        long seen = 0;
        for (int bin = 0; bin < histogram.length; bin++) {
            seen += histogram[bin];
            if (seen > rank) {
                return bin;
            }
        }
        return histogram.length - 1;
    }

    private static void countIntegers(
            List<? extends RandomAccessibleInterval<? extends RealType<?>>> planes, long[] histogram) {
        for (RandomAccessibleInterval<? extends RealType<?>> plane : planes) {
            for (RealType<?> pixel : Views.iterable(plane)) {
                histogram[(int) pixel.getRealDouble()]++;
            }
        }
    }

    private static double[] finiteRange(List<? extends RandomAccessibleInterval<? extends RealType<?>>> planes) {
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;
        for (RandomAccessibleInterval<? extends RealType<?>> plane : planes) {
            for (RealType<?> pixel : Views.iterable(plane)) {
                double value = pixel.getRealDouble();
                if (!Double.isFinite(value)) {
                    throw nonFinite(value);
                }
                min = Math.min(min, value);
                max = Math.max(max, value);
            }
        }
        return new double[] {min, max};
    }

    private static void countFloats(List<? extends RandomAccessibleInterval<? extends RealType<?>>> planes,
            long[] histogram, double origin, double binWidth) {
        for (RandomAccessibleInterval<? extends RealType<?>> plane : planes) {
            for (RealType<?> pixel : Views.iterable(plane)) {
                int bin = (int) Math.round((pixel.getRealDouble() - origin) / binWidth);
                histogram[Math.min(histogram.length - 1, Math.max(0, bin))]++;
            }
        }
    }

    static UpscaleException nonFinite(double value) {
        return new UpscaleException("The image contains " + (Double.isNaN(value) ? "NaN" : "infinite")
                + " pixel values, which the network cannot process; replace them first,"
                + " for example with Process > Math > Remove NaNs.");
    }
}
