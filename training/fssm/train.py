"""Train MambaIR-light with the FSSM scan on the 291-image set.

    python3 -m fssm.train --scale 2 --iterations 20000 --out runs/x2
    python3 -m fssm.train --scale 2 --iterations 40000 --out runs/x2 --resume runs/x2/last.pt
    python3 -m fssm.train --resume runs/x2/last.pt --out runs/x2    # same settings, same schedule
    python3 -m fssm.train --resume runs/x2/last.pt --train-dir /data/train --validate-every 250 --out runs/x2
    python3 -m fssm.train --scale 4 --init-from runs/x2/best.pt --out runs/x4
    python3 -m fssm.train --scale 2 --batch 32 --patch 64 --init-from runs/x2/best.pt --out runs/x2-gpu

The recipe is MambaIR-light's (Adam 2e-4, betas 0.9/0.99, L1 loss, learning rate halved at
50%, 80%, 90% and 95% of the run) with the schedule scaled to the iterations you can
afford. A resumed run may be given another number of iterations. Its schedule is then
recomputed for the new length, learning rate included, as if the run had been planned
that long from the start. Batch k is drawn from a generator seeded with (seed, k), and
stochastic depth is seeded the same way, so a run resumed from a checkpoint continues exactly as if it had
never stopped.
"""
import argparse
import json
import logging
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional, Tuple

import torch
import torch.nn.functional as F

from .data import TrainingPatches
from .evaluate import evaluate_module
from .model import FSSMConfig, MambaIRLight

log = logging.getLogger("fssm.train")

REPO_DIR = Path(__file__).resolve().parents[2]
DEFAULT_TRAIN_DIR = REPO_DIR.parent / "shared" / "data" / "train"
DEFAULT_VALIDATION_DIR = REPO_DIR.parent / "shared" / "data" / "benchmarks" / "Set5"

# Fractions of the run at which the learning rate halves: MambaIR-light's 250k, 400k,
# 450k and 475k of 500k iterations.
DECAY_FRACTIONS = (0.5, 0.8, 0.9, 0.95)


@dataclass
class TrainConfig:
    """Everything that defines a run; saved in every checkpoint."""

    scale: int = 2
    scan: str = "foh"
    iterations: int = 20000
    batch: int = 8
    patch_lr: int = 48
    learning_rate: float = 2e-4
    betas: Tuple[float, float] = (0.9, 0.99)
    seed: int = 0
    log_every: int = 20
    validate_every: int = 1000
    checkpoint_every: int = 200
    train_dir: str = str(DEFAULT_TRAIN_DIR)
    validation_dir: str = str(DEFAULT_VALIDATION_DIR)
    init_from: Optional[str] = None
    model_overrides: dict = field(default_factory=dict)

    def milestones(self):
        return [int(fraction * self.iterations) for fraction in DECAY_FRACTIONS]


class Trainer:
    """One training run: network, optimiser, schedule, data and bookkeeping."""

    def __init__(self, config: TrainConfig, out_dir: Path, device: torch.device):
        self.config = config
        self.out_dir = out_dir
        self.device = device
        model_config = FSSMConfig(scale=config.scale, scan=config.scan, **config.model_overrides)
        torch.manual_seed(config.seed)
        self.network = MambaIRLight(model_config).to(device)
        self.optimizer = torch.optim.Adam(self.network.parameters(), lr=config.learning_rate, betas=config.betas)
        self.scheduler = torch.optim.lr_scheduler.MultiStepLR(self.optimizer, config.milestones(), gamma=0.5)
        self.data = TrainingPatches(config.scale, config.patch_lr, root=Path(config.train_dir))
        self.step = 0
        self.seconds = 0.0
        self.best_psnr = float("-inf")
        self.history = []
        # The starting checkpoint with its network's scale and step, because a newer
        # checkpoint may later replace the file at that path.
        self.initialised_from = config.init_from
        self.replans = []  # how the schedule changed on resumes, for the model card

    # -- checkpoints -------------------------------------------------------------------

    def state(self) -> dict:
        return {
            "config": self.network.config.to_dict(),
            "train_config": asdict(self.config),
            "model": self.network.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "step": self.step,
            "seconds": self.seconds,
            "best_psnr": self.best_psnr,
            "history": self.history,
            "replans": self.replans,
            "record": self.record(),
        }

    def record(self) -> dict:
        """Provenance for the model card."""
        return {
            "data": "291 images (T91 + BSD200), MATLAB-style bicubic LR",
            "iterations": self.step,
            "batch": self.config.batch,
            "patch_lr": self.config.patch_lr,
            "patch_hr": self.config.patch_lr * self.config.scale,
            "learning_rate": self.config.learning_rate,
            "schedule": self.describe_schedule(),
            "seed": self.config.seed,
            "hardware": describe_hardware(self.device),
            "hours": round(self.seconds / 3600, 3),
            "initialised_from": self.initialised_from,
            "validation": self.history[-1] if self.history else None,
        }

    def describe_schedule(self) -> str:
        """Return the learning-rate schedule for the model card, with every replan of the run."""
        schedule = f"halved at {self.config.milestones()} of {self.config.iterations}"
        if self.replans:
            schedule += f" ({', '.join(self.replans)})"
        return schedule

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        torch.save(self.state(), partial)
        os.replace(partial, path)  # never leave a half-written checkpoint behind

    def load(self, path: Path) -> None:
        state = torch.load(path, map_location=self.device)
        self.network.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.step = state["step"]
        self.seconds = state["seconds"]
        self.best_psnr = state["best_psnr"]
        self.history = state["history"]
        self.initialised_from = state["record"]["initialised_from"]
        self.replans = state.get("replans", [])  # absent from checkpoints older than replanning
        log.info("resumed from %s at step %d", path, self.step)

    def reschedule(self, iterations: int) -> None:
        """Give a resumed run a new length: new milestones, and the learning rate that they imply now."""
        if iterations < self.step:
            raise ValueError(f"invalid --iterations {iterations}: the checkpoint has already reached step"
                             f" {self.step}. Give {self.step} or more.")
        old_iterations, old_lr = self.config.iterations, self.optimizer.param_groups[0]["lr"]
        self.config.iterations = iterations
        milestones = self.config.milestones()
        self.scheduler.milestones = type(self.scheduler.milestones)(milestones)

        halvings = sum(1 for milestone in milestones if milestone <= self.step)
        for group, base_lr in zip(self.optimizer.param_groups, self.scheduler.base_lrs):
            group["lr"] = base_lr * self.scheduler.gamma ** halvings
        self.replans.append(f"replanned at step {self.step} from {old_iterations} iterations,"
                            f" learning rate {old_lr:.2e} to {self.optimizer.param_groups[0]['lr']:.2e}")
        log.info("schedule: %d iterations, learning rate halved at %s, now %.2e at step %d",
                 iterations, milestones, self.optimizer.param_groups[0]["lr"], self.step)

    def initialise_from(self, path: Path) -> None:
        """Copy the weights of another network: all of them at the same scale, else all but the upsampler.

        x3 and x4 start from x2 this way. At the same scale it starts a run with new settings
        (batch, patch size, schedule) from trained weights, with a fresh optimiser.
        """
        state = torch.load(path, map_location=self.device)
        weights = state["model"]
        self.initialised_from = f"{path} (x{state['config']['scale']} network at step {state['step']})"
        if state["config"]["scale"] == self.config.scale:
            self.network.load_state_dict(weights)
            log.info("initialised every layer from %s", path)
            return
        body = {name: value for name, value in weights.items() if not name.startswith("upsample.")}
        missing, unexpected = self.network.load_state_dict(body, strict=False)
        if unexpected or any(not name.startswith("upsample.") for name in missing):
            raise ValueError(f"{path} does not fit this network: missing {missing}, unexpected {unexpected}")
        log.info("initialised every layer but the upsampler from %s", path)

    # -- training ----------------------------------------------------------------------

    def train_step(self) -> float:
        lr, hr = self.data.sample_batch(self.step, self.config.batch, self.config.seed)
        lr, hr = lr.to(self.device), hr.to(self.device)
        # Stochastic depth draws from the global generator: seed it per step for exact resumes.
        torch.manual_seed(self.config.seed * 1_000_003 + self.step)

        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.device.type == "cuda"):
            sr = self.network(lr)
        loss = F.l1_loss(sr.float(), hr)

        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.scheduler.step()
        self.step += 1
        return loss.item()

    def validate(self) -> float:
        result = evaluate_module(self.network, Path(self.config.validation_dir), self.config.scale)
        entry = {"step": self.step, "set": result["set"], "psnr": round(result["psnr"], 4),
                 "ssim": round(result["ssim"], 5)}
        self.history.append(entry)
        log.info("validation at step %d: %s PSNR %.3f dB, SSIM %.4f", self.step, entry["set"], entry["psnr"], entry["ssim"])
        return result["psnr"]

    def run(self, stop_after_seconds: Optional[float] = None) -> None:
        """Train until the configured iterations, or until the time limit, checkpointing on the way."""
        self.network.train()
        started = time.perf_counter()
        window_loss, window_steps, window_start = 0.0, 0, time.perf_counter()

        while self.step < self.config.iterations:
            step_start = time.perf_counter()
            window_loss += self.train_step()
            window_steps += 1
            self.seconds += time.perf_counter() - step_start

            if self.step % self.config.log_every == 0:
                rate = window_steps / (time.perf_counter() - window_start)
                remaining = (self.config.iterations - self.step) / rate
                log.info("step %d/%d  loss %.4f  %.2f steps/s  lr %.2e  ETA %s", self.step, self.config.iterations,
                         window_loss / window_steps, rate, self.scheduler.get_last_lr()[0], _format_duration(remaining))
                window_loss, window_steps, window_start = 0.0, 0, time.perf_counter()

            out_of_time = stop_after_seconds is not None and time.perf_counter() - started > stop_after_seconds
            finished = self.step == self.config.iterations
            validating = self.config.validate_every > 0 and (
                self.step % self.config.validate_every == 0 or finished or out_of_time)
            if validating:
                psnr = self.validate()
                self.network.train()
                if psnr > self.best_psnr:
                    self.best_psnr = psnr
                    self.save(self.out_dir / "best.pt")
            if self.step % self.config.checkpoint_every == 0 or finished or out_of_time:
                self.save(self.out_dir / "last.pt")
            if out_of_time:
                log.info("time limit reached at step %d; resume with --resume %s", self.step, self.out_dir / "last.pt")
                return


def describe_hardware(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU {platform.machine()}, {torch.get_num_threads()} threads"


def _format_duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


# Settings that define a run's network and batches: a resumed run keeps its checkpoint's.
RUN_DEFINING = ("scale", "scan", "batch", "patch_lr", "seed", "init_from")
# Settings a resumed run may change: how often it reports, and where it finds its images
# (the same images, perhaps at another path on another machine).
CHANGEABLE_ON_RESUME = ("log_every", "validate_every", "checkpoint_every", "train_dir", "validation_dir")


def option_dest(field_name: str) -> str:
    """Return the argparse destination of a TrainConfig field."""
    return {"patch_lr": "patch"}.get(field_name, field_name)


def option_name(field_name: str) -> str:
    return "--" + option_dest(field_name).replace("_", "-")


def positive_int(text: str) -> int:
    """Parse a command-line count that must be 1 or more."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"invalid value {value}: give 1 or more")
    return value


def non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"invalid value {value}: give 0 or more")
    return value


def build_parser() -> argparse.ArgumentParser:
    # Run settings default to None so that a resume can tell which ones were given.
    # Their help texts name the TrainConfig defaults that a new run takes.
    defaults = TrainConfig()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=int, choices=(2, 3, 4), help=f"upscaling factor (default {defaults.scale})")
    parser.add_argument("--scan", choices=("foh", "foh1", "zoh"), help=f"input hold of the state space scan (default {defaults.scan})")
    parser.add_argument("--iterations", type=positive_int, help=f"total training steps of the run (default {defaults.iterations};"
                        " with --resume, the checkpoint's, and another value reschedules the rest of the run)")
    parser.add_argument("--batch", type=positive_int, help=f"patches per step (default {defaults.batch})")
    parser.add_argument("--patch", type=positive_int, help=f"low-resolution patch size in pixels (default {defaults.patch_lr})")
    parser.add_argument("--seed", type=non_negative_int, help=f"seed of the initial weights and of every batch (default {defaults.seed})")
    parser.add_argument("--validate-every", type=non_negative_int, help="steps between validations, also done at the end;"
                        f" 0 never validates (default {defaults.validate_every})")
    parser.add_argument("--checkpoint-every", type=positive_int, help=f"steps between checkpoints (default {defaults.checkpoint_every})")
    parser.add_argument("--log-every", type=positive_int, help=f"steps between progress lines (default {defaults.log_every})")
    parser.add_argument("--train-dir", help=f"folder of training images (default {defaults.train_dir})")
    parser.add_argument("--validation-dir", help=f"folder of validation images (default {defaults.validation_dir})")
    parser.add_argument("--init-from", help="checkpoint whose weights start this run (all but the upsampler"
                        " if its scale differs)")
    parser.add_argument("--resume", type=Path, help="checkpoint to continue from; it keeps its scale, scan, batch,"
                        " patch, seed and starting network, and takes new values of the other run settings")
    parser.add_argument("--out", type=Path, required=True, help="folder for last.pt and best.pt")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for torch")
    parser.add_argument("--max-minutes", type=float, help="stop cleanly (with a checkpoint) after this many minutes")
    return parser


def command_line_settings(args: argparse.Namespace) -> dict:
    """Return the TrainConfig fields set on the command line, iterations aside."""
    values = {name: getattr(args, option_dest(name)) for name in RUN_DEFINING + CHANGEABLE_ON_RESUME}
    settings = {name: value for name, value in values.items() if value is not None}
    # Absolute, so that a resume started from another folder finds the same images.
    for name in ("train_dir", "validation_dir"):
        if name in settings:
            settings[name] = str(Path(settings[name]).resolve())
    return settings


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    config = TrainConfig(**command_line_settings(args))
    if args.iterations is not None:
        config.iterations = args.iterations
    return config


def resumed_config(args: argparse.Namespace, parser: argparse.ArgumentParser) -> TrainConfig:
    """Return the checkpoint's run settings with the changeable ones given on the command line.

    A run-defining option that differs from the checkpoint is an error rather than
    ignored, because the run would silently go on with other settings than asked for.
    """
    saved = torch.load(args.resume, map_location="cpu")["train_config"]
    saved["betas"] = tuple(saved["betas"])
    config = TrainConfig(**saved)

    for name, value in command_line_settings(args).items():
        saved_value = getattr(config, name)
        if value == saved_value:
            continue
        if name in RUN_DEFINING:
            run_options = ", ".join(option_name(field_name) for field_name in RUN_DEFINING)
            parser.error(f"{option_name(name)} {value} differs from the checkpoint's {saved_value}: a resumed run keeps"
                         f" its {run_options}. Leave {option_name(name)} out, or start a new run from the checkpoint"
                         " with --init-from.")
        log.info("resuming with %s %s instead of the checkpoint's %s", option_name(name), value, saved_value)
        setattr(config, name, value)
    return config


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)

    config = resumed_config(args, parser) if args.resume is not None else config_from_args(args)
    trainer = Trainer(config, args.out, device)
    if args.resume is not None:
        trainer.load(args.resume)
        if args.iterations is not None and args.iterations != config.iterations:
            trainer.reschedule(args.iterations)
    elif config.init_from:
        trainer.initialise_from(Path(config.init_from))

    log.info("training x%d %s: %d iterations, batch %d, LR patch %d, on %s", config.scale, config.scan,
             config.iterations, config.batch, config.patch_lr, describe_hardware(device))
    trainer.run(args.max_minutes * 60 if args.max_minutes is not None else None)
    (args.out / "record.json").write_text(json.dumps(trainer.record(), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
