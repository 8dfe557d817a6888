package org.fssm.upscale.cli;

import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/** Temporary output files being written, deleted by a shutdown hook when the tool is interrupted. */
final class PartialFiles {

    private static final Set<Path> FILES = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> FILES.forEach(ImageFiles::deleteQuietly),
                "fssm-delete-partial-files"));
    }

    private PartialFiles() {
    }

    static void register(Path file) {
        FILES.add(file);
    }

    static void unregister(Path file) {
        FILES.remove(file);
    }
}
