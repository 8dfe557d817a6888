package org.fssm.upscale.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Checks each bundled scale: a model packaged from plugin-resources/models loads with the scale its
 * name and card state, and a scale without one gets the error that names the missing file.
 */
class BundledModelsTest {

    @ParameterizedTest
    @ValueSource(ints = {2, 3, 4})
    void bundledModelLoadsOrIsNamedMissing(int scale) {
        String resource = "models/fssm-x" + scale + ".pt";
        UpscaleSettings settings = UpscaleSettings.defaults(scale).withDevice(Device.CPU);
        if (getClass().getClassLoader().getResource(resource) == null) {
            UpscaleException error = assertThrows(UpscaleException.class, () -> FssmUpscaler.create(settings));
            assertTrue(error.getMessage().startsWith("No ×" + scale + " model is bundled"), error.getMessage());
            assertTrue(error.getMessage().contains(resource), error.getMessage());
            return;
        }
        LoadedModel model = FssmUpscaler.create(settings).model();
        assertEquals(scale, model.scale(), "measured scale");
        assertEquals(scale, model.card().scale(), "card scale");
        assertTrue(model.source().isBundled(), "bundled source");
    }
}
