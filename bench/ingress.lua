-- wrk script of the ingress benchmark (bench/ingress.sh).
--
--   wrk -t2 -c50 -d10s -s bench/ingress.lua URL -- [SHAPE] [SIZE] [count]
--
-- SHAPE is how an event travels ("binary": CloudEvents binary mode, the
-- default), SIZE the body in bytes (1024), and "count" makes every response
-- go through response() so that 2xx answers are counted exactly; without it
-- the non-2xx figure is wrk's own count of statuses above 399, which costs
-- nothing.  done() prints one "result tool=wrk key=value ..." line.
--
-- Each request must carry its own ce-id (JetStream de-duplicates on it, so
-- a repeated id would flatter the figure), yet building a request per call
-- with wrk.format capped wrk near 60-74k req/s on two cores.  So the whole
-- request text is built once in init(), split around the id, and request()
-- only joins prefix .. id .. suffix.

-- Globals, not locals: done() runs in wrk's setup environment, which
-- never sees init(), and reads them from a thread with thread:get().
bench_shape = "binary"
bench_size = 1024
bench_counting = false

local prefix, suffix
local counter
local tag

-- {"pad":"xxx...x"} of exactly n bytes, as js-pub's body.
local function json_body(n)
    return '{"pad":"' .. string.rep("x", n - 10) .. '"}'
end

local function host_header()
    if wrk.port ~= nil and wrk.port ~= "" then
        return wrk.host .. ":" .. wrk.port
    end
    return wrk.host
end

-- shapes[name](path, body, id_len) returns the request text before and
-- after the event id.  The id always has id_len characters, so a shape that
-- puts it in the body (the legacy /{app}/v1/events JSON, say) can still
-- state Content-Length once.
local shapes = {}

-- CloudEvents binary mode: attributes in ce-* headers, data as the body.
shapes.binary = function(path, body, id_len)
    return "POST " .. path .. " HTTP/1.1\r\n"
        .. "Host: " .. host_header() .. "\r\n"
        .. "ce-specversion: 1.0\r\n"
        .. "ce-source: /bench/wrk\r\n"
        .. "ce-type: com.example.bench.v1\r\n"
        .. "Content-Type: application/json\r\n"
        .. "Content-Length: " .. #body .. "\r\n"
        .. "ce-id: ",
        "\r\n\r\n" .. body
end

-- Kyma's legacy JSON event (POST /{app}/v1/events): no event-id, so the
-- ingress makes a UUIDv4 for each; the unique tag goes into the data.
shapes.legacy = function(path, body, id_len)
    local head = '{"event-type":"com.example.bench","event-type-version":"v1",'
        .. '"event-time":"2024-01-01T10:00:00Z","data":{"tag":"'
    local tail = '","payload":' .. body .. '}}'
    return "POST " .. path .. " HTTP/1.1\r\n"
        .. "Host: " .. host_header() .. "\r\n"
        .. "Content-Type: application/json\r\n"
        .. "Content-Length: " .. (#head + id_len + #tail) .. "\r\n"
        .. "\r\n" .. head,
        tail
end

n2xx = 0
nother = 0

local function count_response(status, headers, body)
    if status >= 200 and status < 300 then
        n2xx = n2xx + 1
    else
        nother = nother + 1
    end
end

function init(args)
    if args[1] ~= nil and args[1] ~= "" then
        bench_shape = args[1]
    end
    if args[2] ~= nil and args[2] ~= "" then
        bench_size = tonumber(args[2])
    end
    bench_counting = (args[3] == "count")

    local shape = shapes[bench_shape]
    if shape == nil then
        error("ingress.lua: unknown shape \"" .. bench_shape .. "\"")
    end
    if bench_size == nil or bench_size < 10 then
        error("ingress.lua: SIZE must be a number of bytes, at least 10")
    end

    -- wrk-<run>-<thread>-<counter>: the run tag keeps ids unique across
    -- runs within JetStream's duplicate window, the thread id across
    -- threads.  The counter starts at 10^9 so that it always has ten
    -- digits and the id a fixed length without string.format per request.
    tag = (os.getenv("BENCH_TAG") or tostring(os.time())) .. "-"
        .. tostring(tid or 0) .. "-"
    counter = 1000000000

    prefix, suffix = shape(wrk.path, json_body(bench_size), #tag + 10)
    prefix = prefix .. tag

    if bench_counting then
        response = count_response
    end
end

function request()
    counter = counter + 1
    return prefix .. counter .. suffix
end

local threads = {}

function setup(thread)
    thread:set("tid", #threads + 1)
    table.insert(threads, thread)
end

function done(summary, latency, requests)
    local secs = summary.duration / 1e6
    local e = summary.errors
    local non2xx, ok, from
    local first = threads[1]
    local shape = first and first:get("bench_shape") or bench_shape
    local size = first and first:get("bench_size") or bench_size
    local counting = first and first:get("bench_counting")

    if counting then
        ok, non2xx = 0, 0
        for _, t in ipairs(threads) do
            ok = ok + (t:get("n2xx") or 0)
            non2xx = non2xx + (t:get("nother") or 0)
        end
        from = "response"
    else
        non2xx = e.status
        ok = summary.requests - e.status
        from = "status"
    end

    io.write(string.format(
        "result tool=wrk shape=%s size=%d requests=%d ok=%d non2xx=%d "
        .. "ok_from=%s errors_connect=%d errors_read=%d errors_write=%d "
        .. "errors_timeout=%d seconds=%.3f events_per_s=%.0f "
        .. "p50_ms=%.3f p99_ms=%.3f max_ms=%.3f\n",
        shape, size, summary.requests, ok, non2xx, from,
        e.connect, e.read, e.write, e.timeout, secs,
        secs > 0 and ok / secs or 0,
        latency:percentile(50) / 1000, latency:percentile(99) / 1000,
        latency.max / 1000))
end
