#!/usr/bin/python3
"""Check ONNX files written by `seqclf model export --format onnx` with onnx.checker.

Usage: /usr/bin/python3 scripts/onnx_check.py MODEL.onnx...

Needs the onnx package (Debian: apt-get install python3-onnx). Runs the checker with full
checks (shape inference included) and prints each file's opset, cell, direction and pooling,
inputs and output.
"""
import sys

import onnx


def dims(value):
    return [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]


def main(paths):
    for path in paths:
        model = onnx.load(path)
        onnx.checker.check_model(model, full_check=True)
        opsets = {o.domain or "ai.onnx": o.version for o in model.opset_import}
        ins = {i.name: dims(i) for i in model.graph.input}
        outs = {o.name: dims(o) for o in model.graph.output}
        meta = {p.key: p.value for p in model.metadata_props}
        kind = f"{meta.get('cell', 'lstm')}{' bidirectional' if meta.get('bidirectional') == 'true' else ''} {meta.get('pooling', '')}"
        print(f"{path}: ok (onnx {onnx.__version__}, ir {model.ir_version}, opsets {opsets}, {kind}, inputs {ins}, outputs {outs})")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
