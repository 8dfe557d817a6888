package org.fssm.upscale.cli;

import java.nio.file.Files;
import java.nio.file.Path;

import ij.IJ;
import ij.ImagePlus;
import ij.WindowManager;

/**
 * Runs a macro on a cropped image in a JVM with a display (an X server such as Xvfb). ImageJ
 * 1.x's Duplicate, Size and Combine commands build a dialog even when a macro supplies the
 * values, and a headless JVM rejects that dialog. Prints {@code RESULT title|width|height|bitDepth}.
 *
 * <p>Arguments: macro file, macro argument, image file, crop x, y, width, height.
 */
public final class MacroProcess {

    private MacroProcess() {
    }

    public static void main(String[] args) throws Exception {
        ImageJCommands.install();
        ImagePlus image = IJ.openImage(args[2]);
        image.setRoi(Integer.parseInt(args[3]), Integer.parseInt(args[4]), Integer.parseInt(args[5]),
                Integer.parseInt(args[6]));
        ImagePlus crop = image.crop();
        crop.setTitle("crop");
        crop.show();
        String returned = IJ.runMacro(Files.readString(Path.of(args[0])), args[1]);
        ImagePlus result = WindowManager.getCurrentImage();
        System.out.println("RETURNED " + returned);
        System.out.println(result == null ? "RESULT none"
                : "RESULT " + result.getTitle() + "|" + result.getWidth() + "|" + result.getHeight() + "|"
                        + result.getBitDepth());
        System.exit(0);
    }
}
