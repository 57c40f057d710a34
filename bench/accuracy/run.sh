#!/usr/bin/env bash
# Accuracy table: seqclf, PyTorch (the same model) and fastText on the split `seqclf pipeline run`
# uses, for each config. See bench/accuracy/README.md.
#
# Usage: bench/accuracy/run.sh [CONFIG...]          (default: every configs/*.yaml)
# Writes bench/accuracy/results.md and results.json; each run's files go to
# bench/accuracy/out/run-YYYYmmdd-HHMMSS/<config>/.
# Knobs (environment): THREADS (2), PYTHON (/usr/bin/python3), NO_INSTALL=1 (never apt-get),
# SKIP (models to leave out, as "pytorch,fasttext"), TORCH_EPOCHS (0: the config's),
# FASTTEXT_THREADS (THREADS; 1 makes fastText reproducible), KEEP_MODELS=1 (keep fastText's .bin),
# SEQCLF_TIMEOUT / TORCH_TIMEOUT / FASTTEXT_TIMEOUT (seconds, 0: none), NO_IDS_CHECK=1,
# TORCH_OPENBLAS_CORETYPE (auto|none|<core>) and TORCH_OMP_WAIT_POLICY as in bench/run.sh.
set -uo pipefail
cd "$(dirname "$0")/../.."
here=bench/accuracy
threads=${THREADS:-2}
python=${PYTHON:-/usr/bin/python3}
skip=",${SKIP:-},"
if (($#)); then configs=("$@"); else configs=(configs/*.yaml); fi

# Install what is missing (Debian): PyTorch 1.13, OpenBLAS's OpenMP build (PyTorch's fair
# timings; without it PyTorch runs on the reference BLAS), fastText, GNU time. As root, or with sudo.
if [ "${NO_INSTALL:-0}" != 1 ]; then
  missing=()
  "$python" -c 'import torch' 2>/dev/null || missing+=(python3-torch)
  dpkg -s libopenblas0-openmp >/dev/null 2>&1 || missing+=(libopenblas0-openmp)
  command -v fasttext >/dev/null || missing+=(fasttext)
  [ -x /usr/bin/time ] || missing+=(time)
  if ((${#missing[@]})); then
    sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
    echo "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get -qq -o Acquire::Retries=3 update &&
      $sudo apt-get -qq -y -o Acquire::Retries=3 -o DPkg::Lock::Timeout=300 install "${missing[@]}" >/dev/null ||
      echo "warning: apt-get install ${missing[*]} failed: the columns that need them will say so" >&2
  fi
fi
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 1; }

out=$here/out/run-$(date -u +%Y%m%d-%H%M%S)
mkdir -p "$out"
started=$(date -u +'%Y-%m-%d %H:%M UTC')
load=$(cut -d' ' -f1-3 /proc/loadavg)
bin=$out/seqclf
splits=$out/splits
build_err=
go build -o "$bin" ./cmd/seqclf 2>"$out/build.log" && go build -o "$splits" ./$here/splits 2>>"$out/build.log" ||
  build_err="build failed: $(grep -v '^#' "$out/build.log" | head -1)"
[ -z "$build_err" ] || echo "$build_err" >&2

# PyTorch's threads and OpenBLAS core, as bench/run.sh sets them (see bench/README.md).
torch_env=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_NUM_THREADS="$threads" BENCH_THREADS="$threads")
wait_policy=${TORCH_OMP_WAIT_POLICY-PASSIVE}
[ -z "$wait_policy" ] || torch_env+=(OMP_WAIT_POLICY="$wait_policy")
torch_version=none
if "$python" -c 'import torch' 2>/dev/null; then
  torch_version=$("$python" -c 'import torch; print(torch.__version__)')
  want=${TORCH_OPENBLAS_CORETYPE:-auto}
  if [ "$want" = auto ]; then
    want=none
    core=$("${torch_env[@]}" "$python" bench/torch_bench.py info 2>/dev/null | sed -n 's/^OpenBLAS core \([A-Za-z0-9]*\).*/\1/p')
    flags=$(grep -m1 '^flags' /proc/cpuinfo || true)
    if [ -n "$core" ] && grep -qw avx512f <<<"$flags" && ! grep -qE 'SkylakeX|Cooperlake|SapphireRapids' <<<"$core"; then
      want=SkylakeX
    elif [ -n "$core" ] && grep -qw avx2 <<<"$flags" && grep -qE 'Prescott|Core2|Nehalem|Sandybridge|Katmai|Atom' <<<"$core"; then
      want=Haswell
    fi
    [ "$want" = none ] || echo "note: OpenBLAS detected core $core: PyTorch runs with OPENBLAS_CORETYPE=$want"
  fi
  [ "$want" = none ] || torch_env+=(OPENBLAS_CORETYPE="$want")
fi

# measure DIR MODEL TIMEOUT CMD...: runs CMD under /usr/bin/time -v, its output in DIR/MODEL.out
# and .log, and writes DIR/MODEL.status: ok, or why not.
measure() {
  local d=$1 model=$2 limit=$3
  shift 3
  local pre=()
  [ "${limit:-0}" -gt 0 ] 2>/dev/null && pre=(timeout "$limit")
  echo "  $model: $*" >&2
  /usr/bin/time -v -o "$d/$model.time" "${pre[@]}" "$@" >"$d/$model.out" 2>"$d/$model.log"
  local rc=$?
  if [ $rc = 0 ]; then
    echo ok >"$d/$model.status"
  elif [ $rc = 124 ] && ((${#pre[@]})); then
    echo "timed out after ${limit}s" >"$d/$model.status"
  else
    echo "failed (exit $rc): $(tr '\r' '\n' <"$d/$model.log" | grep -v '^\s*$' | grep -v 'Command exited with' | tail -1 | cut -c1-200)" >"$d/$model.status"
  fi
  [ $rc = 0 ]
}

fail() { echo "$3" >"$1/$2.status"; }

for cfg in "${configs[@]}"; do
  name=$(basename "$cfg" .yaml)
  d=$out/$name
  mkdir -p "$d"
  echo "$cfg" >"$d/config"
  echo "== $cfg" >&2
  if [ -n "$build_err" ]; then
    for m in seqclf pytorch fasttext; do fail "$d" $m "$build_err"; done
    continue
  fi
  # The split, as seqclf's pipeline run makes it.
  echo "$here/splits -config $cfg -out $d/splits" >"$d/splits.cmd"
  split_ok=1
  measure "$d" splits 0 "$splits" -config "$cfg" -out "$d/splits" || split_ok=0
  kind=$(sed -n 's/^  "kind": "\(.*\)",$/\1/p' "$d/splits/meta.json" 2>/dev/null)

  # seqclf
  if [[ $skip == *,seqclf,* ]]; then
    fail "$d" seqclf "skipped (SKIP)"
  else
    echo "GOMAXPROCS=$threads seqclf pipeline run $cfg --set output_dir=$d/seqclf" >"$d/seqclf.cmd"
    measure "$d" seqclf "${SEQCLF_TIMEOUT:-0}" env GOMAXPROCS="$threads" "$bin" pipeline run "$cfg" --set output_dir="$d/seqclf"
  fi
  # The split check: the documents of each part, as splits wrote them and as pipeline run said.
  if [ $split_ok = 1 ] && [ -s "$d/seqclf.log" ]; then
    read -r tr va te < <(sed -n 's/.*"\(train\|val\|test\)_docs": \([0-9]*\).*/\2/p' "$d/splits/meta.json" | tr '\n' ' ')
    said=$(grep -m1 -E '^(text|mnist): [0-9]+ training' "$d/seqclf.log")
    if [[ $said =~ ^text:\ ([0-9]+)\ training\ documents,\ ([0-9]+)\ for\ validation,\ ([0-9]+)\ for\ testing ]]; then
      st=(${BASH_REMATCH[1]} ${BASH_REMATCH[2]} ${BASH_REMATCH[3]})
    elif [[ $said =~ ^mnist:\ ([0-9]+)\ training\ images\ \(([0-9]+)\ held\ out\ for\ validation\),\ ([0-9]+)\ test ]]; then
      st=($((BASH_REMATCH[1] - BASH_REMATCH[2])) ${BASH_REMATCH[2]} ${BASH_REMATCH[3]})
    else
      st=()
    fi
    if ((${#st[@]} == 0)); then
      echo "Not checked: pipeline run's log has no count line." >"$d/split-check"
    elif [ "${st[*]}" = "$tr $va $te" ]; then
      echo "Same counts as pipeline run's log (\`$said\`)." >"$d/split-check"
    else
      echo "MISMATCH: pipeline run said \`$said\`; splits wrote $tr/$va/$te." >"$d/split-check"
    fi
    vs=$(sed -n 's/^vocab: \([0-9]*\) entries.*/\1/p' "$d/seqclf.log" | head -1)
    vm=$(sed -n 's/^  "vocab_size": \([0-9]*\),$/\1/p' "$d/splits/meta.json")
    if [ -n "$vs" ]; then
      [ "$vs" = "$vm" ] && echo "Same dictionary size ($vs)." >>"$d/split-check" ||
        echo "MISMATCH: dictionary of $vs entries in pipeline run, $vm in splits." >>"$d/split-check"
    fi
  fi
  # The ids check (text): seqclf's trained model, exported to PyTorch and run on the exported test
  # ids by scripts/seqclf_torch.py, must score what pipeline run reported.
  if [ "$kind" = text ] && [ "$(cat "$d/seqclf.status" 2>/dev/null)" = ok ] && [ "$torch_version" != none ] && [ "${NO_IDS_CHECK:-0}" != 1 ]; then
    echo "  ids check" >&2
    { "$bin" model export --format safetensors --out "$d/seqclf-st" "$d/seqclf/model.db" &&
      "$python" $here/report.py ids "$d/splits" >"$d/test.ids" &&
      "${torch_env[@]}" "$python" scripts/seqclf_torch.py probs "$d/seqclf-st" <"$d/test.ids" >"$d/test.probs" &&
      "$python" $here/report.py ids-check "$d/splits" "$d/test.probs" "$d/seqclf/metrics.json" >"$d/ids-check"
    } 2>"$d/ids-check.log" || echo "Ids check failed: $(tail -1 "$d/ids-check.log" | cut -c1-200)." >"$d/ids-check"
  fi

  # PyTorch
  if [[ $skip == *,pytorch,* ]]; then
    fail "$d" pytorch "skipped (SKIP)"
  elif [ "$torch_version" = none ]; then
    fail "$d" pytorch "PyTorch is not installed for $python (apt-get install python3-torch)"
  elif [ $split_ok = 0 ]; then
    fail "$d" pytorch "no split: $(cat "$d/splits.status")"
  else
    targs=(--splits "$d/splits" --out "$d/pytorch.json")
    [ "${TORCH_EPOCHS:-0}" = 0 ] || targs+=(--epochs "$TORCH_EPOCHS")
    echo "${torch_env[*]:5} $python $here/torch_train.py ${targs[*]}" >"$d/pytorch.cmd"
    measure "$d" pytorch "${TORCH_TIMEOUT:-0}" "${torch_env[@]}" "$python" $here/torch_train.py "${targs[@]}"
  fi

  # fastText: trained on the training part only, tested on the test part.
  if [[ $skip == *,fasttext,* ]]; then
    fail "$d" fasttext "skipped (SKIP)"
  elif [ "$kind" = mnist ]; then
    fail "$d" fasttext "n/a (not text)"
  elif ! command -v fasttext >/dev/null; then
    fail "$d" fasttext "fastText is not installed (apt-get install fasttext)"
  elif [ $split_ok = 0 ]; then
    fail "$d" fasttext "no split: $(cat "$d/splits.status")"
  else
    seed=$(sed -n 's/^    "seed": \([0-9]*\),$/\1/p' "$d/splits/meta.json" | head -1)
    ft=(fasttext supervised -input "$d/splits/train.txt" -output "$d/fasttext" -epoch 25 -wordNgrams 2 -thread "${FASTTEXT_THREADS:-$threads}" -seed "${seed:-42}")
    echo "${ft[*]} && fasttext predict $d/fasttext.bin $d/splits/test.txt" >"$d/fasttext.cmd"
    if measure "$d" fasttext "${FASTTEXT_TIMEOUT:-0}" "${ft[@]}"; then
      if ! fasttext predict "$d/fasttext.bin" "$d/splits/test.txt" >"$d/fasttext.pred" 2>>"$d/fasttext.log" ||
        ! "$python" $here/report.py fasttext-score "$d/splits" "$d/fasttext.pred" "$d/fasttext.json" 2>>"$d/fasttext.log"; then
        fail "$d" fasttext "predict or scoring failed: $(tail -1 "$d/fasttext.log" | cut -c1-200)"
      fi
    fi
    # fastText's model is 2M buckets × 100 floats, about 800 MB: kept only with KEEP_MODELS=1.
    [ "${KEEP_MODELS:-0}" = 1 ] || rm -f "$d/fasttext.bin" "$d/fasttext.vec"
  fi
done

machine="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores"
cat >"$out/run.json" <<EOF
{"started": "$started", "finished": "$(date -u +'%Y-%m-%d %H:%M UTC')", "machine": "$machine", "threads": $threads,
 "load": "$load", "args": "$*", "go": "$(go version | cut -d' ' -f3-)", "torch": "$torch_version",
 "fasttext": "$(dpkg-query -W -f='${Version}' fasttext 2>/dev/null)", "out": "$out"}
EOF
"$python" $here/report.py table "$out" $here/results.md $here/results.json &&
  echo "wrote $here/results.md and $here/results.json (run files in $out)"
