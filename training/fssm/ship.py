"""Ship a trained checkpoint: export it, measure it, and replace the bundled model if it is better.

    python3 -m fssm.ship runs/x4/best.pt ../../shared/data/benchmarks/Set5 ../../shared/data/benchmarks/Set14 \
        --not-measured "B100: not run"

The checkpoint is exported to TorchScript beside the bundled model and evaluated on every
set with bicubic as the baseline. The first set decides: the export is installed when its
PSNR there beats the one in the bundled model's card, or when no model is bundled for the
scale yet. Installing replaces training/checkpoints/fssm-xS.pt with the checkpoint and its
optimiser state, so that training can continue from it elsewhere, and replaces the bundled
.pt and .json with the new ones. Otherwise nothing is replaced, unless --force is given. A bundled model whose card has no
figure for the first set is not replaced either, because nothing shows that the new one is
better.
"""
import argparse
import json
import logging
import os
import shutil
import sys
from pathlib import Path
from typing import Dict, List, Optional

import torch

from .card import evaluation_section
from .evaluate import evaluate_models, format_table
from .export import export, network_from_state

log = logging.getLogger("fssm.ship")

TRAINING_DIR = Path(__file__).resolve().parents[1]
DEFAULT_MODELS_DIR = TRAINING_DIR.parent / "plugin-resources" / "models"
DEFAULT_CHECKPOINTS_DIR = TRAINING_DIR / "checkpoints"


def bundled_psnr(card_path: Path, set_name: str) -> Optional[float]:
    """Return the PSNR that the bundled model's card records on ``set_name``, or None."""
    if not card_path.exists():
        return None
    evaluation = json.loads(card_path.read_text()).get("evaluation") or {}
    for entry in evaluation.get("sets", []):
        if entry["set"] == set_name:
            return entry["psnr"]
    return None


def ship(checkpoint: Path, sets: List[Path], models_dir: Path, checkpoints_dir: Path,
         not_measured: Optional[str] = None, force: bool = False, workers: int = 1) -> bool:
    """Export and measure ``checkpoint``, then install it if it is better or forced. Return whether it was installed."""
    network, record = network_from_state(torch.load(checkpoint, map_location="cpu"))
    scale = network.config.scale

    name = f"fssm-x{scale}"
    candidate = models_dir / f"{name}.candidate.pt"
    card = export(network, candidate, record)
    try:
        results = evaluate_models(sets, scale, [candidate], workers=workers)
        print(format_table(results))
        card["name"] = name
        card["evaluation"] = evaluation_section(results, scale, not_measured)

        decisive = card["evaluation"]["sets"][0]
        previous = bundled_psnr(models_dir / f"{name}.json", decisive["set"])
        if not force and previous is None and (models_dir / f"{name}.pt").exists():
            log.error("%s: the bundled %s has no %s figure in its card to compare with, so nothing was replaced."
                      " Put a set that its card has first, or use --force.", checkpoint, name, decisive["set"])
            return False
        if not force and previous is not None and decisive["psnr"] <= previous:
            log.error("%s: %s PSNR %.3f dB is not above the bundled model's %.3f dB, so nothing was "
                      "replaced. Use --force to ship it anyway.", checkpoint, decisive["set"], decisive["psnr"], previous)
            return False
        # The checkpoint goes first: a failure there leaves the bundled model and its card unchanged.
        _replace_checkpoint(checkpoint, checkpoints_dir / f"{name}.pt")
        _install(candidate, card, models_dir / f"{name}.pt")
        log.info("shipped %s as %s (%s PSNR %.3f dB, bundled model before: %s)", checkpoint, name,
                 decisive["set"], decisive["psnr"], "none" if previous is None else f"{previous:.3f} dB")
        return True
    finally:
        candidate.unlink(missing_ok=True)
        candidate.with_suffix(".json").unlink(missing_ok=True)


def _replace_checkpoint(checkpoint: Path, target: Path) -> None:
    """Copy ``checkpoint`` onto ``target`` through a temporary file; nothing to do if they are one file."""
    if target.exists() and checkpoint.resolve() == target.resolve():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    shutil.copyfile(checkpoint, partial)
    os.replace(partial, target)


def _install(candidate: Path, card: dict, target: Path) -> None:
    """Move the candidate export onto ``target`` and its card beside it, each in one rename."""
    card_path = target.with_suffix(".json")
    partial_card = card_path.with_suffix(".partial")
    partial_card.write_text(json.dumps(card, indent=2) + "\n")
    os.replace(candidate, target)
    os.replace(partial_card, card_path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint", type=Path, help="training checkpoint (best.pt or last.pt of a run)")
    parser.add_argument("sets", type=Path, nargs="+", help="folders of HR images; the first one decides")
    parser.add_argument("--not-measured", help="sets left out of the card, and why")
    parser.add_argument("--force", action="store_true", help="ship even if the first set's PSNR is not better")
    parser.add_argument("--models-dir", type=Path, default=DEFAULT_MODELS_DIR)
    parser.add_argument("--checkpoints-dir", type=Path, default=DEFAULT_CHECKPOINTS_DIR)
    parser.add_argument("--threads", type=int, help="CPU threads for torch (default: torch's own default)")
    parser.add_argument("--workers", type=int, default=1,
                        help="CPU processes that evaluate the export, one thread each (default: 1, in this process)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    if args.threads is not None:
        torch.set_num_threads(args.threads)

    if args.workers < 1:
        log.error("--workers must be a positive integer, got %d", args.workers)
        return 2
    missing = [str(path) for path in [args.checkpoint, *args.sets] if not path.exists()]
    if missing:
        log.error("not found: %s", ", ".join(missing))
        return 2
    return 0 if ship(args.checkpoint, args.sets, args.models_dir, args.checkpoints_dir,
                     args.not_measured, args.force, args.workers) else 1


if __name__ == "__main__":
    sys.exit(main())
