#!/usr/bin/env bash
# Multi-host test: coordinator and two workers on three "hosts" (Linux network namespaces joined
# by veth pairs to a bridge in a fourth namespace, private addresses 10.213.0.0/24 that exist only
# inside these namespaces), plus a client in the coordinator's namespace. Checks that the cluster
# indexes a corpus across hosts and answers a search, and (when libzmq has CURVE) that the same
# works with CURVE keys while a client without the keys is refused.
# Needs root and iproute2; otherwise prints why it skips and exits 0.
#   cluster/netns-test.sh [path/to/strata]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
S="${1:-$root/.build/release/strata}"
if [ "$(id -u)" != 0 ]; then echo "netns-test: SKIPPED (needs root to create network namespaces)"; exit 0; fi
if ! command -v ip >/dev/null; then echo "netns-test: SKIPPED (iproute2 'ip' not installed)"; exit 0; fi
if [ ! -x "$S" ]; then echo "netns-test: strata binary not found at $S (swift build -c release)"; exit 1; fi
DE="$root/Tests/ModelTests/Fixtures/tiny-de-legacy"
tag="st$$"
ns_br="${tag}br"; hosts=("${tag}c" "${tag}w1" "${tag}w2")
work="$(mktemp -d)"
pids=()
cleanup() {
    for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
    sleep 0.3
    for h in "${hosts[@]}" "$ns_br"; do ip netns del "$h" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
ip netns add "$ns_br"
ip -n "$ns_br" link add br0 type bridge
ip -n "$ns_br" link set br0 up
i=1
for h in "${hosts[@]}"; do
    ip netns add "$h"
    ip link add "v$tag$i" type veth peer name eth0 netns "$h"
    ip link set "v$tag$i" netns "$ns_br"
    ip -n "$ns_br" link set "v$tag$i" master br0 up
    ip -n "$h" addr add "10.213.0.$i/24" dev eth0
    ip -n "$h" link set eth0 up
    ip -n "$h" link set lo up
    i=$((i + 1))
done
python3 - "$work/corpus.jsonl" <<'PY'
import json, sys
topics = ["audio", "video", "network", "kernel", "python", "fonts", "editor", "database"]
with open(sys.argv[1], "w") as f:
    for i in range(200):
        f.write(json.dumps({"_id": "d%d" % i, "text": "package %d provides %s tools and %s libraries" % (i, topics[i % 8], topics[(i * 3) % 8])}) + "\n")
PY
run_cluster() {  # $1: extra flags (keys)
    local extra="$1"
    ip netns exec "${hosts[0]}" "$S" coordinator --bind tcp://10.213.0.1:5555 --data-dir "$work/coord" --corpus "$work/corpus.jsonl" \
        --model "$DE" --shards 4 --quiet $extra & pids+=($!)
    ip netns exec "${hosts[1]}" "$S" worker --coordinator tcp://10.213.0.1:5555 --data-dir "$work/w1" --quiet $extra & pids+=($!)
    ip netns exec "${hosts[2]}" "$S" worker --coordinator tcp://10.213.0.1:5555 --data-dir "$work/w2" --quiet $extra & pids+=($!)
    for _ in $(seq 1 100); do
        if ip netns exec "${hosts[0]}" python3 "$root/cluster/example_client.py" --coordinator tcp://10.213.0.1:5555 --status \
             ${extra:+--keys "$work/keys"} 2>/dev/null | grep -q "ready True"; then return 0; fi
        sleep 0.2
    done
    echo "netns-test: FAILED (cluster never ready)"; exit 1
}
run_cluster ""
out="$(ip netns exec "${hosts[0]}" "$S" search --coordinator tcp://10.213.0.1:5555 --top 3 "kernel tools")"
echo "$out"
[ "$(echo "$out" | wc -l)" = 3 ] || { echo "netns-test: FAILED (expected 3 hits)"; exit 1; }
status="$(ip netns exec "${hosts[0]}" python3 "$root/cluster/example_client.py" --coordinator tcp://10.213.0.1:5555 --status)"
echo "$status" | grep -q "workers 2" || { echo "netns-test: FAILED ($status)"; exit 1; }
for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; pids=()
rm -rf "$work/coord" "$work/w1" "$work/w2"
if python3 -c "import zmq, sys; sys.exit(0 if zmq.has('curve') else 1)"; then
    "$S" keys gen --out "$work/keys" >/dev/null
    run_cluster "--keys $work/keys"
    ip netns exec "${hosts[0]}" "$S" search --coordinator tcp://10.213.0.1:5555 --keys "$work/keys" --top 3 "kernel tools" >/dev/null
    if ip netns exec "${hosts[0]}" "$S" search --coordinator tcp://10.213.0.1:5555 --timeout 1 --top 3 "kernel tools" >/dev/null 2>&1; then
        echo "netns-test: FAILED (a client without keys was answered)"; exit 1
    fi
fi
echo "netns-test: PASSED (3 hosts on 10.213.0.0/24)"
