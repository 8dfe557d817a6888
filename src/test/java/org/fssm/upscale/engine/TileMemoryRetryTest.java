package org.fssm.upscale.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import net.imglib2.Cursor;
import net.imglib2.RandomAccessibleInterval;
import net.imglib2.img.Img;
import net.imglib2.img.array.ArrayImgs;
import net.imglib2.type.numeric.integer.UnsignedByteType;
import net.imglib2.type.numeric.real.FloatType;

import org.fssm.upscale.TestModels;
import org.junit.jupiter.api.Test;

/**
 * Runs the retry with smaller tiles against real libtorch allocation failures. The models are
 * one convolution and a pixel shuffle that request an impossible buffer (4 EiB) when a tile
 * has more pixels than a set limit. The failure therefore comes from PyTorch's CPU allocator
 * through DJL, as a real out-of-memory error does.
 */
class TileMemoryRetryTest {

    private static RandomAccessibleInterval<UnsignedByteType> noise(int size) {
        return noise(size, size);
    }

    private static RandomAccessibleInterval<UnsignedByteType> noise(int width, int height) {
        byte[] pixels = new byte[width * height];
        new Random(3).nextBytes(pixels);
        return ArrayImgs.unsignedBytes(pixels, width, height);
    }

    private static RunReport runOnce(FssmUpscaler upscaler, RandomAccessibleInterval<UnsignedByteType> image) {
        Img<FloatType> output = FssmUpscaler.createOutput(image, 2);
        return upscaler.run(List.of(PlaneJob.grey(image, Normalization.UNSIGNED_BYTE, output)), ProgressListener.NONE);
    }

    private static UpscaleSettings settings(String model, int tile) {
        Path file = TestModels.folder().resolve("allocation-fails-" + model + "-x2.pt");
        return UpscaleSettings.defaults(2).withDevice(Device.CPU).withModel(file).withTile(tile, 8);
    }

    @Test
    void failedTileRetriedWithHalfSide() {
        RandomAccessibleInterval<UnsignedByteType> image = noise(128);
        FssmUpscaler upscaler = FssmUpscaler.create(settings("above-4096px", 128));
        Img<FloatType> output = FssmUpscaler.createOutput(image, 2);

        RunReport report = upscaler.run(List.of(PlaneJob.grey(image, Normalization.UNSIGNED_BYTE, output)),
                ProgressListener.NONE);

        // 128 x 128 = 16,384 pixels fail, 64 x 64 = 4,096 do not.
        assertEquals(64, report.tileWidth(), "tile width after the retry");
        assertEquals(64, report.tileHeight(), "tile height after the retry");
        RandomAccessibleInterval<FloatType> direct = FssmUpscaler.upscale(image, settings("above-4096px", 64));
        double psnr = TilingTest.psnr(direct, output);
        assertTrue(psnr >= 40, "retried output against a direct run with small tiles: " + psnr + " dB");
        for (Cursor<FloatType> cursor = output.cursor(); cursor.hasNext(); ) {
            assertTrue(Float.isFinite(cursor.next().get()), "finite output at " + cursor.positionAsPoint());
        }
    }

    @Test
    void narrowTileHalvesLongSideOnly() {
        // 24 x 208 tiles (4,992 pixels) fail; the width cannot halve below 16, so only the height does.
        RunReport report = runOnce(FssmUpscaler.create(settings("above-4096px", 256)), noise(24, 400));

        assertEquals(24, report.tileWidth(), "tile width kept");
        assertEquals(104, report.tileHeight(), "tile height halved");
        assertEquals(1, report.warnings().size(), "one retry reported: " + report.warnings());
    }

    @Test
    void laterRunsStartFromSmallerTile() {
        FssmUpscaler upscaler = FssmUpscaler.create(settings("above-4096px", 128));

        RunReport first = runOnce(upscaler, noise(128));
        RunReport second = runOnce(upscaler, noise(128));

        assertEquals(64, first.tileWidth(), "first run retried");
        assertEquals(64, second.tileWidth(), "second run at the smaller tile");
        assertEquals(1, second.warnings().size(), "no second retry: " + second.warnings());
        assertTrue(second.warnings().get(0).startsWith("Out of memory with 128 × 128 tiles; continued with 64 × 64"),
                second.warnings().get(0));
    }

    @Test
    void otherModelErrorNamesTileSize() {
        Path file = TestModels.folder().resolve("size-error-above-8px-x2.pt");
        UpscaleSettings settings = UpscaleSettings.defaults(2).withDevice(Device.CPU).withModel(file).withTile(24, 8);

        UpscaleException error = assertThrows(UpscaleException.class, () -> FssmUpscaler.upscale(noise(64), settings));

        String message = error.getMessage();
        assertTrue(message.contains("failed on a tile of 24 × 24 pixels ("), message);
        assertTrue(message.contains("RuntimeError: this test model accepts only 8 x 8 inputs). "), message);
        assertTrue(message.contains("choose a tile size that it accepts"), message);
        assertFalse(message.startsWith("Not enough memory"), "not taken for a memory failure: " + message);
    }

    @Test
    void failureAtSmallestTileGivesMemoryMessage() {
        UpscaleException error = assertThrows(UpscaleException.class,
                () -> FssmUpscaler.upscale(noise(64), settings("above-64px", 64)));

        String message = error.getMessage();
        assertTrue(message.startsWith("Not enough memory to upscale even a 16 × 16 tile"), message);
        assertTrue(message.contains("Edit > Options > Memory & Threads"), message);
        assertTrue(TileMemoryException.isOutOfMemory(error.getCause()), "cause kept: " + error.getCause());
    }
}
