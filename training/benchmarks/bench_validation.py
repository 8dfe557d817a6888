"""Benchmark a checkpoint's evaluation on the CPU: the compiled scan's forward against the chunked loop.

    cd training && /usr/bin/python3 -m benchmarks.bench_validation checkpoints/fssm-x2.pt \\
        ../../shared/data/benchmarks/Set5 --rounds 2 --threads 1

Without gradients, ``fssm.scan.selective_scan`` runs the compiled training scan's forward on
the CPU when the extension is available, and the TorchScript chunked loop otherwise. This is
the pass that validation during training and ``scan_dependence`` make. The script evaluates
the set with each path in turn, ``--rounds`` times. It prints a Markdown table with the best
time of each path, the PSNR and SSIM each measured, and the ratio of the times, which is
taken in this one run because only ratios survive a noisy machine.
"""
import argparse
import sys
from contextlib import contextmanager, nullcontext
from functools import partial
from pathlib import Path

import torch

import fssm.scan
from benchmarks.alternating import evaluate_alternately, format_table
from fssm.evaluate import evaluate_module
from fssm.export import network_from_state


@contextmanager
def chunked_loop_only():
    """Hide the compiled scan from ``selective_scan``, as on a machine that cannot build it."""
    available = fssm.scan._training_scan_available
    fssm.scan._training_scan_available = lambda device: False
    try:
        yield
    finally:
        fssm.scan._training_scan_available = available


# nullcontext leaves selective_scan to pick the compiled scan.
PATHS = {"compiled scan": nullcontext, "chunked loop": chunked_loop_only}


def time_paths(network: torch.nn.Module, hr_dir: Path, scale: int, rounds: int) -> dict:
    """Return {path: (best seconds, PSNR, SSIM)}, evaluating the paths alternately."""

    def evaluate_in(context):
        # evaluate_module runs without gradients, as validation during training does.
        with context():
            return evaluate_module(network, hr_dir, scale)

    evaluations = {name: partial(evaluate_in, context) for name, context in PATHS.items()}
    return evaluate_alternately(evaluations, rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint", type=Path, help="training checkpoint (fssm.train's .pt)")
    parser.add_argument("set", type=Path, help="folder of HR images")
    parser.add_argument("--rounds", type=int, default=2, help="passes per path, alternating")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads for torch")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    missing = [str(path) for path in (args.checkpoint, args.set) if not path.exists()]
    if missing:
        sys.exit(f"not found: {', '.join(missing)}. Give a training checkpoint and a folder of HR images.")
    if not fssm.scan._training_scan_available(torch.device("cpu")):
        sys.exit("the compiled scan cannot be built here (see the warning above), so there is nothing to compare")

    state = torch.load(args.checkpoint, map_location="cpu")
    network, _ = network_from_state(state)
    scale = state["config"]["scale"]
    print(f"{args.checkpoint} (x{scale}, {state['step']} steps) on {args.set.name}, torch {torch.__version__}, "
          f"{args.threads} thread(s), best of {args.rounds}\n")
    best = time_paths(network, args.set, scale, args.rounds)
    print(format_table(best, "scan path", "chunked loop"))


if __name__ == "__main__":
    main()
