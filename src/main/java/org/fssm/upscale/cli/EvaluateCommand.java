package org.fssm.upscale.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import org.fssm.upscale.cli.evaluation.BenchmarkEvaluation;
import org.fssm.upscale.cli.evaluation.BenchmarkEvaluation.ImageScore;
import org.fssm.upscale.cli.evaluation.LumaMetrics.Score;
import org.fssm.upscale.engine.Device;
import org.fssm.upscale.engine.FssmUpscaler;
import org.fssm.upscale.engine.UpscaleException;
import org.fssm.upscale.engine.UpscaleSettings;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** {@code fssm evaluate}: PSNR and SSIM of the network and of bicubic on a folder of benchmark images. */
@Command(name = "evaluate", sortOptions = false, mixinStandardHelpOptions = true,
        description = {"Measures PSNR and SSIM of the network and of bicubic on benchmark images.",
                "Follows the protocol of super-resolution papers, as python3 -m fssm.evaluate does: bicubic LR"
                        + " input rounded to 8-bit, BT.601 luma rounded to whole levels, `scale` pixels cut at every"
                        + " border. Prints one row per image and method, and the means."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:every image was measured", "1:an image or the model failed",
                "2:invalid command line or option value"})
final class EvaluateCommand implements Callable<Integer> {

    private static final Logger LOG = LoggerFactory.getLogger(EvaluateCommand.class);

    /**
     * Requested tile side. The engine shrinks each tile axis to the image side rounded up to a
     * multiple of 8. So an LR image up to 512 pixels runs as one tile, as in the Python evaluation,
     * and only larger ones are tiled.
     */
    private static final int WHOLE_IMAGE_TILE = UpscaleSettings.MAX_TILE;

    @Spec
    private CommandSpec spec;

    @Parameters(index = "0", paramLabel = "HR_DIR", description = "Folder of high-resolution images (PNG, BMP, JPEG, TIFF).")
    private Path folder;

    @Option(names = "--scale", paramLabel = "N", defaultValue = "2",
            description = "Upscaling factor: 2, 3 or 4 with the bundled models (default: ${DEFAULT-VALUE}).")
    private int scale;

    @Option(names = "--model", paramLabel = "FILE.pt",
            description = "TorchScript model to measure instead of the bundled one for the scale.")
    private Path model;

    @Option(names = "--bicubic-only", description = "Measure only the bicubic baseline; no model is loaded.")
    private boolean bicubicOnly;

    @Option(names = "--device", paramLabel = "auto|cpu|gpu", defaultValue = "cpu",
            description = "Where the network runs (default: ${DEFAULT-VALUE}).")
    private String device;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        FssmUpscaler upscaler = bicubicOnly ? null : FssmUpscaler.create(settings());
        if (bicubicOnly && scale < 2) {
            throw new UsageException("Invalid scale " + scale + ": use 2 or more.");
        }
        List<Path> images = BenchmarkEvaluation.listImages(folder);
        String method = upscaler == null ? null : upscaler.model().source().name();

        out.println(String.format(Locale.ROOT, "%-24s %5s  %-24s %9s %7s", "image", "scale", "method", "PSNR (dB)",
                "SSIM"));
        List<ImageScore> scores = new ArrayList<>();
        int failed = 0;
        for (Path image : images) {
            try {
                ImageScore score = BenchmarkEvaluation.evaluate(image, scale, upscaler);
                scores.add(score);
                printRows(out, score.name(), score.bicubic(), score.model(), method);
                out.flush();
            } catch (UpscaleException | IllegalArgumentException e) {
                failed++;
                err.println("fssm: " + image + ": " + e.getMessage());
                LOG.debug("Evaluation failed on {}", image, e);
            }
        }
        if (!scores.isEmpty()) {
            Score bicubicMean = mean(scores, false);
            Score modelMean = upscaler == null ? null : mean(scores, true);
            printRows(out, "mean of " + scores.size(), bicubicMean, modelMean, method);
        }
        out.flush();
        return failed == 0 ? FssmCli.EXIT_OK : FssmCli.EXIT_FAILED;
    }

    private void printRows(PrintWriter out, String name, Score bicubic, Score model, String method) {
        out.println(row(name, "bicubic", bicubic));
        if (model != null) {
            out.println(row("", method, model));
        }
    }

    private String row(String name, String method, Score score) {
        return String.format(Locale.ROOT, "%-24s %5s  %-24s %9.4f %7.5f", name, "x" + scale, method, score.psnr(),
                score.ssim());
    }

    private static Score mean(List<ImageScore> scores, boolean model) {
        double psnr = 0;
        double ssim = 0;
        for (ImageScore score : scores) {
            Score value = model ? score.model() : score.bicubic();
            psnr += value.psnr();
            ssim += value.ssim();
        }
        return new Score(psnr / scores.size(), ssim / scores.size());
    }

    private UpscaleSettings settings() {
        try {
            UpscaleSettings settings = UpscaleSettings.defaults(scale)
                    .withTile(WHOLE_IMAGE_TILE, UpscaleSettings.DEFAULT_OVERLAP)
                    .withDevice(Device.parse(device))
                    .withModel(model);
            settings.validate();
            return settings;
        } catch (UpscaleException e) {
            throw new UsageException(e.getMessage(), e);
        }
    }
}
