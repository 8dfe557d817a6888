package org.fssm.upscale.engine;

/** Thrown between tiles when the caller's {@link ProgressListener} reports a cancel request. */
public class UpscaleCancelledException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public UpscaleCancelledException() {
        super("FSSM Upscale was cancelled.");
    }
}
