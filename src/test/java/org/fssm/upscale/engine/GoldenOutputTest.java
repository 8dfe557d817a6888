package org.fssm.upscale.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import org.fssm.upscale.TestModels;
import org.junit.jupiter.api.Test;

/** Checks that DJL runs the exported TorchScript exactly as the Python eager network does. */
class GoldenOutputTest {

    @Test
    void javaOutputMatchesPythonEager() throws IOException {
        Path folder = TestModels.folder();
        JsonObject golden;
        try (Reader reader = Files.newBufferedReader(folder.resolve("fssm-x2.json"))) {
            golden = JsonParser.parseReader(reader).getAsJsonObject().getAsJsonObject("golden");
        }
        JsonArray inputShape = golden.getAsJsonArray("input_shape");
        int height = inputShape.get(2).getAsInt();
        int width = inputShape.get(3).getAsInt();
        float[] input = TestModels.readFloats(folder.resolve("fssm-x2-golden-input.f32"));
        float[] expected = TestModels.readFloats(folder.resolve("fssm-x2-golden-output.f32"));
        assertEquals(3 * height * width, input.length, "golden input size");
        assertEquals(3 * 4 * height * width, expected.length, "golden output size");

        LoadedModel model = ModelCache.get(ModelSource.file(TestModels.model(2)), ai.djl.Device.cpu());
        float[] actual = new float[expected.length];
        model.run(input, 1, height, width, actual);

        double maxError = 0;
        for (int i = 0; i < expected.length; i++) {
            maxError = Math.max(maxError, Math.abs(actual[i] - expected[i]));
        }
        assertTrue(maxError <= 1e-4, "max |java - python| = " + maxError);
    }
}
