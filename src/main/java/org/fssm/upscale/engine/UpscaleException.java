package org.fssm.upscale.engine;

/**
 * Failure that a user can cause or fix (bad input, missing model, missing natives, out of memory).
 * The message is one sentence meant for the user; the cause carries the full trace for the log.
 */
public class UpscaleException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public UpscaleException(String message) {
        super(message);
    }

    public UpscaleException(String message, Throwable cause) {
        super(message, cause);
    }

    /**
     * Returns the message that the Fiji entries show for a failure that no check anticipated, so
     * that the user still gets a sentence and not only a stack trace.
     */
    public static String unexpectedFailure(RuntimeException e) {
        return "FSSM Upscale failed: " + e + ". No image was created; the full trace is in the log.";
    }
}
