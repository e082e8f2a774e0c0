#!/usr/bin/env bash
# What a learned search buys on the demo's task (issue: search that learns): how many trials grid, random and bayes
# start before one reaches eval_accuracy >= TARGET (all-MiniLM-L6-v2, SEQ_CLS spam vs ham, batch 16 x 64 tokens,
# STEPS steps, one evaluation at the end). The sweep stops starting trials once one reaches the target
# (metric.target); the figure is the index, in proposal order, of the first trial that reached it (+1), or "none"
# within CAP trials. One lane of two threads, so every proposal sees all the trials before it and the counts do not
# depend on timing.
# Usage: [SEEDS="1 2 3"] bench/search.sh [TARGET] [STEPS] [CAP]   (defaults 0.95, 50, 10)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
target="${1:-0.95}"; steps="${2:-50}"; cap="${3:-10}"; seeds="${SEEDS:-1 2 3}"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
cd "$root"
bin/lora4j --version >/dev/null

sweep() { # file method-yaml lr-yaml
  cat > "$1" <<YAML
name: bench-search
model: builtin:all-minilm-l6-v2
task: SEQ_CLS
data: {train: $root/examples/data/spam-train.jsonl, eval: $root/examples/data/spam-eval.jsonl, labels: [ham, spam], max_length: 64}
training: {learning_rate: 3.0e-3, warmup_ratio: 0.1, batch_size: 16, max_steps: $steps, eval_steps: $steps, seed: 42}
lora: {target_modules: [query, value], modules_to_save: [classifier], lora_dropout: 0.1}
method: $2
metric: {name: eval_accuracy, goal: maximize, target: $target}
run_cap: $cap
parameters:
  r: {values: [4, 8, 16]}
  lora_alpha: {ratio_to: r, values: [1, 2]}
  learning_rate: $3
resources: {devices: [cpu], trials_per_device: 1}
YAML
}

first_hit() { # run folder -> "n" (trials started) and the index of the first trial at the target
  python3 - "$1" "$target" <<'PY'
import json, glob, sys
rows = []
for f in glob.glob(sys.argv[1] + '/trials/*/result.json'):
    r = json.load(open(f))
    rows.append((r['index'], r['metrics'].get('eval_accuracy') or 0.0))
rows.sort()
hit = next((i + 1 for i, a in rows if a >= float(sys.argv[2])), None)
print(len(rows), hit if hit else 'none', '%.4f' % max(a for _, a in rows))
PY
}

run() { # label method lr
  sweep "$work/s.yaml" "$2" "$3"
  local out="$work/$(echo "$1" | tr ' ' _)"
  local t0=$SECONDS
  bin/lora4j sweep "$work/s.yaml" --out "$out" --cpu-lanes 1 --threads-per-lane 2 >"$out.log" 2>&1
  read -r n hit best < <(first_hit "$out")
  echo "$1: reached $target at trial $hit (trials started $n, best $best, $((SECONDS - t0)) s)"
}

echo "== target eval_accuracy >= $target, $steps steps per trial, at most $cap trials; r x alpha ratio x learning rate"
run "grid" grid "{values: [1.0e-3, 3.0e-3, 1.0e-2]}"
for s in $seeds; do
  run "random seed $s" "{type: random, trials: $cap, seed: $s}" "{min: 5.0e-4, max: 2.0e-2, distribution: log_uniform_values}"
  run "bayes seed $s" "{type: bayes, trials: $cap, seed: $s, startup_trials: 3}" "{min: 5.0e-4, max: 2.0e-2, distribution: log_uniform_values}"
done
