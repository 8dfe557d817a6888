package org.fssm.upscale.engine;

import java.util.Locale;

/** Device request for inference: the GPU if the engine detects one ({@code AUTO}), the CPU, or the GPU. */
public enum Device {
    AUTO, CPU, GPU;

    /** Parses a dialog or macro value such as {@code "auto"}, {@code "cpu"} or {@code "gpu"}. */
    public static Device parse(String value) {
        try {
            return valueOf(value.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException | NullPointerException e) {
            throw new UpscaleException("Invalid device '" + value + "': use auto, cpu or gpu.", e);
        }
    }

    /** Returns the lower-case name used in dialogs, macros and the Info line. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
