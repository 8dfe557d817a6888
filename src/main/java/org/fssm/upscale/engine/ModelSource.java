package org.fssm.upscale.engine;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Origin of a TorchScript model: a file the user chose, or one bundled in the plugin jar
 * under {@code models/fssm-x<scale>.pt} with its card {@code models/fssm-x<scale>.json}.
 */
public final class ModelSource {

    private final Path file;
    private final String resource;

    private ModelSource(Path file, String resource) {
        this.file = file;
        this.resource = resource;
    }

    /** Source of the model bundled for one scale. */
    public static ModelSource bundled(int scale) {
        return new ModelSource(null, "models/fssm-x" + scale + ".pt");
    }

    /** Source of a user's own TorchScript file. */
    public static ModelSource file(Path file) {
        return new ModelSource(file.toAbsolutePath().normalize(), null);
    }

    /**
     * Returns the bundled model for {@code scale}, or the user's file when {@code file} is given.
     * A null or empty path means the bundled model.
     */
    public static ModelSource of(Path file, int scale) {
        return file == null || file.toString().isEmpty() ? bundled(scale) : file(file);
    }

    public boolean isBundled() {
        return file == null;
    }

    /** Returns the file name, which also names the model in logs and the Info line. */
    public String name() {
        return isBundled() ? resource.substring(resource.lastIndexOf('/') + 1) : file.getFileName().toString();
    }

    private String bundledScale() {
        return resource.substring(resource.lastIndexOf('x') + 1, resource.lastIndexOf('.'));
    }

    /** Returns a key that identifies this model in the session cache. */
    String key() {
        return isBundled() ? "bundled:" + resource : file.toString();
    }

    /** Returns the file's modification time, or 0 for a bundled model, to notice edited files. */
    long version() {
        try {
            return isBundled() || !Files.exists(file) ? 0 : Files.getLastModifiedTime(file).toMillis();
        } catch (IOException e) {
            return 0;
        }
    }

    /** Opens the TorchScript bytes, or throws a user-facing message if there are none. */
    InputStream openModel() {
        if (isBundled()) {
            InputStream stream = ModelSource.class.getClassLoader().getResourceAsStream(resource);
            if (stream == null) {
                throw new UpscaleException("No ×" + bundledScale() + " model is bundled with this plugin (" + resource + " is missing from the jar);"
                        + " choose another scale or set model to your own TorchScript file.");
            }
            return stream;
        }
        if (!Files.isRegularFile(file)) {
            throw new UpscaleException("Model file not found: " + file + "; check the model path.");
        }
        try {
            return Files.newInputStream(file);
        } catch (IOException e) {
            throw new UpscaleException("Cannot read the model file " + file + ": " + e.getMessage(), e);
        }
    }

    /** Reads the model card next to the model, or returns {@link ModelCard#NONE} if it has none. */
    ModelCard readCard() throws IOException {
        if (isBundled()) {
            String cardName = resource.replaceAll("\\.pt$", ".json");
            try (InputStream stream = ModelSource.class.getClassLoader().getResourceAsStream(cardName)) {
                return stream == null ? ModelCard.NONE : ModelCard.read(stream);
            }
        }
        Path card = file.resolveSibling(file.getFileName().toString().replaceAll("\\.pt$", "") + ".json");
        if (!Files.isRegularFile(card)) {
            return ModelCard.NONE;
        }
        try (InputStream stream = Files.newInputStream(card)) {
            return ModelCard.read(stream);
        }
    }

    @Override
    public String toString() {
        return isBundled() ? name() + " (bundled)" : file.toString();
    }
}
