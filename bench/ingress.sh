#!/usr/bin/env bash
# The ingress benchmark behind `make bench-ingress` (a measurement, not a
# test): 1 KiB CloudEvents in binary mode, each with its own ce-id, sent by
# wrk at 50 connections through the nginx module, against two limits
# measured in the same run on the same machine:
#
#   baseline-202   nginx `return 202` on the very same request: what nginx
#                  and wrk cost without the module;
#   raw-js-*       bench/js-pub storing the same events (same subject,
#                  headers and body) straight into JetStream with 50 acks
#                  outstanding: what storing costs without nginx.
#
# It prints events/s, p50/p99 latency, CPU use of each process and the ratio
# module / raw JetStream, and checks through the JetStream API that the
# stream really holds an event for every 202.
#
# Environment (all optional):
#   BENCH_SECONDS=10        duration of every scenario
#   BENCH_CONNECTIONS=50    wrk connections, and js-pub's acks outstanding
#   BENCH_THREADS=2         wrk threads
#   BENCH_WORKERS=1         nginx worker_processes
#   BENCH_EVENT_SIZE=1024   body bytes
#   BENCH_ONLY="a b"        run only these scenarios (names as in the table)
#   BENCH_ROUNDS=1          run all scenarios this many times, interleaved;
#                           the best round of each scenario is compared
#   BENCH_COUNT=1           wrk counts statuses in a response() callback
#                           (exact 2xx count, costs wrk some throughput)
#   BENCH_KEEP=1            keep the temporary directory (logs, configs,
#                           the JetStream store)
#
# Every scenario adds about 1.3 KB per event to the stream (8 GiB, discard
# new): at ~30k events/s that is some 400 MB per scenario and 10 s in
# $TMPDIR, and a run long enough to fill the stream gets 507s.
#
# Adding a scenario: one add_wrk_scenario line below (its nginx location is
# generated from it) and, if the request differs, a shape in
# bench/ingress.lua.  Scenarios marked "stored" are checked against the
# stream and get their own ratio to raw JetStream.
set -euo pipefail

cd "$(dirname "$0")/.."
top=$(pwd)

duration=${BENCH_SECONDS:-10}
conns=${BENCH_CONNECTIONS:-50}
threads=${BENCH_THREADS:-2}
workers=${BENCH_WORKERS:-1}
size=${BENCH_EVENT_SIZE:-1024}
only=${BENCH_ONLY:-}
count_mode=${BENCH_COUNT:-0}
rounds=${BENCH_ROUNDS:-1}

nginx_bin=${BENCH_NGINX:-/usr/sbin/nginx}
module="$top/build/ngx_http_event_mesh_module.so"
jspub="$top/build/bench/js-pub"
dispatcher="$top/build/event-mesh-dispatcher"

namespace=bench
broker=bench
stream="EM_${namespace}_${broker}"
ce_type=com.example.bench.v1
# em.<namespace>.<broker>.<type tokens>: the type's tokens need no encoding
subject="em.${namespace}.${broker}.${ce_type}"

# --- scenarios ------------------------------------------------------------

wrk_names=() ; declare -A wrk_path wrk_shape wrk_stored wrk_location wrk_what

# add_wrk_scenario NAME PATH SHAPE STORED(yes|no) 'LOCATION BODY' 'WHAT'
add_wrk_scenario() {
    wrk_names+=("$1")
    wrk_path[$1]=$2
    wrk_shape[$1]=$3
    wrk_stored[$1]=$4
    wrk_location[$1]=$5
    wrk_what[$1]=$6
}

add_wrk_scenario baseline-202 /baseline binary no \
    'return 202;' \
    'nginx return 202, same request'
add_wrk_scenario module /events binary yes \
    "event_mesh_publish ${namespace}/${broker};" \
    'event_mesh_publish, 202 after PubAck'
add_wrk_scenario legacy /bench-app/v1/events legacy yes \
    "event_mesh_legacy ${namespace}/${broker}; event_mesh_source bench-app;" \
    'event_mesh_legacy (Kyma JSON), 200 after PubAck'

# js-pub modes: both PUB-with-reply (what the module does on the wire) and
# cnats' own async publish; the faster one is "raw JetStream".
raw_names=(raw-js-inbox raw-js-async)
declare -A raw_mode=([raw-js-inbox]=inbox [raw-js-async]=async)
declare -A raw_what=(
    [raw-js-inbox]='js-pub PUB+reply inbox, cnats'
    [raw-js-async]='js-pub js_PublishMsgAsync, cnats'
)

wanted() {
    [ -z "$only" ] && return 0
    case " $only " in *" $1 "*) return 0 ;; esac
    return 1
}

# --- helpers --------------------------------------------------------------

bench_name=bench-ingress
# shellcheck source=bench/lib.sh disable=SC2034
. bench/lib.sh

nginx_ticks() {
    local sum=0 pid
    for pid in $nginx_pid $(ps -o pid= --ppid "$nginx_pid" 2>/dev/null); do
        sum=$((sum + $(cpu_ticks "$pid")))
    done
    echo "$sum"
}

# busy ticks of all CPUs together, whoever used them
sys_ticks() {
    awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat
}

# cpu_cell CLIENT_TIME_FILE WALL NGINX_TICKS NATS_TICKS SYS_TICKS:
# "client/nginx/nats/others" in % of one core; "others" is what processes
# outside the benchmark took meanwhile, the figure that says whether the run
# had the machine to itself.
cpu_cell() {
    local file=$1 wall=$2 ngx=$3 nats=$4 sys=$5
    awk -v w="$wall" -v ngx="$ngx" -v nats="$nats" -v sys="$sys" \
        -v hz="$hz" '{
        cl = 100 * ($1 + $2) / w
        n = ngx < 0 ? -1 : 100 * ngx / hz / w
        s = 100 * nats / hz / w
        o = 100 * sys / hz / w - cl - (n < 0 ? 0 : n) - s
        printf "%.0f/%s/%.0f/%.0f", cl, (n < 0 ? "-" : sprintf("%.0f", n)),
               s, (o < 0 ? 0 : o)
    }' "$file"
}

# --- prerequisites --------------------------------------------------------

command -v wrk >/dev/null || die "wrk is missing: apt-get install wrk"
command -v nats-server >/dev/null || die "nats-server is missing"
command -v curl >/dev/null || die "curl is missing"
need "$nginx_bin" "set BENCH_NGINX or install nginx"
need "$jspub" "run make build/bench/js-pub"

hz=$(getconf CLK_TCK)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/em-bench.XXXXXX")
nats_pid=
nginx_pid=

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [ -n "$nginx_pid" ]; then
        kill -TERM "$nginx_pid" 2>/dev/null || true
        wait "$nginx_pid" 2>/dev/null || true
    fi
    if [ -n "$nats_pid" ]; then
        kill -TERM "$nats_pid" 2>/dev/null || true
        wait "$nats_pid" 2>/dev/null || true
    fi
    if [ "${BENCH_KEEP:-0}" = 1 ]; then
        echo "bench-ingress: logs, configuration and store kept in $tmp" >&2
    elif [ "$rc" != 0 ]; then
        # the store holds gigabytes of benchmark events; the logs tell why
        rm -rf "$tmp/jetstream"
        echo "bench-ingress: logs and configuration kept in $tmp" >&2
    else
        rm -rf "$tmp"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- NATS with JetStream and the broker's stream --------------------------

nats_port=$(free_port)
nats_url="nats://127.0.0.1:$nats_port"
nats-server -js -a 127.0.0.1 -p "$nats_port" -sd "$tmp/jetstream" \
    >"$tmp/nats-server.log" 2>&1 &
nats_pid=$!
wait_log "$nats_pid" "$tmp/nats-server.log" "Server is ready" nats-server

# The dispatcher owns the topology (DESIGN.md section 3); js-pub creates the
# same stream only when the dispatcher is not built or cannot do it.
provisioned_by=
if [ -x "$dispatcher" ]; then
    mkdir -p "$tmp/triggers"
    cat >"$tmp/dispatcher.yaml" <<EOF
nats:
  servers: [$nats_url]
admin:
  listen: 127.0.0.1:$(free_port)
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
    if "$dispatcher" provision -c "$tmp/dispatcher.yaml" \
        >"$tmp/provision.log" 2>&1
    then
        provisioned_by="event-mesh-dispatcher provision"
    else
        echo "bench-ingress: the dispatcher could not provision the stream" \
             "(see below); js-pub creates it instead" >&2
        tail -5 "$tmp/provision.log" >&2
    fi
fi
if [ -z "$provisioned_by" ]; then
    "$jspub" add -s "$nats_url" -S "$stream" -j "em.${namespace}.${broker}.>" \
        -B $((8 << 30)) -D 120 >"$tmp/provision.log" 2>&1 \
        || { cat "$tmp/provision.log" >&2; die "cannot create $stream"; }
    provisioned_by="js-pub add (no working build/event-mesh-dispatcher)"
fi
stream_msgs >/dev/null

# --- nginx ----------------------------------------------------------------

# Only the scenarios asked for get a location; the module is loaded only
# when one of them needs it, so the limits can be measured without it.
use_module=0
for name in "${wrk_names[@]}"; do
    if wanted "$name" && [ "${wrk_stored[$name]}" = yes ]; then
        use_module=1
    fi
done
[ "$use_module" = 0 ] || [ -f "$module" ] \
    || die "$module is missing: run make module"

http_port=$(free_port)
mkdir -p "$tmp/nginx/logs" "$tmp/nginx/tmp"
{
    if [ "$use_module" = 1 ]; then
        # a copy: a rebuild during the run must not swap the code under
        # the running workers
        cp "$module" "$tmp/nginx/module.so"
        printf 'load_module %s;\n\n' "$tmp/nginx/module.so"
    fi
    cat <<EOF
# $workers worker(s): see bench/RESULTS.md for why.
worker_processes  $workers;
daemon            off;
pid               nginx.pid;
error_log         logs/error.log notice;

events {
    worker_connections  4096;
}

http {
    access_log                 off;
    # wrk keeps its connections; the default (1000) would add reconnects
    # to every scenario alike and measure them instead.
    keepalive_requests         1000000;
    underscores_in_headers     on;
    client_body_buffer_size    16k;
    client_body_temp_path      tmp/body;
    proxy_temp_path            tmp/proxy;
    fastcgi_temp_path          tmp/fastcgi;
    uwsgi_temp_path            tmp/uwsgi;
    scgi_temp_path             tmp/scgi;
EOF
    if [ "$use_module" = 1 ]; then
        printf '    event_mesh_nats            %s;\n' "$nats_url"
    fi
    printf '\n    server {\n        listen       127.0.0.1:%s;\n' "$http_port"
    for name in "${wrk_names[@]}"; do
        wanted "$name" || continue
        printf '\n        location = %s {\n            %s\n        }\n' \
            "${wrk_path[$name]}" "${wrk_location[$name]}"
    done
    printf '    }\n}\n'
} >"$tmp/nginx/nginx.conf"

"$nginx_bin" -p "$tmp/nginx/" -e logs/error.log -c nginx.conf \
    >"$tmp/nginx/logs/stdout.log" 2>&1 &
nginx_pid=$!
wait_log "$nginx_pid" "$tmp/nginx/logs/error.log" "start worker process" \
    nginx

# One event by hand first: a module that does not answer 202 is reported
# with its answer instead of a meaningless table.  A 503 right after the
# start only means the worker is still connecting to NATS.
module_ok=1
for name in "${wrk_names[@]}"; do
    if [ "${wrk_stored[$name]}" != yes ] || ! wanted "$name"; then
        continue
    fi
    if [ "${wrk_shape[$name]}" = legacy ]; then
        want=200
        probe=(-H 'Content-Type: application/json'
               -d '{"event-type":"com.example.bench","event-type-version":"v1","event-time":"2024-01-01T10:00:00Z","data":{"probe":true}}')
    else
        want=202
        probe=(-H 'ce-specversion: 1.0' -H "ce-id: probe-$name-$$"
               -H 'ce-source: /bench/probe' -H "ce-type: $ce_type"
               -H 'Content-Type: application/json' -d '{"probe":true}')
    fi
    for _ in $(seq 1 50); do
        code=$(curl -s -o "$tmp/probe.body" -w '%{http_code}' \
            --max-time 10 "http://127.0.0.1:$http_port${wrk_path[$name]}" \
            "${probe[@]}") || true
        # 503 (CloudEvents) or 502 (legacy): the worker is still connecting
        [ "$code" = 503 ] || [ "$code" = 502 ] || break
        sleep 0.1
    done
    if [ "$code" != "$want" ]; then
        echo "bench-ingress: $name: a probe event got HTTP $code," \
             "not $want: $(head -c 300 "$tmp/probe.body")" >&2
        module_ok=0
    fi
done
[ "$module_ok" = 1 ] || die "the module does not store events; not measuring"

# --- the run --------------------------------------------------------------

# busy share of all CPUs over one second, before anything of ours runs
cpu_busy_pct() {
    local a b
    a=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $5 + $6; exit }' \
        /proc/stat)
    sleep 1
    b=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $5 + $6; exit }' \
        /proc/stat)
    awk -v a="$a" -v b="$b" 'BEGIN {
        split(a, x, " "); split(b, y, " ")
        busy = y[1] - x[1]; idle = y[2] - x[2]
        printf "%.0f", (busy + idle > 0 ? 100 * busy / (busy + idle) : 0)
    }'
}

cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
busy=$(cpu_busy_pct)
echo "bench-ingress: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), $(nproc) cores" \
     "($cpu_model), load average $(cut -d' ' -f1-3 /proc/loadavg)," \
     "CPUs ${busy}% busy before the run"
echo "bench-ingress: wrk, nginx, nats-server and js-pub share these" \
     "$(nproc) cores; every figure includes that contention."
if [ "$busy" -gt 10 ]; then
    echo "bench-ingress: WARNING: other processes kept the CPUs ${busy}%" \
         "busy just before the run; the figures below are lower than this" \
         "machine can do."
fi
echo "bench-ingress: ${duration}s per scenario, ${conns} connections /" \
     "acks outstanding, ${threads} wrk threads, ${size}-byte bodies," \
     "nginx worker_processes $workers; stream $stream by $provisioned_by"
echo

declare -A r_eps r_p50 r_p99 r_max r_bad r_cpu r_note
ran=()
failed=0
crashes_before=0

run_wrk() {
    local name=$1 key=$2 before after stored line n0 s0 o0 t0 t1 wall crashes
    local args=("${wrk_shape[$name]}" "$size")
    [ "$count_mode" = 1 ] && args+=(count)

    before=0
    [ "${wrk_stored[$name]}" = yes ] && before=$(stream_msgs)
    n0=$(nginx_ticks)
    s0=$(cpu_ticks "$nats_pid")
    o0=$(sys_ticks)
    t0=$(date +%s.%N)

    TIMEFORMAT='%U %S'
    { time BENCH_TAG="$(date +%s)$$${key//[^a-z0-9]/}" \
        wrk -t"$threads" -c"$conns" -d"${duration}s" -s bench/ingress.lua \
        "http://127.0.0.1:$http_port${wrk_path[$name]}" -- "${args[@]}" \
        >"$tmp/$key.out" 2>&1 ; } 2>"$tmp/$key.time" \
        || { cat "$tmp/$key.out" >&2; die "$name: wrk failed"; }

    t1=$(date +%s.%N)
    wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
    line=$(grep '^result tool=wrk' "$tmp/$key.out") \
        || { cat "$tmp/$key.out" >&2; die "$name: no result from wrk"; }

    r_eps[$key]=$(get events_per_s "$line")
    r_p50[$key]=$(get p50_ms "$line")
    r_p99[$key]=$(get p99_ms "$line")
    r_max[$key]=$(get max_ms "$line")
    r_bad[$key]=$(( $(get non2xx "$line") + $(get errors_connect "$line")
        + $(get errors_read "$line") + $(get errors_write "$line")
        + $(get errors_timeout "$line") ))
    r_cpu[$key]=$(cpu_cell "$tmp/$key.time" "$wall" \
        $(( $(nginx_ticks) - n0 )) $(( $(cpu_ticks "$nats_pid") - s0 )) \
        $(( $(sys_ticks) - o0 )))
    r_note[$key]="not stored"

    if [ "${r_bad[$key]}" != 0 ]; then
        r_note[$key]="non-2xx or socket errors: see $tmp/$key.out"
        failed=1
    fi

    crashes=$(grep -c 'exited on signal' "$tmp/nginx/logs/error.log" || true)
    if [ "$crashes" != "$crashes_before" ]; then
        r_note[$key]="nginx workers crashed $((crashes - crashes_before))"
        r_note[$key]+=" times: see $tmp/nginx/logs/error.log"
        crashes_before=$crashes
        failed=1
    fi

    if [ "${wrk_stored[$name]}" = yes ]; then
        after=$(stream_msgs)
        stored=$((after - before))
        local ok
        ok=$(get ok "$line")
        # wrk stops counting at the deadline while up to one request per
        # connection is still waiting for its ack: those are stored but
        # never counted, so stored may exceed the 202s by at most conns.
        if [ "$stored" -lt "$ok" ] || [ "$stored" -gt $((ok + conns)) ]; then
            r_note[$key]="stream holds $stored new events for $ok 202s"
            failed=1
        else
            r_note[$key]="$ok 202s, $stored stored"
        fi
    fi
    ran+=("$key")
}

run_raw() {
    local name=$1 key=$2 before after stored line s0 o0 t0 t1 wall acked

    before=$(stream_msgs)
    s0=$(cpu_ticks "$nats_pid")
    o0=$(sys_ticks)
    t0=$(date +%s.%N)

    TIMEFORMAT='%U %S'
    { time "$jspub" pub -s "$nats_url" -j "$subject" -m "${raw_mode[$name]}" \
        -c "$conns" -d "$duration" -z "$size" -t "$ce_type" \
        >"$tmp/$key.out" 2>&1 ; } 2>"$tmp/$key.time" \
        || { cat "$tmp/$key.out" >&2; die "$name: js-pub failed"; }

    t1=$(date +%s.%N)
    wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
    line=$(grep '^result tool=js-pub' "$tmp/$key.out")
    after=$(stream_msgs)
    stored=$((after - before))
    acked=$(get acked "$line")

    r_eps[$key]=$(get events_per_s "$line")
    r_p50[$key]=$(get p50_ms "$line")
    r_p99[$key]=$(get p99_ms "$line")
    r_max[$key]=$(get max_ms "$line")
    r_bad[$key]=$(( $(get errors "$line") + $(get duplicates "$line") ))
    r_cpu[$key]=$(cpu_cell "$tmp/$key.time" "$wall" -1 \
        $(( $(cpu_ticks "$nats_pid") - s0 )) $(( $(sys_ticks) - o0 )))
    if [ "$stored" != "$acked" ]; then
        r_note[$key]="stream holds $stored new events for $acked acks"
        failed=1
    else
        r_note[$key]="$acked acked, $stored stored"
    fi
    ran+=("$key")
}

# Rounds interleave the scenarios, so that a burst of other load on the
# machine hits all of them alike; the best round of each one counts.
declare -A best
for round in $(seq 1 "$rounds"); do
    for name in "${wrk_names[@]}" "${raw_names[@]}"; do
        wanted "$name" || continue
        key=$name
        [ "$rounds" = 1 ] || key="$name#$round"
        if [ -n "${wrk_what[$name]:-}" ]; then
            echo "bench-ingress: running $key (${wrk_what[$name]})..."
            run_wrk "$name" "$key"
        else
            echo "bench-ingress: running $key (${raw_what[$name]})..."
            run_raw "$name" "$key"
        fi
        if [ -z "${best[$name]:-}" ] \
            || [ "${r_eps[$key]}" -gt "${r_eps[${best[$name]}]}" ]
        then
            best[$name]=$key
        fi
    done
done

# --- report ---------------------------------------------------------------

what() {
    if [ -n "${wrk_what[$1]:-}" ]; then echo "${wrk_what[$1]}"
    else echo "${raw_what[$1]}"; fi
}

row() {
    printf '| %-15s | %-36s | %9s | %7s | %7s | %7s | %6s | %-15s | %s |\n' \
        "$@"
}

echo
row scenario what events/s 'p50 ms' 'p99 ms' 'max ms' errors \
    'cpu% cl/ngx/nats/other' checked
row --------------- ------------------------------------ --------: \
    ------: ------: ------: -----: --------------- -------
for key in "${ran[@]}"; do
    row "$key" "$(what "${key%#*}")" "${r_eps[$key]}" \
        "${r_p50[$key]}" "${r_p99[$key]}" "${r_max[$key]}" \
        "${r_bad[$key]}" "${r_cpu[$key]}" "${r_note[$key]}"
done
echo

# The raw limit is the faster of the js-pub modes that ran.
raw_best=
for name in "${raw_names[@]}"; do
    [ -n "${best[$name]:-}" ] || continue
    if [ -z "$raw_best" ] \
        || [ "${r_eps[${best[$name]}]}" -gt "${r_eps[$raw_best]}" ]
    then
        raw_best=${best[$name]}
    fi
done

for name in "${wrk_names[@]}"; do
    if [ "${wrk_stored[$name]}" != yes ] || [ -z "${best[$name]:-}" ]; then
        continue
    fi
    key=${best[$name]}
    if [ -n "$raw_best" ]; then
        awk -v m="${r_eps[$key]}" -v r="${r_eps[$raw_best]}" -v n="$key" \
            -v rn="$raw_best" -v p99="${r_p99[$key]}" 'BEGIN {
            ratio = r > 0 ? m / r : 0
            printf "ratio %s/raw-JetStream = %.2f  (%d / %d events/s of %s;" \
                   " goal >= 0.6: %s)\n", n, ratio, m, r, rn,
                   (ratio >= 0.6 ? "met" : "NOT met")
            printf "%s p99 = %s ms  (goal < 5 ms: %s)\n", n, p99,
                   (p99 + 0 < 5 ? "met" : "NOT met")
        }'
    fi
    if [ -n "${best[baseline-202]:-}" ]; then
        # wrk and nginx alone well above the module: neither limits it.
        awk -v m="${r_eps[$key]}" -v b="${r_eps[${best[baseline-202]}]}" \
            -v n="$key" 'BEGIN { printf "%s/baseline-202 = %.2f: %s\n", n,
                     (b > 0 ? m / b : 0),
                     (b >= 1.5 * m ? "wrk and nginx alone go much faster," \
                                     " so wrk does not limit the figure" \
                                   : "close to the baseline: wrk or nginx" \
                                     " may be what limits the figure") }'
    fi
done

if [ "$failed" != 0 ]; then
    echo "bench-ingress: some figures are not trustworthy (see 'checked');" \
         "logs in $tmp" >&2
    exit 1
fi
