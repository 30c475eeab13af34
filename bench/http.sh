#!/usr/bin/env bash
# cicada vs wrk, side by side in one run, against nginx on loopback.
#
# nginx (one worker, default keep-alive: 1000 requests, 75 s) is pinned to
# core 0, the load generator to core 1. Each round runs wrk, then cicada
# (`--url --users 50 --threads 1`, full HDR recording), 50 connections,
# DURATION each; ROUNDS rounds alternate the two. Then cicada holds 10,000
# idle users (one request each, then a long wait) to measure memory per user.
#
# Prints req/s, µs of CPU per request (user+sys from /usr/bin/time), peak RSS,
# and the ratios cicada/wrk.
#
#   bench/http.sh                 # 2 rounds of 10 s
#   ROUNDS=3 DURATION=20s bench/http.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh

ROUNDS=${ROUNDS:-2}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-50}
IDLE_USERS=${IDLE_USERS:-10000}

install() {
    local missing=()
    command -v wrk >/dev/null || missing+=(wrk)
    command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
    [ -x /usr/bin/time ] || missing+=(time)
    command -v taskset >/dev/null || missing+=(util-linux)
    apt_install "${missing[@]}"
}
install
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

cargo build --release -q
CICADA=$PWD/target/release/cicada

WORK=$(mktemp -d)
trap 'kill $(cat "$WORK/nginx.pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$WORK"' EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

mkdir -p "$WORK/html" "$WORK/tmp"
chmod 755 "$WORK" "$WORK/html"   # nginx workers run as an unprivileged user
# nginx's default welcome page is 615 bytes; serve a page of the same size.
head -c 615 /dev/zero | tr '\0' 'x' > "$WORK/html/index.html"
cat > "$WORK/nginx.conf" <<EOF
worker_processes 1;
worker_rlimit_nofile 30000;
pid $WORK/nginx.pid;
error_log $WORK/error.log;
daemon on;
events { worker_connections 20000; }
http {
    access_log off;
    client_body_temp_path $WORK/tmp;
    proxy_temp_path $WORK/tmp;
    fastcgi_temp_path $WORK/tmp;
    uwsgi_temp_path $WORK/tmp;
    scgi_temp_path $WORK/tmp;
    server {
        listen 127.0.0.1:$PORT;
        location / { root $WORK/html; }
    }
}
EOF
taskset -c 0 "$NGINX" -c "$WORK/nginx.conf" -p "$WORK"
for _ in $(seq 50); do
    curl -s -o /dev/null "http://127.0.0.1:$PORT/" 2>/dev/null && break
    python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$PORT/')" 2>/dev/null && break
    sleep 0.1
done
URL="http://127.0.0.1:$PORT/"
ulimit -n "$(ulimit -Hn)"

# measure NAME CMD... -> prints "user sys maxrss_kb" into $WORK/NAME.time
measure() {
    local name=$1; shift
    if ! /usr/bin/time -f "%U %S %M" -o "$WORK/$name.time" taskset -c 1 "$@" > "$WORK/$name.out" 2> "$WORK/$name.err"; then
        echo "$name failed:" >&2
        tail -n 40 "$WORK/$name.out" "$WORK/$name.err" >&2
        exit 1
    fi
}

declare -a W_RPS W_CPU W_RSS C_RPS C_CPU C_RSS
for round in $(seq "$ROUNDS"); do
    measure wrk wrk -t1 -c"$CONNECTIONS" -d"$DURATION" "$URL"
    if grep -q "Non-2xx" "$WORK/wrk.out"; then
        echo "wrk got error statuses from nginx:" >&2; cat "$WORK/wrk.out" >&2; exit 1
    fi
    requests=$(awk '/requests in/ {print $1}' "$WORK/wrk.out")
    rps=$(awk '/Requests\/sec/ {print $2}' "$WORK/wrk.out")
    read -r u s m < "$WORK/wrk.time"
    W_RPS+=("$rps"); W_CPU+=("$(python3 -c "print(($u+$s)*1e6/$requests)")"); W_RSS+=("$m")

    measure cicada "$CICADA" run --url "$URL" --users "$CONNECTIONS" --threads 1 \
        --run-time "$DURATION" --headless --json "$WORK/cicada.json"
    read -r requests rps < <(python3 -c "
import json; r = json.load(open('$WORK/cicada.json'))
print(r['total']['requests'], r['total']['rps'])")
    read -r u s m < "$WORK/cicada.time"
    C_RPS+=("$rps"); C_CPU+=("$(python3 -c "print(($u+$s)*1e6/$requests)")"); C_RSS+=("$m")
    echo "round $round: wrk ${W_RPS[-1]} req/s, cicada ${C_RPS[-1]} req/s" >&2
done

# Idle users: each sends one request, then waits an hour; the run ends
# after they are all up. Memory per user = (RSS at N users - RSS at 1) / N.
cat > "$WORK/idle.yaml" <<EOF
host: http://127.0.0.1:$PORT
users:
  - name: idle
    wait: 1h
    steps:
      - http: { path: / }
EOF
idle_run() {
    measure "idle$1" "$CICADA" run "$WORK/idle.yaml" --users "$1" --spawn-rate 5000 \
        --threads 1 --run-time 8s --headless --json "$WORK/idle$1.json"
    python3 -c "
import json; r = json.load(open('$WORK/idle$1.json'))
assert r['total']['requests'] == $1, ('not every user got its request through', r['total'])
assert r['total']['failures'] == 0, r['failures']
print(r['generator']['rss_mb_peak'])"
}
IDLE_ONE=$(idle_run 1)
IDLE_MANY=$(idle_run "$IDLE_USERS")

python3 - "$IDLE_ONE" "$IDLE_MANY" "$IDLE_USERS" "$CONNECTIONS" "$DURATION" \
    "${W_RPS[*]}" "${W_CPU[*]}" "${W_RSS[*]}" "${C_RPS[*]}" "${C_CPU[*]}" "${C_RSS[*]}" <<'EOF'
import sys
one, many, n, conns, duration = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
w_rps, w_cpu, w_rss, c_rps, c_cpu, c_rss = ([float(x) for x in a.split()] for a in sys.argv[6:12])
mean = lambda xs: sum(xs) / len(xs)
print(f"\nHTTP/1.1 keep-alive against nginx (core 0), generator on core 1, {conns} connections, {duration} x {len(w_rps)} rounds\n")
print(f"{'':8} {'req/s':>10} {'µs CPU/req':>11} {'peak RSS MB':>12}")
print(f"{'wrk':8} {mean(w_rps):>10.0f} {mean(w_cpu):>11.2f} {max(w_rss)/1024:>12.1f}")
print(f"{'cicada':8} {mean(c_rps):>10.0f} {mean(c_cpu):>11.2f} {max(c_rss)/1024:>12.1f}")
print(f"\ncicada/wrk: req/s x{mean(c_rps)/mean(w_rps):.2f}   CPU per request x{mean(c_cpu)/mean(w_cpu):.2f}")
kb = (many - one) * 1000 / n
print(f"idle users: {n} users {many:.1f} MB, 1 user {one:.1f} MB -> {kb:.2f} KB per idle user")
EOF
