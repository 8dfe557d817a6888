package org.fssm.upscale.ij1;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.lang.reflect.Field;
import java.nio.charset.StandardCharsets;
import java.util.Hashtable;

import ij.IJ;
import ij.Menus;

import org.fssm.upscale.TestModels;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Runs the ImageJ 1.x entry from a macro, through ImageJ 1.x's macro interpreter in batch mode. */
class MacroTest {

    /**
     * Registers the commands of the jar's plugins.config as ImageJ 1.x does for a jar in plugins/.
     * Headless ImageJ 1.x builds no menus, so its command table is filled by reflection here.
     */
    @BeforeAll
    static void installPluginsConfig() throws Exception {
        Hashtable<String, String> commands = new Hashtable<>();
        try (InputStream stream = MacroTest.class.getClassLoader().getResourceAsStream("plugins.config")) {
            assertNotNull(stream, "plugins.config is missing from the jar resources");
            BufferedReader reader = new BufferedReader(new InputStreamReader(stream, StandardCharsets.UTF_8));
            for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                if (line.isBlank() || line.startsWith("#")) {
                    continue;
                }
                String[] parts = line.split(",", 3);
                commands.put(parts[1].trim().replace("\"", ""), parts[2].trim());
            }
        }
        assertEquals(FssmUpscalePlugIn.class.getName(), commands.get("FSSM Upscale"), "plugins.config entry");
        commands.put("Crop", "ij.plugin.Resizer(\"crop\")");
        Field table = Menus.class.getDeclaredField("pluginsTable");
        table.setAccessible(true);
        table.set(null, commands);
    }

    @Test
    void macroRunUpscalesInBatchMode() {
        String image = TestModels.microscopy("neubias/xy_8bit__glialcell.tif").toAbsolutePath().toString();
        String model = TestModels.model(2).toAbsolutePath().toString();
        String macro = String.join("\n",
                "setBatchMode(true);",
                "open(\"" + image + "\");",
                "makeRectangle(10, 10, 40, 36);",
                "run(\"Crop\");",
                "run(\"FSSM Upscale\", \"scale=2 tile=32 overlap=8 low=1 high=99.8 device=cpu output=same model=["
                        + model + "]\");",
                "call(\"java.lang.System.setProperty\", \"fssm.macro.result\", getTitle() + \" \" + getWidth()"
                        + " + \"x\" + getHeight() + \" \" + bitDepth());");
        System.clearProperty("fssm.macro.result");

        IJ.runMacro(macro);

        assertEquals("xy_8bit__glialcell-FSSMx2.tif 80x72 8", System.getProperty("fssm.macro.result"));
    }
}
