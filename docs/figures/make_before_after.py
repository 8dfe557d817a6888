"""Draw docs/figures/before-after.png: the example image, bicubic and FSSM x2, side by side.

    cd training && PYTHONPATH=. /usr/bin/python3 ../docs/figures/make_before_after.py \
        --model ../plugin-resources/models/fssm-x2.pt

It follows the plugin's path for a 16-bit grey image: the 1st and 99.8th percentiles map to
0 and 1, the grey plane goes through the RGB network as three equal channels, and the three
outputs are averaged. Bicubic is MATLAB-style bicubic on the same normalised plane, and the
input is shown enlarged with nearest-neighbour sampling.
"""
import argparse
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from fssm.imresize import upscale

HERE = Path(__file__).resolve().parent
SAMPLE = HERE.parents[1] / "examples" / "sample-cells.tif"
SCALE = 2
ZOOM = 3  # every panel is shown at ZOOM x its upscaled size, nearest-neighbour
GAP = 6


def normalise(plane: np.ndarray, low: float = 1.0, high: float = 99.8) -> np.ndarray:
    lo, hi = np.percentile(plane, [low, high])
    return (plane - lo) / max(hi - lo, 1e-12)


def fssm_upscale(model: torch.jit.ScriptModule, plane: np.ndarray) -> np.ndarray:
    x = torch.from_numpy(plane.astype(np.float32))[None, None].repeat(1, 3, 1, 1)
    with torch.no_grad():
        y = model(x)
    return y.mean(dim=1)[0].numpy()


def to_panel(plane: np.ndarray, size: int) -> Image.Image:
    levels = np.clip(plane, 0.0, 1.0) * 255.0
    image = Image.fromarray(np.round(levels).astype(np.uint8))
    return image.resize((size * ZOOM, size * ZOOM), Image.NEAREST)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="TorchScript x2 model")
    parser.add_argument("--out", type=Path, default=HERE / "before-after.png")
    args = parser.parse_args()
    torch.set_num_threads(2)

    plane = normalise(np.asarray(Image.open(SAMPLE), dtype=np.float64))
    size = plane.shape[0] * SCALE
    panels = [
        to_panel(np.kron(plane, np.ones((SCALE, SCALE))), size),
        to_panel(upscale(plane, SCALE), size),
        to_panel(fssm_upscale(torch.jit.load(str(args.model)), plane), size),
    ]

    width = sum(panel.width for panel in panels) + GAP * (len(panels) - 1)
    figure = Image.new("L", (width, panels[0].height), color=255)
    x = 0
    for panel in panels:
        figure.paste(panel, (x, 0))
        x += panel.width + GAP
    figure.save(args.out)
    print(f"wrote {args.out}: input (nearest) | bicubic | FSSM x{SCALE}")


if __name__ == "__main__":
    main()
