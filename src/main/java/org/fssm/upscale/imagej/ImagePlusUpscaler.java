package org.fssm.upscale.imagej;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import ij.CompositeImage;
import ij.ImagePlus;
import ij.ImageStack;
import ij.measure.Calibration;
import ij.process.ByteProcessor;
import ij.process.ColorProcessor;
import ij.process.FloatProcessor;
import ij.process.ImageProcessor;
import ij.process.LUT;
import ij.process.ShortProcessor;

import net.imglib2.RandomAccessibleInterval;
import net.imglib2.img.array.ArrayImgs;
import net.imglib2.type.numeric.RealType;
import net.imglib2.type.numeric.real.FloatType;

import org.fssm.upscale.engine.FssmUpscaler;
import org.fssm.upscale.engine.Normalization;
import org.fssm.upscale.engine.Percentiles;
import org.fssm.upscale.engine.PlaneJob;
import org.fssm.upscale.engine.ProgressListener;
import org.fssm.upscale.engine.RunReport;
import org.fssm.upscale.engine.UpscaleException;
import org.fssm.upscale.engine.UpscaleSettings;

/**
 * Upscales an {@link ImagePlus} of any supported type and layout into a new one, shared by the
 * SciJava command and the ImageJ 1.x plugin. The input is only read: grey planes are wrapped,
 * never written, and the output is built plane by plane into a new stack.
 */
public final class ImagePlusUpscaler {

    private ImagePlusUpscaler() {
    }

    /** Upscaled image together with the run's report. */
    public record Result(ImagePlus image, RunReport report) {
    }

    /**
     * Upscales every XY plane of every channel, slice and frame.
     *
     * @throws org.fssm.upscale.engine.UpscaleException with a user-facing message on bad input
     * @throws org.fssm.upscale.engine.UpscaleCancelledException if the listener cancels; no image
     *     is created then
     */
    public static Result upscale(ImagePlus input, UpscaleSettings settings, OutputType output,
            ProgressListener listener) {
        PlaneWrapper.checkSupported(input);
        settings.validate();
        checkOutputPlaneSize(input.getWidth(), input.getHeight(), settings.scale());
        FssmUpscaler upscaler = FssmUpscaler.create(settings);
        int scale = settings.scale();
        ImageStack source = input.getStack();
        int width = input.getWidth();
        int height = input.getHeight();
        int planeCount = source.getSize();
        List<Normalization> normalizations = channelNormalizations(input, settings);
        Calibration density = densityCalibration(input, output);

        ImageStack target = new ImageStack(width * scale, height * scale);
        boolean rgbToFloat = input.getType() == ImagePlus.COLOR_RGB && output == OutputType.FLOAT;
        long millis = 0;
        long tiles = 0;
        RunReport last = null;
        for (int index = 1; index <= planeCount; index++) {
            int[] position = input.convertIndexToPosition(index);
            ImageProcessor plane = source.getProcessor(index);
            PlaneBuffers buffers = job(input.getType(), plane, normalizations.get(position[0] - 1),
                    width * scale, height * scale);
            last = upscaler.run(List.of(buffers.job()), new PlaneProgress(listener, index - 1, planeCount));
            millis += last.millis();
            tiles += last.tiles();
            String label = source.getSliceLabel(index);
            for (ImageProcessor processor : toProcessors(buffers, input.getType(), output, density)) {
                target.addSlice(label, processor);
            }
        }
        RunReport report = new RunReport(last.model(), last.scale(), last.scan(), last.device(), last.tileWidth(),
                last.tileHeight(), last.overlap(), tiles, planeCount, millis, last.warnings());
        ImagePlus result = assemble(input, target, rgbToFloat, settings, report, output, density);
        return new Result(result, report);
    }

    /**
     * Returns the input's density calibration when float output must apply it, or null. An 8- or
     * 16-bit image may map its stored values through a function (signed 16-bit data are stored as
     * value + 32768), but ImageJ keeps no such function on a 32-bit image. So 32-bit output stores
     * the calibrated values themselves.
     */
    private static Calibration densityCalibration(ImagePlus input, OutputType output) {
        Calibration calibration = input.getCalibration();
        boolean integerInput = input.getType() == ImagePlus.GRAY8 || input.getType() == ImagePlus.GRAY16;
        return output == OutputType.FLOAT && integerInput && calibration.calibrated() ? calibration : null;
    }

    /** Returns a raw display limit of the input in the units of the output. */
    private static double displayValue(double raw, Calibration density) {
        return density == null ? raw : density.getCValue(raw);
    }

    /** Rejects an input whose upscaled planes would exceed the 2^31 - 1 pixels of one ImageJ plane. */
    static void checkOutputPlaneSize(int width, int height, int scale) {
        long outWidth = (long) width * scale;
        long outHeight = (long) height * scale;
        if (outWidth * outHeight > Integer.MAX_VALUE) {
            throw new UpscaleException("The upscaled image would be " + outWidth + " × " + outHeight
                    + " pixels per plane, more than the " + Integer.MAX_VALUE
                    + " pixels an ImageJ plane can hold. Upscale a cropped region instead.");
        }
    }

    /** Returns one normalisation per channel: /255 for 8-bit and RGB, percentiles over all Z and T otherwise. */
    private static List<Normalization> channelNormalizations(ImagePlus input, UpscaleSettings settings) {
        List<Normalization> normalizations = new ArrayList<>();
        int type = input.getType();
        for (int channel = 1; channel <= input.getNChannels(); channel++) {
            if (type == ImagePlus.GRAY8 || type == ImagePlus.COLOR_RGB) {
                normalizations.add(Normalization.UNSIGNED_BYTE);
                continue;
            }
            List<RandomAccessibleInterval<? extends RealType<?>>> planes = new ArrayList<>();
            for (int slice = 1; slice <= input.getNSlices(); slice++) {
                for (int frame = 1; frame <= input.getNFrames(); frame++) {
                    int index = input.getStackIndex(channel, slice, frame);
                    planes.add(PlaneWrapper.grey(input.getStack().getProcessor(index)));
                }
            }
            normalizations.add(Percentiles.normalization(planes, settings.low(), settings.high()));
        }
        return normalizations;
    }

    /** Job of one plane together with the pixel arrays of its float outputs. */
    private record PlaneBuffers(PlaneJob job, List<float[]> pixels, int width, int height) {
    }

    private static PlaneBuffers job(int type, ImageProcessor plane, Normalization normalization, int outWidth,
            int outHeight) {
        int colours = type == ImagePlus.COLOR_RGB ? 3 : 1;
        List<float[]> pixels = new ArrayList<>();
        List<RandomAccessibleInterval<FloatType>> outputs = new ArrayList<>();
        for (int colour = 0; colour < colours; colour++) {
            float[] array = new float[outWidth * outHeight];
            pixels.add(array);
            outputs.add(ArrayImgs.floats(array, outWidth, outHeight));
        }
        PlaneJob job = type == ImagePlus.COLOR_RGB
                ? new PlaneJob(List.of(PlaneWrapper.rgb(plane)), List.of(normalization, normalization, normalization),
                        outputs)
                : new PlaneJob(List.of(PlaneWrapper.grey(plane)), List.of(normalization), outputs);
        return new PlaneBuffers(job, pixels, outWidth, outHeight);
    }

    /**
     * Converts the float outputs of one plane to processors of the requested type, mapping float
     * output through {@code density} unless it is null.
     */
    private static List<ImageProcessor> toProcessors(PlaneBuffers buffers, int type, OutputType output,
            Calibration density) {
        List<float[]> planes = buffers.pixels();
        int width = buffers.width();
        int height = buffers.height();
        if (output == OutputType.FLOAT) {
            List<ImageProcessor> processors = new ArrayList<>();
            for (float[] pixels : planes) {
                if (density != null) {
                    for (int i = 0; i < pixels.length; i++) {
                        pixels[i] = (float) density.getCValue((double) pixels[i]);
                    }
                }
                processors.add(new FloatProcessor(width, height, pixels));
            }
            return processors;
        }
        return List.of(switch (type) {
            case ImagePlus.GRAY8 -> new ByteProcessor(width, height, toBytes(planes.get(0)));
            case ImagePlus.GRAY16 -> new ShortProcessor(width, height, toShorts(planes.get(0)), null);
            case ImagePlus.GRAY32 -> new FloatProcessor(width, height, planes.get(0));
            default -> rgbProcessor(width, height, planes);
        });
    }

    private static ColorProcessor rgbProcessor(int width, int height, List<float[]> planes) {
        ColorProcessor processor = new ColorProcessor(width, height);
        processor.setRGB(toBytes(planes.get(0)), toBytes(planes.get(1)), toBytes(planes.get(2)));
        return processor;
    }

    /** Rounds to the nearest integer and clips to 0..255. */
    static byte[] toBytes(float[] values) {
        byte[] bytes = new byte[values.length];
        for (int i = 0; i < values.length; i++) {
            bytes[i] = (byte) Math.max(0, Math.min(255, Math.round(values[i])));
        }
        return bytes;
    }

    /** Rounds to the nearest integer and clips to 0..65535. */
    static short[] toShorts(float[] values) {
        short[] shorts = new short[values.length];
        for (int i = 0; i < values.length; i++) {
            shorts[i] = (short) Math.max(0, Math.min(65535, Math.round(values[i])));
        }
        return shorts;
    }

    /** Builds the output image with the input's layout, LUTs, display ranges and scaled calibration. */
    private static ImagePlus assemble(ImagePlus input, ImageStack stack, boolean rgbToFloat,
            UpscaleSettings settings, RunReport report, OutputType output, Calibration density) {
        int channels = rgbToFloat ? 3 : input.getNChannels();
        ImagePlus result = new ImagePlus(outputTitle(input.getTitle(), settings.scale()), stack);
        result.setDimensions(channels, input.getNSlices(), input.getNFrames());
        Calibration calibration = scaledCalibration(input.getCalibration(), settings.scale());
        if (density != null) {
            calibration.disableDensityCalibration();  // the pixels hold calibrated values already
        }
        result.setCalibration(calibration);
        if (input.isComposite() || rgbToFloat) {
            result = composite(input, result, rgbToFloat, density);
        } else {
            copyLutAndRange(input, result, density);
        }
        result.setOpenAsHyperStack(input.isHyperStack() || channels > 1);
        result.setProperty("Info", infoText(input, settings, report));
        return result;
    }

    private static ImagePlus composite(ImagePlus input, ImagePlus result, boolean rgbToFloat, Calibration density) {
        if (rgbToFloat) {
            CompositeImage composite = new CompositeImage(result, CompositeImage.COMPOSITE);
            composite.setChannelLut(LUT.createLutFromColor(java.awt.Color.RED), 1);
            composite.setChannelLut(LUT.createLutFromColor(java.awt.Color.GREEN), 2);
            composite.setChannelLut(LUT.createLutFromColor(java.awt.Color.BLUE), 3);
            for (int channel = 1; channel <= 3; channel++) {
                composite.getChannelLut(channel).min = 0;
                composite.getChannelLut(channel).max = 255;
            }
            return composite;
        }
        CompositeImage source = (CompositeImage) input;
        CompositeImage composite = new CompositeImage(result, source.getMode());
        for (int channel = 1; channel <= input.getNChannels(); channel++) {
            LUT lut = source.getChannelLut(channel);
            composite.setChannelLut((LUT) lut.clone(), channel);
            composite.setPositionWithoutUpdate(channel, 1, 1);
            composite.setDisplayRange(displayValue(lut.min, density), displayValue(lut.max, density));
        }
        composite.setPositionWithoutUpdate(input.getC(), input.getZ(), input.getT());
        return composite;
    }

    private static void copyLutAndRange(ImagePlus input, ImagePlus result, Calibration density) {
        if (input.getType() == ImagePlus.COLOR_RGB) {
            return;
        }
        ImageProcessor processor = input.getProcessor();
        LUT lut = processor.getLut();
        result.getStack().setColorModel(lut);
        result.getProcessor().setLut(lut);
        result.setDisplayRange(displayValue(input.getDisplayRangeMin(), density),
                displayValue(input.getDisplayRangeMax(), density));
    }

    /** Returns {@code cells-FSSMx2.tif} for {@code cells.tif} and scale 2. */
    public static String outputTitle(String title, int scale) {
        String base = title.replaceFirst("\\.(?i)(tiff?|png|jpe?g|gif|bmp|zip|lsm|czi|nd2|lif|ome\\.tiff?)$", "");
        return base + "-FSSMx" + scale + ".tif";
    }

    /** Returns the input's calibration with the pixel size divided and the origin multiplied by the scale. */
    public static Calibration scaledCalibration(Calibration calibration, int scale) {
        Calibration scaled = calibration.copy();
        scaled.pixelWidth = calibration.pixelWidth / scale;
        scaled.pixelHeight = calibration.pixelHeight / scale;
        scaled.xOrigin = calibration.xOrigin * scale;
        scaled.yOrigin = calibration.yOrigin * scale;
        return scaled;
    }

    private static String infoText(ImagePlus input, UpscaleSettings settings, RunReport report) {
        Object previous = input.getProperty("Info");
        String line = infoLine(input, settings, report);
        return previous instanceof String text && !text.isEmpty() ? text.stripTrailing() + "\n" + line : line;
    }

    /** Returns the Info line that records how the image was made. */
    static String infoLine(ImagePlus input, UpscaleSettings settings, RunReport report) {
        String normalization = input.getType() == ImagePlus.GRAY8 || input.getType() == ImagePlus.COLOR_RGB
                ? "value/255"
                : String.format(Locale.ROOT, "percentiles %.3g-%.4g per channel over all Z and T",
                        settings.low(), settings.high());
        return "FSSM Upscale: model=" + report.model() + ", scale=" + report.scale() + ", scan=" + report.scan()
                + ", tile=" + report.tileWidth() + "x" + report.tileHeight() + ", overlap=" + report.overlap()
                + ", normalisation=" + normalization + ", device=" + report.device();
    }

    /** Maps the progress of one plane's run to the whole image. */
    private record PlaneProgress(ProgressListener listener, int plane, int planeCount) implements ProgressListener {

        @Override
        public void tileDone(int ignoredPlane, int ignoredCount, int tile, int tileCount) {
            listener.tileDone(plane, planeCount, tile, tileCount);
        }

        @Override
        public boolean isCancelled() {
            return listener.isCancelled();
        }
    }
}
