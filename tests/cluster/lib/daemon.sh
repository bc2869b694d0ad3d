# shellcheck shell=bash
# Start and stop the cluster's processes by PID (sourced, not run). A pid file holds the PID
# and the process's start time, so a PID reused by an unrelated process is never signalled.
RUN_DIR=$CLUSTER_DIR/run
LOG_DIR=$CLUSTER_DIR/logs

# cluster-up, cluster-down and kubelet-restart may be run by concurrent test sessions: each
# holds this lock, so a restart cannot start a kubelet while the cluster is being torn down.
# The lock file lives beside the cluster dir, which cluster-down deletes. Scripts run by a
# script that holds it (kwok-nodes.sh from cluster-up) inherit it.
lock_cluster() {
  [[ -z ${PREWARM_CLUSTER_LOCKED:-} ]] || return 0
  mkdir -p "$(dirname "$CLUSTER_DIR")"
  exec 9>>"$CLUSTER_DIR.lock"
  flock 9
  export PREWARM_CLUSTER_LOCKED=1
}

start_time() { # PID -> start time in clock ticks since boot (field 22 of /proc/PID/stat)
  local stat fields
  stat=$(<"/proc/$1/stat") || return 1
  stat=${stat##*) } # the command name may hold spaces; the fields after it do not
  read -r -a fields <<<"$stat"
  [[ ${fields[0]} != Z ]] || return 1 # exited, not yet reaped
  echo "${fields[19]}"
}

daemon_pid() { # NAME -> PID if that daemon is running
  local f=$RUN_DIR/$1.pid pid started
  [[ -f $f ]] || return 1
  read -r pid started <"$f"
  [[ -n $pid && $(start_time "$pid" 2>/dev/null) == "$started" ]] || return 1
  echo "$pid"
}

start_daemon() { # NAME COMMAND... ; no-op if it already runs
  local name=$1 pid
  shift
  daemon_pid "$name" >/dev/null && return 0
  mkdir -p "$RUN_DIR" "$LOG_DIR"
  # setsid: a new session, so a Ctrl-C in the shell that ran `make cluster-up` does not reach it.
  # 9>&-: the daemon must not inherit (and so keep holding) the cluster lock.
  setsid "$@" >>"$LOG_DIR/$name.log" 2>&1 </dev/null 9>&- &
  pid=$!
  echo "$pid $(start_time "$pid")" >"$RUN_DIR/$name.pid"
  log "started $name (pid $pid, log $LOG_DIR/$name.log)"
}

# restart_if_changed NAME STAMP: stop the daemon NAME if it was started with another STAMP (a hash of
# its script and config, say), so the start_daemon after this starts it anew. A running daemon
# without a stamp (started before stamps were kept) is adopted as it is.
restart_if_changed() {
  local name=$1 stamp=$2 f=$RUN_DIR/$1.stamp
  mkdir -p "$RUN_DIR"
  if daemon_pid "$name" >/dev/null && [[ -f $f && $(<"$f") != "$stamp" ]]; then
    log "$name: its script or config changed, restarting it"
    stop_daemon "$name"
  fi
  echo "$stamp" >"$f"
}

# wait_threads_gone PID: a multi-threaded process whose main thread has exited shows as a zombie
# (daemon_pid: not running) while its other threads still hold its open files - a listening
# socket among them - until they have exited too. Wait for that (at most 10 s), so a new
# instance can bind the same port.
wait_threads_gone() {
  local pid=$1 i threads
  for ((i = 0; i < 100; i++)); do
    threads=(/proc/"$pid"/task/*)
    [[ -e ${threads[0]} && ${#threads[@]} -gt 1 ]] || return 0
    sleep 0.1
  done
  log "pid $pid: ${#threads[@]} threads still there 10s after its main thread exited"
}

stop_daemon() { # NAME [SECONDS] ; SIGTERM, then SIGKILL after SECONDS (default 20)
  local name=$1 timeout=${2:-20} pid i
  if pid=$(daemon_pid "$name"); then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < timeout * 10; i++)); do
      daemon_pid "$name" >/dev/null || break
      sleep 0.1
    done
    if daemon_pid "$name" >/dev/null; then
      log "$name (pid $pid) ignored SIGTERM for ${timeout}s, killing it"
      kill -KILL "$pid" 2>/dev/null || true
      while daemon_pid "$name" >/dev/null; do sleep 0.1; done
    fi
    wait_threads_gone "$pid"
    log "stopped $name (pid $pid)"
  fi
  rm -f "$RUN_DIR/$name.pid" "$RUN_DIR/$name.stamp"
}

wait_until() { # SECONDS DESCRIPTION COMMAND... ; poll COMMAND until it succeeds
  local timeout=$1 what=$2 deadline
  shift 2
  deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "timed out after ${timeout}s waiting for $what"
    sleep 0.2
  done
}
