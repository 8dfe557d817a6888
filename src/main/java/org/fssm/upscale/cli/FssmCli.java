package org.fssm.upscale.cli;

import java.io.PrintWriter;

import picocli.CommandLine;
import picocli.CommandLine.Command;

import org.fssm.upscale.engine.UpscaleException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code fssm} command-line tool: batch upscaling of image files, benchmark evaluation and a
 * report of the bundled models. Run through the {@code ./fssm} launcher at the repository root.
 *
 * <p>Exit codes: {@value #EXIT_OK} when everything succeeded, {@value #EXIT_FAILED} when an input
 * or the model failed, {@value #EXIT_USAGE} for an invalid command line or option value.
 */
@Command(name = "fssm", mixinStandardHelpOptions = true, versionProvider = VersionInfo.class,
        description = "Super-resolves images with the FSSM network, without Fiji.",
        subcommands = {UpscaleCommand.class, EvaluateCommand.class, InfoCommand.class,
                CommandLine.HelpCommand.class})
public final class FssmCli implements Runnable {

    public static final int EXIT_OK = 0;
    public static final int EXIT_FAILED = 1;
    public static final int EXIT_USAGE = 2;

    private static final Logger LOG = LoggerFactory.getLogger(FssmCli.class);

    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "Missing subcommand: use upscale, evaluate or info.");
    }

    /** Builds the command line with the tool's error handling: one sentence per error on stderr. */
    public static CommandLine commandLine() {
        CommandLine commandLine = new CommandLine(new FssmCli());
        commandLine.setExecutionExceptionHandler(FssmCli::handleExecutionException);
        return commandLine;
    }

    /**
     * Prints a user error in one line and the full trace to the log. Invalid settings found by the
     * engine count as usage errors, because the user fixes them on the command line.
     */
    private static int handleExecutionException(Exception exception, CommandLine commandLine,
            CommandLine.ParseResult parseResult) {
        PrintWriter err = commandLine.getErr();
        if (exception instanceof UsageException usage) {
            err.println("fssm: " + usage.getMessage());
            LOG.debug("Invalid option", usage);
            return EXIT_USAGE;
        }
        if (exception instanceof UpscaleException upscale) {
            err.println("fssm: " + upscale.getMessage());
            LOG.debug("Command failed", upscale);
            return EXIT_FAILED;
        }
        err.println("fssm: internal error: " + exception + "; run with -Dorg.slf4j.simpleLogger.defaultLogLevel=debug"
                + " for the full trace.");
        LOG.error("Unexpected error", exception);
        return EXIT_FAILED;
    }

    public static void main(String[] args) {
        System.setProperty("java.awt.headless", "true");
        System.exit(commandLine().execute(args));
    }
}
