"""Measure how much a trained network depends on its scan's hold: swap the mode at inference.

    cd training && /usr/bin/python3 -m benchmarks.scan_dependence checkpoints/fssm-x4.pt \
        ../../shared/data/benchmarks/Set5 --threads 1

The checkpoint's network is evaluated (Y-PSNR/SSIM, the protocol of ``fssm.evaluate``) once
with each scan mode, without any retraining: the weights stay those learnt with the
checkpoint's own mode. A large drop when the mode is swapped means the network has learnt to
rely on the hold its scan applies to the input between tokens. A drop of a few thousandths of a dB means
that the hold barely changes what the network computes, so a training ablation of the modes at
that budget cannot separate them either. A last row removes the state altogether (C = 0, so each
scan returns only its skip term D·u): it shows how much the network uses its state space model
at all. The script prints a Markdown table: PSNR and SSIM per row and set, and the PSNR
difference to the trained mode. Before it, one line says how far training has moved the state
space parameters from Mamba's initialisation (A = -[1..N], D = 1, Δ log-uniform in
[0.001, 0.1], whose median is 0.01). Without sets, only that line is printed.
"""
import argparse
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, List

import torch
import torch.nn.functional as F

from fssm.evaluate import evaluate_module
from fssm.export import network_from_state
from fssm.model import SS2D
from fssm.ops.hold import SCAN_MODES


def scan_blocks(network: torch.nn.Module) -> List[SS2D]:
    """Return the 2D scan blocks of ``network`` in module order."""
    return [module for module in network.modules() if isinstance(module, SS2D)]


def set_scan_mode(network: torch.nn.Module, mode: str) -> None:
    """Make every 2D scan block of ``network`` use ``mode``."""
    for block in scan_blocks(network):
        block.scan_mode = mode


@contextmanager
def without_state(network: torch.nn.Module):
    """Zero the projection that makes C, so that every scan outputs D·u, and restore it on exit."""
    saved = []
    for block in scan_blocks(network):
        c_rows = block.x_proj_weight[:, block.dt_rank + block.d_state:, :]
        saved.append((c_rows, c_rows.clone()))
        c_rows.zero_()
    try:
        yield
    finally:
        for c_rows, values in saved:
            c_rows.copy_(values)


def ssm_parameter_summary(network: torch.nn.Module) -> str:
    """Describe A, D and the Δ bias of all scan blocks against their initial values."""
    blocks = scan_blocks(network)
    with torch.no_grad():
        initial_A_log = torch.log(torch.arange(1, blocks[0].d_state + 1, dtype=torch.float32))
        A_log_change = max((block.A_logs - initial_A_log).abs().max().item() for block in blocks)
        D = torch.cat([block.Ds.flatten() for block in blocks])
        delta = torch.cat([F.softplus(block.dt_projs_bias).flatten() for block in blocks])
    return (f"{len(blocks)} scan blocks: max |log(-A) - log(n)| {A_log_change:.3f}, "
            f"D in [{D.min().item():.3f}, {D.max().item():.3f}], "
            f"softplus(Δ bias) median {delta.median().item():.4f} "
            f"(range {delta.min().item():.4f} to {delta.max().item():.4f})")


def measure_modes(network: torch.nn.Module, scale: int, trained_mode: str, sets: List[Path]) -> Dict[str, List[Dict]]:
    """Return the evaluation of ``network`` on every set, per scan mode and without state."""
    results = {}
    with torch.no_grad():
        for mode in SCAN_MODES:
            set_scan_mode(network, mode)
            results[f"`{mode}`"] = [evaluate_module(network, hr_dir, scale, method=mode) for hr_dir in sets]

        set_scan_mode(network, trained_mode)
        with without_state(network):
            results["no state (C = 0)"] = [evaluate_module(network, hr_dir, scale) for hr_dir in sets]
    return results


def format_table(results: Dict[str, List[Dict]], trained_mode: str) -> str:
    """Format the results of :func:`measure_modes` as a Markdown table, with differences to the trained mode."""
    reference_row = f"`{trained_mode}`"
    set_names = [result["set"] for result in results[reference_row]]
    lines = ["| scan at inference | " + " | ".join(f"{name} PSNR / SSIM | Δ PSNR" for name in set_names) + " |",
             "|---" * (1 + 2 * len(set_names)) + "|"]
    for row, per_set in results.items():
        cells = []
        for result, reference in zip(per_set, results[reference_row]):
            cells.append(f"{result['psnr']:.4f} / {result['ssim']:.4f}")
            cells.append(f"{result['psnr'] - reference['psnr']:+.4f}")
        label = f"{row} (trained)" if row == reference_row else row
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint", type=Path, help="training checkpoint (fssm.train's .pt)")
    parser.add_argument("sets", type=Path, nargs="*",
                        help="folders of HR images (none: print only the parameter line)")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads for torch")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    missing = [str(path) for path in [args.checkpoint, *args.sets] if not path.exists()]
    if missing:
        sys.exit(f"not found: {', '.join(missing)}. Give a training checkpoint and folders of HR images.")

    state = torch.load(args.checkpoint, map_location="cpu")
    network, _ = network_from_state(state)
    trained_mode = state["config"]["scan"]
    print(f"{args.checkpoint} (x{state['config']['scale']}, trained with `{trained_mode}` "
          f"for {state['step']} steps), torch {torch.__version__}, {args.threads} thread(s)\n")
    print(ssm_parameter_summary(network))
    if args.sets:
        results = measure_modes(network, state["config"]["scale"], trained_mode, args.sets)
        print("\n" + format_table(results, trained_mode))


if __name__ == "__main__":
    main()
