package org.fssm.upscale.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import ij.IJ;
import ij.ImagePlus;
import ij.io.FileSaver;

import org.fssm.upscale.TestModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code fssm evaluate} against the Python evaluation ({@code python -m fssm.evaluate}) on the same
 * images: both must report the same PSNR within 0.02 dB, for bicubic and for a network.
 */
class CliEvaluateTest {

    private static final double PSNR_TOLERANCE = 0.02;
    private static final double SSIM_TOLERANCE = 0.0005;
    private static final Pattern ROW = Pattern.compile(
            "^(\\S*)\\s+x(\\d+)\\s+(\\S+)\\s+(-?[0-9.]+|Infinity)\\s+(-?[0-9.]+)$");

    @TempDir
    Path temp;

    private static Path set5() {
        return Path.of(System.getProperty("fssm.test.data", "../shared/data"), "benchmarks", "Set5");
    }

    @Test
    void bicubicMatchesPythonOnSet5() throws Exception {
        CliRunner.Run run = CliRunner.run("evaluate", set5().toString(), "--scale", "2", "--bicubic-only");
        assertEquals(FssmCli.EXIT_OK, run.exitCode(), run.err());
        Map<String, double[]> java = rows(run.out(), "bicubic");

        Map<String, double[]> python = python(set5(), List.of("--bicubic"));

        assertEquals(python.keySet(), java.keySet());
        for (String image : python.keySet()) {
            assertEquals(python.get(image)[0], java.get(image)[0], PSNR_TOLERANCE, image + " PSNR");
            assertEquals(python.get(image)[1], java.get(image)[1], SSIM_TOLERANCE, image + " SSIM");
        }
        // Mean of the published-protocol bicubic baseline on Set5 x2 (Python: 33.649 dB, 0.9295).
        assertEquals(33.649, java.get("mean of 5")[0], PSNR_TOLERANCE);
    }

    @Test
    void networkMatchesPython() throws Exception {
        // 48 × 48 crops of two Set5 images, written to a temporary folder: the LR input of 24 × 24
        // pixels is one tile without padding, so both sides run the network on the same pixels.
        Path folder = Files.createDirectory(temp.resolve("crops"));
        crop("butterfly.png", folder.resolve("butterfly.png"));
        crop("bird.png", folder.resolve("bird.png"));
        String model = TestModels.model(2).toAbsolutePath().toString();

        CliRunner.Run run = CliRunner.run("evaluate", folder.toString(), "--scale", "2", "--model", model);
        assertEquals(FssmCli.EXIT_OK, run.exitCode(), run.err());
        Map<String, double[]> java = rows(run.out(), "fssm-x2.pt");

        Map<String, double[]> python = python(folder, List.of("--model", model));

        assertEquals(python.keySet(), java.keySet());
        for (String image : python.keySet()) {
            assertEquals(python.get(image)[0], java.get(image)[0], PSNR_TOLERANCE, image + " PSNR");
            assertEquals(python.get(image)[1], java.get(image)[1], SSIM_TOLERANCE, image + " SSIM");
        }
    }

    private static void crop(String name, Path target) {
        ImagePlus image = IJ.openImage(set5().resolve(name).toString());
        image.setRoi(image.getWidth() / 2 - 24, image.getHeight() / 2 - 24, 48, 48);
        assertTrue(new FileSaver(image.crop()).saveAsPng(target.toString()), "crop written");
    }

    /**
     * Parses the rows of one method from the tool's table into name → {PSNR, SSIM}; a method row
     * without a name belongs to the image row above it, and the mean is keyed {@code mean of N}.
     */
    private static Map<String, double[]> rows(String table, String method) {
        Map<String, double[]> rows = new LinkedHashMap<>();
        String image = null;
        for (String line : table.split("\\R")) {
            Matcher matcher = ROW.matcher(line.replace("mean of ", "mean_of_"));
            if (!matcher.matches()) {
                continue;
            }
            if (!matcher.group(1).isEmpty()) {
                image = matcher.group(1).replace("mean_of_", "mean of ");
            }
            if (matcher.group(3).equals(method)) {
                rows.put(image, new double[] {Double.parseDouble(matcher.group(4)), Double.parseDouble(matcher.group(5))});
            }
        }
        return rows;
    }

    /** Runs the Python evaluation on a folder and returns name → {PSNR, SSIM}, the mean included. */
    private Map<String, double[]> python(Path folder, List<String> options) throws IOException, InterruptedException {
        Path json = temp.resolve("python-" + System.nanoTime() + ".json");
        List<String> command = new ArrayList<>(List.of(System.getProperty("fssm.test.python", "/usr/bin/python3"),
                "-m", "fssm.evaluate", folder.toAbsolutePath().toString(), "--scale", "2", "--threads", "1",
                "--json", json.toString()));
        command.addAll(options);
        Process process = new ProcessBuilder(command).directory(Path.of("training").toFile())
                .redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes());
        assertTrue(process.waitFor(10, TimeUnit.MINUTES), "python evaluation timed out");
        assertEquals(0, process.exitValue(), output);

        JsonArray results = JsonParser.parseString(Files.readString(json)).getAsJsonArray();
        JsonObject result = results.get(0).getAsJsonObject();
        Map<String, double[]> rows = new LinkedHashMap<>();
        for (JsonElement element : result.getAsJsonArray("images")) {
            JsonObject row = element.getAsJsonObject();
            rows.put(row.get("name").getAsString(), new double[] {row.get("psnr").getAsDouble(), row.get("ssim").getAsDouble()});
        }
        rows.put("mean of " + rows.size(), new double[] {result.get("psnr").getAsDouble(), result.get("ssim").getAsDouble()});
        return rows;
    }
}
