package org.fssm.upscale.command;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.zip.CRC32;

import ij.CompositeImage;
import ij.IJ;
import ij.ImagePlus;
import ij.ImageStack;
import ij.gui.Roi;
import ij.measure.Calibration;
import ij.plugin.Duplicator;
import ij.plugin.HyperStackConverter;
import ij.process.LUT;
import ij.process.ShortProcessor;

import org.fssm.upscale.TestModels;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Runs the command on crops of real microscopy images of every supported type and layout and
 * checks size, type, layout, LUTs, calibration, the Info line, and that the input is unchanged.
 */
class ImageTypesTest {

    private static CommandRunner runner;

    @BeforeAll
    static void startContext() {
        runner = new CommandRunner();
    }

    @AfterAll
    static void stopContext() {
        runner.close();
    }

    /** Opens a shared image and crops a small XY region of all its planes in memory. */
    static ImagePlus crop(String file, int x, int y, int width, int height) {
        ImagePlus image = IJ.openImage(TestModels.microscopy(file).toString());
        assertNotNull(image, "cannot open " + file);
        image.setRoi(new Roi(x, y, width, height));
        ImagePlus cropped = new Duplicator().run(image, 1, image.getNChannels(), 1, image.getNSlices(), 1,
                image.getNFrames());
        cropped.setTitle(image.getTitle());
        return cropped;
    }

    /** Returns a checksum of every pixel of every plane. */
    static long checksum(ImagePlus image) {
        CRC32 crc = new CRC32();
        ImageStack stack = image.getStack();
        for (int index = 1; index <= stack.getSize(); index++) {
            Object pixels = stack.getPixels(index);
            if (pixels instanceof byte[] bytes) {
                crc.update(bytes);
            } else if (pixels instanceof short[] shorts) {
                for (short value : shorts) {
                    crc.update(value >> 8);
                    crc.update(value);
                }
            } else if (pixels instanceof float[] floats) {
                for (float value : floats) {
                    crc.update(Float.floatToIntBits(value));
                }
            } else if (pixels instanceof int[] ints) {
                for (int value : ints) {
                    crc.update(value);
                }
            }
        }
        return crc.getValue();
    }

    /** Runs the command and checks what every output shares: size, layout, calibration, Info, input. */
    private ImagePlus upscaleAndCheck(ImagePlus input, Map<String, Object> inputs, int expectedType) throws Exception {
        long before = checksum(input);
        Calibration calibration = input.getCalibration().copy();
        int scale = Integer.parseInt((String) inputs.get("scale"));

        ImagePlus output = runner.upscale(inputs);

        assertEquals(before, checksum(input), "input pixels changed");
        assertEquals(calibration.pixelWidth, input.getCalibration().pixelWidth, "input calibration changed");
        assertEquals(input.getWidth() * scale, output.getWidth(), "width");
        assertEquals(input.getHeight() * scale, output.getHeight(), "height");
        assertEquals(expectedType, output.getType(), "type");
        assertEquals(input.getNSlices(), output.getNSlices(), "slices");
        assertEquals(input.getNFrames(), output.getNFrames(), "frames");
        Calibration scaled = output.getCalibration();
        assertEquals(calibration.pixelWidth / scale, scaled.pixelWidth, 1e-12, "pixel width");
        assertEquals(calibration.pixelHeight / scale, scaled.pixelHeight, 1e-12, "pixel height");
        assertEquals(calibration.pixelDepth, scaled.pixelDepth, 1e-12, "pixel depth");
        assertEquals(calibration.frameInterval, scaled.frameInterval, 1e-12, "frame interval");
        assertEquals(calibration.getUnit(), scaled.getUnit(), "unit");
        assertEquals(calibration.xOrigin * scale, scaled.xOrigin, 1e-9, "x origin");
        assertEquals(calibration.yOrigin * scale, scaled.yOrigin, 1e-9, "y origin");
        String info = (String) output.getProperty("Info");
        assertNotNull(info, "Info property");
        BadInputTest.assertContains(info, "FSSM Upscale: model=", "scale=" + scale, "scan=", "tile=",
                "overlap=", "normalisation=", "device=");
        assertTrue(output.getTitle().endsWith("-FSSMx" + scale + ".tif"), output.getTitle());
        return output;
    }

    @Test
    void eightBitKeepsTypeAndLut() throws Exception {
        ImagePlus input = crop("neubias/xy_8bit__PCNA.tif", 60, 100, 48, 40);
        input.getProcessor().setLut(invertedGrey());
        ImagePlus output = upscaleAndCheck(input, CommandRunner.inputs(input), ImagePlus.GRAY8);
        assertEquals("xy_8bit__PCNA-FSSMx2.tif", output.getTitle());
        assertLutEquals(input.getProcessor().getLut(), output.getProcessor().getLut());
        assertEquals(1, output.getNChannels(), "channels");
    }

    @Test
    void sixteenBitKeepsCalibrationAndRange() throws Exception {
        ImagePlus input = crop("neubias/xy_16bit_calibrated__nuclei_various_shapes.tif", 80, 80, 40, 44);
        assertTrue(input.getCalibration().scaled(), "test image should be calibrated");
        ImagePlus output = upscaleAndCheck(input, CommandRunner.inputs(input), ImagePlus.GRAY16);
        assertEquals(input.getDisplayRangeMin(), output.getDisplayRangeMin(), "display min");
        assertEquals(input.getDisplayRangeMax(), output.getDisplayRangeMax(), "display max");
        double inputMean = input.getStatistics().mean;
        double outputMean = output.getStatistics().mean;
        assertTrue(Math.abs(inputMean - outputMean) < 0.5 * inputMean + 50,
                "output intensity scale: input mean " + inputMean + ", output mean " + outputMean);
    }

    @Test
    void floatImageStaysFloat() throws Exception {
        ImagePlus input = crop("neubias/spatial_omics_dapi__r1_DAPI_downsampled.tiff", 300, 300, 36, 40);
        upscaleAndCheck(input, CommandRunner.inputs(input), ImagePlus.GRAY32);
    }

    @Test
    void sixteenBitToFloatOutput() throws Exception {
        ImagePlus input = crop("neubias/xy_16bit__microtubules.tif", 20, 20, 40, 40);
        Map<String, Object> inputs = CommandRunner.inputs(input);
        inputs.put("output", "32-bit");
        upscaleAndCheck(input, inputs, ImagePlus.GRAY32);
    }

    @Test
    void signedSixteenBitToFloatKeepsValues() throws Exception {
        // Signed 16-bit data are stored as value + 32768, with a calibration function back.
        ShortProcessor processor = new ShortProcessor(40, 40);
        for (int y = 0; y < 40; y++) {
            for (int x = 0; x < 40; x++) {
                processor.set(x, y, 32768 - 400 + 10 * x + 5 * y);
            }
        }
        ImagePlus input = new ImagePlus("signed.tif", processor);
        input.getCalibration().setSigned16BitCalibration();
        input.setDisplayRange(32768 - 400, 32768 + 200);
        Map<String, Object> inputs = CommandRunner.inputs(input);
        inputs.put("output", "32-bit");

        ImagePlus output = upscaleAndCheck(input, inputs, ImagePlus.GRAY32);

        assertTrue(input.getCalibration().isSigned16Bit(), "input calibration kept");
        assertFalse(output.getCalibration().calibrated(), "output holds calibrated values, no function");
        double expectedMean = -400 + 15 * 19.5;
        double outputMean = output.getStatistics().mean;
        assertTrue(Math.abs(outputMean - expectedMean) < 1000,
                "output in signed units: expected mean near " + expectedMean + ", got " + outputMean);
        assertEquals(-400, output.getDisplayRangeMin(), 1e-6, "display min in signed units");
        assertEquals(200, output.getDisplayRangeMax(), 1e-6, "display max in signed units");
    }

    @Test
    void compositeKeepsModeLutsAndRanges() throws Exception {
        ImagePlus input = crop("neubias/xyc_16bit__nuclei_golgi.tif", 50, 50, 40, 36);
        assertTrue(input.isComposite(), "test image should be a composite");
        ImagePlus output = upscaleAndCheck(input, CommandRunner.inputs(input), ImagePlus.GRAY16);
        assertTrue(output.isComposite(), "output composite");
        CompositeImage source = (CompositeImage) input;
        CompositeImage result = (CompositeImage) output;
        assertEquals(source.getNChannels(), result.getNChannels(), "channels");
        assertEquals(source.getMode(), result.getMode(), "composite mode");
        for (int channel = 1; channel <= source.getNChannels(); channel++) {
            LUT expected = source.getChannelLut(channel);
            LUT actual = result.getChannelLut(channel);
            assertLutEquals(expected, actual);
            assertEquals(expected.min, actual.min, "display min of channel " + channel);
            assertEquals(expected.max, actual.max, "display max of channel " + channel);
        }
    }

    @Test
    void zStackKeepsSlices() throws Exception {
        ImagePlus input = crop("neubias/xyz_8bit__mitotic_plate_calibrated.tif", 100, 100, 32, 32);
        assertTrue(input.getNSlices() > 1, "test image should be a Z-stack");
        upscaleAndCheck(input, CommandRunner.inputs(input), ImagePlus.GRAY8);
    }

    @Test
    void timeSeriesKeepsFrames() throws Exception {
        ImagePlus input = crop("neubias/xyt_8bit_polyp.tif", 100, 100, 32, 32);
        input = HyperStackConverter.toHyperStack(input, 1, 1, input.getStackSize());
        assertEquals(3, input.getNFrames(), "test image should have 3 frames");
        upscaleAndCheck(input, CommandRunner.inputs(input), ImagePlus.GRAY8);
    }

    @Test
    void hyperstackKeepsEveryPlane() throws Exception {
        ImagePlus channels = crop("neubias/xyc_16bit__nuclei_golgi.tif", 50, 50, 24, 24);
        ImageStack stack = new ImageStack(24, 24);
        for (int frame = 0; frame < 2; frame++) {
            for (int slice = 0; slice < 2; slice++) {
                for (int channel = 1; channel <= 2; channel++) {
                    stack.addSlice(channels.getStack().getProcessor(channel).duplicate());
                }
            }
        }
        ImagePlus input = new ImagePlus("hyperstack.tif", stack);
        input = HyperStackConverter.toHyperStack(input, 2, 2, 2, "composite");
        input.getCalibration().frameInterval = 2.5;
        input.getCalibration().pixelDepth = 0.7;
        ImagePlus output = upscaleAndCheck(input, CommandRunner.inputs(input), ImagePlus.GRAY16);
        assertEquals(2, output.getNChannels(), "channels");
        assertTrue(output.isHyperStack(), "hyperstack");
    }

    @Test
    void rgbaPngBecomesRgb() throws Exception {
        ImagePlus input = crop("bioimageanalysisnotebooks/plate1_1_013 [Well 5, Field 1 (Spot 5)].png",
                700, 700, 40, 32);
        assertEquals(ImagePlus.COLOR_RGB, input.getType(), "ImageJ opens the RGBA png as RGB");
        upscaleAndCheck(input, CommandRunner.inputs(input), ImagePlus.COLOR_RGB);
    }

    @Test
    void rgbToFloatGivesThreeChannels() throws Exception {
        ImagePlus input = crop("bioimageanalysisnotebooks/plate1_1_013 [Well 5, Field 1 (Spot 5)].png",
                700, 700, 32, 32);
        Map<String, Object> inputs = CommandRunner.inputs(input);
        inputs.put("output", "32-bit");
        ImagePlus output = upscaleAndCheck(input, inputs, ImagePlus.GRAY32);
        assertEquals(3, output.getNChannels(), "channels");
    }

    @Test
    void scaleThreeWithItsModel() throws Exception {
        ImagePlus input = crop("neubias/xy_8bit__glialcell.tif", 10, 10, 36, 32);
        Map<String, Object> inputs = CommandRunner.inputs(input);
        inputs.put("scale", "3");
        inputs.put("model", CommandRunner.model(3));
        upscaleAndCheck(input, inputs, ImagePlus.GRAY8);
    }

    /** Returns an inverted grey LUT, which differs from every default LUT. */
    private static LUT invertedGrey() {
        byte[] values = new byte[256];
        for (int i = 0; i < 256; i++) {
            values[i] = (byte) (255 - i);
        }
        return new LUT(values, values, values);
    }

    private static void assertLutEquals(LUT expected, LUT actual) {
        byte[] expectedBytes = new byte[768];
        byte[] actualBytes = new byte[768];
        expected.getReds(expectedBytes);
        actual.getReds(actualBytes);
        assertArrayEquals(expectedBytes, actualBytes, "LUT reds");
        expected.getGreens(expectedBytes);
        actual.getGreens(actualBytes);
        assertArrayEquals(expectedBytes, actualBytes, "LUT greens");
        expected.getBlues(expectedBytes);
        actual.getBlues(actualBytes);
        assertArrayEquals(expectedBytes, actualBytes, "LUT blues");
    }
}
