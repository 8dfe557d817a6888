package org.fssm.upscale.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Checks tile positions and blending weights without running a model. */
class TileGridTest {

    @Test
    void singleTileWhenImageFits() {
        assertArrayEquals(new int[] {0}, TileGrid.starts(100, 128, 16));
        assertArrayEquals(new int[] {0}, TileGrid.starts(128, 128, 16));
    }

    @Test
    void tilesCoverImageWithOverlap() {
        for (int size : new int[] {129, 200, 256, 1000, 2048}) {
            int[] starts = TileGrid.starts(size, 128, 16);
            assertEquals(0, starts[0], "first start for size " + size);
            assertEquals(size - 128, starts[starts.length - 1], "last tile ends at the edge for size " + size);
            for (int i = 1; i < starts.length; i++) {
                assertTrue(starts[i - 1] + 128 - starts[i] >= 16, "overlap between tiles " + (i - 1) + " and " + i);
            }
        }
    }

    @Test
    void weightSumPositiveEverywhere() {
        TileGrid grid = new TileGrid(300, 64, 16, 3);
        for (int u = 0; u < grid.weightSum.length; u++) {
            assertTrue(grid.weightSum[u] > 0, "weight at output position " + u);
        }
    }

    @Test
    void tileSizeShrinksToImage() {
        assertEquals(24, TileGrid.tileSize(20, 128, 16));
        assertEquals(16, TileGrid.tileSize(5, 128, 16));
        assertEquals(128, TileGrid.tileSize(128, 128, 16));
    }

    @Test
    void longAxisTilesShrinkToCover() {
        assertEquals(96, TileGrid.tileSize(256, 128, 16));
        assertEquals(80, TileGrid.tileSize(129, 128, 16));
        assertEquals(128, TileGrid.tileSize(2048, 128, 16));
        for (int size = 129; size <= 3000; size++) {
            for (int overlap : new int[] {0, 8, 16, 40}) {
                int tile = TileGrid.tileSize(size, 128, overlap);
                int[] starts = TileGrid.starts(size, tile, overlap);
                String where = "size " + size + ", overlap " + overlap + ", tile " + tile;
                assertTrue(tile <= 128, "at most the requested side for " + where);
                assertEquals(0, tile % 8, "multiple of 8 for " + where);
                assertTrue(tile > 2 * overlap, "wider than both blend bands for " + where);
                assertEquals(TileGrid.starts(size, 128, overlap).length, starts.length, "tile count for " + where);
                assertEquals(size - tile, starts[starts.length - 1], "last tile ends at the edge for " + where);
                for (int i = 1; i < starts.length; i++) {
                    assertTrue(starts[i - 1] + tile - starts[i] >= overlap, "overlap for " + where);
                }
            }
        }
    }
}
