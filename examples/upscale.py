#@ ImagePlus image
#@ CommandService command
#@ String (label = "Scale", choices = {"2", "3", "4"}) scale
#@ File (label = "Model (optional TorchScript file)", required = false, style = "open") model
#@output ImagePlus result
#@output ImagePlus api_result

# FSSM Upscale from Fiji's script editor (language: Python (Jython)), two ways:
# 1. the command, with the same parameters as the dialog and the macro keys;
# 2. the Java API on an ImgLib2 image, for code that works without ImageJ 1.x.

from jarray import zeros

from ij import ImagePlus
from ij.process import FloatProcessor
from net.imglib2.img.array import ArrayImgs
from net.imglib2.view import Views
from org.fssm.upscale.command import FssmUpscaleCommand
from org.fssm.upscale.engine import Device
from org.fssm.upscale.engine import FssmUpscaler
from org.fssm.upscale.engine import UpscaleSettings

# 1. The command: upscales every plane, keeps the pixel type, LUTs and the hyperstack layout, and
#    divides the pixel size by the scale. Without a model file, the bundled model for the scale runs.
module = command.run(FssmUpscaleCommand, True,
                     "image", image,
                     "scale", scale,
                     "tile", 128,
                     "overlap", 16,
                     "low", 1.0,
                     "high", 99.8,
                     "device", "auto",
                     "output", "same",
                     "model", model).get()
result = module.getOutput("result")

# 2. The Java API on the current plane, as 32-bit float. A 16-bit plane is normalised with its
#    1st and 99.8th percentiles and the result is mapped back to the input's intensities.
plane = image.getProcessor().convertToFloatProcessor()
source = ArrayImgs.floats(plane.getPixels(), plane.getWidth(), plane.getHeight())
settings = UpscaleSettings.defaults(int(scale)).withTile(128, 16).withDevice(Device.AUTO)
settings = settings.withModel(model.toPath() if model is not None else None)
upscaled = FssmUpscaler.upscale(source, settings)

width = int(upscaled.dimension(0))
height = int(upscaled.dimension(1))
cursor = Views.flatIterable(upscaled).cursor()
pixels = zeros(width * height, "f")
for i in range(width * height):
    pixels[i] = cursor.next().get()
api_result = ImagePlus(image.getTitle() + " FSSM API", FloatProcessor(width, height, pixels))
