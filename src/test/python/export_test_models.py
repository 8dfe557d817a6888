"""Export the TorchScript models that the Java tests run.

Runs the training package's exporter (``python -m fssm.export``) for an untrained, seeded FSSM
network at scales 2 (with golden input/output) and 3 (for the wrong-scale test). While the
exporter is missing from the training package, writes a small convolution + pixel-shuffle
stand-in with the same files and card fields instead, and logs a warning.

Also writes two x2 convolution models whose allocation fails on large tiles
(``allocation-fails-above-4096px-x2.pt``) or on every tile (``allocation-fails-above-64px-x2.pt``), so
that the plugin's retry with smaller tiles meets a real libtorch allocation failure.

Exports are skipped when they are newer than every source file of the training package.
"""

import argparse
import json
import logging
import pathlib
import subprocess
import sys

LOG = logging.getLogger("export_test_models")
SCALES = (2, 3)
GOLDEN_SCALE = 2
GOLDEN_SIZE = 12


def newest_source(training: pathlib.Path) -> float:
    return max(p.stat().st_mtime for p in training.rglob("*.py"))


def have_models(out: pathlib.Path) -> bool:
    files = [out / f"fssm-x{s}.pt" for s in SCALES] + [out / f"fssm-x{GOLDEN_SCALE}-golden-output.f32"]
    return all(f.exists() for f in files)


def up_to_date(out: pathlib.Path, training: pathlib.Path) -> bool:
    files = [out / f"fssm-x{s}.pt" for s in SCALES] + [out / f"fssm-x{GOLDEN_SCALE}-golden-output.f32"]
    return all(f.exists() for f in files) and min(f.stat().st_mtime for f in files) > newest_source(training)


def export_fssm(training: pathlib.Path, out: pathlib.Path, python: str) -> None:
    for scale in SCALES:
        command = [python, "-m", "fssm.export", "--scale", str(scale), "--scan", "foh", "--untrained",
                   "--seed", "0", "--out", str(out / f"fssm-x{scale}.pt")]
        if scale == GOLDEN_SCALE:
            command.append("--golden")
        LOG.info("running %s", " ".join(command))
        subprocess.run(command, cwd=training, check=True)


def export_stand_in(out: pathlib.Path) -> None:
    """Write convolution + pixel-shuffle models in the FSSM export's file layout."""
    import torch

    torch.set_num_threads(2)

    class StandIn(torch.nn.Module):
        def __init__(self, scale: int):
            super().__init__()
            self.body = torch.nn.Sequential(
                torch.nn.Conv2d(3, 16, 3, padding=1), torch.nn.GELU(),
                torch.nn.Conv2d(16, 3 * scale * scale, 3, padding=1))
            self.shuffle = torch.nn.PixelShuffle(scale)

        def forward(self, x):
            return self.shuffle(self.body(x))

    for scale in SCALES:
        torch.manual_seed(0)
        model = StandIn(scale).eval()
        torch.jit.script(model).save(str(out / f"fssm-x{scale}.pt"))
        card = {"scale": scale, "scan": "none", "stand_in": True}
        if scale == GOLDEN_SCALE:
            generator = torch.Generator().manual_seed(1)
            x = torch.rand(1, 3, GOLDEN_SIZE, GOLDEN_SIZE + 4, generator=generator)
            with torch.no_grad():
                y = model(x)
            x.numpy().astype("<f4").tofile(out / f"fssm-x{scale}-golden-input.f32")
            y.numpy().astype("<f4").tofile(out / f"fssm-x{scale}-golden-output.f32")
            card["golden"] = {"input_shape": list(x.shape), "output_shape": list(y.shape)}
        (out / f"fssm-x{scale}.json").write_text(json.dumps(card, indent=2))


# Tile sizes, in pixels, above which the allocation-failure models fail. 64 pixels fail every
# tile the plugin makes (at least 16 x 16) but not the 8 x 8 input that measures the scale.
ALLOCATION_LIMITS = {"above-4096px": 4096, "above-64px": 64}


def allocation_failure_files(out: pathlib.Path) -> list:
    return [out / f"allocation-fails-{name}-x2.pt" for name in ALLOCATION_LIMITS]


def export_allocation_failure_models(out: pathlib.Path) -> None:
    """Write x2 models that request an impossible buffer when a tile has more than a set number of pixels."""
    import torch

    class FailsAboveSize(torch.nn.Module):
        def __init__(self, max_pixels: int):
            super().__init__()
            self.max_pixels = max_pixels
            self.conv = torch.nn.Conv2d(3, 12, 3, padding=1)
            self.shuffle = torch.nn.PixelShuffle(2)

        def forward(self, x):
            y = self.shuffle(self.conv(x))
            if x.size(2) * x.size(3) > self.max_pixels:
                # 2^60 floats (4 EiB) exceed the user address space of x86-64 Linux, even with
                # 5-level paging (57 bits), so the allocation fails whatever the overcommit
                # setting. Using the buffer keeps TorchScript from removing it as dead code.
                impossible = torch.empty([1 << 60], dtype=torch.float32)
                y = y + impossible[0]
            return y

    for (name, max_pixels), path in zip(ALLOCATION_LIMITS.items(), allocation_failure_files(out)):
        torch.manual_seed(0)
        torch.jit.script(FailsAboveSize(max_pixels).eval()).save(str(path))
        LOG.info("wrote %s (allocation fails above %d pixels per tile)", path, max_pixels)


def size_error_file(out: pathlib.Path) -> pathlib.Path:
    return out / "size-error-above-8px-x2.pt"


def export_size_error_model(out: pathlib.Path) -> None:
    """Write an x2 model that raises an ordinary error for any input larger than the 8 x 8 scale probe."""
    import torch

    class FailsAboveProbe(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 12, 3, padding=1)
            self.shuffle = torch.nn.PixelShuffle(2)

        def forward(self, x):
            if x.size(2) > 8 or x.size(3) > 8:
                raise RuntimeError("this test model accepts only 8 x 8 inputs")
            return self.shuffle(self.conv(x))

    torch.manual_seed(0)
    torch.jit.script(FailsAboveProbe().eval()).save(str(size_error_file(out)))
    LOG.info("wrote %s (raises an error above 8 x 8 pixels)", size_error_file(out))


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--training", type=pathlib.Path, required=True, help="training package folder")
    parser.add_argument("--out", type=pathlib.Path, required=True, help="folder for the exported models")
    args = parser.parse_args()
    args.out = args.out.resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    if not all(path.exists() for path in allocation_failure_files(args.out)):
        export_allocation_failure_models(args.out)
    if not size_error_file(args.out).exists():
        export_size_error_model(args.out)
    if up_to_date(args.out, args.training):
        LOG.info("test models in %s are up to date", args.out)
        return 0
    if (args.training / "fssm" / "export.py").exists():
        try:
            export_fssm(args.training, args.out, sys.executable)
        except subprocess.CalledProcessError:
            if not have_models(args.out):
                raise
            # A half-edited training package should not block Java work on a machine that
            # already has models; a fresh checkout (CI) has none and fails here.
            LOG.warning("export failed; keeping the models already in %s", args.out)
    else:
        LOG.warning("fssm/export.py is missing from %s; writing stand-in convolution models", args.training)
        export_stand_in(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
