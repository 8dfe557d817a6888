package org.fssm.upscale.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import ij.IJ;
import ij.ImagePlus;
import ij.io.FileSaver;

import org.fssm.upscale.TestModels;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Runs the macros of macros/ in ImageJ 1.x's macro interpreter, in batch mode, on real images. */
class MacroFilesTest {

    @TempDir
    Path temp;

    @BeforeAll
    static void installCommands() throws Exception {
        ImageJCommands.install();
    }

    private static String model() {
        return TestModels.model(2).toAbsolutePath().toString();
    }

    @Test
    void upscaleFolderWritesEveryImage() throws IOException {
        // A 24 × 24 crop of a real image (the network takes seconds per 16 × 16 tile on a CPU), a
        // small stack and a file that is no image.
        Path input = Files.createDirectory(temp.resolve("input"));
        ImagePlus motors16 = IJ.openImage(TestModels.microscopy("neubias/xy_16bit__motors_on_microtubules.tif").toString());
        motors16.setRoi(30, 30, 24, 24);
        assertTrue(new FileSaver(motors16.crop()).saveAsTiff(input.resolve("motors.tif").toString()), "crop written");
        ImagePlus stack = IJ.createImage("stack", "8-bit noise", 16, 16, 3);
        assertTrue(new FileSaver(stack).saveAsTiffStack(input.resolve("stack.tif").toString()), "stack written");
        Files.writeString(input.resolve("broken.tif"), "text, not a TIFF");
        Path output = temp.resolve("output");

        String log = runMacro("upscale_folder.ijm", "input=[" + input + "] output=[" + output
                + "] scale=2 tile=32 overlap=8 device=cpu model=[" + model() + "]");

        assertTrue(log.contains("cannot open " + input.resolve("broken.tif")), log);
        assertTrue(log.contains("2 images upscaled"), log);
        ImagePlus motors = IJ.openImage(output.resolve("motors-FSSMx2.tif").toString());
        assertNotNull(motors, "motors output");
        assertEquals(48, motors.getWidth());
        assertEquals(48, motors.getHeight());
        assertEquals(16, motors.getBitDepth());
        ImagePlus upscaledStack = IJ.openImage(output.resolve("stack-FSSMx2.tif").toString());
        assertNotNull(upscaledStack, "stack output");
        assertEquals(32, upscaledStack.getHeight());
        assertEquals(3, upscaledStack.getStackSize());
        try (Stream<Path> files = Files.list(output)) {
            assertEquals(2, files.count(), "only the two outputs");
        }
    }

    /**
     * Runs compare_bicubic.ijm in its own JVM under Xvfb: its Duplicate, Size and Combine commands
     * need a display in plain ImageJ 1.x (Fiji's headless mode patches them, ImageJ 1.x does not).
     */
    @Test
    void compareBicubicPutsBothSideBySide() throws Exception {
        Assumptions.assumeTrue(onPath("xvfb-run"), "xvfb-run is not installed (Debian package xvfb)");
        Path image = TestModels.microscopy("neubias/xy_8bit__glialcell.tif").toAbsolutePath();
        List<String> command = List.of("xvfb-run", "-a",
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Djava.awt.headless=false", "-Dai.djl.pytorch.num_threads=1",
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                "-cp", System.getProperty("java.class.path"), MacroProcess.class.getName(),
                Path.of("macros", "compare_bicubic.ijm").toString(),
                "scale=2 tile=32 overlap=8 device=cpu model=[" + model() + "]",
                image.toString(), "10", "10", "20", "18");
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(5, TimeUnit.MINUTES), "macro process timed out");

        assertEquals(0, process.exitValue(), output);
        assertTrue(output.contains("RESULT crop bicubic | FSSM x2|80|36|8"), output);
    }

    private static boolean onPath(String program) {
        for (String folder : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
            if (Files.isExecutable(Path.of(folder, program))) {
                return true;
            }
        }
        return false;
    }

    /**
     * Runs a macro file in batch mode and returns what it printed. Headless ImageJ 1.x has no Log
     * window and prints the log to standard output, so that is captured.
     */
    private static String runMacro(String name, String argument) throws IOException {
        Path file = Path.of("macros", name);
        assertTrue(Files.isRegularFile(file), file + " exists");
        PrintStream original = System.out;
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buffer, true, StandardCharsets.UTF_8));
        // ImageJ 1.x hands exceptions of commands to a handler that shows a window, which headless
        // ImageJ cannot, so they are recorded and printed with the log.
        StringWriter exceptions = new StringWriter();
        IJ.setExceptionHandler(exception -> exception.printStackTrace(new PrintWriter(exceptions)));
        String returned;
        try {
            returned = IJ.runMacro(Files.readString(file), argument);
        } finally {
            System.setOut(original);
            IJ.setExceptionHandler(null);
        }
        String log = buffer.toString(StandardCharsets.UTF_8);
        assertEquals("", exceptions.toString(), "exceptions in ImageJ commands; log: " + log);
        assertTrue(returned == null || !returned.equals("[aborted]"), "macro aborted: " + log);
        return log;
    }
}
