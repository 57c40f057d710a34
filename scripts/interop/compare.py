#!/usr/bin/python3
"""Helpers of scripts/interop_check.sh (no third-party packages).

  compare.py diff NAME CONFIG.json A B     max |A-B| over every input and class; exit 1 if > 1e-5
  compare.py ort-inputs IDS|IMAGES.idx.gz OUT-inputs.json MODEL.onnx
  compare.py ort-probs PROBS.json IDS NAME > probs.json

A and B are `seqclf classify --json` output (one object a line, probabilities by class name) or a
JSON list of lists in CONFIG's class order (seqclf_torch.py, ort-probs).
ONNX answers one row per LSTM run; ort-probs combines a text's runs as seqclf does: the softmax of
the mean log-probability of its runs (one run: the run's own probabilities).
"""
import gzip
import json
import math
import os
import struct
import sys

TOL = float(os.environ.get("INTEROP_TOL", "1e-5"))  # INTEROP_TOL: only to see a failure


def load_probs(path, classes):
    with open(path) as f:
        text = f.read().strip()
    if text.startswith("["):
        return json.loads(text)
    return [[json.loads(l)["probabilities"][c] for c in classes] for l in text.splitlines()]


def read_ids(path):
    with open(path) as f:
        return [[[int(i) for i in run.split()] for run in l.rstrip("\n").split("\t")] for l in f]


def read_images(path):
    with gzip.open(path, "rb") as f:
        b = f.read()
    n, rows, cols = struct.unpack(">III", b[4:16])
    return n, rows, cols, [x / 255 for x in b[16:16 + n * rows * cols]]


def main():
    cmd = sys.argv[1]
    if cmd == "diff":
        name, cfg, a, b = sys.argv[2:6]
        classes = json.load(open(cfg))["classes"]
        pa, pb = load_probs(a, classes), load_probs(b, classes)
        if len(pa) != len(pb):
            print(f"FAIL {name}: {len(pa)} vs {len(pb)} inputs")
            sys.exit(1)
        d = max(abs(x - y) for ra, rb in zip(pa, pb) for x, y in zip(ra, rb))
        ok = d <= TOL
        print(f"{'ok  ' if ok else 'FAIL'} {name:<44} inputs {len(pa):4d}  max|diff| {d:.2e}")
        sys.exit(0 if ok else 1)
    if cmd == "ort-inputs":
        src, out, model = sys.argv[2:5]
        spec = {"model": os.path.basename(model)}
        if src.endswith(".gz"):  # images: float32 [n, rows, cols] (columns: transposed by the caller)
            n, r, c, px = read_images(src)
            if len(sys.argv) > 5 and sys.argv[5] == "columns":
                px = [px[i * r * c + y * c + x] for i in range(n) for x in range(c) for y in range(r)]
                r, c = c, r
            spec["inputs"] = {"images": {"type": "float32", "dims": [n, r, c], "data": px}}
        else:  # text: every run of every line, padded with 0 after its length
            runs = [run for doc in read_ids(src) for run in doc]
            t = max(1, max(len(r) for r in runs))
            data = [x for r in runs for x in r + [0] * (t - len(r))]
            spec["inputs"] = {"ids": {"type": "int64", "dims": [len(runs), t], "data": data},
                              "lengths": {"type": "int64", "dims": [len(runs)], "data": [len(r) for r in runs]}}
        with open(out, "w") as f:
            json.dump(spec, f)
        return
    if cmd == "ort-probs":
        probs, src, name = sys.argv[2:5]
        p = json.load(open(probs))[name]
        k = p["dims"][1]
        rows = [p["data"][i * k:(i + 1) * k] for i in range(p["dims"][0])]
        if src.endswith(".gz"):
            json.dump(rows, sys.stdout)
            return
        out, i = [], 0
        for doc in read_ids(src):
            lp = [sum(math.log(max(rows[i + j][c], 1e-45)) for j in range(len(doc))) / len(doc) for c in range(k)]
            i += len(doc)
            m = max(lp)
            e = [math.exp(x - m) for x in lp]
            out.append([x / sum(e) for x in e])
        assert i == len(rows)
        json.dump(out, sys.stdout)
        return
    if cmd == "head-idx":  # head-idx N IN.gz OUT.gz: the first N items of an IDX file
        n, src, dst = int(sys.argv[2]), sys.argv[3], sys.argv[4]
        with gzip.open(src, "rb") as f:
            b = f.read()
        ndim = b[3]
        dims = list(struct.unpack(">" + "I" * ndim, b[4:4 + 4 * ndim]))
        size = 1
        for d in dims[1:]:
            size *= d
        dims[0] = n
        with gzip.open(dst, "wb") as f:
            f.write(b[:4] + struct.pack(">" + "I" * ndim, *dims) + b[4 + 4 * ndim:4 + 4 * ndim + n * size])
        return
    sys.exit(f"unknown command {cmd}")


main()
