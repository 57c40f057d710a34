#!/usr/bin/env python3
"""Train and test, in PyTorch 1.13, the model a seqclf config describes, on the split that
`bench/accuracy/splits` wrote for it (the same documents, token ids and starting embedding table
that `seqclf pipeline run CONFIG` uses).

    python3 bench/accuracy/torch_train.py --splits DIR --out RESULT.json [--epochs N]

The model: nn.Embedding (rows and starting values from DIR/embed.f32: seqclf's dictionary and its
table, pretrained vectors included; frozen if embed.trainable is false) or the MNIST rows (pixels
/255), nn.LSTM or nn.GRU layers (lstm.cell) of lstm.num_units, lstm.num_layers, bidirectional or
not, dropout on the inputs (lstm.input_dropout) and between layers (lstm.dropout), pooling over each
sample's real steps (last, mean, max, or additive attention as scripts/torch_golden.py writes it),
nn.Linear head, cross-entropy. The optimizer is train.optimizer (adam, adamw, sgd with momentum
0.9) on the dense weights, with the gradients' global norm clipped to
train.clip_norm; the table takes SparseAdam (lazy Adam, as seqclf's), or plain SGD with sgd,
unclipped, as seqclf's; train.weight_decay on the dense weights (L2 for adam and sgd, decoupled
for adamw); train.schedule (constant, cosine, onecycle) and train.warmup_steps set both rates before
each step as seqclf's train.Schedule does; train.class_weights weigh the training loss as
torch's CrossEntropyLoss(weight=...) does. Padded batches of train.batch_size in a random order each epoch. After each
epoch the validation loss is measured per document; the weights of the epoch with the lowest are
kept, and training stops after train.early_stopping_patience epochs without a lower one.

With tokenize.unit sentence a document's answer is the softmax of the mean log-probability of its
samples, as seqclf's classify.CombineByDoc; a sample without a token pools to zeros, as seqclf's.
Initialisation follows seqclf's lstm package: input weights Glorot-uniform per gate, recurrent
weights orthogonal per gate, biases zero but the LSTM forget gate's 1, the head Glorot-uniform.
"""
import argparse
import gzip
import json
import math
import os
import resource
import struct
import sys
import time

import torch
from torch import nn
import torch.nn.functional as F

THREADS = int(os.environ.get("BENCH_THREADS", "2"))
torch.set_num_threads(THREADS)
torch.set_flush_denormal(True)  # denormals deep in a long backward pass cost 1.13 several times

KNOWN_TRAIN_KEYS = {"batch_size", "epochs", "optimizer", "learning_rate", "clip_norm", "early_stopping_patience",
                    "schedule", "warmup_steps", "weight_decay", "class_weights"}


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------- data

def read_jsonl(path, classes):
    """Documents of a split: (doc, label id, [ids tensor per sample])."""
    cid = {c: i for i, c in enumerate(classes)}
    docs = []
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            docs.append((r["doc"], cid[r["label"]], [torch.tensor(s, dtype=torch.long) for s in r["ids"]]))
    return docs


def samples_of(docs, drop_empty):
    xs, ys, ds = [], [], []
    for d, y, runs in docs:
        for r in runs:
            if drop_empty and len(r) == 0:
                continue
            xs.append(r)
            ys.append(y)
            ds.append(d)
    return xs, torch.tensor(ys, dtype=torch.long), torch.tensor(ds, dtype=torch.long)


def read_idx(path):
    with open(path, "rb") as f:
        b = f.read()
    if b[:2] == b"\x1f\x8b":
        b = gzip.decompress(b)
    (magic,) = struct.unpack(">I", b[:4])
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, b[4:4 + 4 * ndim])
    t = torch.frombuffer(bytearray(b[4 + 4 * ndim:]), dtype=torch.uint8)
    return t.reshape(dims)


# --------------------------------------------------------------------------------------- model

def glorot_(w, fan_in, fan_out):
    lim = math.sqrt(6 / (fan_in + fan_out))
    with torch.no_grad():
        w.uniform_(-lim, lim)


class Net(nn.Module):
    def __init__(self, cfg, kind, input_dim, classes, table=None):
        super().__init__()
        lc = cfg["lstm"]
        self.cell = lc.get("cell") or "lstm"
        self.bidi = bool(lc.get("bidirectional"))
        self.pooling = lc["pooling"]
        self.dropout, self.in_dropout = lc.get("dropout", 0), lc.get("input_dropout", 0)
        h, layers = lc["num_units"], lc["num_layers"]
        self.embed = None
        if kind == "text":
            self.embed = nn.Embedding(table.shape[0], table.shape[1], padding_idx=0, sparse=True)
            with torch.no_grad():
                self.embed.weight.copy_(table)
            self.embed.weight.requires_grad_(bool(cfg["embed"]["trainable"]))
        rnn = {"lstm": nn.LSTM, "gru": nn.GRU}[self.cell]
        dirs = 2 if self.bidi else 1
        self.fwd, self.bwd = nn.ModuleList(), nn.ModuleList()
        d = input_dim
        for _ in range(layers):
            self.fwd.append(rnn(d, h, batch_first=True))
            if self.bidi:
                self.bwd.append(rnn(d, h, batch_first=True))
            d = dirs * h
        for m in list(self.fwd) + list(self.bwd):
            self.init_rnn(m, h)
        e = dirs * h
        if self.pooling == "attention":
            self.att_w = nn.Linear(e, h)
            self.att_v = nn.Linear(h, 1, bias=False)
            glorot_(self.att_w.weight, e, h)
            nn.init.zeros_(self.att_w.bias)
            glorot_(self.att_v.weight, h, 1)
        self.head = nn.Linear(e, classes)
        glorot_(self.head.weight, e, classes)
        nn.init.zeros_(self.head.bias)

    def init_rnn(self, m, h):
        gates = 4 if self.cell == "lstm" else 3
        with torch.no_grad():
            wih, whh = m.weight_ih_l0, m.weight_hh_l0
            for g in range(gates):
                glorot_(wih[g * h:(g + 1) * h], wih.shape[1], h)
                nn.init.orthogonal_(whh[g * h:(g + 1) * h])
            m.bias_ih_l0.zero_()
            m.bias_hh_l0.zero_()
            if self.cell == "lstm":
                m.bias_ih_l0[h:2 * h] = 1

    def dense_parameters(self):
        return [p for n, p in self.named_parameters() if not n.startswith("embed.")]

    def forward(self, x, lengths):
        """x: [B, T] ids or [B, T, I] inputs; lengths: [B]. Returns logits [B, classes]."""
        if self.embed is not None:
            x = self.embed(x)
        x = F.dropout(x, self.in_dropout, self.training)
        b, t = x.shape[0], x.shape[1]
        steps = torch.arange(t).unsqueeze(0)
        real = steps < lengths.unsqueeze(1)  # B × T
        if self.bidi:
            # Each sample reversed within its real steps, padding left at the end.
            rev = torch.where(real, lengths.unsqueeze(1) - 1 - steps, steps)
        for k in range(len(self.fwd)):
            if k > 0:
                x = F.dropout(x, self.dropout, self.training)
            out, _ = self.fwd[k](x)
            if self.bidi:
                ri = rev.unsqueeze(2).expand(-1, -1, x.shape[2])
                ob, _ = self.bwd[k](torch.gather(x, 1, ri))
                ob = torch.gather(ob, 1, rev.unsqueeze(2).expand(-1, -1, ob.shape[2]))
                out = torch.cat([out, ob], 2)
            x = out
        has = (lengths > 0).unsqueeze(1).to(x.dtype)
        m = real.unsqueeze(2)
        if self.pooling == "last":
            last = (lengths - 1).clamp(min=0)
            h = self.fwd[-1].hidden_size
            pooled = x[torch.arange(b), last]
            if self.bidi:
                # The backward direction ends at step 0: [forward h_n ; backward h_n].
                pooled = torch.cat([pooled[:, :h], x[:, 0, h:]], 1)
        elif self.pooling == "mean":
            pooled = (x * m).sum(1) / lengths.clamp(min=1).unsqueeze(1).to(x.dtype)
        elif self.pooling == "max":
            pooled = x.masked_fill(~m, float("-inf")).max(1).values
            pooled = torch.where(has > 0, pooled, torch.zeros_like(pooled))
        elif self.pooling == "attention":
            s = self.att_v(torch.tanh(self.att_w(x))).squeeze(2)  # B × T
            s = s.masked_fill(~real, float("-inf"))
            s = torch.where((lengths > 0).unsqueeze(1), s, torch.zeros_like(s))
            alpha = torch.softmax(s, 1)
            pooled = (alpha.unsqueeze(2) * x).sum(1)
        else:
            raise ValueError(f"lstm.pooling {self.pooling}: not mirrored")
        return self.head(pooled * has)


# ------------------------------------------------------------------------------------ training

class TextData:
    def __init__(self, xs, ys, ds):
        self.xs, self.ys, self.ds = xs, ys, ds
        self.lens = torch.tensor([len(x) for x in xs], dtype=torch.long)

    def __len__(self):
        return len(self.xs)

    def batch(self, idx):
        idx = idx.tolist()
        lens = self.lens[idx]
        t = max(int(lens.max()), 1)
        x = torch.zeros(len(idx), t, dtype=torch.long)
        for j, i in enumerate(idx):
            n = len(self.xs[i])
            if n:
                x[j, :n] = self.xs[i]
        return x, lens, self.ys[idx]


class ImageData:
    def __init__(self, images, ys, columns):
        self.im = images.transpose(1, 2).contiguous() if columns else images
        self.ys, self.ds = ys, torch.arange(len(ys))
        self.lens = torch.full((len(ys),), self.im.shape[1], dtype=torch.long)

    def __len__(self):
        return len(self.ys)

    def batch(self, idx):
        return self.im[idx].to(torch.float32) / 255, self.lens[idx], self.ys[idx]


def predict_logp(model, data, bs=256):
    """Log-probabilities of every sample, [N, classes], batched by length for speed."""
    model.eval()
    order = torch.argsort(data.lens, stable=True)
    out = None
    with torch.no_grad():
        for lo in range(0, len(data), bs):
            idx = order[lo:lo + bs]
            x, lens, _ = data.batch(idx)
            lp = F.log_softmax(model(x, lens).double(), 1)
            if out is None:
                out = torch.empty(len(data), lp.shape[1], dtype=torch.float64)
            out[idx] = lp
    return out


def by_document(logp, data, docs):
    """Per-document probabilities: the softmax of the mean (clamped) log-probability of its samples."""
    lp = logp.clamp(min=math.log(1e-30))
    s = torch.zeros(docs, lp.shape[1], dtype=torch.float64).index_add_(0, data.ds, lp)
    n = torch.zeros(docs, dtype=torch.float64).index_add_(0, data.ds, torch.ones(len(data.ds), dtype=torch.float64))
    p = torch.softmax(s / n.clamp(min=1).unsqueeze(1), 1)
    truth = torch.zeros(docs, dtype=torch.long).index_copy_(0, data.ds, data.ys)
    return p, truth


def scores(truth, pred, k):
    """Accuracy and macro-F1 as seqclf's report.Evaluate: the mean F1 of the classes that occur
    in the truth or the predictions."""
    conf = torch.zeros(k, k, dtype=torch.long)
    conf.index_put_((truth, pred), torch.ones(len(truth), dtype=torch.long), accumulate=True)
    f1s = []
    for c in range(k):
        tp, sup, prd = int(conf[c, c]), int(conf[c].sum()), int(conf[:, c].sum())
        if sup == 0 and prd == 0:
            continue
        p = tp / prd if prd else 0.0
        r = tp / sup if sup else 0.0
        f1s.append(2 * p * r / (p + r) if p + r > 0 else 0.0)
    return float((truth == pred).double().mean()), sum(f1s) / len(f1s), conf.tolist()


def rate(kind, lr, warmup, step, total):
    """The learning rate of step (from 0) of total, as seqclf's train.Schedule.Rate."""
    step = max(0, min(step, total - 1))
    frac = lambda x, n: 1.0 if n <= 0 else min(x / n, 1.0)  # noqa: E731
    anneal = lambda a, b, p: b + (a - b) * (1 + math.cos(math.pi * p)) / 2  # noqa: E731
    if kind == "onecycle":
        start = lr / 25
        end = start / 1e4
        peak = 0.3 * total - 1 if warmup <= 0 else warmup - 1
        if step <= peak:
            return anneal(start, lr, frac(step, peak))
        return anneal(lr, end, frac(step - peak, total - 1 - peak))
    if step < warmup:
        return lr * (step + 1) / warmup
    if kind == "cosine":
        return lr * (1 + math.cos(math.pi * frac(step - warmup, total - warmup))) / 2
    return lr


def class_weights(cw, classes, ys):
    """train.class_weights as seqclf's ClassWeights.weights: None, balanced or label weights."""
    if not cw:
        return None
    k = len(classes)
    if cw == "balanced":
        n = torch.bincount(ys, minlength=k).double()
        return torch.where(n > 0, len(ys) / (k * n.clamp(min=1)), torch.ones(k, dtype=torch.float64)).float()
    w = torch.ones(k)
    for label, v in cw.items():
        for c, name in enumerate(classes):
            if name.lower() == label:
                w[c] = float(v)
    return w


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--splits", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--epochs", type=int, default=0, help="override train.epochs (0: the config's)")
    a = ap.parse_args()
    t0 = time.time()
    with open(os.path.join(a.splits, "meta.json")) as f:
        meta = json.load(f)
    cfg, classes, kind = meta["config"], meta["classes"], meta["kind"]
    tc = cfg["train"]
    notes = []
    extra = sorted(k for k, v in tc.items() if k not in KNOWN_TRAIN_KEYS and v not in (None, "", 0, "constant", False))
    if extra:
        notes.append("train keys not mirrored: " + ", ".join(extra))
    torch.manual_seed(cfg["seed"])
    k = len(classes)

    if kind == "text":
        raw = open(os.path.join(a.splits, "embed.f32"), "rb").read()
        table = torch.frombuffer(bytearray(raw), dtype=torch.float32).reshape(meta["vocab_size"], meta["embed_dim"]).clone()
        splits = {}
        for name in ("train", "val", "test"):
            docs = read_jsonl(os.path.join(a.splits, name + ".jsonl"), classes)
            splits[name] = (TextData(*samples_of(docs, drop_empty=(name == "train"))), len(docs))
        model = Net(cfg, kind, meta["embed_dim"], k, table)
    else:
        sc = cfg["source"]
        im, lb = read_idx(sc["train_images"]), read_idx(sc["train_labels"]).long()
        with open(os.path.join(a.splits, "val-indexes.txt")) as f:
            held = torch.tensor([int(x) for x in f.read().split()], dtype=torch.long)
        is_val = torch.zeros(len(lb), dtype=torch.bool)
        is_val[held] = True
        cols = sc.get("slice") == "columns"
        tr, va = (~is_val).nonzero().squeeze(1), is_val.nonzero().squeeze(1)
        splits = {"train": (ImageData(im[tr], lb[tr], cols), len(tr)), "val": (ImageData(im[va], lb[va], cols), len(va))}
        if sc.get("test_images"):
            tim, tlb = read_idx(sc["test_images"]), read_idx(sc["test_labels"]).long()
            splits["test"] = (ImageData(tim, tlb, cols), len(tlb))
        model = Net(cfg, kind, splits["train"][0].im.shape[2], k)
    train, _ = splits["train"]
    val, val_docs = splits["val"]
    log(f"torch {torch.__version__}, {torch.get_num_threads()} threads; {len(train)} training samples, "
        f"{len(val)} validation samples of {val_docs} documents; loaded in {time.time() - t0:.1f}s")

    dense = model.dense_parameters()
    lr, opt_name, wd = tc["learning_rate"], tc["optimizer"], tc.get("weight_decay", 0) or 0
    if opt_name == "adam":
        opts = [torch.optim.Adam(dense, lr=lr, weight_decay=wd)]
    elif opt_name == "adamw":
        opts = [torch.optim.AdamW(dense, lr=lr, weight_decay=wd)]
    elif opt_name == "sgd":
        opts = [torch.optim.SGD(dense, lr=lr, momentum=0.9, weight_decay=wd)]
    else:
        raise SystemExit(f"train.optimizer {opt_name}: not mirrored")
    if model.embed is not None and model.embed.weight.requires_grad:
        emb = [model.embed.weight]
        opts.append(torch.optim.SGD(emb, lr=lr) if opt_name == "sgd" else torch.optim.SparseAdam(emb, lr=lr))

    epochs = a.epochs or tc["epochs"]
    patience, bs, clip = tc.get("early_stopping_patience", 0), tc["batch_size"], tc.get("clip_norm", 0)
    gen = torch.Generator().manual_seed(cfg["seed"])
    kind_sched, warmup = tc.get("schedule") or "constant", tc.get("warmup_steps", 0) or 0
    steps_per_epoch = (len(train) + bs - 1) // bs
    total_steps = epochs * steps_per_epoch
    weights = class_weights(tc.get("class_weights"), classes, train.ys)
    best_loss, best_state, best_epoch, bad, history = math.inf, None, 0, 0, []
    t_train = time.time()
    for epoch in range(1, epochs + 1):
        te = time.time()
        model.train()
        order = torch.randperm(len(train), generator=gen)
        loss_sum, correct = 0.0, 0
        for step, lo in enumerate(range(0, len(train), bs)):
            x, lens, y = train.batch(order[lo:lo + bs])
            if kind_sched != "constant" or warmup > 0:
                r = rate(kind_sched, lr, warmup, (epoch - 1) * steps_per_epoch + step, total_steps)
                for o in opts:
                    for g in o.param_groups:
                        g["lr"] = r
            for o in opts:
                o.zero_grad(set_to_none=True)
            logits = model(x, lens)
            loss = F.cross_entropy(logits, y, weight=weights)
            loss.backward()
            if clip and clip > 0:
                torch.nn.utils.clip_grad_norm_(dense, clip)
            for o in opts:
                o.step()
            loss_sum += float(loss) * len(y)
            correct += int((logits.argmax(1) == y).sum())
        p, truth = by_document(predict_logp(model, val), val, val_docs)
        vloss = float(-torch.log(p[torch.arange(val_docs), truth].clamp(min=1e-30)).mean())
        vacc = float((p.argmax(1) == truth).double().mean())
        history.append({"epoch": epoch, "train_loss": loss_sum / len(train), "train_accuracy": correct / len(train),
                        "val_loss": vloss, "val_accuracy": vacc, "seconds": time.time() - te})
        log(f"epoch {epoch}/{epochs}: train loss {loss_sum / len(train):.4f}  val loss {vloss:.4f}  "
            f"val acc {100 * vacc:.2f}%  {time.time() - te:.1f}s")
        if vloss < best_loss:
            best_loss, best_epoch, bad = vloss, epoch, 0
            best_state = {n: t.detach().clone() for n, t in model.state_dict().items()}
        else:
            bad += 1
        if patience and bad >= patience:
            log(f"early stopping: no lower validation loss in {patience} epochs")
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    train_secs = time.time() - t_train

    res = {"torch": torch.__version__, "threads": torch.get_num_threads(), "epochs_run": len(history),
           "best_epoch": best_epoch, "history": history, "train_seconds": train_secs, "notes": notes,
           "samples": {"train": len(train), "val": len(val)}}
    if "test" in splits:
        test, test_docs = splits["test"]
        p, truth = by_document(predict_logp(model, test), test, test_docs)
        acc, f1, conf = scores(truth, p.argmax(1), k)
        res.update(accuracy=acc, macro_f1=f1, test_docs=test_docs, confusion=conf, classes=classes)
        log(f"test: {test_docs} documents, accuracy {100 * acc:.2f}%, macro-F1 {f1:.4f} (epoch {best_epoch}'s weights)")
    res["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    res["seconds"] = time.time() - t0
    with open(a.out, "w") as f:
        json.dump(res, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
