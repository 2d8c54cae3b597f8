/*
 * Batched mode (HTTP binding 3.3, JSON format 4): arrays of structured
 * events, all-or-nothing, violations with their index, limits.
 */

#include "ce_test.h"

#define BCT  "Content-Type", "application/cloudevents-batch+json"
#define EV(id)  "{\"specversion\":\"1.0\",\"id\":\"" id "\"," \
                "\"source\":\"urn:s\",\"type\":\"t\"}"


static void
bparse(ce_result_t *r, const char *body)
{
    ce_parse(r, body, CE_H(BCT));
}


static const em_violation_t *
at_index(const ce_result_t *r, long index, const char *attr,
    const char *fragment)
{
    size_t  i;

    for (i = 0; i < r->report.n; i++) {
        const em_violation_t  *v = &r->report.items[i];

        if (v->index == index && strcmp(v->attribute, attr) == 0
            && strstr(v->rule, fragment) != NULL)
        {
            return v;
        }
    }

    return NULL;
}


static void
test_basic(void)
{
    ce_result_t  r;

    bparse(&r, "[]");
    if (ce_accepts(&r, "empty batch")) {
        is_long(r.batch->n, 0, "zero events");
        is_long(r.batch->mode, EM_MODE_BATCH, "batch mode");
    }
    ce_free(&r);

    bparse(&r, " [ " EV("1") " , " EV("2") ",\n" EV("3") " ] ");
    if (ce_accepts(&r, "three events")) {
        is_long(r.batch->n, 3, "three events parsed");
        is_str(em_event_get(r.batch->events[2], "id"), "3",
               "order kept");
    }
    ce_free(&r);

    bparse(&r, "[" EV("1") "," EV("1") "]");
    ce_accepts(&r, "same source and id twice is not a batch violation");
    ce_free(&r);

    ce_parse(&r, "[]", CE_H("Content-Type",
             "APPLICATION/CLOUDEVENTS-BATCH+JSON; charset=utf-8"));
    ce_accepts(&r, "batch media type case-insensitive with charset");
    ce_free(&r);

    ce_parse(&r, "[]", CE_H("Content-Type",
             "application/cloudevents-batch+json; charset=utf-16"));
    ce_rejects(&r, EM_EMEDIA, "", "UTF-8", "batch in UTF-16 is 415");
    ce_free(&r);
}


static void
test_elements(void)
{
    ce_result_t  r;
    em_buf_t     b;

    bparse(&r, "{" "\"specversion\":\"1.0\"}");
    ce_rejects(&r, EM_EINVALID, "", "JSON array", "object body in batch");
    ce_free(&r);

    bparse(&r, "[" EV("1") ",42,\"x\"]");
    ce_rejects(&r, EM_EINVALID, "", "must be a JSON object", "non-object");
    ok(at_index(&r, 1, "", "not a number") != NULL
       && at_index(&r, 2, "", "not a string") != NULL,
       "each non-object element reported with its index");
    if (r.report.n) {
        is_str(r.report.items[0].location, "body[1]", "location body[1]");
    }
    ce_free(&r);

    bparse(&r, "[" EV("1") ","
           "{\"specversion\":\"1.0\",\"source\":\"urn:s\",\"type\":\"t\"},"
           EV("3") ","
           "{\"specversion\":\"1.0\",\"id\":\"4\",\"source\":\"urn:s\","
           "\"type\":\"t\",\"time\":\"noon\",\"Bad\":1}]");
    ce_rejects(&r, EM_EINVALID, "id", "missing", "missing id in element 1");
    ok(at_index(&r, 1, "id", "missing") != NULL, "id violation at index 1");
    ok(at_index(&r, 3, "time", "RFC 3339") != NULL,
       "time violation at index 3");
    ok(at_index(&r, 3, "Bad", "lowercase") != NULL,
       "name violation at index 3");
    is_long(r.report.n, 3, "exactly three violations");

    em_buf_init(&b);
    em_report_to_json(&r.report, "invalid CloudEvents batch", &b);
    ok(strstr(b.data, "\"mode\":\"batch\"") != NULL
       && strstr(b.data, "\"location\":\"body[3].time\"") != NULL
       && strstr(b.data, "\"index\":3") != NULL,
       "report JSON carries location and index");
    em_buf_free(&b);
    ce_free(&r);

    bparse(&r, "[" EV("1") ",{\"specversion\":\"0.3\",\"id\":\"2\"}]");
    ce_rejects(&r, EM_EINVALID, "specversion", "every event of a batch",
               "mixed specversion");
    ok(at_index(&r, 1, "specversion", "1.0") != NULL, "at index 1");
    ce_free(&r);

    bparse(&r, "[" EV("1") ",{\"specversion\":\"1.0\",\"id\":\"2\","
           "\"source\":\"urn:s\",\"type\":\"t\",\"data\":[1, 2 ]},"
           "{\"specversion\":\"1.0\",\"id\":\"3\",\"source\":\"urn:s\","
           "\"type\":\"t\",\"data_base64\":\"aGk=\"}]");
    if (ce_accepts(&r, "batch with data")) {
        ok(!r.batch->events[0]->has_data, "element 0 has no data");
        is_str((char *) r.batch->events[1]->data, "[1, 2 ]",
               "element 1 data span from its own object");
        is_str((char *) r.batch->events[2]->data, "hi",
               "element 2 data_base64 decoded");
    }
    ce_free(&r);

    bparse(&r, "[{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"urn:s\","
           "\"type\":\"t\",\"data\":[18446744073709551616]}," EV("2") ","
           "{\"specversion\":\"1.0\",\"id\":\"3\",\"source\":\"urn:s\","
           "\"type\":\"t\",\"data\":-1e999}]");
    if (ce_accepts(&r, "batch with huge numbers in data")) {
        is_str((char *) r.batch->events[0]->data, "[18446744073709551616]",
               "element 0 data unchanged");
        is_str((char *) r.batch->events[2]->data, "-1e999",
               "element 2 data unchanged");
    }
    ce_free(&r);

    bparse(&r, "[" EV("1") "," EV("1") "");
    ce_rejects(&r, EM_EINVALID, "", "not valid JSON", "truncated batch");
    ce_free(&r);

    bparse(&r, "[" EV("1") ",{\"specversion\":\"1.0\",\"id\":\"1\","
           "\"id\":\"2\"}]");
    ce_rejects(&r, EM_EINVALID, "", "appears more than once",
               "duplicate key inside an element");
    ce_free(&r);
}


static void
test_limits(void)
{
    ce_result_t     r;
    em_ce_limits_t  lim;
    const char     *two = "[" EV("1") "," EV("2") "]";

    em_ce_limits_default(&lim);
    lim.max_batch_events = 2;
    ce_parse_lim(&r, &lim, two, -1, CE_H(BCT));
    ce_accepts(&r, "batch at the event-count limit");
    ce_free(&r);

    lim.max_batch_events = 1;
    ce_parse_lim(&r, &lim, two, -1, CE_H(BCT));
    ce_rejects(&r, EM_ETOOBIG, "", "limit of 1 events",
               "batch over the event-count limit");
    ce_free(&r);

    em_ce_limits_default(&lim);
    lim.max_event_size = strlen(EV("1"));
    ce_parse_lim(&r, &lim, two, -1, CE_H(BCT));
    ce_accepts(&r, "each element exactly at the size limit");
    ce_free(&r);

    lim.max_event_size = strlen(EV("1"));
    ce_parse_lim(&r, &lim, "[" EV("1") ",{\"specversion\":\"1.0\",\"id\":"
                 "\"22\",\"source\":\"urn:s\",\"type\":\"t\"}]", -1,
                 CE_H(BCT));
    ce_rejects(&r, EM_ETOOBIG, "", "event 1 is", "element over the limit");
    if (r.report.n) {
        is_long(r.report.items[0].index, 1, "size violation has index 1");
    }
    ce_free(&r);

    em_ce_limits_default(&lim);
    lim.max_event_size = 10;
    lim.max_batch_events = 3;
    ce_parse_lim(&r, &lim, "[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15]", -1,
                 CE_H(BCT));
    ce_rejects(&r, EM_ETOOBIG, "", "over the limit of 30 bytes",
               "whole batch over size x count");
    ce_free(&r);

    em_ce_limits_default(&lim);
    lim.allow_batch = 0;
    ce_parse_lim(&r, &lim, "[]", -1, CE_H(BCT));
    ce_rejects(&r, EM_EMEDIA, "", "not enabled", "batch switched off");
    ce_free(&r);
}


static void
test_trace(void)
{
    ce_result_t  r;
    const char  *tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7"
                      "-01";

    ce_parse(&r, "[" EV("1") ",{\"specversion\":\"1.0\",\"id\":\"2\","
             "\"source\":\"urn:s\",\"type\":\"t\",\"traceparent\":"
             "\"00-11111111111111111111111111111111-2222222222222222-00\"}]",
             CE_H(BCT, "traceparent", tp));
    if (ce_accepts(&r, "batch with a traceparent header")) {
        is_str(em_event_get(r.batch->events[0], "traceparent"), tp,
               "event without one gets the header's");
        ok(strncmp(em_event_get(r.batch->events[1], "traceparent"), "00-1",
                   4) == 0, "event with one keeps its own");
    }
    ce_free(&r);
}


int
main(void)
{
    test_basic();
    test_elements();
    test_limits();
    test_trace();
    return tap_done();
}
