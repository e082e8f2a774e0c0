#!/usr/bin/env bash
# The training-step benchmark: lora4j against its PyTorch peer, run alternately, same threads, same allocator.
# Usage: bench/run.sh [--pairs P] [--threads K] [--steps N] [--warmup W] [--dropout D] [--mkl-amd]
#                     [--vocab V --hidden H --layers L --heads A --inter I --seq T --batch B] [--checkpoint]
#                     [--no-xcheck] [--no-build]
# The shape options and --checkpoint (gradient checkpointing) go to both sides; --no-xcheck skips the cross-check,
# --no-build uses bench/target as it is.
# See bench/README.md for what is measured and how to read the output. Installs nothing.
set -euo pipefail

root="$(cd -P "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pairs=5 threads=2 steps=30 warmup=5 dropout=0.05 mkl_amd="" xcheck_on=1 no_build="" shape=()
while [ $# -gt 0 ]; do
  case "$1" in
    --mkl-amd) mkl_amd=1; shift; continue ;;
    --no-xcheck) xcheck_on=""; shift; continue ;;
    --no-build) no_build=1; shift; continue ;;
    --checkpoint) shape+=(--checkpoint); shift; continue ;;
    --vocab|--hidden|--layers|--heads|--inter|--seq|--batch) shape+=("$1" "$2") ;;
    --pairs) pairs="$2" ;;
    --threads) threads="$2" ;;
    --steps) steps="$2" ;;
    --warmup) warmup="$2" ;;
    --dropout) dropout="$2" ;;
    *) echo "usage: bench/run.sh [--pairs P] [--threads K] [--steps N] [--warmup W] [--dropout D] [--mkl-amd]" \
         "[--vocab V --hidden H --layers L --heads A --inter I --seq T --batch B] [--checkpoint] [--no-xcheck]" \
         "[--no-build]" >&2
       exit 2 ;;
  esac
  shift 2
done

peer="${LORA4J_BENCH_PEER:-$root/../shared/bench/bench_lora.py}"
[ -f "$peer" ] || peer=/work/shared/bench/bench_lora.py
python=/usr/bin/python3
tcmalloc=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4

# ---------------------------------------------------------------- the peer's prerequisites
install_hint="install the peer once: apt-get update && apt-get install -y python3-torch libopenblas0-openmp libtcmalloc-minimal4"
if [ ! -f "$peer" ]; then
  echo "bench: the PyTorch peer bench_lora.py is not at $peer (set LORA4J_BENCH_PEER)" >&2; exit 1
fi
if ! "$python" -c 'import torch' 2>/dev/null; then
  echo "bench: $python cannot import torch; $install_hint" >&2; exit 1
fi
# Debian's torch falls back to the reference BLAS (13x slower) unless OpenBLAS provides libblas.so.3
if ! "$python" -c 'import torch; torch.ones(64, 64) @ torch.ones(64, 64); import sys; sys.exit(0 if any("openblas" in l for l in open("/proc/self/maps")) else 1)'; then
  echo "bench: the peer's torch does not run on OpenBLAS, which would make the comparison unfair; $install_hint" >&2
  exit 1
fi
preload=""
if [ -f "$tcmalloc" ]; then
  preload="$tcmalloc"
else
  echo "bench: tcmalloc not found: both sides use glibc malloc (slower on this kind of VM); $install_hint" >&2
fi

# ---------------------------------------------------------------- build
if [ -z "$no_build" ]; then
  echo "building (mvn -q -DskipTests package -pl bench -am)..." >&2
  (cd "$root" && mvn -B -q -Dstyle.color=never -DskipTests package -pl bench -am) >&2
fi
jar="$root/bench/target/lora4j-bench.jar"
lora4j_preload="$preload"
if [ -n "$mkl_amd" ]; then
  # lora4j only: the peer's torch has no MKL; its allocator stays the same as lora4j's
  command -v cc >/dev/null || { echo "bench: --mkl-amd needs a C compiler (cc)" >&2; exit 1; }
  cc -shared -fPIC -O2 -o "$root/bench/target/libmkl_amd.so" "$root/bench/mkl_amd.c"
  lora4j_preload="${preload:+$preload:}$root/bench/target/libmkl_amd.so"
fi
classpath="$jar:$(cat "$root/bench/target/runtime-classpath.txt")"

# both sides: the same intra-op threads (each also sets them itself), one inter-op thread, the same allocator
export OMP_NUM_THREADS="$threads" DJL_OFFLINE=true OPT_OUT_TRACKING=true TORCH_CPP_LOG_LEVEL=ERROR
export DJL_CACHE_DIR="${DJL_CACHE_DIR:-$HOME/.djl.ai}"

lora4j() {
  LD_PRELOAD="$lora4j_preload" java -Dai.djl.offline=true -Dorg.slf4j.simpleLogger.defaultLogLevel=error \
    -cp "$classpath" dev.lora4j.bench.TrainStepBench "$@"
}

pytorch() {
  # the peer's own RESULT line, then its peak RSS (it prints only the current one)
  LD_PRELOAD="$preload" "$python" -c 'import resource, runpy, sys
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
print("PEAK_RSS_MB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)' "$peer" "$@"
}

field() { # field NAME LINE: the value of NAME=value in LINE
  sed -n "s/.*[[:space:]]$1=\([^[:space:]]*\).*/\1/p" <<<"$2"
}

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1); load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "lora4j: $(java -version 2>&1 | head -1); peer: torch $("$python" -c 'import torch; print(torch.__version__)') on OpenBLAS"
echo "threads=$threads steps=$steps warmup=$warmup dropout=$dropout allocator=${preload:-glibc} ${shape[*]}" \
  "${mkl_amd:+(--mkl-amd: lora4j runs the AVX2 kernels of MKL on AMD)}" | sed 's/ *$//'

# ---------------------------------------------------------------- the same computation on both sides
if [ -n "$xcheck_on" ]; then
xcheck="$(mktemp -d)"
trap 'rm -rf "$xcheck"' EXIT
echo
echo "cross-check (one batch, no dropout, random B): loss and gradient norms"
j="$(lora4j --threads "$threads" --xcheck "$xcheck" | grep -E '^J ')"
p="$(pytorch --xcheck "$xcheck" | grep -E '^PY ')"
paste -d'\n' <(echo "$j") <(echo "$p") | sed 's/^/  /'
paste <(echo "$j" | sed 's/.*=//') <(echo "$p" | sed 's/.*=//') | awk '
  {d = $1 - $2; d = d < 0 ? -d : d; r = d / ($2 < 0 ? -$2 : $2); if (r > m) m = r}
  END {printf "  largest relative difference: %.2g%s\n", m, m < 1e-4 ? " (same computation)" : " (DIFFERENT)"}'
fi

# ---------------------------------------------------------------- alternating pairs
echo
ratios=() jtok=() ptok=() jpeak=() ppeak=()
for i in $(seq 1 "$pairs"); do
  load="$(cut -d' ' -f1 /proc/loadavg)"
  jr="$(lora4j --threads "$threads" --steps "$steps" --warmup "$warmup" --dropout "$dropout" ${shape[@]+"${shape[@]}"} \
    | grep '^RESULT')"
  pout="$(pytorch --threads "$threads" --steps "$steps" --warmup "$warmup" --dropout "$dropout" \
    ${shape[@]+"${shape[@]}"})"
  pr="$(grep '^RESULT' <<<"$pout")"
  echo "$jr"
  echo "$pr"
  jt="$(field tokens_per_s "$jr")" pt="$(field tokens_per_s "$pr")"
  ratio="$(awk -v a="$jt" -v b="$pt" 'BEGIN {printf "%.3f", a / b}')"
  jtok+=("$jt") ptok+=("$pt") ratios+=("$ratio")
  jpeak+=("$(field peak_rss_mb "$jr")") ppeak+=("$(sed -n 's/^PEAK_RSS_MB //p' <<<"$pout")")
  echo "pair $i: lora4j $jt tok/s, PyTorch $pt tok/s, ratio $ratio (load $load at start)"
done

echo
echo "ratios (lora4j / PyTorch tokens/s): ${ratios[*]}"
echo "median ratio: $(printf '%s\n' "${ratios[@]}" | median)"
echo "median tokens/s: lora4j $(printf '%s\n' "${jtok[@]}" | median), PyTorch $(printf '%s\n' "${ptok[@]}" | median)"
echo "peak RSS MB (largest of the runs): lora4j $(printf '%s\n' "${jpeak[@]}" | sort -g | tail -1)," \
  "PyTorch $(printf '%s\n' "${ppeak[@]}" | sort -g | tail -1)"
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
