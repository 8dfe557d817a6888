package org.fssm.upscale.engine;

import ai.djl.engine.Engine;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Loads DJL's PyTorch engine and turns a {@link Device} request into a DJL device. */
public final class Engines {

    static final String PYTORCH = "PyTorch";

    private static final Logger LOG = LoggerFactory.getLogger(Engines.class);

    private Engines() {
    }

    /** Returns the PyTorch engine, loading its natives on first use, with offline settings applied. */
    public static Engine pytorch() {
        EngineSettings.apply();
        try {
            return Engine.getEngine(PYTORCH);
        } catch (RuntimeException | LinkageError e) {
            throw new UpscaleException("The PyTorch engine could not be loaded (" + e.getMessage()
                    + "); install the plugin together with its DJL jars pytorch-engine, pytorch-jni and"
                    + " pytorch-native-cpu, and see the log for details.", e);
        }
    }

    /**
     * Chooses the device for a request. AUTO takes the first GPU the engine detects, else the CPU.
     * GPU without CUDA natives falls back to the CPU and adds a warning to {@code warnings}.
     */
    public static ai.djl.Device resolve(Device request, java.util.List<String> warnings) {
        Engine engine = pytorch();
        if (request == Device.CPU) {
            return ai.djl.Device.cpu();
        }
        if (engine.getGpuCount() > 0) {
            return ai.djl.Device.gpu(0);
        }
        if (request == Device.GPU) {
            String message = gpuUnavailableMessage();
            LOG.warn(message);
            warnings.add(message);
        }
        return ai.djl.Device.cpu();
    }

    /** Returns the one sentence a user sees when a GPU was requested but no CUDA natives loaded. */
    static String gpuUnavailableMessage() {
        if (EngineSettings.hasLibraryOverride()) {
            return "GPU requested, but the PyTorch engine found no CUDA device with the libtorch in"
                    + " PYTORCH_LIBRARY_PATH, so FSSM Upscale runs on the CPU; check that it is a CUDA 12.8 build of"
                    + " libtorch " + libtorchVersion() + " and that PYTORCH_FLAVOR=" + EngineSettings.CUDA_FLAVOR + ".";
        }
        return "GPU requested, but the PyTorch engine found no CUDA device (it runs the bundled CPU natives),"
                + " so FSSM Upscale runs on the CPU; to use a GPU, set PYTORCH_LIBRARY_PATH to a CUDA 12.8"
                + " build of libtorch " + libtorchVersion() + " with PYTORCH_FLAVOR=" + EngineSettings.CUDA_FLAVOR
                + ", or enable the '" + EngineSettings.CUDA_DOWNLOAD_KEY + "' setting and restart Fiji.";
    }

    /** Returns the libtorch version this build of DJL's PyTorch engine expects. */
    static String libtorchVersion() {
        return "2.7.1";
    }
}
