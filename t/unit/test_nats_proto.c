/*
 * The NATS protocol reader and the publisher's JSON parsers: every frame
 * kind, the same frames whatever the fragmentation (every split point of
 * a few streams, byte by byte, a moving buffer), the limits, garbage,
 * -ERR texts, INFO, status lines and PubAcks.
 */

#include "tap.h"

#include <eventmesh/nats_proto.h>

#include <stdlib.h>


/*
 * A connection's read side as the module has it: bytes are appended to a
 * buffer, complete operations are consumed from its front, and the rest
 * is moved to the start now and then.  Every frame is written into out as
 * one line of text, an error as "ERROR: <message>".
 */
typedef struct {
    char              *buf;
    size_t             size;
    size_t             start;
    size_t             end;
    int                failed;
    int                move;          /* compact after every feed */
    em_nats_reader_t   r;
    em_buf_t           out;
} conn_t;


static void
conn_init(conn_t *c, size_t size, int move)
{
    memset(c, 0, sizeof(*c));
    c->buf = malloc(size);
    c->size = size;
    c->move = move;
    em_nats_reader_init(&c->r);
    em_buf_init(&c->out);
}


static void
conn_free(conn_t *c)
{
    free(c->buf);
    em_buf_free(&c->out);
}


static void
describe(em_buf_t *out, const em_nats_frame_t *f)
{
    static const char  *names[] = {
        "?", "INFO", "MSG", "PING", "PONG", "+OK", "-ERR"
    };

    em_buf_printf(out, "%s", names[f->op]);

    if (f->op == EM_NATS_OP_MSG) {
        em_buf_printf(out, "%s [%.*s] [%.*s] [%.*s] [%.*s] [%.*s]",
                      f->hmsg ? " H" : "",
                      (int) f->subject.len, f->subject.data,
                      (int) f->sid.len, f->sid.data,
                      (int) f->reply.len, f->reply.data,
                      (int) f->headers.len, f->headers.data,
                      (int) f->payload.len, f->payload.data);

    } else {
        em_buf_printf(out, " [%.*s]", (int) f->text.len, f->text.data);
    }

    em_buf_append_str(out, "\n");
}


static void
conn_feed(conn_t *c, const char *p, size_t n)
{
    size_t            used;
    em_nats_rc_t      rc;
    em_nats_frame_t   f;

    if (c->failed) {
        return;
    }

    if (c->end + n > c->size) {
        em_buf_append_str(&c->out, "OVERFLOW\n");
        c->failed = 1;
        return;
    }

    memcpy(c->buf + c->end, p, n);
    c->end += n;

    for ( ;; ) {
        rc = em_nats_read(&c->r, c->buf + c->start, c->end - c->start, &f,
                          &used);

        if (rc == EM_NATS_AGAIN) {
            break;
        }

        if (rc == EM_NATS_EPROTO) {
            em_buf_printf(&c->out, "ERROR: %s\n", c->r.error);
            c->failed = 1;
            return;
        }

        describe(&c->out, &f);
        c->start += used;
    }

    if (c->move && c->start > 0) {
        memmove(c->buf, c->buf + c->start, c->end - c->start);
        c->end -= c->start;
        c->start = 0;
    }
}


/* The frames of s fed whole; the caller frees the result. */
static char *
whole(const char *s, size_t len)
{
    conn_t  c;
    char   *out;

    conn_init(&c, len + 1, 0);
    conn_feed(&c, s, len);
    out = strdup(c.out.data ? c.out.data : "");
    conn_free(&c);

    return out;
}


static char *
split2(const char *s, size_t len, size_t at, int move)
{
    conn_t  c;
    char   *out;

    conn_init(&c, len + 1, move);
    conn_feed(&c, s, at);
    conn_feed(&c, s + at, len - at);
    out = strdup(c.out.data ? c.out.data : "");
    conn_free(&c);

    return out;
}


static char *
bytewise(const char *s, size_t len, int move)
{
    conn_t  c;
    size_t  i;
    char   *out;

    conn_init(&c, len + 1, move);
    for (i = 0; i < len; i++) {
        conn_feed(&c, s + i, 1);
    }
    out = strdup(c.out.data ? c.out.data : "");
    conn_free(&c);

    return out;
}


/* The frames of the string s, fed whole, as text (static, overwritten). */
static char  *frames_last;

static const char *
frames(const char *s)
{
    free(frames_last);
    frames_last = whole(s, strlen(s));
    return frames_last;
}


static void
test_frame_kinds(void)
{
    is_str(frames("INFO {\"server_id\":\"x\",\"headers\":true}\r\n"),
           "INFO [{\"server_id\":\"x\",\"headers\":true}]\n", "INFO");
    is_str(frames("PING\r\n"), "PING []\n", "PING");
    is_str(frames("PONG\r\n"), "PONG []\n", "PONG");
    is_str(frames("+OK\r\n"), "+OK []\n", "+OK");
    is_str(frames("-ERR 'Authorization Violation'\r\n"),
           "-ERR ['Authorization Violation']\n", "-ERR with its text");
    is_str(frames("MSG a.b 1 5\r\nhello\r\n"),
           "MSG [a.b] [1] [] [] [hello]\n", "MSG without reply");
    is_str(frames("MSG a.b 1 r.1 5\r\nhello\r\n"),
           "MSG [a.b] [1] [r.1] [] [hello]\n", "MSG with reply");
    is_str(frames("MSG a.b 1  0\r\n\r\n"),
           "MSG [a.b] [1] [] [] []\n",
           "MSG with an empty payload and a double blank");
    is_str(frames("HMSG _INBOX.x.7 1 12 14\r\nNATS/1.0\r\n\r\nhi\r\n"),
           "MSG H [_INBOX.x.7] [1] [] [NATS/1.0\r\n\r\n] [hi]\n",
           "HMSG without reply");
    is_str(frames("HMSG s 9 rep 16 16\r\nNATS/1.0 503\r\n\r\n\r\n"),
           "MSG H [s] [9] [rep] [NATS/1.0 503\r\n\r\n] []\n",
           "HMSG with reply and no payload");
    is_str(frames("ping\r\npong\r\nmsg s\t1\t2\r\nok\r\nInfo {}\r\n"),
           "PING []\nPONG []\nMSG [s] [1] [] [] [ok]\nINFO [{}]\n",
           "operation names in any case, tabs between arguments");
    is_str(frames("MSG s 1 3\r\na\nb\r\n"),
           "MSG [s] [1] [] [] [a\nb]\n", "a payload may hold CR and LF");
    is_str(frames("PING\r\nPONG\r\n+OK\r\n-ERR 'x'\r\n"),
           "PING []\nPONG []\n+OK []\n-ERR ['x']\n",
           "several operations in one read");
    is_str(frames("-ERR\r\n"), "-ERR []\n", "-ERR without text");
    is_str(frames("PING\r"), "", "incomplete: nothing yet");
    is_str(frames("MSG s 1 5\r\nhel"), "", "incomplete payload: nothing yet");
    is_str(frames("MSG s 1 5\r\nhello\r"), "",
           "payload without its LF: nothing yet");
}


static void
test_splits(void)
{
    static const char  *streams[] = {
        "INFO {\"max_payload\":1048576,\"headers\":true}\r\n"
        "PING\r\n+OK\r\nPONG\r\n"
        "HMSG _INBOX.abc.1 1 12 36\r\nNATS/1.0\r\n\r\n"
        "{\"stream\":\"S\",\"seq\":1}\r\n"
        "MSG x.y 1 reply.to 3\r\n\r\n\n\r\n"
        "-ERR 'Permissions Violation for Publish to \"x\"'\r\n",

        "HMSG _INBOX.abc.2 1 16 16\r\nNATS/1.0 503\r\n\r\n\r\nPONG\r\n",

        "MSG s 1 10\r\n0123456789\r\nNOPE\r\n",
    };
    size_t   i, at, len, bad, badm;
    char    *want, *got, *gotm, *bw;

    for (i = 0; i < sizeof(streams) / sizeof(streams[0]); i++) {
        len = strlen(streams[i]);
        want = whole(streams[i], len);
        bad = 0;
        badm = 0;

        for (at = 0; at <= len; at++) {
            got = split2(streams[i], len, at, 0);
            gotm = split2(streams[i], len, at, 1);

            if (strcmp(got, want) != 0) {
                if (bad++ == 0) {
                    diag("split at %zu:\n%s", at, got);
                }
            }

            if (strcmp(gotm, want) != 0) {
                if (badm++ == 0) {
                    diag("split at %zu, buffer moved:\n%s", at, gotm);
                }
            }

            free(got);
            free(gotm);
        }

        ok(bad == 0, "stream %zu: the same frames at each of %zu split "
           "points", i, len + 1);
        ok(badm == 0, "stream %zu: the same with the buffer moved between "
           "reads", i);

        bw = bytewise(streams[i], len, 0);
        is_str(bw, want, "stream %zu: byte by byte", i);
        free(bw);

        bw = bytewise(streams[i], len, 1);
        is_str(bw, want, "stream %zu: byte by byte, buffer moved", i);
        free(bw);

        free(want);
    }

    /* three pieces, every pair of cut points */
    {
        const char  *s = "HMSG a 1 r 12 15\r\nNATS/1.0\r\n\r\nabc\r\nPING\r\n";
        size_t       a, b;
        conn_t       c;

        len = strlen(s);
        want = whole(s, len);
        bad = 0;

        for (a = 0; a <= len; a++) {
            for (b = a; b <= len; b++) {
                conn_init(&c, len + 1, (a + b) & 1);
                conn_feed(&c, s, a);
                conn_feed(&c, s + a, b - a);
                conn_feed(&c, s + b, len - b);

                if (strcmp(c.out.data ? c.out.data : "", want) != 0) {
                    bad++;
                }

                conn_free(&c);
            }
        }

        ok(bad == 0, "three pieces: the same frames for each of %zu cut "
           "pairs", (len + 1) * (len + 2) / 2);
        free(want);
    }
}


static void
test_limits(void)
{
    conn_t  c;
    char   *line;
    size_t  n;

    /* no end of line within the limit */
    n = EM_NATS_MAX_SERVER_LINE + 2;
    line = malloc(n + 1);
    memset(line, 'A', n);
    memcpy(line, "INFO ", 5);

    conn_init(&c, n + 16, 0);
    conn_feed(&c, line, EM_NATS_MAX_SERVER_LINE + 1);
    is_str(c.out.data, NULL, "a line of the limit and its CR: still waiting");
    conn_feed(&c, line, 1);
    ok(c.out.data != NULL
       && strncmp(c.out.data, "ERROR: no end of line in 65538 bytes "
                  "starting with \"INFO AAAA", 60) == 0,
       "one byte more without LF: no end of line");
    ok(c.out.data != NULL && strlen(c.out.data) < 250
       && strstr(c.out.data, "AAA...\"") != NULL,
       "the quoted line is cut");
    conn_free(&c);

    free(line);

    /* a line of exactly the limit, and one byte more, each in one read */
    n = EM_NATS_MAX_SERVER_LINE + 3;
    line = malloc(n);
    memset(line, 'A', n);
    memcpy(line, "INFO ", 5);
    memcpy(line + n - 3, "\r\n", 2);

    conn_init(&c, n + 16, 0);
    conn_feed(&c, line, n - 1);
    ok(c.out.data != NULL && strncmp(c.out.data, "INFO [AAAA", 10) == 0,
       "a line of exactly the limit is read");
    conn_free(&c);

    memcpy(line + n - 3, "A\r\n", 3);
    conn_init(&c, n + 16, 0);
    conn_feed(&c, line, n);
    ok(c.out.data != NULL
       && strncmp(c.out.data, "ERROR: a line of 65537 bytes starting with "
                  "\"INFO AAA", 52) == 0
       && strstr(c.out.data, "is over the limit") != NULL,
       "one byte longer, with its CRLF in the same read: over the limit");
    conn_free(&c);
    free(line);

    /* a configured line limit */
    conn_init(&c, 64, 0);
    c.r.max_line = 8;
    conn_feed(&c, "PING\r\n-ERR 'x'\r\n-ERR 'xy'\r\n", 27);
    is_str(c.out.data, "PING []\n-ERR ['x']\nERROR: a line of 9 bytes "
           "starting with \"-ERR 'xy'\" is over the limit\n", "max_line 8");
    conn_free(&c);

    /* payload limits */
    conn_init(&c, 64, 0);
    c.r.max_payload = 5;
    conn_feed(&c, "MSG s 1 5\r\nhello\r\nMSG s 1 6\r\n", 29);
    is_str(c.out.data, "MSG [s] [1] [] [] [hello]\n"
           "ERROR: message of 6 bytes exceeds max_payload 5\n",
           "max_payload 5: 5 bytes pass, 6 do not, before they arrive");
    conn_free(&c);

    is_str(frames("MSG s 1 1048577\r\n"),
           "ERROR: message of 1048577 bytes exceeds max_payload 1048576\n",
           "the default max_payload is 1 MiB");
    is_str(frames("HMSG s 1 2 1048577\r\n"),
           "ERROR: message of 1048577 bytes exceeds max_payload 1048576\n",
           "HMSG: the total counts");

    {
        em_nats_reader_t  r;

        em_nats_reader_init(&r);
        is_long((long) em_nats_reader_max_op(&r),
                (long) (EM_NATS_MAX_SERVER_LINE + EM_NATS_DEFAULT_PAYLOAD
                        + 4),
                "max_op: a line, a payload and two CRLFs");
        r.max_payload = 10;
        r.max_line = 20;
        is_long((long) em_nats_reader_max_op(&r), 34, "max_op follows "
                "the limits");
    }
}


static void
test_garbage(void)
{
    is_str(frames("NOPE 1 2\r\n"), "ERROR: unexpected \"NOPE 1 2\"\n",
           "an unknown operation");
    is_str(frames("PING\n"),
           "ERROR: line \"PING\" does not end with CRLF\n", "LF alone");
    is_str(frames("\n"), "ERROR: line \"\" does not end with CRLF\n",
           "an empty LF line");
    is_str(frames("\r\n"), "ERROR: unexpected \"\"\n", "an empty line");
    is_str(frames("PING x\r\n"), "ERROR: unexpected \"PING x\"\n",
           "PING with an argument");
    is_str(frames("+ok\r\n"), "ERROR: unexpected \"+ok\"\n",
           "+OK is exact");
    is_str(frames("MSG a\r\n"), "ERROR: invalid MSG arguments \"a\"\n",
           "MSG with too few arguments");
    is_str(frames("MSG a 1 b c 2\r\n"),
           "ERROR: invalid MSG arguments \"a 1 b c 2\"\n",
           "MSG with too many arguments");
    is_str(frames("MSG a 1 x\r\n"), "ERROR: invalid MSG arguments \"a 1 x\"\n",
           "MSG with a size that is not a number");
    is_str(frames("MSG a 1 -1\r\n"),
           "ERROR: invalid MSG arguments \"a 1 -1\"\n", "a negative size");
    is_str(frames("MSG a 1 +1\r\n"),
           "ERROR: invalid MSG arguments \"a 1 +1\"\n", "a signed size");
    is_str(frames("MSG a 1 99999999999999999999999\r\n"),
           "ERROR: invalid MSG arguments \"a 1 99999999999999999999999\"\n",
           "a size that overflows");
    is_str(frames("HMSG a 1 5 3\r\n"),
           "ERROR: invalid HMSG arguments \"a 1 5 3\"\n",
           "HMSG: headers longer than the total");
    is_str(frames("HMSG a 1 5\r\n"),
           "ERROR: invalid HMSG arguments \"a 1 5\"\n", "HMSG: one size");
    is_str(frames("MSG _INBOX.x.1 1 3\r\nabcXY\r\n"),
           "ERROR: message payload of \"_INBOX.x.1\" is not followed by "
           "CRLF\n", "a payload that overruns its size");
    is_str(frames("INF\x01\x7f\xff\r\n"),
           "ERROR: unexpected \"INF???\"\n", "control bytes are masked");
    is_str(frames("PING\r\nGARBAGE\r\nPONG\r\n"),
           "PING []\nERROR: unexpected \"GARBAGE\"\n",
           "frames before the garbage are delivered, none after");
}


static void
test_err_texts(void)
{
    is_str(frames("-ERR 'Authorization Violation'\r\n"),
           "-ERR ['Authorization Violation']\n", "Authorization Violation");
    is_str(frames("-ERR 'Permissions Violation for Publish to \"em.x\"'\r\n"),
           "-ERR ['Permissions Violation for Publish to \"em.x\"']\n",
           "Permissions Violation keeps its quotes");
    is_str(frames("-err  'Stale Connection'\r\n"),
           "-ERR ['Stale Connection']\n", "lower case, two blanks");
    is_str(frames("-ERR 'Maximum Payload Violation'\r\nPING\r\n"),
           "-ERR ['Maximum Payload Violation']\nPING []\n",
           "the reader goes on after -ERR; the owner decides");
}


static void
test_info(void)
{
    em_nats_info_t  info;
    char            err[EM_NATS_ERROR_SIZE];
    const char     *s;

    s = "{\"server_id\":\"N\",\"version\":\"2.9.10\",\"headers\":true,"
        "\"max_payload\":2097152,\"tls_required\":true,"
        "\"tls_available\":true,\"auth_required\":true}";
    is_long(em_nats_info_parse(s, strlen(s), &info, err, sizeof(err)),
            EM_OK, "INFO: parsed");
    is_long((long) info.max_payload, 2097152, "INFO: max_payload");
    ok(info.headers && info.tls_required && info.tls_available
       && info.auth_required && !info.ldm, "INFO: flags");
    is_str(info.version, "2.9.10", "INFO: version");

    s = "{\"ldm\":true}";
    is_long(em_nats_info_parse(s, strlen(s), &info, err, sizeof(err)),
            EM_OK, "INFO: minimal");
    ok(info.max_payload == 0 && info.ldm && !info.headers
       && info.version[0] == '\0', "INFO: absent means 0 and empty");

    s = "{\"max_payload\":\"big\",\"headers\":1}";
    is_long(em_nats_info_parse(s, strlen(s), &info, err, sizeof(err)),
            EM_OK, "INFO: a max_payload that is not an integer is ignored");
    ok(info.max_payload == 0 && !info.headers, "INFO: only true is true");

    s = "{\"max_payload\":999999999999}";
    em_nats_info_parse(s, strlen(s), &info, err, sizeof(err));
    is_long((long) info.max_payload, EM_NATS_MAX_PAYLOAD,
            "INFO: max_payload is cut to the protocol's ceiling");

    s = "{\"max_payload\":0}";
    is_long(em_nats_info_parse(s, strlen(s), &info, err, sizeof(err)),
            EM_EINVALID, "INFO: max_payload 0 is refused");
    is_str(err, "INFO has max_payload 0", "INFO: says why");

    s = "{\"max_payload\":-5}";
    em_nats_info_parse(s, strlen(s), &info, err, sizeof(err));
    is_str(err, "INFO has max_payload -5", "INFO: a negative max_payload");

    s = "[1,2]";
    is_long(em_nats_info_parse(s, strlen(s), &info, err, sizeof(err)),
            EM_EINVALID, "INFO: an array is refused");
    is_str(err, "INFO is not a JSON object: not an object", "INFO: why");

    s = "{\"server_id\":";
    is_long(em_nats_info_parse(s, strlen(s), &info, err, sizeof(err)),
            EM_EINVALID, "INFO: broken JSON is refused");
    ok(strncmp(err, "INFO is not a JSON object: ", 27) == 0 && err[27],
       "INFO: with jansson's reason");

    s = "{\"version\":\"2.9\\n\\u00e9xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}";
    em_nats_info_parse(s, strlen(s), &info, err, sizeof(err));
    is_str(info.version, "2.9???xxxxxxxxxxxxxxxxxxxxxx...",
           "INFO: the version is printable and cut");
}


static void
test_status(void)
{
    unsigned        st;
    em_nats_span_t  text;
    const char     *s;
    char            t[64];

#define STATUS(str)  em_nats_status_parse(str, sizeof(str) - 1, &st, &text)
#define TEXT()       (snprintf(t, sizeof(t), "%.*s", (int) text.len, \
                               text.data ? text.data : ""), t)

    is_long(STATUS("NATS/1.0\r\n\r\n"), EM_OK, "status: none");
    ok(st == 0 && text.len == 0, "status: 0, no text");

    is_long(STATUS("NATS/1.0\r\nNats-Msg-Id: x\r\n\r\n"), EM_OK,
            "status: none, with headers");

    is_long(STATUS("NATS/1.0 503\r\n\r\n"), EM_OK, "status: 503");
    ok(st == 503, "status: 503 read");
    is_str(TEXT(), "NATS error status", "status: a default text");

    is_long(STATUS("NATS/1.0 408 Request Timeout\r\n\r\n"), EM_OK,
            "status: 408 with text");
    ok(st == 408, "status: 408 read");
    is_str(TEXT(), "Request Timeout", "status: its text");

    is_long(STATUS("NATS/1.0  404   No Messages\r\n"), EM_OK,
            "status: extra blanks");
    is_str(TEXT(), "No Messages", "status: text without blanks");

    is_long(STATUS("NATS/2.0 503\r\n"), EM_EINVALID, "status: version");
    is_long(STATUS("NATS/1.0 5x3\r\n"), EM_EINVALID, "status: not digits");
    is_long(STATUS("NATS/1.0 099\r\n"), EM_EINVALID, "status: leading 0");
    is_long(STATUS("NATS/1.0 5030\r\n"), EM_EINVALID, "status: four digits");
    is_long(STATUS("NATS/1.0 50\r\n"), EM_EINVALID, "status: two digits");
    is_long(STATUS("NATS/1.0 503"), EM_EINVALID, "status: no CRLF");
    is_long(STATUS("NATS/1.0 503\r"), EM_EINVALID, "status: CR alone");
    is_long(STATUS("NATS/1.0\rX\n"), EM_EINVALID, "status: CR then junk");
    is_long(STATUS("NAT"), EM_EINVALID, "status: short");

    s = "";
    is_long(em_nats_status_parse(s, 0, &st, &text), EM_EINVALID,
            "status: empty");

#undef STATUS
#undef TEXT
}


static void
test_puback(void)
{
    em_nats_puback_t  a;
    const char       *s;

#define PARSE(str)  em_nats_puback_parse(str, sizeof(str) - 1, &a)

    is_long(PARSE("{\"stream\":\"EM_default_default\",\"seq\":42}"),
            EM_NATS_PUBACK_STORED, "PubAck: stored");
    ok(a.stream.len == 18 && memcmp(a.stream.data, "EM_default_default", 18)
       == 0 && a.seq == 42 && !a.duplicate, "PubAck: stream, seq");
    em_nats_puback_free(&a);

    is_long(PARSE("{\"stream\":\"S\",\"seq\":7,\"duplicate\":true,"
                  "\"domain\":\"d\"}"),
            EM_NATS_PUBACK_STORED, "PubAck: duplicate");
    ok(a.duplicate && a.seq == 7, "PubAck: duplicate flag");
    em_nats_puback_free(&a);

    is_long(PARSE("{\"stream\":\"S\",\"seq\":0,\"duplicate\":\"yes\"}"),
            EM_NATS_PUBACK_STORED, "PubAck: seq 0");
    ok(!a.duplicate, "PubAck: duplicate only when true");
    em_nats_puback_free(&a);

    is_long(PARSE("{\"stream\":\"S\\u0000T\",\"seq\":1}"),
            EM_NATS_PUBACK_MALFORMED, "PubAck: a NUL in the stream name");
    em_nats_puback_free(&a);

    is_long(PARSE("{\"error\":{\"code\":503,\"err_code\":10077,"
                  "\"description\":\"maximum messages exceeded\"},"
                  "\"stream\":\"S\",\"seq\":0}"),
            EM_NATS_PUBACK_API_ERROR, "API error");
    ok(a.code == 503 && a.err_code == 10077
       && a.description.len == 25
       && memcmp(a.description.data, "maximum messages exceeded", 25) == 0,
       "API error: code, err_code, description");
    em_nats_puback_free(&a);

    is_long(PARSE("{\"error\":{\"code\":400}}"), EM_NATS_PUBACK_API_ERROR,
            "API error without description");
    ok(a.code == 400 && a.err_code == 0 && a.description.len == 19
       && memcmp(a.description.data, "JetStream API error", 19) == 0,
       "API error: a default description");
    em_nats_puback_free(&a);

    is_long(PARSE("{\"error\":{\"code\":-1,\"err_code\":\"x\","
                  "\"description\":7}}"),
            EM_NATS_PUBACK_API_ERROR, "API error with bad members");
    ok(a.code == 0 && a.err_code == 0, "API error: bad codes are 0");
    em_nats_puback_free(&a);

    is_long(PARSE("{\"error\":\"boom\"}"), EM_NATS_PUBACK_MALFORMED,
            "an error that is not an object");
    em_nats_puback_free(&a);

    is_long(PARSE("nope"), EM_NATS_PUBACK_MALFORMED, "garbage");
    ok(a.code == 0 && a.description.len == 26, "garbage: code 0, a text");
    em_nats_puback_free(&a);

    is_long(PARSE(""), EM_NATS_PUBACK_MALFORMED, "empty");
    em_nats_puback_free(&a);
    is_long(PARSE("[]"), EM_NATS_PUBACK_MALFORMED, "an array");
    em_nats_puback_free(&a);
    is_long(PARSE("{\"stream\":\"S\"}"), EM_NATS_PUBACK_MALFORMED, "no seq");
    em_nats_puback_free(&a);
    is_long(PARSE("{\"seq\":1}"), EM_NATS_PUBACK_MALFORMED, "no stream");
    em_nats_puback_free(&a);
    is_long(PARSE("{\"stream\":1,\"seq\":1}"), EM_NATS_PUBACK_MALFORMED,
            "a stream that is not a string");
    em_nats_puback_free(&a);
    is_long(PARSE("{\"stream\":\"S\",\"seq\":-1}"), EM_NATS_PUBACK_MALFORMED,
            "a negative seq");
    em_nats_puback_free(&a);
    is_long(PARSE("{\"stream\":\"S\",\"seq\":1.5}"), EM_NATS_PUBACK_MALFORMED,
            "a fractional seq");
    em_nats_puback_free(&a);
    is_long(PARSE("{\"stream\":\"S\",\"seq\":1} x"), EM_NATS_PUBACK_MALFORMED,
            "trailing bytes");
    em_nats_puback_free(&a);

    s = "{\"stream\":\"S\",\"seq\":1}";
    is_long(em_nats_puback_parse(s, 10, &a), EM_NATS_PUBACK_MALFORMED,
            "the length is honoured");
    em_nats_puback_free(&a);
    em_nats_puback_free(&a);
    ok(a.doc == NULL, "free twice is harmless");

#undef PARSE
}


static void
test_printable(void)
{
    char  b[16];

    is_str(em_nats_printable(b, sizeof(b), "abc", 3, 10), "abc",
           "printable: short");
    is_str(em_nats_printable(b, sizeof(b), "abcdefghijklmnop", 16, 5),
           "abcde...", "printable: cut at max");
    is_str(em_nats_printable(b, sizeof(b), "abcdefghijklmnop", 16, 100),
           "abcdefghijkl...", "printable: cut at the buffer");
    is_str(em_nats_printable(b, sizeof(b), "a\r\n\tb", 5, 10), "a???b",
           "printable: controls masked");
}


static void
test_reset(void)
{
    conn_t  c;

    conn_init(&c, 64, 0);
    conn_feed(&c, "MSG s 1 5\r\nhe", 13);
    em_nats_reader_reset(&c.r);
    c.start = 0;
    c.end = 0;
    conn_feed(&c, "PONG\r\n", 6);
    is_str(c.out.data, "PONG []\n", "reset: a new connection starts clean");
    conn_free(&c);
}


int
main(void)
{
    test_frame_kinds();
    test_splits();
    test_limits();
    test_garbage();
    test_err_texts();
    test_info();
    test_status();
    test_puback();
    test_printable();
    test_reset();

    free(frames_last);

    return tap_done();
}
