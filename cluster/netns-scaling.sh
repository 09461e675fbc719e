#!/usr/bin/env bash
# Checks docs/scaling.md's per-query model on 1, 2 and 3 hosts (network namespaces, as
# cluster/netns-test.sh): a coordinator on host 1 and workers on hosts 1..H (one worker per host;
# with H = 1 it shares the coordinator's host), S shards, Q sequential queries from a client on host 1.
# Prints, per H, the coordinator's CPU per query (from /proc) and the bytes its host's interfaces
# carried to and from workers per query and per shard, next to the model's payload figure.
# Needs root and iproute2 (prints SKIPPED otherwise).
#   cluster/netns-scaling.sh [path/to/strata] [--model DIR] [--shards S] [--queries Q]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
S="$root/.build/release/strata"; MODEL="${STRATA_MODELS:-$HOME/.cache/strata/models}/all-MiniLM-L6-v2"; SHARDS=8; Q=300
while [ $# -gt 0 ]; do
    case "$1" in --model) MODEL="$2"; shift 2;; --shards) SHARDS="$2"; shift 2;; --queries) Q="$2"; shift 2;; *) S="$1"; shift;; esac
done
if [ "$(id -u)" != 0 ]; then echo "netns-scaling: SKIPPED (needs root to create network namespaces)"; exit 0; fi
command -v ip >/dev/null || { echo "netns-scaling: SKIPPED (iproute2 'ip' not installed)"; exit 0; }
[ -x "$S" ] || { echo "netns-scaling: strata binary not found at $S"; exit 1; }
tag="sc$$"; ns_br="${tag}br"; hosts=("${tag}h1" "${tag}h2" "${tag}h3")
work="$(mktemp -d)"; pids=()
stop() { for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; pids=(); }
cleanup() { stop; for h in "${hosts[@]}" "$ns_br"; do ip netns del "$h" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
ip netns add "$ns_br"; ip -n "$ns_br" link add br0 type bridge; ip -n "$ns_br" link set br0 up
i=1
for h in "${hosts[@]}"; do
    ip netns add "$h"
    ip link add "v$tag$i" type veth peer name eth0 netns "$h"
    ip link set "v$tag$i" netns "$ns_br"; ip -n "$ns_br" link set "v$tag$i" master br0 up
    ip -n "$h" addr add "10.214.0.$i/24" dev eth0; ip -n "$h" link set eth0 up; ip -n "$h" link set lo up
    i=$((i + 1))
done
python3 - "$work/corpus.jsonl" "$work/queries.txt" "$Q" <<'PY'
import json, sys
topics = ["audio", "video", "network", "kernel", "python", "fonts", "editor", "database"]
with open(sys.argv[1], "w") as f:
    for i in range(400):
        f.write(json.dumps({"_id": "d%d" % i, "text": "package %d provides %s tools and %s libraries" % (i, topics[i % 8], topics[(i * 3) % 8])}) + "\n")
with open(sys.argv[2], "w") as f:
    for i in range(int(sys.argv[3])):
        f.write("%s tools for %s number %d\n" % (topics[i % 8], topics[(i * 5) % 8], i))
PY
bytes() { ip netns exec "${hosts[0]}" cat /sys/class/net/$1/statistics/rx_bytes /sys/class/net/$1/statistics/tx_bytes | paste -sd+ | bc; }
C="tcp://10.214.0.1:5555"
for H in 1 2 3; do
    ip netns exec "${hosts[0]}" "$S" coordinator --bind "tcp://10.214.0.1:5555" --data-dir "$work/c$H" --corpus "$work/corpus.jsonl" \
        --model "$MODEL" --shards "$SHARDS" --quiet & pids+=($!); cpid=$!
    nw=$(( H == 1 ? 1 : H - 1 ))
    for w in $(seq 1 "$nw"); do
        host=$(( H == 1 ? 0 : w )); mkdir -p "$work/w$H-$w"
        ip netns exec "${hosts[$host]}" "$S" worker --coordinator "$C" --data-dir "$work/w$H-$w" --quiet & pids+=($!)
    done
    ready=""
    for _ in $(seq 1 900); do
        if ip netns exec "${hosts[0]}" python3 "$root/cluster/example_client.py" --coordinator "$C" --status 2>/dev/null | grep -q "ready True"; then ready=1; break; fi
        sleep 0.2
    done
    [ -n "$ready" ] || { echo "netns-scaling: FAILED (H=$H never ready)"; exit 1; }
    iface=eth0; [ "$H" = 1 ] && iface=lo
    cpu() { awk '{print $14+$15}' /proc/$cpid/stat; }
    # Idle rates first (heartbeats), then the queries.
    c0=$(cpu); b0=$(bytes $iface); t0=$(date +%s.%N); sleep 3; c1=$(cpu); b1=$(bytes $iface); t1=$(date +%s.%N)
    ip netns exec "${hosts[0]}" "$S" search --coordinator "$C" --input "$work/queries.txt" --run "$work/run$H" --top 10 2>/dev/null
    c2=$(cpu); b2=$(bytes $iface); t2=$(date +%s.%N)
    python3 - "$H" "$nw" "$SHARDS" "$Q" "$c0" "$c1" "$c2" "$b0" "$b1" "$b2" "$t0" "$t1" "$t2" "$iface" <<'PY'
import sys
H, nw, S, Q = map(int, sys.argv[1:5]); c0, c1, c2, b0, b1, b2, t0, t1, t2 = map(float, sys.argv[5:14]); iface = sys.argv[14]
idle_cpu = (c1 - c0) / 100 / (t1 - t0); idle_b = (b1 - b0) / (t1 - t0)
cpu = ((c2 - c1) / 100 - idle_cpu * (t2 - t1)) / Q * 1000
b = ((b2 - b1) - idle_b * (t2 - t1)) / Q
# Payload per query from docs/scaling.md (protobuf sizes, 384 dims): embedding 53 + 1,562, each shard 1,565 + ~231.
model = 53 + 1562 + S * (1565 + 231)
note = " (loopback: the client's own traffic is included, and lo counts each byte once per direction)" if iface == "lo" else ""
print("H=%d hosts, %d worker(s), %d shards, %d queries in %.1f s: coordinator CPU %.3f ms/query; %s carried %.0f B/query = %.0f B/shard (model payload %d B/query)%s"
      % (H, nw, S, Q, t2 - t1, cpu, iface, b, b / S, model, note))
PY
    stop
done
