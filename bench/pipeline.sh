#!/usr/bin/env bash
# Measures what the actor pipeline buys (issue: actors and pipeline), on the demo model and data:
#   1. peak RSS of 8 trials training concurrently on one device vs one trial alone
#   2. wall time of an 8-trial sweep vs the same 8 trials one after another with `bin/lora4j train`
#   3. step throughput of one trial inside the pipeline vs the bare engine loop, in one JVM (PipelineOverhead)
# Usage: [PAIRS=3] bench/pipeline.sh [STEPS]   (default 20 optimizer steps per trial; 2. alternates PAIRS pairs)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
steps="${1:-20}"
pairs="${PAIRS:-3}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$root"
bin/lora4j --version >/dev/null   # builds the CLI if needed

# eight configs: r x alpha x learning rate on the spam demo (all-MiniLM-L6-v2, SEQ_CLS)
cat > "$work/sweep8.yaml" <<YAML
name: bench-8
model: builtin:all-minilm-l6-v2
task: SEQ_CLS
data: {train: $root/examples/data/spam-train.jsonl, eval: $root/examples/data/spam-eval.jsonl, labels: [ham, spam], max_length: 64}
training: {learning_rate: 3.0e-3, batch_size: 16, max_steps: $steps, seed: 42}
lora: {target_modules: [query, value], modules_to_save: [classifier], lora_dropout: 0.1}
method: grid
metric: {name: eval_accuracy, goal: maximize}
parameters:
  r: {values: [4, 8]}
  lora_alpha: {ratio_to: r, values: [1, 2]}
  learning_rate: {values: [1.0e-3, 3.0e-3]}
resources: {devices: [cpu], trials_per_device: 4}
YAML
sed -e 's/name: bench-8/name: bench-1/' -e 's/r: {values: \[4, 8\]}/r: {values: [8]}/' \
    -e 's/lora_alpha: {ratio_to: r, values: \[1, 2\]}/lora_alpha: {ratio_to: r, values: [2]}/' \
    -e 's/learning_rate: {values: \[1.0e-3, 3.0e-3\]}/learning_rate: {values: [3.0e-3]}/' \
    -e 's/trials_per_device: 4/trials_per_device: 1/' "$work/sweep8.yaml" > "$work/sweep1.yaml"

peak() { grep "Maximum resident" "$1" | awk '{print $6}'; }
secs() { grep "Elapsed (wall" "$1" | awk '{print $8}' | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }'; }
run_sweep() { # spec out lanes threads
  /usr/bin/time -v bin/lora4j sweep "$1" --out "$2" --cpu-lanes "$3" --threads-per-lane "$4" >/dev/null 2>"$2.time"
}

echo "== 1. peak RSS: one trial vs 8 trials sharing the base (one lane taking turns; two lanes side by side)"
run_sweep "$work/sweep1.yaml" "$work/one" 1 1
run_sweep "$work/sweep8.yaml" "$work/turns" 1 2
run_sweep "$work/sweep8.yaml" "$work/lanes" 2 1
one=$(peak "$work/one.time"); turns=$(peak "$work/turns.time"); lanes=$(peak "$work/lanes.time")
echo "peak RSS one trial: $((one / 1024)) MB"
echo "8 trials, 1 lane x 2 threads: $((turns / 1024)) MB (ratio $(echo "scale=2; $turns / $one" | bc))"
echo "8 trials, 2 lanes x 1 thread: $((lanes / 1024)) MB (ratio $(echo "scale=2; $lanes / $one" | bc))"

echo "== 2. wall time: the 8-trial sweep vs 8 x bin/lora4j train one after another (alternating, $pairs pairs)"
ratios=()
for i in $(seq 1 "$pairs"); do
  start=$(date +%s.%N)
  for t in "$work"/lanes/trials/*/; do
    bin/lora4j train "$t/train.json" --out "$work/seq$i/$(basename "$t")" >/dev/null 2>&1
  done
  seq_s=$(echo "$(date +%s.%N) - $start" | bc)
  run_sweep "$work/sweep8.yaml" "$work/lanes$i" 2 1
  s=$(secs "$work/lanes$i.time")
  r=$(echo "scale=3; $seq_s / $s" | bc)
  ratios+=("$r")
  echo "pair $i: sequential train ${seq_s}s, sweep (2 lanes x 1 thread) ${s}s, speed-up ${r}x"
done
echo "sweep (1 lane x 2 threads, from 1.): $(secs "$work/turns.time")s"
echo "median speed-up of the sweep: $(printf '%s\n' "${ratios[@]}" | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}')x"

echo "== 3. one trial, 1 thread: inside the pipeline vs the bare engine loop (one JVM, alternating, 5 pairs)"
sed -e 's/name: bench-1/name: overhead/' -e 's#, eval: [^,]*,#,#' -e 's/name: eval_accuracy, goal: maximize/name: train_loss, goal: minimize/' \
    "$work/sweep1.yaml" > "$work/overhead.yaml"
mvn -B -q -pl bench -am -DskipTests package
java -Dai.djl.offline=true -Dorg.slf4j.simpleLogger.defaultLogLevel=error \
  -cp "$root/bench/target/lora4j-bench.jar:$(cat "$root/bench/target/runtime-classpath.txt")" \
  dev.lora4j.bench.PipelineOverhead "$work/overhead.yaml" 5
