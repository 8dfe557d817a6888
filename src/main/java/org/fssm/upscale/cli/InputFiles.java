package org.fssm.upscale.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Expands the file and folder arguments of {@code fssm upscale} into the list of images to process.
 * A file argument is always tried, whatever its name. In a folder, only files with an image suffix
 * are taken, in name order; hidden files and earlier outputs ({@code *-FSSMx<s>.tif}) are left out.
 */
final class InputFiles {

    /** Suffixes of the formats ImageJ 1.x reads without plugins, lower case. */
    static final Set<String> IMAGE_SUFFIXES = Set.of("tif", "tiff", "png", "jpg", "jpeg", "bmp", "gif");

    private static final Pattern OUTPUT_NAME = Pattern.compile(".*-FSSMx\\d+\\.tif");

    private InputFiles() {
    }

    /**
     * One image to process.
     *
     * @param file the image file
     * @param subfolder folder of the file relative to the folder argument it was found in, empty
     *     for a file argument; the output goes into the same sub-folder of {@code --out}
     */
    record Source(Path file, Path subfolder) {
    }

    /** Images found, and one message per argument that yielded none. */
    record Collected(List<Source> sources, List<String> errors, int skipped) {
    }

    static Collected collect(List<Path> arguments, boolean recursive) {
        List<Source> sources = new ArrayList<>();
        List<String> errors = new ArrayList<>();
        int skipped = 0;
        for (Path argument : arguments) {
            if (Files.isDirectory(argument)) {
                List<Path> all;
                try {
                    all = listFiles(argument, recursive);
                } catch (IOException | UncheckedIOException e) {
                    errors.add("Cannot list the folder " + argument + ": " + e.getMessage() + ".");
                    continue;
                }
                List<Path> images = all.stream().filter(InputFiles::isImageName).toList();
                skipped += all.size() - images.size();
                if (images.isEmpty()) {
                    errors.add("No images (" + String.join(", ", IMAGE_SUFFIXES.stream().sorted().toList())
                            + ") found in " + argument + (recursive ? " or its sub-folders" : "") + ".");
                }
                for (Path image : images) {
                    Path parent = argument.relativize(image).getParent();
                    sources.add(new Source(image, parent == null ? Path.of("") : parent));
                }
            } else {
                // Missing and unreadable files are reported when they are opened, in input order.
                sources.add(new Source(argument, Path.of("")));
            }
        }
        return new Collected(sources, errors, skipped);
    }

    private static List<Path> listFiles(Path folder, boolean recursive) throws IOException {
        try (Stream<Path> paths = recursive ? Files.walk(folder) : Files.list(folder)) {
            return paths.filter(Files::isRegularFile)
                    .filter(path -> !path.getFileName().toString().startsWith("."))
                    .sorted()
                    .toList();
        }
    }

    /** Returns whether a file in a folder is taken: an image suffix and not an earlier output. */
    static boolean isImageName(Path file) {
        String name = file.getFileName().toString();
        int dot = name.lastIndexOf('.');
        String suffix = dot < 0 ? "" : name.substring(dot + 1).toLowerCase(Locale.ROOT);
        return IMAGE_SUFFIXES.contains(suffix) && !OUTPUT_NAME.matcher(name).matches();
    }
}
