package org.fssm.upscale.ij1;

import java.awt.GraphicsEnvironment;
import java.nio.file.Path;

import ij.IJ;
import ij.ImagePlus;
import ij.Macro;
import ij.WindowManager;
import ij.gui.GenericDialog;
import ij.plugin.PlugIn;

import org.fssm.upscale.engine.Device;
import org.fssm.upscale.engine.ProgressListener;
import org.fssm.upscale.engine.UpscaleCancelledException;
import org.fssm.upscale.engine.UpscaleException;
import org.fssm.upscale.engine.UpscaleSettings;
import org.fssm.upscale.imagej.ImagePlusUpscaler;
import org.fssm.upscale.imagej.OutputType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * ImageJ 1.x entry of FSSM Upscale for plain ImageJ with the jar in {@code plugins/}, listed in
 * the jar's {@code plugins.config}. It has the SciJava command's menu label and macro keys: the
 * first word of each dialog label is the key.
 */
public class FssmUpscalePlugIn implements PlugIn {

    private static final Logger LOG = LoggerFactory.getLogger(FssmUpscalePlugIn.class);
    private static final String TITLE = "FSSM Upscale";

    @Override
    public void run(String arg) {
        ImagePlus image = WindowManager.getCurrentImage();
        if (image == null) {
            reportError("There is no image open; open an image first.");
            return;
        }
        try {
            Options options = readOptions();
            if (options == null) {
                return;
            }
            UpscaleSettings settings = new UpscaleSettings(options.scale, options.tile, options.overlap, options.low,
                    options.high, Device.parse(options.device), options.model.isEmpty() ? null : Path.of(options.model));
            ImagePlusUpscaler.Result result = ImagePlusUpscaler.upscale(image, settings,
                    OutputType.parse(options.output), new ImageJProgress());
            for (String warning : result.report().warnings()) {
                IJ.log("FSSM Upscale: " + warning);
            }
            LOG.info("FSSM Upscale: {} -> {}, {}", image.getTitle(), result.image().getTitle(),
                    result.report().summary());
            result.image().show();
        } catch (UpscaleCancelledException e) {
            IJ.showStatus("FSSM Upscale cancelled");
        } catch (UpscaleException e) {
            LOG.error(e.getMessage(), e);
            reportError(e.getMessage());
        } catch (RuntimeException e) {
            String message = UpscaleException.unexpectedFailure(e);
            LOG.error(message, e);
            reportError(message);
        } finally {
            IJ.showProgress(1.0);
        }
    }

    /**
     * Shows the message and stops a running macro. Headless ImageJ 1.x cannot open the error
     * dialog, so there the message goes to the log window's standard output instead.
     */
    private static void reportError(String message) {
        if (GraphicsEnvironment.isHeadless()) {
            IJ.log(TITLE + ": " + message);
            if (Macro.getOptions() != null) {
                Macro.abort();
            }
        } else {
            IJ.error(TITLE, message);
        }
    }

    /** Values of the dialog or the macro options. */
    static final class Options {
        int scale = 2;
        int tile = UpscaleSettings.DEFAULT_TILE;
        int overlap = UpscaleSettings.DEFAULT_OVERLAP;
        double low = 1.0;
        double high = 99.8;
        String device = "auto";
        String output = "same";
        String model = "";
    }

    /** Reads the options from the macro, or from a dialog when run interactively; null if cancelled. */
    private static Options readOptions() {
        Options options = new Options();
        String macro = Macro.getOptions();
        if (macro == null && GraphicsEnvironment.isHeadless()) {
            return options;
        }
        if (macro != null && GraphicsEnvironment.isHeadless()) {
            return parseMacro(macro);
        }

        GenericDialog dialog = new GenericDialog(TITLE);
        dialog.addChoice("Scale", new String[] {"2", "3", "4"}, String.valueOf(options.scale));
        dialog.addNumericField("Tile (pixels)", options.tile, 0);
        dialog.addNumericField("Overlap (pixels)", options.overlap, 0);
        dialog.addMessage("16- and 32-bit data: the low and high percentiles of each channel (over all Z and T)\n"
                + "map to 0 and 1. 8-bit and RGB data are divided by 255.");
        dialog.addNumericField("Low percentile", options.low, 2);
        dialog.addNumericField("High percentile", options.high, 2);
        dialog.addChoice("Device", new String[] {"auto", "cpu", "gpu"}, options.device);
        dialog.addChoice("Output", new String[] {"same", "32-bit"}, options.output);
        dialog.addFileField("Model (optional TorchScript file)", options.model);
        dialog.showDialog();
        if (dialog.wasCanceled()) {
            return null;
        }

        options.scale = Integer.parseInt(dialog.getNextChoice());
        options.tile = (int) dialog.getNextNumber();
        options.overlap = (int) dialog.getNextNumber();
        options.low = dialog.getNextNumber();
        options.high = dialog.getNextNumber();
        options.device = dialog.getNextChoice();
        options.output = dialog.getNextChoice();
        options.model = dialog.getNextString().trim();
        return options;
    }

    /** Parses macro options without a dialog, which headless ImageJ 1.x cannot create. */
    static Options parseMacro(String macro) {
        Options options = new Options();
        options.scale = (int) number(macro, "scale", options.scale);
        options.tile = (int) number(macro, "tile", options.tile);
        options.overlap = (int) number(macro, "overlap", options.overlap);
        options.low = number(macro, "low", options.low);
        options.high = number(macro, "high", options.high);
        options.device = Macro.getValue(macro, "device", options.device);
        options.output = Macro.getValue(macro, "output", options.output);
        options.model = Macro.getValue(macro, "model", options.model).trim();
        return options;
    }

    private static double number(String macro, String key, double fallback) {
        String value = Macro.getValue(macro, key, null);
        if (value == null) {
            return fallback;
        }
        try {
            return Double.parseDouble(value);
        } catch (NumberFormatException e) {
            throw new UpscaleException("Invalid " + key + "=" + value + " in the macro options: use a number.", e);
        }
    }

    /** Shows tile progress in the ImageJ progress bar and stops when Escape is pressed. */
    private static final class ImageJProgress implements ProgressListener {

        @Override
        public void tileDone(int plane, int planeCount, int tile, int tileCount) {
            IJ.showProgress(plane * tileCount + tile + 1, planeCount * tileCount);
            IJ.showStatus("FSSM Upscale: plane " + (plane + 1) + "/" + planeCount + ", tile " + (tile + 1) + "/"
                    + tileCount);
        }

        @Override
        public boolean isCancelled() {
            return IJ.escapePressed() || Thread.currentThread().isInterrupted();
        }
    }
}
