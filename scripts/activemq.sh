#!/usr/bin/env bash
# A throw-away Apache ActiveMQ Classic broker for the GC tests.
#
#   scripts/activemq.sh start      install if missing, start on a free loopback STOMP port,
#                                  wait until it accepts connections, print CCE_STOMP_ADDR=...
#   scripts/activemq.sh stop       stop it (idempotent)
#   scripts/activemq.sh restart    stop, then start again on the same port
#   scripts/activemq.sh addr       print host:port of the running broker
#   scripts/activemq.sh run CMD... start, export CCE_STOMP_ADDR, CCE_STOMP_TLS_ADDR,
#                                  CCE_STOMP_TLS_CA and CCE_BROKER_CTL, run CMD, stop the
#                                  broker whatever CMD does (trap)
#
# The broker lives under $CCE_BROKER_DIR (default build/activemq): a STOMP connector and a
# STOMP-over-TLS connector on 127.0.0.1, no OpenWire/JMX/web console, no persistence. The
# TLS connector's key material is made at start with keytool (it comes with the JRE the
# broker needs): a throw-away CA (its certificate in $DIR/tls/ca.pem) and a broker
# certificate for 127.0.0.1/localhost in a PKCS12 keystore whose random password stays in
# a 0600 file and is never printed. Installation: the Debian package
# `activemq` via apt-get; where apt has no such package, the Apache binary tarball
# (ActiveMQ Classic $AMQ_VERSION) is downloaded once and cached under build/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${CCE_BROKER_DIR:-$ROOT/build/activemq}"
AMQ_VERSION="${AMQ_VERSION:-5.18.6}"
START_TIMEOUT="${CCE_BROKER_START_TIMEOUT:-90}"

log() { echo "activemq.sh: $*" >&2; }

# The activemq.jar launcher and the lib dir, installing the broker when missing.
find_home() {
  if [[ -f /usr/share/activemq/bin/activemq.jar ]]; then
    echo /usr/share/activemq; return
  fi
  local cached="$ROOT/build/apache-activemq-$AMQ_VERSION"
  if [[ -f "$cached/bin/activemq.jar" ]]; then
    echo "$cached"; return
  fi
  if command -v apt-get >/dev/null; then
    if ! apt-cache show activemq >/dev/null 2>&1; then
      log "updating the apt package lists"
      apt-get update -qq >&2 || true
    fi
    if apt-cache show activemq >/dev/null 2>&1; then
      log "installing the Debian package activemq"
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends activemq >&2
      # The package may start its own service: we run our own instance instead.
      if [[ -f /usr/share/activemq/bin/activemq.jar ]]; then
        echo /usr/share/activemq; return
      fi
    fi
  fi
  log "no activemq package: downloading the Apache ActiveMQ $AMQ_VERSION tarball"
  mkdir -p "$ROOT/build"
  local tgz="$ROOT/build/apache-activemq-$AMQ_VERSION-bin.tar.gz"
  if [[ ! -f "$tgz" ]]; then
    local url
    for url in \
      "https://archive.apache.org/dist/activemq/$AMQ_VERSION/apache-activemq-$AMQ_VERSION-bin.tar.gz" \
      "https://dlcdn.apache.org/activemq/$AMQ_VERSION/apache-activemq-$AMQ_VERSION-bin.tar.gz"; do
      if curl -fsSL --retry 2 -o "$tgz.part" "$url"; then mv "$tgz.part" "$tgz"; break; fi
    done
    [[ -f "$tgz" ]] || { log "cannot download ActiveMQ"; exit 1; }
  fi
  tar -xzf "$tgz" -C "$ROOT/build"
  echo "$cached"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

running_pid() {
  [[ -f "$DIR/pid" ]] || return 1
  local pid; pid="$(cat "$DIR/pid")"
  kill -0 "$pid" 2>/dev/null && echo "$pid"
}

# A throw-away CA and broker keystore under $DIR/tls (kept across restarts).
make_keystore() {
  local tls="$DIR/tls"
  [[ -f "$tls/broker.p12" && -f "$tls/ca.pem" && -f "$tls/password" ]] && return
  rm -rf "$tls"; mkdir -p "$tls"; chmod 700 "$tls"
  (umask 077; python3 -c 'import secrets; print(secrets.token_hex(16))' >"$tls/password")
  local pw; pw="$(cat "$tls/password")"
  local kt=(keytool -noprompt -storetype PKCS12 -keyalg EC -groupname secp256r1)
  "${kt[@]}" -genkeypair -alias ca -dname "CN=libcce test broker CA" -ext bc:c -validity 30 \
    -keystore "$tls/ca.p12" -storepass "$pw" >/dev/null 2>&1
  "${kt[@]}" -genkeypair -alias broker -dname "CN=localhost" -validity 30 \
    -keystore "$tls/broker.p12" -storepass "$pw" >/dev/null 2>&1
  keytool -exportcert -rfc -alias ca -keystore "$tls/ca.p12" -storepass "$pw" >"$tls/ca.pem" 2>/dev/null
  keytool -certreq -alias broker -keystore "$tls/broker.p12" -storepass "$pw" 2>/dev/null |
    keytool -gencert -rfc -alias ca -keystore "$tls/ca.p12" -storepass "$pw" -validity 30 \
      -ext san=dns:localhost,ip:127.0.0.1 -ext eku=serverAuth >"$tls/broker.pem" 2>/dev/null
  keytool -noprompt -importcert -alias ca -file "$tls/ca.pem" \
    -keystore "$tls/broker.p12" -storepass "$pw" >/dev/null 2>&1
  keytool -noprompt -importcert -alias broker -file "$tls/broker.pem" \
    -keystore "$tls/broker.p12" -storepass "$pw" >/dev/null 2>&1
  rm -f "$tls/ca.p12"
}

write_config() {
  local port="$1" tls_port="$2"
  mkdir -p "$DIR/conf" "$DIR/data"
  make_keystore
  local pw; pw="$(cat "$DIR/tls/password")"
  cat >"$DIR/conf/activemq.xml" <<XML
<beans xmlns="http://www.springframework.org/schema/beans"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xsi:schemaLocation="http://www.springframework.org/schema/beans http://www.springframework.org/schema/beans/spring-beans.xsd
  http://activemq.apache.org/schema/core http://activemq.apache.org/schema/core/activemq-core.xsd">
  <broker xmlns="http://activemq.apache.org/schema/core" brokerName="cce-test"
          useJmx="false" persistent="false" advisorySupport="false"
          dataDirectory="$DIR/data">
    <managementContext><managementContext createConnector="false"/></managementContext>
    <sslContext>
      <sslContext keyStore="file:$DIR/tls/broker.p12" keyStoreType="PKCS12" keyStorePassword="$pw"/>
    </sslContext>
    <transportConnectors>
      <transportConnector name="stomp" uri="stomp://127.0.0.1:$port?transport.closeAsync=false"/>
      <transportConnector name="stomp+ssl" uri="stomp+ssl://127.0.0.1:$tls_port?transport.closeAsync=false"/>
    </transportConnectors>
  </broker>
</beans>
XML
  cat >"$DIR/conf/log4j2.properties" <<'PROPS'
rootLogger.level=WARN
rootLogger.appenderRef.console.ref=Console
appender.console.type=Console
appender.console.name=Console
appender.console.layout.type=PatternLayout
appender.console.layout.pattern=%d | %-5p | %m%n
PROPS
  chmod 600 "$DIR/conf/activemq.xml"
  echo "$port" >"$DIR/port"
  echo "$tls_port" >"$DIR/tls_port"
}

start() {
  if pid="$(running_pid)"; then
    log "already running (pid $pid)"; echo "CCE_STOMP_ADDR=127.0.0.1:$(cat "$DIR/port")"; return
  fi
  local home; home="$(find_home)"
  local port="${1:-}" tls_port="${2:-}"
  [[ -n "$port" ]] || port="$(free_port)"
  # Restarting on a given port (start PORT): keep the TLS port too.
  if [[ -z "$tls_port" && -n "${1:-}" && -f "$DIR/tls_port" ]]; then tls_port="$(cat "$DIR/tls_port")"; fi
  [[ -n "$tls_port" ]] || tls_port="$(free_port)"
  write_config "$port" "$tls_port"
  log "starting ActiveMQ from $home, STOMP on 127.0.0.1:$port, STOMP+TLS on 127.0.0.1:$tls_port"
  # setsid: the broker gets its own process group, so that stop can end it and its children.
  setsid java -Xms64m -Xmx256m -Djava.awt.headless=true \
    -Dactivemq.home="$home" -Dactivemq.base="$DIR" -Dactivemq.conf="$DIR/conf" \
    -Dactivemq.data="$DIR/data" -Dlog4j2.configurationFile="$DIR/conf/log4j2.properties" \
    -Dlog4j.configurationFile="$DIR/conf/log4j2.properties" \
    -jar "$home/bin/activemq.jar" start "xbean:file:$DIR/conf/activemq.xml" \
    >"$DIR/broker.log" 2>&1 </dev/null &
  echo $! >"$DIR/pid"
  local waited=0
  until port_open "$port" && port_open "$tls_port"; do
    if ! running_pid >/dev/null; then
      log "the broker exited; log follows"; tail -40 "$DIR/broker.log" >&2; exit 1
    fi
    if (( waited >= START_TIMEOUT * 5 )); then
      log "no STOMP listener after ${START_TIMEOUT}s; log follows"; tail -40 "$DIR/broker.log" >&2
      stop; exit 1
    fi
    sleep 0.2; waited=$((waited + 1))
  done
  log "ready after $((waited / 5))s (pid $(cat "$DIR/pid"))"
  echo "CCE_STOMP_ADDR=127.0.0.1:$port"
}

stop() {
  local pid
  if pid="$(running_pid)"; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    local i
    for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
    log "stopped (pid $pid)"
  fi
  rm -f "$DIR/pid"
}

case "${1:-}" in
  start) start "${2:-}" "${3:-}" ;;
  stop) stop ;;
  restart)
    port="$(cat "$DIR/port" 2>/dev/null || true)"
    tls_port="$(cat "$DIR/tls_port" 2>/dev/null || true)"
    stop
    start "$port" "$tls_port" >/dev/null ;;
  addr) running_pid >/dev/null && echo "127.0.0.1:$(cat "$DIR/port")" ;;
  run)
    shift
    trap stop EXIT
    start >/dev/null
    export CCE_STOMP_ADDR="127.0.0.1:$(cat "$DIR/port")"
    export CCE_STOMP_TLS_ADDR="127.0.0.1:$(cat "$DIR/tls_port")"
    export CCE_STOMP_TLS_CA="$DIR/tls/ca.pem"
    export CCE_BROKER_CTL="$ROOT/scripts/activemq.sh"
    export CCE_BROKER_DIR="$DIR"
    "$@" ;;
  *) echo "usage: $0 start [port [tls_port]] | stop | restart | addr | run CMD..." >&2; exit 2 ;;
esac
