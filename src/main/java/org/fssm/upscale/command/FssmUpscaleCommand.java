package org.fssm.upscale.command;

import java.io.File;

import ij.IJ;
import ij.ImagePlus;

import org.fssm.upscale.engine.Device;
import org.fssm.upscale.engine.ProgressListener;
import org.fssm.upscale.engine.UpscaleCancelledException;
import org.fssm.upscale.engine.UpscaleException;
import org.fssm.upscale.engine.UpscaleSettings;
import org.fssm.upscale.imagej.ImagePlusUpscaler;
import org.fssm.upscale.imagej.OutputType;
import org.scijava.ItemIO;
import org.scijava.ItemVisibility;
import org.scijava.app.StatusService;
import org.scijava.command.Command;
import org.scijava.command.ContextCommand;
import org.scijava.log.LogService;
import org.scijava.plugin.Parameter;
import org.scijava.plugin.Plugin;

/**
 * Plugins > FSSM Upscale: upscales the current image by 2, 3 or 4 with the FSSM network. The
 * parameter names are the macro keys, for example
 * {@code run("FSSM Upscale", "scale=2 tile=128 overlap=16 low=1 high=99.8 device=auto output=same")}.
 */
@Plugin(type = Command.class, menuPath = "Plugins>FSSM Upscale", headless = true)
public class FssmUpscaleCommand extends ContextCommand {

    @Parameter
    private LogService log;

    @Parameter
    private StatusService status;

    @Parameter(label = "Image")
    private ImagePlus image;

    @Parameter(label = "Scale", choices = {"2", "3", "4"}, description = "Upscaling factor in X and Y.")
    private String scale = "2";

    @Parameter(label = "Tile (pixels)", min = "16", max = "512",
            description = "Side of the square input tile; smaller tiles need less memory.")
    private int tile = UpscaleSettings.DEFAULT_TILE;

    @Parameter(label = "Overlap (pixels)", min = "0", max = "255",
            description = "Pixels shared by neighbouring tiles, blended to hide seams.")
    private int overlap = UpscaleSettings.DEFAULT_OVERLAP;

    @Parameter(visibility = ItemVisibility.MESSAGE, persist = false)
    private String note = "16- and 32-bit data: the low and high percentiles of each channel"
            + " (over all Z and T) map to 0 and 1. 8-bit and RGB data are divided by 255.";

    @Parameter(label = "Low percentile", min = "0", max = "100")
    private double low = 1.0;

    @Parameter(label = "High percentile", min = "0", max = "100")
    private double high = 99.8;

    @Parameter(label = "Device", choices = {"auto", "cpu", "gpu"},
            description = "auto uses a GPU when the engine sees one, else the CPU.")
    private String device = "auto";

    @Parameter(label = "Output", choices = {"same", "32-bit"},
            description = "same keeps the input's pixel type; 32-bit returns float values.")
    private String output = "same";

    @Parameter(label = "Model (optional TorchScript file)", required = false, style = "open",
            description = "Your own TorchScript model; empty uses the bundled FSSM model for the scale.")
    private File model;

    @Parameter(type = ItemIO.OUTPUT)
    private ImagePlus result;

    @Override
    public void run() {
        try {
            UpscaleSettings settings = settings();
            ImagePlusUpscaler.Result upscaled = ImagePlusUpscaler.upscale(image, settings, OutputType.parse(output),
                    new StatusProgress());
            for (String warning : upscaled.report().warnings()) {
                log.warn(warning);
            }
            log.info("FSSM Upscale: " + image.getTitle() + " -> " + upscaled.image().getTitle() + ", "
                    + upscaled.report().summary());
            result = upscaled.image();
        } catch (UpscaleCancelledException e) {
            log.info("FSSM Upscale cancelled; no image was created.");
            cancel(e.getMessage());
        } catch (UpscaleException e) {
            log.error(e.getMessage(), e);
            cancel(e.getMessage());
        } catch (RuntimeException e) {
            String message = UpscaleException.unexpectedFailure(e);
            log.error(message, e);
            cancel(message);
        } finally {
            status.clearStatus();
        }
    }

    private UpscaleSettings settings() {
        int factor;
        try {
            factor = Integer.parseInt(scale.trim());
        } catch (NumberFormatException e) {
            throw new UpscaleException("Invalid scale '" + scale + "': use 2, 3 or 4.", e);
        }
        return new UpscaleSettings(factor, tile, overlap, low, high, Device.parse(device),
                model == null || model.getPath().isEmpty() ? null : model.toPath());
    }

    /** Reports tiles to the status bar and stops on a cancel request, an interrupt or Escape. */
    private final class StatusProgress implements ProgressListener {

        @Override
        public void tileDone(int plane, int planeCount, int tileIndex, int tileCount) {
            status.showStatus(plane * tileCount + tileIndex + 1, planeCount * tileCount,
                    "FSSM Upscale: plane " + (plane + 1) + "/" + planeCount + ", tile " + (tileIndex + 1) + "/"
                            + tileCount);
        }

        @Override
        public boolean isCancelled() {
            return FssmUpscaleCommand.this.isCanceled() || Thread.currentThread().isInterrupted()
                    || IJ.escapePressed();
        }
    }
}
