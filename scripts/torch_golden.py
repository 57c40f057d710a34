#!/usr/bin/python3
"""Writes the PyTorch golden fixtures that lstm's parity tests read (lstm/testdata/torch_*.json).

Run with Debian's PyTorch 1.13 (apt-get install python3-torch):
    /usr/bin/python3 scripts/torch_golden.py
The fixtures are committed, so the Go tests do not need PyTorch.

Layout conversions to seqclf's fused weights (see lstm's package doc):
    W = [weight_ih.T ; weight_hh.T]   ((input_dim + H) × 4H, gate order i, f, g, o in both)
    b = bias_ih + bias_hh             (4H)
    head.w = linear.weight.T          (H × classes)
Arrays are flattened row-major; x and outputs are time-major [T][B][dim].
"""
import json
import os

import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lstm", "testdata")


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


class Net(nn.Module):
    def __init__(self, input_dim, units, layers, classes):
        super().__init__()
        self.lstm = nn.LSTM(input_dim, units, num_layers=layers)
        self.head = nn.Linear(units, classes)

    def forward(self, x, lengths, pooling):
        packed = pack_padded_sequence(x, torch.tensor(lengths), enforce_sorted=False)
        out_packed, (h_n, _) = self.lstm(packed)
        out, _ = pad_packed_sequence(out_packed, total_length=x.shape[0])  # zeros at padding
        steps = torch.arange(x.shape[0]).unsqueeze(1)
        real = (steps < torch.tensor(lengths).unsqueeze(0)).unsqueeze(2)  # T × B × 1
        if pooling == "last":
            pooled = h_n[-1]
        elif pooling == "mean":
            pooled = out.sum(0) / torch.tensor(lengths, dtype=x.dtype).unsqueeze(1)
        else:
            pooled = out.masked_fill(~real, float("-inf")).max(0).values
        return out, pooled, self.head(pooled)


def params(net):
    """The model's parameters in seqclf's layout and names."""
    d = {}
    for k in range(net.lstm.num_layers):
        wih = getattr(net.lstm, f"weight_ih_l{k}")
        whh = getattr(net.lstm, f"weight_hh_l{k}")
        d[f"lstm.{k}.w"] = flat(torch.cat([wih.t(), whh.t()], 0))
        d[f"lstm.{k}.b"] = flat(getattr(net.lstm, f"bias_ih_l{k}") + getattr(net.lstm, f"bias_hh_l{k}"))
    d["head.w"] = flat(net.head.weight.t())
    d["head.b"] = flat(net.head.bias)
    return d


def grads(net):
    """The gradients in seqclf's layout: bias_ih and bias_hh have the same gradient, that of b."""
    d = {}
    for k in range(net.lstm.num_layers):
        wih = getattr(net.lstm, f"weight_ih_l{k}")
        whh = getattr(net.lstm, f"weight_hh_l{k}")
        d[f"lstm.{k}.w"] = flat(torch.cat([wih.grad.t(), whh.grad.t()], 0))
        d[f"lstm.{k}.b"] = flat(getattr(net.lstm, f"bias_ih_l{k}").grad)
    d["head.w"] = flat(net.head.weight.grad.t())
    d["head.b"] = flat(net.head.bias.grad)
    return d


def case(name, seed, input_dim, units, layers, classes, steps, lengths, pooling, class_weights=None):
    torch.manual_seed(seed)
    net = Net(input_dim, units, layers, classes)
    batch = len(lengths)
    # Padding steps hold random values, not zeros: the model must ignore them.
    x = torch.randn(steps, batch, input_dim, requires_grad=True)
    labels = torch.randint(0, classes, (batch,))
    out, pooled, logits = net(x, lengths, pooling)
    weight = None if class_weights is None else torch.tensor(class_weights)
    loss = nn.functional.cross_entropy(logits, labels, weight=weight)
    loss.backward()
    g = grads(net)
    g["x"] = flat(x.grad)
    fixture = {
        "name": name,
        "input_dim": input_dim, "num_units": units, "num_layers": layers, "classes": classes,
        "steps": steps, "lengths": lengths, "pooling": pooling,
        "labels": labels.tolist(), "class_weights": class_weights,
        "x": flat(x), "params": params(net),
        "outputs": flat(out), "pooled": flat(pooled), "logits": flat(logits), "loss": float(loss),
        "grads": g,
    }
    write(f"torch_{name}.json", fixture)
    return net, x, labels, lengths, pooling


def optim_fixture(net, x, labels, lengths, pooling):
    """Two steps of each optimizer from the same start, with the gradients torch computed.

    PyTorch's two biases would each take a step, twice ours on their sum: here bias_ih holds the
    sum and bias_hh is frozen at zero, so that the optimizer sees seqclf's one bias.
    """
    with torch.no_grad():
        for k in range(net.lstm.num_layers):
            bih, bhh = getattr(net.lstm, f"bias_ih_l{k}"), getattr(net.lstm, f"bias_hh_l{k}")
            bih += bhh
            bhh.zero_()
            bhh.requires_grad_(False)
    trainable = [p for p in net.parameters() if p.requires_grad]
    start = {k: v.detach().clone() for k, v in net.state_dict().items()}
    runs = [
        ("sgd", dict(lr=0.1, momentum=0.9, weight_decay=1e-3), 0.0),
        ("adam", dict(lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-3), 0.0),
        ("adamw", dict(lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01), 0.0),
        ("adam", dict(lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0), 0.5),
    ]
    out = {"name": "optim", "initial": params(net), "runs": []}
    for kind, kw, clip in runs:
        net.load_state_dict(start)
        cls = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[kind]
        opt = cls(trainable, **kw)
        run = {"kind": kind, "lr": kw["lr"], "momentum": kw.get("momentum", 0.0),
               "weight_decay": kw["weight_decay"], "clip": clip, "steps": []}
        for _ in range(2):
            opt.zero_grad()
            _, _, logits = net(x.detach(), lengths, pooling)
            nn.functional.cross_entropy(logits, labels).backward()
            g = grads(net)  # before clipping: the Go test clips them itself
            norm = None
            if clip:
                norm = float(torch.nn.utils.clip_grad_norm_(trainable, clip))
            opt.step()
            run["steps"].append({"grads": g, "norm": norm, "params": params(net)})
        out["runs"].append(run)
    write("torch_optim.json", out)


def write(name, obj):
    path = os.path.join(OUT, name)
    with open(path, "w") as f:
        json.dump(obj, f)
    print(path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    torch.set_num_threads(1)
    first = case("lstm2_last", 1, input_dim=5, units=6, layers=2, classes=3, steps=7,
                 lengths=[7, 3, 5, 1], pooling="last")
    case("lstm2_mean_weighted", 2, input_dim=4, units=5, layers=2, classes=3, steps=6,
         lengths=[2, 6, 4], pooling="mean", class_weights=[0.5, 2.0, 1.0])
    case("lstm1_max", 3, input_dim=3, units=4, layers=1, classes=2, steps=5,
         lengths=[5, 1, 3, 4], pooling="max")
    optim_fixture(*first)
