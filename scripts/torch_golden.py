#!/usr/bin/python3
"""Writes the PyTorch golden fixtures that lstm's parity tests read (lstm/testdata/torch_*.json).

Run with Debian's PyTorch 1.13 (apt-get install python3-torch):
    /usr/bin/python3 scripts/torch_golden.py
The fixtures are committed, so the Go tests do not need PyTorch. The script pins OpenBLAS to its
generic x86-64 kernels (OPENBLAS_CORETYPE=Prescott), with which the committed files were written:
with another CPU's own kernels the last bit of some values would change.

Layout conversions to seqclf's fused weights (see lstm's package doc). Arrays are flattened
row-major; x and outputs are time-major [T][B][dim]. D is a layer's input size (input_dim for
layer 0, H or 2H above it), H = num_units, E = the top layer's output size: H, or 2H when
bidirectional (forward direction then backward, PyTorch's order, also for the inputs of layer
k ≥ 1).

LSTM, layer k ("lstm.{k}.w", "lstm.{k}.b"):
    W = [weight_ih.T ; weight_hh.T]   ((D + H) × 4H, gate order i, f, g, o in both)
    b = bias_ih + bias_hh             (4H; its gradient is bias_ih's, equal to bias_hh's)
GRU, layer k ("gru.{k}.w", "gru.{k}.b"): PyTorch's row blocks r, z, n of weight_ih (3H × D) and
weight_hh (3H × H) become the column blocks [r | z | n_x | n_h]:
    W = [W_ir.T | W_iz.T | W_in.T | 0     ]   (D rows)
        [W_hr.T | W_hz.T | 0      | W_hn.T]   (H rows)      ((D + H) × 4H)
    b = [b_ir + b_hr | b_iz + b_hz | b_in | b_hn]           (4H)
  so that with a = [x, h]·W + b: r = σ(a_r), z = σ(a_z), n = tanh(a_nx + r ⊙ a_nh),
  h' = (1 - z) ⊙ n + z ⊙ h. The zero blocks hold 0 and their gradients are 0; the gradient of
  b's r and z blocks is bias_ih's (equal to bias_hh's), of its n_x block b_in's, of n_h b_hn's.
Bidirectional: layer k's backward direction is "lstm.{k}.reverse.w/b" or "gru.{k}.reverse.w/b",
from weight_ih_l{k}_reverse etc., in the same layouts.
Attention pooling: "attention.w" (E × A), "attention.b" (A), "attention.v" (A × 1), A = H. For
each sample and real step t: u_t = tanh(out_t·W + b), s_t = u_t·v, α = softmax of s over the
real steps only, pooled = Σ_t α_t out_t.
Pooling "last" when bidirectional: [forward h_n ; backward h_n] of the top layer (the backward
direction ends at step 0); "mean" and "max" run over the real steps of the top layer's output.
    head.w = linear.weight.T          (E × classes)

Fixture fields: name, cell ("lstm" or "gru"), bidirectional, input_dim, num_units, num_layers,
classes, steps, lengths, pooling ("last", "mean", "max" or "attention"), labels, class_weights
(null or one per class), x [T][B][input_dim], params and grads (by seqclf name; grads also has
"x"), outputs [T][B][E] (zeros at padding, as pad_packed_sequence gives), pooled [B][E], logits
[B][classes], loss (mean cross-entropy, weighted as PyTorch weights it). lstm2_last,
lstm2_mean_weighted and lstm1_max predate cell and bidirectional and lack them: they are
unidirectional LSTMs. torch_optim.json holds two steps of each optimizer from lstm2_last.

For the newer fixtures the script recomputes outputs, pooled, logits, loss and every gradient from
the written x and params in seqclf's layout (reference(), float64, autograd) and stops if any
differs from PyTorch's by 1e-5 or more.
"""
import json
import os

# Before torch loads OpenBLAS: its generic kernels give the same bits on every x86-64 CPU.
os.environ["OPENBLAS_CORETYPE"] = "Prescott"

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence  # noqa: E402

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


# Bidirectional models, GRU and attention pooling. The code above writes the first fixtures and is
# kept as it was, so that they do not change.

class RNNNet(nn.Module):
    def __init__(self, cell, bidirectional, input_dim, units, layers, classes, attention):
        super().__init__()
        self.cell, self.dirs = cell, 2 if bidirectional else 1
        rnn = {"lstm": nn.LSTM, "gru": nn.GRU}[cell]
        self.rnn = rnn(input_dim, units, num_layers=layers, bidirectional=bidirectional)
        e = self.dirs * units
        self.head = nn.Linear(e, classes)
        if attention:
            # Drawn after the layers' own initialisation, with the case's seed.
            self.att_w = nn.Parameter(torch.randn(e, units) * 0.5)
            self.att_b = nn.Parameter(torch.randn(units) * 0.5)
            self.att_v = nn.Parameter(torch.randn(units, 1) * 0.5)

    def forward(self, x, lengths, pooling):
        packed = pack_padded_sequence(x, torch.tensor(lengths), enforce_sorted=False)
        out_packed, h_n = self.rnn(packed)
        if self.cell == "lstm":
            h_n = h_n[0]
        out, _ = pad_packed_sequence(out_packed, total_length=x.shape[0])  # zeros at padding
        real = real_steps(x.shape[0], lengths)
        if pooling == "last":
            pooled = torch.cat(list(h_n[-self.dirs:]), 1)  # top layer: forward, then backward
        elif pooling == "mean":
            pooled = out.sum(0) / torch.tensor(lengths, dtype=x.dtype).unsqueeze(1)
        elif pooling == "max":
            pooled = out.masked_fill(~real, float("-inf")).max(0).values
        else:
            pooled = attention_pool(out, real, self.att_w, self.att_b, self.att_v)
        return out, pooled, self.head(pooled)


def real_steps(steps, lengths):
    """T × B × 1: whether step t of sample b is a real one."""
    return (torch.arange(steps).unsqueeze(1) < torch.tensor(lengths).unsqueeze(0)).unsqueeze(2)


def attention_pool(out, real, w, b, v):
    u = torch.tanh(out @ w + b)  # T × B × A
    s = (u @ v).masked_fill(~real, float("-inf"))  # T × B × 1
    alpha = torch.softmax(s, 0)  # 0 at padding
    return (alpha * out).sum(0)


def rnn_weights(net, k, suffix, grad):
    """Layer k's fused weight and bias in seqclf's layout (or their gradients)."""
    get = lambda n: (lambda p: p.grad if grad else p)(getattr(net.rnn, f"{n}_l{k}{suffix}"))  # noqa: E731
    wih, whh, bih, bhh = get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh")
    if net.cell == "lstm":
        return torch.cat([wih.t(), whh.t()], 0), (bih if grad else bih + bhh)
    h = whh.shape[1]
    wx = torch.cat([wih.t(), torch.zeros(wih.shape[1], h)], 1)  # [W_ir.T | W_iz.T | W_in.T | 0]
    wh = torch.cat([whh.t()[:, :2 * h], torch.zeros(h, h), whh.t()[:, 2 * h:]], 1)  # [.. | 0 | W_hn.T]
    if grad:
        assert torch.allclose(bih[:2 * h], bhh[:2 * h], rtol=0, atol=1e-7)
        rz = bih[:2 * h]
    else:
        rz = bih[:2 * h] + bhh[:2 * h]
    return torch.cat([wx, wh], 0), torch.cat([rz, bih[2 * h:], bhh[2 * h:]])


def rnn_params(net, grad=False):
    """The model's parameters (or gradients) in seqclf's layout and names."""
    d = {}
    get = (lambda p: p.grad) if grad else (lambda p: p)
    for k in range(net.rnn.num_layers):
        for suffix, name in [("", f"{net.cell}.{k}"), ("_reverse", f"{net.cell}.{k}.reverse")][:net.dirs]:
            w, b = rnn_weights(net, k, suffix, grad)
            d[name + ".w"], d[name + ".b"] = flat(w), flat(b)
    if hasattr(net, "att_w"):
        d["attention.w"] = flat(get(net.att_w))
        d["attention.b"] = flat(get(net.att_b))
        d["attention.v"] = flat(get(net.att_v))
    d["head.w"] = flat(get(net.head.weight).t())
    d["head.b"] = flat(get(net.head.bias))
    return d


def reference(fx):
    """Recomputes outputs, pooled, loss and gradients from the fixture's x and params in seqclf's
    layout (float64), as a check of the layouts above: each direction runs over a sample's real
    steps only. The gradients of the GRU's zero blocks are set to 0, as seqclf keeps them."""
    cell, h, L, T = fx["cell"], fx["num_units"], fx["num_layers"], fx["steps"]
    B, dirs = len(fx["lengths"]), 2 if fx["bidirectional"] else 1
    P = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in fx["params"].items()}
    x = torch.tensor(fx["x"], dtype=torch.float64, requires_grad=True)
    inp = x.reshape(T, B, -1)
    finals = []
    for k in range(L):
        out = torch.zeros(T, B, dirs * h, dtype=torch.float64)
        finals = []
        for d, name in enumerate([f"{cell}.{k}", f"{cell}.{k}.reverse"][:dirs]):
            w, b = P[name + ".w"].reshape(-1, 4 * h), P[name + ".b"]
            last = torch.zeros(B, h, dtype=torch.float64)
            for j, n in enumerate(fx["lengths"]):
                hh, cc = torch.zeros(h, dtype=torch.float64), torch.zeros(h, dtype=torch.float64)
                for t in (range(n) if d == 0 else reversed(range(n))):
                    a = torch.cat([inp[t, j], hh]) @ w + b
                    if cell == "lstm":
                        i, f, g, o = a.split(h)
                        cc = torch.sigmoid(f) * cc + torch.sigmoid(i) * torch.tanh(g)
                        hh = torch.sigmoid(o) * torch.tanh(cc)
                    else:
                        r, z, nx, nh = a.split(h)
                        r, z = torch.sigmoid(r), torch.sigmoid(z)
                        hh = (1 - z) * torch.tanh(nx + r * nh) + z * hh
                    out[t, j, d * h:(d + 1) * h] = hh
                last[j] = hh
            finals.append(last)
        inp = out
    real = real_steps(T, fx["lengths"])
    if fx["pooling"] == "last":
        pooled = torch.cat(finals, 1)
    elif fx["pooling"] == "mean":
        pooled = out.sum(0) / torch.tensor(fx["lengths"], dtype=torch.float64).unsqueeze(1)
    elif fx["pooling"] == "max":
        pooled = out.masked_fill(~real, float("-inf")).max(0).values
    else:
        e = dirs * h
        pooled = attention_pool(out, real, P["attention.w"].reshape(e, h), P["attention.b"],
                                P["attention.v"].reshape(h, 1))
    logits = pooled @ P["head.w"].reshape(dirs * h, -1) + P["head.b"]
    weight = None if fx["class_weights"] is None else torch.tensor(fx["class_weights"], dtype=torch.float64)
    loss = nn.functional.cross_entropy(logits, torch.tensor(fx["labels"]), weight=weight)
    loss.backward()
    grads = {k: p.grad.clone() for k, p in P.items()}
    grads["x"] = x.grad
    for k, g in grads.items():
        if k.startswith("gru.") and k.endswith(".w"):
            g = g.view(-1, 4 * h)
            g[:-h, 3 * h:] = 0  # input rows, n_h block
            g[-h:, 2 * h:3 * h] = 0  # hidden rows, n_x block
    return out, pooled, logits, loss, grads


def rnn_case(name, seed, cell, bidirectional, input_dim, units, layers, classes, steps, lengths,
             pooling, class_weights=None):
    torch.manual_seed(seed)
    net = RNNNet(cell, bidirectional, input_dim, units, layers, classes, pooling == "attention")
    batch = len(lengths)
    # Padding steps hold random values, not zeros: the model must ignore them.
    x = torch.randn(steps, batch, input_dim, requires_grad=True)
    labels = torch.randint(0, classes, (batch,))
    out, pooled, logits = net(x, lengths, pooling)
    weight = None if class_weights is None else torch.tensor(class_weights)
    loss = nn.functional.cross_entropy(logits, labels, weight=weight)
    loss.backward()
    g = rnn_params(net, grad=True)
    g["x"] = flat(x.grad)
    fixture = {
        "name": name, "cell": cell, "bidirectional": bidirectional,
        "input_dim": input_dim, "num_units": units, "num_layers": layers, "classes": classes,
        "steps": steps, "lengths": lengths, "pooling": pooling,
        "labels": labels.tolist(), "class_weights": class_weights,
        "x": flat(x), "params": rnn_params(net),
        "outputs": flat(out), "pooled": flat(pooled), "logits": flat(logits), "loss": float(loss),
        "grads": g,
    }
    ref_out, ref_pooled, ref_logits, ref_loss, ref_grads = reference(fixture)
    checks = [("outputs", ref_out, out), ("pooled", ref_pooled, pooled), ("logits", ref_logits, logits),
              ("loss", ref_loss, loss)]
    checks += [("grad " + k, ref_grads[k], torch.tensor(v)) for k, v in g.items()]
    for what, got, want in checks:
        diff = (got.detach().reshape(-1) - want.detach().double().reshape(-1)).abs().max().item()
        assert diff < 1e-5, f"{name}: {what} from seqclf's layout differ from PyTorch's by {diff}"
    write(f"torch_{name}.json", fixture)


if __name__ == "__main__":
    torch.set_num_threads(1)
    first = case("lstm2_last", 1, input_dim=5, units=6, layers=2, classes=3, steps=7,
                 lengths=[7, 3, 5, 1], pooling="last")
    case("lstm2_mean_weighted", 2, input_dim=4, units=5, layers=2, classes=3, steps=6,
         lengths=[2, 6, 4], pooling="mean", class_weights=[0.5, 2.0, 1.0])
    case("lstm1_max", 3, input_dim=3, units=4, layers=1, classes=2, steps=5,
         lengths=[5, 1, 3, 4], pooling="max")
    optim_fixture(*first)
    rnn_case("bilstm2_last", 11, "lstm", True, input_dim=5, units=6, layers=2, classes=3, steps=7,
             lengths=[5, 2, 7, 1], pooling="last")
    rnn_case("bilstm1_max", 12, "lstm", True, input_dim=3, units=4, layers=1, classes=3, steps=6,
             lengths=[3, 6, 1, 4], pooling="max")
    rnn_case("bilstm1_mean_weighted", 13, "lstm", True, input_dim=4, units=5, layers=1, classes=3,
             steps=6, lengths=[2, 6, 4], pooling="mean", class_weights=[0.5, 2.0, 1.0])
    rnn_case("gru1_last", 14, "gru", False, input_dim=4, units=5, layers=1, classes=3, steps=7,
             lengths=[5, 2, 7, 1], pooling="last")
    rnn_case("gru2_mean", 15, "gru", False, input_dim=5, units=6, layers=2, classes=3, steps=6,
             lengths=[4, 1, 6, 3], pooling="mean")
    rnn_case("bigru2_max", 16, "gru", True, input_dim=3, units=4, layers=2, classes=3, steps=7,
             lengths=[2, 7, 5, 1], pooling="max")
    rnn_case("lstm1_attention", 17, "lstm", False, input_dim=4, units=5, layers=1, classes=3,
             steps=7, lengths=[5, 2, 7, 1], pooling="attention")
    rnn_case("bilstm1_attention", 18, "lstm", True, input_dim=3, units=4, layers=1, classes=3,
             steps=6, lengths=[6, 3, 1, 4], pooling="attention")
    rnn_case("gru1_attention", 19, "gru", False, input_dim=5, units=6, layers=1, classes=3,
             steps=7, lengths=[1, 7, 4, 2], pooling="attention")
