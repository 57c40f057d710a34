#!/bin/sh
# Regenerates the PyTorch fixtures of package export from the repository's root:
#   sh export/testdata/gen.sh
# It needs a Python with torch (1.13 made the committed files). Each variant is a saved model of
# store/testdata exported, its config.json changed (pooling, unit), imported back; PyTorch
# (scripts/seqclf_torch.py) gives its probabilities from the exported directory and seqclf's ids.
set -eu
PY=${PY:-/usr/bin/python3}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
go build -o "$T/seqclf" ./cmd/seqclf
S=store/testdata
X=export/testdata
IM=idx/testdata/mnist-t10k-20-images-idx3-ubyte.gz
LB=idx/testdata/mnist-t10k-20-labels-idx1-ubyte.gz
# variant NAME MODEL.db POOLING UNIT-or-SLICE
variant() {
	"$T/seqclf" model export --format safetensors --out "$T/$1" "$2" 2>/dev/null
	$PY - "$T/$1/config.json" "$3" "$4" <<'PYEOF'
import json, sys
p, pool, unit = sys.argv[1:]
c = json.load(open(p))
c["pooling"] = pool
c["unit" if c["kind"] == "text" else "slice"] = unit
json.dump(c, open(p, "w"), indent=2)
PYEOF
	"$T/seqclf" model import --from "$T/$1" --out "$T/$1.db" 2>/dev/null
	case $1 in
	text*)
		"$T/seqclf" tokenize --ids --model "$T/$1.db" < $X/texts.txt > "$T/$1.ids"
		$PY scripts/seqclf_torch.py probs "$T/$1" < "$T/$1.ids" > "$T/$1.json" ;;
	*)
		$PY scripts/seqclf_torch.py images "$T/$1" $IM > "$T/$1.json" ;;
	esac
}
variant text-sentence-max $S/model-v3-text.db max sentence
variant text-sentence-last $S/model-v3-text.db last sentence
variant text-sentence-mean $S/model-v3-text.db mean sentence
variant text-document-max $S/model-v3-text.db max document
variant text-document-last $S/model-v3-text.db last document
variant mnist-rows-last $S/model-v3-mnist.db last rows
variant mnist-rows-mean $S/model-v3-mnist.db mean rows
variant mnist-columns-max $S/model-v3-mnist.db max columns
$PY - "$T" > $X/torch-probs.json <<'PYEOF'
import json, os, sys
d = sys.argv[1]
out = {f[:-5]: json.load(open(os.path.join(d, f))) for f in sorted(os.listdir(d)) if f.endswith(".json")}
json.dump(out, sys.stdout, indent=1)
print()
PYEOF
# Models trained in PyTorch: two layers, nonzero bias_hh; an LSTM of each kind and a text
# bidirectional GRU with attention.
rm -rf $X/torch-text $X/torch-mnist
$PY scripts/seqclf_torch.py train "$T/text-sentence-max" $X/torch-text < "$T/text-sentence-max.ids" > "$T/torch-text-probs"
mv "$T/torch-text-probs" $X/torch-text/probs.json
rm -rf $X/torch-text-bigru-attention
$PY scripts/seqclf_torch.py train "$T/text-sentence-max" $X/torch-text-bigru-attention --cell gru --bidirectional \
	--pooling attention < "$T/text-sentence-max.ids" > "$T/torch-text-bigru-attention-probs"
mv "$T/torch-text-bigru-attention-probs" $X/torch-text-bigru-attention/probs.json
$PY scripts/seqclf_torch.py train-images "$T/mnist-rows-last" $X/torch-mnist $IM $LB > "$T/torch-mnist-probs"
mv "$T/torch-mnist-probs" $X/torch-mnist/probs.json
