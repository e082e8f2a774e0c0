#!/usr/bin/env bash
# Measures the cluster path (issue: scale out on Pekko Cluster) on this machine, on the spam demo (MiniLM, SEQ_CLS):
#   1. the same sweep on 1 worker vs 2 workers (each worker one CPU lane with one thread; the coordinator trains
#      nothing itself): the speed-up of adding a worker
#   2. the cluster path's overhead per trial: the sweep on 1 worker vs the same sweep on one machine with one lane and
#      one thread (no cluster), i.e. what messages, stream transfers of data files, checkpoints and adapters, and the
#      remote verdicts cost
# Each figure is the sweep's own wall time (wall_time_s of --json: from its first trial to its last result; JVM
# start-up and workers joining are not in it). Runs alternate local, 1 worker, 2 workers, PAIRS times, and the ratios
# are taken per round, so slow drift of the machine cancels.
# Usage: [PAIRS=3] bench/cluster.sh [STEPS] [TRIALS]   (default 40 optimizer steps per trial, 8 trials)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
steps="${1:-40}"
trials="${2:-8}"
pairs="${PAIRS:-3}"
work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
cd "$root"
bin/lora4j --version >/dev/null   # builds the CLI if needed

lrs=$(python3 -c "import sys; n=int(sys.argv[1]); print(', '.join('%.2e' % (1e-3 * (1 + i)) for i in range(n)))" "$trials")
cat > "$work/sweep.yaml" <<YAML
name: bench-cluster
model: builtin:all-minilm-l6-v2
task: SEQ_CLS
data: {train: $root/examples/data/spam-train.jsonl, eval: $root/examples/data/spam-eval.jsonl, labels: [ham, spam], max_length: 64}
training: {learning_rate: 3.0e-3, batch_size: 16, max_steps: $steps, save_steps: $((steps / 2)), seed: 42}
lora: {r: 8, lora_alpha: 16, target_modules: [query, value], modules_to_save: [classifier], lora_dropout: 0.1}
method: grid
metric: {name: eval_accuracy, goal: maximize}
parameters:
  learning_rate: {values: [$lrs]}
resources: {devices: [cpu], trials_per_device: 1}
YAML

wall() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['wall_time_s'])" "$1"; }
free_port() { python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"; }

local_run() { # out
  bin/lora4j sweep "$work/sweep.yaml" --out "$1" --cpu-lanes 1 --threads-per-lane 1 --json >"$1.json" 2>"$1.log"
}

cluster_run() { # out workers
  local port; port=$(free_port)
  bin/lora4j sweep "$work/sweep.yaml" --out "$1" --cluster --bind "127.0.0.1:$port" --no-local \
    --min-workers "$2" --json >"$1.json" 2>"$1.log" &
  local coordinator=$!
  pids=("$coordinator")
  for w in $(seq 1 "$2"); do
    bin/lora4j worker --join "127.0.0.1:$port" --devices cpu --cpu-lanes 1 --threads-per-lane 1 \
      --work-dir "$1.worker$w" >"$1.worker$w.log" 2>&1 &
    pids+=("$!")
  done
  wait "$coordinator"
  for p in "${pids[@]:1}"; do wait "$p" || true; done
  pids=()
}

echo "== $trials trials x $steps steps (MiniLM, batch 16), every run one lane per node with one thread; $pairs rounds"
over=(); speed=()
for i in $(seq 1 "$pairs"); do
  local_run "$work/local$i"
  cluster_run "$work/one$i" 1
  cluster_run "$work/two$i" 2
  l=$(wall "$work/local$i.json"); one=$(wall "$work/one$i.json"); two=$(wall "$work/two$i.json")
  o=$(python3 -c "import sys; l,c,n=map(float,sys.argv[1:]); print('%.3f %.1f' % (c / l, (c - l) / n * 1000))" "$l" "$one" "$trials")
  s=$(python3 -c "import sys; a,b=map(float,sys.argv[1:]); print('%.2f' % (a / b))" "$one" "$two")
  over+=("${o%% *}"); speed+=("$s")
  echo "round $i: one machine ${l}s, 1 worker ${one}s, 2 workers ${two}s; cluster/local ${o%% *}" \
       "(${o##* } ms per trial), speed-up 1 -> 2 workers ${s}x"
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
echo "median cluster/local per trial (1 worker vs one machine, same lane): $(median "${over[@]}")"
echo "median speed-up, 2 workers vs 1: $(median "${speed[@]}")x"
