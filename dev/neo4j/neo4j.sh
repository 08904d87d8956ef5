#!/usr/bin/env bash
# Starts, stops and reports on the embedded development Neo4j (Community 5.26, Bolt only,
# 127.0.0.1, authentication off). Used by dev/run, dev/test and the integration tests.
#
#   dev/neo4j/neo4j.sh start    build the launcher if needed, start it, wait for Bolt,
#                               print the Bolt URI on stdout (progress goes to stderr)
#   dev/neo4j/neo4j.sh stop     SIGTERM, wait for a clean shutdown (SIGKILL after a timeout)
#   dev/neo4j/neo4j.sh status   print the URI and exit 0 if running, exit 3 if not
#   dev/neo4j/neo4j.sh build    only resolve and build the launcher
#
# Settings (environment):
#   NEO4J_DEV_HOME          data directory          (default: dev/neo4j/data)
#   NEO4J_DEV_PORT          Bolt port, 0 = free one (default: 7687)
#   NEO4J_DEV_HEAP          JVM heap                (default: 768m)
#   NEO4J_DEV_PAGECACHE_MB  page cache in MiB       (default: 128)
#   NEO4J_DEV_TX_MEMORY_MB  transaction memory, MiB (default: 256)
#   NEO4J_DEV_START_TIMEOUT seconds to wait for Bolt (default: 180)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
home=${NEO4J_DEV_HOME:-$here/data}
port=${NEO4J_DEV_PORT:-7687}
heap=${NEO4J_DEV_HEAP:-768m}
pagecache=${NEO4J_DEV_PAGECACHE_MB:-128}
txmem=${NEO4J_DEV_TX_MEMORY_MB:-256}
start_timeout=${NEO4J_DEV_START_TIMEOUT:-180}
pidfile=$home/neo4j.pid
urifile=$home/bolt.uri
logfile=$home/launcher.log

log() { printf 'neo4j.sh: %s\n' "$*" >&2; }

running_pid() {
  [[ -f $pidfile ]] || return 1
  local pid
  pid=$(<"$pidfile")
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && { echo "$pid"; return 0; }
  return 1
}

build() {
  local jar=$here/target/govtrail-dev-neo4j-1.0.0.jar
  if [[ -f $jar && -d $here/target/lib && $jar -nt $here/pom.xml ]] &&
     [[ -z $(find "$here/src" -newer "$jar" -type f -print -quit) ]]; then
    return 0
  fi
  log "building the launcher (first run resolves Neo4j from Maven Central)"
  (cd "$here" && mvn -B -q package -DskipTests) >&2
}

start() {
  if pid=$(running_pid); then
    [[ -f $urifile ]] && { cat "$urifile"; return 0; }
  fi
  build
  mkdir -p "$home"
  rm -f "$urifile"
  log "starting Neo4j (home $home, port $port, heap $heap, page cache ${pagecache}MiB)"
  # setsid: the database outlives the shell that started it; `stop` ends it.
  setsid java -Xms"$heap" -Xmx"$heap" -XX:+ExitOnOutOfMemoryError \
    -Dgovtrail.neo4j.home="$home" -Dgovtrail.neo4j.port="$port" \
    -Dgovtrail.neo4j.pagecache="$pagecache" -Dgovtrail.neo4j.txMemory="$txmem" \
    -cp "$here/target/govtrail-dev-neo4j-1.0.0.jar:$here/target/lib/*" \
    dev.govtrail.neo4j.Launcher >"$logfile" 2>&1 </dev/null &
  echo $! >"$pidfile"
  local waited=0
  until [[ -f $urifile ]]; do
    if ! running_pid >/dev/null; then
      log "Neo4j exited during start-up; last lines of $logfile:"
      tail -n 40 "$logfile" >&2 || true
      return 1
    fi
    if (( waited >= start_timeout * 4 )); then
      log "Bolt did not answer within ${start_timeout}s; see $logfile"
      stop
      return 1
    fi
    sleep 0.25
    waited=$((waited + 1))
  done
  local uri hostport
  uri=$(<"$urifile")
  hostport=${uri#bolt://}
  # The launcher writes the file only after Bolt is bound; check the socket once anyway.
  if ! (exec 3<>"/dev/tcp/${hostport%:*}/${hostport##*:}") 2>/dev/null; then
    log "Bolt at $uri does not accept connections; see $logfile"
    return 1
  fi
  log "ready in $((waited / 4))s at $uri"
  echo "$uri"
}

stop() {
  local pid
  if ! pid=$(running_pid); then
    rm -f "$pidfile" "$urifile"
    log "not running"
    return 0
  fi
  kill -TERM "$pid"
  for _ in $(seq 1 240); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile" "$urifile"; log "stopped"; return 0; }
    sleep 0.25
  done
  log "no clean shutdown after 60s; killing $pid"
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$pidfile" "$urifile"
}

status() {
  if running_pid >/dev/null && [[ -f $urifile ]]; then
    cat "$urifile"
    return 0
  fi
  return 3
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  status) status ;;
  build) build ;;
  *) echo "usage: $0 start|stop|status|build" >&2; exit 2 ;;
esac
