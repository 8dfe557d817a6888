// Shows FSSM Upscale next to bicubic interpolation for the active image: bicubic on the left,
// FSSM on the right, in one new image titled "<title> bicubic | FSSM x<scale>".
//
// Run from Plugins > Macros > Run... with an image open, or with an argument such as
//   "scale=2 tile=128 model=[/path/to/own.pt]"
// Keys: scale (2, 3 or 4, default 2), tile, overlap, device, model, as in FSSM Upscale.
// The active image is not changed. Stacks are compared plane by plane.

args = getArgument();
scale = parseInt(argumentValue(args, "scale", "2"));
options = "scale=" + scale
	+ " tile=" + argumentValue(args, "tile", "128")
	+ " overlap=" + argumentValue(args, "overlap", "16")
	+ " device=" + argumentValue(args, "device", "auto")
	+ " output=same";
model = argumentValue(args, "model", "");
if (model != "")
	options = options + " model=[" + model + "]";

if (nImages == 0)
	exit("compare_bicubic.ijm needs an open image.");
if (bitDepth() == 24 && nSlices > 1)
	exit("compare_bicubic.ijm cannot combine RGB stacks; convert the stack to a hyperstack of channels first.");
setBatchMode(true);
source = getImageID();
title = getTitle();
width = getWidth();
height = getHeight();
getDimensions(w, h, channels, slices, frames);

run("Duplicate...", "title=[bicubic] duplicate");
// ImageJ's bicubic, with averaging off: it enlarges, so there is nothing to average.
run("Size...", "width=" + width * scale + " height=" + height * scale + " depth=" + slices
	+ " constrain interpolation=Bicubic");
bicubic = getTitle();

selectImage(source);
run("FSSM Upscale", options);
rename("FSSM");

run("Combine...", "stack1=[" + bicubic + "] stack2=[FSSM]");
rename(title + " bicubic | FSSM x" + scale);
setBatchMode("exit and display");

function argumentValue(args, key, fallback) {
	return call("ij.Macro.getValue", args, key, fallback);
}
