#!/usr/bin/env bash
# `make run`: NATS with JetStream, the broker's stream, nginx with the
# module, all on loopback, in the foreground until Ctrl-C.  Everything it
# starts is stopped by PID when it ends.
set -euo pipefail

cd "$(dirname "$0")/.."
top=$(pwd)
run="$top/run"
mkdir -p "$run/jetstream" "$run/tmp"

pids=()
stop() {
    trap - INT TERM EXIT
    echo
    echo "stopping..."
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    echo "stopped."
    exit 0
}
trap stop INT TERM EXIT

port_busy() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

wait_port() {
    local port=$1 what=$2 pid=$3 i
    for i in $(seq 1 100); do
        port_busy "$port" && return 0
        kill -0 "$pid" 2>/dev/null || { echo "$what exited; see above" >&2; exit 1; }
        sleep 0.1
    done
    echo "$what did not listen on 127.0.0.1:$port within 10s" >&2
    exit 1
}

for port in 4222 8080 8090 9090; do
    if port_busy "$port"; then
        echo "127.0.0.1:$port is already in use; stop what listens there first" >&2
        exit 1
    fi
done

nats-server -c conf/nats-server.conf -js -sd "$run/jetstream" \
    >"$run/nats-server.log" 2>&1 &
pids+=($!)
wait_port 4222 nats-server "$!"
echo "nats-server with JetStream on nats://127.0.0.1:4222 (log: run/nats-server.log)"

build/event-mesh-dispatcher provision -c conf/dispatcher.yaml

# The sample subscriber of conf/triggers/user-created.yaml: prints every
# event it receives.
perl t/inc/EmTest/Subscriber.pm --print --port 8090 &
pids+=($!)
wait_port 8090 subscriber "$!"
echo "sample subscriber on http://127.0.0.1:8090 (prints what it receives below)"

build/event-mesh-dispatcher -c conf/dispatcher.yaml 2>"$run/dispatcher.log" &
pids+=($!)
wait_port 9090 event-mesh-dispatcher "$!"
echo "event-mesh-dispatcher with conf/triggers/ (admin http://127.0.0.1:9090, log: run/dispatcher.log)"

/usr/sbin/nginx -p "$top/" -c conf/nginx.conf -g 'daemon off;' &
pids+=($!)
wait_port 8080 nginx "$!"
echo "nginx with the event mesh module on http://127.0.0.1:8080 (log: run/error.log, run/access.log)"

cat <<'MSG'

Send an event (binary mode):

  curl -i http://127.0.0.1:8080/events \
      -H 'ce-specversion: 1.0' -H 'ce-id: 1' -H 'ce-source: /my/app' \
      -H 'ce-type: user.created' -H 'Content-Type: application/json' \
      -d '{"name":"Ada"}'

A 202 means the event is stored in the JetStream stream EM_default_default;
a 400 lists every rule the event broke.

A legacy (Kyma) event of the application "mock", which the sample Trigger
(type user.created, eventtypeversion v1, source mock) delivers to the
sample subscriber, printed here:

  curl -i http://127.0.0.1:8080/mock/v1/events \
      -d '{"event-type":"user.created","event-type-version":"v1",
           "event-time":"2024-01-01T10:00:00Z","data":{"name":"Ada"}}'

What "mock" is subscribed to, as Kyma answered it:

  curl http://127.0.0.1:8080/mock/v1/events/subscribed

Triggers and their state:  curl http://127.0.0.1:9090/triggers
NATS state per worker:

  curl http://127.0.0.1:8080/event-mesh/status

Press Ctrl-C to stop.
MSG

wait -n "${pids[@]}" || true
echo "a process exited; see run/*.log" >&2
