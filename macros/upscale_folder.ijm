// Upscales every image of a folder with FSSM Upscale and saves the results as TIFF.
//
// Headless, with Fiji (or ImageJ 1.x with the plugin in plugins/):
//   ImageJ-linux64 --headless -batch upscale_folder.ijm "input=/data/raw output=/data/big scale=2"
// Keys of the argument (values with spaces go in square brackets, as in run() options):
//   input    folder of images (required); sub-folders are not entered
//   output   folder for the results, created if missing (required); outputs are <name>-FSSMx<scale>.tif
//   scale    2, 3 or 4 (default 2)
//   tile, overlap, device, output_type, model: passed to FSSM Upscale (defaults 128, 16, auto, same, none)
// Stacks and hyperstacks are upscaled plane by plane and keep their layout and calibration.
// A file that ImageJ cannot open is listed in the Log window and skipped.

args = getArgument();
input = argumentValue(args, "input", "");
output = argumentValue(args, "output", "");
if (input == "" || output == "")
	exit("upscale_folder.ijm needs input=FOLDER and output=FOLDER, for example \"input=/data/raw output=/data/big scale=2\".");
input = withSeparator(input);
output = withSeparator(output);
if (!File.isDirectory(input))
	exit("Input folder not found: " + input);
File.makeDirectory(output);
if (!File.isDirectory(output))
	exit("Cannot create the output folder " + output);

scale = argumentValue(args, "scale", "2");
options = "scale=" + scale
	+ " tile=" + argumentValue(args, "tile", "128")
	+ " overlap=" + argumentValue(args, "overlap", "16")
	+ " device=" + argumentValue(args, "device", "auto")
	+ " output=" + argumentValue(args, "output_type", "same");
model = argumentValue(args, "model", "");
if (model != "")
	options = options + " model=[" + model + "]";

setBatchMode(true);
files = getFileList(input);
done = 0;
failed = 0;
for (i = 0; i < files.length; i++) {
	name = files[i];
	if (File.isDirectory(input + name) || !isImageName(name))
		continue;
	// open() aborts the macro on an unreadable file, so check it first.
	if (!canOpen(input + name)) {
		print("FSSM upscale_folder: cannot open " + input + name + "; skipped.");
		failed++;
		continue;
	}
	open(input + name);
	source = getImageID();
	run("FSSM Upscale", options);
	if (getImageID() == source) {
		print("FSSM upscale_folder: FSSM Upscale failed on " + name + "; see the Log window.");
		failed++;
	} else {
		saveAs("Tiff", output + getTitle());
		close();
		done++;
	}
	selectImage(source);
	close();
}
print("FSSM upscale_folder: " + done + " images upscaled into " + output + ", " + failed + " failed.");

// Returns the value of key in "key=value key2=[value with spaces]", or the default.
function argumentValue(args, key, fallback) {
	return call("ij.Macro.getValue", args, key, fallback);
}

function withSeparator(path) {
	if (endsWith(path, "/") || endsWith(path, File.separator))
		return path;
	return path + File.separator;
}

function isImageName(name) {
	lower = toLowerCase(name);
	if (matches(lower, ".*-fssmx[0-9]+\\.tif"))
		return false;
	return endsWith(lower, ".tif") || endsWith(lower, ".tiff") || endsWith(lower, ".png")
		|| endsWith(lower, ".jpg") || endsWith(lower, ".jpeg");
}

// Checks the file's header, so that a text file named .tif is skipped: open() would show it in
// the text editor, or abort the macro headless.
// NOTE: a file with a valid header but damaged pixel data still aborts the macro in open().
function canOpen(path) {
	format = call("ij.io.Opener.getFileFormat", path);
	if (format == "tif" || format == "png" || format == "jpg" || format == "gif" || format == "bmp")
		return true;
	return false;
}
