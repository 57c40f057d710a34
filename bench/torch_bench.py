#!/usr/bin/python3
"""PyTorch's half of seqclf's side-by-side benchmark (see bench/README.md).

The same models as bench/seqclf-bench (nn.LSTM, one layer, the last real step's output into
nn.Linear, cross-entropy, Adam lr 1e-3), the same data in the same batches, and the same
measurements; it writes one JSON result in seqclf-bench's format.

    torch_bench.py info
    torch_bench.py mnist --data data/mnist --out result.json
    torch_bench.py spam --ids bench/out/spam-ids.txt --out result.json
    torch_bench.py gemm --out result.json
    torch_bench.py save-model --json model.json --out model.pt    # a seqclf model, for classify
    torch_bench.py classify --model model.pt < one-line.txt      # the cold-start side
"""
import argparse
import ctypes
import gzip
import json
import os
import resource
import statistics
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence

THREADS = int(os.environ.get("BENCH_THREADS", "2"))
torch.set_num_threads(THREADS)
# Denormal gradients deep in a 256-step backward pass cost PyTorch 1.13 up to 6× per step here;
# flushing them to zero is PyTorch's documented remedy, so it is on unless BENCH_FLUSH_DENORMAL=0.
FLUSH_DENORMAL = os.environ.get("BENCH_FLUSH_DENORMAL", "1") != "0" and torch.set_flush_denormal(True)
LR = 0.001
INFER_BATCH = 256


def blas_info():
    """Which BLAS the process has loaded, and OpenBLAS's own view of its kernel, if it is OpenBLAS."""
    torch.matmul(torch.ones(64, 64), torch.ones(64, 64))  # make sure the BLAS is loaded
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            p = line.split()[-1]
            if "blas" in os.path.basename(p).lower() and p.startswith("/"):
                libs.add(os.path.realpath(p))
    parts = []
    for lib in sorted(libs):
        try:
            h = ctypes.CDLL(lib)
        except OSError:
            parts.append(lib)
            continue
        if not hasattr(h, "openblas_get_corename"):
            parts.append(lib)
            continue
        h.openblas_get_corename.restype = ctypes.c_char_p
        h.openblas_get_config.restype = ctypes.c_char_p
        parts.append(f"OpenBLAS core {h.openblas_get_corename().decode()} ({h.openblas_get_config().decode()}; "
                     f"{h.openblas_get_num_threads()} threads; {lib})")
        break  # the other mapped names are the same library
    cap = [l.strip() for l in torch.__config__.show().splitlines() if "CPU capability" in l]
    env = {k: os.environ.get(k, "(unset)") for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_NUM_THREADS", "OMP_WAIT_POLICY")}
    return "; ".join(parts or ["no BLAS library mapped"]) + f"; torch {torch.__version__}, {'; '.join(cap)}, " \
        f"threads {torch.get_num_threads()}, flush_denormal {FLUSH_DENORMAL}, env {env}"


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_result(path, r):
    r.update(side="pytorch", threads=torch.get_num_threads())
    text = json.dumps(r, indent=2) + "\n"
    if path in ("", "-"):
        sys.stdout.write(text)
    else:
        with open(path, "w") as f:
            f.write(text)


def lstm_flops(inp, h):
    return 2.0 * (inp + h) * 4 * h


def train_flops(tokens, samples, inp, h, classes):
    return 3 * (tokens * lstm_flops(inp, h) + samples * 2.0 * h * classes)


class Classifier(nn.Module):
    """nn.LSTM (one layer, time-major) whose output at each sample's last real step goes through nn.Linear.

    A padded batch runs the LSTM over all its steps and takes each sample's output at its last
    real step (the steps after it cannot change it). packed=True packs the batch instead
    (pack_padded_sequence, enforce_sorted=False): the harness's first baseline, whose backward
    pass in PyTorch 1.13 on the CPU took seconds a step (bench/README.md)."""

    def __init__(self, inp, units, classes, vocab=0, packed=False):
        super().__init__()
        # sparse: the gradient holds only the batch's rows, for SparseAdam (lazy Adam, as seqclf's).
        self.embed = nn.Embedding(vocab, inp, padding_idx=0, sparse=not packed) if vocab else None
        self.lstm = nn.LSTM(inp, units)
        self.head = nn.Linear(units, classes)
        self.packed = packed

    def forward(self, x, lengths=None):
        if self.embed is not None:
            x = self.embed(x)  # [T, B] ids -> [T, B, E]
        if lengths is None:
            _, (h, _) = self.lstm(x)
            return self.head(h[-1])
        if self.packed:
            _, (h, _) = self.lstm(pack_padded_sequence(x, lengths, enforce_sorted=False))
            return self.head(h[-1])
        out, _ = self.lstm(x)
        return self.head(out[lengths - 1, torch.arange(x.shape[1])])


def measure(args, model, batches, infer_batches, singles, tokens_of):
    """Trains on batches (warmup first), then times inference at batch 256 and single samples.
    batches and infer_batches are functions of an index returning (inputs, lengths, labels)."""
    if model.embed is not None and model.embed.sparse:
        dense = [p for n, p in model.named_parameters() if not n.startswith("embed.")]
        opts = [torch.optim.SparseAdam(list(model.embed.parameters()), lr=LR), torch.optim.Adam(dense, lr=LR)]
    else:
        opts = [torch.optim.Adam(model.parameters(), lr=LR)]
    model.train()

    def step(i):
        x, lengths, y = batches(i)
        for opt in opts:
            opt.zero_grad()
        loss = F.cross_entropy(model(x, lengths), y)
        loss.backward()
        for opt in opts:
            opt.step()
        return len(y), tokens_of(lengths, x)

    for i in range(args.warmup):
        step(i)
    samples = tokens = done = 0
    t0 = time.perf_counter()
    for i in range(args.warmup, args.warmup + args.steps):  # stops after the step that passes max_time
        s, t = step(i)
        samples += s
        tokens += t
        done += 1
        if time.perf_counter() - t0 > args.max_time:
            break
    secs = time.perf_counter() - t0
    train_peak = peak_rss_mib()  # before inference: the peak of training

    model.eval()
    with torch.no_grad():
        x, lengths, _ = infer_batches(0)
        torch.softmax(model(x, lengths), 1)
        n = 0
        t0 = time.perf_counter()
        for i in range(1, args.infer_batches + 1):
            x, lengths, y = infer_batches(i)
            torch.softmax(model(x, lengths), 1)
            n += len(y)
        infer = n / (time.perf_counter() - t0)
        for i in range(10):
            torch.softmax(model(singles(i)), 1)
        lat = []
        for i in range(args.latency_calls):
            t0 = time.perf_counter()
            x = singles(i)
            torch.softmax(model(x), 1)
            lat.append((time.perf_counter() - t0) * 1e3)
    return dict(train_steps=done, train_samples_per_s=samples / secs, train_tokens_per_s=tokens / secs,
                train_secs=secs, infer_samples_per_s=infer, latency_median_ms=statistics.median(lat),
                train_peak_rss_mib=train_peak,
                latency_calls=args.latency_calls), tokens, samples, secs


def read_idx(path):
    with gzip.open(path, "rb") as f:
        b = f.read()
    magic, = struct.unpack(">I", b[:4])
    dims = struct.unpack(">" + "I" * (magic & 0xFF), b[4:4 + 4 * (magic & 0xFF)])
    return np.frombuffer(b, dtype=np.uint8, offset=4 + 4 * len(dims)).reshape(dims)


def run_mnist(args):
    images = read_idx(os.path.join(args.data, "train-images-idx3-ubyte.gz"))  # uint8 [N, 28, 28], as seqclf keeps them
    labels = torch.from_numpy(read_idx(os.path.join(args.data, "train-labels-idx1-ubyte.gz")).astype(np.int64))
    torch.manual_seed(1)
    model = Classifier(28, 128, 10)

    def batch(lo, hi):
        x = torch.from_numpy(images[lo:hi].copy()).float().div_(255).transpose(0, 1)  # [T=rows, B, 28]
        return x, None, labels[lo:hi]

    res, tokens, samples, secs = measure(
        args, model,
        lambda i: batch(i * 128, (i + 1) * 128),
        lambda i: batch(i * INFER_BATCH, (i + 1) * INFER_BATCH),
        lambda i: batch(i, i + 1)[0],
        lambda lengths, x: x.shape[0] * x.shape[1])
    res.update(task="mnist", round=args.round, train_gflops=train_flops(tokens, samples, 28, 128, 10) / secs / 1e9,
               peak_rss_mib=peak_rss_mib(), backend=blas_info())
    return res


def read_ids(path):
    with open(path) as f:
        head = f.readline().split()
        if head[:2] != ["seqclf-bench-ids", "v1"]:
            raise SystemExit(f"{path}: not an id file written by seqclf-bench encode-spam")
        vocab = int(head[2].split("=")[1])
        docs, labels = [], []
        for line in f:
            label, ids = line.rstrip("\n").split("\t")
            labels.append(int(label))
            docs.append(np.array(ids.split(), dtype=np.int64))
    return vocab, docs, labels


def run_spam(args):
    vocab, docs, labels = read_ids(args.ids)
    need = max((args.warmup + args.steps) * 64, (args.infer_batches + 1) * INFER_BATCH)
    if len(docs) < need:  # as seqclf-bench: too few documents for the batches, said in one line
        sys.exit(f"torch_bench: {args.ids} has {len(docs)} documents: {args.warmup + args.steps} training "
                 f"batches of 64 and {args.infer_batches + 1} of {INFER_BATCH} need {need} (raise SPAM_DOCS)")
    torch.manual_seed(1)
    model = Classifier(100, 128, 2, vocab=vocab, packed=args.packed)

    def batch(lo, hi):
        seqs = docs[lo:hi]
        lengths = torch.tensor([len(s) for s in seqs])
        x = np.zeros((int(lengths.max()), len(seqs)), dtype=np.int64)  # time-major, padded with id 0
        for b, s in enumerate(seqs):
            x[:len(s), b] = s
        return torch.from_numpy(x), lengths, torch.tensor(labels[lo:hi])

    res, tokens, samples, secs = measure(
        args, model,
        lambda i: batch(i * 64, (i + 1) * 64),
        lambda i: batch(i * INFER_BATCH, (i + 1) * INFER_BATCH),
        lambda i: torch.from_numpy(docs[i % len(docs)]).unsqueeze(1),  # one document, no padding
        lambda lengths, x: int(lengths.sum()))
    res.update(task="spam", round=args.round, train_gflops=train_flops(tokens, samples, 100, 128, 2) / secs / 1e9,
               peak_rss_mib=peak_rss_mib(), backend=blas_info(),
               mean_tokens_per_sample=sum(map(len, docs)) / len(docs),
               note="packed batches, dense Adam (the first baseline)" if args.packed else
               "padded batches, output at the last real step; sparse embedding, SparseAdam")
    return res


# The same shapes as seqclf-bench's gemm command (m, n, k).
GEMM_SHAPES = [(512, 512, 512), (1024, 1024, 1024), (128, 512, 156), (64, 512, 228), (3584, 512, 28)]


def run_gemm(args):
    peak, parts = 0.0, []
    for m, n, k in GEMM_SHAPES:
        a, b = torch.rand(m, k) * 2 - 1, torch.rand(k, n) * 2 - 1
        c = torch.empty(m, n)
        torch.matmul(a, b, out=c)
        best = 0.0
        for _ in range(3):
            reps, t0 = 0, time.perf_counter()
            while time.perf_counter() - t0 < args.min_time / 3:
                torch.matmul(a, b, out=c)
                reps += 1
            best = max(best, 2.0 * m * n * k * reps / (time.perf_counter() - t0) / 1e9)
        peak = max(peak, best)
        parts.append(f"{m}x{n}x{k}:{best:.1f}")
    return dict(task="gemm", gemm_peak_gflops=peak, gemm_shapes=" ".join(parts), backend="torch.matmul; " + blas_info())


class Served(nn.Module):
    """A seqclf text model in PyTorch, for the cold start: embedding, one nn.LSTM layer, pooling
    over the steps (max or last), nn.Linear."""

    def __init__(self, rows, dim, units, classes, pooling):
        super().__init__()
        self.embed = nn.Embedding(rows, dim)
        self.lstm = nn.LSTM(dim, units)
        self.head = nn.Linear(units, classes)
        self.pooling = pooling

    def forward(self, ids):  # [T, 1]
        out, (h, _) = self.lstm(self.embed(ids))
        return self.head(out.max(0).values if self.pooling == "max" else h[-1])


def save_model(args):
    """Converts the JSON that seqclf-bench export-model wrote into a torch.save file: the same
    weights (seqclf's fused W, (in+H)×4H with gates i, f, g, o, is PyTorch's [W_ih W_hh]ᵀ), the
    dictionary and the settings classify needs."""
    with open(args.json) as f:
        j = json.load(f)
    e, l, h = j["embed"], j["lstm"], j["head"]
    units, dim, classes = l["units"], e["dim"], len(j["labels"])
    m = Served(e["rows"], dim, units, classes, j["pooling"])
    w = torch.tensor(l["w"]).view(dim + units, 4 * units)
    with torch.no_grad():
        m.embed.weight.copy_(torch.tensor(e["data"]).view(e["rows"], dim))
        m.lstm.weight_ih_l0.copy_(w[:dim].t())
        m.lstm.weight_hh_l0.copy_(w[dim:].t())
        m.lstm.bias_ih_l0.copy_(torch.tensor(l["b"]))
        m.lstm.bias_hh_l0.zero_()
        m.head.weight.copy_(torch.tensor(h["w"]).view(units, classes).t())
        m.head.bias.copy_(torch.tensor(h["b"]))
    torch.save(dict(state=m.state_dict(), tokens=j["tokens"], unk=j["unk"], labels=j["labels"], pooling=j["pooling"],
                    time_step=j["time_step"], lowercase=j["lowercase"]), args.out)


def classify(args):
    """The cold start: load the saved model, read one line, tokenize it (lowercase, words and
    punctuation by a regular expression), print the label and its probability."""
    import re
    saved = torch.load(args.model)
    ids_of = {t: i for i, t in enumerate(saved["tokens"])}
    state = saved["state"]
    rows, dim = state["embed.weight"].shape
    m = Served(rows, dim, state["lstm.weight_hh_l0"].shape[1], len(saved["labels"]), saved["pooling"])
    m.load_state_dict(state)
    m.eval()
    line = sys.stdin.readline()
    if saved["lowercase"]:
        line = line.lower()
    ids = [ids_of.get(t, saved["unk"]) for t in re.findall(r"\w+|[^\w\s]", line)][:saved["time_step"]] or [saved["unk"]]
    with torch.no_grad():
        p = torch.softmax(m(torch.tensor(ids).unsqueeze(1)), 1)[0]
    k = int(p.argmax())
    print(f"{saved['labels'][k]}\t{float(p[k]):.4f}", flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("info")
    for name, steps, infer, calls in (("mnist", 60, 24, 200), ("spam", 16, 6, 50)):
        s = sub.add_parser(name)
        s.add_argument("--out", default="-")
        s.add_argument("--round", type=int, default=1)
        s.add_argument("--warmup", type=int, default=2)
        s.add_argument("--steps", type=int, default=steps)
        s.add_argument("--infer-batches", type=int, default=infer)
        s.add_argument("--latency-calls", type=int, default=calls)
        s.add_argument("--max-time", type=float, default=30.0, help="seconds; stop the timed training steps after the step that passes this")
        s.add_argument("--variant", default="", help="recorded in the result, a row of its own in the table (avx2: OpenBLAS held to Haswell's kernels by run.sh)")
        if name == "mnist":
            s.add_argument("--data", default="data/mnist")
        else:
            s.add_argument("--ids", default="bench/out/spam-ids.txt")
            s.add_argument("--packed", action="store_true", help="the first baseline: packed batches, dense embedding gradient and Adam")
    sv = sub.add_parser("save-model")
    sv.add_argument("--json", required=True)
    sv.add_argument("--out", required=True)
    cl = sub.add_parser("classify")
    cl.add_argument("--model", required=True)
    g = sub.add_parser("gemm")
    g.add_argument("--out", default="-")
    g.add_argument("--min-time", type=float, default=0.3)
    g.add_argument("--round", type=int, default=0, help="ignored: the peak is measured once")
    args = p.parse_args()
    if args.cmd == "info":
        print(blas_info())
        return
    if args.cmd in ("save-model", "classify"):
        {"save-model": save_model, "classify": classify}[args.cmd](args)
        return
    r = {"mnist": run_mnist, "spam": run_spam, "gemm": run_gemm}[args.cmd](args)
    if getattr(args, "variant", ""):
        r["variant"] = args.variant
    write_result(args.out, r)


if __name__ == "__main__":
    main()
