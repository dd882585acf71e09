#!/usr/bin/env bash
# Fold rate of `custody serve --kafka` with two re-folding witnesses
# attached (`--witness` x2, `custody witness` processes mirroring it) next
# to the same fold without witnesses (issue 11, "Done when": at least 0.95).
#
#   xtask/bench-witnesses.sh [CUSTOMERS] [ROUNDS]   (default 4000 3)
#
# Needs ./target/release/custody (or $CUSTODY) and tansu (~/.cargo/bin).
# One topic of 4 partitions is produced once; each round folds all of it
# into a fresh primary directory, timed from the spawn of `custody serve`
# until /v1/status counts every entry. Rounds alternate without/with
# witnesses; the median of each is reported. Witnesses run on the same
# machine, so they compete with the primary for the cores.
set -euo pipefail
CUSTOMERS=${1:-4000}
ROUNDS=${2:-3}
CUSTODY=${CUSTODY:-$(pwd)/target/release/custody}
TANSU=${TANSU:-$HOME/.cargo/bin/tansu}
# PIN=1: the broker and the primary on CPU 0, the witnesses on CPU 1 (as
# if the witnesses ran on their own machine; needs two cores).
if [ "${PIN:-0}" = 1 ]; then ON0="taskset -c 0"; ON1="taskset -c 1"; else ON0=""; ON1=""; fi
DIR=$(mktemp -d /tmp/bench-witnesses.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$DIR"
}
trap cleanup EXIT
export CUSTODY_LOG=error

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 300); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 not listening" >&2; exit 1; }
entries() { curl -s "http://$1/v1/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["entries"])' 2>/dev/null || echo 0; }
now() { date +%s.%N; }

KPORT=$(free_port)
(cd "$DIR" && exec $ON0 "$TANSU" broker --kafka-listener-url tcp://127.0.0.1:$KPORT \
  --kafka-advertised-listener-url tcp://127.0.0.1:$KPORT --storage-engine sqlite://tansu.db \
  >"$DIR/tansu.log" 2>&1) &
PIDS+=($!)
wait_port "$KPORT"
BROKER=127.0.0.1:$KPORT
"$TANSU" topic create bench.witnessed --partitions 4 --broker tcp://$BROKER >/dev/null
"$CUSTODY" demo --data "$DIR/unused" --customers "$CUSTOMERS" --write "$DIR/events.jsonl" >/dev/null
EVENTS=$(wc -l <"$DIR/events.jsonl")
"$CUSTODY" emit --kafka "$BROKER" --topic bench.witnessed "$DIR/events.jsonl" >/dev/null

TOTAL=0
round() { # $1: 0 or 2 witnesses; prints seconds to fold everything
  local n=$1 r=$DIR/round-$RANDOM
  mkdir -p "$r"
  local data=$r/primary flags=() wpids=()
  local wtoken
  wtoken=$("$CUSTODY" token create --data "$data" --role witness | grep '^cst_')
  local vkey
  vkey=$("$CUSTODY" key export --data "$data" --format vkey)
  "$CUSTODY" key export --data "$data" --format map-secrets >"$r/secrets"
  local port
  port=$(free_port)
  local wports=()
  for i in $(seq "$n"); do
    wports+=("$(free_port)")
    local wk
    wk=$("$CUSTODY" witness-key --data "$r/w$i" --name "w$i.example/witness")
    flags+=(--witness "http://127.0.0.1:${wports[-1]}=$wk")
  done
  local t0
  t0=$(now)
  $ON0 "$CUSTODY" serve --data "$data" --listen 127.0.0.1:$port --kafka "$BROKER" \
    --topic bench.witnessed "${flags[@]}" >/dev/null 2>&1 &
  local spid=$!
  PIDS+=($spid)
  for i in $(seq "$n"); do
    $ON1 "$CUSTODY" witness --data "$r/w$i" --primary http://127.0.0.1:$port --token "$wtoken" \
      --log-key "$vkey" --map-secrets "$r/secrets" --listen 127.0.0.1:${wports[$((i-1))]} \
      --name "w$i.example/witness" >/dev/null 2>&1 &
    wpids+=($!)
    PIDS+=($!)
  done
  wait_port "$port"
  if [ "$TOTAL" = 0 ]; then
    # First round: everything is folded when the count stops moving.
    local last=-1 cur=0 same=0
    while [ "$same" -lt 20 ]; do
      sleep 0.1; cur=$(entries 127.0.0.1:$port)
      if [ "$cur" = "$last" ] && [ "$cur" != 0 ]; then same=$((same+1)); else same=0; fi
      last=$cur
    done
    TOTAL=$cur
    echo "entries: $TOTAL" >&2
    echo "n/a"
  else
    while [ "$(entries 127.0.0.1:$port)" -lt "$TOTAL" ]; do sleep 0.05; done
    local t1
    t1=$(now)
    python3 -c "print(f'{$t1 - $t0:.3f}')"
    # The primary's CPU time (user + system) for the fold.
    awk -v n="$n" '{printf "  primary CPU (%s witnesses): %.2f s\n", n, ($14+$15)/100}' /proc/$spid/stat >&2
    if [ "$n" -gt 0 ]; then
      # Not timed: the witnesses catch up and cosign every shard's note.
      for s in 0 1 2 3; do
        for _ in $(seq 3000); do
          [ "$(curl -s http://127.0.0.1:$port/v1/logs/$s/checkpoint | grep -c '^— ')" -gt "$n" ] && break
          sleep 0.1
        done
      done
      python3 -c "print(f'  cosigned by both witnesses {$(now) - $t1:.1f} s after the fold ended', file=__import__('sys').stderr)"
    fi
  fi
  kill "$spid" "${wpids[@]}" 2>/dev/null || true
  wait "$spid" "${wpids[@]}" 2>/dev/null || true
  rm -rf "$r"
}

round 0 >/dev/null  # learns the entry count (and warms the broker's cache)
without=() with=()
for _ in $(seq "$ROUNDS"); do
  without+=("$(round 0)")
  with+=("$(round 2)")
  echo "without: ${without[*]}  with two witnesses: ${with[*]}" >&2
done
python3 - "$EVENTS" "$TOTAL" "${without[*]}" "${with[*]}" <<'EOF'
import sys, statistics
events, total = int(sys.argv[1]), int(sys.argv[2])
a = statistics.median(map(float, sys.argv[3].split()))
b = statistics.median(map(float, sys.argv[4].split()))
print(f"{events} events, {total} entries, 4 partitions")
print(f"| without witnesses | {a:.3f} s | {total/a:,.0f} entries/s | 1.00 |")
print(f"| two re-folding witnesses attached | {b:.3f} s | {total/b:,.0f} entries/s | {a/b:.2f} |")
EOF
