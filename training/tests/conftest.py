"""Shared pytest setup: import the package from this checkout and use two threads."""
import sys
from pathlib import Path

import torch

TRAINING_DIR = Path(__file__).resolve().parents[1]
REPO_DIR = TRAINING_DIR.parent
DATA_DIR = REPO_DIR.parent / "shared" / "data"

if str(TRAINING_DIR) not in sys.path:
    sys.path.insert(0, str(TRAINING_DIR))

torch.set_num_threads(2)
