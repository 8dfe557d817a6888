package org.fssm.upscale.engine;

import java.util.List;

/**
 * Summary of one run, for the log and the output image's Info property.
 *
 * @param model model name, for example {@code fssm-x2.pt (bundled)} or a file path
 * @param scale upscaling factor
 * @param scan scan mode from the model card, or {@code unknown}
 * @param device device the network ran on, for example {@code cpu()}
 * @param tileWidth tile width in input pixels after any out-of-memory retries
 * @param tileHeight tile height in input pixels after any out-of-memory retries
 * @param overlap overlap in input pixels
 * @param tiles number of tiles run over all planes
 * @param planes number of planes
 * @param millis wall time of the run
 * @param warnings user-facing warnings, for example a GPU request that fell back to the CPU
 */
public record RunReport(String model, int scale, String scan, String device, int tileWidth, int tileHeight,
        int overlap, long tiles, int planes, long millis, List<String> warnings) {

    /** Returns a one-line summary such as {@code model=fssm-x2.pt (bundled), scale=2, ...}. */
    public String summary() {
        return "model=" + model + ", scale=" + scale + ", scan=" + scan + ", device=" + device
                + ", tile=" + tileWidth + "x" + tileHeight + ", overlap=" + overlap
                + ", tiles=" + tiles + ", planes=" + planes + ", time=" + millis + " ms";
    }
}
