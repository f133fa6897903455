#!/usr/bin/env bash
# Side-by-side load comparison: our zk-server against Apache ZooKeeper 3.8.0 (Debian), both
# on 127.0.0.1 with the same settings, measured by zk-load in the same run: standalone, then
# as 3-node ensembles.
#
#   bash benches/compare.sh [--quick] [--reps N] [--znodes N] [--no-build]
#        [--targets both|reference|ours] [--ensemble-only | --no-ensemble]
#        [--failover-reps N] [--ensemble-clients followers|all|leader] [--results-dir DIR]
#        [--write-floor]
#
# What it does (see benches/README.md for what each number means):
#   1. builds zk-server and the tools in benches/ (release), unless --no-build;
#   2. starts both servers standalone on free ports, each in its own process group and temp
#      dataDir;
#   3. warms both up, then runs the matrix {getData, setData, create sequential} x
#      {sessions x in-flight points} with 100-byte data, alternating reference / ours for
#      every point, repeated --reps times; prints medians and ratios ours / reference;
#   4. plots throughput against requests in flight (PNG, matplotlib);
#   5. on fresh servers: resident memory after creating --znodes znodes of 100 bytes, and
#      the restart time with that tree (process start to the first successful request);
#   6. starts a 3-node ensemble of each, runs {setData, create} at 1x1 and 8x100 (sessions on
#      the followers by default), alternating, --reps times, CPU summed over the 3 members;
#   7. failover: kills each ensemble's leader while a client writes, --failover-reps times,
#      and times the first successful write after the kill (zk-failover).
# --targets runs one kind only (its ratios are then n/a); --ensemble-only runs 6 and 7
# only, --no-ensemble 2 to 5 only. --write-floor runs only the write-floor part instead: get,
# set and create at 1x1 on standalone servers with every fdatasync timed by `perf record`
# (needs root), to show how much of a write's latency is the fsync.
# Every wait is bounded; only processes this script started are stopped (by PID); the temp
# data directories are removed on exit. Results go to benches/results/<quick|full>/ (with
# -ensemble, -write-floor and -<target> appended when only a part ran), or to --results-dir.
set -euo pipefail

ROOT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT_DIR/target}"

COMMAND_LINE="bash benches/compare.sh${*:+ $*}"
MODE=full
REPS=3
ZNODES=""
BUILD=1
TARGETS=(reference ours)
RUN_STANDALONE=1
RUN_ENSEMBLE=1
RUN_WRITE_FLOOR=0
FAILOVER_REPS=""
ENSEMBLE_CLIENTS=followers
RESULTS_DIR=""
usage_error() { echo "compare.sh: $* (see --help)" >&2; exit 2; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) MODE=quick ;;
    --reps) REPS="$2"; shift ;;
    --znodes) ZNODES="$2"; shift ;;
    --no-build) BUILD=0 ;;
    --targets)
      case "$2" in
        both) TARGETS=(reference ours) ;;
        reference|ours) TARGETS=("$2") ;;
        *) usage_error "--targets takes both, reference or ours" ;;
      esac
      shift ;;
    --ensemble-only) RUN_STANDALONE=0 ;;
    --no-ensemble) RUN_ENSEMBLE=0 ;;
    --failover-reps) FAILOVER_REPS="$2"; shift ;;
    --ensemble-clients)
      [[ $2 =~ ^(followers|all|leader)$ ]] || usage_error "--ensemble-clients takes followers, all or leader"
      ENSEMBLE_CLIENTS="$2"; shift ;;
    --results-dir) RESULTS_DIR="$2"; shift ;;
    --write-floor) RUN_WRITE_FLOOR=1 ;;
    -h|--help) sed -n '2,31p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) usage_error "unknown argument $1" ;;
  esac
  shift
done
[[ $RUN_STANDALONE == 1 || $RUN_ENSEMBLE == 1 ]] || usage_error "--ensemble-only and --no-ensemble leave nothing to run"
if [[ $RUN_WRITE_FLOOR == 1 ]]; then RUN_STANDALONE=0; RUN_ENSEMBLE=0; fi
[[ $REPS =~ ^[1-9][0-9]*$ ]] || usage_error "--reps takes a positive number"

# ---- the matrix -------------------------------------------------------------------------
OPERATIONS=(get set create)
TICK_TIME_MS=2000
DATA_BYTES=100
KEYS=1000
if [[ $MODE == quick ]]; then
  POINTS=(1x1 8x100)
  RUN_WARMUP=1s
  RUN_DURATION=2s
  SERVER_WARMUP=3s
  ZNODES="${ZNODES:-50000}"
  FAILOVER_REPS="${FAILOVER_REPS:-3}"
else
  POINTS=(1x1 1x10 8x10 8x100 32x100)
  RUN_WARMUP=2s
  RUN_DURATION=5s
  SERVER_WARMUP=10s
  ZNODES="${ZNODES:-200000}"
  FAILOVER_REPS="${FAILOVER_REPS:-5}"
fi
[[ $FAILOVER_REPS =~ ^[0-9]+$ ]] || usage_error "--failover-reps takes a number"
FAILOVER_STEADY=1s         # writing before the leader is killed
FAILOVER_LIMIT=60s         # from the kill: a write must succeed by then
FAILOVER_RETRY_PAUSE=2ms   # between the writer's reconnect attempts
# A write the server holds without answering costs the writer this much (then it
# reconnects); the Java client would wait 2/3 of the session timeout (20 s at 30 s).
FAILOVER_RESPONSE_TIMEOUT=5s
READY_TIMEOUT=60s          # from process start to the first answered request
RESTART_TIMEOUT=300s       # a restart with a large tree may take long; still bounded
STOP_TIMEOUT_S=20          # SIGTERM, then SIGKILL after this many seconds
if [[ -z $RESULTS_DIR ]]; then
  RESULTS_DIR="$ROOT_DIR/benches/results/$MODE"
  if [[ $RUN_WRITE_FLOOR == 1 ]]; then RESULTS_DIR+="-write-floor"
  elif [[ $RUN_STANDALONE == 0 ]]; then RESULTS_DIR+="-ensemble"; fi
  [[ ${#TARGETS[@]} == 1 ]] && RESULTS_DIR+="-${TARGETS[0]}"
fi
RESULTS_DIR="$(mkdir -p "$RESULTS_DIR" && cd "$RESULTS_DIR" && pwd)"

# ---- the reference ----------------------------------------------------------------------
JAVA=/usr/bin/java
REFERENCE_MAIN=org.apache.zookeeper.server.quorum.QuorumPeerMain
# zookeeper.jar's manifest names its own dependencies; logging needs the log4j binding too.
REFERENCE_CLASSPATH=/etc/zookeeper/conf:/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-log4j12.jar:/usr/share/java/log4j-1.2.jar

log() { printf '%s\n' "$*" >&2; }
die() { log "compare.sh: FAILED: $*"; exit 1; }

for jar in /usr/share/java/zookeeper.jar /usr/share/java/slf4j-log4j12.jar /usr/share/java/log4j-1.2.jar; do
  [[ -f $jar ]] || die "$jar is missing: install the Debian packages zookeeper and libzookeeper-java"
done
[[ -x $JAVA ]] || die "$JAVA is missing: install openjdk-17-jre-headless"
command -v python3 >/dev/null || die "python3 is missing (used for free ports and the plot)"

if [[ $BUILD == 1 ]]; then
  log "building zk-server, zk-load, zk-failover, zk-fsync-floor and zk-bench-report (release, target dir $TARGET_DIR)"
  (cd "$ROOT_DIR" && cargo build --release -q -p zk-server -p zk-benches --bin zk-load --bin zk-failover \
    --bin zk-fsync-floor --bin zk-bench-report)
fi
ZK_SERVER="$TARGET_DIR/release/zk-server"
ZK_LOAD="$TARGET_DIR/release/zk-load"
ZK_FAILOVER="$TARGET_DIR/release/zk-failover"
ZK_REPORT="$TARGET_DIR/release/zk-bench-report"
ZK_FSYNC_FLOOR="$TARGET_DIR/release/zk-fsync-floor"
NEEDED_BINARIES=("$ZK_LOAD" "$ZK_FAILOVER" "$ZK_REPORT" "$ZK_FSYNC_FLOOR")
[[ " ${TARGETS[*]} " == *" ours "* ]] && NEEDED_BINARIES+=("$ZK_SERVER")
for binary in "${NEEDED_BINARIES[@]}"; do
  [[ -x $binary ]] || die "$binary is missing (run without --no-build)"
done

# ---- process bookkeeping: only what we started, by PID ----------------------------------
RUN_DIR="$(mktemp -d "${TMPDIR:-/tmp}/zk-compare.XXXXXX")"
STARTED_PIDS=()

stop_pid() {
  local pid=$1
  kill -0 "$pid" 2>/dev/null || return 0
  # Each server runs in its own process group (setsid), whose id is its PID.
  local group
  group="$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ' || true)"
  if [[ $group == "$pid" ]]; then kill -TERM -- "-$pid" 2>/dev/null || true; else kill -TERM "$pid" 2>/dev/null || true; fi
  local waited=0
  while kill -0 "$pid" 2>/dev/null && (( waited < STOP_TIMEOUT_S * 10 )); do
    sleep 0.1; waited=$((waited + 1))
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "pid $pid ignored SIGTERM for ${STOP_TIMEOUT_S}s: SIGKILL"
    if [[ $group == "$pid" ]]; then kill -KILL -- "-$pid" 2>/dev/null || true; else kill -KILL "$pid" 2>/dev/null || true; fi
  fi
  wait "$pid" 2>/dev/null || true
  forget_pid "$pid"
}

# forget_pid PID: drops a process that has ended from STARTED_PIDS, so that its number, once
# reused by another process, is never signalled. (bash reaps it: spawn disowns the servers.)
forget_pid() {
  local pid=$1 kept=() started
  for started in "${STARTED_PIDS[@]}"; do
    [[ $started == "$pid" ]] || kept+=("$started")
  done
  STARTED_PIDS=("${kept[@]}")
}

cleanup() {
  local status=$? pid
  for pid in "${STARTED_PIDS[@]}"; do stop_pid "$pid"; done
  (( status == 0 )) || keep_server_logs
  rm -rf "$RUN_DIR"
}

# keep_server_logs: after a failure, copies every server's log (not its data, which can be
# gigabytes) out of the run directory before it is removed, so that the cause stays visible.
keep_server_logs() {
  local kept="${RESULTS_DIR:-$ROOT_DIR/benches/results}/failed-run-logs"
  rm -rf "$kept"
  mkdir -p "$kept" || { log "compare.sh: cannot create $kept to keep the servers' logs"; return 0; }
  if [[ ! -d $RUN_DIR ]]; then
    log "compare.sh: the run directory $RUN_DIR is gone: no server log to keep"
    return 0
  fi
  (cd "$RUN_DIR" && find . -name '*.log' -exec cp --parents {} "$kept" \;) ||
    log "compare.sh: copying the servers' logs to $kept failed"
  log "compare.sh: $(find "$kept" -type f | wc -l) server log(s) of the failed run kept in $kept"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# write_config KIND DIR PORT: the same settings for both servers; fsync on (forceSync=yes
# is the reference's default, written out so that the intent is visible).
write_config() {
  local dir=$2 port=$3
  mkdir -p "$dir/data"
  cat > "$dir/zoo.cfg" <<EOF
tickTime=$TICK_TIME_MS
dataDir=$dir/data
clientPort=$port
clientPortAddress=127.0.0.1
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=*
forceSync=yes
EOF
}

# spawn KIND DIR: starts the server of KIND (reference|ours) on DIR/zoo.cfg, in its own
# process group; sets SPAWNED_PID and SPAWNED_AT_NS.
spawn() {
  local kind=$1 dir=$2
  SPAWNED_AT_NS=$(date +%s%N)
  if [[ $kind == reference ]]; then
    # JVM defaults, as Debian's zkServer.sh starts it (no heap flags: Java 17 takes a
    # quarter of RAM as the maximum heap and uses G1).
    setsid "$JAVA" -cp "$REFERENCE_CLASSPATH" -Dzookeeper.root.logger=INFO,CONSOLE \
      "$REFERENCE_MAIN" "$dir/zoo.cfg" >>"$dir/server.log" 2>&1 </dev/null &
  else
    RUST_LOG=info setsid "$ZK_SERVER" "$dir/zoo.cfg" >>"$dir/server.log" 2>&1 </dev/null &
  fi
  SPAWNED_PID=$!
  # Out of the job table: bash still reaps it, but does not print a job notice when the
  # failover test kills it. It is stopped by its PID like any other.
  disown "$SPAWNED_PID"
  STARTED_PIDS+=("$SPAWNED_PID")
}

# wait_ready PORT PID LIMIT [PATH]: probes until PATH (default /) is answered; prints the
# probe's JSON line. Fails if the process died.
wait_ready() {
  local port=$1 pid=$2 limit=$3 path=${4:-/}
  local line
  line="$("$ZK_LOAD" --server "127.0.0.1:$port" --probe "$path" --probe-timeout "$limit" \
    --connect-timeout 1s --response-timeout 5s --json || true)"
  kill -0 "$pid" 2>/dev/null || { log "server pid $pid died"; return 1; }
  printf '%s\n' "$line"
}

json_field() { # json_field NAME LINE: a number or string field of a flat JSON line
  sed -n "s/.*\"$1\":\"\{0,1\}\([^,\"}]*\).*/\1/p" <<<"$2" | head -n1
}

# start KIND: a fresh server of KIND; sets <KIND>_PID, <KIND>_PORT, <KIND>_DIR.
start() {
  local kind=$1 attempt dir port line
  for attempt in 1 2 3; do
    dir="$RUN_DIR/$kind-$(date +%s%N)"
    port="$(free_port)"
    write_config "$kind" "$dir" "$port"
    spawn "$kind" "$dir"
    if line="$(wait_ready "$port" "$SPAWNED_PID" "$READY_TIMEOUT")" && [[ $(json_field probe "$line") == found ]]; then
      printf -v "${kind^^}_PID" '%s' "$SPAWNED_PID"
      printf -v "${kind^^}_PORT" '%s' "$port"
      printf -v "${kind^^}_DIR" '%s' "$dir"
      log "started $kind: pid $SPAWNED_PID, port $port, ready after $(json_field elapsed_ms "$line") ms"
      return 0
    fi
    stop_pid "$SPAWNED_PID"
    if ! grep -q "Address already in use" "$dir/server.log"; then
      tail -n 40 "$dir/server.log" >&2
      die "$kind did not become ready within $READY_TIMEOUT (log above)"
    fi
    log "port $port was taken; retrying"
  done
  die "$kind: no free port after 3 attempts"
}

server_pid() { local var="${1^^}_PID"; printf '%s' "${!var}"; }
server_port() { local var="${1^^}_PORT"; printf '%s' "${!var}"; }

# load KIND ARGS...: runs zk-load against KIND, prints its JSON line. Errors in the run make
# zk-load exit 3; the line is still printed (and the error count shows in the tables).
load() {
  local kind=$1; shift
  local status=0 line
  line="$("$ZK_LOAD" --server "127.0.0.1:$(server_port "$kind")" --server-pid "$(server_pid "$kind")" \
    --data-bytes "$DATA_BYTES" --json "$@")" || status=$?
  if [[ $status -ne 0 && $status -ne 3 ]]; then
    kill -0 "$(server_pid "$kind")" 2>/dev/null || die "$kind (pid $(server_pid "$kind")) died; see its log"
    die "zk-load against $kind failed (exit $status): $*"
  fi
  [[ $status -eq 3 ]] && log "!!!!!!!! $kind: the run had ERRORS: $(json_field errors "$line") — see errors_by_kind in $RESULTS_DIR/raw.jsonl !!!!!!!!"
  printf '%s\n' "$line"
}

machine_description() {
  echo "- CPU: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
  echo "- memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
  echo "- kernel: $(uname -r); Java: $("$JAVA" -version 2>&1 | head -n1)"
  echo "- reference: Apache ZooKeeper $(dpkg-query -W -f='${Version}' zookeeper 2>/dev/null || echo '?') (Debian), JVM defaults"
  echo "- load average (1/5/15 min) at the start: $LOAD_AT_START; at the end: $(cut -d' ' -f1-3 /proc/loadavg) (the machine is shared: other work running at the same time adds noise)"
  echo "- ours: zk-server $(cd "$ROOT_DIR" && git rev-parse --short HEAD 2>/dev/null || echo '?') (+ uncommitted changes: $(cd "$ROOT_DIR" && git status --porcelain -- . ':(exclude)benches/results' 2>/dev/null | wc -l | tr -d ' ') files outside benches/results), release build"
}

# shellcheck source=benches/compare_ensemble.sh
source "$ROOT_DIR/benches/compare_ensemble.sh"
# shellcheck source=benches/compare_write_floor.sh
source "$ROOT_DIR/benches/compare_write_floor.sh"

RAW="$RESULTS_DIR/raw.jsonl"
ENSEMBLE_RAW="$RESULTS_DIR/ensemble.jsonl"
FAILOVER_RAW="$RESULTS_DIR/failover.jsonl"
WRITE_FLOOR_RAW="$RESULTS_DIR/write_floor.jsonl"
FSYNC_FLOOR_RAW="$RESULTS_DIR/fsync_floor.jsonl"
STARTED_AT=$(date +%s)
LOAD_AT_START="$(cut -d' ' -f1-3 /proc/loadavg)"
NOTES=()
declare -A DATA_FILES

targeted() { [[ " ${TARGETS[*]} " == *" $1 "* ]]; }
# alternation KIND...: how the runs of these kinds were ordered, for the summary.
alternation() {
  case $# in
    0) echo "no server" ;;
    1) echo "$1 only" ;;
    2) echo "$1 and $2 alternating" ;;
    *) echo "$* alternating" ;;
  esac
}

# ---- durability of our server -----------------------------------------------------------
if targeted ours && ! "$ZK_SERVER" --help | grep -q forceSync; then
  NOTES+=("zk-server --help does not mention forceSync: our server may not write or fsync a transaction log, so its write numbers (set, create) are not like-for-like with the reference, which fsyncs every write batch.")
fi

# ---- the standalone matrix --------------------------------------------------------------
# prune_snapshots DIR: keeps the newest three snapshot files of the server whose dir is DIR
# and removes the older ones, as autopurge would (3 is Apache's smallest snapRetainCount).
# Both servers write a snapshot of their whole, growing tree every ~100,000 transactions;
# the create runs take each tree to millions of znodes, and without this the run writes
# tens of GB of snapshots (it filled the shared disk). Autopurge itself cannot do it: its
# purgeInterval counts in hours. Transaction logs are left alone.
prune_snapshots() {
  local dir="$1/data/version-2"
  [[ -d $dir ]] || return 0
  find "$dir" -maxdepth 1 -type f -name 'snapshot.*' ! -name '*.tmp' -printf '%T@ %p\n' |
    sort -rn | tail -n +4 | cut -d' ' -f2- | while IFS= read -r old; do rm -f -- "$old"; done
}

run_standalone_matrix() {
  local kind rep point op sessions in_flight line run_number=0 total_runs
  : > "$RAW"
  for kind in "${TARGETS[@]}"; do start "$kind"; done
  log "server warm-up: $SERVER_WARMUP of mixed load on each (not recorded)"
  for kind in "${TARGETS[@]}"; do
    load "$kind" --root /warmup --keys "$KEYS" --sessions 8 --in-flight 100 \
      --mix get=2,set=1,create=1 --warmup 0 --duration "$SERVER_WARMUP" --label "$kind:warmup" >/dev/null
    # The measured runs share one key space, created once per server.
    load "$kind" --root /bench --keys "$KEYS" --requests 1 --warmup 0 --label "$kind:setup" >/dev/null
  done

  total_runs=$(( REPS * ${#POINTS[@]} * ${#OPERATIONS[@]} * ${#TARGETS[@]} ))
  for rep in $(seq 1 "$REPS"); do
    for point in "${POINTS[@]}"; do
      sessions=${point%x*}; in_flight=${point#*x}
      for op in "${OPERATIONS[@]}"; do
        for kind in "${TARGETS[@]}"; do
          run_number=$((run_number + 1))
          line="$(load "$kind" --root /bench --keys "$KEYS" --reuse-keys --sessions "$sessions" \
            --in-flight "$in_flight" --mix "$op" --warmup "$RUN_WARMUP" --duration "$RUN_DURATION" \
            --seed "$rep" --label "$kind:r$rep")"
          printf '%s\n' "$line" >> "$RAW"
          local dir_var="${kind^^}_DIR"
          prune_snapshots "${!dir_var}"
          log "[$run_number/$total_runs] rep $rep $op ${point} $kind: $(printf '%.0f' "$(json_field ops_per_s "$line")") ops/s, p99 $(json_field p99_us "$line") us, server CPU $(printf '%.1f' "$(json_field server_cpu_us_per_op "$line")") us/op, errors $(json_field errors "$line")"
        done
      done
    done
  done

  for kind in "${TARGETS[@]}"; do
    local dir_var="${kind^^}_DIR"
    DATA_FILES[$kind]=$(find "${!dir_var}/data" -type f | wc -l | tr -d ' ')
  done
  if targeted ours && [[ ${DATA_FILES[ours]} == 0 ]]; then
    NOTES+=("After the write runs our server's dataDir holds no file (the reference's holds ${DATA_FILES[reference]:-n/a}): it has no transaction log or snapshot yet, so its writes are not durable and set/create are not comparable to the reference's fsync'd writes.")
  fi
  for kind in "${TARGETS[@]}"; do stop_pid "$(server_pid "$kind")"; done
}

# ---- memory with a large tree, and restart time -----------------------------------------
declare -A MEMORY_MIB SETTLED_MEMORY_MIB RESTART_MS RESTART_MEMORY_MIB SETUP_RATE
# How long after the creates the resident memory is read again: long enough for a snapshot
# started by the last creates to finish and free its temporaries (about 1 s at 1M znodes).
MEMORY_SETTLE_S=3
run_memory_test() {
  local kind line rss_kb seconds pid port dir_var dir now_ns
  : > "$RESULTS_DIR/memory.jsonl"
  for kind in "${TARGETS[@]}"; do
    start "$kind"
    log "$kind: creating $ZNODES znodes of $DATA_BYTES bytes"
    line="$(load "$kind" --root /mem --keys "$ZNODES" --requests 1 --warmup 0 \
      --setup-sessions 4 --setup-in-flight 100 --max-duration 30m --label "$kind:memory")"
    printf '%s\n' "$line" >> "$RESULTS_DIR/memory.jsonl"
    rss_kb="$(json_field server_rss_kb "$line")"
    MEMORY_MIB[$kind]="$(awk -v kb="$rss_kb" 'BEGIN { printf "%.0f", kb / 1024 }')"
    sleep "$MEMORY_SETTLE_S"
    SETTLED_MEMORY_MIB[$kind]="$(awk '/VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$(server_pid "$kind")/status")"
    seconds="$(sed -n 's/.*"setup":{"znodes":[0-9]*,"seconds":\([0-9.e+-]*\).*/\1/p' <<<"$line")"
    SETUP_RATE[$kind]="$(awk -v n="$ZNODES" -v s="$seconds" 'BEGIN { printf "%.0f", n / s }')"
    pid="$(server_pid "$kind")"; port="$(server_port "$kind")"; dir_var="${kind^^}_DIR"; dir="${!dir_var}"
    stop_pid "$pid"
    spawn "$kind" "$dir"
    line="$(wait_ready "$port" "$SPAWNED_PID" "$RESTART_TIMEOUT" /mem/key-0 || true)"
    now_ns=$(date +%s%N)
    case "$(json_field probe "$line")" in
      found)
        RESTART_MS[$kind]="$(( (now_ns - SPAWNED_AT_NS) / 1000000 ))"
        RESTART_MEMORY_MIB[$kind]="$(awk '/VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$SPAWNED_PID/status")" ;;
      missing)
        RESTART_MS[$kind]="n/a (no persistence: /mem/key-0 is gone after the restart)"
        RESTART_MEMORY_MIB[$kind]="n/a" ;;
      *)
        RESTART_MS[$kind]="FAILED: no answer within $RESTART_TIMEOUT ($(json_field error "$line"))"
        RESTART_MEMORY_MIB[$kind]="n/a" ;;
    esac
    stop_pid "$SPAWNED_PID"
  done
}

# ---- the plot ---------------------------------------------------------------------------
# plot CSV PNG: throughput against requests in flight; prints the line the summary shows.
plot() {
  if python3 - "$1" "$2" "$MODE" <<'PYTHON'
import csv, sys
try:
    import matplotlib
except ImportError:
    sys.exit("matplotlib is missing: pip install matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt

rows = list(csv.DictReader(open(sys.argv[1])))
mixes = sorted({row["mix"] for row in rows})
figure, axes = plt.subplots(1, len(mixes), figsize=(5 * len(mixes), 4), squeeze=False)
for axis, mix in zip(axes[0], mixes):
    for server, style in (("reference", "o-"), ("ours", "s-")):
        points = sorted(
            (int(row["total_in_flight"]), float(row["ops_per_s"]))
            for row in rows
            if row["mix"] == mix and row["server"] == server
        )
        if points:
            axis.plot([p[0] for p in points], [p[1] for p in points], style, label=server)
    axis.set_xscale("log")
    axis.set_yscale("log")
    axis.set_title(mix.split("=")[0])
    axis.set_xlabel("requests in flight (sessions x per session)")
    axis.set_ylabel("ops/s (median)")
    axis.grid(True, which="both", alpha=0.3)
    axis.legend()
figure.suptitle(f"zk-load, 100-byte data, standalone, fsync on ({sys.argv[3]} run)")
figure.tight_layout()
figure.savefig(sys.argv[2], dpi=100)
PYTHON
  then
    echo "plot: ${2#"$ROOT_DIR"/}"
  else
    echo "!!!!!!!! plot NOT regenerated (see the error above) !!!!!!!!"
  fi
}

# ---- the summary ------------------------------------------------------------------------
standalone_summary() {
  echo "Settings: standalone, tickTime=$TICK_TIME_MS, forceSync=yes, $DATA_BYTES-byte data, $KEYS keys;"
  echo "long-lived servers (the create runs leave their znodes), their snapshots pruned to the newest 3 after each run;"
  echo "each point: $RUN_WARMUP warm-up + $RUN_DURATION measured, $REPS repetitions, $(alternation "${TARGETS[@]}");"
  echo "medians of the repetitions; ratio = ours / reference (above 1 is better for ops/s, worse for the others)."
  echo
  echo "$TABLE"
  echo
  echo "| $ZNODES znodes of $DATA_BYTES bytes | reference | ours |"
  echo "|---|---:|---:|"
  echo "| create rate (4 sessions x 100 in flight), znodes/s | ${SETUP_RATE[reference]:-n/a} | ${SETUP_RATE[ours]:-n/a} |"
  echo "| resident memory right after creating them, MiB | ${MEMORY_MIB[reference]:-n/a} | ${MEMORY_MIB[ours]:-n/a} |"
  echo "| resident memory ${MEMORY_SETTLE_S} s later (idle), MiB | ${SETTLED_MEMORY_MIB[reference]:-n/a} | ${SETTLED_MEMORY_MIB[ours]:-n/a} |"
  echo "| restart: process start to first answered request, ms | ${RESTART_MS[reference]:-n/a} | ${RESTART_MS[ours]:-n/a} |"
  echo "| resident memory after the restart, MiB | ${RESTART_MEMORY_MIB[reference]:-n/a} | ${RESTART_MEMORY_MIB[ours]:-n/a} |"
  echo
  echo "Files in the dataDir after the matrix: reference ${DATA_FILES[reference]:-n/a}, ours ${DATA_FILES[ours]:-n/a}."
  echo "RSS in the matrix is read after each run on long-lived servers: the create runs leave their"
  echo "znodes, so the server that creates faster also holds more of them."
  echo
  echo "$PLOT_NOTE; raw JSON lines: ${RAW#"$ROOT_DIR"/}"
}

# ---- the run ----------------------------------------------------------------------------
if [[ $RUN_STANDALONE == 1 ]]; then
  run_standalone_matrix
  run_memory_test
  TABLE="$("$ZK_REPORT" "$RAW" --baseline reference --candidate ours --csv "$RESULTS_DIR/throughput.csv")"
  PLOT_NOTE="$(plot "$RESULTS_DIR/throughput.csv" "$RESULTS_DIR/throughput.png")"
fi
if [[ $RUN_ENSEMBLE == 1 ]]; then
  run_ensemble_part
fi
if [[ $RUN_WRITE_FLOOR == 1 ]]; then
  run_write_floor_part
fi

ELAPSED=$(( $(date +%s) - STARTED_AT ))
SUMMARY="$RESULTS_DIR/summary.md"
{
  echo "## $MODE run, $(date -u '+%Y-%m-%d %H:%M UTC'), ${ELAPSED}s"
  echo
  echo "Command: \`$COMMAND_LINE\`$([[ $RUN_STANDALONE == 1 ]] && echo " (znodes for the memory test: $ZNODES)")"
  echo
  machine_description
  echo
  if [[ $RUN_STANDALONE == 1 ]]; then
    standalone_summary
    echo
  fi
  if [[ $RUN_ENSEMBLE == 1 ]]; then
    ensemble_summary
    echo
    echo "raw JSON lines: ${ENSEMBLE_RAW#"$ROOT_DIR"/}, ${FAILOVER_RAW#"$ROOT_DIR"/}"
    echo
  fi
  if [[ $RUN_WRITE_FLOOR == 1 ]]; then
    write_floor_summary
    echo
  fi
  if [[ ${#NOTES[@]} -gt 0 ]]; then
    echo "Notes:"
    for note in "${NOTES[@]}"; do echo "- $note"; done
    echo
  fi
} > "$SUMMARY"
cat "$SUMMARY"
status=0
for results in "$RAW" "$ENSEMBLE_RAW" "$WRITE_FLOOR_RAW"; do
  if [[ -f $results ]] && grep -q '"errors":[1-9]' "$results"; then
    log "!!!!!!!! some runs had ERRORS: see the errors columns above and $results !!!!!!!!"
    status=3
  fi
done
if [[ -f $FAILOVER_RAW ]] && grep -q '"failure":' "$FAILOVER_RAW"; then
  log "!!!!!!!! some failover repetitions FAILED: see $FAILOVER_RAW !!!!!!!!"
  status=3
fi
if [[ ${ENSEMBLE_START_FAILED:-0} == 1 ]]; then
  log "!!!!!!!! an ensemble did not start: see the notes above !!!!!!!!"
  status=1
fi
exit "$status"
