#@ ImagePlus image
#@ CommandService command
#@ String (label = "Scale", choices = {"2", "3", "4"}) scale
#@ File (label = "Model (optional TorchScript file)", required = false, style = "open") model
#@output ImagePlus result
#@output ImagePlus apiResult

// FSSM Upscale from Fiji's script editor (language: Groovy), two ways:
// 1. the command, with the same parameters as the dialog and the macro keys;
// 2. the Java API on an ImgLib2 image, for code that works without ImageJ 1.x.

import ij.ImagePlus
import ij.process.FloatProcessor
import net.imglib2.img.array.ArrayImgs
import net.imglib2.view.Views
import org.fssm.upscale.command.FssmUpscaleCommand
import org.fssm.upscale.engine.Device
import org.fssm.upscale.engine.FssmUpscaler
import org.fssm.upscale.engine.UpscaleSettings

// 1. The command: upscales every plane, keeps the pixel type, LUTs and the hyperstack layout, and
//    divides the pixel size by the scale. Without a model file, the bundled model for the scale runs.
def module = command.run(FssmUpscaleCommand, true,
        "image", image,
        "scale", scale,
        "tile", 128,
        "overlap", 16,
        "low", 1.0d,
        "high", 99.8d,
        "device", "auto",
        "output", "same",
        "model", model).get()
result = module.getOutput("result")

// 2. The Java API on the current plane, as 32-bit float. A 16-bit plane is normalised with its
//    1st and 99.8th percentiles and the result is mapped back to the input's intensities.
def plane = image.getProcessor().convertToFloatProcessor()
def input = ArrayImgs.floats((float[]) plane.getPixels(), plane.getWidth(), plane.getHeight())
def settings = UpscaleSettings.defaults(scale as int).withTile(128, 16).withDevice(Device.AUTO)
        .withModel(model == null ? null : model.toPath())
def upscaled = FssmUpscaler.upscale(input, settings)

def width = (int) upscaled.dimension(0)
def height = (int) upscaled.dimension(1)
def pixels = new float[width * height]
def cursor = Views.flatIterable(upscaled).cursor()
for (int i = 0; i < pixels.length; i++) {
    pixels[i] = cursor.next().get()
}
apiResult = new ImagePlus(image.getTitle() + " FSSM API", new FloatProcessor(width, height, pixels))
