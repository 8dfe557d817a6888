"""Benchmark TorchScript exports against each other: the same set, evaluated with each in turn.

    cd training && /usr/bin/python3 -m benchmarks.bench_exports OLD.pt NEW.pt \\
        ../../shared/data/benchmarks/Set5 --scale 2 --rounds 2 --threads 1

This is the pass that ``fssm.evaluate --model`` and the plugin make: the exported network with
its TorchScript scan. Export one checkpoint with two versions of the code to see what a change
of the inference scan does to the exported model's speed, and that it leaves PSNR and SSIM
alone. The files are evaluated alternately, ``--rounds`` times each, and the table gives the
best time of each with its ratio to the first file, taken in this one run because only ratios
survive a noisy machine.
"""
import argparse
import sys
from functools import partial
from pathlib import Path

import torch

from benchmarks.alternating import evaluate_alternately, format_table
from fssm.evaluate import evaluate_module, load_torchscript


def time_exports(paths: list, hr_dir: Path, scale: int, rounds: int) -> dict:
    """Evaluate the files alternately and return {file name: (best seconds, PSNR, SSIM)}."""
    evaluations = {str(path): partial(evaluate_module, load_torchscript(path), hr_dir, scale) for path in paths}
    return evaluate_alternately(evaluations, rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("exports", type=Path, nargs="+", help="TorchScript files of one scale, as fssm.export writes them")
    parser.add_argument("set", type=Path, help="folder of HR images")
    parser.add_argument("--scale", type=int, required=True, choices=(2, 3, 4))
    parser.add_argument("--rounds", type=int, default=2, help="passes per file, alternating")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads for torch")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if len(args.exports) < 2:
        sys.exit("give at least two TorchScript files to compare, then the folder of HR images")
    missing = [str(path) for path in (*args.exports, args.set) if not path.exists()]
    if missing:
        sys.exit(f"not found: {', '.join(missing)}. Give TorchScript files and a folder of HR images.")

    print(f"x{args.scale} exports on {args.set.name}, torch {torch.__version__}, {args.threads} thread(s), "
          f"best of {args.rounds}\n")
    best = time_exports(args.exports, args.set, args.scale, args.rounds)
    print(format_table(best, "export", str(args.exports[0])))


if __name__ == "__main__":
    main()
