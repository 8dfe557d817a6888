package org.fssm.upscale.cli;

/** Invalid option value or output folder, found after parsing; the tool exits with code 2. */
final class UsageException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    UsageException(String message) {
        super(message);
    }

    UsageException(String message, Throwable cause) {
        super(message, cause);
    }
}
