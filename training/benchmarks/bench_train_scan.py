"""Benchmark the training scan (hand-written backward) and one training step.

    cd training && /usr/bin/python3 -m benchmarks.bench_train_scan [--threads 2]
    cd training && python3 -m benchmarks.bench_train_scan --device cuda --batch 16 --patch 64

On the CPU it times the compiled C++ scan; on CUDA the tensor-operation path, with the
training step under bfloat16 autocast as ``fssm.train`` runs it.

Prints a Markdown report. Every ratio in it compares timings taken in this one run, which
is what survives a noisy machine; the absolute times are only context. The load average
before and after is printed because other jobs on a shared machine distort the timings.
"""
import argparse
import os
import platform
import resource
import time

import torch
import torch.nn.functional as F

from fssm.model import build
from fssm.ops import scan_train
from fssm.ops.scan_chunked import selective_scan_chunked

# The network's scan: 4 directions x 72 channels, 4 groups of B and C, d_state 10. The
# default 48 x 48 training patch gives 2304 tokens.
CHANNELS, GROUPS, D_STATE = 288, 4, 10
SCALE = 2


def load_average() -> str:
    return " / ".join(f"{value:.2f}" for value in os.getloadavg())


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work, so that wall-clock times cover it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def scan_inputs(batch: int, length: int, device: torch.device):
    """Return inputs shaped like one SS2D layer's, with Mamba's initial A = -[1..N]."""
    generator = torch.Generator().manual_seed(0)
    inputs = [
        torch.randn(batch, CHANNELS, length, generator=generator),
        torch.randn(batch, CHANNELS, length, generator=generator) * 0.5,
        -torch.arange(1, D_STATE + 1, dtype=torch.float32).repeat(CHANNELS, 1),
        torch.randn(batch, GROUPS, D_STATE, length, generator=generator),
        torch.randn(batch, GROUPS, D_STATE, length, generator=generator),
        torch.ones(CHANNELS),
        torch.randn(CHANNELS, generator=generator) - 3.0,
    ]
    return [t.to(device) for t in inputs]


def time_forward_backward(scan, inputs, mode: str, repeats: int):
    """Return the best (forward seconds, backward seconds) of ``scan`` over ``repeats`` runs."""
    leaves = [t.clone().requires_grad_() for t in inputs]
    grad_y = torch.randn_like(inputs[0])
    forward_times, backward_times = [], []
    device = inputs[0].device
    for _ in range(repeats + 1):  # the first run builds and warms up
        synchronize(device)
        start = time.perf_counter()
        y = scan(*leaves, mode, True)
        synchronize(device)
        middle = time.perf_counter()
        torch.autograd.backward(y, grad_y)
        synchronize(device)
        end = time.perf_counter()
        forward_times.append(middle - start)
        backward_times.append(end - middle)
        for leaf in leaves:
            leaf.grad = None
    return min(forward_times[1:]), min(backward_times[1:])


def bench_scan(modes, loop_modes, repeats: int, loop_repeats: int, tensor_path: bool, batch: int, patch: int,
               device: torch.device) -> list:
    length = patch * patch
    tokens = batch * length
    inputs = scan_inputs(batch, length, device)
    rows = [
        "| mode | path | forward (µs/token) | backward (µs/token) | backward / forward | backward speed-up over autograd through the loop |",
        "|---|---|---|---|---|---|",
    ]
    for mode in modes:
        if device.type == "cuda":
            paths = {"tensor operations (training, CUDA)": (scan_train.selective_scan_torch, repeats)}
        else:
            paths = {"compiled C++ (training)": (scan_train.selective_scan_cpu, repeats)}
        if tensor_path and device.type == "cpu":
            paths["tensor operations (CUDA path, run on CPU)"] = (scan_train.selective_scan_torch, repeats)
        if mode in loop_modes:
            paths["autograd through the inference loop"] = (selective_scan_chunked, loop_repeats)
        timings = {name: time_forward_backward(scan, inputs, mode, count) for name, (scan, count) in paths.items()}

        loop_timing = timings.get("autograd through the inference loop")
        for name, (forward, backward) in timings.items():
            speed_up = f"{loop_timing[1] / backward:.0f}x" if loop_timing else "not measured"
            rows.append(
                f"| {mode} | {name} | {forward / tokens * 1e6:.2f} | {backward / tokens * 1e6:.2f} | "
                f"{backward / forward:.1f} | {speed_up} |"
            )
    return rows


class ScanTimer:
    """Accumulate the wall time spent inside the training scan's forward and backward.

    On CUDA every call waits for the GPU before and after, which serialises the step a little
    but makes the time the scan's own.
    """

    def __init__(self, device: torch.device):
        self.device = device
        self.function = scan_train._CpuScan if device.type == "cpu" else scan_train._TorchScan
        self.seconds = 0.0
        self.calls = 0
        self._originals = (self.function.forward, self.function.backward)

    def _timed(self, function):
        def run(*args, **kwargs):
            synchronize(self.device)
            start = time.perf_counter()
            result = function(*args, **kwargs)
            synchronize(self.device)
            self.seconds += time.perf_counter() - start
            self.calls += 1
            return result

        return staticmethod(run)

    def __enter__(self):
        forward, backward = self._originals
        self.function.forward = self._timed(forward)
        self.function.backward = self._timed(backward)
        return self

    def __exit__(self, *exc):
        self.function.forward, self.function.backward = (
            staticmethod(self._originals[0]), staticmethod(self._originals[1]))


def peak_rss_since_reset() -> float:
    """Return the peak resident memory (GiB) since the last ``reset_peak_rss``, from VmHWM."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS counter (Linux 4.0+); return False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as clear_refs:
            clear_refs.write("5")
        return True
    except OSError:
        return False


def bench_training_step(mode: str, repeats: int, batch: int, patch: int, device: torch.device) -> list:
    torch.manual_seed(0)
    network = build(SCALE, mode).to(device)
    optimizer = torch.optim.Adam(network.parameters(), lr=2e-4, betas=(0.9, 0.99))
    lr = torch.rand(batch, 3, patch, patch, device=device)
    hr = torch.rand(batch, 3, patch * SCALE, patch * SCALE, device=device)

    def step():
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            sr = network(lr)
        loss = F.l1_loss(sr.float(), hr)
        loss.backward()
        optimizer.step()

    step()  # builds the extension if needed and allocates Adam's state
    synchronize(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        peak_reset = True
    else:
        peak_reset = reset_peak_rss()
    with ScanTimer(device) as timer:
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            step()
            synchronize(device)
            times.append(time.perf_counter() - start)
    if device.type == "cuda":
        peak_label = "peak GPU memory allocated during the timed steps"
        peak = torch.cuda.max_memory_allocated(device) / 2**30
    else:
        peak_label = "peak RSS during the timed steps" if peak_reset else "peak RSS of the process"
        peak = peak_rss_since_reset()
    step_seconds = min(times)
    scan_seconds = timer.seconds / repeats
    mean_step = sum(times) / len(times)
    precision = "bfloat16 autocast, scan in float32" if device.type == "cuda" else "float32"
    return [
        "| quantity | value |",
        "|---|---|",
        f"| network | MambaIR-light x{SCALE}, scan `{mode}`, {sum(p.numel() for p in network.parameters()):,} parameters |",
        f"| input | batch {batch} of {patch}x{patch} LR patches (L1 loss, Adam, {precision}) |",
        f"| step time (best of {repeats}) | {step_seconds:.2f} s |",
        f"| step time (mean of {repeats}) | {mean_step:.2f} s |",
        f"| steps per second (from the mean) | {1 / mean_step:.2f} |",
        f"| scan forward + backward per step (mean, {timer.calls // repeats} calls) | {scan_seconds:.2f} s |",
        f"| scan share of the mean step | {scan_seconds / mean_step:.0%} |",
        f"| {peak_label} | {peak:.2f} GiB |",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of the fast paths and steps")
    parser.add_argument("--loop-repeats", type=int, default=1,
                        help="timed runs of autograd through the inference loop, which is slow")
    parser.add_argument("--modes", default="foh,zoh,foh1", help="comma-separated scan modes of the scan table")
    parser.add_argument("--loop-modes", default="foh",
                        help="comma-separated modes for which autograd through the inference loop is timed (slow)")
    parser.add_argument("--step-mode", default="foh", help="scan mode of the training-step network")
    parser.add_argument("--tensor-path", action="store_true",
                        help="also time the tensor-operation (CUDA) path on the CPU: minutes, and GiBs of memory")
    parser.add_argument("--device", default="cpu", help="cpu (compiled scan) or cuda (tensor-operation scan)")
    parser.add_argument("--batch", type=int, default=8, help="batch size of the scan and the step (default 8)")
    parser.add_argument("--patch", type=int, default=48, help="LR patch side in pixels (default 48)")
    args = parser.parse_args()
    device = torch.device(args.device)
    torch.set_num_threads(args.threads)
    if device.type == "cpu":
        scan_train.load_cpu_extension()

    gpu = f", GPU {torch.cuda.get_device_name(device)}" if device.type == "cuda" else ""
    print(f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs{gpu}, "
          f"torch {torch.__version__}, {args.threads} threads; load average (1/5/15 min) "
          f"{load_average()} at the start.\n", flush=True)
    print("One training step:\n")
    print("\n".join(bench_training_step(args.step_mode, args.repeats, args.batch, args.patch, device)), flush=True)
    print(f"\nSelective scan, one layer: batch {args.batch} x {args.patch ** 2} tokens, {CHANNELS} channels, "
          f"{GROUPS} groups, N = {D_STATE}. Times are per token of the batch (total / (batch x L)).\n")
    scan_rows = bench_scan(
        args.modes.split(","), args.loop_modes.split(","), args.repeats, args.loop_repeats, args.tensor_path,
        args.batch, args.patch, device,
    )
    print("\n".join(scan_rows))
    print(f"\nLoad average (1/5/15 min) at the end: {load_average()}.")


if __name__ == "__main__":
    main()
