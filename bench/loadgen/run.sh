#!/usr/bin/env bash
# Load test of `seqclf serve` on this machine, beside `seqclf classify`'s batch throughput on the
# same model and inputs. See bench/loadgen/README.md.
#
# Usage: bench/loadgen/run.sh [text|mnist|all]      (default all)
# Knobs (environment): CLIENTS (1,8,64), REQUESTS (10000 a level), DURATION (10s a level),
# ROUNDS (3: classify runs, the median kept), SERVE_FLAGS (more flags for seqclf serve).
# The models are trained once into bench/out/serve-default and bench/out/serve-mnist, then reused.
# MNIST needs data/mnist (scripts/fetch-data.sh mnist).
set -euo pipefail
cd "$(dirname "$0")/../.."
what=${1:-all}
case $what in
  text) tasks=(text) ;;
  mnist) tasks=(mnist) ;;
  all) tasks=(text mnist) ;;
  *) echo "usage: bench/loadgen/run.sh [text|mnist|all]" >&2; exit 2 ;;
esac
clients=${CLIENTS:-1,8,64}
requests=${REQUESTS:-10000}
duration=${DURATION:-10s}
rounds=${ROUNDS:-3}
out=bench/out/serve
mkdir -p "$out"
bin=$out/seqclf
lg=$out/loadgen
go build -o "$bin" ./cmd/seqclf
go build -o "$lg" ./bench/loadgen
results=$out/results-$(date +%Y%m%d-%H%M%S).md

pid=
stop_server() {
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  local status=0
  wait "$pid" || status=$?
  pid=
  [ "$status" = 0 ] || echo "note: seqclf serve exited with status $status after SIGTERM" >&2
}
trap stop_server EXIT

say() { echo "$@" | tee -a "$results"; }

# model CONFIG DIR: train CONFIG into DIR unless DIR/model.db is there.
model() {
  if [ -f "$2/model.db" ]; then
    echo "reusing $2/model.db" >&2
  else
    echo "training $1 into $2" >&2
    "$bin" pipeline run "$1" --set output_dir="$2" >&2
  fi
}

# classify_rate N INPUT ARGS...: inputs/s of `seqclf classify ARGS` (INPUT on standard input,
# /dev/null for images), the median of ROUNDS runs; the process's start and the model's loading
# are included.
classify_rate() {
  local n=$1 input=$2
  shift 2
  local rates=() t0 t1
  for _ in $(seq "$rounds"); do
    t0=$(date +%s.%N)
    "$bin" classify "$@" <"$input" >/dev/null
    t1=$(date +%s.%N)
    rates+=("$(awk -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f %.3f", n / (b - a), b - a }')")
  done
  printf '%s\n' "${rates[@]}" | sort -n | awk '{ r[NR] = $1; s[NR] = $2 } END { m = int((NR + 1) / 2); printf "%s inputs/s (%s s for %d inputs; median of %d runs)", r[m], s[m], '"$n"', NR }'
}

# serve_and_load MODEL NAME LOADGEN-ARGS...: start seqclf serve on a free loopback port, run
# loadgen against it, and stop it with SIGTERM.
serve_and_load() {
  local modelfile=$1 name=$2
  shift 2
  local port
  port=$("$lg" freeport)
  # shellcheck disable=SC2086 # SERVE_FLAGS is split on purpose
  "$bin" serve --model "$modelfile" --name "$name" --addr "127.0.0.1:$port" ${SERVE_FLAGS:-} >"$out/serve-$name.log" 2>&1 &
  pid=$!
  "$lg" run --url "http://127.0.0.1:$port" --name "$name" --clients "$clients" --requests "$requests" --duration "$duration" "$@" | tee -a "$results"
  local rss
  rss=$(awk '/^VmHWM/ { printf "%.0f MiB", $2 / 1024 }' "/proc/$pid/status" 2>/dev/null || echo "?")
  stop_server
  say ""
  say "seqclf serve's peak RSS: $rss; its log: $out/serve-$name.log"
}

say "# seqclf serve under load, $(date +%Y-%m-%d)"
say ""
say "$(go version | cut -d' ' -f3-), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')), load average $(cut -d' ' -f1-3 /proc/loadavg) before; loadgen and the server share the machine."

for task in "${tasks[@]}"; do
  case $task in
    text)
      dir=bench/out/serve-default
      model configs/default.yaml "$dir"
      texts=$out/texts.txt
      "$lg" texts configs/data/spamassassin-sample.jsonl.gz >"$texts"
      n=$(wc -l <"$texts")
      say ""
      say "## configs/default.yaml: one mail a request, POST /v1/classify"
      say ""
      say "seqclf classify --batch-size 256 on the same $n mails: $(classify_rate "$n" "$texts" --model "$dir/model.db" --batch-size 256)"
      say ""
      serve_and_load "$dir/model.db" default --texts "$texts"
      ;;
    mnist)
      images=data/mnist/t10k-images-idx3-ubyte.gz
      if [ ! -f "$images" ]; then
        echo "no $images: run scripts/fetch-data.sh mnist; skipping MNIST" >&2
        continue
      fi
      dir=bench/out/serve-mnist
      model configs/mnist.yaml "$dir"
      say ""
      say "## configs/mnist.yaml: one image a request, POST /v2/models/mnist/infer (FP32)"
      say ""
      say "seqclf classify --batch-size 256 --images on the same 10000 images: $(classify_rate 10000 /dev/null --model "$dir/model.db" --batch-size 256 --images "$images")"
      say ""
      serve_and_load "$dir/model.db" mnist --images "$images"
      ;;
  esac
done
echo "written to $results" >&2
