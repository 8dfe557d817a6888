package org.fssm.upscale.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;

import ij.IJ;
import ij.ImagePlus;

import groovy.lang.Binding;
import groovy.lang.GroovyShell;

import org.fssm.upscale.TestModels;
import org.fssm.upscale.command.FssmUpscaleCommand;
import org.fssm.upscale.engine.UpscaleSettings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.scijava.Context;
import org.scijava.ItemIO;
import org.scijava.command.CommandService;
import org.scijava.plugin.Parameter;

/**
 * Checks the files of examples/: the sample image is what its generator makes, the Groovy script
 * runs, and both scripts name only classes, methods and command parameters that exist. No Jython
 * runtime is on the test classpath, so the Jython script is only read.
 */
class ExamplesTest {

    private static final Path EXAMPLES = Path.of("examples");
    private static final Pattern GROOVY_IMPORT = Pattern.compile("^import\\s+([\\w.]+)\\s*$", Pattern.MULTILINE);
    private static final Pattern JYTHON_IMPORT = Pattern.compile("^from\\s+([\\w.]+)\\s+import\\s+(\\w+)\\s*$",
            Pattern.MULTILINE);
    private static final Pattern STATIC_CALL = Pattern.compile("\\b([A-Z]\\w*)\\.(\\w+)\\(");
    private static final Pattern SETTINGS_CALL = Pattern.compile("\\.(with\\w+)\\(");
    private static final Pattern COMMAND_KEY = Pattern.compile("^\\s*\"(\\w+)\",", Pattern.MULTILINE);

    @TempDir
    Path temp;

    @Test
    void sampleMatchesGenerator() throws Exception {
        Path sample = EXAMPLES.resolve("sample-cells.tif");
        assertTrue(Files.size(sample) < 200_000, "sample below 200 KB");
        ImagePlus committed = IJ.openImage(sample.toString());
        assertNotNull(committed, "sample readable");

        ImagePlus generated = (ImagePlus) generatorClass().getMethod("create").invoke(null);

        assertEquals(16, committed.getBitDepth());
        assertEquals(generated.getWidth(), committed.getWidth());
        assertEquals(generated.getHeight(), committed.getHeight());
        assertArrayEquals((short[]) generated.getProcessor().getPixels(), (short[]) committed.getProcessor().getPixels());
        assertEquals(0.1, committed.getCalibration().pixelWidth, 1e-12);
        assertEquals(0.1, committed.getCalibration().pixelHeight, 1e-12);
        assertEquals("micron", committed.getCalibration().getUnit());
    }

    /** Compiles examples/SyntheticCells.java, which lives outside the Maven source folders. */
    private Class<?> generatorClass() throws IOException, ClassNotFoundException {
        JavaCompiler compiler = ToolProvider.getSystemJavaCompiler();
        assertNotNull(compiler, "a JDK with javac runs the tests");
        int status = compiler.run(null, null, null, "-d", temp.toString(), "-cp",
                System.getProperty("java.class.path"), EXAMPLES.resolve("SyntheticCells.java").toString());
        assertEquals(0, status, "SyntheticCells.java compiles");
        URLClassLoader loader = new URLClassLoader(new URL[] {temp.toUri().toURL()}, getClass().getClassLoader());
        return loader.loadClass("SyntheticCells");
    }

    @ParameterizedTest
    @ValueSource(strings = {"upscale.groovy", "upscale.py"})
    void scriptReferencesExistingApi(String name) throws Exception {
        String script = Files.readString(EXAMPLES.resolve(name));
        Map<String, Class<?>> imported = imports(script, name.endsWith(".py"));
        assertTrue(imported.containsKey("FssmUpscaleCommand"), "script uses the command");
        assertTrue(imported.containsKey("FssmUpscaler"), "script uses the Java API");

        Matcher call = STATIC_CALL.matcher(script);
        while (call.find()) {
            Class<?> type = imported.get(call.group(1));
            if (type != null) {
                assertTrue(hasMethod(type, call.group(2)), type.getSimpleName() + "." + call.group(2) + " exists");
            }
        }
        Matcher settingsCall = SETTINGS_CALL.matcher(script);
        while (settingsCall.find()) {
            assertTrue(hasMethod(UpscaleSettings.class, settingsCall.group(1)),
                    "UpscaleSettings." + settingsCall.group(1) + " exists");
        }

        Matcher key = COMMAND_KEY.matcher(script);
        int keys = 0;
        while (key.find()) {
            Field field = FssmUpscaleCommand.class.getDeclaredField(key.group(1));
            assertNotNull(field.getAnnotation(Parameter.class), key.group(1) + " is a command parameter");
            keys++;
        }
        assertEquals(9, keys, "command.run passes image, scale, tile, overlap, low, high, device, output and model");
        Field result = FssmUpscaleCommand.class.getDeclaredField("result");
        assertEquals(ItemIO.OUTPUT, result.getAnnotation(Parameter.class).type());
        assertTrue(script.contains("getOutput(\"result\")"), "script reads the command's result");
    }

    /**
     * Runs examples/upscale.groovy as Fiji's script editor would, with the {@code #@} parameter
     * lines removed and their values bound: a SciJava context supplies the CommandService.
     */
    @Test
    void groovyScriptRuns() throws IOException {
        String script = Files.readString(EXAMPLES.resolve("upscale.groovy")).replaceAll("(?m)^#@.*$", "");
        ImagePlus image = IJ.createImage("cells", "8-bit ramp", 16, 16, 1);
        Context context = new Context();
        try {
            Binding binding = new Binding();
            binding.setVariable("image", image);
            binding.setVariable("command", context.service(CommandService.class));
            binding.setVariable("scale", "2");
            binding.setVariable("model", TestModels.model(2).toFile());

            new GroovyShell(binding).evaluate(script);

            ImagePlus result = (ImagePlus) binding.getVariable("result");
            assertEquals("cells-FSSMx2.tif", result.getTitle());
            assertEquals(32, result.getWidth());
            assertEquals(8, result.getBitDepth());
            ImagePlus apiResult = (ImagePlus) binding.getVariable("apiResult");
            assertEquals(32, apiResult.getWidth());
            assertEquals(32, apiResult.getHeight());
            assertEquals(32, apiResult.getBitDepth());
        } finally {
            context.dispose();
        }
    }

    private static Map<String, Class<?>> imports(String script, boolean jython) throws ClassNotFoundException {
        Map<String, Class<?>> imported = new LinkedHashMap<>();
        Matcher matcher = (jython ? JYTHON_IMPORT : GROOVY_IMPORT).matcher(script);
        while (matcher.find()) {
            String className = jython ? matcher.group(1) + "." + matcher.group(2) : matcher.group(1);
            if (className.startsWith("jarray.")) {
                continue;
            }
            Class<?> type = Class.forName(className);
            imported.put(type.getSimpleName(), type);
        }
        assertTrue(imported.size() >= 5, "imports found: " + imported.keySet());
        return imported;
    }

    private static boolean hasMethod(Class<?> type, String name) {
        List<Method> methods = Arrays.asList(type.getMethods());
        return methods.stream().anyMatch(method -> method.getName().equals(name));
    }
}
