#!/usr/bin/env bash
# Benchmark of the Java plugin; prints Markdown rows for the "Java plugin" section of
# docs/benchmarks.md. Each part runs in its own JVM so that peak-memory figures are its own.
# Usage: src/test/bench/run-benchmark.sh [python [PART...]]
#   python  interpreter with torch (default /usr/bin/python3)
#   PART    inference, tiling, memory, memory-fssm-2048, leak, leak-fssm-256; default all but the
#           two long ones (memory-fssm-2048 and leak-fssm-256 take one to two hours on one thread)
set -euo pipefail
cd "$(dirname "$0")/../../.."
python=${1:-/usr/bin/python3}
shift || true
if [ $# -gt 0 ]; then
  parts=("$@")
else
  parts=(inference tiling memory leak)
fi
data=../shared/data/microscopy
models=target/test-models
bundled=plugin-resources/models/fssm-x2.pt
bench=target/bench
mkdir -p "$bench"

mvn -B -q test-compile -Dpython="$python"
mvn -B -q dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile="$bench/classpath.txt"
classpath="target/classes:target/test-classes:$(cat "$bench/classpath.txt")"
"$python" src/test/python/bench_torchscript.py conv "$bench/conv-x2.pt" --scale 2

# run THREADS HEAP PART ARGS...: HEAP is a fixed, pre-touched heap size (e.g. 1g) so that resident
# memory does not grow with the Java heap, or "8g" as the maximum heap of an ordinary run.
run() {
  threads=$1
  heap=$2
  shift 2
  if [ "$heap" = fixed ]; then
    heap_options="-Xms1g -Xmx1g -XX:+AlwaysPreTouch"
  else
    heap_options="-Xmx$heap"
  fi
  java -Djava.awt.headless=true $heap_options -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
    -Dai.djl.pytorch.num_threads="$threads" -Dai.djl.pytorch.num_interop_threads=1 \
    -cp "$classpath" org.fssm.upscale.bench.Benchmark "$@"
}

sixteen_bit="$data/neubias/xy_calibrated_16bit__nuclear_protein_control.tif"
eight_bit="$data/bioimageanalysisnotebooks/0bf4b1.tif"

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for part in "${parts[@]}"; do
  case "$part" in
    inference)
      run 2 8g inference "$models/fssm-x2.pt" 32 "$python" src/test/python/bench_torchscript.py
      run 1 8g inference "$models/fssm-x2.pt" 32 "$python" src/test/python/bench_torchscript.py ;;
    tiling)
      run 1 8g tiling "$bundled" "$eight_bit" ;;
    memory)
      run 1 8g memory "$bench/conv-x2.pt" 2048 "$sixteen_bit"
      run 1 8g memory "$bundled" 128 "$sixteen_bit" ;;
    memory-fssm-2048)
      run 1 8g memory "$bundled" 2048 "$sixteen_bit" ;;
    leak)
      run 1 fixed leak "$bench/conv-x2.pt" 50 "$eight_bit" 256
      run 1 fixed leak "$bundled" 50 "$eight_bit" 64 ;;
    leak-fssm-256)
      run 1 fixed leak "$bundled" 50 "$eight_bit" 256 ;;
    *)
      echo "Unknown part '$part'; use inference, tiling, memory, memory-fssm-2048, leak or leak-fssm-256" >&2
      exit 2 ;;
  esac
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
