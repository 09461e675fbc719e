#!/usr/bin/env bash
# Strata's main job, end to end on one machine: set-up, then a local cluster (coordinator + 2
# workers) over a sample of the debian-packages corpus (built offline from the apt index), a few
# queries answered by DE retrieval + CE re-ranking, hits and latencies printed, clean shutdown.
#   cluster/demo.sh                 (DOCS=1000 documents by default; WORKERS=2)
# Environment: STRATA_MODELS (DE cache, see scripts/setup), STRATA_CE (a cross-encoder directory;
# default ../shared/models/ce-minilm-l6-debian when present, else no re-ranking), DOCS, WORKERS.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
scripts/setup
swift build -c release 2>&1 | tail -1
S="$root/.build/release/strata"
DE="${STRATA_MODELS:-$HOME/.cache/strata/models}/all-MiniLM-L6-v2"
CE="${STRATA_CE:-$root/../shared/models/ce-minilm-l6-debian}"
DOCS="${DOCS:-1000}"; WORKERS="${WORKERS:-2}"
work="$root/.build/demo"
mkdir -p "$work"
if [ ! -s "$work/debian/corpus.jsonl" ]; then
    if ! ls /var/lib/apt/lists/*Translation-en* >/dev/null 2>&1; then
        SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
        $SUDO apt-get update -qq -o Acquire::Languages=en
    fi
    "$S" data debian-packages --out "$work/debian" 2>/dev/null
fi
# A deterministic sample: every k-th document.
total=$(wc -l < "$work/debian/corpus.jsonl")
step=$(( total / DOCS > 0 ? total / DOCS : 1 ))
awk -v s="$step" -v n="$DOCS" 'NR % s == 0 && c < n { print; c++ }' "$work/debian/corpus.jsonl" > "$work/sample.jsonl"
echo "demo: $(wc -l < "$work/sample.jsonl") of $total debian-packages documents, $WORKERS workers"
ce_flags=(); rerank=()
if [ -f "$CE/model.safetensors" ]; then ce_flags=(--ce "$CE"); rerank=(--rerank --rerank-top 30); else echo "demo: no cross encoder at $CE: DE retrieval only"; fi
"$S" cluster up --workers "$WORKERS" --corpus "$work/sample.jsonl" --model "$DE" "${ce_flags[@]}" \
    --data-dir "$work/cluster" > "$work/up.out" 2> "$work/up.err" &
up=$!
trap 'kill -TERM $up 2>/dev/null; wait $up 2>/dev/null || true' EXIT
start=$(date +%s)
until grep -q '^ready ' "$work/up.out"; do
    kill -0 $up 2>/dev/null || { echo "demo: cluster up failed:"; tail -5 "$work/up.err"; exit 1; }
    sleep 0.5
done
addr=$(awk '/^ready /{print $2}' "$work/up.out")
echo "demo: cluster ready at $addr after $(( $(date +%s) - start )) s (corpus embedded and sharded)"
for q in "terminal emulator for X" "read PDF documents" "python library for HTTP requests" \
         "compress and archive files" "monitor network traffic"; do
    echo; echo "query: $q"
    "$S" search --coordinator "$addr" --top 5 "${rerank[@]}" "$q" 2>&1
done
