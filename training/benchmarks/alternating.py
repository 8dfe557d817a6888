"""Time evaluations of a set alternately, so that a noisy machine slows each of them alike.

The benchmarks that compare two ways of evaluating a network share it: ``bench_validation``
(compiled scan or chunked loop) and ``bench_exports`` (two exports).
"""
import time
from typing import Callable, Dict, Tuple

Best = Dict[str, Tuple[float, float, float]]


def evaluate_alternately(evaluations: Dict[str, Callable[[], dict]], rounds: int) -> Best:
    """Run each evaluation in turn, ``rounds`` times, and return {name: (best seconds, PSNR, SSIM)}.

    Each evaluation returns a set result of ``fssm.evaluate``, with "psnr" and "ssim".
    """
    best: Best = {}
    for _ in range(rounds):
        for name, evaluate in evaluations.items():
            started = time.perf_counter()
            result = evaluate()
            seconds = time.perf_counter() - started
            previous = best.get(name)
            if previous is None or seconds < previous[0]:
                best[name] = (seconds, result["psnr"], result["ssim"])
    return best


def format_table(best: Best, first_column: str, baseline: str) -> str:
    """Format ``best`` as a Markdown table with each time's speed-up over the entry named ``baseline``."""
    baseline_seconds = best[baseline][0]
    lines = [f"| {first_column} | best time (s) | speed-up over {baseline} | PSNR (dB) | SSIM |",
             "|---|---|---|---|---|"]
    for name, (seconds, psnr, ssim) in best.items():
        lines.append(f"| {name} | {seconds:.1f} | {baseline_seconds / seconds:.2f}x | {psnr:.4f} | {ssim:.5f} |")
    return "\n".join(lines)
