# The write-floor part of compare.sh (`--write-floor`): sourced by it, not run on its own. It
# uses compare.sh's settings and helpers (start, load, stop_pid, log, die, json_field, ...).
#
# At one request in flight a write's latency is a read's round trip plus the log's
# fdatasync; neither is server code. This part measures both for each server in the same
# run: get, set and create at 1x1 as in the matrix, while perf records every
# fdatasync/fsync the server's threads make during the measured window. Its table puts the
# request percentiles next to the fdatasync percentiles, so that what is left of a write's
# latency after its fdatasync can be read off per server.

WRITE_FLOOR_OPERATIONS=(get set create)

# The tracepoints timed: only these calls are recorded, so the servers' other syscalls cost
# nothing extra (`perf trace` sees every syscall and added ~100 us per request here).
FSYNC_TRACEPOINTS=syscalls:sys_enter_fdatasync,syscalls:sys_exit_fdatasync,syscalls:sys_enter_fsync,syscalls:sys_exit_fsync

# fsync_tracing_works: whether perf can record syscall tracepoints here (it needs root or a
# low kernel.perf_event_paranoid, and tracefs).
fsync_tracing_works() {
  command -v perf >/dev/null &&
    perf record -q -e "$FSYNC_TRACEPOINTS" -o "$RUN_DIR/probe.perf" -- true >/dev/null 2>&1 &&
    rm -f "$RUN_DIR/probe.perf"
}

# fsync_percentiles PERF_DATA: one JSON object with the count, rate and percentiles (us) of
# the fdatasync/fsync calls recorded in PERF_DATA.
fsync_percentiles() {
  perf script -i "$1" -F tid,time,event 2>/dev/null | python3 -c '
import json, sys
# "32584 57593.462058: syscalls:sys_enter_fdatasync:"; a call cut by the start or end of
# the recording has only one of its two events and is left out.
entered, calls = {}, []
for line in sys.stdin:
    fields = line.split()
    if len(fields) < 3:
        continue
    tid, seconds, event = fields[0], float(fields[1].rstrip(":")), fields[2]
    if event.startswith("syscalls:sys_enter_"):
        entered[tid] = seconds
    elif event.startswith("syscalls:sys_exit_") and tid in entered:
        start = entered.pop(tid)
        calls.append((start, (seconds - start) * 1e6))
durations = sorted(duration for _, duration in calls)
span_s = calls[-1][0] - calls[0][0] if len(calls) > 1 else 0
def percentile(q):
    return round(durations[min(len(durations) - 1, int(q * len(durations)))]) if durations else None
print(json.dumps(separators=(",", ":"), obj={
    "calls": len(durations),
    "per_s": round((len(calls) - 1) / span_s, 1) if span_s > 0 else 0,
    "p50_us": percentile(0.50), "p90_us": percentile(0.90),
    "p99_us": percentile(0.99), "p999_us": percentile(0.999),
    "max_us": round(durations[-1]) if durations else None,
}))'
}

# traced_load KIND OP REP: one 1x1 run of OP against KIND with its fdatasyncs recorded over
# the measured window; prints the load's JSON line with an "fsync" object added.
traced_load() {
  local kind=$1 op=$2 rep=$3 recording recorder line fsync
  recording="$RUN_DIR/fsync-$kind-$op-$rep.perf"
  # The recording starts when the warm-up ends and lasts as long as the measured window.
  (sleep "$RUN_WARMUP" && exec perf record -q -e "$FSYNC_TRACEPOINTS" -p "$(server_pid "$kind")" \
    -o "$recording" -- sleep "$RUN_DURATION") >/dev/null 2>&1 &
  # Bounded by its own `sleep`, so an interrupted run leaves it at most that long.
  recorder=$!
  line="$(load "$kind" --root /bench --keys "$KEYS" --reuse-keys --sessions 1 --in-flight 1 \
    --mix "$op=1" --warmup "$RUN_WARMUP" --duration "$RUN_DURATION" --seed "$rep" --label "$kind:r$rep")"
  wait "$recorder" || die "perf record of $kind failed during $op (rep $rep)"
  fsync="$(fsync_percentiles "$recording")"
  rm -f "$recording"
  log "write floor: rep $rep $op $kind: request p50 $(json_field p50_us "$line") us, p99 $(json_field p99_us "$line") us; fdatasync $(json_field calls "$fsync") calls, p50 $(json_field p50_us "$fsync") us, p99 $(json_field p99_us "$fsync") us"
  python3 -c 'import json, sys
line = json.loads(sys.argv[1]); line["fsync"] = json.loads(sys.argv[2])
print(json.dumps(line, separators=(",", ":")))' "$line" "$fsync"
}

run_write_floor_part() {
  local kind rep op line
  fsync_tracing_works || die "perf cannot record the fsync tracepoints here (install linux-perf; it needs root or kernel.perf_event_paranoid=-1)"
  : > "$WRITE_FLOOR_RAW"
  : > "$FSYNC_FLOOR_RAW"
  for kind in "${TARGETS[@]}"; do
    start "$kind"
    load "$kind" --root /bench --keys "$KEYS" --requests 1 --warmup 0 --label "$kind:setup" >/dev/null
    load "$kind" --root /bench --keys "$KEYS" --reuse-keys --sessions 1 --in-flight 1 --mix set=1 \
      --warmup 0 --duration "$SERVER_WARMUP" --label "$kind:warmup" >/dev/null
  done
  for rep in $(seq 1 "$REPS"); do
    for op in "${WRITE_FLOOR_OPERATIONS[@]}"; do
      for kind in "${TARGETS[@]}"; do
        line="$(traced_load "$kind" "$op" "$rep")"
        printf '%s\n' "$line" >> "$WRITE_FLOOR_RAW"
      done
    done
    # The same disk with no server: appends back to back, in the servers' temp directory.
    line="$("$ZK_FSYNC_FLOOR" --dir "$RUN_DIR" --duration "$RUN_DURATION" --json)" ||
      die "zk-fsync-floor failed (rep $rep)"
    printf '%s\n' "$line" >> "$FSYNC_FLOOR_RAW"
    log "write floor: rep $rep append + fdatasync alone: p50 $(json_field p50_us "$line") us, CPU $(printf '%.1f' "$(json_field cpu_us_per_append "$line")") us per append"
  done
  for kind in "${TARGETS[@]}"; do stop_pid "$(server_pid "$kind")"; done
  WRITE_FLOOR_TABLE="$(write_floor_table "$WRITE_FLOOR_RAW" "$FSYNC_FLOOR_RAW")"
}

# write_floor_table RAW FLOOR: the medians per server and operation, and of the runs with no
# server, as a markdown table.
write_floor_table() {
  python3 - "$1" "$2" <<'PYTHON'
import json, statistics, sys
runs = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None
def show(value):
    return "n/a" if value is None else f"{value:.0f}"
print("| server | op | runs | ops/s | server CPU us/op | request p50 us | request p99 us | fdatasync per request | "
      "fdatasync p50 us | fdatasync p99 us | request p50 - fdatasync p50 | request p99 - fdatasync p99 |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for server in ("reference", "ours"):
    for op in ("get", "set", "create"):
        group = [r for r in runs if r["label"].startswith(server + ":") and r["mix"] == f"{op}=1"]
        if not group:
            continue
        p50 = median([r["latency"]["p50_us"] for r in group])
        p99 = median([r["latency"]["p99_us"] for r in group])
        calls = median([r["fsync"]["per_s"] / r["ops_per_s"] for r in group if r["ops_per_s"]])
        # A read run sees only the odd background fsync: its percentiles would mislead.
        syncs = calls is not None and calls >= 0.5
        sync50 = median([r["fsync"]["p50_us"] for r in group]) if syncs else None
        sync99 = median([r["fsync"]["p99_us"] for r in group]) if syncs else None
        rest50 = p50 - sync50 if sync50 is not None else None
        rest99 = p99 - sync99 if sync99 is not None else None
        print(f"| {server} | {op} | {len(group)} | {show(median([r['ops_per_s'] for r in group]))} | "
              f"{show(median([r['server_cpu_us_per_op'] for r in group]))} | "
              f"{show(p50)} | {show(p99)} | {'n/a' if calls is None else f'{calls:.2f}'} | {show(sync50)} | {show(sync99)} | "
              f"{show(rest50)} | {show(rest99)} |")
alone = [json.loads(line) for line in open(sys.argv[2]) if line.strip()]
if alone:
    p50 = median([r["latency"]["p50_us"] for r in alone])
    p99 = median([r["latency"]["p99_us"] for r in alone])
    print(f"| no server: append {alone[0]['record_bytes']} B + fdatasync, back to back | - | {len(alone)} | "
          f"{show(median([r['appends_per_s'] for r in alone]))} | "
          f"{median([r['cpu_us_per_append'] for r in alone]):.1f} | {show(p50)} | {show(p99)} | 1.00 | "
          f"{show(p50)} | {show(p99)} | 0 | 0 |")
PYTHON
}

# write_floor_summary: the summary's write-floor section.
write_floor_summary() {
  echo "### where a write's latency goes at one request in flight"
  echo
  echo "Settings: standalone, as in the matrix ($DATA_BYTES-byte data, $KEYS keys, forceSync=yes); 1 session x 1 in flight;"
  echo "each run: $RUN_WARMUP warm-up + $RUN_DURATION measured, $REPS repetitions, $(alternation "${TARGETS[@]}"); medians."
  echo "\`perf record -e syscalls:sys_{enter,exit}_{fdatasync,fsync} -p PID\` times every fdatasync/fsync of the server's"
  echo "threads over the measured window (recording costs each call a little: compare within this table, not with the matrix)."
  echo "fdatasync per request: traced calls per second / requests per second (group commit would make it less than 1)."
  echo
  echo "$WRITE_FLOOR_TABLE"
  echo
  echo "The last row is \`zk-fsync-floor\` on the same disk: a 160-byte pwrite over zeros already on disk, then"
  echo "fdatasync, in a loop with no server and no network (its CPU is that loop's user + system time per append)."
  echo
  echo "raw JSON lines: ${WRITE_FLOOR_RAW#"$ROOT_DIR"/}, ${FSYNC_FLOOR_RAW#"$ROOT_DIR"/}"
}
