package org.fssm.upscale.command;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import ij.ImagePlus;
import ij.WindowManager;
import ij.process.ByteProcessor;
import ij.process.FloatProcessor;

import org.fssm.upscale.engine.Device;
import org.fssm.upscale.engine.ProgressListener;
import org.fssm.upscale.engine.RunReport;
import org.fssm.upscale.engine.UpscaleCancelledException;
import org.fssm.upscale.engine.UpscaleSettings;
import org.fssm.upscale.imagej.ImagePlusUpscaler;
import org.fssm.upscale.imagej.OutputType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.scijava.command.CommandModule;

/** Checks that each input a user can get wrong ends in one clear sentence and no output image. */
class BadInputTest {

    private static CommandRunner runner;

    @BeforeAll
    static void startContext() {
        runner = new CommandRunner();
    }

    @AfterAll
    static void stopContext() {
        runner.close();
    }

    private static ImagePlus smallImage() {
        ByteProcessor processor = new ByteProcessor(16, 16);
        for (int i = 0; i < 256; i++) {
            processor.set(i, i);
        }
        return new ImagePlus("small.tif", processor);
    }

    /** Runs the command and returns its cancel reason, checking that it made no image. */
    private static String failure(Map<String, Object> inputs) throws Exception {
        CommandModule module = runner.run(inputs);
        assertTrue(module.isCanceled(), "command should fail");
        assertNull(module.getOutput("result"), "no output image after a failure");
        String reason = module.getCancelReason();
        assertTrue(reason.endsWith("."), "ends as a sentence: " + reason);
        assertFalse(reason.contains("\n"), "one line: " + reason);
        assertFalse(reason.contains("Exception"), "no exception name: " + reason);
        return reason;
    }

    /** Asserts that the text contains each part, one assert per part. */
    static void assertContains(String text, String... parts) {
        for (String part : parts) {
            assertTrue(text.contains(part), "expected '" + part + "' in: " + text);
        }
    }

    @Test
    void onePixelImageRejected() throws Exception {
        ImagePlus image = new ImagePlus("dot.tif", new ByteProcessor(1, 1));
        String reason = failure(CommandRunner.inputs(image));
        assertContains(reason, "1 × 1 pixels", "at least 4 × 4");
    }

    @Test
    void nanPixelsRejected() throws Exception {
        FloatProcessor processor = new FloatProcessor(16, 16);
        processor.setf(3, 4, Float.NaN);
        String reason = failure(CommandRunner.inputs(new ImagePlus("nan.tif", processor)));
        assertContains(reason, "NaN");
    }

    @Test
    void infinitePixelsRejected() throws Exception {
        FloatProcessor processor = new FloatProcessor(16, 16);
        processor.setf(3, 4, Float.POSITIVE_INFINITY);
        String reason = failure(CommandRunner.inputs(new ImagePlus("inf.tif", processor)));
        assertContains(reason, "infinite");
    }

    @Test
    void corruptModelRejected(@TempDir Path folder) throws Exception {
        Path corrupt = folder.resolve("corrupt.pt");
        Files.write(corrupt, new byte[] {'n', 'o', 't', ' ', 'a', ' ', 'm', 'o', 'd', 'e', 'l'});
        Map<String, Object> inputs = CommandRunner.inputs(smallImage());
        inputs.put("model", corrupt.toFile());
        String reason = failure(inputs);
        assertContains(reason, "not a valid TorchScript file", "corrupt.pt");
    }

    @Test
    void missingModelFileRejected(@TempDir Path folder) throws Exception {
        Map<String, Object> inputs = CommandRunner.inputs(smallImage());
        inputs.put("model", folder.resolve("absent.pt").toFile());
        String reason = failure(inputs);
        assertContains(reason, "Model file not found", "absent.pt");
    }

    @Test
    void wrongScaleModelRejected() throws Exception {
        Map<String, Object> inputs = CommandRunner.inputs(smallImage());
        inputs.put("model", CommandRunner.model(3));
        String reason = failure(inputs);
        assertContains(reason, "upscales by 3", "scale=2 was requested");
    }

    @Test
    void missingBundledModelNamed() throws Exception {
        assumeTrue(getClass().getClassLoader().getResource("models/fssm-x4.pt") == null,
                "a x4 model is bundled, so nothing is missing");
        Map<String, Object> inputs = CommandRunner.inputs(smallImage());
        inputs.put("scale", "4");
        inputs.put("model", new File(""));
        String reason = failure(inputs);
        assertContains(reason, "No ×4 model is bundled", "models/fssm-x4.pt");
    }

    @Test
    void invalidOverlapRejected() throws Exception {
        Map<String, Object> inputs = CommandRunner.inputs(smallImage());
        inputs.put("overlap", 16);
        String reason = failure(inputs);
        assertContains(reason, "Invalid overlap 16");
    }

    @Test
    void gpuWithoutCudaFallsBackToCpu() {
        UpscaleSettings settings = UpscaleSettings.defaults(2).withTile(32, 8).withDevice(Device.GPU)
                .withModel(CommandRunner.model(2).toPath());
        ImagePlusUpscaler.Result result = ImagePlusUpscaler.upscale(smallImage(), settings, OutputType.SAME,
                ProgressListener.NONE);
        RunReport report = result.report();
        assertEquals("cpu()", report.device(), "device used");
        assertEquals(1, report.warnings().size(), "warnings");
        String warning = report.warnings().get(0);
        assertTrue(warning.startsWith("GPU requested, but the PyTorch engine found no CUDA device"), warning);
        assertContains(warning, "PYTORCH_LIBRARY_PATH", "cuda-download");
    }

    @Test
    void cancelLeavesNoImage() {
        UpscaleSettings settings = UpscaleSettings.defaults(2).withTile(16, 4).withDevice(Device.CPU)
                .withModel(CommandRunner.model(2).toPath());
        ProgressListener cancelAfterFirstTile = new ProgressListener() {
            private int tiles;

            @Override
            public void tileDone(int plane, int planeCount, int tile, int tileCount) {
                tiles++;
            }

            @Override
            public boolean isCancelled() {
                return tiles >= 1;
            }
        };
        ImagePlus image = new ImagePlus("cancel.tif", new ByteProcessor(40, 40));
        assertThrows(UpscaleCancelledException.class,
                () -> ImagePlusUpscaler.upscale(image, settings, OutputType.SAME, cancelAfterFirstTile));
        assertNull(WindowManager.getImage("cancel-FSSMx2.tif"), "no half-made image");
    }
}
