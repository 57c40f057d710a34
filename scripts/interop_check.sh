#!/usr/bin/env bash
# Live interop checks of seqclf's exports, run by .ci/run from the repo root:
#   PyTorch 1.13 on the safetensors export, a PyTorch-trained model imported back, ONNX Runtime
#   (onnxruntime-node 1.30) on the ONNX export, and onnx.checker on the file.
# Each model is tiny (16 units, 1 epoch; LSTM or GRU, one direction or two, every pooling) and
# answers 200 real inputs: 200 mails of the bundled SpamAssassin sample, or MNIST t10k images
# 0..199. Every check prints its largest |difference|
# and must stay within 1e-5; the script exits non-zero if any does not.
#
# Needs: Go, /usr/bin/python3 with torch and onnx, node with onnxruntime-node on NODE_PATH
# (ORT_DIR/node_modules, default /tmp/ort, as .ci/run installs it).
# ONNX answers one row per LSTM run; for a text its runs (sentences, or a long document's chunks)
# are combined here as seqclf does (softmax of the mean log-probability), so ONNX is compared
# against seqclf's per-text probabilities, like PyTorch.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-/usr/bin/python3}
export NODE_PATH=${NODE_PATH:-${ORT_DIR:-/tmp/ort}/node_modules}
H="$PY scripts/interop/compare.py"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
start=$SECONDS
fail=0
check() { $H diff "$@" || fail=1; } # NAME CONFIG A B

go build -o "$T/seqclf" ./cmd/seqclf
S="$T/seqclf"

# Real inputs: 200 mails, one a line (newlines made spaces, as classify reads a text a line), and
# the first 200 t10k images and labels.
$PY - > "$T/texts.txt" <<'PYEOF'
import gzip, json
with gzip.open("configs/data/spamassassin-sample.jsonl.gz", "rt") as f:
    for i, line in enumerate(f):
        if i == 200:
            break
        print(" ".join(json.loads(line)["text"].split()))
PYEOF
[ -f data/mnist/t10k-images-idx3-ubyte.gz ] || bash scripts/fetch-data.sh mnist
IM="$T/images-200.gz" LB="$T/labels-200.gz"
$H head-idx 200 data/mnist/t10k-images-idx3-ubyte.gz "$IM"
$H head-idx 200 data/mnist/t10k-labels-idx1-ubyte.gz "$LB"

tiny=(--set lstm.num_units=16 --set train.epochs=1)
# train NAME CONFIG [--set ...]: a tiny model in $T/NAME/model.db
train() {
  local name=$1 cfg=$2
  shift 2
  "$S" pipeline run "$cfg" "${tiny[@]}" --set "output_dir=$T/$name" "$@" >"$T/$name.log" 2>&1 ||
    { cat "$T/$name.log" >&2; exit 1; }
}
declare -A want # NAME -> "unit-or-slice pooling layers cell bidirectional", checked against the exported config.json
# text NAME UNIT POOLING LAYERS [CELL [BIDIRECTIONAL]], images NAME SLICE POOLING LAYERS [CELL [BIDIRECTIONAL]]
text() { want[$1]="$2 $3 $4 ${5:-lstm} ${6:-false}"; train "$1" configs/default.yaml --set embed.dim=16 --set vocab.max_size=2000 \
  --set tokenize.unit="$2" --set lstm.pooling="$3" --set lstm.num_layers="$4" \
  --set lstm.cell="${5:-lstm}" --set lstm.bidirectional="${6:-false}"; }
images() { want[$1]="$2 $3 $4 ${5:-lstm} ${6:-false}"; train "$1" configs/mnist.yaml --set source.slice="$2" --set lstm.pooling="$3" \
  --set lstm.num_layers="$4" --set lstm.cell="${5:-lstm}" --set lstm.bidirectional="${6:-false}"; }

# Every pooling, unit, cell and direction at least once, two layers on both kinds (and over a
# bidirectional layer), columns once.
#    name                           unit/slice pooling   layers cell bidirectional
text text-sentence-max               sentence  max       1
text text-document-last              document  last      1
text text-sentence-mean              sentence  mean      2
text text-document-mean              document  mean      2
text text-sentence-bigru-attention   sentence  attention 1      gru  true
text text-sentence-gru-mean-2        sentence  mean      2      gru  false
text text-sentence-bilstm-max-2      sentence  max       2      lstm true
images mnist-rows-last                rows     last      1
images mnist-columns-max              columns  max       1
images mnist-rows-mean-2              rows     mean      2
images mnist-rows-bilstm-last         rows     last      1      lstm true

for m in text-sentence-max text-document-last text-sentence-mean text-document-mean \
  text-sentence-bigru-attention text-sentence-gru-mean-2 text-sentence-bilstm-max-2 \
  mnist-rows-last mnist-columns-max mnist-rows-mean-2 mnist-rows-bilstm-last; do
  db="$T/$m/model.db" dir="$T/$m.st" cfg="$T/$m.st/config.json"
  # seqclf's own probabilities.
  if [[ $m == text* ]]; then
    "$S" classify --json --model "$db" < "$T/texts.txt" > "$T/$m.seqclf"
    "$S" tokenize --ids --model "$db" < "$T/texts.txt" > "$T/$m.ids"
    src="$T/$m.ids"
  else
    "$S" classify --json --model "$db" --images "$IM" > "$T/$m.seqclf"
    src=$IM
  fi
  # PyTorch on the safetensors export.
  "$S" model export --format safetensors --out "$dir" "$db" 2>/dev/null
  if [[ $m == text* ]]; then
    $PY scripts/seqclf_torch.py probs "$dir" < "$src" > "$T/$m.torch"
  else
    $PY scripts/seqclf_torch.py images "$dir" "$IM" > "$T/$m.torch"
  fi
  got=$($PY -c 'import json,sys; c=json.load(open(sys.argv[1])); print(c["unit"] if c["kind"] == "text" else c["slice"], c["pooling"], c["num_layers"], c["cell"], str(c["bidirectional"]).lower())' "$cfg")
  [ "$got" = "${want[$m]}" ] || { echo "FAIL $m: trained as \"$got\", want \"${want[$m]}\""; exit 1; }
  check "$m: seqclf vs PyTorch (safetensors)" "$cfg" "$T/$m.seqclf" "$T/$m.torch"
  # onnx.checker and ONNX Runtime on the ONNX export.
  "$S" model export --format onnx --out "$T/$m.onnx" "$db" 2>/dev/null
  if $PY scripts/onnx_check.py "$T/$m.onnx" > "$T/$m.checker" 2>&1; then
    echo "ok   $m: onnx.checker"
  else
    cat "$T/$m.checker"; echo "FAIL $m: onnx.checker"; fail=1
  fi
  slice=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1])).get("slice", ""))' "$cfg")
  $H ort-inputs "$src" "$T/onnx-$m-inputs.json" "$T/$m.onnx" "$slice"
  node scripts/ort_check.js "$T/onnx-$m-inputs.json" > "$T/$m.ortraw" 2>/dev/null
  $H ort-probs "$T/$m.ortraw" "$src" "$m" > "$T/$m.ort"
  check "$m: seqclf vs ONNX Runtime" "$cfg" "$T/$m.seqclf" "$T/$m.ort"
done

# Trained for an epoch in PyTorch (two layers), imported, classified by seqclf: an LSTM of each
# kind, and a bidirectional GRU with attention (its bias_hh not zero: import adds r's and z's).
$PY scripts/seqclf_torch.py train "$T/text-sentence-max.st" "$T/torch-text" \
  < "$T/text-sentence-max.ids" > "$T/torch-text.torch"
$PY scripts/seqclf_torch.py train "$T/text-sentence-max.st" "$T/torch-text-bigru-attention" \
  --cell gru --bidirectional --pooling attention < "$T/text-sentence-max.ids" > "$T/torch-text-bigru-attention.torch"
$PY scripts/seqclf_torch.py train-images "$T/mnist-rows-last.st" "$T/torch-mnist" "$IM" "$LB" > "$T/torch-mnist.torch"
for m in torch-text torch-text-bigru-attention torch-mnist; do
  "$S" model import --from "$T/$m" --out "$T/$m.db" 2>/dev/null
  if [[ $m == torch-text* ]]; then
    "$S" classify --json --model "$T/$m.db" < "$T/texts.txt" > "$T/$m.seqclf"
  else
    "$S" classify --json --model "$T/$m.db" --images "$IM" > "$T/$m.seqclf"
  fi
  check "$m: PyTorch-trained vs seqclf (imported)" "$T/$m/config.json" "$T/$m.torch" "$T/$m.seqclf"
done

echo "interop checks: $((SECONDS - start))s, $([ $fail = 0 ] && echo PASS || echo FAIL)"
exit $fail
