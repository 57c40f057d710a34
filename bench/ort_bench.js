#!/usr/bin/env node
// ONNX Runtime's half of the inference comparison in bench/ (see bench/README.md): it runs
// seqclf's own ONNX export of the model seqclf-bench saved (`seqclf model export --format onnx`)
// on the samples and batches that `seqclf-bench mnist|spam -model` uses, and writes one JSON
// result in seqclf-bench's format (side "onnxruntime", task "mnist-infer" or "spam-infer").
//
// Usage:
//   node bench/ort_bench.js mnist --model M.onnx --data data/mnist --out result.json [--round N]
//   node bench/ort_bench.js spam --model M.onnx --ids spam-ids.txt --out result.json [--round N]
// Flags: --infer-batches (24 for MNIST, 6 for SpamAssassin) timed batches of 256 after the first
// one run 3 times untimed, --latency-calls (200, 50) one-sample calls after 10 untimed (the last samples), --threads (BENCH_THREADS, 2)
// intra-op threads. The training flags of MNIST_ARGS and SPAM_ARGS (--warmup, --steps, --max-time,
// --variant) are accepted and ignored. ORT_SPINNING=0 stops the intra-op threads spinning between
// operators (ONNX Runtime spins by default).
//
// Each timed call builds its input tensors from the raw data (pixels scaled to [0, 1]; ids padded
// to the batch's longest sample), as seqclf's Predictor fills its batch inside the timed call.
// Needs onnxruntime-node on NODE_PATH (bench/run.sh installs it).
'use strict';

const fs = require('fs');
const zlib = require('zlib');
const ort = require('onnxruntime-node');

const INFER_BATCH = 256;
// The first batch runs this many times untimed, as in seqclf-bench's inference-only rounds: the
// second batch a session ran still took 2–4 times its later ones.
const INFER_WARMUP = 3;

function parseArgs(argv) {
  const task = argv[0];
  if (task !== 'mnist' && task !== 'spam') {
    console.error('usage: node bench/ort_bench.js mnist|spam --model M.onnx (--data DIR | --ids FILE) --out R.json');
    process.exit(2);
  }
  const a = {
    task, model: '', data: 'data/mnist', ids: 'bench/out/spam-ids.txt', out: '-', round: 1,
    inferBatches: task === 'mnist' ? 24 : 6, latencyCalls: task === 'mnist' ? 200 : 50,
    threads: Number(process.env.BENCH_THREADS || 2),
  };
  const names = {
    '--model': 'model', '--data': 'data', '--ids': 'ids', '--out': 'out', '--round': 'round',
    '--infer-batches': 'inferBatches', '--latency-calls': 'latencyCalls', '--threads': 'threads',
  };
  const ignored = new Set(['--warmup', '--steps', '--max-time', '--variant']);
  for (let i = 1; i < argv.length; i++) {
    let [flag, value] = argv[i].split(/=(.*)/s, 2);
    if (!flag.startsWith('--')) flag = '-' + flag; // Go's -flag spelling too
    if (value === undefined) value = argv[++i];
    if (value === undefined) throw new Error(`flag ${flag} needs a value`);
    if (ignored.has(flag)) continue;
    const key = names[flag];
    if (!key) throw new Error(`unknown flag ${flag}`);
    a[key] = typeof a[key] === 'number' ? Number(value) : value;
  }
  if (!a.model) throw new Error('--model is required');
  return a;
}

// mnistInputs reads the MNIST training images; batch(first, n) makes the images input of
// images first..first+n-1 (float32 [n, 28, 28], pixels / 255, row by row as seqclf's rows).
function mnistInputs(dir) {
  const b = zlib.gunzipSync(fs.readFileSync(`${dir}/train-images-idx3-ubyte.gz`));
  if (b.readUInt32BE(0) !== 0x803) throw new Error(`${dir}: not an IDX file of images`);
  const count = b.readUInt32BE(4), rows = b.readUInt32BE(8), cols = b.readUInt32BE(12);
  const px = b.subarray(16), size = rows * cols;
  return {
    count,
    batch(first, n) {
      const x = new Float32Array(n * size);
      const src = px.subarray(first * size, (first + n) * size);
      for (let i = 0; i < x.length; i++) x[i] = src[i] / 255;
      return { images: new ort.Tensor('float32', x, [n, rows, cols]) };
    },
  };
}

// spamInputs reads an id file of seqclf-bench encode-spam; batch(first, n) makes the ids and
// lengths inputs of mails first..first+n-1, each padded with 0 to the longest of them.
function spamInputs(path) {
  const lines = fs.readFileSync(path, 'utf8').split('\n');
  if (!lines[0].startsWith('seqclf-bench-ids v1 ')) throw new Error(`${path}: not an id file of seqclf-bench encode-spam`);
  const docs = [];
  for (const line of lines.slice(1)) {
    if (line === '') continue;
    const ids = line.slice(line.indexOf('\t') + 1).split(' ').filter((s) => s !== '');
    docs.push(BigInt64Array.from(ids, (s) => BigInt(s)));
  }
  return {
    count: docs.length,
    batch(first, n) {
      let t = 1;
      for (let j = 0; j < n; j++) t = Math.max(t, docs[first + j].length);
      const ids = new BigInt64Array(n * t), lengths = new BigInt64Array(n);
      for (let j = 0; j < n; j++) {
        const d = docs[first + j];
        ids.set(d, j * t);
        lengths[j] = BigInt(d.length);
      }
      return { ids: new ort.Tensor('int64', ids, [n, t]), lengths: new ort.Tensor('int64', lengths, [n]) };
    },
  };
}

function median(xs) {
  const s = [...xs].sort((x, y) => x - y);
  const n = s.length;
  return n === 0 ? 0 : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

const seconds = (t0) => Number(process.hrtime.bigint() - t0) / 1e9;

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const data = a.task === 'mnist' ? mnistInputs(a.data) : spamInputs(a.ids);
  const need = (a.inferBatches + 1) * INFER_BATCH;
  if (data.count < need || data.count < a.latencyCalls + 10) throw new Error(`${data.count} samples: need ${need} for inference`);
  const spinning = process.env.ORT_SPINNING !== '0';
  const options = {
    intraOpNumThreads: a.threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all',
    extra: { session: { intra_op: { allow_spinning: spinning ? '1' : '0' } } },
  };
  const session = await ort.InferenceSession.create(a.model, options);

  // Batch 256: the first batch (samples 0..255) untimed, then inferBatches timed ones after it.
  for (let i = 0; i < INFER_WARMUP; i++) await session.run(data.batch(0, INFER_BATCH));
  let t0 = process.hrtime.bigint();
  for (let k = 1; k <= a.inferBatches; k++) {
    await session.run(data.batch(k * INFER_BATCH, INFER_BATCH));
  }
  const inferSamplesPerS = (a.inferBatches * INFER_BATCH) / seconds(t0);

  // Batch 1: the last 10 samples untimed (as in seqclf-bench, whose text models remember the
  // tokens met: none of the timed samples is met before its call), then sample i of call i.
  for (let i = data.count - 10; i < data.count; i++) await session.run(data.batch(i, 1));
  const lat = [];
  for (let i = 0; i < a.latencyCalls; i++) {
    t0 = process.hrtime.bigint();
    await session.run(data.batch(i % data.count, 1));
    lat.push(seconds(t0) * 1e3);
  }

  const version = require('onnxruntime-node/package.json').version;
  const r = {
    side: 'onnxruntime', task: `${a.task}-infer`, round: a.round, threads: a.threads,
    infer_samples_per_s: inferSamplesPerS, latency_median_ms: median(lat), latency_calls: a.latencyCalls,
    peak_rss_mib: process.resourceUsage().maxRSS / 1024,
    backend: `onnxruntime-node ${version} (Node ${process.version}), CPU execution provider, ` +
      `${a.threads} intra-op threads${spinning ? '' : ', not spinning'}, graph optimization all`,
  };
  const text = JSON.stringify(r, null, 2) + '\n';
  if (a.out === '-' || a.out === '') process.stdout.write(text);
  else fs.writeFileSync(a.out, text);
}

main().catch((err) => {
  console.error(`ort_bench.js: ${err.stack || err}`);
  process.exit(1);
});
