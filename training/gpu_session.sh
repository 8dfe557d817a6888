#!/usr/bin/env bash
# One GPU session of at most 9 minutes: the CUDA checks and benchmark of the training scan, then
# x2 training that continues from the committed checkpoint. Run it from the repository root on
# a machine with CUDA, torch and pytest:
#
#   OUT=/tmp/gpu-session bash training/gpu_session.sh [MINUTES_OF_TRAINING]
#
# Steps and their time limits:
#   1. the training scan's tests, which add a CUDA path when a GPU is present   (180 s)
#   2. the training-scan benchmark on CUDA, one step at batch 16 of 64 x 64      (90 s)
#   3. x2 training from training/checkpoints/fssm-x2.pt at batch 32 of 64 x 64 LR patches, for
#      MINUTES_OF_TRAINING minutes (default 3), then a Set5 validation and a checkpoint
# Steps 1 and 2 make their own inputs. Step 3 reads the 291-image training set and Set5 from
# TRAIN_DIR and VALIDATION_DIR (default: ../shared/data beside the checkout, which a machine
# that only receives the checkout does not have).
# A failed step is reported and the next one still runs. Everything goes under $OUT: one log
# per step, bench-cuda.md, and x2/last.pt and x2/best.pt (weights and optimiser state). Bring
# x2/best.pt back, export and evaluate it, and commit it as training/checkpoints/fssm-x2.pt
# only if its Set5 PSNR beats the committed one.
set -uo pipefail
cd "$(dirname "$0")"
out=${OUT:?set OUT to the folder that the results go to}
minutes=${1:-3}
python=${PYTHON:-python3}
train_dir=${TRAIN_DIR:-../../shared/data/train}
validation_dir=${VALIDATION_DIR:-../../shared/data/benchmarks/Set5}
mkdir -p "$out"

step() {
  local name=$1 limit=$2
  shift 2
  echo "== $name (at most $limit s): $*"
  local start=$SECONDS
  timeout "$limit" "$@" > "$out/$name.log" 2>&1
  local status=$?
  echo "   exit $status after $((SECONDS - start)) s; last lines of $out/$name.log:"
  tail -n 5 "$out/$name.log" | sed 's/^/   /'
}

"$python" -c 'import torch; print("torch", torch.__version__, "CUDA", torch.cuda.is_available(),
      torch.cuda.get_device_name() if torch.cuda.is_available() else "")' | tee "$out/environment.txt"

step tests 180 "$python" -m pytest -q tests/test_scan_train.py
step bench 90 "$python" -m benchmarks.bench_train_scan --device cuda --batch 16 --patch 64 --loop-modes foh
cp "$out/bench.log" "$out/bench-cuda.md"

# The run's schedule is long (20,000 steps), so the learning rate stays at 2e-4 in a short
# session. A later session resumes with --resume on the x2/last.pt brought back.
step train $((minutes * 60 + 90)) "$python" -m fssm.train --scale 2 --device cuda --threads 8 --batch 32 --patch 64 \
  --iterations 20000 --validate-every 20000 --checkpoint-every 200 --log-every 50 \
  --train-dir "$train_dir" --validation-dir "$validation_dir" \
  --init-from checkpoints/fssm-x2.pt --out "$out/x2" --max-minutes "$minutes"
ls -l "$out/x2" 2>/dev/null
