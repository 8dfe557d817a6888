package org.fssm.upscale.engine;

import java.util.LinkedHashMap;
import java.util.Map;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Session cache of loaded models keyed by model source and device, so that a model is read and
 * optimised once per Fiji session. A user file is keyed by its path and modification time, so an
 * edited file is loaded again.
 *
 * <p>NOTE: the earlier version of an edited file stays loaded, holding its native memory, until
 * {@link #clear()}. It is not closed on reload because a command running at the same time may still
 * be using it.
 */
public final class ModelCache {

    private static final Logger LOG = LoggerFactory.getLogger(ModelCache.class);
    private static final Map<String, LoadedModel> MODELS = new LinkedHashMap<>();

    private ModelCache() {
    }

    /** Returns the cached model for this source and device, loading it on first use. */
    public static synchronized LoadedModel get(ModelSource source, ai.djl.Device device) {
        String key = source.key() + "@" + source.version() + "@" + device;
        LoadedModel model = MODELS.get(key);
        if (model == null) {
            long start = System.nanoTime();
            model = LoadedModel.load(source, device);
            MODELS.put(key, model);
            LOG.debug("Model {} loaded in {} ms", source, (System.nanoTime() - start) / 1_000_000);
        }
        return model;
    }

    /** Closes and removes every cached model, releasing their native memory. */
    public static synchronized void clear() {
        for (LoadedModel model : MODELS.values()) {
            model.close();
        }
        MODELS.clear();
    }

    /** Returns the number of cached models. */
    public static synchronized int size() {
        return MODELS.size();
    }
}
