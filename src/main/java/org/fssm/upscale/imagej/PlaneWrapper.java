package org.fssm.upscale.imagej;

import ij.ImagePlus;
import ij.process.ColorProcessor;
import ij.process.ImageProcessor;

import net.imglib2.RandomAccessibleInterval;
import net.imglib2.img.array.ArrayImgs;
import net.imglib2.type.numeric.RealType;

import org.fssm.upscale.engine.UpscaleException;

/** Wraps ImageJ 1.x plane pixels as ImgLib2 images without copying grey planes. */
final class PlaneWrapper {

    private PlaneWrapper() {
    }

    /** Throws a user-facing message for image types the plugin cannot upscale. */
    static void checkSupported(ImagePlus image) {
        switch (image.getType()) {
            case ImagePlus.GRAY8, ImagePlus.GRAY16, ImagePlus.GRAY32, ImagePlus.COLOR_RGB -> {
            }
            case ImagePlus.COLOR_256 -> throw new UpscaleException("8-bit indexed-colour images are not supported"
                    + " because their pixel values are palette indices; convert with Image > Type > RGB Color first.");
            default -> throw new UpscaleException("Unsupported image type " + image.getType()
                    + "; use an 8-, 16- or 32-bit grey or an RGB image.");
        }
    }

    /**
     * Returns the grey plane as a read-only view of the processor's pixel array. The caller must not
     * write to it, because it shares memory with the user's image.
     */
    static RandomAccessibleInterval<? extends RealType<?>> grey(ImageProcessor processor) {
        int width = processor.getWidth();
        int height = processor.getHeight();
        Object pixels = processor.getPixels();
        if (pixels instanceof byte[] bytes) {
            return ArrayImgs.unsignedBytes(bytes, width, height);
        }
        if (pixels instanceof short[] shorts) {
            return ArrayImgs.unsignedShorts(shorts, width, height);
        }
        if (pixels instanceof float[] floats) {
            return ArrayImgs.floats(floats, width, height);
        }
        throw new IllegalArgumentException("Not a grey processor: " + processor);
    }

    /** Returns red, green and blue of an RGB plane as three 8-bit copies. */
    @SuppressWarnings("unchecked")
    static RandomAccessibleInterval<? extends RealType<?>>[] rgb(ImageProcessor processor) {
        int width = processor.getWidth();
        int height = processor.getHeight();
        byte[][] colours = new byte[3][width * height];
        ((ColorProcessor) processor).getRGB(colours[0], colours[1], colours[2]);
        RandomAccessibleInterval<? extends RealType<?>>[] planes = new RandomAccessibleInterval[3];
        for (int colour = 0; colour < 3; colour++) {
            planes[colour] = ArrayImgs.unsignedBytes(colours[colour], width, height);
        }
        return planes;
    }
}
