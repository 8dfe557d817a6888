package org.fssm.upscale.engine;

/** Signals that one tile did not fit in memory, so the caller can retry with smaller tiles. */
final class TileMemoryException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    TileMemoryException(Throwable cause) {
        super(cause.getMessage(), cause);
    }

    /** Returns whether an engine error is PyTorch reporting an allocation failure. */
    static boolean isOutOfMemory(Throwable error) {
        for (Throwable e = error; e != null; e = e.getCause()) {
            if (e instanceof OutOfMemoryError) {
                return true;
            }
            String message = e.getMessage();
            if (message != null && (message.contains("out of memory") || message.contains("can't allocate memory")
                    || message.contains("CUDA error: out of memory"))) {
                return true;
            }
        }
        return false;
    }
}
