package org.fssm.upscale.engine;

import java.util.List;

import net.imglib2.RandomAccessibleInterval;
import net.imglib2.type.numeric.RealType;
import net.imglib2.type.numeric.real.FloatType;

/**
 * One XY plane to upscale: a grey plane (one input, one output) or an RGB plane (three colours
 * that go through the network together). Each colour has its own normalisation; outputs receive
 * values on the input's intensity scale.
 */
public record PlaneJob(
        List<RandomAccessibleInterval<? extends RealType<?>>> inputs,
        List<Normalization> normalizations,
        List<RandomAccessibleInterval<FloatType>> outputs) {

    public PlaneJob {
        if (inputs.size() != 1 && inputs.size() != 3) {
            throw new IllegalArgumentException("A plane has 1 (grey) or 3 (RGB) colours, not " + inputs.size());
        }
        if (normalizations.size() != inputs.size() || outputs.size() != inputs.size()) {
            throw new IllegalArgumentException("Need one normalisation and one output per input colour");
        }
        for (RandomAccessibleInterval<?> input : inputs) {
            if (input.numDimensions() != 2) {
                throw new IllegalArgumentException("A plane must be 2-D, not " + input.numDimensions() + "-D");
            }
        }
    }

    /** Creates a grey plane job. */
    public static PlaneJob grey(RandomAccessibleInterval<? extends RealType<?>> input, Normalization normalization,
            RandomAccessibleInterval<FloatType> output) {
        return new PlaneJob(List.of(input), List.of(normalization), List.of(output));
    }

    public boolean isGrey() {
        return inputs.size() == 1;
    }

    public int width() {
        return (int) inputs.get(0).dimension(0);
    }

    public int height() {
        return (int) inputs.get(0).dimension(1);
    }
}
