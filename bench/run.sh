#!/usr/bin/env bash
# Side-by-side benchmark: seqclf against PyTorch on the same models, data, batches and threads,
# alternating the two in one run, then a table of the ratios; and seqclf's inference against ONNX
# Runtime on seqclf's ONNX export of the same weights. See bench/README.md.
#
# Usage: bench/run.sh [mnist|spam|coldstart|all]        (default all)
# Knobs (environment): ROUNDS (default 5), THREADS (2), TORCH_OPENBLAS_CORETYPE (auto|none|<core>),
# SPAM_DOCS (2400), PYTHON (/usr/bin/python3), COLD_RUNS (7), AVX2_ROUNDS (ROUNDS; 0 leaves the
# AVX2 training rows out), ORT_DIR (bench/out/ort: where onnxruntime-node is, installed if missing),
# ORT_SPINNING (0: ONNX Runtime's threads do not spin), and extra flags for every side's measuring
# commands in MNIST_ARGS / SPAM_ARGS (e.g. SPAM_ARGS="-steps 4"; spelled the same on every side).
set -euo pipefail

# What holds seqclf's kernels to AVX2 (AVX-512 off) for the AVX2 training rows, as VAR=value.
seqclf_avx2=SEQCLF_CPU=avx2
# The onnxruntime-node release that ONNX Runtime's column runs (as scripts/interop_check.sh's).
ort_package=onnxruntime-node@1.30.0
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
avx2_rounds=${AVX2_ROUNDS:-$rounds}
threads=${THREADS:-2}
python=${PYTHON:-/usr/bin/python3}
out=bench/out/run-$(date +%Y%m%d-%H%M%S)
mkdir -p "$out"
bin=bench/out/seqclf-bench
go build -o "$bin" ./bench/seqclf-bench
sq=bench/out/seqclf # the command: the ONNX export, quantizing, the cold start
go build -o "$sq" ./cmd/seqclf
notes=() # for the end of the table

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
  # The AVX2 rows: OpenBLAS held to its Haswell kernels (AVX2 and FMA).
  torch_avx2_env=("${torch_env[@]}" OPENBLAS_CORETYPE=Haswell)
  avx2_info=$("${torch_avx2_env[@]}" "$python" bench/torch_bench.py info)
  [ "$avx2_rounds" = 0 ] || echo "PyTorch, AVX2 rows: $avx2_info"
else
  echo "PyTorch is not installed for $python (apt-get install python3-torch libopenblas0-openmp): measuring seqclf alone."
fi
echo "seqclf: GOMAXPROCS=$threads, $(go version | cut -d' ' -f3-), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-), load average $(cut -d' ' -f1-3 /proc/loadavg)"

# seqclf's AVX2 rows: say whether any Go file (tests aside) reads the switch at all; if none does,
# its AVX2 rows are AVX-512 figures, and the table says so.
avx2_var=${seqclf_avx2%%=*}
[ "$what" != coldstart ] || avx2_rounds=0
if [ "$avx2_rounds" != 0 ]; then
  avx2_readers=$(grep -rlF --include='*.go' "\"$avx2_var\"" lstm internal cmd 2>/dev/null | grep -v '_test\.go$' | tr '\n' ' ' || true)
  if [ -n "$avx2_readers" ]; then
    note="AVX2 rows: seqclf ran with $seqclf_avx2 (read in ${avx2_readers% })"
    [ "$torch" = 0 ] || note+="; PyTorch with OPENBLAS_CORETYPE=Haswell: $(sed -n 's/^\(OpenBLAS core [A-Za-z0-9]*\).*/\1/p' <<<"$avx2_info")"
    notes+=("$note")
  else
    notes+=("AVX2 rows: seqclf ran with $seqclf_avx2, but no Go file reads $avx2_var yet: its AVX2 figures are AVX-512 figures (correct seqclf_avx2 at the top of bench/run.sh if the switch has another name)")
  fi
fi

# ONNX Runtime from Node: onnxruntime-node, its CPU library inside the npm package.
ort=0
ort_dir=${ORT_DIR:-bench/out/ort}
if [ "$what" = coldstart ]; then
  : # no inference rounds
elif command -v node >/dev/null; then
  mkdir -p "$ort_dir"
  ort_modules=$(cd "$ort_dir" && pwd)/node_modules
  if [ ! -d "$ort_modules/onnxruntime-node" ] && command -v npm >/dev/null; then
    echo "installing $ort_package into $ort_dir" >&2
    (cd "$ort_dir" && ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund --silent "$ort_package") >&2 ||
      echo "npm install $ort_package failed" >&2
  fi
  NODE_PATH="$ort_modules" node -e 'require("onnxruntime-node")' 2>/dev/null && ort=1
fi
[ "$ort" = 1 ] || [ "$what" = coldstart ] || notes+=("ONNX Runtime not measured: no node, or $ort_package would not install into $ort_dir")
ortcmd=(env NODE_PATH="${ort_modules:-}" BENCH_THREADS="$threads" node bench/ort_bench.js)
# int8: seqclf's quantized copy of the same model, once the command exists.
quantize=0
quantize_help=$("$sq" model quantize --help 2>&1 || true) # without the command: the help of `seqclf model`
if grep -q 'model quantize' <<<"$quantize_help"; then
  quantize=1
elif [ "$what" != coldstart ]; then
  notes+=("int8 column left out: \`seqclf model quantize\` does not exist yet")
fi

pt() { "${torch_env[@]}" "$python" bench/torch_bench.py "$@"; }
results=()
run() { # side task round args...: one measuring process, its result added to the table's
  local side=$1 task=$2 round=$3 f="$out/$1-$2-$3.json"
  shift 3
  echo "  $side $task round $round" >&2
  case $side in
    seqclf | seqclf-infer | seqclf-int8) "${gocmd[@]}" "$task" -round "$round" -out "$f" "$@" ;;
    seqclf-avx2) env "$seqclf_avx2" "${gocmd[@]}" "$task" -round "$round" -out "$f" "$@" -variant avx2 ;;
    pytorch) pt "$task" --round "$round" --out "$f" "$@" ;;
    pytorch-avx2) "${torch_avx2_env[@]}" "$python" bench/torch_bench.py "$task" --round "$round" --out "$f" "$@" --variant avx2 ;;
    onnxruntime) "${ortcmd[@]}" "$task" --round "$round" --out "$f" "$@" ;;
  esac || { echo "$side $task failed" >&2; return; }
  results+=("$f")
}
sides=(seqclf)
[ "$torch" = 1 ] && sides+=(pytorch)
avx2_sides=()
[ "$avx2_rounds" = 0 ] || avx2_sides=("${sides[@]/%/-avx2}")

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
    GOMAXPROCS=$threads "$bin" encode-spam -data data/spam-assassin -n "${SPAM_DOCS:-2400}" -out "$out/spam-ids.txt" -dict "$out/spam-dict.db"
    read -ra args <<<"${SPAM_ARGS:-}"
    args+=(-ids "$out/spam-ids.txt")
  fi
  # seqclf's round 1 keeps its trained model for the inference rounds.
  model=$out/$task-model.db
  save=(-save "$model")
  [ "$task" = spam ] && save+=(-dict "$out/spam-dict.db")
  echo "$task (A/B alternated, $rounds rounds; AVX2 rows: $avx2_rounds):" >&2
  for r in $(seq "$(( rounds > avx2_rounds ? rounds : avx2_rounds ))"); do
    round_sides=()
    [ "$r" -gt "$rounds" ] || round_sides+=("${sides[@]}")
    [ "$r" -gt "$avx2_rounds" ] || round_sides+=("${avx2_sides[@]}")
    for s in "${round_sides[@]}"; do
      a=("${args[@]}")
      [[ $s == pytorch* ]] && a=("${a[@]/#-/--}") # Go's -flag is Python's --flag
      [ "$s" = seqclf ] && [ "$r" = 1 ] && a+=("${save[@]}")
      run "$s" "$task" "$r" "${a[@]}"
    done
  done

  # Inference alone on the model round 1 saved: seqclf (float32, then int8 when it can quantize)
  # against ONNX Runtime on `seqclf model export --format onnx` of it, alternated.
  if [ ! -f "$model" ]; then
    echo "no $model: skipping the inference rounds" >&2
    notes+=("no inference rounds on $task: seqclf's round 1 saved no model"); continue
  fi
  infer_sides=(seqclf-infer)
  if [ "$ort" = 1 ]; then
    if "$sq" model export --format onnx --out "$out/$task-model.onnx" "$model" >"$out/$task-export.log" 2>&1; then
      infer_sides+=(onnxruntime)
    else
      echo "seqclf model export --format onnx failed (see $out/$task-export.log)" >&2
      notes+=("ONNX Runtime not measured on $task: seqclf model export --format onnx failed")
    fi
  fi
  if [ "$quantize" = 1 ]; then
    if "$sq" model quantize "$model" "$out/$task-model-int8.db" >"$out/$task-quantize.log" 2>&1; then
      infer_sides+=(seqclf-int8)
    else
      echo "seqclf model quantize failed (see $out/$task-quantize.log)" >&2
      notes+=("int8 not measured on $task: seqclf model quantize failed (see $out/$task-quantize.log)")
    fi
  fi
  echo "$task inference (alternated, $rounds rounds: ${infer_sides[*]}):" >&2
  for r in $(seq "$rounds"); do
    for s in "${infer_sides[@]}"; do
      case $s in
        seqclf-infer) run "$s" "$task" "$r" "${args[@]}" -model "$model" ;;
        seqclf-int8) run "$s" "$task" "$r" "${args[@]}" -model "$out/$task-model-int8.db" -variant int8 ;;
        onnxruntime) a=("${args[@]}"); run "$s" "$task" "$r" "${a[@]/#-/--}" --model "$out/$task-model.onnx" ;;
      esac
    done
  done
done
echo
{
  "$bin" table "${results[@]}"
  for n in "${notes[@]}"; do echo "- $n"; done
} | tee "$out/table.md"
echo
echo "results: $out/"
