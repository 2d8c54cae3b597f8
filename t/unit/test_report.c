/*
 * Buffers, the event model and the validation report (truncation on a
 * UTF-8 boundary, escaping, JSON shape).
 */

#include "tap.h"

#include <eventmesh/event.h>
#include <eventmesh/report.h>

#include <jansson.h>
#include <stdlib.h>


static void
test_buf(void)
{
    em_buf_t  b;
    size_t    i;

    em_buf_init(&b);
    ok(em_buf_append(&b, "ab", 2) == EM_OK && b.len == 2
       && strcmp(b.data, "ab") == 0, "append");
    ok(em_buf_printf(&b, "-%d-%s", 42, "x") == EM_OK
       && strcmp(b.data, "ab-42-x") == 0, "printf appends");

    for (i = 0; i < 1000; i++) {
        em_buf_append_str(&b, "0123456789");
    }
    ok(b.len == 10007 && b.data[b.len] == '\0', "grows and stays "
       "NUL-terminated");

    em_buf_reset(&b);
    ok(b.len == 0 && b.data[0] == '\0', "reset empties");
    em_buf_free(&b);
    ok(b.data == NULL && b.len == 0, "free");

    ok(em_buf_reserve(&b, (size_t) -1) == EM_ERROR, "absurd reserve fails");
    em_buf_free(&b);
}


static void
test_event(void)
{
    em_event_t  *ev;

    ev = em_event_new();
    em_event_set(ev, "id", "1", 1, EM_TYPE_STRING);
    em_event_set(ev, "n", "5", 1, EM_TYPE_INTEGER);
    em_event_set(ev, "id", "22", 2, EM_TYPE_STRING);
    ok(ev->nattrs == 2 && strcmp(em_event_get(ev, "id"), "22") == 0,
       "set replaces in place");
    ok(em_event_remove(ev, "id") == EM_OK && ev->nattrs == 1
       && em_event_get(ev, "id") == NULL, "remove");
    ok(em_event_remove(ev, "id") == EM_ENOTFOUND, "remove of an absent one");
    ok(em_event_set_data(ev, "", 0) == EM_OK && ev->has_data
       && ev->data != NULL && ev->data_len == 0, "empty data is still data");
    em_event_free(ev);
}


static void
test_truncation(void)
{
    em_report_t  r;
    char         v[300];
    size_t       i;

    em_report_init(&r);

    /* 127 ASCII bytes then a 2-byte character straddling the cut */
    memset(v, 'a', 127);
    memcpy(v + 127, "\xC3\xA9zzzz", 6);
    em_report_add(&r, -1, "x", "body.x", v, 133, "rule");
    is_long((long) strlen(r.items[0].value), 127,
            "cut before a character that would cross 128 bytes");

    for (i = 0; i < 100; i++) {
        memcpy(v + 3 * i, "\xE2\x82\xAC", 3);
    }
    em_report_add(&r, -1, "x", "body.x", v, 300, "rule");
    is_long((long) strlen(r.items[1].value), 126,
            "three-byte characters cut at 126");

    em_report_add(&r, -1, "x", "body.x", "ok\xFF\xC3", 4, "rule");
    is_str(r.items[2].value, "ok\\xFF\\xC3", "invalid bytes shown as \\xNN");

    em_report_add(&r, -1, "x", "body.x", "a\0b", 3, "rule");
    is_str(r.items[3].value, "a\\x00b", "NUL in a value shown as \\x00");

    em_report_add(&r, -1, "x", "body.x", NULL, 0, "no value");
    ok(r.items[4].value == NULL, "no value stays NULL");

    em_report_free(&r);
}


static void
test_json(void)
{
    em_report_t   r;
    em_buf_t      b;
    json_t       *j, *v;
    json_error_t  e;

    em_report_init(&r);
    r.mode = "batch";
    em_report_add(&r, 2, "time", "body[2].time", "x\"\\\n\x01", 5,
                  "bad %s", "time");
    em_report_add(&r, -1, "", "body", NULL, 0, "whole");
    em_report_warn(&r, 0, "source", "body[0].source", "/s", 2, "relative");

    em_buf_init(&b);
    ok(em_report_to_json(&r, "invalid CloudEvents batch", &b) == EM_OK,
       "to_json");

    j = json_loads(b.data, 0, &e);
    ok(j != NULL, "output is valid JSON");
    if (j != NULL) {
        is_str(json_string_value(json_object_get(j, "error")),
               "invalid CloudEvents batch", "error");
        is_str(json_string_value(json_object_get(j, "mode")), "batch",
               "mode");
        v = json_array_get(json_object_get(j, "violations"), 0);
        is_str(json_string_value(json_object_get(v, "value")),
               "x\"\\\n\x01", "value escaped and round-trips");
        is_long(json_integer_value(json_object_get(v, "index")), 2, "index");
        is_str(json_string_value(json_object_get(v, "rule")), "bad time",
               "rule formatted");
        v = json_array_get(json_object_get(j, "violations"), 1);
        ok(json_object_get(v, "index") == NULL
           && json_object_get(v, "value") == NULL,
           "no index outside a batch, no value when none");
        is_long((long) json_array_size(json_object_get(j, "warnings")), 1,
                "warnings listed");
        json_decref(j);
    }
    em_buf_free(&b);
    em_report_free(&r);

    /* a quiet report keeps the violations and drops the warnings */
    em_report_init(&r);
    r.no_warnings = 1;
    ok(em_report_warn(&r, -1, "source", "header ce-source", "/s", 2,
                      "relative") == EM_OK, "quiet warn succeeds");
    em_report_add(&r, -1, "id", "header ce-id", NULL, 0, "missing");
    is_long((long) r.nwarnings, 0, "quiet report: no warning recorded");
    is_long((long) r.n, 1, "quiet report: violations still recorded");
    em_report_free(&r);

    em_report_init(&r);
    em_buf_init(&b);
    em_report_to_json(&r, NULL, &b);
    is_str(b.data, "{\"error\":\"invalid CloudEvent\",\"violations\":[]}",
           "empty report: no mode, no warnings key");
    em_buf_free(&b);
    em_report_free(&r);
}


/* 10 000 bad headers: the first EM_REPORT_ITEMS_MAX kept, the rest counted */
static void
test_cap(void)
{
    em_report_t  r;
    em_buf_t     b;
    const char  *end;
    int          i, rc;

    em_report_init(&r);
    rc = EM_OK;

    for (i = 0; i < 10000 && rc == EM_OK; i++) {
        rc = em_report_add(&r, -1, "id", "header ce-id", "v", 1,
                           "duplicate header %d", i);
        if (rc == EM_OK) {
            rc = em_report_warn(&r, -1, "x", "header ce-x", NULL, 0, "w");
        }
    }

    is_long(rc, EM_OK, "cap: adding past the cap succeeds");
    is_long((long) r.n, EM_REPORT_ITEMS_MAX, "cap: violations kept");
    is_long((long) r.omitted, 10000 - EM_REPORT_ITEMS_MAX,
            "cap: the rest counted");
    is_long((long) r.nwarnings, EM_REPORT_ITEMS_MAX, "cap: warnings kept");
    is_long((long) r.womitted, 10000 - EM_REPORT_ITEMS_MAX,
            "cap: the other warnings counted");
    is_str(r.items[EM_REPORT_ITEMS_MAX - 1].rule, "duplicate header 99",
           "cap: the first ones are the ones kept");

    em_buf_init(&b);
    ok(em_report_to_json(&r, NULL, &b) == EM_OK, "cap: JSON written");
    ok(b.len < 32768, "cap: the JSON stays small (%zu bytes)", b.len);
    ok(strstr(b.data, ",\"violations_omitted\":9900,\"warnings\":")
       != NULL, "cap: violations_omitted after the violations");
    end = ",\"warnings_omitted\":9900}";
    ok(b.len > strlen(end) && strcmp(b.data + b.len - strlen(end), end) == 0,
       "cap: warnings_omitted at the end");
    em_buf_free(&b);
    em_report_free(&r);
}


int
main(void)
{
    test_buf();
    test_event();
    test_truncation();
    test_json();
    test_cap();
    return tap_done();
}
