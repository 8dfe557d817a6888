package org.fssm.upscale.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;

import ai.djl.engine.Engine;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import org.fssm.upscale.engine.Engines;
import org.fssm.upscale.engine.UpscaleException;

/** {@code fssm info}: the bundled models with their cards, the versions and the devices. */
@Command(name = "info", mixinStandardHelpOptions = true,
        description = "Lists the bundled models with their model cards, the plugin, DJL and PyTorch versions,"
                + " and the devices the PyTorch engine sees.")
final class InfoCommand implements Callable<Integer> {

    /** Scales for which a bundled model may exist, {@code models/fssm-x<scale>.pt} in the jar. */
    private static final int[] BUNDLED_SCALES = {2, 3, 4};

    @Spec
    private CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        out.println("fssm-upscale " + VersionInfo.pluginVersion());
        out.println();
        out.println("Bundled models:");
        int found = 0;
        for (int scale : BUNDLED_SCALES) {
            found += printBundledModel(out, scale) ? 1 : 0;
        }
        if (found == 0) {
            out.println("  none; pass --model FILE.pt to upscale and evaluate");
        }
        out.println();
        printEngine(out);
        out.flush();
        return FssmCli.EXIT_OK;
    }

    private static boolean printBundledModel(PrintWriter out, int scale) {
        ClassLoader loader = InfoCommand.class.getClassLoader();
        String name = "models/fssm-x" + scale + ".pt";
        URL model = loader.getResource(name);
        if (model == null) {
            out.println("  x" + scale + ": not bundled (" + name + " is missing)");
            return false;
        }
        out.println("  x" + scale + ": " + name);
        try (InputStream card = loader.getResourceAsStream(name.replaceAll("\\.pt$", ".json"))) {
            if (card == null) {
                out.println("    no model card");
            } else {
                String text = new String(card.readAllBytes(), StandardCharsets.UTF_8).strip();
                out.println("    " + text.replace("\n", "\n    "));
            }
        } catch (IOException e) {
            out.println("    model card unreadable: " + e.getMessage());
        }
        return true;
    }

    private static void printEngine(PrintWriter out) {
        try {
            Engine engine = Engines.pytorch();
            out.println("DJL " + Engine.getDjlVersion() + ", " + engine.getEngineName() + " " + engine.getVersion());
            StringBuilder devices = new StringBuilder("Devices: cpu");
            for (int gpu = 0; gpu < engine.getGpuCount(); gpu++) {
                devices.append(", gpu(").append(gpu).append(')');
            }
            out.println(devices);
        } catch (UpscaleException e) {
            out.println("PyTorch engine: not loaded: " + e.getMessage());
        }
    }
}
