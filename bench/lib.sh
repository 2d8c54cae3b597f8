# shellcheck shell=bash disable=SC2154
# Shell helpers the benchmarks share; sourced after `cd` to the repository
# and after bench_name (the prefix of every message) and, for stream_msgs,
# jspub, nats_url and stream are set.

die() {
    echo "$bench_name: $*" >&2
    exit 1
}

need() {
    [ -x "$1" ] || die "$1 is missing: $2"
}

port_busy() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Below the kernel's ephemeral range: the clients' own connections, made
# after a port was picked, cannot take it before its server binds it.
free_port() {
    local p lo
    lo=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null \
        || echo 32768)
    [ "$lo" -gt 11024 ] || lo=61000
    for _ in $(seq 1 100); do
        p=$((10000 + RANDOM % (lo - 10000)))
        port_busy "$p" || { echo "$p"; return 0; }
    done
    die "found no free port on 127.0.0.1"
}

# wait_log PID FILE PATTERN WHAT: the process must stay alive until its log
# says it is ready; a port that merely answers may belong to someone else.
wait_log() {
    local pid=$1 file=$2 pattern=$3 what=$4
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || {
            tail -5 "$file" >&2 || true
            die "$what exited while starting (log: $file)"
        }
        grep -q -- "$pattern" "$file" 2>/dev/null && return 0
        sleep 0.1
    done
    tail -5 "$file" >&2 || true
    die "$what did not get ready within 10 s (log: $file)"
}

# get KEY LINE: value of key=value in a result line
get() {
    local kv
    for kv in $2; do
        case $kv in "$1="*) echo "${kv#*=}"; return 0 ;; esac
    done
    echo "?"
}

stream_msgs() {
    local line
    line=$("$jspub" info -s "$nats_url" -S "$stream") \
        || die "cannot read stream $stream back"
    get messages "$line"
}

# utime + stime of one process, in clock ticks; 0 once it is gone.
cpu_ticks() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
    # fields after the ")" that ends the command name: 12th and 13th
    echo "${stat##*) }" | awk '{ print $12 + $13 }'
}

