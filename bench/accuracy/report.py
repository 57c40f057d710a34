#!/usr/bin/env python3
"""The accuracy table's helpers, standard library only (bench/accuracy/run.sh calls them).

    report.py fasttext-score SPLITS_DIR PREDICTIONS OUT.json
        accuracy and macro-F1 of `fasttext predict`'s labels against SPLITS_DIR/test.txt
    report.py table RUN_DIR RESULTS.md RESULTS.json
        the table of every config folder of RUN_DIR (seqclf, PyTorch, fastText)
    report.py ids SPLITS_DIR
        the test documents' ids as `scripts/seqclf_torch.py probs` reads them, on standard output
    report.py ids-check SPLITS_DIR PROBS.json METRICS.json
        whether seqclf's trained model, run by seqclf_torch.py on those ids, scores what
        `pipeline run` reported: one sentence for results.md

Macro-F1 is computed as seqclf's report.Evaluate computes it: the mean F1 of the classes that occur
in the truth or in the predictions.
"""
import json
import os
import re
import sys

MODELS = ["seqclf", "pytorch", "fasttext"]


def macro_scores(truth, pred, classes):
    k = len(classes)
    conf = [[0] * k for _ in range(k)]
    for t, p in zip(truth, pred):
        conf[t][p] += 1
    f1s = []
    for c in range(k):
        tp, sup, prd = conf[c][c], sum(conf[c]), sum(conf[r][c] for r in range(k))
        if sup == 0 and prd == 0:
            continue
        p = tp / prd if prd else 0.0
        r = tp / sup if sup else 0.0
        f1s.append(2 * p * r / (p + r) if p + r else 0.0)
    acc = sum(1 for t, p in zip(truth, pred) if t == p) / len(truth)
    return acc, sum(f1s) / len(f1s), conf


def fasttext_score(splits, pred_path, out):
    meta = json.load(open(os.path.join(splits, "meta.json")))
    classes = meta["classes"]
    ft = {"__label__" + v: classes.index(c) for c, v in meta["fasttext_labels"].items()}
    truth = []
    with open(os.path.join(splits, "test.txt"), encoding="utf-8") as f:
        for line in f:
            truth.append(ft[line.split(" ", 1)[0].rstrip("\n")])
    with open(pred_path, encoding="utf-8") as f:
        preds = [line.strip() for line in f]
    if len(preds) != len(truth):
        raise SystemExit(f"{pred_path}: {len(preds)} predictions for {len(truth)} test lines")
    # A line fastText cannot answer (no known word) counts as class 0, as seqclf answers an
    # empty document with uniform probabilities, whose argmax is class 0.
    pred = [ft.get(p.split(" ")[0], 0) for p in preds]
    unanswered = sum(1 for p in preds if p.split(" ")[0] not in ft)
    acc, f1, conf = macro_scores(truth, pred, classes)
    json.dump({"accuracy": acc, "macro_f1": f1, "test_docs": len(truth), "unanswered": unanswered,
               "confusion": conf, "classes": classes}, open(out, "w"), indent=1)


def test_truth(splits):
    classes = json.load(open(os.path.join(splits, "meta.json")))["classes"]
    with open(os.path.join(splits, "test.jsonl")) as f:
        return [classes.index(json.loads(line)["label"]) for line in f], classes


def ids(splits):
    with open(os.path.join(splits, "test.jsonl")) as f:
        for line in f:
            r = json.loads(line)
            print("\t".join(" ".join(map(str, s)) for s in r["ids"]))


def ids_check(splits, probs_path, metrics_path):
    truth, classes = test_truth(splits)
    probs = json.load(open(probs_path))
    pred = [max(range(len(p)), key=p.__getitem__) for p in probs]
    acc, f1, _ = macro_scores(truth, pred, classes)
    t = json.load(open(metrics_path))["test"]
    same = len(pred) == t["samples"] and abs(acc - t["accuracy"]) < 1e-12 and abs(f1 - t["macro_f1"]) < 1e-9
    word = "Same" if same else "MISMATCH:"
    print(f"{word} test scores from seqclf's model (through `seqclf model export` and scripts/seqclf_torch.py) "
          f"on the exported test ids: {100 * acc:.2f}%, macro-F1 {f1:.4f}, {len(pred)} documents; "
          f"pipeline run reported {100 * t['accuracy']:.2f}%, {t['macro_f1']:.4f}, {t['samples']}.")


def read_time(path):
    """Wall seconds and peak RSS (MiB) from `/usr/bin/time -v`'s report."""
    try:
        text = open(path).read()
    except OSError:
        return None, None
    wall = rss = None
    m = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", text)
    if m:
        parts = [float(x) for x in m.group(1).split(":")]
        wall = 0.0
        for x in parts:
            wall = wall * 60 + x
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    if m:
        rss = int(m.group(1)) / 1024
    return wall, rss


def read(path, default=""):
    try:
        return open(path).read().strip()
    except OSError:
        return default


def reason(d, model):
    """Why a column failed: its status file, else the last line of its log."""
    why = read(os.path.join(d, model + ".status"))
    if why and why != "ok":
        return why
    lines = [ln for ln in read(os.path.join(d, model + ".log")).splitlines() if ln.strip()]
    return "failed: " + (lines[-1][:200] if lines else "no output")


def row(d, model):
    r = {"model": model, "command": read(os.path.join(d, model + ".cmd"))}
    status = read(os.path.join(d, model + ".status"), "not run")
    r["status"] = status
    wall, rss = read_time(os.path.join(d, model + ".time"))
    r["train_seconds"], r["peak_rss_mib"] = wall, rss
    if status != "ok":
        r["error"] = reason(d, model)
        return r
    try:
        if model == "seqclf":
            m = json.load(open(os.path.join(d, "seqclf", "metrics.json")))
            r["accuracy"], r["macro_f1"] = m["test"]["accuracy"], m["test"]["macro_f1"]
            eps = m.get("epochs") or []
            r["epochs_run"] = len(eps)
            vals = [(e["val_loss"], e["epoch"]) for e in eps if e.get("val_loss") is not None]
            r["best_epoch"] = min(vals)[1] if vals else r["epochs_run"]
            r["loop_seconds"] = sum(e.get("seconds") or 0 for e in eps)
        elif model == "pytorch":
            m = json.load(open(os.path.join(d, "pytorch.json")))
            r["accuracy"], r["macro_f1"] = m["accuracy"], m["macro_f1"]
            r["epochs_run"], r["best_epoch"], r["loop_seconds"] = m["epochs_run"], m["best_epoch"], m["train_seconds"]
            if m.get("notes"):
                r["notes"] = m["notes"]
        else:
            m = json.load(open(os.path.join(d, "fasttext.json")))
            r["accuracy"], r["macro_f1"] = m["accuracy"], m["macro_f1"]
            r["unanswered"] = m.get("unanswered", 0)
    except (OSError, KeyError, ValueError) as e:
        r["status"], r["error"] = "error", f"cannot read its result: {e}"
    return r


def fmt(x, spec, none="—"):
    return none if x is None else format(x, spec)


def table(run_dir, md_path, json_path):
    info = json.loads(read(os.path.join(run_dir, "run.json"), "{}"))
    configs = []
    for name in sorted(os.listdir(run_dir)):
        d = os.path.join(run_dir, name)
        if not os.path.isfile(os.path.join(d, "config")):
            continue
        checks = " ".join((read(os.path.join(d, "split-check")) + "\n" + read(os.path.join(d, "ids-check"))).split("\n")).strip()
        c = {"name": name, "config": read(os.path.join(d, "config")), "split_check": checks,
             "rows": [row(d, m) for m in MODELS]}
        meta = os.path.join(d, "splits", "meta.json")
        if os.path.exists(meta):
            c["counts"] = json.load(open(meta))["counts"]
        configs.append(c)
    out = {"run": info, "configs": configs}
    with open(json_path, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")

    L = ["# Accuracy: seqclf, PyTorch (the same model) and fastText on the same splits", ""]
    L.append(f"Run {info.get('started', '?')} – {info.get('finished', '?')} on {info.get('machine', '?')}, "
             f"{info.get('threads', '?')} threads each, load average at the start {info.get('load', '?')}. "
             "Written by `" + " ".join(["bench/accuracy/run.sh"] + ([info["args"]] if info.get("args") else [])) + "`; how to read it: "
             "[README.md](README.md).")
    L.append("")
    L.append("| config | model | test accuracy | macro-F1 | train s (wall) | peak MiB | epochs (best) |")
    L.append("|---|---|---:|---:|---:|---:|---|")
    for c in configs:
        for r in c["rows"]:
            name = f"`{c['config']}`"
            if r["status"] != "ok":
                cell = r.get("error", r["status"]).replace("|", "\\|")
                L.append(f"| {name} | {r['model']} | {cell} | | {fmt(r['train_seconds'], '.1f')} | {fmt(r['peak_rss_mib'], '.0f')} | |")
                continue
            ep = f"{r['epochs_run']} ({r['best_epoch']})" if "epochs_run" in r else "25 (fixed)"
            if r["model"] == "fasttext" and r.get("unanswered"):
                ep += f"; {r['unanswered']} lines unanswered"
            L.append(f"| {name} | {r['model']} | {100 * r['accuracy']:.2f}% | {r['macro_f1']:.4f} | "
                     f"{fmt(r['train_seconds'], '.1f')} | {fmt(r['peak_rss_mib'], '.0f')} | {ep} |")
    L.append("")
    L.append("Train seconds are `/usr/bin/time -v`'s elapsed time of the training command below (seqclf: the whole "
             "`pipeline run`, reading, tokenizing and testing included; PyTorch: the whole script, reading the "
             "exported ids and testing included, but not seqclf's tokenizing, which `splits` does; fastText: "
             "`fasttext supervised` alone); peak MiB its maximum resident set size.")
    L.append("")
    L.append("## Splits")
    L.append("")
    for c in configs:
        k = c.get("counts")
        counts = (f"{k['train_docs']} training, {k['val_docs']} validation, {k['test_docs']} test documents "
                  f"({k['train_samples']}, {k['val_samples']}, {k['test_samples']} samples)") if k else "not written"
        L.append(f"- `{c['config']}`: {counts}. {c['split_check']}")
    L.append("")
    L.append("## Commands")
    for c in configs:
        L.append("")
        L.append(f"`{c['config']}`:")
        L.append("")
        L.append("```sh")
        cmds = [read(os.path.join(run_dir, c["name"], "splits.cmd"))] + [r["command"] for r in c["rows"]]
        L.extend(x for x in cmds if x)
        L.append("```")
        for r in c["rows"]:
            for n in r.get("notes", []):
                L.append(f"\n{r['model']}: {n}")
    with open(md_path, "w") as f:
        f.write("\n".join(L) + "\n")


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "fasttext-score":
        fasttext_score(*sys.argv[2:])
    elif len(sys.argv) == 5 and sys.argv[1] == "table":
        table(*sys.argv[2:])
    elif len(sys.argv) == 3 and sys.argv[1] == "ids":
        ids(sys.argv[2])
    elif len(sys.argv) == 5 and sys.argv[1] == "ids-check":
        ids_check(*sys.argv[2:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
