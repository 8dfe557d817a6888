package org.fssm.upscale.cli;

import java.io.PrintWriter;

import org.fssm.upscale.engine.ProgressListener;

/**
 * Progress bar on one terminal line, redrawn with a carriage return after each tile. Disabled, it
 * prints nothing, so that redirected standard error holds only the error lines.
 */
final class TerminalProgress implements ProgressListener {

    private static final int BAR_WIDTH = 30;
    private static final long REDRAW_NANOS = 100_000_000L;

    private final PrintWriter out;
    private final boolean enabled;
    private String label = "";
    private long lastDraw;
    private int lastLength;

    TerminalProgress(PrintWriter out, boolean enabled) {
        this.out = out;
        this.enabled = enabled;
    }

    /** Starts the bar of one file, for example {@code [2/7] cells.tif}. */
    void start(String fileLabel) {
        label = fileLabel;
        lastDraw = 0;
        draw(0, "reading");
    }

    @Override
    public void tileDone(int plane, int planeCount, int tile, int tileCount) {
        long now = System.nanoTime();
        boolean last = plane == planeCount - 1 && tile == tileCount - 1;
        if (!last && now - lastDraw < REDRAW_NANOS) {
            return;
        }
        lastDraw = now;
        double fraction = (plane * (double) tileCount + tile + 1) / ((double) planeCount * tileCount);
        draw(fraction, "plane " + (plane + 1) + "/" + planeCount + ", tile " + (tile + 1) + "/" + tileCount);
    }

    /** Clears the bar so that the next line starts at column 0. */
    void clear() {
        if (enabled && lastLength > 0) {
            out.print("\r" + " ".repeat(lastLength) + "\r");
            out.flush();
            lastLength = 0;
        }
    }

    private void draw(double fraction, String detail) {
        if (!enabled) {
            return;
        }
        int filled = (int) Math.round(fraction * BAR_WIDTH);
        String line = String.format("%s [%s%s] %3d%% %s", label, "#".repeat(filled), " ".repeat(BAR_WIDTH - filled),
                Math.round(fraction * 100), detail);
        String padding = " ".repeat(Math.max(0, lastLength - line.length()));
        out.print("\r" + line + padding);
        out.flush();
        lastLength = line.length();
    }

    @Override
    public boolean isCancelled() {
        return Thread.currentThread().isInterrupted();
    }
}
