package org.fssm.upscale.engine;

import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

/**
 * JSON model card that ships next to each TorchScript file ({@code fssm-x2.pt} with
 * {@code fssm-x2.json}). Only the fields the plugin reports are read; the rest are for people.
 *
 * @param scale upscaling factor stated by the card, or 0 when absent
 * @param scan scan mode of the Mamba layers (for example {@code foh}), or {@code "unknown"}
 */
public record ModelCard(int scale, String scan) {

    /** Card of a model that came without one. */
    public static final ModelCard NONE = new ModelCard(0, "unknown");

    /** Parses a card; a missing field keeps its {@link #NONE} value. */
    public static ModelCard read(InputStream stream) throws IOException {
        try (Reader reader = new InputStreamReader(stream, StandardCharsets.UTF_8)) {
            JsonObject json = JsonParser.parseReader(reader).getAsJsonObject();
            JsonElement scale = json.get("scale");
            JsonElement scan = json.get("scan");
            return new ModelCard(
                    scale != null && scale.isJsonPrimitive() ? scale.getAsInt() : 0,
                    scan != null && scan.isJsonPrimitive() ? scan.getAsString() : "unknown");
        } catch (RuntimeException e) {
            throw new IOException("Invalid model card: " + e.getMessage(), e);
        }
    }
}
