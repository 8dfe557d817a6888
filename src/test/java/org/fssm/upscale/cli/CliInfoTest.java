package org.fssm.upscale.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class CliInfoTest {

    @Test
    void infoListsModelsAndDevices() {
        CliRunner.Run run = CliRunner.run("info");

        assertEquals(FssmCli.EXIT_OK, run.exitCode(), run.err());
        assertTrue(run.out().contains("Bundled models:"), run.out());
        assertTrue(run.out().contains("x2: "), run.out());
        assertTrue(run.out().contains("DJL 0.36.0, PyTorch 2.7.1"), run.out());
        assertTrue(run.out().contains("Devices: cpu"), run.out());
    }

    @Test
    void missingSubcommandRejected() {
        CliRunner.Run run = CliRunner.run();

        assertEquals(FssmCli.EXIT_USAGE, run.exitCode(), run.err());
        assertTrue(run.err().contains("Missing subcommand"), run.err());
    }
}
