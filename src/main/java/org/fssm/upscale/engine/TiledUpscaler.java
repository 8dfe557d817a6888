package org.fssm.upscale.engine;

import net.imglib2.Cursor;
import net.imglib2.FinalInterval;
import net.imglib2.RandomAccess;
import net.imglib2.RandomAccessibleInterval;
import net.imglib2.type.numeric.RealType;
import net.imglib2.type.numeric.real.FloatType;
import net.imglib2.view.Views;

/**
 * Upscales one plane tile by tile. Every tile has the same shape; tiles that reach past the image
 * read mirror-padded pixels. The upscaled tiles are accumulated with blending weights straight into
 * the output, which is divided by the weight sum at the end, so no whole-image tensor is built.
 */
final class TiledUpscaler {

    private final LoadedModel model;
    private final int scale;
    private final int tileWidth;
    private final int tileHeight;
    private final int overlap;
    private final float[] input;
    private final float[] output;

    TiledUpscaler(LoadedModel model, int tileWidth, int tileHeight, int overlap) {
        this.model = model;
        this.scale = model.scale();
        this.tileWidth = tileWidth;
        this.tileHeight = tileHeight;
        this.overlap = overlap;
        this.input = new float[3 * tileWidth * tileHeight];
        this.output = new float[3 * tileWidth * scale * tileHeight * scale];
    }

    /** Returns the number of tiles for a plane of this size. */
    int tileCount(int width, int height) {
        return TileGrid.starts(width, tileWidth, overlap).length * TileGrid.starts(height, tileHeight, overlap).length;
    }

    /**
     * Upscales one plane into the job's outputs.
     *
     * @throws TileMemoryException if a tile does not fit in memory
     * @throws UpscaleCancelledException if the listener cancels between tiles
     */
    void upscale(PlaneJob job, int plane, int planeCount, ProgressListener listener) {
        TileGrid columns = new TileGrid(job.width(), tileWidth, overlap, scale);
        TileGrid rows = new TileGrid(job.height(), tileHeight, overlap, scale);
        int tileCount = columns.starts.length * rows.starts.length;
        for (RandomAccessibleInterval<FloatType> out : job.outputs()) {
            Views.iterable(out).forEach(FloatType::setZero);
        }
        int tile = 0;
        for (int row = 0; row < rows.starts.length; row++) {
            for (int column = 0; column < columns.starts.length; column++) {
                if (listener.isCancelled()) {
                    throw new UpscaleCancelledException();
                }
                readTile(job, columns.starts[column], rows.starts[row]);
                runTile();
                accumulateTile(job, columns, column, rows, row);
                listener.tileDone(plane, planeCount, tile++, tileCount);
            }
        }
        for (RandomAccessibleInterval<FloatType> out : job.outputs()) {
            divideByWeights(Views.zeroMin(out), columns.weightSum, rows.weightSum);
        }
    }

    /** Copies one tile of every colour into the input buffer, normalised; grey fills all three. */
    private void readTile(PlaneJob job, int x0, int y0) {
        int area = tileWidth * tileHeight;
        FinalInterval interval = FinalInterval.createMinSize(x0, y0, tileWidth, tileHeight);
        for (int colour = 0; colour < job.inputs().size(); colour++) {
            RandomAccessibleInterval<? extends RealType<?>> plane = Views.zeroMin(job.inputs().get(colour));
            Normalization normalization = job.normalizations().get(colour);
            Cursor<? extends RealType<?>> cursor =
                    Views.flatIterable(Views.interval(Views.extendMirrorSingle(plane), interval)).cursor();
            int offset = colour * area;
            for (int i = 0; i < area; i++) {
                double value = cursor.next().getRealDouble();
                if (!Double.isFinite(value)) {
                    throw Percentiles.nonFinite(value);
                }
                input[offset + i] = normalization.forward(value);
            }
        }
        if (job.isGrey()) {
            System.arraycopy(input, 0, input, area, area);
            System.arraycopy(input, 0, input, 2 * area, area);
        }
    }

    private void runTile() {
        try {
            model.run(input, 1, tileHeight, tileWidth, output);
        } catch (OutOfMemoryError e) {
            throw new TileMemoryException(e);
        } catch (UpscaleException e) {
            throw e;
        } catch (RuntimeException e) {
            if (TileMemoryException.isOutOfMemory(e)) {
                throw new TileMemoryException(e);
            }
            // A user's model may accept the probe's size but not this tile's (a stride it needs).
            throw new UpscaleException("The model " + model.source() + " failed on a tile of " + tileWidth + " × "
                    + tileHeight + " pixels (" + lastLine(e.getMessage()) + "). If the model needs particular input"
                    + " sizes, choose a tile size that it accepts.", e);
        }
    }

    /** Returns the last non-blank line: the error itself, after the TorchScript traceback that precedes it. */
    private static String lastLine(String message) {
        if (message == null) {
            return "no message";
        }
        String[] lines = message.strip().split("\\R");
        return lines[lines.length - 1].strip();
    }

    /** Adds the weighted, de-normalised tile output to the part of the plane it covers. */
    private void accumulateTile(PlaneJob job, TileGrid columns, int column, TileGrid rows, int row) {
        int outWidth = tileWidth * scale;
        int outHeight = tileHeight * scale;
        int area = outWidth * outHeight;
        int x0 = columns.starts[column] * scale;
        int y0 = rows.starts[row] * scale;
        int visibleWidth = Math.min(outWidth, columns.size * scale - x0);
        int visibleHeight = Math.min(outHeight, rows.size * scale - y0);
        float[] rampX = columns.ramp(column);
        float[] rampY = rows.ramp(row);
        for (int colour = 0; colour < job.outputs().size(); colour++) {
            Normalization normalization = job.normalizations().get(colour);
            RandomAccess<FloatType> access = Views.zeroMin(job.outputs().get(colour)).randomAccess();
            for (int v = 0; v < visibleHeight; v++) {
                access.setPosition(x0, 0);
                access.setPosition(y0 + v, 1);
                int rowOffset = v * outWidth;
                for (int u = 0; u < visibleWidth; u++) {
                    int index = rowOffset + u;
                    float value = job.isGrey()
                            ? (output[index] + output[area + index] + output[2 * area + index]) / 3
                            : output[colour * area + index];
                    FloatType pixel = access.get();
                    pixel.setReal(pixel.getRealFloat()
                            + rampX[u] * rampY[v] * (float) normalization.inverse(value));
                    access.fwd(0);
                }
            }
        }
    }

    private static void divideByWeights(RandomAccessibleInterval<FloatType> out, float[] weightX, float[] weightY) {
        Cursor<FloatType> cursor = Views.flatIterable(out).localizingCursor();
        while (cursor.hasNext()) {
            FloatType pixel = cursor.next();
            pixel.setReal(pixel.getRealFloat() / (weightX[cursor.getIntPosition(0)] * weightY[cursor.getIntPosition(1)]));
        }
    }
}
