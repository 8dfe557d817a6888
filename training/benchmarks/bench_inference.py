"""Benchmark the inference scan and the x2 network's forward pass on the CPU.

    cd training && /usr/bin/python3 -m benchmarks.bench_inference [--threads 2]
    cd training && /usr/bin/python3 -m benchmarks.bench_inference --against REV --threads 1

``--against REV`` only compares the inference scan with its version at git revision REV,
interleaving the two in one run.

Prints a Markdown report. Every ratio in it compares timings taken in this one run, which
is what survives a noisy machine; the absolute times are only context.
"""
import argparse
import importlib.util
import platform
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import torch

import fssm.model
from fssm.model import build
from fssm.ops.scan_chunked import selective_scan_chunked
from fssm.ops.scan_ref import selective_scan_ref

# The network's scan: 4 directions x 72 channels, 4 groups of B and C, d_state 10.
CHANNELS, GROUPS, D_STATE = 288, 4, 10


def best_time(fn, repeats: int = 3, warmup: int = 3) -> float:
    """Minimum wall time of fn() over `repeats` runs, after TorchScript's profiling runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def scan_inputs(batch: int, length: int):
    g = torch.Generator().manual_seed(0)
    return [
        torch.randn(batch, CHANNELS, length, generator=g),
        torch.randn(batch, CHANNELS, length, generator=g) * 0.5,
        -torch.exp(torch.randn(CHANNELS, D_STATE, generator=g)),
        torch.randn(batch, GROUPS, D_STATE, length, generator=g),
        torch.randn(batch, GROUPS, D_STATE, length, generator=g),
        torch.randn(CHANNELS, generator=g),
        torch.randn(CHANNELS, generator=g) - 2.0,
    ]


def matmul_gflops(size: int = 1024) -> float:
    a, b = torch.randn(size, size), torch.randn(size, size)
    seconds = best_time(lambda: torch.mm(a, b), repeats=5, warmup=2)
    return 2 * size**3 / seconds / 1e9


def bench_scan(length: int, reference_tokens: int) -> list[str]:
    rows = ["| batch | mode | chunked loop (µs/token) | per sequence and token (µs) | token-by-token reference (µs/token) | speed-up |",
            "|---|---|---|---|---|---|"]
    for batch in (1, 8):
        inputs = scan_inputs(batch, length)
        # The reference is too slow for the full length; its cost per token does not depend on L.
        short = [t[..., :reference_tokens] if t.dim() >= 3 else t for t in scan_inputs(batch, reference_tokens)]
        for mode in ("zoh", "foh1", "foh"):
            with torch.no_grad():
                chunked = best_time(lambda: selective_scan_chunked(*inputs, mode, True)) / length
                reference = best_time(lambda: selective_scan_ref(*short, mode), repeats=1, warmup=1) / reference_tokens
            rows.append(f"| {batch} | {mode} | {chunked * 1e6:.1f} | {chunked / batch * 1e6:.1f} | "
                        f"{reference * 1e6:.1f} | {reference / chunked:.1f}x |")
    return rows


@contextmanager
def identity_scan():
    """Replace the network's scan by y = u, so the rest of the forward pass can be timed alone."""
    original = fssm.model.selective_scan
    fssm.model.selective_scan = lambda u, *args, **kwargs: u
    try:
        yield
    finally:
        fssm.model.selective_scan = original


def dense_flops(network: torch.nn.Module, x: torch.Tensor) -> int:
    """FLOPs (2 per multiply-add) of the convolutions, linear layers and projections."""
    total = 0

    def conv_hook(module, inputs, output):
        nonlocal total
        kernel = module.weight[0].numel()  # in_channels / groups * kh * kw
        total += 2 * output.numel() * kernel

    def linear_hook(module, inputs, output):
        nonlocal total
        total += 2 * output.numel() * module.in_features

    handles = []
    for module in network.modules():
        if isinstance(module, torch.nn.Conv2d):
            handles.append(module.register_forward_hook(conv_hook))
        elif isinstance(module, torch.nn.Linear):
            handles.append(module.register_forward_hook(linear_hook))
    with torch.no_grad(), identity_scan():
        network(x)
    for handle in handles:
        handle.remove()

    # The per-direction projections are einsums, not modules: x_proj (D -> R + 2N) and dt_proj (R -> D).
    config = network.config
    tokens = x.shape[2] * x.shape[3]
    per_layer = 4 * tokens * 2 * config.d_inner * (config.dt_rank + 2 * config.d_state) * 2
    return total + per_layer * sum(config.depths)


def scan_flops(network: torch.nn.Module, x: torch.Tensor) -> int:
    """Estimate the scan's FLOPs: about 12 per token, channel and state (decay, input term, update, output)."""
    config = network.config
    tokens = x.shape[2] * x.shape[3]
    return 12 * tokens * 4 * config.d_inner * config.d_state * sum(config.depths)


def bench_network(size: int, gflops_matmul: float) -> list[str]:
    network = build(2, "foh").eval()
    # Script the network as fssm.export does, so that the whole forward runs the exported
    # models' scan. The eager network would pick the compiled training scan where it is available.
    exported = torch.jit.script(network)
    x = torch.rand(1, 3, size, size)
    with torch.no_grad():
        total = best_time(lambda: exported(x), repeats=2, warmup=1)
        with identity_scan():
            rest = best_time(lambda: network(x), repeats=2, warmup=1)
    scan = total - rest
    rest_gflops = dense_flops(network, x) / rest / 1e9
    scan_gflops = scan_flops(network, x) / scan / 1e9
    return [
        "| part | time (s) | share | achieved GFLOP/s | of dense matmul |",
        "|---|---|---|---|---|",
        f"| whole forward | {total:.2f} | 100% | | |",
        f"| scan (whole minus identity-scan run) | {scan:.2f} | {scan / total:.0%} | {scan_gflops:.2f} (estimate) | {scan_gflops / gflops_matmul:.1%} |",
        f"| everything else | {rest:.2f} | {rest / total:.0%} | {rest_gflops:.2f} | {rest_gflops / gflops_matmul:.1%} |",
    ]


def scan_at_revision(revision: str):
    """Import selective_scan_chunked as it was at a git revision, with the hold module of that revision."""
    folder = Path(tempfile.mkdtemp(prefix="fssm-scan-"))
    for name in ("scan_chunked", "hold"):
        source = subprocess.run(["git", "show", f"{revision}:./fssm/ops/{name}.py"], check=True,
                                capture_output=True, text=True).stdout
        (folder / f"{name}.py").write_text(source.replace("from .hold import", "from hold import"))
    sys.path.insert(0, str(folder))
    spec = importlib.util.spec_from_file_location("scan_chunked_at_revision", folder / "scan_chunked.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.path.remove(str(folder))
    return module.selective_scan_chunked


def bench_against(revision: str, length: int, repeats: int = 10) -> list[str]:
    """Time this checkout's scan and the one at ``revision`` alternately, batch 1, best of ``repeats``."""
    old_scan = scan_at_revision(revision)
    inputs = scan_inputs(1, length)
    rows = [f"| mode | scan at {revision} (µs/token) | this checkout (µs/token) | speed-up | max relative difference |",
            "|---|---|---|---|---|"]
    for mode in ("zoh", "foh1", "foh"):
        scans = {"old": old_scan, "new": selective_scan_chunked}
        # The first call of each scan is its warm-up and gives the outputs compared below.
        outputs = {name: scan(*inputs, mode, True) for name, scan in scans.items()}
        times = {name: [] for name in scans}
        for _ in range(repeats):
            for name, scan in scans.items():
                start = time.perf_counter()
                scan(*inputs, mode, True)
                times[name].append(time.perf_counter() - start)
        old, new = min(times["old"]), min(times["new"])
        difference = ((outputs["new"] - outputs["old"]).abs().max() / outputs["old"].abs().max()).item()
        rows.append(f"| {mode} | {old / length * 1e6:.1f} | {new / length * 1e6:.1f} | {old / new:.2f}x | {difference:.1e} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--length", type=int, default=4096, help="scan length in tokens")
    parser.add_argument("--reference-tokens", type=int, default=256, help="tokens timed for the slow reference")
    parser.add_argument("--size", type=int, default=128, help="network input height and width")
    parser.add_argument("--against", metavar="REV", help="only compare the scan with its version at this git revision")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    if args.against:
        print(f"torch {torch.__version__}, {args.threads} threads, {platform.processor() or platform.machine()}")
        print(f"Scan, one layer, batch 1: {CHANNELS} channels, {GROUPS} groups, N = {D_STATE}, L = {args.length}\n")
        print("\n".join(bench_against(args.against, args.length)))
        return

    gflops = matmul_gflops()
    print(f"torch {torch.__version__}, {args.threads} threads, {platform.processor() or platform.machine()}")
    print(f"dense 1024x1024 float32 matmul: {gflops:.1f} GFLOP/s\n")
    print(f"Scan, one layer: {CHANNELS} channels, {GROUPS} groups, N = {D_STATE}, L = {args.length}\n")
    print("\n".join(bench_scan(args.length, args.reference_tokens)))
    print(f"\nx2 network forward, foh scan, {args.size}x{args.size} input, batch 1\n")
    print("\n".join(bench_network(args.size, gflops)))


if __name__ == "__main__":
    main()
