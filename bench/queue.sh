#!/usr/bin/env bash
# The bundled queue target (`cicada target queue`) under cicada's own load, on
# SQLite and on PostgreSQL: push and pop throughput at 50 users, and the
# prepopulator's items per second.
#
# For each store the target runs with --admin (POST /admin/reset empties it
# between runs) pinned to core 0, cicada pinned to core 1 (--threads 1). Each
# round, on an emptied store:
#   push  cicada run suites/pushpop/push.yaml --users 50 (closed model, no
#         waits: the file's `load:` is replaced by --users) for DURATION;
#   prepopulate  cicada prepopulate --queue q1 --items 100000 --concurrency 64,
#         timed, with its depth check;
#   pop   topped up to at least 3 x what the push run did in DURATION (and
#         ITEMS), so that the queue cannot run empty, then
#         cicada run suites/pushpop/pop.yaml --users 50 (depth 1) for DURATION;
#         the queue's depth before and after tells whether a pop came back
#         empty.
# PostgreSQL is the server on 127.0.0.1:5432 (trust auth), in a database of
# the benchmark's own (PG_DATABASE, created when missing) so that emptying the
# store never touches what tests keep in `test`; skipped with a note when
# pg_isready or psql fails. Its table is vacuumed and analyzed after each
# reset and before each pop run (the server here has autovacuum off).
#
# Prints requests/s, p50/p99, failures, µs of CPU per request of the target
# (user+sys from /proc/PID/stat), of the PostgreSQL server (its processes, not
# pinned) and of cicada (user+sys from /usr/bin/time), and the prepopulator's
# items/s. There is no peer tool to run side by side: the figures are the
# target's. The machine has 2 cores: each run waits for a quiet second first
# (as bench/mqtt.sh), and the CPU other processes took during a run is
# reported. Exits 1 when a check fails: a failed push or pop, a pop that
# found the queue empty, a prepopulate not verified, or 100,000 items taking
# 60 s or more on SQLite.
#
#   bench/queue.sh                       # 2 rounds of 10 s per store
#   ROUNDS=3 DURATION=20s bench/queue.sh
#   STORES=sqlite bench/queue.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh

ROUNDS=${ROUNDS:-2}
DURATION=${DURATION:-10s}
USERS=${USERS:-50}
ITEMS=${ITEMS:-100000}
CONCURRENCY=${CONCURRENCY:-64}
STORES=${STORES:-sqlite postgres}
PG_HOST=${PG_HOST:-127.0.0.1}
PG_PORT=${PG_PORT:-5432}
PG_USER=${PG_USER:-postgres}
PG_DATABASE=${PG_DATABASE:-cicada_bench}
QUIET_WAIT=${QUIET_WAIT:-60}

install() {
    local missing=()
    command -v curl >/dev/null || missing+=(curl)
    [ -x /usr/bin/time ] || missing+=(time)
    command -v taskset >/dev/null || missing+=(util-linux)
    apt_install "${missing[@]}"
}
install

cargo build --release -q
CICADA=$PWD/target/release/cicada

WORK=$(mktemp -d)
stop_target() {
    local pid
    pid=$(cat "$WORK/target.pid" 2>/dev/null) || return 0
    kill -INT "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    rm -f "$WORK/target.pid"
}
trap 'stop_target; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM

secs() { python3 -c "
import re, sys
t = sys.argv[1]
m = re.fullmatch(r'(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?', t)
assert m and t, f'cannot read duration {t!r}'
print(int(m[1] or 0) * 3600 + int(m[2] or 0) * 60 + int(m[3] or 0))" "$1"; }
RUN_S=$(secs "$DURATION")
LIMIT=$((RUN_S + 60))
TCK=$(getconf CLK_TCK)

# Starts the target on core 0 with --admin; URL and PID in $WORK/target.*,
# its first line (store and settings) in $WORK/target.line.
start_target() {
    : > "$WORK/target.out"
    taskset -c 0 "$CICADA" target queue --addr 127.0.0.1:0 --admin --database "$1" \
        > "$WORK/target.out" 2> "$WORK/target.err" &
    echo $! > "$WORK/target.pid"
    local line=""
    for _ in $(seq 300); do
        line=$(head -n 1 "$WORK/target.out")
        [ -n "$line" ] && break
        kill -0 "$(cat "$WORK/target.pid")" 2>/dev/null || break
        sleep 0.1
    done
    URL=$(sed -n 's|^queue target listening on \(http://127\.0\.0\.1:[0-9]*\).*|\1|p' <<< "$line")
    if [ -z "$URL" ]; then
        echo "the queue target did not start on $1:" >&2
        cat "$WORK/target.out" "$WORK/target.err" >&2
        exit 1
    fi
    echo "$line" > "$WORK/target.line"
}

call() { curl -sS --fail-with-body --max-time 60 -X "$1" "$URL$2"; }
# PostgreSQL: psql, and whether the store measured now is PostgreSQL.
PSQL=()
ON_PG=""
# The server here runs with autovacuum off: without a VACUUM the rows every
# reset and pop deletes stay in the table and its index, and each round pops
# slower than the one before. Each run starts from a vacuumed table with
# fresh statistics, as autovacuum would leave it.
vacuum() {
    [ -z "$ON_PG" ] || "${PSQL[@]}" -d "$PG_DATABASE" -c "VACUUM ANALYZE cicada_queue_items" > /dev/null
}
reset() { call POST /admin/reset > /dev/null; vacuum; }
depth() { call GET /queues/q1/stats | python3 -c 'import json, sys; print(json.load(sys.stdin)["depth"])'; }

# Busy jiffies of cores 0 and 1 together, the target's own (user+sys), and
# the database server's (PostgreSQL: every process of DB_OS_USER, the
# postmaster's reaped children included; 0 for SQLite, inside the target).
DB_OS_USER=""
busy() {
    local db=0
    if [ -n "$DB_OS_USER" ]; then
        # (a backend may exit between pgrep and cat: what is left is read)
        db=$(cd /proc && { cat $(pgrep -u "$DB_OS_USER" | sed 's|$|/stat|') 2>/dev/null || true; } |
            awk '{t += $14 + $15 + $16 + $17} END {print t + 0}')
    fi
    echo "$(awk '/^cpu[01] / {b += $2 + $3 + $4 + $7 + $8 + $9} END {print b}' /proc/stat)" \
        "$(awk '{print $14 + $15}' "/proc/$(cat "$WORK/target.pid")/stat")" "$db"
}

# Waits (at most QUIET_WAIT s) for a second in which the two cores were busy
# less than a fifth of one core outside the target (as bench/mqtt.sh): a
# build or a test suite running next to the benchmark would be measured too.
quiet() {
    local b0 t0 d0 b1 t1 d1
    for _ in $(seq "$QUIET_WAIT"); do
        read -r b0 t0 d0 < <(busy)
        sleep 1
        read -r b1 t1 d1 < <(busy)
        [ $((b1 - b0 - (t1 - t0) - (d1 - d0))) -lt $((TCK / 5)) ] && return
    done
    echo "the machine was not quiet for $QUIET_WAIT s before a run; measured anyway" | tee -a "$WORK/notes.txt" >&2
}

# measure NAME OK_EXIT CMD... runs CMD on core 1 under a time limit, after a
# quiet second. Writes "user sys maxrss_kb wall_s" (the tool) to NAME.time and
# "target_cpu_s db_cpu_s other_cpu_s" to NAME.cpu: the target's user+sys
# during the run, the database server's, and what none of them took on the
# two cores (other processes). An exit status other than 0 and OK_EXIT aborts
# the script.
measure() {
    local name=$1 ok=$2 rc=0 b0 t0 d0 b1 t1 d1; shift 2
    quiet
    read -r b0 t0 d0 < <(busy)
    /usr/bin/time -f "%U %S %M %e" -o "$WORK/$name.time" \
        timeout -k 5 "$LIMIT" taskset -c 1 "$@" > "$WORK/$name.out" 2> "$WORK/$name.err" || rc=$?
    read -r b1 t1 d1 < <(busy)
    if [ "$rc" -ne 0 ] && [ "$rc" -ne "$ok" ]; then
        echo "$name failed (exit $rc):" >&2
        tail -n 40 "$WORK/$name.out" "$WORK/$name.err" >&2
        exit 1
    fi
    local u s
    read -r u s _ < "$WORK/$name.time"
    python3 -c "print(($t1 - $t0) / $TCK, ($d1 - $d0) / $TCK, max(0, ($b1 - $b0 - ($t1 - $t0) - ($d1 - $d0)) / $TCK - $u - $s))" > "$WORK/$name.cpu"
}

# One line per run in runs.tsv:
#   store kind round count failures p50_ms p99_ms user sys maxrss_kb wall_s
#   target_cpu_s db_cpu_s other_cpu_s extra
# kind push/pop: count = requests, extra = pops that came back empty (pop);
# kind prepopulate: count = items pushed, failures = 1 unless verified,
# p50/p99 = -, extra = the prepopulator's own items/s.
RUNS=$WORK/runs.tsv
: > "$RUNS"
: > "$WORK/notes.txt"
: > "$WORK/stores.txt"

# scenario push|pop: cicada's JSON → "requests failures p50 p99" in KIND.result.
# --users replaces the file's open-model `load:` (rate: 50/s): the check below
# makes sure the run was the closed model with USERS users.
scenario() {
    local kind=$1
    # Exit 1: a request failed; counted from the report, checked at the end.
    measure "$kind" 1 "$CICADA" run "suites/pushpop/$kind.yaml" --host "$URL" \
        --users "$USERS" --spawn-rate "$USERS" --run-time "$DURATION" --threads 1 \
        --headless --json "$WORK/$kind.json"
    python3 - "$WORK/$kind.json" "$USERS" > "$WORK/$kind.result" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
load = r["load"]
assert load["model"] == "closed" and load["peak_users"] == int(sys.argv[2]), \
    f"not the closed model at {sys.argv[2]} users: {load}"
t = r["total"]
print(t["requests"], t["failures"], t["percentiles_ms"]["50"], t["percentiles_ms"]["99"])
EOF
}

record() {  # store kind round count failures p50 p99 extra  (+ NAME.time, NAME.cpu)
    local u s m e tc dc oc
    read -r u s m e < "$WORK/$2.time"
    read -r tc dc oc < "$WORK/$2.cpu"
    echo "$1 $2 $3 $4 $5 $6 $7 $u $s $m $e $tc $dc $oc $8" >> "$RUNS"
}

bench_store() {
    local store=$1 database=$2 round n f p50 p99 want have before after empty pushed ips verified
    start_target "$database"
    echo "$store: $(cat "$WORK/target.line")" | tee -a "$WORK/stores.txt" >&2
    for round in $(seq "$ROUNDS"); do
        # push: an empty store, USERS users pushing with no wait.
        reset
        scenario push
        read -r n f p50 p99 < "$WORK/push.result"
        record "$store" push "$round" "$n" "$f" "$p50" "$p99" 0
        echo "$store round $round push: $n requests, $f failed" >&2

        # The prepopulator: ITEMS items into an empty q1, timed.
        reset
        measure prepopulate 1 "$CICADA" prepopulate --target "$URL" --queue q1 \
            --items "$ITEMS" --concurrency "$CONCURRENCY"
        pushed=$(sed -n 's/^pushed \([0-9,]*\) of.*/\1/p' "$WORK/prepopulate.out" | tr -d ,)
        ips=$(sed -n 's/.* (\([0-9,]*\) items\/s.*/\1/p' "$WORK/prepopulate.out" | tr -d ,)
        verified=0
        grep -q "^queue q1: .*verified)" "$WORK/prepopulate.out" && verified=1
        if [ "$verified" = 0 ]; then
            echo "$store round $round: prepopulate not verified:" | tee -a "$WORK/notes.txt" >&2
            tail -n 5 "$WORK/prepopulate.out" "$WORK/prepopulate.err" | tee -a "$WORK/notes.txt" >&2
        fi
        record "$store" prepopulate "$round" "${pushed:-0}" $((1 - verified)) - - "${ips:-0}"
        echo "$store round $round prepopulate: ${pushed:-0} items, ${ips:-?} items/s" >&2

        # pop: at least 3 x what the push run did in as long (and ITEMS), so
        # that the queue does not run empty; topped up untimed.
        want=$(python3 -c "print(max($ITEMS, -(-3 * $n // 1000) * 1000))")
        have=$(depth)
        if [ "$have" -lt "$want" ]; then
            timeout -k 5 600 taskset -c 1 "$CICADA" prepopulate --target "$URL" --queue q1 \
                --items $((want - have)) --concurrency "$CONCURRENCY" > "$WORK/topup.out" 2>&1 || {
                echo "topping q1 up to $want items failed:" >&2; tail -n 20 "$WORK/topup.out" >&2; exit 1; }
        fi
        vacuum
        before=$(depth)
        scenario pop
        read -r n f p50 p99 < "$WORK/pop.result"
        after=$(depth)
        # Only pops take items off q1 during the run: while items are left at
        # the end, no pop found it empty. Otherwise (depth 1) every pop beyond
        # the items there were came back empty.
        empty=0
        if [ "$after" -eq 0 ]; then
            empty=$((n > before ? n - before : 0))
            echo "$store round $round: q1 ran empty during the pop run ($before items, $n pops)" >> "$WORK/notes.txt"
            [ "$empty" -gt 0 ] || empty=1
        fi
        record "$store" pop "$round" "$n" "$f" "$p50" "$p99" "$empty"
        echo "$store round $round pop: $n requests, $f failed, depth $before -> $after" >&2
    done
    reset
    echo "  target peak RSS $(awk '/^VmHWM/ {printf "%.1f MB", $2 / 1024}' "/proc/$(cat "$WORK/target.pid")/status")" >> "$WORK/stores.txt"
    stop_target
}

for store in $STORES; do
    case $store in
    sqlite)
        bench_store sqlite "$WORK/queue.db"
        ;;
    postgres)
        if ! timeout 10 pg_isready -h "$PG_HOST" -p "$PG_PORT" > /dev/null 2>&1; then
            echo "PostgreSQL skipped: pg_isready -h $PG_HOST -p $PG_PORT fails (no server)" | tee -a "$WORK/notes.txt" >&2
            continue
        fi
        PSQL=(timeout 120 psql -X -q -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -v ON_ERROR_STOP=1)
        if ! "${PSQL[@]}" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$PG_DATABASE'" > "$WORK/pg.out" 2>&1; then
            echo "PostgreSQL skipped: psql cannot connect as $PG_USER to $PG_HOST:$PG_PORT: $(head -n 1 "$WORK/pg.out")" | tee -a "$WORK/notes.txt" >&2
            continue
        fi
        if ! grep -q 1 "$WORK/pg.out" && ! "${PSQL[@]}" -d postgres -c "CREATE DATABASE $PG_DATABASE" > "$WORK/pg.out" 2>&1; then
            echo "PostgreSQL skipped: cannot create the database $PG_DATABASE: $(head -n 1 "$WORK/pg.out")" | tee -a "$WORK/notes.txt" >&2
            continue
        fi
        echo "$("${PSQL[@]}" -d postgres -tAc 'SHOW server_version')" > "$WORK/pg.version"
        # The server's processes (not pinned: they share both cores with the
        # target and cicada), for its CPU per request.
        DB_OS_USER=$(ps -o user= -p "$(pgrep -o -x postgres || pgrep -o postgres || echo 1)" 2>/dev/null | tr -d ' ')
        [ "$DB_OS_USER" = root ] && DB_OS_USER=""
        ON_PG=1
        bench_store postgres "postgres://$PG_USER@$PG_HOST:$PG_PORT/$PG_DATABASE"
        DB_OS_USER=""
        ON_PG=""
        ;;
    *)
        echo "unknown store $store (sqlite, postgres)" >&2; exit 2
        ;;
    esac
done

python3 - "$RUNS" "$WORK" "$USERS" "$DURATION" "$RUN_S" "$ITEMS" "$CONCURRENCY" <<'EOF'
import os, sys
from collections import defaultdict
runs, work, users, duration, run_s, items, concurrency = sys.argv[1:]
run_s, items = float(run_s), int(items)
by = defaultdict(list)  # (store, kind) -> [run dicts]
for line in open(runs):
    (store, kind, rnd, count, fails, p50, p99, u, s, m, wall, tcpu, dcpu, other, extra) = line.split()
    wall = float(wall)
    by[store, kind].append(dict(round=int(rnd), n=int(count), fails=int(fails),
        p50=None if p50 == "-" else float(p50), p99=None if p99 == "-" else float(p99),
        cpu=float(u) + float(s), rss_kb=int(m), wall=wall, tcpu=float(tcpu), dcpu=float(dcpu),
        other=float(other), extra=float(extra),
        # a run's length: DURATION for push/pop, the wall time for prepopulate
        secs=wall if kind == "prepopulate" else run_s))
stores = [s for s in ("sqlite", "postgres") if (s, "push") in by]
mean = lambda xs: sum(xs) / len(xs)
per = lambda r, key: r[key] * 1e6 / max(r["n"], 1)   # µs of CPU per request or item
checks = []  # (ok, text)
pg = open(f"{work}/pg.version").read().strip() if os.path.exists(f"{work}/pg.version") else None
rounds = len(by[stores[0], "push"]) if stores else 0

print(f"\nThe queue target (core 0) under cicada (core 1, --threads 1), {users} users with no wait, "
      f"{duration} x {rounds} rounds")
for line in open(f"{work}/stores.txt"):
    print(f"  {line.rstrip()}")
if pg:
    print(f"  PostgreSQL {pg} (the machine's server, not pinned: its processes share both cores)")
print()
# µs CPU/req: the target's user+sys from /proc/PID/stat over the run, the
# database server's (PostgreSQL only; SQLite runs inside the target), and
# cicada's from /usr/bin/time, each over the requests cicada counted.
# others: the most CPU other processes took on the two cores during a run,
# in % of one core.
print(f"{'':9} {'':5} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'failures':>8} {'empty':>6} "
      f"{'µs CPU/req: target':>18} {'db':>6} {'cicada':>7} {'others':>7}")
for store in stores:
    for kind in ("push", "pop"):
        rs = by[store, kind]
        fails = sum(r["fails"] for r in rs)
        db = f"{mean([per(r, 'dcpu') for r in rs]):.1f}" if store == "postgres" else "-"
        print(f"{store:9} {kind:5} {mean([r['n'] for r in rs]) / run_s:>8,.0f} "
              f"{mean([r['p50'] for r in rs]):>7.2f} {mean([r['p99'] for r in rs]):>7.2f} {fails:>8} "
              f"{sum(int(r['extra']) for r in rs) if kind == 'pop' else '':>6} "
              f"{mean([per(r, 'tcpu') for r in rs]):>18.1f} {db:>6} {mean([per(r, 'cpu') for r in rs]):>7.1f} "
              f"{100 * max(r['other'] / r['secs'] for r in rs):>6.0f}%")
        checks.append((fails == 0, f"{store} {kind}: {fails} failed requests"))
        if kind == "pop":
            empty = sum(int(r["extra"]) for r in rs)
            checks.append((empty == 0, f"{store} pop: {empty} pops found the queue empty"))

print(f"\nprepopulate: {items:,} items into an empty q1, --concurrency {concurrency}, "
      f"batches of 500 100-byte items; items/s by its own clock, seconds from start to exit\n")
print(f"{'':9} {'items/s':>8} {'seconds':>8} {'verified':>9} {'µs CPU/item: target':>19} {'db':>6} "
      f"{'cicada':>7} {'others':>7}")
for store in stores:
    rs = by[store, "prepopulate"]
    ok = all(r["fails"] == 0 and r["n"] == items for r in rs)
    db = f"{mean([per(r, 'dcpu') for r in rs]):.2f}" if store == "postgres" else "-"
    print(f"{store:9} {mean([r['extra'] for r in rs]):>8,.0f} {max(r['wall'] for r in rs):>8.2f} "
          f"{'yes' if ok else 'NO':>9} {mean([per(r, 'tcpu') for r in rs]):>19.2f} {db:>6} "
          f"{mean([per(r, 'cpu') for r in rs]):>7.2f} {100 * max(r['other'] / r['secs'] for r in rs):>6.0f}%")
    checks.append((ok, f"{store} prepopulate: not verified (or not every item pushed)"))
    if store == "sqlite":
        worst = max(r["wall"] for r in rs)
        checks.append((worst < 60, f"sqlite prepopulate: {items:,} items took {worst:.1f} s (target < 60 s)"))

if stores:
    print("\nper round (req/s or items/s, then the target's µs CPU per request or item):")
    for store in stores:
        for kind in ("push", "pop", "prepopulate"):
            rs = by[store, kind]
            rate = lambda r: r["extra"] if kind == "prepopulate" else r["n"] / run_s
            print(f"  {store:8} {kind:11} " + "; ".join(f"{rate(r):,.0f} {per(r, 'tcpu'):.1f}" for r in rs))
    print()
    for store in stores:
        rate = {k: mean([r["n"] for r in by[store, k]]) / run_s for k in ("push", "pop")}
        share = {k: mean([r["cpu"] for r in by[store, k]]) / mean([r["tcpu"] + r["dcpu"] for r in by[store, k]])
                 for k in ("push", "pop")}
        print(f"{store}: pop/push req/s x{rate['pop'] / rate['push']:.2f}; cicada's CPU / the target"
              f"{'+database' if store == 'postgres' else ''}'s: push x{share['push']:.2f}, pop x{share['pop']:.2f}")
    if len(stores) == 2:
        for kind in ("push", "pop"):
            a, b = (mean([r["n"] for r in by[s, kind]]) for s in stores)
            print(f"{kind}: postgres/sqlite req/s x{b / a:.2f}")
        a, b = (mean([r["extra"] for r in by[s, "prepopulate"]]) for s in stores)
        print(f"prepopulate: postgres/sqlite items/s x{b / a:.2f}")
else:
    checks.append((False, "no store was measured"))

notes = open(f"{work}/notes.txt").read().strip()
# Other processes on the two cores during a run (see measure): more than a
# quarter of a core, and that run's figures are disturbed.
disturbed = [f"{store} {kind} round {r['round']}: {100 * r['other'] / r['secs']:.0f} %"
             for (store, kind), rs in sorted(by.items()) for r in rs if r["other"] > 0.25 * r["secs"]]
if disturbed:
    notes += ("\n" if notes else "") + "disturbed by other processes (CPU in % of one core): " + ", ".join(disturbed)
if notes:
    print("\nNoted during the runs:\n  " + notes.replace("\n", "\n  "))
failed = [text for ok, text in checks if not ok]
for text in failed:
    print(f"CHECK FAILED: {text}")
sys.exit(1 if failed else 0)
EOF
