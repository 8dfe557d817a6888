package org.fssm.upscale.engine;

import java.util.Arrays;
import java.util.List;

import net.imglib2.RandomAccessibleInterval;
import net.imglib2.type.numeric.RealType;
import net.imglib2.type.numeric.integer.UnsignedByteType;
import net.imglib2.type.numeric.integer.UnsignedShortType;
import net.imglib2.view.Views;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Percentile normalisation from a histogram with {@code long} counts, so that images of more than
 * 2^31 pixels are counted correctly and no sorted copy of the image is ever made.
 *
 * <p>8- and 16-bit data get one bin per value, so their percentiles are exact. Float data get
 * {@value #FLOAT_BINS} bins between the minimum and maximum. Where the two percentiles lie fewer
 * than {@value #REFINE_BELOW_BINS} bins apart (a few extreme pixels stretch the range), the count
 * is repeated over the bins around them, up to {@value #MAX_FLOAT_PASSES} passes in all. A
 * percentile is then accurate to the last pass's bin width.
 *
 * <p>When both percentiles fall on the same value although the image is not constant (sparse
 * data: more than {@code high - low} percent of the pixels share one value), the range becomes
 * the minimum and maximum, with a warning, because a zero-width range would stretch every other
 * value out of proportion.
 */
public final class Percentiles {

    private static final Logger LOG = LoggerFactory.getLogger(Percentiles.class);

    /** Default low percentile of the dialog and the API. */
    public static final double DEFAULT_LOW = 1.0;
    /** Default high percentile of the dialog and the API. */
    public static final double DEFAULT_HIGH = 99.8;

    static final int FLOAT_BINS = 1 << 16;
    static final int REFINE_BELOW_BINS = 1 << 10;
    static final int MAX_FLOAT_PASSES = 3;

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
        boolean integer = type instanceof UnsignedByteType || type instanceof UnsignedShortType;
        Histogram histogram = integer
                ? Histogram.ofIntegers(planes, (int) type.getMaxValue())
                : Histogram.ofFloats(planes, finiteRange(planes));

        double lowValue = histogram.quantile(low / 100);
        double highValue = histogram.quantile(high / 100);
        int passes = 1;
        while (!integer && passes < MAX_FLOAT_PASSES && histogram.binWidth() > 0
                && highValue - lowValue < REFINE_BELOW_BINS * histogram.binWidth()) {
            histogram = histogram.refined(planes, low / 100, high / 100);
            lowValue = histogram.quantile(low / 100);
            highValue = histogram.quantile(high / 100);
            passes++;
        }

        if (highValue <= lowValue && histogram.max() > histogram.min()) {
            LOG.warn("The {} and {} percentiles are both {}, because more than {} % of the pixels have that value."
                    + " Normalising with the minimum and maximum, {} and {}, instead. Lower 'low' or raise 'high'"
                    + " to choose another range.", low, high, lowValue, high - low, histogram.min(), histogram.max());
            return Normalization.ofRange(histogram.min(), histogram.max());
        }
        return Normalization.ofRange(lowValue, highValue);
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

    /**
     * Pixel counts in equal bins centred on {@code origin + i * binWidth}. The first and last
     * entries of {@code counts} are the pixels below and above the bins, so that a histogram over a
     * part of the range still ranks every pixel.
     */
    private record Histogram(long[] counts, double origin, double binWidth, double min, double max) {

        static Histogram ofIntegers(List<? extends RandomAccessibleInterval<? extends RealType<?>>> planes,
                int maxValue) {
            long[] counts = new long[maxValue + 3];
            for (RandomAccessibleInterval<? extends RealType<?>> plane : planes) {
                for (RealType<?> pixel : Views.iterable(plane)) {
                    counts[(int) pixel.getRealDouble() + 1]++;
                }
            }
            int first = 1;
            while (counts[first] == 0) {
                first++;
            }
            int last = counts.length - 2;
            while (counts[last] == 0) {
                last--;
            }
            return new Histogram(counts, 0, 1, first - 1, last - 1);
        }

        static Histogram ofFloats(List<? extends RandomAccessibleInterval<? extends RealType<?>>> planes,
                double[] range) {
            return count(planes, range[0], range[1], range[0], range[1]);
        }

        /**
         * Counts again, in as many bins, over the span from one bin below the lowest rank that
         * quantile {@code qLow} interpolates from to one bin above the highest one of {@code qHigh}.
         */
        Histogram refined(List<? extends RandomAccessibleInterval<? extends RealType<?>>> planes,
                double qLow, double qHigh) {
            long total = Arrays.stream(counts).sum();
            int lowBin = binOfRank(counts, (long) Math.floor(qLow * (total - 1)));
            int highBin = binOfRank(counts, Math.min((long) Math.floor(qHigh * (total - 1)) + 1, total - 1));
            double from = Math.max(min, origin + binWidth * (lowBin - 1 - 1.5));
            double to = Math.min(max, origin + binWidth * (highBin - 1 + 1.5));
            return count(planes, from, to, min, max);
        }

        private static Histogram count(List<? extends RandomAccessibleInterval<? extends RealType<?>>> planes,
                double from, double to, double min, double max) {
            double binWidth = (to - from) / (FLOAT_BINS - 1);
            long[] counts = new long[FLOAT_BINS + 2];
            for (RandomAccessibleInterval<? extends RealType<?>> plane : planes) {
                for (RealType<?> pixel : Views.iterable(plane)) {
                    double value = pixel.getRealDouble();
                    if (value < from) {
                        counts[0]++;
                    } else if (value > to) {
                        counts[FLOAT_BINS + 1]++;
                    } else {
                        int bin = binWidth == 0 ? 0 : (int) Math.round((value - from) / binWidth);
                        counts[Math.min(FLOAT_BINS - 1, bin) + 1]++;
                    }
                }
            }
            return new Histogram(counts, from, binWidth, min, max);
        }

        /** Returns the value of quantile q, clamped to the counted bins. */
        double quantile(double q) {
            double bin = quantileBin(counts, q) - 1;
            return origin + binWidth * Math.min(counts.length - 3, Math.max(0, bin));
        }
    }

    static UpscaleException nonFinite(double value) {
        return new UpscaleException("The image contains " + (Double.isNaN(value) ? "NaN" : "infinite")
                + " pixel values, which the network cannot process; replace them first,"
                + " for example with Process > Math > Remove NaNs.");
    }
}
