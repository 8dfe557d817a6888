package org.fssm.upscale.engine;

import java.util.prefs.Preferences;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Configures DJL before its PyTorch engine loads: no downloads, no usage reporting, CPU natives
 * from the bundled {@code pytorch-native-cpu} jar.
 *
 * <p>DJL 0.36 reads these switches through {@code ai.djl.util.Utils}: {@code ai.djl.offline}
 * (environment {@code DJL_OFFLINE} wins over it) stops native and model downloads and also the
 * usage report, and {@code OPT_OUT_TRACKING} stops the usage report on its own. The engine is
 * loaded once per JVM, so changes here take effect after a restart of Fiji.
 */
public final class EngineSettings {

    /** Preference key of the opt-in to let DJL download CUDA natives once. */
    public static final String CUDA_DOWNLOAD_KEY = "cuda-download";
    /** System property that overrides the stored opt-in for one JVM. */
    public static final String CUDA_DOWNLOAD_PROPERTY = "fssm.cuda.download";
    /** CUDA flavour of the JNI library inside {@code pytorch-jni} 2.7.1-0.36.0. */
    public static final String CUDA_FLAVOR = "cu128";

    private static final Logger LOG = LoggerFactory.getLogger(EngineSettings.class);
    private static boolean applied;

    private EngineSettings() {
    }

    private static Preferences preferences() {
        return Preferences.userRoot().node("org/fssm/upscale");
    }

    /** Returns whether the user opted in to a one-time CUDA natives download. */
    public static boolean isCudaDownloadAllowed() {
        String override = System.getProperty(CUDA_DOWNLOAD_PROPERTY);
        if (override != null) {
            return Boolean.parseBoolean(override);
        }
        return preferences().getBoolean(CUDA_DOWNLOAD_KEY, false);
    }

    /** Stores the opt-in persistently (Java user preferences); it applies from the next start. */
    public static void setCudaDownloadAllowed(boolean allowed) {
        preferences().putBoolean(CUDA_DOWNLOAD_KEY, allowed);
    }

    /**
     * Returns whether the user pointed DJL at an installed libtorch through
     * {@code PYTORCH_LIBRARY_PATH} (environment variable or system property).
     */
    public static boolean hasLibraryOverride() {
        return System.getenv("PYTORCH_LIBRARY_PATH") != null
                || System.getProperty("PYTORCH_LIBRARY_PATH") != null;
    }

    /**
     * Sets the DJL switches once per JVM, before the first engine access. A value the user already
     * set as a system property wins. NOTE: the switches are JVM-wide, so they also apply to other
     * DJL users in the same Fiji. If one of them loaded DJL first, its settings apply instead.
     */
    public static synchronized void apply() {
        if (applied) {
            return;
        }
        applied = true;
        setIfAbsent("OPT_OUT_TRACKING", "true");
        if (isCudaDownloadAllowed()) {
            // NOTE: untested (no GPU, no internet where this was built). DJL downloads only when the
            // requested flavour does not match the bundled CPU natives.
            setIfAbsent("ai.djl.offline", "false");
            setIfAbsent("PYTORCH_FLAVOR", CUDA_FLAVOR);
            LOG.info("CUDA natives download allowed by the '{}' setting", CUDA_DOWNLOAD_KEY);
        } else {
            setIfAbsent("ai.djl.offline", "true");
        }
        if (System.getenv("DJL_OFFLINE") != null) {
            LOG.warn("Environment variable DJL_OFFLINE={} overrides the plugin's offline setting",
                    System.getenv("DJL_OFFLINE"));
        }
        LOG.debug("DJL settings: ai.djl.offline={}, OPT_OUT_TRACKING={}", System.getProperty("ai.djl.offline"),
                System.getProperty("OPT_OUT_TRACKING"));
    }

    private static void setIfAbsent(String key, String value) {
        if (System.getenv(key) == null && System.getProperty(key) == null) {
            System.setProperty(key, value);
        }
    }
}
