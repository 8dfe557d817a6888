package org.fssm.upscale.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ij.IJ;
import ij.ImagePlus;
import ij.gui.Roi;

import net.imglib2.Cursor;
import net.imglib2.RandomAccessibleInterval;
import net.imglib2.img.array.ArrayImgs;
import net.imglib2.type.numeric.integer.UnsignedByteType;
import net.imglib2.type.numeric.real.FloatType;
import net.imglib2.view.Views;

import org.fssm.upscale.TestModels;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Compares tiled with untiled upscaling through the public API on the untrained FSSM model. The
 * scan reads the whole tile, so tiles cannot match exactly. Blending the overlap must keep the
 * difference far below what is visible.
 */
class TilingTest {

    private static final String IMAGE = "bioimageanalysisnotebooks/0bf4b1.tif";

    static RandomAccessibleInterval<UnsignedByteType> load(int size) {
        ImagePlus image = IJ.openImage(TestModels.microscopy(IMAGE).toString());
        assertNotNull(image, "cannot open " + IMAGE);
        image.setRoi(new Roi(0, 0, size, size));
        byte[] pixels = (byte[]) image.crop().getProcessor().getPixels();
        return ArrayImgs.unsignedBytes(pixels, size, size);
    }

    /** Returns the PSNR in dB of two images of 8-bit range (peak 255). */
    static double psnr(RandomAccessibleInterval<FloatType> a, RandomAccessibleInterval<FloatType> b) {
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

    private static double tiledVersusUntiledPsnr(int size, int tile, int overlap) {
        RandomAccessibleInterval<UnsignedByteType> image = load(size);
        UpscaleSettings settings = UpscaleSettings.defaults(2).withDevice(Device.CPU)
                .withModel(TestModels.model(2));
        RandomAccessibleInterval<FloatType> untiled = FssmUpscaler.upscale(image, settings.withTile(size, 0));
        RandomAccessibleInterval<FloatType> tiled = FssmUpscaler.upscale(image, settings.withTile(tile, overlap));
        assertEquals(2 * size, untiled.dimension(0), "untiled width");
        assertEquals(2 * size, tiled.dimension(1), "tiled height");
        return psnr(untiled, tiled);
    }

    @Test
    void tiledCloseToUntiledOnCrop() {
        double psnr = tiledVersusUntiledPsnr(64, 48, 23);
        assertTrue(psnr >= 50, "PSNR tiled vs untiled on 64x64: " + psnr + " dB");
    }

    /** Full 256 x 256 comparison; slow on a 2-core CPU, so it runs only with -Dexcluded.groups=none. */
    @Test
    @Tag("slow")
    void tiledCloseToUntiledOn256() {
        double psnr = tiledVersusUntiledPsnr(256, UpscaleSettings.DEFAULT_TILE, UpscaleSettings.DEFAULT_OVERLAP);
        assertTrue(psnr >= 50, "PSNR tiled vs untiled on 256x256: " + psnr + " dB");
    }
}
