package org.fssm.upscale.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import ij.IJ;
import ij.ImagePlus;
import ij.io.FileSaver;

import org.fssm.upscale.TestModels;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Each input a user can get wrong gives one error line, a non-zero exit code and no output file. */
class CliBadInputTest {

    @TempDir
    Path temp;

    private String model() {
        return TestModels.model(2).toAbsolutePath().toString();
    }

    private Path outFolder() {
        return temp.resolve("out");
    }

    private List<Path> filesIn(Path folder) throws IOException {
        if (!Files.exists(folder)) {
            return List.of();
        }
        try (Stream<Path> files = Files.walk(folder)) {
            return files.filter(Files::isRegularFile).toList();
        }
    }

    @Test
    void missingFileReported() throws IOException {
        Path missing = temp.resolve("missing.tif");

        CliRunner.Run run = CliRunner.run("upscale", missing.toString(), "--model", model(), "--out",
                outFolder().toString());

        assertEquals(FssmCli.EXIT_FAILED, run.exitCode(), run.err());
        assertEquals(1, run.errLines().size(), run.err());
        assertTrue(run.err().contains("missing.tif: file not found"), run.err());
        assertEquals(List.of(), filesIn(outFolder()));
    }

    @Test
    void folderWithoutImagesReported() throws IOException {
        Path folder = Files.createDirectory(temp.resolve("notes"));
        Files.writeString(folder.resolve("readme.txt"), "not an image");
        Files.writeString(folder.resolve("table.csv"), "a,b\n1,2\n");

        CliRunner.Run run = CliRunner.run("upscale", folder.toString(), "--model", model(), "--out",
                outFolder().toString());

        assertEquals(FssmCli.EXIT_FAILED, run.exitCode(), run.err());
        assertEquals(1, run.errLines().size(), run.err());
        assertTrue(run.err().contains("No images"), run.err());
        assertEquals(List.of(), filesIn(outFolder()));
    }

    @Test
    void textFileNamedTifReported() throws IOException {
        Path fake = Files.writeString(temp.resolve("fake.tif"), "this is text, not a TIFF\n");

        CliRunner.Run run = CliRunner.run("upscale", fake.toString(), "--model", model(), "--out",
                outFolder().toString());

        assertEquals(FssmCli.EXIT_FAILED, run.exitCode(), run.err());
        assertEquals(1, run.errLines().size(), run.err());
        assertTrue(run.err().contains("fake.tif: not an image that ImageJ 1.x can open"), run.err());
        assertEquals(List.of(), filesIn(outFolder()));
    }

    @Test
    void unwritableOutputFolderRejected() throws IOException {
        Path image = smallImage("cells.tif");
        // A folder below a regular file cannot be created, even by root, who may write anywhere else.
        Path blocker = Files.writeString(temp.resolve("blocker"), "a file, not a folder");
        Path out = blocker.resolve("out");

        CliRunner.Run run = CliRunner.run("upscale", image.toString(), "--model", model(), "--out", out.toString());

        assertEquals(FssmCli.EXIT_USAGE, run.exitCode(), run.err());
        assertEquals(1, run.errLines().size(), run.err());
        assertTrue(run.err().contains("Cannot create the output folder"), run.err());
        assertEquals(List.of(blocker, image), filesIn(temp).stream().sorted().toList());
    }

    @Test
    void scaleFiveRejected() throws IOException {
        Path image = smallImage("cells.tif");

        CliRunner.Run run = CliRunner.run("upscale", image.toString(), "--scale", "5", "--out", outFolder().toString());

        assertEquals(FssmCli.EXIT_USAGE, run.exitCode(), run.err());
        assertEquals(1, run.errLines().size(), run.err());
        assertTrue(run.err().contains("Invalid scale 5"), run.err());
        assertEquals(List.of(), filesIn(outFolder()));
    }

    @Test
    void unknownOptionRejected() {
        CliRunner.Run run = CliRunner.run("upscale", "x.tif", "--colour", "red");

        assertEquals(FssmCli.EXIT_USAGE, run.exitCode(), run.err());
        assertTrue(run.err().contains("Unknown option: '--colour'"), run.err());
    }

    @Test
    void missingBundledModelNamed() throws IOException {
        Assumptions.assumeTrue(getClass().getClassLoader().getResource("models/fssm-x2.pt") == null,
                "a x2 model is bundled");
        Path image = smallImage("cells.tif");

        CliRunner.Run run = CliRunner.run("upscale", image.toString(), "--out", outFolder().toString());

        assertEquals(FssmCli.EXIT_FAILED, run.exitCode(), run.err());
        assertEquals(1, run.errLines().size(), run.err());
        assertTrue(run.err().contains("No ×2 model is bundled"), run.err());
        assertEquals(List.of(), filesIn(outFolder()));
    }

    @Test
    void badFileDoesNotStopBatch() throws IOException {
        Path folder = Files.createDirectory(temp.resolve("batch"));
        Files.writeString(folder.resolve("a-broken.tif"), "text");
        smallImage("batch/b-cells.tif");

        CliRunner.Run run = CliRunner.run("upscale", folder.toString(), "--model", model(), "--tile", "16",
                "--overlap", "4", "--out", outFolder().toString());

        assertEquals(FssmCli.EXIT_FAILED, run.exitCode(), run.err());
        assertEquals(2, run.errLines().size(), run.err());
        assertTrue(run.errLines().get(0).contains("a-broken.tif: not an image"), run.err());
        assertEquals("fssm: 1 of 2 files upscaled, 1 failed.", run.errLines().get(1));
        assertEquals(List.of(outFolder().resolve("b-cells-FSSMx2.tif")), filesIn(outFolder()));
    }

    @Test
    void existingOutputKept() throws IOException {
        Path image = smallImage("cells.tif");
        Path existing = Files.writeString(temp.resolve("cells-FSSMx2.tif"), "earlier result");

        CliRunner.Run run = CliRunner.run("upscale", image.toString(), "--model", model());

        assertEquals(FssmCli.EXIT_FAILED, run.exitCode(), run.err());
        assertEquals(1, run.errLines().size(), run.err());
        assertTrue(run.err().contains("already exists; delete it or pass --overwrite"), run.err());
        assertEquals("earlier result", Files.readString(existing));
    }

    @Test
    void twoInputsOneOutputRejected() throws IOException {
        Path folder = Files.createDirectory(temp.resolve("same-name"));
        smallImage("same-name/cells.tif");
        ImagePlus png = IJ.createImage("cells", "8-bit ramp", 16, 16, 1);
        assertTrue(new FileSaver(png).saveAsPng(folder.resolve("cells.png").toString()), "test image written");

        CliRunner.Run run = CliRunner.run("upscale", folder.toString(), "--model", model(), "--out",
                outFolder().toString());

        assertEquals(FssmCli.EXIT_USAGE, run.exitCode(), run.err());
        assertEquals(1, run.errLines().size(), run.err());
        assertTrue(run.err().contains("would both be written to"), run.err());
        assertTrue(run.err().contains("cells-FSSMx2.tif"), run.err());
        assertEquals(List.of(), filesIn(outFolder()));
    }

    @Test
    void outputReplacingInputRejected() throws IOException {
        Path image = smallImage("cells.tif");
        Path earlierOutput = smallImage("cells-FSSMx2.tif");
        long earlierSize = Files.size(earlierOutput);

        CliRunner.Run run = CliRunner.run("upscale", image.toString(), earlierOutput.toString(), "--model", model(),
                "--overwrite");

        assertEquals(FssmCli.EXIT_USAGE, run.exitCode(), run.err());
        assertEquals(1, run.errLines().size(), run.err());
        assertTrue(run.err().contains("would replace the input"), run.err());
        assertEquals(earlierSize, Files.size(earlierOutput), "input left as it was");
        assertEquals(2, filesIn(temp).size(), "no output written");
    }

    /** Writes a 16 × 16 8-bit image, the smallest that the tests upscale in about a second. */
    private Path smallImage(String name) {
        ImagePlus image = IJ.createImage("cells", "8-bit ramp", 16, 16, 1);
        Path file = temp.resolve(name);
        assertTrue(new FileSaver(image).saveAsTiff(file.toString()), "test image written");
        return file;
    }
}
