"""Time a TorchScript model in Python on a raw float32 input, for the Java benchmark.

    bench_torchscript.py time MODEL INPUT.f32 N H W --threads 2 --warmup 2 --runs 3
    bench_torchscript.py conv OUT.pt --scale 2

``time`` prints one JSON line with the median and every run in seconds. ``conv`` writes a
one-convolution + pixel-shuffle model, used to measure the Java plumbing without the network.
"""
import argparse
import json
import statistics
import sys
import time

import numpy as np
import torch


def time_model(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    model = torch.jit.load(args.model).eval()
    x = torch.from_numpy(np.fromfile(args.input, dtype="<f4").reshape(args.n, 3, args.h, args.w))
    runs = []
    with torch.no_grad():
        for i in range(args.warmup + args.runs):
            start = time.perf_counter()
            model(x)
            if i >= args.warmup:
                runs.append(time.perf_counter() - start)
    print(json.dumps({"median_s": statistics.median(runs), "runs_s": runs, "threads": torch.get_num_threads(),
                      "torch": torch.__version__}))


def write_conv(args: argparse.Namespace) -> None:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 3 * args.scale ** 2, 3, padding=1),
                                torch.nn.PixelShuffle(args.scale)).eval()
    torch.jit.script(model).save(args.out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    timing = commands.add_parser("time")
    timing.add_argument("model")
    timing.add_argument("input")
    timing.add_argument("n", type=int)
    timing.add_argument("h", type=int)
    timing.add_argument("w", type=int)
    timing.add_argument("--threads", type=int, default=2)
    timing.add_argument("--warmup", type=int, default=2)
    timing.add_argument("--runs", type=int, default=3)
    conv = commands.add_parser("conv")
    conv.add_argument("out")
    conv.add_argument("--scale", type=int, default=2)
    args = parser.parse_args()
    if args.command == "time":
        time_model(args)
    else:
        write_conv(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
