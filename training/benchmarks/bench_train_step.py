"""Compare one CPU training step of this checkout with the same step at another git revision.

    cd training && /usr/bin/python3 -m benchmarks.bench_train_step --against HEAD~1 --threads 1

Both trees train the same seeded ×2 network (scan `foh`) on the same random batch: forward,
L1 loss, backward and an Adam step. The revision is checked out into a temporary git
worktree. Each tree runs in its own Python process, because both import the package
`fssm`. The two processes take turns, `--rounds` times, so a noisy machine slows both
alike. Each process times `--steps` steps after one untimed step. The table gives the best
step of each tree and the losses of its first three steps, which must agree where a change
only reorders the same arithmetic. The worktree's first step compiles its own copy of the
C++ training scan into the worktree (about a minute, not timed).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

TRAINING_DIR = Path(__file__).resolve().parents[1]

# Runs inside the tree under test, with that tree's `fssm`. Prints one JSON line.
STEP_TIMER = """
import json, sys, time
import torch
import torch.nn.functional as F
sys.path.insert(0, {training!r})
torch.set_num_threads({threads})
from fssm.model import build

torch.manual_seed(0)
network = build({scale}, "foh")
optimizer = torch.optim.Adam(network.parameters(), lr=2e-4, betas=(0.9, 0.99))
lr = torch.rand({batch}, 3, {patch}, {patch})
hr = torch.rand({batch}, 3, {patch} * {scale}, {patch} * {scale})

def step():
    optimizer.zero_grad(set_to_none=True)
    loss = F.l1_loss(network(lr), hr)
    loss.backward()
    optimizer.step()
    return loss.item()

losses = [step()]
seconds = []
for _ in range({steps}):
    start = time.perf_counter()
    losses.append(step())
    seconds.append(time.perf_counter() - start)
print(json.dumps({{"seconds": seconds, "losses": losses}}))
"""


def time_tree(training_dir: Path, args) -> dict:
    """Run STEP_TIMER in a fresh interpreter against the `fssm` of ``training_dir``."""
    code = STEP_TIMER.format(training=str(training_dir), threads=args.threads, scale=args.scale,
                             batch=args.batch, patch=args.patch, steps=args.steps)
    environment = dict(os.environ, OMP_NUM_THREADS=str(args.threads), OPENBLAS_NUM_THREADS=str(args.threads))
    finished = subprocess.run([sys.executable, "-c", code], cwd=training_dir, env=environment,
                              capture_output=True, text=True)
    if finished.returncode != 0:
        raise RuntimeError(f"the training step failed in {training_dir}:\n{finished.stderr}")
    return json.loads(finished.stdout.strip().splitlines()[-1])


def compare(revision: str, worktree: Path, args) -> list:
    trees = {f"at {revision}": worktree / "training", "this checkout": TRAINING_DIR}
    best = {name: float("inf") for name in trees}
    losses = {}
    for _ in range(args.rounds):
        for name, training_dir in trees.items():
            result = time_tree(training_dir, args)
            best[name] = min(best[name], min(result["seconds"]))
            losses[name] = result["losses"][:3]

    baseline = best[f"at {revision}"]
    rows = ["| tree | best step (s) | speed-up | losses of steps 1-3 |", "|---|---|---|---|"]
    for name in trees:
        first_losses = ", ".join(f"{loss:.7f}" for loss in losses[name])
        rows.append(f"| {name} | {best[name]:.2f} | {baseline / best[name]:.2f}x | {first_losses} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", required=True, metavar="REV", help="git revision to compare with")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads of each process (default 1)")
    parser.add_argument("--rounds", type=int, default=2, help="turns of each tree (default 2)")
    parser.add_argument("--steps", type=int, default=3, help="timed steps per turn (default 3)")
    parser.add_argument("--scale", type=int, default=2)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--patch", type=int, default=32, help="LR patch side in pixels (default 32, as trained)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="fssm-step-") as parent:
        worktree = Path(parent) / "tree"
        checkout = subprocess.run(["git", "worktree", "add", "--detach", "--quiet", str(worktree), args.against],
                                  cwd=TRAINING_DIR, capture_output=True, text=True)
        if checkout.returncode != 0:
            sys.exit(f"failed to check out revision {args.against!r} into a git worktree: {checkout.stderr.strip()}."
                     " Pass a commit, tag or branch of this repository.")
        try:
            print(f"One training step, x{args.scale}, batch {args.batch} of {args.patch}x{args.patch} LR patches, "
                  f"{args.threads} threads, best of {args.rounds} x {args.steps} steps per tree\n")
            print("\n".join(compare(args.against, worktree, args)))
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(worktree)], cwd=TRAINING_DIR, check=True)


if __name__ == "__main__":
    main()
