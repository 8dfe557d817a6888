package org.fssm.upscale.command;

import java.io.File;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ExecutionException;

import ij.ImagePlus;

import org.fssm.upscale.TestModels;
import org.scijava.Context;
import org.scijava.command.CommandModule;
import org.scijava.command.CommandService;

/** Runs {@link FssmUpscaleCommand} through a real SciJava context with small test tiles. */
final class CommandRunner implements AutoCloseable {

    private final Context context = new Context();
    private final CommandService commands = context.service(CommandService.class);

    /** Returns the default inputs of the tests: the exported x2 model, 32-pixel tiles, 8-pixel overlap. */
    static Map<String, Object> inputs(ImagePlus image) {
        Map<String, Object> inputs = new HashMap<>();
        inputs.put("image", image);
        inputs.put("scale", "2");
        inputs.put("tile", 32);
        inputs.put("overlap", 8);
        inputs.put("low", 1.0);
        inputs.put("high", 99.8);
        inputs.put("device", "cpu");
        inputs.put("output", "same");
        inputs.put("model", TestModels.model(2).toFile());
        return inputs;
    }

    CommandModule run(Map<String, Object> inputs) throws InterruptedException, ExecutionException {
        return commands.run(FssmUpscaleCommand.class, true, inputs).get();
    }

    /** Runs the command and returns its output image, failing with the cancel reason if it has none. */
    ImagePlus upscale(Map<String, Object> inputs) throws InterruptedException, ExecutionException {
        CommandModule module = run(inputs);
        if (module.isCanceled()) {
            throw new AssertionError("command cancelled: " + module.getCancelReason());
        }
        return (ImagePlus) module.getOutput("result");
    }

    static File model(int scale) {
        return TestModels.model(scale).toFile();
    }

    @Override
    public void close() {
        context.dispose();
    }
}
