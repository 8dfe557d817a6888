package org.fssm.upscale.cli;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

import picocli.CommandLine;

/** Versions of the plugin and of DJL, read from the jar's Maven metadata. */
final class VersionInfo implements CommandLine.IVersionProvider {

    private static final String POM_PROPERTIES = "META-INF/maven/org.fssm/fssm-upscale/pom.properties";

    /** Returns the plugin version, or {@code unknown} when running from classes outside the jar. */
    static String pluginVersion() {
        try (InputStream stream = VersionInfo.class.getClassLoader().getResourceAsStream(POM_PROPERTIES)) {
            if (stream == null) {
                return "unknown (not run from the jar)";
            }
            Properties properties = new Properties();
            properties.load(stream);
            return properties.getProperty("version", "unknown");
        } catch (IOException e) {
            return "unknown (" + e.getMessage() + ")";
        }
    }

    @Override
    public String[] getVersion() {
        return new String[] {"fssm-upscale " + pluginVersion()};
    }
}
