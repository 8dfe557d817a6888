package org.fssm.upscale.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.util.Utils;

import org.junit.jupiter.api.Test;

/** Checks that loading the engine leaves DJL offline and without usage reporting. */
class EngineSettingsTest {

    @Test
    void engineLoadsOfflineWithoutReporting() {
        Engines.pytorch();
        assertEquals("true", System.getProperty("ai.djl.offline"), "ai.djl.offline");
        assertEquals("true", System.getProperty("OPT_OUT_TRACKING"), "OPT_OUT_TRACKING");
        assertTrue(Utils.isOfflineMode(), "DJL reports offline mode");
        assertEquals("cpu", ai.djl.engine.Engine.getEngine("PyTorch").defaultDevice().getDeviceType(),
                "default device");
    }
}
