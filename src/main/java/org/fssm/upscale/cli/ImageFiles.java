package org.fssm.upscale.cli;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.UUID;
import java.util.function.Supplier;

import ij.ImagePlus;
import ij.io.FileSaver;
import ij.io.Opener;

import org.fssm.upscale.engine.UpscaleException;

/**
 * Reads and writes image files with ImageJ 1.x. Headless ImageJ 1.x prints its error messages to
 * standard output, which would mix with the tool's output, so they are captured and put into the
 * exception message instead.
 */
public final class ImageFiles {

    private ImageFiles() {
    }

    /**
     * Opens an image (TIFF with stacks and hyperstacks, PNG, JPEG, BMP, GIF) with its calibration.
     *
     * @throws UpscaleException when the file is missing or ImageJ 1.x cannot read it. The message
     *     leaves out the file name because the caller prints it in front.
     */
    public static ImagePlus open(Path file) {
        if (!Files.exists(file)) {
            throw new UpscaleException("file not found.");
        }
        if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
            throw new UpscaleException("not a readable file.");
        }
        Captured<ImagePlus> opened = captureStdout(() -> new Opener().openImage(file.toString()));
        if (opened.value() == null) {
            String detail = opened.output().isBlank() ? "" : " (ImageJ: " + oneLine(opened.output()) + ")";
            throw new UpscaleException("not an image that ImageJ 1.x can open (TIFF, PNG, JPEG, BMP or GIF)"
                    + detail + ".");
        }
        return opened.value();
    }

    /**
     * Writes the image as TIFF to a temporary file in the target's folder and renames it to the
     * target only when complete, so that a failed or interrupted run leaves no partial file.
     *
     * @throws UpscaleException when writing fails or, without {@code overwrite}, the target exists
     */
    static void saveTiff(ImagePlus image, Path target, boolean overwrite) {
        Path folder = target.toAbsolutePath().getParent();
        Path temporary;
        try {
            // Created empty with the default permissions (umask), not createTempFile's 0600, so
            // that the renamed output is readable like any other file the user writes.
            temporary = folder.resolve("." + target.getFileName() + "." + UUID.randomUUID() + ".part");
            Files.createFile(temporary);
        } catch (IOException e) {
            throw new UpscaleException("cannot write to the folder " + folder + " (" + e + ");"
                    + " check that it exists and is writable, or choose another with --out.", e);
        }
        PartialFiles.register(temporary);
        try {
            Captured<Boolean> saved = captureStdout(() -> image.getStackSize() > 1
                    ? new FileSaver(image).saveAsTiffStack(temporary.toString())
                    : new FileSaver(image).saveAsTiff(temporary.toString()));
            if (!saved.value()) {
                throw new UpscaleException("cannot write " + target + ": " + oneLine(saved.output()) + ".");
            }
            moveIntoPlace(temporary, target, overwrite);
        } finally {
            deleteQuietly(temporary);
            PartialFiles.unregister(temporary);
        }
    }

    /** Renames the complete temporary file to the target; a rename within one folder is atomic on POSIX. */
    private static void moveIntoPlace(Path temporary, Path target, boolean overwrite) {
        if (!overwrite && Files.exists(target)) {
            throw alreadyExists(target);
        }
        try {
            try {
                Files.move(temporary, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(temporary, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw new UpscaleException("cannot write " + target + ": " + e + ".", e);
        }
    }

    static UpscaleException alreadyExists(Path target) {
        return new UpscaleException("the output " + target + " already exists; delete it or pass --overwrite.");
    }

    static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            // The file stays behind; its name starts with a dot and ends with .part.
        }
    }

    private record Captured<T>(T value, String output) {
    }

    /** Runs an ImageJ 1.x call with standard output redirected into a buffer. */
    private static synchronized <T> Captured<T> captureStdout(Supplier<T> call) {
        PrintStream original = System.out;
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buffer, true, StandardCharsets.UTF_8));
        try {
            T value = call.get();
            return new Captured<>(value, buffer.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(original);
        }
    }

    private static String oneLine(String text) {
        return text.strip().replaceAll("\\s*\\R\\s*", " ");
    }
}
