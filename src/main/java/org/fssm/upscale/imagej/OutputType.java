package org.fssm.upscale.imagej;

import java.util.Locale;

import org.fssm.upscale.engine.UpscaleException;

/** Pixel type of the upscaled image: the input's type, or 32-bit float. */
public enum OutputType {
    SAME("same"), FLOAT("32-bit");

    private final String label;

    OutputType(String label) {
        this.label = label;
    }

    /** Returns the dialog and macro value, {@code same} or {@code 32-bit}. */
    public String label() {
        return label;
    }

    /** Parses a dialog or macro value. */
    public static OutputType parse(String value) {
        String normalized = value == null ? "" : value.trim().toLowerCase(Locale.ROOT);
        for (OutputType type : values()) {
            if (type.label.equals(normalized)) {
                return type;
            }
        }
        throw new UpscaleException("Invalid output '" + value + "': use same or 32-bit.");
    }
}
