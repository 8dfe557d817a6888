package org.fssm.upscale.cli;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Arrays;
import java.util.List;

import picocli.CommandLine;

/** Runs the fssm tool in-process and captures its standard output and error. */
final class CliRunner {

    private CliRunner() {
    }

    record Run(int exitCode, String out, String err) {

        /** Returns the non-empty lines of standard error. */
        List<String> errLines() {
            return Arrays.stream(err.split("\\R")).filter(line -> !line.isBlank()).toList();
        }
    }

    static Run run(String... args) {
        CommandLine commandLine = FssmCli.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        commandLine.setOut(new PrintWriter(out, true));
        commandLine.setErr(new PrintWriter(err, true));
        int exitCode = commandLine.execute(args);
        return new Run(exitCode, out.toString(), err.toString());
    }
}
