# The 3-node ensemble part of compare.sh: sourced by it, not run on its own. It uses
# compare.sh's settings and helpers (spawn, stop_pid, log, die, json_field, ZK_LOAD, ...).
#
# Each server kind gets one ensemble of 3 members on 127.0.0.1, each member in its own
# process group, temp dataDir (with its `myid`) and zoo.cfg; the zoo.cfg files differ only in
# dataDir and clientPort. Ready means: `srvr` names exactly one leader, every other member
# follows, and every member answers `exists /` (zk-failover status).

ENSEMBLE_SIZE=3
ENSEMBLE_INIT_LIMIT=10
ENSEMBLE_SYNC_LIMIT=5
ENSEMBLE_OPERATIONS=(set create)
ENSEMBLE_POINTS=(1x1 8x100)

# Per member, keyed "KIND:N" (N = myid, 1..ENSEMBLE_SIZE).
declare -A ENSEMBLE_PID ENSEMBLE_PORT ENSEMBLE_DIR
# The kinds whose ensemble started (run_ensemble_part).
ENSEMBLE_TARGETS=()
ENSEMBLE_START_FAILED=0

# free_ports N: N distinct free ports on 127.0.0.1, held open together while they are picked.
free_ports() {
  python3 - "$1" <<'PYTHON'
import socket, sys
sockets = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in sockets:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in sockets))
PYTHON
}

# write_member_config DIR MYID CLIENT_PORT SERVER_LINES: zoo.cfg and myid of one member; the
# same settings as the standalone servers plus the quorum ones.
write_member_config() {
  local dir=$1 myid=$2 port=$3 server_lines=$4
  write_config member "$dir" "$port"
  cat >> "$dir/zoo.cfg" <<EOF
initLimit=$ENSEMBLE_INIT_LIMIT
syncLimit=$ENSEMBLE_SYNC_LIMIT
$server_lines
EOF
  printf '%s\n' "$myid" > "$dir/data/myid"
}

# ensemble_members KIND [pids]: the members' client addresses as one comma-separated list,
# each followed by =PID with "pids".
ensemble_members() {
  local kind=$1 with_pids=${2:-} n list=""
  for n in $(seq 1 "$ENSEMBLE_SIZE"); do
    list+="127.0.0.1:${ENSEMBLE_PORT[$kind:$n]}"
    [[ $with_pids == pids ]] && list+="=${ENSEMBLE_PID[$kind:$n]}"
    list+=","
  done
  printf '%s' "${list%,}"
}

# ensemble_status KIND LIMIT: waits until the ensemble serves; prints `HOST:PORT MODE` lines.
ensemble_status() {
  "$ZK_FAILOVER" status --member "$(ensemble_members "$1")" --wait "$2"
}

# member_alive PID: the process exists and is not a zombie.
member_alive() {
  local state
  state="$(ps -o stat= -p "$1" 2>/dev/null || true)"
  [[ -n $state && $state != Z* ]]
}

stop_ensemble() {
  local kind=$1 n
  for n in $(seq 1 "$ENSEMBLE_SIZE"); do
    [[ -n ${ENSEMBLE_PID[$kind:$n]:-} ]] && stop_pid "${ENSEMBLE_PID[$kind:$n]}"
  done
  return 0
}

# start_ensemble KIND: a fresh 3-member ensemble of KIND, serving; fails (after printing the
# members' logs) if it does not serve within READY_TIMEOUT.
start_ensemble() {
  local kind=$1 attempt n ports server_lines base dir status
  for attempt in 1 2 3; do
    # Per member: client, quorum and election port.
    read -r -a ports <<<"$(free_ports $((3 * ENSEMBLE_SIZE)))"
    server_lines=""
    for n in $(seq 1 "$ENSEMBLE_SIZE"); do
      server_lines+="server.$n=127.0.0.1:${ports[$((ENSEMBLE_SIZE + 2 * (n - 1)))]}:${ports[$((ENSEMBLE_SIZE + 2 * (n - 1) + 1))]}"$'\n'
    done
    base="$RUN_DIR/$kind-ensemble-$(date +%s%N)"
    for n in $(seq 1 "$ENSEMBLE_SIZE"); do
      dir="$base/member-$n"
      write_member_config "$dir" "$n" "${ports[$((n - 1))]}" "$server_lines"
      spawn "$kind" "$dir"
      ENSEMBLE_PID[$kind:$n]=$SPAWNED_PID
      ENSEMBLE_PORT[$kind:$n]=${ports[$((n - 1))]}
      ENSEMBLE_DIR[$kind:$n]=$dir
    done
    if status="$(ensemble_status "$kind" "$READY_TIMEOUT")"; then
      log "started the $kind ensemble: $(ensemble_members "$kind" pids); $(tr '\n' ' ' <<<"$status")"
      return 0
    fi
    stop_ensemble "$kind"
    if ! grep -q "Address already in use" "$base"/member-*/server.log; then
      for n in $(seq 1 "$ENSEMBLE_SIZE"); do
        log "---- $kind member $n, last lines of its log:"
        tail -n 25 "$base/member-$n/server.log" >&2
      done
      log "!!!!!!!! the $kind ensemble did not serve within $READY_TIMEOUT (logs above) !!!!!!!!"
      return 1
    fi
    log "a port of the $kind ensemble was taken; retrying"
  done
  log "!!!!!!!! $kind ensemble: no free ports after 3 attempts !!!!!!!!"
  return 1
}

# ensemble_client_servers KIND: where the load sessions connect, per --ensemble-clients.
ensemble_client_servers() {
  local kind=$1 status wanted
  status="$(ensemble_status "$kind" "$READY_TIMEOUT")" || die "the $kind ensemble stopped serving"
  case "$ENSEMBLE_CLIENTS" in
    followers) wanted='$2 == "follower"' ;;
    leader) wanted='$2 == "leader"' ;;
    all) wanted='1' ;;
  esac
  awk "$wanted { print \$1 }" <<<"$status" | paste -sd, -
}

# ensemble_load KIND SERVERS ARGS...: zk-load against the ensemble (sessions round-robin
# over SERVERS), CPU and memory summed over every member; prints its JSON line.
ensemble_load() {
  local kind=$1 servers=$2 status=0 line n
  shift 2
  local pid_args=()
  for n in $(seq 1 "$ENSEMBLE_SIZE"); do pid_args+=(--server-pid "${ENSEMBLE_PID[$kind:$n]}"); done
  line="$("$ZK_LOAD" --server "$servers" "${pid_args[@]}" --data-bytes "$DATA_BYTES" --json "$@")" || status=$?
  if [[ $status -ne 0 && $status -ne 3 ]]; then
    for n in $(seq 1 "$ENSEMBLE_SIZE"); do
      member_alive "${ENSEMBLE_PID[$kind:$n]}" || die "$kind member $n (pid ${ENSEMBLE_PID[$kind:$n]}) died; see ${ENSEMBLE_DIR[$kind:$n]}/server.log"
    done
    die "zk-load against the $kind ensemble failed (exit $status): $*"
  fi
  [[ $status -eq 3 ]] && log "!!!!!!!! $kind ensemble: the run had ERRORS: $(json_field errors "$line") — see errors_by_kind in $ENSEMBLE_RAW !!!!!!!!"
  printf '%s\n' "$line"
}

# run_ensemble_matrix: writes at 1x1 and 8x100, alternating the kinds, into ENSEMBLE_RAW.
run_ensemble_matrix() {
  local kind rep point op sessions in_flight line run_number=0 total_runs
  declare -A servers
  for kind in "${ENSEMBLE_TARGETS[@]}"; do
    servers[$kind]="$(ensemble_client_servers "$kind")"
    [[ -n ${servers[$kind]} ]] || die "the $kind ensemble has no member to connect to ($ENSEMBLE_CLIENTS)"
    log "$kind ensemble: load sessions connect to $ENSEMBLE_CLIENTS: ${servers[$kind]}"
    log "$kind ensemble warm-up: $SERVER_WARMUP of writes (not recorded)"
    ensemble_load "$kind" "${servers[$kind]}" --root /warmup --keys "$KEYS" --sessions 8 --in-flight 100 \
      --mix set=1,create=1 --warmup 0 --duration "$SERVER_WARMUP" --label "$kind:warmup" >/dev/null
    ensemble_load "$kind" "${servers[$kind]}" --root /bench --keys "$KEYS" --requests 1 --warmup 0 \
      --label "$kind:setup" >/dev/null
  done
  total_runs=$(( REPS * ${#ENSEMBLE_POINTS[@]} * ${#ENSEMBLE_OPERATIONS[@]} * ${#ENSEMBLE_TARGETS[@]} ))
  for rep in $(seq 1 "$REPS"); do
    for point in "${ENSEMBLE_POINTS[@]}"; do
      sessions=${point%x*}; in_flight=${point#*x}
      for op in "${ENSEMBLE_OPERATIONS[@]}"; do
        for kind in "${ENSEMBLE_TARGETS[@]}"; do
          run_number=$((run_number + 1))
          line="$(ensemble_load "$kind" "${servers[$kind]}" --root /bench --keys "$KEYS" --reuse-keys \
            --sessions "$sessions" --in-flight "$in_flight" --mix "$op" --warmup "$RUN_WARMUP" \
            --duration "$RUN_DURATION" --seed "$rep" --label "$kind:r$rep")"
          printf '%s\n' "$line" >> "$ENSEMBLE_RAW"
          log "[ensemble $run_number/$total_runs] rep $rep $op ${point} $kind: $(printf '%.0f' "$(json_field ops_per_s "$line")") ops/s, p99 $(json_field p99_us "$line") us, server CPU (3 members) $(printf '%.1f' "$(json_field server_cpu_us_per_op "$line")") us/op, errors $(json_field errors "$line")"
        done
      done
    done
  done
}

# restart_dead_members KIND: reaps every member that is gone (the killed leader) and starts
# it again on its dataDir and zoo.cfg.
restart_dead_members() {
  local kind=$1 n pid
  for n in $(seq 1 "$ENSEMBLE_SIZE"); do
    pid=${ENSEMBLE_PID[$kind:$n]}
    member_alive "$pid" && continue
    forget_pid "$pid"
    spawn "$kind" "${ENSEMBLE_DIR[$kind:$n]}"
    ENSEMBLE_PID[$kind:$n]=$SPAWNED_PID
    log "$kind member $n (killed, pid $pid) restarted as pid $SPAWNED_PID"
  done
}

# run_failover: FAILOVER_REPS leader kills per kind, alternating the kinds, into FAILOVER_RAW.
# A repetition that fails is recorded as a failure line (zk-failover writes it) and counted.
run_failover() {
  local rep kind line status started_ns
  for rep in $(seq 1 "$FAILOVER_REPS"); do
    for kind in "${ENSEMBLE_TARGETS[@]}"; do
      started_ns=$(date +%s%N)
      if ! ensemble_status "$kind" "$READY_TIMEOUT" >/dev/null; then
        printf '{"label":"%s","failure":"the ensemble did not serve again within %s before this repetition"}\n' \
          "$kind:r$rep" "$READY_TIMEOUT" >> "$FAILOVER_RAW"
        log "!!!!!!!! failover rep $rep $kind: the ensemble is not serving; repetition failed !!!!!!!!"
        continue
      fi
      log "failover rep $rep $kind: the ensemble serves (waited $(( ($(date +%s%N) - started_ns) / 1000000 )) ms)"
      status=0
      line="$("$ZK_FAILOVER" kill-leader --member "$(ensemble_members "$kind" pids)" --json \
        --steady "$FAILOVER_STEADY" --limit "$FAILOVER_LIMIT" --retry-pause "$FAILOVER_RETRY_PAUSE" \
        --response-timeout "$FAILOVER_RESPONSE_TIMEOUT" \
        --data-bytes "$DATA_BYTES" --label "$kind:r$rep")" || status=$?
      printf '%s\n' "$line" >> "$FAILOVER_RAW"
      if [[ $status -eq 0 ]]; then
        log "failover rep $rep $kind: $(printf '%.0f' "$(json_field failover_ms "$line")") ms (killed $(json_field leader "$line"), new leader $(json_field new_leader "$line"), client errors $(json_field errors "$line"))"
      else
        log "!!!!!!!! failover rep $rep $kind FAILED: $(json_field failure "$line") !!!!!!!!"
      fi
      restart_dead_members "$kind"
    done
  done
}

# run_ensemble_part: the ensembles up, the write matrix, the failover repetitions, the
# ensembles down. A kind whose ensemble does not start is left out (a note says so and the
# script's exit status is 1), so that the other kind's figures and the standalone ones are
# still reported. Sets ENSEMBLE_TARGETS, ENSEMBLE_TABLE and FAILOVER_TABLE.
run_ensemble_part() {
  local kind
  : > "$ENSEMBLE_RAW"
  : > "$FAILOVER_RAW"
  ENSEMBLE_TARGETS=()
  for kind in "${TARGETS[@]}"; do
    if start_ensemble "$kind"; then
      ENSEMBLE_TARGETS+=("$kind")
    else
      ENSEMBLE_START_FAILED=1
      NOTES+=("!!!!!!!! The $kind ensemble did not start (no single leader with every member answering within $READY_TIMEOUT; the members' logs are in the script's output): it has no ensemble or failover figures. !!!!!!!!")
    fi
  done
  if [[ ${#ENSEMBLE_TARGETS[@]} -gt 0 ]]; then
    run_ensemble_matrix
    run_failover
  fi
  for kind in "${ENSEMBLE_TARGETS[@]}"; do stop_ensemble "$kind"; done
  ENSEMBLE_TABLE="$("$ZK_REPORT" "$ENSEMBLE_RAW" --baseline reference --candidate ours)"
  FAILOVER_TABLE="$("$ZK_REPORT" --failover "$FAILOVER_RAW" --baseline reference --candidate ours)"
}

# ensemble_summary: the summary's two ensemble sections.
ensemble_summary() {
  local clients
  case "$ENSEMBLE_CLIENTS" in
    followers) clients="spread round-robin over the two followers; the leader takes no client session, as in Apache's published ZooKeeper benchmark (\"the ensemble was configured such that leaders do not allow connections from clients\"), done here by connecting to the followers only, so the zoo.cfg stays the same for both servers" ;;
    all) clients="spread round-robin over the three members (leader included)" ;;
    leader) clients="all on the leader" ;;
  esac
  echo "### 3-node ensemble"
  echo
  echo "Settings: $ENSEMBLE_SIZE members on 127.0.0.1, tickTime=$TICK_TIME_MS, initLimit=$ENSEMBLE_INIT_LIMIT, syncLimit=$ENSEMBLE_SYNC_LIMIT, forceSync=yes,"
  echo "\`server.N=127.0.0.1:quorumPort:electionPort\` and a \`myid\` file per member; $DATA_BYTES-byte data, $KEYS keys;"
  echo "load sessions $clients;"
  echo "each point: $RUN_WARMUP warm-up + $RUN_DURATION measured, $REPS repetitions, $(alternation "${ENSEMBLE_TARGETS[@]}"); medians;"
  echo "server CPU per op and RSS are summed over the $ENSEMBLE_SIZE members' processes; ratio = ours / reference."
  echo
  echo "$ENSEMBLE_TABLE"
  echo
  echo "### failover"
  echo
  echo "Each repetition: one client writes continuously ($DATA_BYTES-byte setData, one in flight) through a follower;"
  echo "after $FAILOVER_STEADY the leader (\`srvr\` says \`Mode: leader\`) gets SIGKILL; the time runs from the kill to the"
  echo "reply of the first write sent after the kill that succeeds. The client resumes its session on the surviving"
  echo "members in turn ($FAILOVER_RETRY_PAUSE between attempts, no back-off: the time is the servers', not a client's retry"
  echo "policy). The killed member is then restarted, and the next repetition waits until the ensemble serves again"
  echo "(one leader, every member answering). $FAILOVER_REPS repetitions per server, $(alternation "${ENSEMBLE_TARGETS[@]}"); client errors"
  echo "are the lost connections and refused connects the writer saw (expected while there is no leader). A write that"
  echo "a member keeps without answering costs the writer its response timeout ($FAILOVER_RESPONSE_TIMEOUT; the Java client would wait"
  echo "2/3 of the session timeout) before it reconnects: those writes are counted in their own column."
  echo
  echo "$FAILOVER_TABLE"
}
