package org.fssm.upscale.engine;

import java.io.IOException;
import java.io.InputStream;
import java.util.Map;

import ai.djl.MalformedModelException;
import ai.djl.Model;
import ai.djl.engine.EngineException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A TorchScript model loaded on one device, with the scale measured from its output shape.
 * Instances live in {@link ModelCache} for the whole session; each call to {@link #run} allocates
 * its tensors in a sub-manager that is closed before it returns, on success or failure.
 */
public final class LoadedModel implements AutoCloseable {

    /** Side of the square input used to measure the scale; any size of at least 1 works. */
    private static final int PROBE_SIZE = 8;

    private static final Logger LOG = LoggerFactory.getLogger(LoadedModel.class);

    private final ModelSource source;
    private final ModelCard card;
    private final ai.djl.Device device;
    private final Model model;
    private final int scale;

    private LoadedModel(ModelSource source, ModelCard card, ai.djl.Device device, Model model, int scale) {
        this.source = source;
        this.card = card;
        this.device = device;
        this.model = model;
        this.scale = scale;
    }

    /** Loads the model and measures its scale; closes everything it opened if that fails. */
    static LoadedModel load(ModelSource source, ai.djl.Device device) {
        ModelCard card;
        try {
            card = source.readCard();
        } catch (IOException e) {
            LOG.warn("Ignoring the unreadable model card of {}", source, e);
            card = ModelCard.NONE;
        }
        Model model = Model.newInstance(source.name(), device, Engines.PYTORCH);
        try (InputStream stream = source.openModel()) {
            model.load(stream, Map.of("mapLocation", "true"));
            int scale = probeScale(model, source);
            LOG.debug("Loaded {} on {} (scale {}, scan {})", source, device, scale, card.scan());
            return new LoadedModel(source, card, device, model, scale);
        } catch (IOException | MalformedModelException | EngineException e) {
            model.close();
            throw new UpscaleException("The model " + source + " is not a valid TorchScript file ("
                    + firstLine(e) + "); export it again or choose another model.", e);
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
    }

    /** Runs the network on a (1, 3, h, w) input and checks that the output is (1, 3, s·h, s·w). */
    private static int probeScale(Model model, ModelSource source) {
        float[] input = new float[3 * PROBE_SIZE * PROBE_SIZE];
        java.util.Arrays.fill(input, 0.5f);
        Shape shape;
        try (NDManager manager = model.getNDManager().newSubManager()) {
            NDList output = forward(model, manager, manager.create(input, new Shape(1, 3, PROBE_SIZE, PROBE_SIZE)));
            shape = output.head().getShape();
        }
        boolean valid = shape.dimension() == 4 && shape.get(0) == 1 && shape.get(1) == 3
                && shape.get(2) == shape.get(3) && shape.get(2) % PROBE_SIZE == 0 && shape.get(2) >= PROBE_SIZE;
        if (!valid) {
            throw new UpscaleException("The model " + source + " returns a tensor of shape " + shape
                    + " for an input of shape (1, 3, 8, 8); an FSSM model must return (1, 3, 8·s, 8·s).");
        }
        return (int) (shape.get(2) / PROBE_SIZE);
    }

    private static NDList forward(Model model, NDManager manager, NDArray input) {
        return model.getBlock().forward(new ParameterStore(manager, false), new NDList(input), false);
    }

    /**
     * Runs the network on one batch of tiles. Calls are serialised, so concurrent commands can
     * share one cached model.
     *
     * @param input float32 values in (N, 3, h, w) order, RGB in [0, 1]
     * @param output receives the (N, 3, s·h, s·w) result; must have that many elements
     */
    public synchronized void run(float[] input, int batch, int height, int width, float[] output) {
        try (NDManager manager = model.getNDManager().newSubManager()) {
            NDArray tensor = manager.create(input, new Shape(batch, 3, height, width));
            NDArray result = forward(model, manager, tensor).head();
            if (result.getDataType() != DataType.FLOAT32) {
                result = result.toType(DataType.FLOAT32, false);
            }
            long expected = (long) batch * 3 * height * scale * width * scale;
            if (result.size() != expected || output.length < expected) {
                throw new UpscaleException("The model " + source + " returned shape " + result.getShape()
                        + " for a tile of " + width + " × " + height + " pixels; expected "
                        + width * scale + " × " + height * scale + ".");
            }
            result.toByteBuffer().order(java.nio.ByteOrder.nativeOrder()).asFloatBuffer().get(output, 0, (int) expected);
        }
    }

    public ModelSource source() {
        return source;
    }

    public ModelCard card() {
        return card;
    }

    public ai.djl.Device device() {
        return device;
    }

    /** Returns the upscaling factor measured from the output shape. */
    public int scale() {
        return scale;
    }

    @Override
    public void close() {
        model.close();
    }

    private static String firstLine(Throwable error) {
        String message = error.getMessage() == null ? error.getClass().getSimpleName() : error.getMessage();
        int newline = message.indexOf('\n');
        return newline < 0 ? message : message.substring(0, newline);
    }
}
