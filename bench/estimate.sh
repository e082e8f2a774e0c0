#!/usr/bin/env bash
# estimate against measured: for each shape, `bin/lora4j estimate CONFIG --json` (peak_bytes) and the peak resident
# memory of `bin/lora4j train CONFIG` (/usr/bin/time's maximum RSS), then their ratio. See docs/performance.md.
# Usage: bench/estimate.sh [--work DIR] [--threads K] [--only NAME] [--tinyllama]
#   --tinyllama adds the TinyLlama-shaped model (4.4 GB of random weights made by bench/make_model.py, about 10 GB of
#   RAM and several minutes per step on 2 cores).
set -euo pipefail

root="$(cd -P "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="${TMPDIR:-/tmp}/lora4j-estimate" threads=2 only="" tinyllama=""
while [ $# -gt 0 ]; do
  case "$1" in
    --work) work="$2"; shift ;;
    --threads) threads="$2"; shift ;;
    --only) only="$2"; shift ;;
    --tinyllama) tinyllama=1 ;;
    *) echo "usage: bench/estimate.sh [--work DIR] [--threads K] [--only NAME] [--tinyllama]" >&2; exit 2 ;;
  esac
  shift
done
python=/usr/bin/python3
mkdir -p "$work"
lora4j="$root/bin/lora4j"

model() { # model NAME ARGS...: a random Llama folder with rows, made once
  local dir="$work/$1"; shift
  [ -f "$dir/model.safetensors" ] || "$python" "$root/bench/make_model.py" --out "$dir" "$@" >&2
  echo "$dir"
}

config() { # config NAME MODEL_DIR MAX_LENGTH TRAINING LORA: a training config over the model's rows
  cat > "$work/$1.yaml" <<EOF
name: $1
model: $2
task: CAUSAL_LM
data: {train: $2/data.jsonl, max_length: $3}
training: $4
lora: $5
EOF
  echo "$work/$1.yaml"
}

all_linear='{r: 8, lora_alpha: 16, lora_dropout: 0.05, target_modules: [q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj]}'
configs=()
m4="$(model llama-h256-l4 --vocab 1024 --hidden 256 --layers 4 --heads 4 --inter 688 --rows 8 --length 2048)"
configs+=("$(config llama-h256-1x2048-checkpointed "$m4" 2048 '{max_steps: 3, batch_size: 1, gradient_checkpointing: true}' "$all_linear")")
configs+=("$(config llama-h256-2x1024 "$m4" 1024 '{max_steps: 3, batch_size: 2}' "$all_linear")")
m6="$(model llama-h512-l6-gqa --vocab 4096 --hidden 512 --layers 6 --heads 8 --kv-heads 2 --inter 1376 --rows 16 --length 512)"
configs+=("$(config llama-h512-gqa-4x512 "$m6" 512 '{max_steps: 3, batch_size: 4}' '{r: 16, lora_alpha: 32, target_modules: [q_proj, v_proj]}')")
# the demo's best trial as one training run (r=8, alpha=16), 20 steps and its evaluation
cat > "$work/demo-r8-alpha16.yaml" <<EOF
name: demo-r8-alpha16
model: builtin:all-minilm-l6-v2
task: SEQ_CLS
data: {train: $root/examples/data/spam-train.jsonl, eval: $root/examples/data/spam-eval.jsonl, labels: [ham, spam], max_length: 64}
training: {learning_rate: 3.0e-3, warmup_ratio: 0.1, batch_size: 16, max_steps: 20, seed: 42}
lora: {r: 8, lora_alpha: 16, target_modules: [query, value], modules_to_save: [classifier], lora_dropout: 0.1}
EOF
configs+=("$work/demo-r8-alpha16.yaml")
if [ -n "$tinyllama" ]; then
  mt="$(model tinyllama --tinyllama --rows 2 --length 2048)"
  configs+=("$(config tinyllama-1x2048-checkpointed "$mt" 2048 '{max_steps: 1, batch_size: 1, gradient_checkpointing: true}' "$all_linear")")
fi

echo "machine: $(nproc) CPUs, $(free -g | awk '/Mem:/ {print $2}') GiB; load $(cut -d' ' -f1-3 /proc/loadavg); threads $threads"
printf '%-34s %12s %12s %8s %10s\n' config estimate_MiB measured_MiB ratio s_per_step
for c in "${configs[@]}"; do
  name="$(basename "$c" .yaml)"
  [ -n "$only" ] && [ "$only" != "$name" ] && continue
  est="$("$lora4j" estimate "$c" --json | sed -n 's/.*"peak_bytes":\([0-9]*\).*/\1/p')"
  rm -rf "$work/runs/$name"
  log="$work/$name.log"
  /usr/bin/time -f "maxrss_kb %M" "$lora4j" train "$c" --out "$work/runs/$name" --threads "$threads" > "$log" 2>&1
  kb="$(sed -n 's/^maxrss_kb //p' "$log")"
  steps="$(tail -n +2 "$work/runs/$name/progress.csv" | awk -F, '$3 != "" {n++; s = $9} END {if (n) printf "%.1f", s / n}')"
  awk -v n="$name" -v e="$est" -v k="$kb" -v s="$steps" 'BEGIN {
    printf "%-34s %12.0f %12.0f %8.2f %10s\n", n, e / 1048576, k / 1024, (e / 1048576) / (k / 1024), s }'
done
