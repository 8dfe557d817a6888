package org.fssm.upscale.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;

import ij.ImagePlus;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import org.fssm.upscale.engine.Device;
import org.fssm.upscale.engine.FssmUpscaler;
import org.fssm.upscale.engine.Percentiles;
import org.fssm.upscale.engine.UpscaleException;
import org.fssm.upscale.engine.UpscaleSettings;
import org.fssm.upscale.imagej.ImagePlusUpscaler;
import org.fssm.upscale.imagej.OutputType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** {@code fssm upscale}: upscales image files and folders into TIFF files. */
@Command(name = "upscale", sortOptions = false, mixinStandardHelpOptions = true,
        description = {"Upscales image files and folders into TIFF files.",
                "Reads TIFF (stacks and hyperstacks), PNG and JPEG with ImageJ 1.x and writes <name>-FSSMx<scale>.tif,"
                        + " which keeps the calibration (pixel size divided by the scale) and the channel, slice and"
                        + " frame layout. The input files are only read."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:every input was upscaled", "1:an input or the model failed (the others were still processed)",
                "2:invalid command line, option value or output folder, or two inputs with one output file"})
final class UpscaleCommand implements Callable<Integer> {

    private static final Logger LOG = LoggerFactory.getLogger(UpscaleCommand.class);

    @Spec
    private CommandSpec spec;

    @Parameters(arity = "1..*", paramLabel = "IN",
            description = "Image files, or folders whose images (by suffix) are all processed.")
    private List<Path> inputs;

    @Option(names = "--scale", paramLabel = "N", defaultValue = "2",
            description = "Upscaling factor in X and Y: 2, 3 or 4 with the bundled models (default: ${DEFAULT-VALUE}).")
    private int scale;

    @Option(names = "--out", paramLabel = "DIR",
            description = "Output folder, created if missing (default: the folder of each input). Images found in"
                    + " sub-folders of a folder argument go to the same sub-folders of DIR.")
    private Path out;

    @Option(names = "--tile", paramLabel = "PIXELS", defaultValue = "" + UpscaleSettings.DEFAULT_TILE,
            description = "Side of the square input tile, " + UpscaleSettings.MIN_TILE + " to "
                    + UpscaleSettings.MAX_TILE + " pixels (default: ${DEFAULT-VALUE}); smaller tiles need less memory.")
    private int tile;

    @Option(names = "--overlap", paramLabel = "PIXELS", defaultValue = "" + UpscaleSettings.DEFAULT_OVERLAP,
            description = "Input pixels shared by neighbouring tiles and blended, below half the tile"
                    + " (default: ${DEFAULT-VALUE}).")
    private int overlap;

    @Option(names = "--low", paramLabel = "PERCENT", defaultValue = "" + Percentiles.DEFAULT_LOW,
            description = "16- and 32-bit images: percentile of each channel mapped to 0 (default: ${DEFAULT-VALUE}).")
    private double low;

    @Option(names = "--high", paramLabel = "PERCENT", defaultValue = "" + Percentiles.DEFAULT_HIGH,
            description = "16- and 32-bit images: percentile of each channel mapped to 1 (default: ${DEFAULT-VALUE}).")
    private double high;

    @Option(names = "--device", paramLabel = "auto|cpu|gpu", defaultValue = "auto",
            description = "Where the network runs; auto takes a GPU when the engine sees one (default: ${DEFAULT-VALUE}).")
    private String device;

    @Option(names = "--output", paramLabel = "same|float", defaultValue = "same",
            description = "Pixel type of the result: the input's type, or 32-bit float (default: ${DEFAULT-VALUE}).")
    private String output;

    @Option(names = "--model", paramLabel = "FILE.pt",
            description = "TorchScript model to use instead of the bundled one for the scale.")
    private Path model;

    @Option(names = "--recursive", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Also take the images in sub-folders of a folder argument (default: ${DEFAULT-VALUE}).")
    private boolean recursive;

    @Option(names = "--overwrite", description = "Replace existing output files instead of reporting them.")
    private boolean overwrite;

    @Option(names = "--progress", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Draw a progress bar on standard error when it is a terminal (default: ${DEFAULT-VALUE}).")
    private boolean progress;

    @Option(names = "--dry-run",
            description = "Open every input and print its size and output name, without loading the model or writing.")
    private boolean dryRun;

    private final Set<String> shownWarnings = new HashSet<>();

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        PrintWriter stdout = spec.commandLine().getOut();
        UpscaleSettings settings = settings();
        OutputType outputType = outputType();
        prepareOutputFolder();

        InputFiles.Collected collected = InputFiles.collect(inputs, recursive);
        for (String error : collected.errors()) {
            err.println("fssm: " + error);
        }
        if (collected.skipped() > 0) {
            LOG.info("Skipped {} files without an image suffix", collected.skipped());
        }

        if (!dryRun) {
            // Loading the model once up front reports a missing model in one line instead of once per file.
            FssmUpscaler.create(settings);
        }

        List<InputFiles.Source> sources = collected.sources();
        checkTargets(sources);
        TerminalProgress bar = new TerminalProgress(err, progress && System.console() != null);
        int failed = 0;
        for (int index = 0; index < sources.size(); index++) {
            InputFiles.Source source = sources.get(index);
            bar.start("[" + (index + 1) + "/" + sources.size() + "] " + source.file().getFileName());
            try {
                String line = upscaleFile(source, settings, outputType, bar);
                bar.clear();
                stdout.println(line);
                stdout.flush();
            } catch (UpscaleException e) {
                bar.clear();
                failed++;
                err.println("fssm: " + source.file() + ": " + e.getMessage());
                LOG.debug("Failed on {}", source.file(), e);
            } catch (RuntimeException e) {
                // DJL and ImageJ 1.x errors on one image must not stop the batch.
                bar.clear();
                failed++;
                err.println("fssm: " + source.file() + ": upscaling failed (" + e + "); see the log for the trace.");
                LOG.error("Upscaling failed on {}", source.file(), e);
            }
            err.flush();
        }

        int succeeded = sources.size() - failed;
        boolean allDone = failed == 0 && collected.errors().isEmpty();
        // For a single input, its own error line is the whole report.
        if (sources.size() + collected.errors().size() > 1) {
            err.println("fssm: " + succeeded + " of " + sources.size() + (dryRun ? " files readable" : " files upscaled")
                    + (failed > 0 ? ", " + failed + " failed" : "")
                    + (collected.errors().isEmpty() ? "" : ", " + collected.errors().size() + " arguments without images")
                    + ".");
        }
        return allDone ? FssmCli.EXIT_OK : FssmCli.EXIT_FAILED;
    }

    /** Upscales one file and returns the line that reports it. */
    private String upscaleFile(InputFiles.Source source, UpscaleSettings settings, OutputType outputType,
            TerminalProgress bar) {
        Path target = targetOf(source);
        Path folder = target.getParent();
        if (!overwrite && Files.exists(target)) {
            throw ImageFiles.alreadyExists(target);
        }
        long start = System.nanoTime();
        ImagePlus image = ImageFiles.open(source.file());
        if (dryRun) {
            return String.format(Locale.ROOT, "%s -> %s (%d x %d, %d planes, %d-bit; dry run, nothing written)",
                    source.file(), target, image.getWidth(), image.getHeight(), image.getStackSize(),
                    image.getBitDepth());
        }
        ImagePlusUpscaler.Result result = ImagePlusUpscaler.upscale(image, settings, outputType, bar);
        createFolder(folder);
        ImageFiles.saveTiff(result.image(), target, overwrite);
        ImagePlus upscaled = result.image();
        bar.clear();
        showWarnings(result.report().warnings());
        LOG.info("{} -> {}: {}", source.file(), target, result.report().summary());
        return String.format(Locale.ROOT, "%s -> %s (%d x %d, %d planes, %.1f s)", source.file(), target,
                upscaled.getWidth(), upscaled.getHeight(), upscaled.getStackSize(), (System.nanoTime() - start) / 1e9);
    }

    /** Returns the output file of one input: {@code <name>-FSSMx<scale>.tif} in its folder or under --out. */
    private Path targetOf(InputFiles.Source source) {
        Path folder = out == null ? parentOf(source.file()) : out.resolve(source.subfolder());
        return folder.resolve(ImagePlusUpscaler.outputTitle(source.file().getFileName().toString(), scale))
                .toAbsolutePath().normalize();
    }

    /**
     * Rejects a batch in which two inputs would write the same output file ({@code cells.png} and
     * {@code cells.tif}), or an output would replace another input, before anything is written.
     */
    private void checkTargets(List<InputFiles.Source> sources) {
        Set<Path> inputFiles = new HashSet<>();
        for (InputFiles.Source source : sources) {
            inputFiles.add(source.file().toAbsolutePath().normalize());
        }
        Map<Path, Path> writers = new HashMap<>();
        for (InputFiles.Source source : sources) {
            Path target = targetOf(source);
            Path earlier = writers.putIfAbsent(target, source.file());
            if (earlier != null) {
                throw new UsageException(earlier + " and " + source.file() + " would both be written to " + target
                        + "; upscale them in separate runs or with different --out folders.");
            }
            if (inputFiles.contains(target)) {
                throw new UsageException("the output of " + source.file() + " would replace the input " + target
                        + "; leave that file out or choose another --out folder.");
            }
        }
    }

    private static Path parentOf(Path file) {
        Path parent = file.toAbsolutePath().getParent();
        return parent == null ? Path.of("") : parent;
    }

    private static void createFolder(Path folder) {
        try {
            Files.createDirectories(folder);
        } catch (IOException e) {
            throw new UpscaleException("cannot create the output folder " + folder + " (" + e + ").", e);
        }
    }

    /** Checks every option value; an invalid one is a usage error. */
    private UpscaleSettings settings() {
        try {
            UpscaleSettings settings = new UpscaleSettings(scale, tile, overlap, low, high, Device.parse(device), model);
            settings.validate();
            return settings;
        } catch (UpscaleException e) {
            throw new UsageException(e.getMessage(), e);
        }
    }

    private OutputType outputType() {
        String value = output.trim().toLowerCase(Locale.ROOT);
        if (value.equals("same")) {
            return OutputType.SAME;
        }
        if (value.equals("float") || value.equals("32-bit")) {
            return OutputType.FLOAT;
        }
        throw new UsageException("Invalid --output " + output + ": use same or float.");
    }

    /** Creates {@code --out} and checks that it is writable before any image is upscaled. */
    private void prepareOutputFolder() {
        if (out == null || dryRun) {
            return;
        }
        try {
            Files.createDirectories(out);
        } catch (IOException e) {
            throw new UsageException("Cannot create the output folder " + out + " (" + e + "); choose another with --out.",
                    e);
        }
        if (!Files.isWritable(out)) {
            throw new UsageException("The output folder " + out + " is not writable; choose another with --out.");
        }
    }

    /** Prints each engine warning (such as a GPU request that fell back to the CPU) once per run. */
    private void showWarnings(List<String> warnings) {
        for (String warning : warnings) {
            if (shownWarnings.add(warning)) {
                spec.commandLine().getErr().println("fssm: warning: " + warning);
            }
        }
    }
}
