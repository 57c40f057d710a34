#!/usr/bin/env bash
# Side-by-side benchmark: seqclf against PyTorch on the same models, data, batches and threads,
# alternating the two in one run, then a table of the ratios. See bench/README.md.
#
# Usage: bench/run.sh [mnist|spam|coldstart|all]        (default all)
# Knobs (environment): ROUNDS (default 5), THREADS (2), TORCH_OPENBLAS_CORETYPE (auto|none|<core>),
# SPAM_DOCS (2400), PYTHON (/usr/bin/python3), COLD_RUNS (7), and extra flags for both sides' measuring commands in
# MNIST_ARGS / SPAM_ARGS (e.g. SPAM_ARGS="--steps 4"; the flags are spelled the same on both sides).
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
case $what in
  mnist) tasks=(mnist) ;;
  spam) tasks=(spam) ;;
  coldstart) tasks=(coldstart) ;;
  all) tasks=(mnist spam coldstart) ;;
  *) echo "usage: bench/run.sh [mnist|spam|coldstart|all]" >&2; exit 2 ;;
esac
rounds=${ROUNDS:-5}
threads=${THREADS:-2}
python=${PYTHON:-/usr/bin/python3}
out=bench/out/run-$(date +%Y%m%d-%H%M%S)
mkdir -p "$out"
bin=bench/out/seqclf-bench
go build -o "$bin" ./bench/seqclf-bench

# Go: GOMAXPROCS threads. PyTorch: torch.set_num_threads and OpenMP's pool, and OpenBLAS as it
# detects the CPU, with the machine's OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset for its command only.
gocmd=(env GOMAXPROCS="$threads" "$bin")
# OMP_WAIT_POLICY=PASSIVE: with the CPU shared, OpenMP's spinning threads made PyTorch's MNIST step
# up to 10× slower here; TORCH_OMP_WAIT_POLICY= (empty) keeps OpenMP's default.
torch_env=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_NUM_THREADS="$threads" BENCH_THREADS="$threads")
wait_policy=${TORCH_OMP_WAIT_POLICY-PASSIVE}
[ -z "$wait_policy" ] || torch_env+=(OMP_WAIT_POLICY="$wait_policy")
torch=0
if "$python" -c 'import torch' 2>/dev/null; then
  torch=1
  info=$("${torch_env[@]}" "$python" bench/torch_bench.py info)
  core=$(sed -n 's/^OpenBLAS core \([A-Za-z0-9]*\).*/\1/p' <<<"$info")
  want=${TORCH_OPENBLAS_CORETYPE:-auto}
  if [ "$want" = auto ]; then
    # OpenBLAS's DYNAMIC_ARCH falls back to an old core on CPUs it does not recognise (a VM's
    # generic "Intel Xeon Processor"): PyTorch is then measured far below its best. Name the core
    # the CPU's flags allow instead, and say so.
    want=none
    flags=$(grep -m1 '^flags' /proc/cpuinfo || true)
    if [ -n "$core" ] && grep -qw avx512f <<<"$flags" && ! grep -qE 'SkylakeX|Cooperlake|SapphireRapids' <<<"$core"; then
      want=SkylakeX
    elif [ -n "$core" ] && grep -qw avx2 <<<"$flags" && grep -qE 'Prescott|Core2|Nehalem|Sandybridge|Katmai|Atom' <<<"$core"; then
      want=Haswell
    fi
    [ "$want" = none ] || echo "note: OpenBLAS detected core $core on a CPU with $( grep -qw avx512f <<<"$flags" && echo AVX-512 || echo AVX2 ): PyTorch runs with OPENBLAS_CORETYPE=$want (TORCH_OPENBLAS_CORETYPE=none keeps the detection)"
  fi
  [ "$want" = none ] || torch_env+=(OPENBLAS_CORETYPE="$want")
  echo "PyTorch: $("${torch_env[@]}" "$python" bench/torch_bench.py info)"
else
  echo "PyTorch is not installed for $python (apt-get install python3-torch libopenblas0-openmp): measuring seqclf alone."
fi
echo "seqclf: GOMAXPROCS=$threads, $(go version | cut -d' ' -f3-), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-), load average $(cut -d' ' -f1-3 /proc/loadavg)"

pt() { "${torch_env[@]}" "$python" bench/torch_bench.py "$@"; }
results=()
run() { # side task round args...
  local side=$1 task=$2 round=$3 f="$out/$1-$2-$3.json"
  shift 3
  echo "  $side $task round $round" >&2
  if [ "$side" = seqclf ]; then
    "${gocmd[@]}" "$task" -round "$round" -out "$f" "$@" || { echo "seqclf $task failed" >&2; return; }
  else
    pt "$task" --round "$round" --out "$f" "$@" || { echo "pytorch $task failed" >&2; return; }
  fi
  results+=("$f")
}
sides=(seqclf)
[ "$torch" = 1 ] && sides+=(pytorch)

echo "GEMM peak:" >&2
# The engine's kernel is internal to lstm: its own benchmark measures it, and seqclf-bench reads that.
# Its sub-benchmarks are per instruction set: the one this CPU runs.
kisa=avx2
grep -qw avx512f /proc/cpuinfo && kisa=avx512
GOMAXPROCS=$threads go test -run '^$' -bench "BenchmarkGemm/.*/$kisa(par)?\$" -benchtime 200ms ./lstm/internal/kernel/ \
  >"$out/kernel-gemm.txt" 2>&1 || echo "lstm/internal/kernel BenchmarkGemm failed: the Go peak is gonum's alone (see $out/kernel-gemm.txt)" >&2
run seqclf gemm 0 -kernel-bench "$out/kernel-gemm.txt"
if [ "$torch" = 1 ]; then run pytorch gemm 0; fi
for task in "${tasks[@]}"; do
  args=()
  if [ "$task" = coldstart ]; then
    # seqclf classify on one line, from process start to the first label, against a fresh Python
    # that imports torch and loads the same model (same weights and dictionary, torch.save'd).
    echo "coldstart: training configs/default.yaml into $out/coldstart-model" >&2
    go build -o bench/out/seqclf ./cmd/seqclf
    GOMAXPROCS=$threads bench/out/seqclf pipeline run configs/default.yaml --set output_dir="$out/coldstart-model" \
      >"$out/coldstart-train.log" 2>&1 || { echo "seqclf pipeline run failed (see $out/coldstart-train.log)" >&2; continue; }
    tcmd=""
    if [ "$torch" = 1 ]; then
      "$bin" export-model -model "$out/coldstart-model/model.db" -out "$out/coldstart-model/model.json"
      pt save-model --json "$out/coldstart-model/model.json" --out "$out/coldstart-model/model.pt"
      tcmd="${torch_env[*]} $python bench/torch_bench.py classify --model $out/coldstart-model/model.pt"
    fi
    echo "coldstart (A/B alternated, ${COLD_RUNS:-7} runs):" >&2
    "$bin" coldstart -runs "${COLD_RUNS:-7}" -out "$out" -seqclf "env GOMAXPROCS=$threads bench/out/seqclf classify --model $out/coldstart-model/model.db" -torch "$tcmd" \
      && results+=("$out/seqclf-coldstart-0.json") && { [ -z "$tcmd" ] || results+=("$out/pytorch-coldstart-0.json"); }
    continue
  fi
  if [ "$task" = mnist ]; then
    if [ ! -e data/mnist/train-images-idx3-ubyte.gz ]; then
      echo "no data/mnist: run scripts/fetch-data.sh mnist; skipping MNIST" >&2; continue
    fi
    read -ra args <<<"${MNIST_ARGS:-}"
    args+=(-data data/mnist)
  else
    if [ ! -d data/spam-assassin/data ]; then
      echo "no data/spam-assassin: run scripts/fetch-data.sh spam; skipping SpamAssassin" >&2; continue
    fi
    GOMAXPROCS=$threads "$bin" encode-spam -data data/spam-assassin -n "${SPAM_DOCS:-2400}" -out "$out/spam-ids.txt"
    read -ra args <<<"${SPAM_ARGS:-}"
    args+=(-ids "$out/spam-ids.txt")
  fi
  echo "$task (A/B alternated, $rounds rounds):" >&2
  for r in $(seq "$rounds"); do
    for s in "${sides[@]}"; do
      a=("${args[@]}")
      [ "$s" = pytorch ] && a=("${a[@]/#-/--}") # Go's -flag is Python's --flag
      run "$s" "$task" "$r" "${a[@]}"
    done
  done
done
echo
"$bin" table "${results[@]}" | tee "$out/table.md"
echo
echo "results: $out/"
