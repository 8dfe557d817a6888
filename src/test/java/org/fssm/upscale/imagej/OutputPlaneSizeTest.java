package org.fssm.upscale.imagej;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.fssm.upscale.engine.UpscaleException;
import org.junit.jupiter.api.Test;

/** Checks the limit of one ImageJ plane (2^31 - 1 pixels) on the upscaled size, without allocating it. */
class OutputPlaneSizeTest {

    @Test
    void planeAboveLimitRejected() {
        UpscaleException error = assertThrows(UpscaleException.class,
                () -> ImagePlusUpscaler.checkOutputPlaneSize(25000, 25000, 2));

        assertTrue(error.getMessage().contains("50000 × 50000 pixels per plane"), error.getMessage());
        assertTrue(error.getMessage().contains("Upscale a cropped region"), error.getMessage());
    }

    @Test
    void planeJustBelowLimitAccepted() {
        // 46,340² = 2,147,395,600 pixels, just below 2^31 - 1 = 2,147,483,647.
        assertDoesNotThrow(() -> ImagePlusUpscaler.checkOutputPlaneSize(23170, 23170, 2));
    }
}
