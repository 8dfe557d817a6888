package org.fssm.upscale.command;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import ij.ImagePlus;
import ij.process.ByteProcessor;
import ij.process.FloatProcessor;

import org.fssm.upscale.engine.FssmUpscaler;
import org.fssm.upscale.engine.RunReport;
import org.fssm.upscale.engine.UpscaleSettings;
import org.fssm.upscale.imagej.ImagePlusUpscaler;
import org.fssm.upscale.imagej.OutputType;
import org.fssm.upscale.engine.Device;
import org.fssm.upscale.engine.ProgressListener;
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
        assertTrue(reason.endsWith(".") && !reason.contains("\n") && !reason.contains("Exception"),
                "one plain sentence: " + reason);
        return reason;
    }

    @Test
    void onePixelImageRejected() throws Exception {
        ImagePlus image = new ImagePlus("dot.tif", new ByteProcessor(1, 1));
        String reason = failure(CommandRunner.inputs(image));
        assertTrue(reason.contains("1 × 1 pixels") && reason.contains("at least 4 × 4"), reason);
    }

    @Test
    void nanPixelsRejected() throws Exception {
        FloatProcessor processor = new FloatProcessor(16, 16);
        processor.setf(3, 4, Float.NaN);
        String reason = failure(CommandRunner.inputs(new ImagePlus("nan.tif", processor)));
        assertTrue(reason.contains("NaN"), reason);
    }

    @Test
    void infinitePixelsRejected() throws Exception {
        FloatProcessor processor = new FloatProcessor(16, 16);
        processor.setf(3, 4, Float.POSITIVE_INFINITY);
        String reason = failure(CommandRunner.inputs(new ImagePlus("inf.tif", processor)));
        assertTrue(reason.contains("infinite"), reason);
    }

    @Test
    void corruptModelRejected(@TempDir Path folder) throws Exception {
        Path corrupt = folder.resolve("corrupt.pt");
        Files.write(corrupt, new byte[] {'n', 'o', 't', ' ', 'a', ' ', 'm', 'o', 'd', 'e', 'l'});
        Map<String, Object> inputs = CommandRunner.inputs(smallImage());
        inputs.put("model", corrupt.toFile());
        String reason = failure(inputs);
        assertTrue(reason.contains("not a valid TorchScript file") && reason.contains("corrupt.pt"), reason);
    }

    @Test
    void missingModelFileRejected(@TempDir Path folder) throws Exception {
        Map<String, Object> inputs = CommandRunner.inputs(smallImage());
        inputs.put("model", folder.resolve("absent.pt").toFile());
        String reason = failure(inputs);
        assertTrue(reason.contains("Model file not found") && reason.contains("absent.pt"), reason);
    }

    @Test
    void wrongScaleModelRejected() throws Exception {
        Map<String, Object> inputs = CommandRunner.inputs(smallImage());
        inputs.put("model", CommandRunner.model(3));
        String reason = failure(inputs);
        assertTrue(reason.contains("upscales by 3") && reason.contains("scale=2 was requested"), reason);
    }

    @Test
    void missingBundledModelNamed() throws Exception {
        assumeTrue(getClass().getClassLoader().getResource("models/fssm-x4.pt") == null,
                "a x4 model is bundled, so nothing is missing");
        Map<String, Object> inputs = CommandRunner.inputs(smallImage());
        inputs.put("scale", "4");
        inputs.put("model", new File(""));
        String reason = failure(inputs);
        assertTrue(reason.contains("No ×4 model is bundled") && reason.contains("models/fssm-x4.pt"), reason);
    }

    @Test
    void invalidOverlapRejected() throws Exception {
        Map<String, Object> inputs = CommandRunner.inputs(smallImage());
        inputs.put("overlap", 16);
        String reason = failure(inputs);
        assertTrue(reason.contains("Invalid overlap 16"), reason);
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
        assertTrue(warning.contains("PYTORCH_LIBRARY_PATH") && warning.contains("cuda-download"), warning);
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
        org.junit.jupiter.api.Assertions.assertThrows(org.fssm.upscale.engine.UpscaleCancelledException.class,
                () -> ImagePlusUpscaler.upscale(image, settings, OutputType.SAME, cancelAfterFirstTile));
        assertNull(ij.WindowManager.getImage("cancel-FSSMx2.tif"), "no half-made image");
        FssmUpscaler.class.getName();
    }
}
