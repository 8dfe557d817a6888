"""Compare the two ways fssm.evaluate can use several cores: threads in one process, or processes.

    cd training && /usr/bin/python3 -m benchmarks.bench_workers ../../shared/data/benchmarks/Set5 \
        --scale 4 --model ../plugin-resources/models/fssm-x4.pt --cores 2

For the given set and TorchScript file it alternates two timed passes of
``fssm.evaluate.evaluate_models``: one process with ``--cores`` torch threads, and
``--cores`` worker processes with one thread each (their start-up included). It prints a
Markdown table with the best time of each over the rounds, their ratio, and both PSNRs. The
PSNRs may differ in the last digits, because torch may sum in another order on one thread than
on two, but a gap above MAX_PSNR_GAP dB means one of the two ways is broken.
"""
import argparse
import platform
import time
from pathlib import Path

import torch

from fssm.evaluate import evaluate_models

MAX_PSNR_GAP = 0.001


def timed_pass(folder: Path, scale: int, model: Path, cores: int, workers: bool) -> tuple:
    """Run one evaluation pass and return (seconds, PSNR)."""
    torch.set_num_threads(1 if workers else cores)
    started = time.perf_counter()
    results = evaluate_models([folder], scale, [model], bicubic=False, workers=cores if workers else 1)
    return time.perf_counter() - started, results[0]["psnr"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="folder of HR images")
    parser.add_argument("--scale", type=int, required=True)
    parser.add_argument("--model", type=Path, required=True, help="TorchScript model file")
    parser.add_argument("--cores", type=int, default=2, help="threads of the one process, and number of workers")
    parser.add_argument("--rounds", type=int, default=2, help="alternations of the two ways; the best time counts")
    args = parser.parse_args()

    best = {False: float("inf"), True: float("inf")}
    psnr = {}
    for _ in range(args.rounds):
        for workers in (False, True):
            seconds, psnr[workers] = timed_pass(args.folder, args.scale, args.model, args.cores, workers)
            best[workers] = min(best[workers], seconds)

    print(f"{args.model.name} on {args.folder.name} x{args.scale}, {args.cores} cores, best of {args.rounds}, "
          f"{platform.processor() or platform.machine()}, torch {torch.__version__}\n")
    print("| way | time (s) | PSNR (dB) |")
    print("|---|---|---|")
    print(f"| one process, {args.cores} threads | {best[False]:.1f} | {psnr[False]:.4f} |")
    print(f"| {args.cores} worker processes, 1 thread each | {best[True]:.1f} | {psnr[True]:.4f} |")
    print(f"\nspeed-up of the workers: {best[False] / best[True]:.2f}x")
    if abs(psnr[False] - psnr[True]) > MAX_PSNR_GAP:
        raise SystemExit(f"the PSNRs of the two ways differ by more than {MAX_PSNR_GAP} dB: "
                         f"{psnr[False]:.6f} and {psnr[True]:.6f}; check fssm.evaluate's workers")


if __name__ == "__main__":
    main()
