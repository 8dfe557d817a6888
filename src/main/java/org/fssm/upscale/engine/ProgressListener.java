package org.fssm.upscale.engine;

/** Receives progress per tile and is asked between tiles whether the run should stop. */
public interface ProgressListener {

    /** Listener that ignores progress and never cancels. */
    ProgressListener NONE = new ProgressListener() {
        @Override
        public void tileDone(int plane, int planeCount, int tile, int tileCount) {
        }

        @Override
        public boolean isCancelled() {
            return false;
        }
    };

    /**
     * Reports that a tile has been written. Indices are zero-based.
     *
     * @param plane index of the plane being upscaled
     * @param planeCount number of planes in this run
     * @param tile index of the finished tile within the plane
     * @param tileCount number of tiles per plane
     */
    void tileDone(int plane, int planeCount, int tile, int tileCount);

    /** Returns true when the run should stop before the next tile. */
    boolean isCancelled();
}
