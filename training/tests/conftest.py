"""Shared pytest setup: import the package from this checkout and use two threads."""
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

TRAINING_DIR = Path(__file__).resolve().parents[1]
REPO_DIR = TRAINING_DIR.parent
DATA_DIR = REPO_DIR.parent / "shared" / "data"

if str(TRAINING_DIR) not in sys.path:
    sys.path.insert(0, str(TRAINING_DIR))

torch.set_num_threads(2)


@pytest.fixture()
def noise_set(tmp_path):
    """Return a function that makes a folder below tmp_path with one random 24 x 24 RGB image."""

    def make(name: str, seed: int = 0) -> Path:
        folder = tmp_path / name
        folder.mkdir()
        pixels = np.random.default_rng(seed).integers(0, 256, size=(24, 24, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / "noise.png")
        return folder

    return make
