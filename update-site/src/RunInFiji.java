import java.io.File;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import ij.IJ;
import ij.ImagePlus;

import org.scijava.Context;
import org.scijava.command.CommandInfo;
import org.scijava.command.CommandModule;
import org.scijava.command.CommandService;

/**
 * Runs Plugins › FSSM Upscale headless the way Fiji would: a SciJava context that discovers the
 * command from the jars on the class path, an ImageJ 1.x image as input. Used by
 * {@code update-site/test} on a JVM whose class path is only the jars of a Fiji-like folder.
 *
 * <pre>
 * java -cp 'fiji/jars/*:fiji/jars/linux64/*' update-site/src/RunInFiji.java INPUT.tif OUTPUT.tif [MODEL.pt]
 * </pre>
 *
 * <p>Exit status 0 when the command produced an image of twice the input's width and height,
 * 1 otherwise. Without MODEL the command uses the model bundled in the plugin jar.
 */
public final class RunInFiji {

    private static final String MENU_PATH = "Plugins > FSSM Upscale";

    public static void main(String[] args) throws Exception {
        if (args.length < 2 || args.length > 3) {
            System.err.println("Usage: RunInFiji INPUT.tif OUTPUT.tif [MODEL.pt]");
            System.exit(2);
        }
        ImagePlus input = IJ.openImage(args[0]);
        if (input == null) {
            fail("ImageJ could not open " + args[0]);
        }

        try (Context context = new Context()) {
            CommandService commands = context.service(CommandService.class);
            List<CommandInfo> found = commands.getCommands().stream()
                    .filter(info -> MENU_PATH.equals(info.getMenuPath().getMenuString()))
                    .toList();
            if (found.size() != 1) {
                fail("Expected one command at " + MENU_PATH + ", found " + found.size() + ": " + found);
            }
            System.out.println("command " + found.get(0).getClassName() + " at " + MENU_PATH);

            Map<String, Object> inputs = new HashMap<>();
            inputs.put("image", input);
            inputs.put("scale", "2");
            inputs.put("device", "cpu");
            if (args.length == 3) {
                inputs.put("model", new File(args[2]));
            }
            long start = System.nanoTime();
            CommandModule module = commands.run(found.get(0), true, inputs).get();
            double seconds = (System.nanoTime() - start) / 1e9;
            if (module.isCanceled()) {
                fail("The command was cancelled: " + module.getCancelReason());
            }
            ImagePlus result = (ImagePlus) module.getOutput("result");
            if (result == null) {
                fail("The command returned no image");
            }
            System.out.printf("%s %dx%d -> %s %dx%d in %.1f s%n", input.getTitle(), input.getWidth(),
                    input.getHeight(), result.getTitle(), result.getWidth(), result.getHeight(), seconds);
            if (result.getWidth() != 2 * input.getWidth() || result.getHeight() != 2 * input.getHeight()) {
                fail("Expected a result of twice the input's size");
            }
            if (!IJ.saveAsTiff(result, args[1])) {
                fail("Could not save " + args[1]);
            }
        }
        // PyTorch's thread pools would keep the JVM alive.
        System.exit(0);
    }

    private static void fail(String message) {
        System.err.println("FAILED: " + message);
        System.exit(1);
    }
}
