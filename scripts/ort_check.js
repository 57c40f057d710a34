#!/usr/bin/env node
// Runs ONNX files written by `seqclf model export --format onnx` with ONNX Runtime and prints
// their probabilities as JSON, keyed by case name, as export/testdata/onnx-probs.json holds them.
//
// Usage: node scripts/ort_check.js INPUTS.json...
//
// Each INPUTS.json (export/testdata/onnx-*-inputs.json, written by
// `go test ./export -run ONNXMatches -update-onnx`) names its .onnx file, which lies beside it,
// and holds the graph's inputs as {"type": "int64" | "float32", "dims": [...], "data": [...]}.
// The case name is the file name without onnx- and -inputs.json.
//
// Needs onnxruntime-node (its CPU library ships in the package), e.g.
//   (mkdir -p /tmp/ort && cd /tmp/ort && ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node@1.30.0)
//   NODE_PATH=/tmp/ort/node_modules node scripts/ort_check.js export/testdata/onnx-*-inputs.json \
//     > export/testdata/onnx-probs.json
'use strict';

const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

function tensor(t) {
  switch (t.type) {
    case 'int64':
      return new ort.Tensor('int64', BigInt64Array.from(t.data, (x) => BigInt(x)), t.dims);
    case 'float32':
      return new ort.Tensor('float32', Float32Array.from(t.data), t.dims);
    default:
      throw new Error(`unknown tensor type ${t.type}`);
  }
}

async function main(files) {
  if (files.length === 0) {
    console.error('usage: node scripts/ort_check.js INPUTS.json...');
    process.exit(2);
  }
  const out = {};
  for (const file of files) {
    const spec = JSON.parse(fs.readFileSync(file, 'utf8'));
    const session = await ort.InferenceSession.create(path.join(path.dirname(file), spec.model));
    const feeds = {};
    for (const [name, t] of Object.entries(spec.inputs)) {
      feeds[name] = tensor(t);
    }
    const result = await session.run(feeds);
    const probs = result.probabilities;
    const name = path.basename(file).replace(/^onnx-/, '').replace(/-inputs\.json$/, '');
    out[name] = { type: 'float32', dims: probs.dims, data: Array.from(probs.data) };
  }
  const names = Object.keys(out).sort();
  const lines = names.map((n) => `${JSON.stringify(n)}: ${JSON.stringify(out[n])}`);
  process.stdout.write(`{\n${lines.join(',\n')}\n}\n`);
  console.error(`onnxruntime-node ${require('onnxruntime-node/package.json').version}: ${names.length} models run`);
}

main(process.argv.slice(2)).catch((err) => {
  console.error(err);
  process.exit(1);
});
