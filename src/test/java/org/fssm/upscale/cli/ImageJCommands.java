package org.fssm.upscale.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.lang.reflect.Field;
import java.nio.charset.StandardCharsets;
import java.util.Hashtable;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import ij.IJ;
import ij.Menus;

/**
 * Fills ImageJ 1.x's command table as its menus would: the built-in commands from the jar's
 * IJ_Props.txt, two that ImageJ adds in code, and the plugin's plugins.config as for a jar in
 * plugins/. Without menus (headless, or no ImageJ window) {@code run("Size...")} would fail.
 */
final class ImageJCommands {

    private static final Pattern PROPS_COMMAND = Pattern.compile("^\\w+=\"([^\"]+)\",(.+)$");

    private ImageJCommands() {
    }

    static void install() throws IOException, ReflectiveOperationException {
        Hashtable<String, String> commands = new Hashtable<>();
        for (String line : resourceLines(IJ.class.getClassLoader(), "IJ_Props.txt")) {
            Matcher matcher = PROPS_COMMAND.matcher(line.trim());
            if (matcher.matches()) {
                commands.put(matcher.group(1), matcher.group(2).trim());
            }
        }
        commands.put("Duplicate...", "ij.plugin.Duplicator");
        commands.put("Crop", "ij.plugin.Resizer(\"crop\")");
        for (String line : resourceLines(ImageJCommands.class.getClassLoader(), "plugins.config")) {
            if (!line.isBlank() && !line.startsWith("#")) {
                String[] parts = line.split(",", 3);
                commands.put(parts[1].trim().replace("\"", ""), parts[2].trim());
            }
        }
        Field table = Menus.class.getDeclaredField("pluginsTable");
        table.setAccessible(true);
        table.set(null, commands);
    }

    private static List<String> resourceLines(ClassLoader loader, String name) throws IOException {
        try (InputStream stream = loader.getResourceAsStream(name)) {
            if (stream == null) {
                throw new IOException(name + " is not on the classpath");
            }
            return new BufferedReader(new InputStreamReader(stream, StandardCharsets.ISO_8859_1)).lines().toList();
        }
    }
}
