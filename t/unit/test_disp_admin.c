/*
 * Unit tests: the admin server's request parser and response writer
 * (admin_http.c) and the Prometheus exposition (metrics.c).
 */

#include "admin.h"
#include "metrics.h"

#include "tap.h"

#include <stdlib.h>


static int
parse(const char *s, em_admin_req_t *req, const char **why)
{
    return em_admin_parse(s, strlen(s), req, why);
}


static void
test_parse_ok(void)
{
    em_admin_req_t   req;
    const char      *why, *s;
    int              rc;

    s = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
    rc = parse(s, &req, &why);
    is_long(rc, (long) strlen(s), "GET: the whole head consumed");
    is_str(req.path, "/metrics", "path");
    ok(req.method == EM_ADMIN_GET && req.http11 && req.keep_alive,
       "GET, HTTP/1.1, keep-alive by default");

    s = "HEAD /triggers?pretty=1 HTTP/1.1\r\nHost: x\r\n"
        "Connection: Close\r\n\r\nGET / HTTP/1.1\r\n";
    rc = parse(s, &req, &why);
    is_long(rc, (long) (strstr(s, "GET") - s), "only the first head");
    is_str(req.path, "/triggers", "the query is not part of the path");
    ok(req.method == EM_ADMIN_HEAD && !req.keep_alive,
       "HEAD; Connection: close (any case)");

    rc = parse("GET /healthz HTTP/1.0\r\n\r\n", &req, &why);
    ok(rc > 0 && !req.http11 && !req.keep_alive,
       "HTTP/1.0 needs no Host, closes by default");

    rc = parse("GET /healthz HTTP/1.0\r\nConnection: x, keep-alive\r\n\r\n",
               &req, &why);
    ok(rc > 0 && req.keep_alive, "HTTP/1.0 keep-alive token");

    rc = parse("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
               "X-Empty:\r\nX-Tab:\tv\t\r\n\r\n", &req, &why);
    ok(rc > 0, "Content-Length: 0, empty and tabbed values");

    is_long(parse("GET /metrics HTTP/1.1\r\nHost: x\r\n", &req, &why), 0,
            "incomplete head: 0");
    is_long(parse("GET /met", &req, &why), 0, "incomplete line: 0");
    is_long(parse("", &req, &why), 0, "nothing yet: 0");
}


static void
refused(const char *s, int status, const char *name)
{
    em_admin_req_t   req;
    const char      *why;
    int              rc;

    why = NULL;
    rc = parse(s, &req, &why);
    is_long(rc, -status, "%s: %d", name, status);
    ok(why != NULL && why[0] != '\0', "%s: says why (%s)", name,
       why ? why : "NULL");
}


static void
test_parse_refused(void)
{
    char  *big;
    size_t i;

    refused("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n",
            405, "POST with a body");
    refused("DELETE / HTTP/1.1\r\nHost: x\r\n\r\n", 405, "DELETE");
    refused("GET /healthz HTTP/1.1\r\n\r\n", 400, "HTTP/1.1 without Host");
    refused("GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400,
            "two Hosts");
    refused("GET /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n", 400,
            "GET with a body");
    refused("GET /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
            400, "chunked");
    refused("GET /x HTTP/2.0\r\nHost: x\r\n\r\n", 505, "HTTP/2.0");
    refused("GET /x HTTP/1.1 \r\nHost: x\r\n\r\n", 400, "trailing space");
    refused("GET /x HTTQ/1.1\r\nHost: x\r\n\r\n", 400, "bad protocol");
    refused("GET http://h/x HTTP/1.1\r\nHost: x\r\n\r\n", 400,
            "absolute-form target");
    refused("GET /a\x01b HTTP/1.1\r\nHost: x\r\n\r\n", 400,
            "control byte in the target");
    refused("GET /\xc3\xa4 HTTP/1.1\r\nHost: x\r\n\r\n", 400,
            "raw UTF-8 in the target");
    refused("GET  /x HTTP/1.1\r\nHost: x\r\n\r\n", 400, "double space");
    refused("GET /x HTTP/1.1\nHost: x\n\n", 400, "bare LF");
    refused("GET /x HTTP/1.1\r\nHost x\r\n\r\n", 400, "header without colon");
    refused("GET /x HTTP/1.1\r\n Host: x\r\n\r\n", 400, "folded header");
    refused("GET /x HTTP/1.1\r\nHost: x\r\nX: a\x7f\r\n\r\n", 400,
            "DEL in a value");
    refused("GET /x HTTP/1.1\r\nX y: 1\r\nHost: x\r\n\r\n", 400,
            "space in a name");

    big = malloc(EM_ADMIN_TARGET_MAX + 64);
    strcpy(big, "GET /");
    for (i = 5; i < EM_ADMIN_TARGET_MAX + 10; i++) {
        big[i] = 'a';
    }
    strcpy(big + i, " HTTP/1.1\r\nHost: x\r\n\r\n");
    refused(big, 414, "target too long");
    free(big);

    big = malloc(EM_ADMIN_HEAD_MAX);
    strcpy(big, "GET / HTTP/1.1\r\nHost: x\r\n");
    for (i = 0; i < EM_ADMIN_HEADERS_MAX; i++) {
        strcat(big, "X-A: b\r\n");
    }
    strcat(big, "\r\n");
    refused(big, 431, "too many headers");
    free(big);
}


static void
test_pct(void)
{
    char    s[32];
    size_t  n;

    strcpy(s, "my%20app%2Fx");
    n = strlen(s);
    ok(em_admin_pct_decode(s, &n) == 0 && n == 8
       && memcmp(s, "my app/x", 8) == 0, "percent-decoding");

    strcpy(s, "a%2");
    n = strlen(s);
    ok(em_admin_pct_decode(s, &n) == -1, "cut escape refused");

    strcpy(s, "a%zz");
    n = strlen(s);
    ok(em_admin_pct_decode(s, &n) == -1, "bad hex refused");

    strcpy(s, "a%00b");
    n = strlen(s);
    ok(em_admin_pct_decode(s, &n) == -1, "%%00 refused");
}


static void
test_response(void)
{
    em_admin_answer_t  ans;
    em_buf_t           out;

    memset(&ans, 0, sizeof(ans));
    em_buf_init(&ans.body);
    em_buf_init(&out);
    ans.status = 405;
    ans.allow = "GET, HEAD";
    em_buf_append_str(&ans.body, "no\n");

    ok(em_admin_write_response(&out, &ans, 0, 0) == EM_OK, "written");
    is_str(out.data, "HTTP/1.1 405 Method Not Allowed\r\n"
           "Content-Type: text/plain; charset=utf-8\r\n"
           "Content-Length: 3\r\n"
           "Cache-Control: no-store\r\n"
           "Allow: GET, HEAD\r\n"
           "Connection: close\r\n"
           "\r\nno\n", "status line, headers, body");

    em_buf_reset(&out);
    ans.status = 200;
    ans.allow = NULL;
    ok(em_admin_write_response(&out, &ans, 1, 1) == EM_OK
       && strstr(out.data, "Content-Length: 3\r\n") != NULL
       && strstr(out.data, "Connection: keep-alive\r\n\r\n") != NULL
       && strstr(out.data, "no\n") == NULL,
       "HEAD: the length, no body");

    em_buf_free(&out);
    em_buf_free(&ans.body);
}


static void
test_metrics(void)
{
    em_metrics_t   m;
    em_stats_t    *a, *b, *a2;
    em_buf_t       out;

    em_metrics_init(&m);
    em_buf_init(&out);

    b = em_metrics_acquire(&m, "ns", "zeta");
    a = em_metrics_acquire(&m, "ns", "al\"p\\h\na");
    a2 = em_metrics_acquire(&m, "ns", "al\"p\\h\na");
    ok(a == a2 && a->refs == 2, "one series per trigger, shared");

    a->delivered = 3;
    em_metrics_observe(a, 0.003);
    em_metrics_observe(a, 0.2);
    em_metrics_observe(a, 60);
    b->pending_known = 1;
    b->pending = 7;

    ok(em_metrics_render(&m, 1, 2, 1, &out) == EM_OK, "rendered");

    ok(strstr(out.data, "# TYPE em_events_delivered_total counter\n") != NULL,
       "TYPE line");
    ok(strstr(out.data, "em_events_delivered_total{namespace=\"ns\","
              "trigger=\"al\\\"p\\\\h\\na\"} 3\n") != NULL,
       "label values escaped (quote, backslash, newline)");
    ok(strstr(out.data, "le=\"0.005\"} 1\n") != NULL
       && strstr(out.data, "le=\"0.25\"} 2\n") != NULL
       && strstr(out.data, "le=\"10\"} 2\n") != NULL
       && strstr(out.data, "le=\"+Inf\"} 3\n") != NULL,
       "histogram buckets are cumulative");
    ok(strstr(out.data, "em_delivery_duration_seconds_sum{namespace=\"ns\","
              "trigger=\"al\\\"p\\\\h\\na\"} 60.203000\n") != NULL, "sum");
    ok(strstr(out.data, "em_consumer_pending{namespace=\"ns\","
              "trigger=\"zeta\"} 7\n") != NULL
       && strstr(out.data, "em_consumer_pending{namespace=\"ns\","
                 "trigger=\"al") == NULL,
       "lag only where known");
    ok(strstr(out.data, "em_nats_connected 1\n") != NULL
       && strstr(out.data, "em_triggers 2\n") != NULL
       && strstr(out.data, "em_triggers_ready 1\n") != NULL,
       "process gauges");
    ok(strstr(out.data, "trigger=\"al") < strstr(out.data, "trigger=\"zeta"),
       "series sorted by name");

    em_metrics_release(&m, a);
    em_metrics_release(&m, a2);
    em_buf_reset(&out);
    ok(em_metrics_render(&m, 0, 1, 0, &out) == EM_OK
       && strstr(out.data, "trigger=\"al") == NULL,
       "a released series is gone");

    em_metrics_release(&m, b);
    ok(m.head == NULL, "all released");

    em_buf_free(&out);
    em_metrics_free(&m);
}


int
main(void)
{
    test_parse_ok();
    test_parse_refused();
    test_pct();
    test_response();
    test_metrics();

    return tap_done();
}
