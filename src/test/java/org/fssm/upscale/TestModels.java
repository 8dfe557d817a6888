package org.fssm.upscale;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/** Locations of the models exported for the tests and of the shared test images. */
public final class TestModels {

    private TestModels() {
    }

    /** Folder of the models that the Maven build exports into target/. */
    public static Path folder() {
        return Path.of(System.getProperty("fssm.test.models", "target/test-models"));
    }

    /** Returns the exported untrained model for a scale (2 or 3). */
    public static Path model(int scale) {
        return folder().resolve("fssm-x" + scale + ".pt");
    }

    /** Returns a file of the shared microscopy images, read in place. */
    public static Path microscopy(String relative) {
        return Path.of(System.getProperty("fssm.test.data", "../shared/data"), "microscopy", relative);
    }

    /** Reads a raw little-endian float32 file. */
    public static float[] readFloats(Path file) throws IOException {
        ByteBuffer bytes = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        float[] values = new float[bytes.remaining() / 4];
        bytes.asFloatBuffer().get(values);
        return values;
    }
}
