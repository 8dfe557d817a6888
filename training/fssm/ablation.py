"""Train the three scan modes with identical data, budget and seeds, then compare them.

    python3 -m fssm.ablation --iterations 20000 --out runs/ablation
    python3 -m fssm.ablation --iterations 2000 --embed-dim 30 --depths 2 2 --seeds 0 1 2 --out runs/ablation-small

Each (mode, seed) pair is one run in OUT/MODE-seedSEED with the settings of ``fssm.train``.
Only the scan mode differs between the runs of a seed, so they start from the same weights
and see the same batches. A run that stops at --max-minutes continues where it stopped when
the same command runs again, and finished runs are skipped. Every finished network is
evaluated on each set (Y-PSNR/SSIM, border = scale) and the comparison is written to
OUT/ablation.md and OUT/ablation.json. Each run keeps its results per set, so the same
command with one more --sets folder evaluates only that folder.
"""
import argparse
import json
import logging
import statistics
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Dict, List, Optional

import torch

from .evaluate import evaluate_module
from .ops.hold import SCAN_MODES
from .train import DEFAULT_VALIDATION_DIR, TrainConfig, Trainer, describe_hardware

log = logging.getLogger("fssm.ablation")

DEFAULT_SETS = [DEFAULT_VALIDATION_DIR.parent / name for name in ("Set5", "Set14", "B100")]


def run_dir(out: Path, mode: str, seed: int) -> Path:
    return out / f"{mode}-seed{seed}"


def train_run(config: TrainConfig, folder: Path, device: torch.device, seconds_left: float) -> Optional[Trainer]:
    """Train one run to its last iteration, resuming from folder/last.pt when it exists.

    Returns the trainer when the run has finished, or None when the time ran out first.
    """
    trainer = Trainer(config, folder, device)
    checkpoint = folder / "last.pt"
    if checkpoint.exists():
        _check_same_settings(checkpoint, config)
        trainer.load(checkpoint)
    if trainer.step < config.iterations:
        log.info("training %s from step %d of %d", folder.name, trainer.step, config.iterations)
        trainer.run(stop_after_seconds=seconds_left)
    return trainer if trainer.step >= config.iterations else None


def _check_same_settings(checkpoint: Path, config: TrainConfig) -> None:
    """Reject a checkpoint made with other settings, which would make the comparison unfair."""
    # The JSON round trip turns tuples into lists on both sides.
    saved = json.loads(json.dumps(torch.load(checkpoint, map_location="cpu")["train_config"]))
    requested = json.loads(json.dumps(asdict(config)))
    if saved != requested:
        differences = sorted(key for key in requested if saved.get(key) != requested[key])
        raise ValueError(f"{checkpoint} was trained with other settings ({', '.join(differences)}). "
                         f"Use a new --out folder or the settings of that run.")


def evaluate_run(trainer: Trainer, folder: Path, sets: List[Path]) -> List[Dict]:
    """Evaluate a finished run on every set and return the results in the order of ``sets``.

    folder/evaluation.json keeps one result per set, so a set that an earlier call measured
    is read back and only new sets are evaluated.
    """
    cache_path = folder / "evaluation.json"
    results_by_set = {}
    if cache_path.exists():
        results_by_set = {result["set"]: result for result in json.loads(cache_path.read_text())}

    new_sets = [hr_dir for hr_dir in sets if hr_dir.name not in results_by_set]
    for hr_dir in new_sets:
        log.info("evaluating %s on %s", folder.name, hr_dir.name)
        result = evaluate_module(trainer.network, hr_dir, trainer.config.scale, method=trainer.config.scan)
        results_by_set[hr_dir.name] = {key: result[key] for key in ("set", "scale", "method", "psnr", "ssim")}
    if new_sets:
        cache_path.write_text(json.dumps(list(results_by_set.values()), indent=2) + "\n")

    return [results_by_set[hr_dir.name] for hr_dir in sets]


def summarise(evaluations: Dict[str, Dict[int, List[Dict]]]) -> List[Dict]:
    """Return one row per mode and set: PSNR/SSIM averaged over seeds, with the PSNR spread."""
    rows = []
    for mode, by_seed in evaluations.items():
        per_set: Dict[str, List[Dict]] = {}
        for results in by_seed.values():
            for result in results:
                per_set.setdefault(result["set"], []).append(result)
        for set_name, results in per_set.items():
            psnrs = [result["psnr"] for result in results]
            rows.append({
                "mode": mode,
                "set": set_name,
                "seeds": len(results),
                "psnr": statistics.mean(psnrs),
                "psnr_sd": statistics.stdev(psnrs) if len(psnrs) > 1 else None,
                "ssim": statistics.mean(result["ssim"] for result in results),
                "psnr_per_seed": dict(zip(by_seed.keys(), psnrs)),
            })
    return rows


def paired_differences(rows: List[Dict], reference: str) -> List[Dict]:
    """Return, per other mode and set, its PSNR minus the reference mode's PSNR of the same seed.

    The runs of a seed share initial weights and batches, so the per-seed difference removes
    most of the seed-to-seed spread that the means in the main table carry.
    """
    by_key = {(row["mode"], row["set"]): row["psnr_per_seed"] for row in rows}
    differences = []
    for (mode, set_name), per_seed in by_key.items():
        if mode == reference:
            continue
        baseline = by_key[(reference, set_name)]
        per_seed_difference = {seed: per_seed[seed] - baseline[seed] for seed in per_seed}
        differences.append({"mode": mode, "set": set_name, "per_seed": per_seed_difference,
                            "mean": statistics.mean(per_seed_difference.values())})
    return differences


def format_report(rows: List[Dict], config: TrainConfig, seeds: List[int], hours: Dict[str, float],
                  hardware: str) -> str:
    """Format the comparison as Markdown: settings, a table of modes against sets, paired differences."""
    network = config.model_overrides or "MambaIR-light as published (embed_dim 60, depths 6 6 6 6)"
    lines = [
        "# Scan-mode ablation",
        "",
        f"- scale x{config.scale}, {config.iterations} iterations, batch {config.batch} of "
        f"{config.patch_lr}x{config.patch_lr} LR patches, learning rate {config.learning_rate:g}, "
        f"{config.milestones()} halving steps",
        f"- network: {network}",
        f"- seeds: {', '.join(str(seed) for seed in seeds)} (each seed starts every mode from the same weights)",
        f"- hardware: {hardware}; training hours per run: "
        + ", ".join(f"{name} {value:.2f}" for name, value in sorted(hours.items())),
        "",
        "Y-PSNR (dB) / SSIM, mean over seeds; the spread is the sample standard deviation of PSNR over seeds.",
        "",
    ]
    set_names = list(dict.fromkeys(row["set"] for row in rows))
    lines += _means_table(rows, set_names)

    reference = rows[0]["mode"]
    differences = paired_differences(rows, reference)
    if differences:
        lines += ["", f"PSNR (dB) of each mode minus {reference} trained with the same seed: mean, then per seed.", ""]
        lines += _differences_table(differences, set_names)
    return "\n".join(lines) + "\n"


def _means_table(rows: List[Dict], set_names: List[str]) -> List[str]:
    cells = {}
    for row in rows:
        spread = f" ± {row['psnr_sd']:.3f}" if row["psnr_sd"] is not None else ""
        cells[row["mode"], row["set"]] = f"{row['psnr']:.3f}{spread} / {row['ssim']:.4f}"
    return _markdown_table(cells, set_names)


def _differences_table(differences: List[Dict], set_names: List[str]) -> List[str]:
    cells = {}
    for difference in differences:
        per_seed = ", ".join(f"{value:+.4f}" for value in difference["per_seed"].values())
        cells[difference["mode"], difference["set"]] = f"{difference['mean']:+.4f} ({per_seed})"
    return _markdown_table(cells, set_names)


def _markdown_table(cells: Dict, set_names: List[str]) -> List[str]:
    """Lay out cells keyed by (mode, set) as a Markdown table, one row per mode in first-seen order."""
    lines = ["| mode | " + " | ".join(set_names) + " |", "|---|" + "---|" * len(set_names)]
    for mode in dict.fromkeys(mode for mode, _ in cells):
        lines.append(f"| {mode} | " + " | ".join(cells[mode, set_name] for set_name in set_names) + " |")
    return lines


def build_parser() -> argparse.ArgumentParser:
    defaults = TrainConfig()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=int, choices=(2, 3, 4), default=defaults.scale)
    parser.add_argument("--modes", nargs="+", choices=SCAN_MODES, default=["foh", "foh1", "zoh"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0], help="one run per mode for each seed")
    parser.add_argument("--iterations", type=int, required=True, help="training steps of every run")
    parser.add_argument("--batch", type=int, default=defaults.batch)
    parser.add_argument("--patch", type=int, default=defaults.patch_lr, help="low-resolution patch size in pixels")
    parser.add_argument("--embed-dim", type=int, help="channels of a reduced network (default: the published 60)")
    parser.add_argument("--depths", type=int, nargs="+", help="blocks per residual group of a reduced network "
                        "(default: the published 6 6 6 6)")
    parser.add_argument("--sets", type=Path, nargs="+", default=DEFAULT_SETS,
                        help="folders of high-resolution images to evaluate on (default: Set5, Set14, B100)")
    parser.add_argument("--train-dir", default=defaults.train_dir)
    parser.add_argument("--out", type=Path, required=True, help="folder for the runs and the report")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for torch")
    parser.add_argument("--max-minutes", type=float, help="stop cleanly after this many minutes of the whole "
                        "ablation; the same command continues it")
    return parser


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    overrides = {}
    if args.embed_dim is not None:
        overrides["embed_dim"] = args.embed_dim
    if args.depths is not None:
        overrides["depths"] = list(args.depths)
    # The ablation compares the last checkpoints, so validation during training is skipped.
    return TrainConfig(scale=args.scale, iterations=args.iterations, batch=args.batch, patch_lr=args.patch,
                       validate_every=0, train_dir=args.train_dir, model_overrides=overrides)


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    missing = [str(hr_dir) for hr_dir in args.sets if not hr_dir.is_dir()]
    if missing:
        raise SystemExit(f"evaluation folder not found: {', '.join(missing)}")

    base = config_from_args(args)
    deadline = time.perf_counter() + args.max_minutes * 60 if args.max_minutes is not None else float("inf")
    evaluations: Dict[str, Dict[int, List[Dict]]] = {mode: {} for mode in args.modes}
    hours: Dict[str, float] = {}
    for seed in args.seeds:
        for mode in args.modes:
            folder = run_dir(args.out, mode, seed)
            trainer = train_run(replace(base, scan=mode, seed=seed), folder, device, deadline - time.perf_counter())
            if trainer is None:
                log.info("time limit reached at %s. Run the same command again to continue.", folder.name)
                return 0
            evaluations[mode][seed] = evaluate_run(trainer, folder, args.sets)
            hours[folder.name] = trainer.seconds / 3600

    rows = summarise(evaluations)
    report = format_report(rows, base, args.seeds, hours, describe_hardware(device))
    (args.out / "ablation.md").write_text(report)
    (args.out / "ablation.json").write_text(json.dumps(rows, indent=2) + "\n")
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
