import java.io.File;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

import ij.IJ;
import ij.ImagePlus;
import ij.ImageStack;

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
 * <p>Exit status 0 when the command produced an image of twice the input's width and height and
 * of the input's bit depth, and left the input's pixels unchanged; 1 otherwise. Without MODEL the
 * command uses the model bundled in the plugin jar.
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
        String inputDigest = pixelDigest(input);

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
            if (result.getBitDepth() != input.getBitDepth()) {
                fail("Expected a " + input.getBitDepth() + "-bit result, got " + result.getBitDepth() + "-bit");
            }
            if (!pixelDigest(input).equals(inputDigest)) {
                fail("The command changed the input image's pixels");
            }
            if (!IJ.saveAsTiff(result, args[1])) {
                fail("Could not save " + args[1]);
            }
        }
        // PyTorch's thread pools would keep the JVM alive.
        System.exit(0);
    }

    /** Returns the SHA-256 of every pixel of every plane, to detect changes to the input. */
    private static String pixelDigest(ImagePlus image) throws Exception {
        MessageDigest sha256 = MessageDigest.getInstance("SHA-256");
        ImageStack stack = image.getStack();
        for (int plane = 1; plane <= stack.getSize(); plane++) {
            Object pixels = stack.getPixels(plane);
            if (pixels instanceof byte[] bytes) {
                sha256.update(bytes);
            } else if (pixels instanceof short[] shorts) {
                ByteBuffer buffer = ByteBuffer.allocate(shorts.length * Short.BYTES);
                buffer.asShortBuffer().put(shorts);
                sha256.update(buffer.array());
            } else if (pixels instanceof float[] floats) {
                ByteBuffer buffer = ByteBuffer.allocate(floats.length * Float.BYTES);
                buffer.asFloatBuffer().put(floats);
                sha256.update(buffer.array());
            } else if (pixels instanceof int[] ints) {
                ByteBuffer buffer = ByteBuffer.allocate(ints.length * Integer.BYTES);
                buffer.asIntBuffer().put(ints);
                sha256.update(buffer.array());
            } else {
                fail("Unexpected pixel array " + pixels.getClass() + " in plane " + plane);
            }
        }
        return HexFormat.of().formatHex(sha256.digest());
    }

    private static void fail(String message) {
        System.err.println("FAILED: " + message);
        System.exit(1);
    }
}
