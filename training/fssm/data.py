"""Random training patches of high-resolution (HR) images and their bicubic low-resolution (LR) versions.

Each training image is modcropped and downscaled once, as a whole, with the
same MATLAB-style bicubic kernel and 8-bit rounding as the benchmarks use.
Patches are then cut from the cached pair at aligned positions (LR offset
times the scale), so the LR patch near a patch edge carries the real image
context rather than padding. Random horizontal flips and 90-degree rotations
are applied identically to both patches.

Randomness is a pure function of ``(seed, step)``: :meth:`TrainingPatches.sample_batch`
draws batch ``step`` from its own generator. A resumed run therefore needs
only its step count to draw exactly the batches the interrupted run would have drawn.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple, Union

import numpy as np
import torch
from PIL import Image

from .evaluate import IMAGE_SUFFIXES, load_rgb
from .imresize import downscale, modcrop, to_uint8

logger = logging.getLogger(__name__)

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_TRAIN_DIR = REPOSITORY_ROOT.parent / "shared" / "data" / "train"

# Folder name of the evaluation sets; no image below such a folder may be trained on.
BENCHMARK_FOLDER_NAME = "benchmarks"


@dataclass(frozen=True)
class PatchSpec:
    """Source position and augmentation of one training patch.

    ``top`` and ``left`` are in LR pixels; the HR patch starts at ``scale``
    times that. ``rotations`` counts quarter turns counter-clockwise, applied
    after the optional horizontal flip.
    """

    image: int
    top: int
    left: int
    flip: bool
    rotations: int


def augment(image: np.ndarray, flip: bool, rotations: int) -> np.ndarray:
    """Flip (C, H, W) horizontally if asked, then rotate by ``rotations`` quarter turns."""
    if flip:
        image = image[..., ::-1]
    return np.rot90(image, k=rotations, axes=(-2, -1))


def find_training_images(root: Path) -> List[Path]:
    """Return the image files below ``root``, sorted, rejecting benchmark images.

    Raises ValueError when ``root`` or any image found is inside a folder
    named ``benchmarks``, because training on test images would make every
    benchmark figure meaningless.
    """
    root = Path(root).resolve()
    _reject_benchmark_path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"training image folder not found: {root}")

    images = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    for path in images:
        # Catches a root above the benchmarks folder and links into it.
        _reject_benchmark_path(path.resolve())
    if not images:
        raise ValueError(f"no images ({', '.join(IMAGE_SUFFIXES)}) found below {root}")
    return images


def _reject_benchmark_path(path: Path) -> None:
    if BENCHMARK_FOLDER_NAME in path.parts:
        raise ValueError(
            f"{path} is inside a '{BENCHMARK_FOLDER_NAME}' folder: benchmark images are for evaluation only, "
            "choose a training folder such as ../shared/data/train"
        )


class TrainingPatches:
    """Aligned LR/HR training patches drawn from a folder of HR images.

    ``patch_lr`` is the LR patch side; HR patches are ``patch_lr * scale``.
    Images whose modcropped size is below the HR patch are skipped. Image
    pairs are loaded and downscaled on first use and cached as uint8.
    """

    def __init__(self, scale: int, patch_lr: int, root: Union[Path, str, None] = None):
        if int(scale) != scale or scale < 1:
            raise ValueError(f"scale must be a positive integer, got {scale}")
        if int(patch_lr) != patch_lr or patch_lr < 1:
            raise ValueError(f"patch_lr must be a positive integer, got {patch_lr}")
        self.scale = int(scale)
        self.patch_lr = int(patch_lr)
        self.root = Path(root) if root is not None else DEFAULT_TRAIN_DIR

        patch_hr = self.patch_lr * self.scale
        candidates = find_training_images(self.root)
        sizes = [_modcropped_size(p, self.scale) for p in candidates]
        eligible = [i for i, size in enumerate(sizes) if min(size) >= patch_hr]
        self.paths = [candidates[i] for i in eligible]
        self._lr_sizes = [(sizes[i][0] // self.scale, sizes[i][1] // self.scale) for i in eligible]
        skipped = len(candidates) - len(self.paths)
        if not self.paths:
            raise ValueError(
                f"none of the {len(candidates)} images below {self.root} is at least {patch_hr}x{patch_hr} pixels, "
                "the HR patch size. Use a smaller patch_lr."
            )
        if skipped:
            logger.warning("skipped %d of %d training images smaller than the %dx%d HR patch", skipped, len(candidates), patch_hr, patch_hr)
        logger.info("training on %d images below %s, scale %d, LR patch %d", len(self.paths), self.root, self.scale, self.patch_lr)

        self._pairs: Dict[int, Tuple[np.ndarray, np.ndarray]] = {}

    def __len__(self) -> int:
        return len(self.paths)

    def pair(self, index: int) -> Tuple[np.ndarray, np.ndarray]:
        """Return the cached whole-image (LR, HR) pair as uint8 arrays (3, h, w) and (3, s*h, s*w)."""
        cached = self._pairs.get(index)
        if cached is None:
            started = time.perf_counter()
            hr = modcrop(load_rgb(self.paths[index]), self.scale)
            lr = to_uint8(downscale(hr, self.scale))
            cached = (lr, hr.astype(np.uint8))
            self._pairs[index] = cached
            logger.debug("cached %s in %.3f s", self.paths[index].name, time.perf_counter() - started)
        return cached

    def preload(self) -> None:
        """Load and downscale every image now instead of on first use."""
        started = time.perf_counter()
        for index in range(len(self.paths)):
            self.pair(index)
        logger.info("cached %d image pairs in %.1f s", len(self.paths), time.perf_counter() - started)

    def draw_specs(self, step: int, batch_size: int, seed: int) -> List[PatchSpec]:
        """Draw the patch positions and augmentations of batch ``step``, a pure function of its arguments."""
        if step < 0 or seed < 0:
            raise ValueError(f"step and seed must be non-negative, got step={step}, seed={seed}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        rng = np.random.default_rng([seed, step])

        specs = []
        for _ in range(batch_size):
            image = int(rng.integers(len(self.paths)))
            lr_height, lr_width = self._lr_sizes[image]
            top = int(rng.integers(lr_height - self.patch_lr + 1))
            left = int(rng.integers(lr_width - self.patch_lr + 1))
            flip = bool(rng.integers(2))
            rotations = int(rng.integers(4))
            specs.append(PatchSpec(image, top, left, flip, rotations))
        return specs

    def crop(self, spec: PatchSpec) -> Tuple[torch.Tensor, torch.Tensor]:
        """Cut and augment one patch pair into float32 tensors in [0, 1], LR (3, p, p) and HR (3, s*p, s*p)."""
        lr, hr = self.pair(spec.image)
        size = self.patch_lr
        lr_patch = lr[:, spec.top : spec.top + size, spec.left : spec.left + size]
        hr_top, hr_left, hr_size = spec.top * self.scale, spec.left * self.scale, size * self.scale
        hr_patch = hr[:, hr_top : hr_top + hr_size, hr_left : hr_left + hr_size]

        lr_patch = augment(lr_patch, spec.flip, spec.rotations)
        hr_patch = augment(hr_patch, spec.flip, spec.rotations)
        return _to_tensor(lr_patch), _to_tensor(hr_patch)

    def sample_batch(self, step: int, batch_size: int, seed: int) -> Tuple[torch.Tensor, torch.Tensor]:
        """Return batch ``step``: LR (B, 3, p, p) and HR (B, 3, s*p, s*p) float32 tensors in [0, 1].

        The same ``(seed, step, batch_size)`` and folder contents always give
        the same batch, so resuming at step k needs no saved generator state.
        NOTE: numpy keeps ``Generator`` streams stable within a version but does
        not promise it across versions, so resume with the same numpy.
        """
        pairs = [self.crop(spec) for spec in self.draw_specs(step, batch_size, seed)]
        lr = torch.stack([p[0] for p in pairs])
        hr = torch.stack([p[1] for p in pairs])
        return lr, hr

    def batches(self, batch_size: int, seed: int, start_step: int = 0) -> Iterator[Tuple[int, torch.Tensor, torch.Tensor]]:
        """Yield ``(step, lr, hr)`` for steps start_step, start_step + 1, ... without end."""
        step = start_step
        while True:
            lr, hr = self.sample_batch(step, batch_size, seed)
            yield step, lr, hr
            step += 1


def _modcropped_size(path: Path, scale: int) -> Tuple[int, int]:
    # Reads the header only, so listing a folder of training images stays fast.
    with Image.open(path) as image:
        width, height = image.size
    return height - height % scale, width - width % scale


def _to_tensor(patch: np.ndarray) -> torch.Tensor:
    # np.ascontiguousarray drops the negative strides that flips and rotations leave.
    return torch.from_numpy(np.ascontiguousarray(patch, dtype=np.float32) / 255.0)
