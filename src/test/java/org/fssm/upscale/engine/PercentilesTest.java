package org.fssm.upscale.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import net.imglib2.img.array.ArrayImgs;

import org.junit.jupiter.api.Test;

/** Checks percentile normalisation against numpy's linear-interpolation definition. */
class PercentilesTest {

    @Test
    void unsignedShortPercentilesExact() {
        short[] values = new short[101];
        for (int i = 0; i <= 100; i++) {
            values[i] = (short) (1000 + 10 * i);
        }
        Normalization normalization = Percentiles.normalization(
                List.of(ArrayImgs.unsignedShorts(values, 101, 1)), 1, 99.5);
        assertEquals(1010, normalization.low(), 1e-9, "1st percentile");
        assertEquals(1995, normalization.high(), 1e-9, "99.5th percentile");
    }

    @Test
    void percentilesSpanAllPlanes() {
        short[] dark = new short[16];
        short[] bright = new short[16];
        java.util.Arrays.fill(bright, (short) 60000);
        Normalization normalization = Percentiles.normalization(
                List.of(ArrayImgs.unsignedShorts(dark, 4, 4), ArrayImgs.unsignedShorts(bright, 4, 4)), 0, 100);
        assertEquals(0, normalization.low(), 1e-9, "low over both planes");
        assertEquals(60000, normalization.high(), 1e-9, "high over both planes");
    }

    @Test
    void floatPercentilesWithinOneBin() {
        float[] values = new float[1000];
        for (int i = 0; i < values.length; i++) {
            values[i] = -5 + 0.01f * i;
        }
        Normalization normalization = Percentiles.normalization(
                List.of(ArrayImgs.floats(values, 1000, 1)), 1, 99);
        double binWidth = (values[999] - values[0]) / (Percentiles.FLOAT_BINS - 1);
        assertEquals(-5 + 0.01 * 9.99, normalization.low(), 2 * binWidth, "1st percentile");
        assertEquals(-5 + 0.01 * 989.01, normalization.high(), 2 * binWidth, "99th percentile");
    }

    @Test
    void constantImageKeepsItsValue() {
        float[] values = new float[64];
        java.util.Arrays.fill(values, 7);
        Normalization normalization = Percentiles.normalization(List.of(ArrayImgs.floats(values, 8, 8)), 1, 99.8);
        assertEquals(7, normalization.inverse(normalization.forward(7)), 1e-6, "round trip");
        assertTrue(normalization.high() > normalization.low(), "non-empty range");
    }

    @Test
    void sparseImageFallsBackToMinMax() {
        // 200 beads on an exactly zero background: both percentiles are 0.
        short[] values = new short[512 * 512];
        for (int i = 0; i < 200; i++) {
            values[i * 1301] = 4000;
        }
        Normalization normalization = Percentiles.normalization(
                List.of(ArrayImgs.unsignedShorts(values, 512, 512)), 1, 99.8);
        assertEquals(0, normalization.low(), 1e-9, "low is the minimum");
        assertEquals(4000, normalization.high(), 1e-9, "high is the maximum");
    }

    @Test
    void floatOutlierRefinesPercentiles() {
        // One pixel at 1e9 makes the first pass's bins 15,000 wide, wider than all other data.
        float[] values = new float[10001];
        for (int i = 0; i < 10000; i++) {
            values[i] = 0.1f * i;
        }
        values[10000] = 1e9f;
        Normalization normalization = Percentiles.normalization(
                List.of(ArrayImgs.floats(values, 10001, 1)), 1, 99.8);
        assertEquals(10.0, normalization.low(), 0.5, "1st percentile, numpy's value");
        assertEquals(998.0, normalization.high(), 0.5, "99.8th percentile, numpy's value");
    }

    @Test
    void hugeConstantImageKeepsItsValue() {
        float[] values = new float[16];
        java.util.Arrays.fill(values, 1e16f);
        Normalization normalization = Percentiles.normalization(List.of(ArrayImgs.floats(values, 4, 4)), 1, 99.8);
        assertTrue(normalization.high() > normalization.low(), "non-empty range");
        assertEquals(1e16f, normalization.inverse(normalization.forward(1e16f)), 1e9, "round trip");
    }

    @Test
    void nanRejected() {
        float[] values = new float[16];
        values[5] = Float.NaN;
        UpscaleException error = assertThrows(UpscaleException.class,
                () -> Percentiles.normalization(List.of(ArrayImgs.floats(values, 4, 4)), 1, 99.8));
        assertTrue(error.getMessage().contains("NaN"), error.getMessage());
    }

    @Test
    void invalidPercentilesRejected() {
        UpscaleException error = assertThrows(UpscaleException.class, () -> Percentiles.checkPercentiles(50, 10));
        assertTrue(error.getMessage().startsWith("Invalid percentiles low=50.0, high=10.0"), error.getMessage());
    }
}
