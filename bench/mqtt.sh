#!/usr/bin/env bash
# cicada vs Locust's MqttUser, side by side in one run, against Mosquitto on
# loopback; then one cicada thread holding a fleet of 15,000 MQTT connections.
#
# A Mosquitto of its own (generated config, free port) is pinned to core 0,
# the load generator to core 1. Each round runs, at QoS 0 and then at QoS 1,
# Locust (locust.contrib.mqtt's MqttUser, paho-mqtt underneath; see
# bench/mqtt/locustfile.py) and then cicada (bench/mqtt/publish-qos*.yaml,
# --threads 1): 50 connections, each publishing a 100-byte message to a topic
# of its own with no wait, for DURATION. Then cicada runs
# examples/mqtt-fleet.yaml (15,000 devices, a 100-byte QoS 1 publish each
# every 10 s) on one thread, and the same scenario with one device, to get
# memory per connection.
#
# Prints publishes/s (each tool's own count), failures, µs of CPU per publish
# (user+sys from /usr/bin/time over the tool's own count), peak RSS, what
# Mosquitto itself received ($SYS) as a share of the tool's count, the ratios
# Locust/cicada, and the fleet's connections, failures and KB per connection.
# The machine has 2 cores and nothing else may run on them: each run waits for
# a quiet second first, and the CPU that other processes took during a run is
# reported. Exits 1 when a check fails (a cicada publish failed, the fleet did
# not connect, ...).
#
#   bench/mqtt.sh                          # 2 rounds of 10 s, then a 45 s fleet
#   ROUNDS=3 DURATION=20s bench/mqtt.sh
#   FLEET_USERS=5000 FLEET_RUN_TIME=30s bench/mqtt.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh

ROUNDS=${ROUNDS:-2}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-50}
FLEET_USERS=${FLEET_USERS:-15000}
FLEET_RUN_TIME=${FLEET_RUN_TIME:-45s}
QUIET_WAIT=${QUIET_WAIT:-60}
# Locust and paho-mqtt go into a venv outside the work tree, kept between runs;
# the versions are pinned so that figures from different days compare.
CACHE=${CICADA_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cicada-bench}
LOCUST_VERSION=${LOCUST_VERSION:-2.47.0}
PAHO_VERSION=${PAHO_VERSION:-2.2.0}

install() {
    local missing=()
    [ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)
    command -v mosquitto_sub >/dev/null || missing+=(mosquitto-clients)
    [ -x /usr/bin/time ] || missing+=(time)
    command -v taskset >/dev/null || missing+=(util-linux)
    command -v python3 >/dev/null || missing+=(python3)
    python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
    apt_install "${missing[@]}"
    VENV=$CACHE/venv
    if ! "$VENV/bin/python" - "$LOCUST_VERSION" "$PAHO_VERSION" 2>/dev/null <<'EOF'
import sys
from importlib.metadata import version
sys.exit(version("locust") != sys.argv[1] or version("paho-mqtt") != sys.argv[2])
EOF
    then
        echo "installing locust $LOCUST_VERSION and paho-mqtt $PAHO_VERSION into $VENV ..." >&2
        mkdir -p "$CACHE"
        python3 -m venv "$VENV"
        "$VENV/bin/pip" install -q --disable-pip-version-check \
            "locust==$LOCUST_VERSION" "paho-mqtt==$PAHO_VERSION"
    fi
}
install
LOCUST=$VENV/bin/locust

cargo build --release -q
CICADA=$PWD/target/release/cicada

# Every process started in the background writes its pid to $WORK/*.pid, so
# that the trap stops exactly those.
WORK=$(mktemp -d)
cleanup() {
    local pid
    for pid in $(cat "$WORK"/*.pid 2>/dev/null); do kill "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# seconds "10s" -> 10 (also 500ms, 1m30s)
secs() {
    python3 - "$1" <<'EOF'
import re, sys
parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", sys.argv[1])
assert parts and "".join(n + u for n, u in parts) == sys.argv[1], f"bad duration {sys.argv[1]!r}"
print(sum(float(n) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[u] for n, u in parts))
EOF
}
RUN_S=$(secs "$DURATION")
FLEET_S=$(secs "$FLEET_RUN_TIME")

# 15,000 connections need as many descriptors in Mosquitto; everything started
# from here on inherits the raised limit (cicada also raises its own).
ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((FLEET_USERS + 100)) ]; then
    echo "warning: open files limited to $(ulimit -n), below $FLEET_USERS connections" >&2
fi

# Port 1883 may be taken by a system Mosquitto: always pick a free port.
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
HOST=mqtt://127.0.0.1:$PORT
cat > "$WORK/mosquitto.conf" <<EOF
listener $PORT 127.0.0.1
allow_anonymous true
persistence false
max_connections -1
# Defaults are 20 QoS 1/2 messages in flight and 1000 queued per client (and
# 20 is the receive maximum offered to MQTT 5 clients): raised, so that QoS 1
# is never throttled by the broker's bookkeeping.
max_inflight_messages 1000
max_queued_messages 100000
# \$SYS counters every second: the broker's own count of publishes received,
# and of clients connected during the fleet run.
sys_interval 1
# 15,000 connects must not each write a log line.
connection_messages false
log_dest stderr
log_type error
log_type warning
EOF
taskset -c 0 /usr/sbin/mosquitto -c "$WORK/mosquitto.conf" > "$WORK/mosquitto.log" 2>&1 &
echo $! > "$WORK/mosquitto.pid"
sub() { timeout 10 mosquitto_sub -h 127.0.0.1 -p "$PORT" -C 1 -W 5 "$@" 2>/dev/null; }
up=""
for _ in $(seq 50); do
    if sub -t '$SYS/broker/version' >/dev/null; then up=1; break; fi
    sleep 0.1
done
if [ -z "$up" ]; then
    echo "Mosquitto did not start on port $PORT:" >&2; cat "$WORK/mosquitto.log" >&2; exit 1
fi
MOSQUITTO_VERSION=$(sub -t '$SYS/broker/version')

# Mosquitto's count of PUBLISH packets received so far, once it has settled:
# a tool counts a QoS 0 publish when it has written it to its socket, and the
# broker may go on reading what the kernel buffered for seconds after the tool
# exited. $SYS is refreshed every second: wait until the count has not moved
# for 2 s (at most 60 s). Prints "count seconds_until_settled". (Before the
# first publish the topic does not exist yet: 0.)
received() {
    local last=-1 now same=0 t
    for t in $(seq 60); do
        sleep 1
        now=$(sub -t '$SYS/broker/publish/messages/received' || echo 0)
        if [ "$now" = "$last" ]; then
            same=$((same + 1))
            [ "$same" -ge 2 ] && { echo "$now $((t - 2))"; return; }
        else
            same=0
        fi
        last=$now
    done
    echo "$now 60"
}

# Busy jiffies of cores 0 and 1 together, and Mosquitto's own (user+sys).
busy() {
    echo "$(awk '/^cpu[01] / {b += $2 + $3 + $4 + $7 + $8 + $9} END {print b}' /proc/stat)" \
        "$(awk '{print $14 + $15}' "/proc/$(cat "$WORK/mosquitto.pid")/stat")"
}

# Waits (at most QUIET_WAIT s) for a second in which the two cores were busy
# less than a fifth of one core outside Mosquitto: a build or a test suite
# running next to the benchmark would be measured too.
quiet() {
    local b0 m0 b1 m1 t
    for t in $(seq "$QUIET_WAIT"); do
        read -r b0 m0 < <(busy)
        sleep 1
        read -r b1 m1 < <(busy)
        [ $((b1 - b0 - (m1 - m0))) -lt $(($(getconf CLK_TCK) / 5)) ] && return
    done
    echo "the machine was not quiet for $QUIET_WAIT s before a run; measured anyway" | tee -a "$WORK/notes.txt" >&2
}

# measure NAME LIMIT_S OK_EXIT CMD... -> "user sys maxrss_kb" in $WORK/NAME.time,
# and in $WORK/NAME.other the CPU seconds that neither the tool nor Mosquitto
# used on the two cores meanwhile (other processes, interrupts): with 2 cores,
# anything else running on the machine disturbs the figures, and this says by
# how much. The tool runs on core 1 under a hard time limit; an exit status
# other than 0 and OK_EXIT aborts the script (failures are counted from the
# reports).
measure() {
    local name=$1 limit=$2 ok=$3 rc=0 b0 m0 b1 m1; shift 3
    quiet
    read -r b0 m0 < <(busy)
    /usr/bin/time -f "%U %S %M" -o "$WORK/$name.time" \
        timeout -k 5 "$limit" taskset -c 1 "$@" > "$WORK/$name.out" 2> "$WORK/$name.err" || rc=$?
    read -r b1 m1 < <(busy)
    if [ "$rc" -ne 0 ] && [ "$rc" -ne "$ok" ]; then
        echo "$name failed (exit $rc):" >&2
        tail -n 40 "$WORK/$name.out" "$WORK/$name.err" >&2
        exit 1
    fi
    read -r u s _ < "$WORK/$name.time"
    python3 -c "print(max(0, ($b1 - $b0 - ($m1 - $m0)) / $(getconf CLK_TCK) - $u - $s))" > "$WORK/$name.other"
}
LIMIT=$(python3 -c "print(int($RUN_S) + 60)")

# One line per run: tool qos round publishes failures interrupted user sys
# maxrss_kb broker_received broker_settle_s other_cpu_s
RUNS=$WORK/runs.tsv
: > "$RUNS"
: > "$WORK/notes.txt"
read -r before _ < <(received)
for round in $(seq "$ROUNDS"); do
    for qos in 0 1; do
        # Locust: the locustfile writes its final counts (publishes, failures,
        # errors) when Locust quits. --exit-code-on-error 0: its failures are
        # counted, not fatal.
        MQTT_QOS=$qos MQTT_BENCH_SUMMARY=$WORK/locust.json measure locust "$LIMIT" 0 \
            "$LOCUST" -f bench/mqtt/locustfile.py --headless -u "$CONNECTIONS" -r "$CONNECTIONS" \
            -t "$DURATION" --host "$HOST" --only-summary --exit-code-on-error 0
        read -r after settle < <(received)
        read -r n f < <(python3 - "$WORK/locust.json" "$round" "$qos" "$WORK/notes.txt" <<'EOF'
import json, re, sys
summary, rnd, qos, notes = sys.argv[1:]
r = json.load(open(summary))
print(r["publishes"], r["failures"] + r["other_failures"])
errors = {}
for e in r["errors"]:
    # "Could not find message data for mid '123'": one line for all mids;
    # publish:QOS:TOPIC rows: one line for all topics.
    key = (e["name"].split(":")[0], re.sub(r"mid '\d+'", "mid 'N'", e["error"]))
    errors[key] = errors.get(key, 0) + e["occurrences"]
with open(notes, "a") as out:
    for (name, error), count in sorted(errors.items()):
        out.write(f"round {rnd} QoS {qos} Locust: {count} x {name}: {error}\n")
EOF
        )
        if grep -q "CPU usage above" "$WORK/locust.err"; then
            echo "round $round QoS $qos Locust: warned that its CPU usage was above 90%" >> "$WORK/notes.txt"
        fi
        read -r u s m < "$WORK/locust.time"
        echo "locust $qos $round $n $f 0 $u $s $m $((after - before)) $settle $(cat "$WORK/locust.other")" >> "$RUNS"
        before=$after

        measure cicada "$LIMIT" 1 "$CICADA" run "bench/mqtt/publish-qos$qos.yaml" --host "$HOST" \
            --users "$CONNECTIONS" --spawn-rate "$CONNECTIONS" --run-time "$DURATION" \
            --threads 1 --headless --json "$WORK/cicada.json"
        read -r after settle < <(received)
        read -r n f i < <(python3 - "$WORK/cicada.json" "$round" "$qos" "$WORK/notes.txt" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
rows = {s["name"]: s for s in r["stats"]}
p, c = rows["publish"], rows.get("connect", {"failures": 0})
print(p["requests"], p["failures"] + c["failures"], p.get("interrupted", 0))
with open(sys.argv[4], "a") as out:
    for f in r["failures"]:
        out.write(f"round {sys.argv[2]} QoS {sys.argv[3]} cicada: {json.dumps(f)}\n")
EOF
        )
        read -r u s m < "$WORK/cicada.time"
        echo "cicada $qos $round $n $f $i $u $s $m $((after - before)) $settle $(cat "$WORK/cicada.other")" >> "$RUNS"
        before=$after
        echo "round $round QoS $qos: Locust $(awk -v q="$qos" -v r="$round" '$1=="locust" && $2==q && $3==r {print $4}' "$RUNS") publishes, cicada $n" >&2
    done
done

# The fleet: examples/mqtt-fleet.yaml on one thread, with --mqtt-sys (the
# broker's $SYS view in the JSON). Memory per connection = peak RSS / N, and
# (peak RSS at N - peak RSS at 1) / N; the run with one device has the same
# flags and length. While the fleet is held, mosquitto_sub also asks the broker
# how many clients it has.
fleet() {
    measure "fleet$1" "$(python3 -c "print(int($FLEET_S) + 90)")" 1 \
        "$CICADA" run examples/mqtt-fleet.yaml --host "$HOST" --users "$1" \
        --threads 1 --run-time "$FLEET_RUN_TIME" --headless --mqtt-sys --json "$WORK/fleet$1.json"
}
fleet 1
hold_at=$(python3 -c "print(max(1, $FLEET_S - 10))")
( sleep "$hold_at"; sub -t '$SYS/broker/clients/connected' > "$WORK/held.txt" || true ) &
echo $! > "$WORK/sampler.pid"
fleet "$FLEET_USERS"
wait "$(cat "$WORK/sampler.pid")" 2>/dev/null || true
rm -f "$WORK/sampler.pid"
HELD=$(cat "$WORK/held.txt" 2>/dev/null || true)

python3 - "$RUNS" "$WORK" "$CONNECTIONS" "$DURATION" "$RUN_S" "$FLEET_USERS" "$FLEET_RUN_TIME" "$FLEET_S" \
    "${HELD:-?}" "$hold_at" "$MOSQUITTO_VERSION" "$LOCUST_VERSION" "$PAHO_VERSION" <<'EOF'
import json, sys
from collections import defaultdict
runs, work, conns, duration, run_s, n, fleet_time, fleet_s, held, hold_at, mosq, locust_v, paho_v = sys.argv[1:]
run_s, n, fleet_s = float(run_s), int(n), float(fleet_s)
checks = []  # (ok, text)

by = defaultdict(list)  # (tool, qos) -> [run dicts]
for line in open(runs):
    tool, qos, rnd, pubs, fails, interrupted, u, s, m, broker, settle, other = line.split()
    by[tool, int(qos)].append(dict(round=int(rnd), pubs=int(pubs), fails=int(fails),
        interrupted=int(interrupted), cpu=float(u) + float(s), rss_kb=int(m), broker=int(broker),
        settle=int(settle), other=float(other)))
mean = lambda xs: sum(xs) / len(xs)
us = lambda r: r["cpu"] * 1e6 / max(r["pubs"], 1)
rounds = len(by["cicada", 0])

print(f"\nMQTT publishes to {mosq} (core 0), generator on core 1, {conns} connections,")
print(f"100-byte payloads, no wait, {duration} x {rounds} rounds; Locust {locust_v} + paho-mqtt {paho_v}\n")
# publishes/s: the tool's own count / DURATION. broker: what Mosquitto
# received in that run (once settled), as a share of the tool's count, and how
# long after the tool's exit it was still receiving. others: the most CPU that
# other processes took on the two cores during a run, in % of one core.
print(f"{'':8} {'QoS':>3} {'publishes/s':>12} {'failures':>9} {'µs CPU/pub':>11} {'peak RSS MB':>12} "
      f"{'broker rx':>10} {'drain s':>8} {'others':>7}")
for qos in (0, 1):
    for tool, label in (("locust", "Locust"), ("cicada", "cicada")):
        rs = by[tool, qos]
        share = sum(r["broker"] for r in rs) / max(sum(r["pubs"] for r in rs), 1)
        print(f"{label:8} {qos:>3} {mean([r['pubs'] for r in rs]) / run_s:>12,.0f} "
              f"{sum(r['fails'] for r in rs):>9} {mean([us(r) for r in rs]):>11.2f} "
              f"{max(r['rss_kb'] for r in rs) / 1024:>12.1f} {100 * share:>9.1f}% "
              f"{max(r['settle'] for r in rs):>8} {100 * max(r['other'] for r in rs) / run_s:>6.0f}%")
print("\nper round (publishes/s, µs CPU/publish):")
for qos in (0, 1):
    for tool, label in (("locust", "Locust"), ("cicada", "cicada")):
        rs = by[tool, qos]
        print(f"  {label:7} QoS {qos}: " + "; ".join(f"{r['pubs'] / run_s:,.0f} {us(r):.2f}" for r in rs))
print()
for qos in (0, 1):
    lo, ci = by["locust", qos], by["cicada", qos]
    cpu = mean([us(r) for r in lo]) / mean([us(r) for r in ci])
    per_round = ", ".join(f"{us(a) / us(b):.0f}" for a, b in zip(lo, ci))
    rate = mean([r["pubs"] for r in ci]) / max(mean([r["pubs"] for r in lo]), 1)
    print(f"QoS {qos}: Locust/cicada µs CPU per publish x{cpu:.1f} (rounds {per_round}; target >= 20)"
          f"   cicada/Locust publishes/s x{rate:.1f}")
    fails = sum(r["fails"] for r in ci)
    checks.append((fails == 0, f"cicada QoS {qos}: {fails} failed publishes or connects"))
    checks.append((min(r["pubs"] for r in lo + ci) > 0, f"QoS {qos}: a run counted no publish"))
    # Unsent publishes at the end: far more than max_inflight (100) per
    # connection means a queue that the run's memory holds.
    left = max(r["interrupted"] for r in ci)
    if left > 200 * int(conns):
        print(f"  ! cicada QoS {qos}: up to {left:,} publishes still queued when the run ended "
              f"(interrupted; peak RSS {max(r['rss_kb'] for r in ci) / 1024:.0f} MB)")

print(f"\nFleet: examples/mqtt-fleet.yaml, --threads 1, {fleet_time}\n")
fleet = {}
for users in (1, n):
    r = json.load(open(f"{work}/fleet{users}.json"))
    u, s, m = open(f"{work}/fleet{users}.time").read().split()
    rows = {x["name"]: x for x in r["stats"]}
    other = float(open(f"{work}/fleet{users}.other").read())
    fleet[users] = dict(json=r, rows=rows, cpu=float(u) + float(s), rss_mb=int(m) / 1024, other=other)
big = fleet[n]
r, tele, connect = big["json"], big["rows"]["telemetry"], big["rows"]["connect"]
opened, cfailed = r["connections"]["opened"], r["connections"]["failed"]
seen = max((v for _, v in r.get("broker", {}).get("series", {}).get("clients_connected", [])), default=None)
pct = 100 * tele["failures"] / max(tele["requests"], 1)
kb_gross = big["rss_mb"] * 1024 / n
kb_net = (big["rss_mb"] - fleet[1]["rss_mb"]) * 1024 / n
print(f"  connections  {opened:,} opened, {cfailed} failed, {connect['failures']} failed connects "
      f"(connect p99 {connect['percentiles_ms']['99']} ms)")
print(f"  Mosquitto    clients connected: peak {seen:,.0f} in $SYS (the --mqtt-sys monitor is one of them); "
      f"{held} from mosquitto_sub at {float(hold_at):.0f} s" if seen is not None else
      f"  Mosquitto    clients connected: {held} from mosquitto_sub at {float(hold_at):.0f} s")
print(f"  publishes    {tele['requests']:,}, {tele['failures']} failed ({pct:.3f} %; target < 0.1 %), "
      f"{tele['interrupted']} interrupted, ack p99 {tele['percentiles_ms']['99']} ms")
print(f"  generator    {big['cpu']:.1f} s CPU over the run (others took {big['other']:.1f} s); peak RSS {big['rss_mb']:.1f} MB "
      f"at {n:,} connections, {fleet[1]['rss_mb']:.1f} MB at one")
print(f"  memory       {kb_gross:.2f} KB per connection (peak RSS / {n:,}), "
      f"{kb_net:.2f} KB net of the one-connection run (target <= 5 KB)")
checks.append((opened == n and cfailed == 0 and connect["failures"] == 0,
               f"fleet: {opened} of {n} connections opened, {cfailed} failed"))
checks.append((pct < 0.1, f"fleet: {pct:.3f} % of publishes failed"))

notes = open(f"{work}/notes.txt").read().strip()
# Other processes on the two cores during a run (see measure): more than a
# quarter of a core, and that run's figures are disturbed.
disturbed = [f"round {r['round']} QoS {qos} {tool}: {100 * r['other'] / run_s:.0f} %"
             for (tool, qos), rs in sorted(by.items()) for r in rs if r["other"] > 0.25 * run_s]
disturbed += [f"fleet of {users}: {100 * f['other'] / fleet_s:.0f} %"
              for users, f in fleet.items() if f["other"] > 0.25 * fleet_s]
if disturbed:
    notes += ("\n" if notes else "") + "disturbed by other processes (CPU in % of one core): " + ", ".join(disturbed)
if notes:
    print("\nNoted during the runs:\n  " + notes.replace("\n", "\n  "))
failed = [text for ok, text in checks if not ok]
for text in failed:
    print(f"CHECK FAILED: {text}")
sys.exit(1 if failed else 0)
EOF
