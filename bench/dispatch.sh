#!/usr/bin/env bash
# The dispatch benchmark behind `make bench-dispatch` (a measurement, not a
# test): how fast event-mesh-dispatcher drains a pre-filled broker stream
# into a subscriber, against the limit measured in the same run:
#
#   raw-js-consume  bench/js-consume: a durable pull consumer on the same
#                   stream with the dispatcher's defaults (explicit acks,
#                   MaxAckPending 64, batches of 64) acking every event
#                   without delivering it: what consuming costs.
#   raw-js-http     js-consume -H: the same consumer, plus an HTTP POST of
#                   every event to nginx `return 200;` with libcurl before
#                   its ack (BENCH_HTTP_PIPES pipelines fetching
#                   in-flight/pipelines each, on a consumer of its own
#                   that reads the same N events again): consuming plus
#                   the least a delivery costs, with none of the
#                   dispatcher's work (decoding, filtering, metrics,
#                   retries); what this machine allows a dispatcher.
#   dispatcher      one Trigger (filter type = the events' type,
#                   max-in-flight 64) delivering to nginx `return 200;`.
#   latency@RATE    js-pub sending at a fixed rate with its send time in a
#                   ce-benchsent extension; the subscriber nginx logs $msec
#                   and the header: end-to-end latency from the publish into
#                   JetStream to the POST's arrival at the subscriber.
#
# How "dispatcher" is measured: a new Trigger's consumer sees new events
# only, so the dispatcher is started once with the Trigger (which creates
# its durable consumer), stopped, the stream is filled with N events, and
# the dispatcher is started again; it then finds a backlog of exactly N.
# deliveries/s = (N - 1) / (the last arrival at nginx - the first), from
# nginx's access log ($msec), so the dispatcher's start-up is not counted
# and neither is any publishing; the script polls the dispatcher's metrics
# only every 250 ms to see the end, so that it takes next to no CPU from
# the processes measured.  nginx's stub_status request count and the log's
# line count confirm that the subscriber got every one of the N.
#
# Environment (all optional):
#   BENCH_EVENTS=100000    events per drain (the stream is filled twice)
#   BENCH_RATE=1000        events/s of the latency scenario
#   BENCH_LAT_SECONDS=10   its duration
#   BENCH_EVENT_SIZE=1024  body bytes
#   BENCH_IN_FLIGHT=64     the Trigger's eventmesh.io/max-in-flight and
#                          js-consume's MaxAckPending and batch
#   BENCH_HTTP_PIPES=4     raw-js-http's pipelines (threads)
#   BENCH_KEEP=1           keep the temporary directory
set -euo pipefail

cd "$(dirname "$0")/.."
top=$(pwd)

events=${BENCH_EVENTS:-100000}
rate=${BENCH_RATE:-1000}
lat_seconds=${BENCH_LAT_SECONDS:-10}
size=${BENCH_EVENT_SIZE:-1024}
in_flight=${BENCH_IN_FLIGHT:-64}
http_pipes=${BENCH_HTTP_PIPES:-4}

nginx_bin=${BENCH_NGINX:-/usr/sbin/nginx}
jspub="$top/build/bench/js-pub"
jsconsume="$top/build/bench/js-consume"
dispatcher="$top/build/event-mesh-dispatcher"

namespace=bench
broker=bench
trigger=bench
stream="EM_${namespace}_${broker}"
ce_type=com.example.bench.v1
# em.<namespace>.<broker>.<type tokens>: the type's tokens need no encoding
subject="em.${namespace}.${broker}.${ce_type}"

# --- helpers --------------------------------------------------------------

bench_name=bench-dispatch
# shellcheck source=bench/lib.sh disable=SC2034
. bench/lib.sh

# fill COUNT KEY: COUNT events into the stream as fast as js-pub can
fill() {
    local n=$1 key=$2 before after line
    before=$(stream_msgs)
    "$jspub" pub -s "$nats_url" -j "$subject" -m async -c "$in_flight" \
        -n "$n" -z "$size" -t "$ce_type" >"$tmp/$key.out" 2>&1 \
        || { cat "$tmp/$key.out" >&2; die "$key: js-pub failed"; }
    line=$(grep '^result tool=js-pub' "$tmp/$key.out")
    after=$(stream_msgs)
    if [ "$(get acked "$line")" != "$n" ] || [ $((after - before)) != "$n" ]
    then
        die "$key: $n events sent, $(get acked "$line") acked," \
            "$((after - before)) stored"
    fi
}

# metric NAME: the value of the dispatcher's per-trigger metric, or "" when
# the admin endpoint does not answer (yet)
metric() {
    curl -s --max-time 2 "http://$admin/metrics" 2>/dev/null \
        | awk -v m="$1" -v t="trigger=\"$trigger\"" '
            index($0, m "{") == 1 && index($0, t) { print $NF; exit }' \
        || true
}

# "accepted-connections requests" nginx has served; this request and its
# connection are among them
nginx_counts() {
    curl -s --max-time 2 "http://127.0.0.1:$http_port/status" \
        | awk '/^ *[0-9]+ +[0-9]+ +[0-9]+ *$/ { print $1, $3; exit }'
}

nginx_requests() {
    local c
    c=$(nginx_counts)
    echo "${c#* }"
}

write_trigger() {
    cat >"$tmp/triggers/$trigger.yaml.tmp" <<EOF
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: $trigger
  namespace: $namespace
  annotations:
    eventmesh.io/max-in-flight: "$in_flight"
spec:
  broker: $broker
  filter:
    attributes:
      type: $ce_type
  subscriber:
    uri: http://127.0.0.1:$http_port$1
EOF
    # renamed into place: a reload never reads half a file
    mv "$tmp/triggers/$trigger.yaml.tmp" "$tmp/triggers/$trigger.yaml"
}

# wait_ready PATH: /readyz answers 200 and the trigger is ready with PATH
wait_ready() {
    local body
    for _ in $(seq 1 100); do
        kill -0 "$disp_pid" 2>/dev/null || {
            tail -5 "$tmp/dispatcher.log" >&2
            die "the dispatcher exited (log: $tmp/dispatcher.log)"
        }
        if curl -sf --max-time 2 "http://$admin/readyz" >/dev/null 2>&1; then
            body=$(curl -s --max-time 2 "http://$admin/triggers" || true)
            case $body in
            *"$http_port$1"*'"ready":true'* | *'"ready":true'*"$http_port$1"*)
                return 0 ;;
            esac
        fi
        sleep 0.1
    done
    tail -5 "$tmp/dispatcher.log" >&2
    die "the dispatcher is not ready within 10 s (log: $tmp/dispatcher.log)"
}

start_dispatcher() {
    "$dispatcher" -c "$tmp/dispatcher.yaml" >>"$tmp/dispatcher.log" 2>&1 &
    disp_pid=$!
}

stop_dispatcher() {
    kill -TERM "$disp_pid" 2>/dev/null || true
    wait "$disp_pid" 2>/dev/null || true
    disp_pid=
}

# percentiles of the numbers in FILE (one per line): "p50 p99 max count"
percentiles() {
    sort -n "$1" | awk '{ v[NR] = $1 } END {
        if (NR == 0) { print "? ? ? 0"; exit }
        i50 = int(0.50 * NR + 0.999999); i99 = int(0.99 * NR + 0.999999)
        printf "%.1f %.1f %.1f %d\n", v[i50], v[i99], v[NR], NR }'
}

now() {
    date +%s.%N
}

# nginx's master and workers, the dispatcher, nats-server: ticks of each
cpu_snapshot() {
    local ngx=0 pid
    for pid in $nginx_pid $(ps -o pid= --ppid "$nginx_pid" 2>/dev/null); do
        ngx=$((ngx + $(cpu_ticks "$pid")))
    done
    echo "$(cpu_ticks "$disp_pid") $ngx $(cpu_ticks "$nats_pid")"
}

# cpu_cell "BEFORE" "AFTER" SECONDS: "disp/ngx/nats" in % of one core
cpu_cell() {
    awk -v a="$1" -v b="$2" -v w="$3" -v hz="$(getconf CLK_TCK)" 'BEGIN {
        split(a, x, " "); split(b, y, " ")
        printf "%.0f/%.0f/%.0f", 100 * (y[1] - x[1]) / hz / w,
               100 * (y[2] - x[2]) / hz / w, 100 * (y[3] - x[3]) / hz / w }'
}

# --- prerequisites --------------------------------------------------------

case $http_pipes in
    '' | *[!0-9]* | 0*) die "BENCH_HTTP_PIPES must be a positive integer" ;;
esac
[ $((in_flight % http_pipes)) = 0 ] \
    || die "BENCH_HTTP_PIPES=$http_pipes does not divide" \
           "BENCH_IN_FLIGHT=$in_flight"

command -v nats-server >/dev/null || die "nats-server is missing"
command -v curl >/dev/null || die "curl is missing"
need "$nginx_bin" "set BENCH_NGINX or install nginx"
need "$jspub" "run make build/bench/js-pub"
need "$jsconsume" "run make build/bench/js-consume"
need "$dispatcher" "run make dispatcher"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/em-bench-dispatch.XXXXXX")
nats_pid=
nginx_pid=
disp_pid=

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    local pid
    for pid in $disp_pid $nginx_pid $nats_pid; do
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [ "${BENCH_KEEP:-0}" = 1 ]; then
        echo "bench-dispatch: logs, configuration and store kept in $tmp" >&2
    elif [ "$rc" != 0 ]; then
        rm -rf "$tmp/jetstream"
        echo "bench-dispatch: logs and configuration kept in $tmp" >&2
    else
        rm -rf "$tmp"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- NATS, the broker, the subscriber -------------------------------------

nats_port=$(free_port)
nats_url="nats://127.0.0.1:$nats_port"
nats-server -js -a 127.0.0.1 -p "$nats_port" -sd "$tmp/jetstream" \
    >"$tmp/nats-server.log" 2>&1 &
nats_pid=$!
wait_log "$nats_pid" "$tmp/nats-server.log" "Server is ready" nats-server

admin="127.0.0.1:$(free_port)"
mkdir -p "$tmp/triggers"
cat >"$tmp/dispatcher.yaml" <<EOF
nats:
  servers: [$nats_url]
admin:
  listen: $admin
triggers: triggers
brokers:
  - namespace: $namespace
    name: $broker
    channel:
      storage: file
      maxAge: 24h
      size: 8Gi
      replicas: 1
      duplicateWindow: 2m
EOF
"$dispatcher" provision -c "$tmp/dispatcher.yaml" >"$tmp/provision.log" 2>&1 \
    || { cat "$tmp/provision.log" >&2; die "provisioning failed"; }
stream_msgs >/dev/null

http_port=$(free_port)
mkdir -p "$tmp/nginx/logs" "$tmp/nginx/tmp"
cat >"$tmp/nginx/nginx.conf" <<EOF
worker_processes  1;
daemon            off;
pid               nginx.pid;
error_log         logs/error.log notice;

events {
    worker_connections  1024;
}

http {
    access_log                 off;
    keepalive_requests         1000000;
    client_body_temp_path      tmp/body;
    proxy_temp_path            tmp/proxy;
    fastcgi_temp_path          tmp/fastcgi;
    uwsgi_temp_path            tmp/uwsgi;
    scgi_temp_path             tmp/scgi;

    # arrival (ms since the epoch, nginx's resolution) and the send time
    # (us since the epoch) js-pub put into the event
    log_format  lat  '\$msec \$http_ce_benchsent';
    log_format  drain  '\$msec';

    server {
        listen       127.0.0.1:$http_port;

        location = /sub {
            access_log  logs/drain.log drain buffer=256k flush=1s;
            return 200;
        }

        location = /raw {
            return 200;
        }

        location = /lat {
            access_log  logs/lat.log lat;
            return 200;
        }

        location = /status {
            stub_status;
        }
    }
}
EOF
"$nginx_bin" -p "$tmp/nginx/" -e logs/error.log -c nginx.conf \
    >"$tmp/nginx/logs/stdout.log" 2>&1 &
nginx_pid=$!
wait_log "$nginx_pid" "$tmp/nginx/logs/error.log" "start worker process" \
    nginx

cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
echo "bench-dispatch: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), $(nproc) cores" \
     "($cpu_model), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "bench-dispatch: $events events of $size bytes per drain," \
     "$in_flight in flight; latency at $rate events/s for ${lat_seconds}s;" \
     "nginx, nats-server, the dispatcher and the clients share the cores"
echo

failed=0

# --- 1. raw JetStream consume ---------------------------------------------

echo "bench-dispatch: filling $events events for raw-js-consume..."
fill "$events" fill-raw
echo "bench-dispatch: running raw-js-consume..."
"$jsconsume" -s "$nats_url" -S "$stream" -j "$subject" -n "$events" \
    -b "$in_flight" -a "$in_flight" >"$tmp/raw.out" 2>&1 \
    || { cat "$tmp/raw.out" >&2; die "js-consume failed"; }
raw_line=$(grep '^result tool=js-consume' "$tmp/raw.out")
raw_eps=$(get events_per_s "$raw_line")
raw_note="$(get events "$raw_line") acked"

# --- 2. raw JetStream consume plus one HTTP POST per event ----------------

# its new consumer reads the stream from the start: the same N events
echo "bench-dispatch: running raw-js-http..."
"$jsconsume" -s "$nats_url" -S "$stream" -j "$subject" -n "$events" \
    -b $((in_flight / http_pipes)) -a "$in_flight" -P "$http_pipes" \
    -H "http://127.0.0.1:$http_port/raw" >"$tmp/http.out" 2>&1 \
    || { cat "$tmp/http.out" >&2; die "js-consume -H failed"; }
http_line=$(grep '^result tool=js-consume' "$tmp/http.out")
http_eps=$(get events_per_s "$http_line")
http_note="$(get events "$http_line") POSTed and acked over"
http_note+=" $(get http_connections "$http_line") connections"

# --- 3. the dispatcher draining a backlog ---------------------------------

write_trigger /sub
start_dispatcher
wait_ready /sub
# the durable consumer now exists and stays while the dispatcher is down
stop_dispatcher

echo "bench-dispatch: filling $events events for the dispatcher..."
fill "$events" fill-disp
read -r conn0 req0 <<<"$(nginx_counts)"

echo "bench-dispatch: running dispatcher..."
start_dispatcher
t_first='' t_last='' d=0
deadline=$(( $(date +%s) + 120 + events / 500 ))
# polled slowly: the rate comes from nginx's own arrival times, and a
# busy poller would take CPU from the processes measured
while :; do
    d=$(metric em_events_delivered_total)
    t=$(now)
    d=${d:-0}
    if [ -z "$t_first" ] && [ "$d" -gt 0 ]; then
        t_first=$t
        cpu0=$(cpu_snapshot)
    fi
    if [ "$d" -ge "$events" ]; then
        t_last=$t
        cpu1=$(cpu_snapshot)
        break
    fi
    kill -0 "$disp_pid" 2>/dev/null \
        || die "the dispatcher exited (log: $tmp/dispatcher.log)"
    [ "$(date +%s)" -lt "$deadline" ] \
        || die "the dispatcher delivered $d of $events events in time"
    sleep 0.25
done
# the dispatcher reads its consumer's lag every few seconds: wait for a
# reading taken after the drain, which must show nothing left
for _ in $(seq 1 100); do
    pending=$(metric em_consumer_pending)
    ack_pending=$(metric em_consumer_ack_pending)
    [ "$pending" = 0 ] && [ "$ack_pending" = 0 ] && break
    sleep 0.1
done
d=$(metric em_events_delivered_total)
read -r conn1 req1 <<<"$(nginx_counts)"
got=$((req1 - req0 - 1))
conns=$((conn1 - conn0 - 1))
# nginx flushes its log buffer within a second
sleep 1.2
read -r drain_n drain_secs disp_eps <<<"$(sort -n "$tmp/nginx/logs/drain.log" \
    | awk 'NR == 1 { a = $1 } { b = $1 } END {
        if (NR < 2 || b <= a) { print NR, 0, 0; exit }
        printf "%d %.3f %.0f\n", NR, b - a, (NR - 1) / (b - a) }')"
disp_secs=$(awk -v a="$t_first" -v b="$t_last" 'BEGIN { printf "%.2f", b - a }')
disp_note="$d delivered, $got at nginx over $conns connections,"
disp_note+=" pending ${pending:-?};"
disp_note+=" first to last arrival ${drain_secs}s;"
disp_note+=" cpu% disp/ngx/nats $(cpu_cell "$cpu0" "$cpu1" "$disp_secs")"
if [ "$d" != "$events" ] || [ "$got" != "$events" ] \
    || [ "$drain_n" != "$events" ] \
    || [ "${pending:-x}" != 0 ] || [ "${ack_pending:-x}" != 0 ]
then
    disp_note="MISMATCH: $disp_note"
    failed=1
fi

# --- 4. latency at a fixed rate -------------------------------------------

# a restart rather than a reload: nothing the old Trigger still holds can
# go to the old path
stop_dispatcher
write_trigger /lat
start_dispatcher
wait_ready /lat
d0=$(metric em_events_delivered_total)
req0=$(nginx_requests)

echo "bench-dispatch: running latency@$rate..."
"$jspub" pub -s "$nats_url" -j "$subject" -m async -c "$in_flight" \
    -r "$rate" -d "$lat_seconds" -z "$size" -t "$ce_type" \
    >"$tmp/lat.out" 2>&1 \
    || { cat "$tmp/lat.out" >&2; die "latency: js-pub failed"; }
lat_line=$(grep '^result tool=js-pub' "$tmp/lat.out")
sent=$(get acked "$lat_line")
lat_eps=$(get events_per_s "$lat_line")

for _ in $(seq 1 100); do
    d=$(metric em_events_delivered_total)
    [ "$((d - d0))" -ge "$sent" ] && break
    sleep 0.1
done
# nginx writes its access log line after the response: give it a moment
sleep 0.5
got=$(( $(nginx_requests) - req0 - 1 ))
awk 'NF == 2 && $2 ~ /^[0-9]+$/ { printf "%.3f\n", $1 * 1000 - $2 / 1000 }' \
    "$tmp/nginx/logs/lat.log" >"$tmp/lat.ms"
read -r lat_p50 lat_p99 lat_max lat_n <<<"$(percentiles "$tmp/lat.ms")"
lat_note="$sent sent, $((d - d0)) delivered, $got at nginx, $lat_n logged"
if [ "$((d - d0))" != "$sent" ] || [ "$lat_n" != "$sent" ] \
    || [ "$got" != "$sent" ]
then
    lat_note="MISMATCH: $lat_note"
    failed=1
fi

# --- report ---------------------------------------------------------------

row() {
    printf '| %-15s | %-44s | %9s | %7s | %7s | %7s | %s |\n' "$@"
}

echo
row scenario what events/s 'p50 ms' 'p99 ms' 'max ms' checked
row --------------- -------------------------------------------- --------: \
    ------: ------: ------: -------
row raw-js-consume "js-consume pull, batch $in_flight, ack, no delivery" \
    "$raw_eps" - - - "$raw_note"
row raw-js-http \
    "js-consume + libcurl POST, $http_pipes x $((in_flight / http_pipes))" \
    "$http_eps" - - - "$http_note"
row dispatcher "Trigger -> nginx return 200, $in_flight in flight" \
    "$disp_eps" - - - "$disp_note"
row "latency@$rate" "js-pub at $rate/s -> dispatcher -> nginx" \
    "$lat_eps" "$lat_p50" "$lat_p99" "$lat_max" "$lat_note"
echo

awk -v m="$disp_eps" -v r="$raw_eps" -v f="$in_flight" 'BEGIN {
    ratio = r > 0 ? m / r : 0
    printf "ratio dispatcher/raw-js-consume = %.2f  (%d / %d events/s at" \
           " %d in flight; goal >= 0.5: %s)\n", ratio, m, r, f,
           (ratio >= 0.5 ? "met" : "NOT met") }'
awk -v h="$http_eps" -v r="$raw_eps" -v m="$disp_eps" 'BEGIN {
    printf "ratio raw-js-http/raw-js-consume = %.2f  (consuming plus one" \
           " plain libcurl POST per event, none of the dispatcher'"'"'s" \
           " work: what this machine allows)\n", (r > 0 ? h / r : 0)
    printf "ratio dispatcher/raw-js-http = %.2f\n", (h > 0 ? m / h : 0) }'
echo "latency@$rate: p50 $lat_p50 ms, p99 $lat_p99 ms from the publish" \
     "into JetStream to the POST's arrival (nginx \$msec: 1 ms resolution)"

if [ "$failed" != 0 ]; then
    echo "bench-dispatch: counts do not match (see 'checked'); logs in $tmp" >&2
    exit 1
fi
