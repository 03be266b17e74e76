#!/bin/bash
# Syscalls per connection: `strace -c` of socketbox --workers 1 (every thread) and of the
# benchmark's C receiver over N connections (INFLIGHT in flight, default 8, loopback), attached after a warm-up of
# 500 so start-up is not counted. strace slows the traced processes, so the counts are what to
# compare (before and after a change), not the times. Needs strace and the benchmark's programs
# (bench/bin/, built by `npm run bench` or `node dist/bench/build.js`).
#   [INFLIGHT=64] bash bench/syscalls.sh [N (10000)] [socketbox flags...]
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-10000}
inflight=${INFLIGHT:-8}
shift || true
bin=$root/bench/bin
scratch=$(mktemp -d /tmp/skbox-syscalls-XXXXXX)
trap 'rm -rf "$scratch"' EXIT
port=$(node -e "const s=require('net').createServer().listen(0,'::1',()=>{console.log(s.address().port);s.close()})")
"$bin/receiver" "$scratch/receiver.sock" >"$scratch/receiver.json" &
receiver=$!
for _ in $(seq 50); do [ -S "$scratch/receiver.sock" ] && break; sleep 0.1; done
"$root/bin/socketbox" --workers 1 -S "$scratch/receiver.sock" -l ::1 -p "$port" "$@" 2>"$scratch/socketbox.err" &
socketbox=$!
for _ in $(seq 100); do grep -qi ":$(printf %04X "$port") 00000000000000000000000000000000:0000 0A" /proc/net/tcp6 && break; sleep 0.1; done
"$bin/loadgen" -a ::1 -p "$port" -n 500 -c 8 -d 0 -t 5000 >/dev/null
strace -f -c -o "$scratch/receiver.txt" -p "$receiver" 2>/dev/null &
trace_receiver=$!
strace -f -c -o "$scratch/socketbox.txt" -p "$socketbox" 2>/dev/null &
trace_socketbox=$!
sleep 1
timeout 300 "$bin/loadgen" -a ::1 -p "$port" -n "$n" -c "$inflight" -d 120000 -t 5000 >"$scratch/loadgen.json"
kill -INT "$trace_receiver" "$trace_socketbox"
wait "$trace_receiver" "$trace_socketbox" || true
kill -TERM "$socketbox" && wait "$socketbox" || true
kill -TERM "$receiver" && wait "$receiver" || true
echo "## syscalls over $n connections, $inflight in flight ($(grep -o '"completed":[0-9]*' "$scratch/loadgen.json"))"
echo "### socketbox --workers 1 $*"
cat "$scratch/socketbox.txt"
echo "### receiver"
cat "$scratch/receiver.txt"
