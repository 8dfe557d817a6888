package org.fssm.upscale.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import ij.IJ;
import ij.ImagePlus;
import ij.io.FileSaver;
import ij.measure.Calibration;

import org.fssm.upscale.TestModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Upscales files through the command line and checks what lands on disk. */
class CliUpscaleTest {

    @TempDir
    Path temp;

    @Test
    void hyperstackKeepsLayoutAndCalibration() throws IOException {
        ImagePlus input = IJ.createHyperStack("cells", 16, 16, 2, 2, 1, 16);
        for (int plane = 1; plane <= input.getStackSize(); plane++) {
            input.getStack().getProcessor(plane).noise(1000 * plane);
            input.getStack().getProcessor(plane).add(5000);
        }
        Calibration calibration = input.getCalibration();
        calibration.pixelWidth = 0.4;
        calibration.pixelHeight = 0.4;
        calibration.pixelDepth = 1.5;
        calibration.setUnit("micron");
        Path file = temp.resolve("cells.tif");
        assertTrue(new FileSaver(input).saveAsTiffStack(file.toString()), "test image written");
        byte[] before = Files.readAllBytes(file);
        Path out = temp.resolve("out");

        CliRunner.Run run = CliRunner.run("upscale", file.toString(), "--model",
                TestModels.model(2).toAbsolutePath().toString(), "--tile", "16", "--overlap", "4", "--out",
                out.toString());

        assertEquals(FssmCli.EXIT_OK, run.exitCode(), run.err());
        assertEquals("", run.err());
        assertTrue(run.out().contains("cells-FSSMx2.tif (32 x 32, 4 planes"), run.out());
        ImagePlus result = IJ.openImage(out.resolve("cells-FSSMx2.tif").toString());
        assertNotNull(result, "output readable");
        assertEquals(32, result.getWidth());
        assertEquals(32, result.getHeight());
        assertEquals(2, result.getNChannels());
        assertEquals(2, result.getNSlices());
        assertEquals(1, result.getNFrames());
        assertEquals(16, result.getBitDepth());
        assertEquals(0.2, result.getCalibration().pixelWidth, 1e-9);
        assertEquals(0.2, result.getCalibration().pixelHeight, 1e-9);
        assertEquals(1.5, result.getCalibration().pixelDepth, 1e-9);
        assertEquals("micron", result.getCalibration().getUnit());
        assertArrayEquals(before, Files.readAllBytes(file), "input unchanged");
        assertEquals(List.of(out.resolve("cells-FSSMx2.tif")), filesIn(out), "no temporary files left");
    }

    @Test
    void floatOutputNextToInput() throws IOException {
        ImagePlus input = IJ.createImage("ramp", "8-bit ramp", 16, 16, 1);
        Path file = temp.resolve("ramp.png");
        assertTrue(new FileSaver(input).saveAsPng(file.toString()), "test image written");

        CliRunner.Run run = CliRunner.run("upscale", file.toString(), "--model",
                TestModels.model(2).toAbsolutePath().toString(), "--output", "float");

        assertEquals(FssmCli.EXIT_OK, run.exitCode(), run.err());
        ImagePlus result = IJ.openImage(temp.resolve("ramp-FSSMx2.tif").toString());
        assertNotNull(result, "output written next to the input");
        assertEquals(32, result.getBitDepth());
        assertEquals(32, result.getWidth());
    }

    @Test
    void dryRunWritesNothing() throws IOException {
        Path folder = Files.createDirectory(temp.resolve("batch"));
        assertTrue(new FileSaver(IJ.createImage("a", "8-bit ramp", 20, 10, 1)).saveAsTiff(folder.resolve("a.tif").toString()),
                "test image written");
        Files.writeString(folder.resolve("b.tif"), "text");
        Path out = temp.resolve("out");

        CliRunner.Run run = CliRunner.run("upscale", folder.toString(), "--out", out.toString(), "--dry-run");

        assertEquals(FssmCli.EXIT_FAILED, run.exitCode(), run.err());
        assertTrue(run.out().contains("a-FSSMx2.tif (20 x 10, 1 planes, 8-bit; dry run, nothing written)"), run.out());
        assertTrue(run.err().contains("b.tif: not an image"), run.err());
        assertTrue(run.err().contains("1 of 2 files readable, 1 failed."), run.err());
        assertTrue(Files.notExists(out), "no output folder");
    }

    private static List<Path> filesIn(Path folder) throws IOException {
        try (Stream<Path> files = Files.walk(folder)) {
            return files.filter(Files::isRegularFile).toList();
        }
    }
}
