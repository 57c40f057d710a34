#!/usr/bin/env python3
"""seqclf's model in PyTorch: load a directory written by `seqclf model export --format
safetensors`, or write one from a model trained here for `seqclf model import`.

The model is nn.Embedding (text only) -> nn.LSTM or nn.GRU (batch_first, one direction or
bidirectional, as config.json's cell and bidirectional say) -> pooling over a run's real steps
(last, mean, max or additive attention) -> nn.Linear -> softmax. Pooling "last" of a
bidirectional model is [forward final state ; backward final state] (h_n[-2], h_n[-1]); attention
is u_t = tanh(attention.weight·o_t + attention.bias), s_t = u_t·attention.v, alpha = softmax(s)
over the run's steps, pooled = sum_t alpha_t o_t. Tokenizing stays in seqclf: the ids come from
`seqclf tokenize --ids --model MODEL.db` (one line per text, runs separated by tabs, ids by
spaces). With unit sentence a text's probabilities are the softmax of the mean log-probability of
its runs, as in seqclf.

    seqclf tokenize --ids --model M.db < texts.txt | python3 scripts/seqclf_torch.py probs DIR
    python3 scripts/seqclf_torch.py images DIR images-idx3-ubyte.gz
    seqclf tokenize --ids --model M.db < texts.txt | python3 scripts/seqclf_torch.py train FROM OUT

`train-images FROM OUT IMAGES LABELS` does the same for images (two layers, max pooling, columns).
`train` trains one epoch of a small two-layer model (an LSTM, mean pooling) on those ids, using
FROM's vocab.txt and input settings, writes it to OUT and prints its probabilities as JSON;
`--cell gru`, `--bidirectional` and `--pooling P` after OUT train another kind.

The safetensors reader and writer are the few lines below: PyTorch 1.13 has none, and the
`safetensors` package is not needed.
"""
import gzip
import json
import os
import struct
import sys

import torch
from torch import nn


def read_safetensors(path):
    with open(path, "rb") as f:
        b = f.read()
    (n,) = struct.unpack("<Q", b[:8])
    head = json.loads(b[8:8 + n])
    meta = head.pop("__metadata__", {})
    data = b[8 + n:]
    out = {}
    for name, e in head.items():
        if e["dtype"] != "F32":
            raise ValueError(f"{name}: dtype {e['dtype']}, want F32")
        lo, hi = e["data_offsets"]
        t = torch.frombuffer(bytearray(data[lo:hi]), dtype=torch.float32)
        out[name] = t.reshape(e["shape"]).clone()
    return out, meta


def write_safetensors(path, tensors, meta):
    head, off, blobs = {"__metadata__": meta}, 0, []
    for name in sorted(tensors):
        t = tensors[name].detach().to(torch.float32).contiguous()
        raw = t.numpy().astype("<f4").tobytes()
        head[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        off += len(raw)
        blobs.append(raw)
    hb = json.dumps(head, separators=(",", ":")).encode()
    hb += b" " * (-len(hb) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)) + hb + b"".join(blobs))


class Attention(nn.Module):
    """Additive attention pooling, as seqclf's: state_dict attention.weight [H, E] (nn.Linear(E, H)'s
    layout), attention.bias [H], attention.v [H]."""

    def __init__(self, e, h):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(h, e))
        self.bias = nn.Parameter(torch.zeros(h))
        self.v = nn.Parameter(torch.empty(h))
        nn.init.xavier_uniform_(self.weight)
        nn.init.uniform_(self.v, -(6 / (h + 1)) ** 0.5, (6 / (h + 1)) ** 0.5)

    def forward(self, out):
        """out: [T, E], every step real; returns [E]."""
        u = torch.tanh(nn.functional.linear(out, self.weight, self.bias))
        alpha = torch.softmax(u @ self.v, 0)
        return alpha @ out


class SeqClf(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.cell = cfg.get("cell") or "lstm"  # directories written before GRU have no cell
        self.dirs = 2 if cfg.get("bidirectional") else 1
        if cfg["kind"] == "text":
            self.embedding = nn.Embedding(cfg["vocab_size"], cfg["input_dim"])
        rnn = {"lstm": nn.LSTM, "gru": nn.GRU}[self.cell]
        # Registered as lstm or gru: the state_dict's prefix.
        setattr(self, self.cell, rnn(cfg["input_dim"], cfg["num_units"], cfg["num_layers"], batch_first=True,
                                     bidirectional=self.dirs == 2))
        e = self.dirs * cfg["num_units"]
        self.fc = nn.Linear(e, len(cfg["classes"]))
        if cfg["pooling"] == "attention":
            self.attention = Attention(e, cfg["num_units"])

    @property
    def rnn(self):
        return getattr(self, self.cell)

    def run_logits(self, x):
        """Logits of one run: x is [T] ids (text) or [T, I] inputs."""
        if self.cfg["kind"] == "text":
            x = self.embedding(x)
        if x.shape[0] == 0:
            pooled = torch.zeros(self.dirs * self.cfg["num_units"])
        else:
            out, h_n = self.rnn(x.unsqueeze(0))
            if self.cell == "lstm":
                h_n = h_n[0]
            out = out[0]
            pooled = {"last": lambda: torch.cat(list(h_n[-self.dirs:, 0]), 0), "mean": lambda: out.mean(0),
                      "max": lambda: out.max(0).values, "attention": lambda: self.attention(out)}[self.cfg["pooling"]]()
        return self.fc(pooled)

    def doc_probs(self, runs):
        """A text's probabilities from its runs: the softmax of the mean log-probability."""
        if not runs:
            runs = [[]]
        probs = [torch.softmax(self.run_logits(torch.tensor(r, dtype=torch.long)), 0) for r in runs]
        if len(probs) == 1:
            return probs[0]
        logp = torch.log(torch.stack(probs).double().clamp(min=1e-30))
        return torch.softmax(logp.mean(0), 0)


def load(d):
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    m = SeqClf(cfg)
    tensors, _ = read_safetensors(os.path.join(d, "model.safetensors"))
    m.load_state_dict(tensors)
    return m.eval(), cfg


def read_ids(lines):
    return [[[int(i) for i in run.split()] for run in line.rstrip("\n").split("\t")] for line in lines]


def read_images(path):
    with gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb") as f:
        b = f.read()
    n, rows, cols = struct.unpack(">III", b[4:16])
    return torch.tensor(list(b[16:16 + n * rows * cols]), dtype=torch.float32).reshape(n, rows, cols) / 255


def main():
    torch.set_grad_enabled(False)
    cmd = sys.argv[1]
    if cmd == "probs":
        m, _ = load(sys.argv[2])
        out = [m.doc_probs(runs).tolist() for runs in read_ids(sys.stdin)]
    elif cmd == "images":
        m, cfg = load(sys.argv[2])
        im = read_images(sys.argv[3])
        if cfg["slice"] == "columns":
            im = im.transpose(1, 2)
        out = [torch.softmax(m.run_logits(x), 0).tolist() for x in im]
    elif cmd == "train":
        opts, rest = {}, sys.argv[4:]
        while rest:
            if rest[0] == "--bidirectional":
                opts["bidirectional"], rest = True, rest[1:]
            elif rest[0] in ("--cell", "--pooling") and len(rest) > 1:
                opts[rest[0][2:]], rest = rest[1], rest[2:]
            else:
                sys.exit(f"train: unknown option {rest[0]}: use --cell lstm|gru, --bidirectional, --pooling P")
        out = train(sys.argv[2], sys.argv[3], read_ids(sys.stdin), **opts)
    elif cmd == "train-images":
        out = train_images(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5])
    else:
        sys.exit(f"unknown command {cmd}: use probs, images or train")
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


def train(src, dst, docs, cell="lstm", bidirectional=False, pooling="mean"):
    """One epoch of a small two-layer model on docs, labelled by a fixed rule."""
    torch.manual_seed(1)
    with open(os.path.join(src, "config.json")) as f:
        cfg = json.load(f)
    cfg.update(input_dim=4, num_units=5, num_layers=2, cell=cell, bidirectional=bidirectional, pooling=pooling,
               classes=["a", "b", "c"])
    m = SeqClf(cfg)
    with torch.no_grad():
        for name, p in m.rnn.named_parameters():
            if name.startswith("bias_hh"):
                p.uniform_(-0.5, 0.5)  # PyTorch's own init: nonzero, so import's sum is tested
    opt = torch.optim.Adam(m.parameters(), lr=0.05)
    with torch.enable_grad():
        for d, runs in enumerate(docs):
            for r in runs:
                if not r:
                    continue
                opt.zero_grad()
                loss = nn.functional.cross_entropy(m.run_logits(torch.tensor(r)).unsqueeze(0), torch.tensor([d % 3]))
                loss.backward()
                opt.step()
    m.eval()
    save(m, cfg, dst)
    with open(os.path.join(src, "vocab.txt")) as f, open(os.path.join(dst, "vocab.txt"), "w") as g:
        g.write(f.read())
    return [m.doc_probs(runs).tolist() for runs in docs]


def train_images(src, dst, images, labels):
    """One epoch of a small two-layer, max-pooled model reading columns of images."""
    torch.manual_seed(2)
    with open(os.path.join(src, "config.json")) as f:
        cfg = json.load(f)
    cfg.update(num_units=6, num_layers=2, cell="lstm", bidirectional=False, pooling="max", slice="columns")
    m = SeqClf(cfg)
    im = read_images(images).transpose(1, 2)
    with gzip.open(labels, "rb") if labels.endswith(".gz") else open(labels, "rb") as f:
        y = list(f.read()[8:])
    opt = torch.optim.Adam(m.parameters(), lr=0.02)
    with torch.enable_grad():
        for x, label in zip(im, y):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(m.run_logits(x).unsqueeze(0), torch.tensor([label]))
            loss.backward()
            opt.step()
    m.eval()
    save(m, cfg, dst)
    return [torch.softmax(m.run_logits(x), 0).tolist() for x in im]


def save(m, cfg, dst):
    os.makedirs(dst, exist_ok=True)
    with open(os.path.join(dst, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    meta = {"format": cfg["format"], "version": str(cfg["version"]), "kind": cfg["kind"],
            "classes": json.dumps(cfg["classes"]), "pooling": cfg["pooling"], "time_step": str(cfg["time_step"]),
            "num_layers": str(cfg["num_layers"]), "cell": cfg.get("cell") or "lstm",
            "bidirectional": "true" if cfg.get("bidirectional") else "false"}
    if cfg["kind"] == "text":
        meta.update(unit=cfg["unit"], tokenizer=json.dumps(cfg["tokenize"]))
    else:
        meta.update(slice=cfg["slice"])
    write_safetensors(os.path.join(dst, "model.safetensors"), m.state_dict(), meta)


if __name__ == "__main__":
    main()
