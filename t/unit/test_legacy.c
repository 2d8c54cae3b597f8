/*
 * Kyma's legacy endpoint (reference/kyma-publisher.md 2-4): every check in
 * Kyma's order with its exact answer, Go's decoder leniency and messages,
 * the conversion attribute by attribute, Kyma 2's type naming, and the
 * success and backend answers byte for byte.
 */

#include "tap.h"

#include "legacy_int.h"

#include <eventmesh/codec.h>

#include <stdlib.h>


#define BASE_TYPE  "\"event-type\":\"order.created\""
#define BASE_VER   "\"event-type-version\":\"v1\""
#define BASE_TIME  "\"event-time\":\"2024-01-31T12:00:00Z\""
#define BASE_DATA  "\"data\":{\"order\":42}"

#define VALID  "{" BASE_TYPE "," BASE_VER "," BASE_TIME "," BASE_DATA "}"

/* Kyma's answers (reference section 3), each with Go's trailing newline. */
#define MISSING(f)                                                            \
    "{\"status\":400,\"type\":\"validation_violation\",\"message\":"          \
    "\"Missing field\",\"details\":[{\"field\":\"" f "\",\"type\":"           \
    "\"missing_field\",\"message\":\"Missing field\"}]}\n"

#define INVALID(f)                                                            \
    "{\"status\":400,\"type\":\"validation_violation\",\"message\":"          \
    "\"Invalid field\",\"details\":[{\"field\":\"" f "\",\"type\":"           \
    "\"invalid_field\",\"message\":\"Invalid field\"}]}\n"

#define BAD_PAYLOAD(more)                                                     \
    "{\"status\":400,\"type\":\"bad_payload_syntax\",\"message\":"            \
    "\"Bad payload syntax\",\"moreInfo\":\"" more "\"}\n"

#define TOO_LARGE                                                             \
    "{\"status\":413,\"type\":\"request_body_too_large\",\"message\":"        \
    "\"Request body too large\",\"moreInfo\":\"http: request body too "       \
    "large\"}\n"


typedef struct {
    em_status_t   rc;
    int           status;
    em_buf_t      body;
    em_event_t   *ev;
} lg_t;


static void
lg_run_opts(lg_t *r, const char *app, const char *body, size_t len,
    const em_legacy_opts_t *o)
{
    em_buf_init(&r->body);
    r->ev = NULL;
    r->status = 0;
    r->rc = em_legacy_to_event(app, app ? strlen(app) : 0,
                               (const unsigned char *) body, len, o, &r->ev,
                               &r->status, &r->body);
}


static void
lg_free(lg_t *r)
{
    em_buf_free(&r->body);
    em_event_free(r->ev);
}


/* A rejected body: status, return code and the answer byte for byte. */
static void
rejects_opts(const char *name, const char *app, const char *body, size_t len,
    const em_legacy_opts_t *o, int status, const char *want)
{
    lg_t         r;
    em_status_t  want_rc;

    want_rc = (status == 413) ? EM_ETOOBIG : EM_EINVALID;

    lg_run_opts(&r, app, body, len, o);

    ok(r.rc == want_rc && r.status == status && r.ev == NULL,
       "%s: %d", name, status);
    if (r.rc != want_rc || r.status != status) {
        diag("rc %d status %d", r.rc, r.status);
    }
    is_str(r.body.data, want, "%s: Kyma's body", name);

    lg_free(&r);
}


static void
rejects(const char *name, const char *body, int status, const char *want)
{
    rejects_opts(name, "my-app", body, strlen(body), NULL, status, want);
}


/* An accepted body; the caller checks and frees the event. */
static em_event_t *
accepts_opts(const char *name, const char *app, const char *body,
    size_t len, const em_legacy_opts_t *o)
{
    lg_t  r;

    lg_run_opts(&r, app, body, len, o);

    ok(r.rc == EM_OK && r.ev != NULL, "%s: accepted", name);
    if (r.rc != EM_OK) {
        diag("rc %d status %d body %s", r.rc, r.status,
             r.body.data ? r.body.data : "(none)");
    }

    em_buf_free(&r.body);
    return r.ev;
}


static em_event_t *
accepts(const char *name, const char *body)
{
    return accepts_opts(name, "my-app", body, strlen(body), NULL);
}


static int
is_uuid4(const char *s)
{
    size_t  i;

    if (s == NULL || strlen(s) != 36) {
        return 0;
    }

    for (i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-') {
                return 0;
            }
        } else if (strchr("0123456789abcdef", s[i]) == NULL) {
            return 0;
        }
    }

    return s[14] == '4' && strchr("89ab", s[19]) != NULL;
}


static void
data_is(const em_event_t *ev, const char *want, const char *name)
{
    int  same;

    same = ev != NULL && ev->has_data && ev->data_len == strlen(want)
           && memcmp(ev->data, want, ev->data_len) == 0;

    ok(same, "%s: data bytes as sent", name);
    if (!same && ev != NULL) {
        diag("     got: '%.*s'", (int) ev->data_len, (const char *) ev->data);
        diag("expected: '%s'", want);
    }
}


static void
attr_type_is(const em_event_t *ev, const char *name, em_type_t type)
{
    const em_attr_t  *a = em_event_attr(ev, name);

    ok(a != NULL && a->type == type, "%s has its CloudEvents type", name);
}


/* --- section 2/3 rows: Kyma's checks in Kyma's order ---------------- */

static void
test_rows(void)
{
    rejects("empty body", "", 400, BAD_PAYLOAD("Bad payload syntax"));
    rejects("whitespace only: Go's EOF", " \r\n\t", 400, BAD_PAYLOAD("EOF"));
    rejects("bad JSON", "{\"data\":tru}", 400,
            BAD_PAYLOAD("invalid character '}' in literal true "
                        "(expecting 'e')"));
    rejects("reference's example error", "{\"data\":th}", 400,
            BAD_PAYLOAD("invalid character 'h' in literal true "
                        "(expecting 'r')"));
    rejects("wrong type for a string field",
            "{\"event-type\":1," BASE_VER "," BASE_TIME "," BASE_DATA "}",
            400, BAD_PAYLOAD("json: cannot unmarshal number into Go struct "
                             "field PublishRequestV1.event-type of type "
                             "string"));

    rejects("missing event-type",
            "{" BASE_VER "," BASE_TIME "," BASE_DATA "}", 400,
            MISSING("event-type"));
    rejects("empty event-type",
            "{\"event-type\":\"\"," BASE_VER "," BASE_TIME "," BASE_DATA "}",
            400, MISSING("event-type"));
    rejects("missing event-type-version",
            "{" BASE_TYPE "," BASE_TIME "," BASE_DATA "}", 400,
            MISSING("event-type-version"));
    rejects("event-type-version without any letter or digit",
            "{" BASE_TYPE ",\"event-type-version\":\"-\"," BASE_TIME ","
            BASE_DATA "}", 400, INVALID("event-type-version"));
    rejects("event-type-version '..'",
            "{" BASE_TYPE ",\"event-type-version\":\"..\"," BASE_TIME ","
            BASE_DATA "}", 400, INVALID("event-type-version"));
    rejects("missing event-time",
            "{" BASE_TYPE "," BASE_VER "," BASE_DATA "}", 400,
            MISSING("event-time"));
    rejects("event-time without offset",
            "{" BASE_TYPE "," BASE_VER ",\"event-time\":"
            "\"2024-01-31T12:00:00\"," BASE_DATA "}", 400,
            INVALID("event-time"));
    rejects("event-time with a space separator",
            "{" BASE_TYPE "," BASE_VER ",\"event-time\":"
            "\"2024-01-31 12:00:00Z\"," BASE_DATA "}", 400,
            INVALID("event-time"));
    rejects("event-id not a UUID",
            "{" BASE_TYPE "," BASE_VER "," BASE_TIME ",\"event-id\":\"42\","
            BASE_DATA "}", 400, INVALID("event-id"));
    rejects("event-id a UUID with a trailing newline ($ is the end)",
            "{" BASE_TYPE "," BASE_VER "," BASE_TIME ",\"event-id\":"
            "\"8945ec08-256b-11eb-9928-acde48001122\\n\"," BASE_DATA "}", 400,
            INVALID("event-id"));
    rejects("missing data",
            "{" BASE_TYPE "," BASE_VER "," BASE_TIME "}", 400,
            MISSING("data"));
    rejects("data null",
            "{" BASE_TYPE "," BASE_VER "," BASE_TIME ",\"data\":null}", 400,
            MISSING("data"));
    rejects("data \"\"",
            "{" BASE_TYPE "," BASE_VER "," BASE_TIME ",\"data\":\"\"}", 400,
            MISSING("data"));

    /* first failure wins, in Kyma's order */
    rejects("order: event-type before everything", "{\"event-id\":\"x\"}",
            400, MISSING("event-type"));
    rejects("order: version before time",
            "{" BASE_TYPE ",\"event-type-version\":\"_\"}", 400,
            INVALID("event-type-version"));
    rejects("order: time before id",
            "{" BASE_TYPE "," BASE_VER ",\"event-time\":\"x\","
            "\"event-id\":\"x\"}", 400, INVALID("event-time"));
    rejects("order: id before data",
            "{" BASE_TYPE "," BASE_VER "," BASE_TIME ",\"event-id\":\"x\"}",
            400, INVALID("event-id"));
}


/* --- section 2 edge cases: what Kyma accepts ------------------------- */

static void
test_accepted_edges(void)
{
    static const char  *versions[] = { "v1.0", "1-beta", "-a-", "V", "0" };
    em_event_t         *ev;
    char                body[512];
    size_t              i;

    for (i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
        snprintf(body, sizeof(body), "{" BASE_TYPE ",\"event-type-version\":"
                 "\"%s\"," BASE_TIME "," BASE_DATA "}", versions[i]);
        ev = accepts("unanchored version regex", body);
        is_str(ev ? em_event_get(ev, "eventtypeversion") : NULL, versions[i],
               "version '%s' kept verbatim", versions[i]);
        em_event_free(ev);
    }

    ev = accepts("case-insensitive keys",
                 "{\"Event-Type\":\"order.created\",\"EVENT-TYPE-VERSION\":"
                 "\"v1\",\"eVeNt-TiMe\":\"2024-01-31T12:00:00Z\",\"Event-ID\":"
                 "\"8945ec08-256b-11eb-9928-acde48001122\",\"DATA\":7}");
    is_str(ev ? em_event_get(ev, "type") : NULL, "order.created",
           "Event-Type read");
    is_str(ev ? em_event_get(ev, "id") : NULL,
           "8945ec08-256b-11eb-9928-acde48001122", "Event-ID read");
    data_is(ev, "7", "DATA");
    em_event_free(ev);

    ev = accepts("data 0",
                 "{" BASE_TYPE "," BASE_VER "," BASE_TIME ",\"data\":0}");
    data_is(ev, "0", "data 0");
    em_event_free(ev);

    ev = accepts("data false",
                 "{" BASE_TYPE "," BASE_VER "," BASE_TIME ",\"data\":false}");
    data_is(ev, "false", "data false");
    em_event_free(ev);

    ev = accepts("data {}",
                 "{" BASE_TYPE "," BASE_VER "," BASE_TIME ",\"data\":{}}");
    data_is(ev, "{}", "data {}");
    em_event_free(ev);

    ev = accepts("data []",
                 "{" BASE_TYPE "," BASE_VER "," BASE_TIME ",\"data\":[]}");
    data_is(ev, "[]", "data []");
    em_event_free(ev);

    ev = accepts("data a JSON string",
                 "{" BASE_TYPE "," BASE_VER "," BASE_TIME ",\"data\":\"x\"}");
    data_is(ev, "\"x\"", "a JSON string stays a JSON string");
    em_event_free(ev);

    ev = accepts("uppercase UUID",
                 "{" BASE_TYPE "," BASE_VER "," BASE_TIME ",\"event-id\":"
                 "\"8945EC08-256B-11EB-9928-ACDE48001122\"," BASE_DATA "}");
    is_str(ev ? em_event_get(ev, "id") : NULL,
           "8945EC08-256B-11EB-9928-ACDE48001122", "uppercase id kept");
    em_event_free(ev);

    ev = accepts("empty event-id: a new one",
                 "{" BASE_TYPE "," BASE_VER "," BASE_TIME ",\"event-id\":\"\","
                 BASE_DATA "}");
    ok(ev != NULL && is_uuid4(em_event_get(ev, "id")),
       "empty event-id gets a UUIDv4");
    em_event_free(ev);

    ev = accepts("unknown keys ignored",
                 "{\"publishrequest\":{\"event-type\":1},\"x\":[1e999],"
                 BASE_TYPE "," BASE_VER "," BASE_TIME "," BASE_DATA "}");
    em_event_free(ev);

    ev = accepts("event-time with an offset and a fraction",
                 "{" BASE_TYPE "," BASE_VER ",\"event-time\":"
                 "\"2024-01-31T12:00:00.123456789-05:30\"," BASE_DATA "}");
    is_str(ev ? em_event_get(ev, "time") : NULL,
           "2024-01-31T12:00:00.123456789-05:30", "RFC 3339 time kept");
    em_event_free(ev);
}


/* --- Go's decoder ----------------------------------------------------- */

static void
test_go_decoder(void)
{
    em_event_t  *ev;
    char        *deep;
    size_t       i;

    ev = accepts("duplicate keys: the last wins, whatever its case",
                 "{\"event-type\":\"first\",\"Event-Type\":\"second\","
                 BASE_VER "," BASE_TIME ",\"data\":1,\"data\":2}");
    is_str(ev ? em_event_get(ev, "type") : NULL, "second",
           "Event-Type after event-type wins");
    data_is(ev, "2", "the last data");
    em_event_free(ev);

    ev = accepts("null leaves a string as it was",
                 "{" BASE_TYPE ",\"event-type\":null," BASE_VER "," BASE_TIME
                 "," BASE_DATA "}");
    is_str(ev ? em_event_get(ev, "type") : NULL, "order.created",
           "event-type kept over null");
    em_event_free(ev);

    rejects("data null after data clears it",
            "{" BASE_TYPE "," BASE_VER "," BASE_TIME ",\"data\":1,"
            "\"data\":null}", 400, MISSING("data"));

    ev = accepts("trailing bytes after the object are ignored",
                 VALID "trailing garbage }");
    em_event_free(ev);

    ev = accepts("escaped keys and Go's long s fold",
                 "{\"\\u0065vent-type\":\"t\",\"event-type-ver\xC5\xBFion\":"
                 "\"v1\"," BASE_TIME "," BASE_DATA "}");
    is_str(ev ? em_event_get(ev, "eventtypeversion") : NULL, "v1",
           "U+017F folds to s as in Go");
    em_event_free(ev);

    rejects("dotted capital I does not fold to i",
            "{" BASE_TYPE "," BASE_VER ",\"event-t\xC4\xB0me\":"
            "\"2024-01-31T12:00:00Z\"," BASE_DATA "}", 400,
            MISSING("event-time"));
    rejects("underscore is not a dash",
            "{\"event_type\":\"t\"}", 400, MISSING("event-type"));

    rejects("top-level null decodes to nothing", "null", 400,
            MISSING("event-type"));
    rejects("top-level array", "[" VALID "]", 400,
            BAD_PAYLOAD("json: cannot unmarshal array into Go value of type "
                        "api.PublishRequestV1"));
    rejects("top-level string", "\"x\"", 400,
            BAD_PAYLOAD("json: cannot unmarshal string into Go value of type "
                        "api.PublishRequestV1"));
    rejects("top-level number, garbage after it", "123abc", 400,
            BAD_PAYLOAD("json: cannot unmarshal number into Go value of type "
                        "api.PublishRequestV1"));
    rejects("top-level bool", "true", 400,
            BAD_PAYLOAD("json: cannot unmarshal bool into Go value of type "
                        "api.PublishRequestV1"));
    rejects("object for a string",
            "{\"event-time\":{}}", 400,
            BAD_PAYLOAD("json: cannot unmarshal object into Go struct field "
                        "PublishRequestV1.event-time of type string"));
    rejects("array for a string, reported under the field's own name",
            "{\"EVENT-ID\":[1]}", 400,
            BAD_PAYLOAD("json: cannot unmarshal array into Go struct field "
                        "PublishRequestV1.event-id of type string"));
    rejects("bool for a string, the first type error wins",
            "{\"event-type-version\":true,\"event-type\":1}", 400,
            BAD_PAYLOAD("json: cannot unmarshal bool into Go struct field "
                        "PublishRequestV1.event-type-version of type "
                        "string"));
    rejects("a syntax error anywhere beats a type error",
            "{\"event-type\":1,\"x\":[1 2]}", 400,
            BAD_PAYLOAD("invalid character '2' after array element"));

    rejects("data number beyond float64",
            "{" BASE_TYPE ",\"data\":{\"a\":[1,-1e309]}}", 400,
            BAD_PAYLOAD("json: cannot unmarshal number -1e309 into Go struct "
                        "field PublishRequestV1.data of type float64"));
    ev = accepts("data: the largest float64 and tiny numbers",
                 "{" BASE_TYPE "," BASE_VER "," BASE_TIME ",\"data\":"
                 "[1.7976931348623157e308,1e-400,0e99999]}");
    em_event_free(ev);

    /* 2^1024 - 2^970 rounds to +Inf; one less does not */
    rejects("data: exactly half way to 2^1024",
            "{\"data\":179769313486231580793728971405303415079934132710037826"
            "9361737789804449682927647509466490179775872070963302864166928879"
            "1094655554785194040263065748867150582068190890200070838367627385"
            "4845817711531764475730270069855571366959622842914819860834936475"
            "292719074168444365510704342711559699508093042880177904174497792}",
            400,
            BAD_PAYLOAD("json: cannot unmarshal number 179769313486231580793"
                        "7289714053034150799341327100378269361737789804449682"
                        "9276475094664901797758720709633028641669288791094655"
                        "5547851940402630657488671505820681908902000708383676"
                        "2738548458177115317644757302700698555713669596228429"
                        "1481986083493647529271907416844436551070434271155969"
                        "9508093042880177904174497792 into Go struct field "
                        "PublishRequestV1.data of type float64"));
    ev = accepts("data: just below half way",
                 "{" BASE_TYPE "," BASE_VER "," BASE_TIME ",\"data\":"
                 "1797693134862315807937289714053034150799341327100378269361"
                 "7377898044496829276475094664901797758720709633028641669288"
                 "7910946555547851940402630657488671505820681908902000708383"
                 "6762738548458177115317644757302700698555713669596228429148"
                 "1986083493647529271907416844436551070434271155969950809304"
                 "2880177904174497791.9}");
    em_event_free(ev);

    /* Go's messages, quoting the byte the way its quoteChar() does */
    rejects("truncated", "{\"event-type\":\"a", 400,
            BAD_PAYLOAD("unexpected EOF"));
    rejects("'<' is HTML-escaped", "{\"a\":<}", 400,
            BAD_PAYLOAD("invalid character '\\u003c' looking for beginning "
                        "of value"));
    rejects("control byte in a string", "{\"a\":\"\x01\"}", 400,
            BAD_PAYLOAD("invalid character '\\\\x01' in string literal"));
    rejects("a Latin-1 byte as Go prints it", "\xC3\xA9", 400,
            BAD_PAYLOAD("invalid character '\xC3\x83' looking for "
                        "beginning of value"));
    rejects("a non-printable high byte", "\x80", 400,
            BAD_PAYLOAD("invalid character '\\\\u0080' looking for "
                        "beginning of value"));
    rejects("single quotes", "{'a':1}", 400,
            BAD_PAYLOAD("invalid character '\\\\'' looking for beginning of "
                        "object key string"));
    rejects("bad escape", "{\"a\":\"\\x\"}", 400,
            BAD_PAYLOAD("invalid character 'x' in string escape code"));
    rejects("bad \\u escape", "{\"a\":\"\\u12g4\"}", 400,
            BAD_PAYLOAD("invalid character 'g' in \\\\u hexadecimal "
                        "character escape"));
    rejects("missing colon", "{\"a\" 1}", 400,
            BAD_PAYLOAD("invalid character '1' after object key"));
    rejects("missing comma", "{\"a\":1 \"b\":2}", 400,
            BAD_PAYLOAD("invalid character '\\\"' after object key:value "
                        "pair"));
    rejects("trailing comma", "{\"a\":1,}", 400,
            BAD_PAYLOAD("invalid character '}' looking for beginning of "
                        "object key string"));
    rejects("minus alone", "{\"a\":-x}", 400,
            BAD_PAYLOAD("invalid character 'x' in numeric literal"));
    rejects("dot without digits", "{\"a\":1.e5}", 400,
            BAD_PAYLOAD("invalid character 'e' after decimal point in "
                        "numeric literal"));
    rejects("exponent without digits", "{\"a\":1e+}", 400,
            BAD_PAYLOAD("invalid character '}' in exponent of numeric "
                        "literal"));
    rejects("leading zero", "{\"a\":01}", 400,
            BAD_PAYLOAD("invalid character '1' after object key:value "
                        "pair"));
    rejects("null misspelt", "{\"data\":nul!}", 400,
            BAD_PAYLOAD("invalid character '!' in literal null "
                        "(expecting 'l')"));
    rejects("false misspelt", "{\"data\":fals}", 400,
            BAD_PAYLOAD("invalid character '}' in literal false "
                        "(expecting 'e')"));

    /* Go's nesting limit: 10000 levels */
    deep = malloc(20002 + 1);
    if (deep != NULL) {
        for (i = 0; i < 10000; i++) {
            deep[i] = '[';
            deep[10000 + i] = ']';
        }
        deep[20000] = '\0';
        rejects_opts("10000 levels nest", "my-app", deep, 20000, NULL, 400,
                     BAD_PAYLOAD("json: cannot unmarshal array into Go value "
                                 "of type api.PublishRequestV1"));

        memset(deep, '[', 10001);
        rejects_opts("10001 levels do not", "my-app", deep, 10001, NULL, 400,
                     BAD_PAYLOAD("invalid character '[' exceeded max depth"));
        free(deep);
    }
}


/* --- the size limit, as MaxBytesReader around the decoder ------------ */

static void
test_limit(void)
{
    em_legacy_opts_t  o;
    em_event_t       *ev;
    char             *big;
    size_t            n;

    em_legacy_opts_default(&o);
    ok(o.max_body == 65536 && o.type_prefix == NULL,
       "defaults: Kyma's 65536 bytes, no type prefix");

    o.max_body = strlen(VALID);
    ev = accepts_opts("a body of exactly the limit", "my-app", VALID,
                      strlen(VALID), &o);
    em_event_free(ev);

    o.max_body = strlen(VALID) - 1;
    rejects_opts("one byte over the limit", "my-app", VALID, strlen(VALID),
                 &o, 413, TOO_LARGE);

    o.max_body = strlen(VALID);
    ev = accepts_opts("bytes after a complete value are never read",
                      "my-app", VALID "   more than the limit",
                      strlen(VALID) + 22, &o);
    em_event_free(ev);

    o.max_body = 10;
    rejects_opts("a syntax error within the limit wins", "my-app",
                 "{\"a\":tx...................", 26, &o, 400,
                 BAD_PAYLOAD("invalid character 'x' in literal true "
                             "(expecting 'r')"));
    rejects_opts("whitespace beyond the limit", "my-app", "            ",
                 12, &o, 413, TOO_LARGE);

    o.max_body = 4;
    rejects_opts("a scalar that reaches the limit is still open", "my-app",
                 "true ", 5, &o, 413, TOO_LARGE);
    rejects_opts("a scalar ending at the end of the body", "my-app", "1234",
                 4, &o, 400,
                 BAD_PAYLOAD("json: cannot unmarshal number into Go value of "
                             "type api.PublishRequestV1"));

    /* a caller that kept only the first max_body bytes says so */
    o.max_body = strlen(VALID);
    o.body_truncated = 1;
    ev = accepts_opts("a truncated body whose value is complete", "my-app",
                      VALID, strlen(VALID), &o);
    em_event_free(ev);
    rejects_opts("a truncated body whose value is open", "my-app", VALID,
                 strlen(VALID) - 1, &o, 413, TOO_LARGE);
    rejects_opts("a truncated body with a syntax error", "my-app",
                 "{\"a\":x", 6, &o, 400,
                 BAD_PAYLOAD("invalid character 'x' looking for beginning "
                             "of value"));
    o.body_truncated = 0;
    rejects_opts("the same prefix as the whole body", "my-app", VALID,
                 strlen(VALID) - 1, &o, 400, BAD_PAYLOAD("unexpected EOF"));

    /* the default limit, with a big data value */
    n = 70000;
    big = malloc(n + 1);
    if (big != NULL) {
        memset(big, ' ', n);
        memcpy(big, VALID, strlen(VALID) - 1);
        big[n - 1] = '}';
        big[n] = '\0';
        rejects_opts("over 64 KiB", "my-app", big, n, NULL, 413, TOO_LARGE);

        o.max_body = 0;
        ev = accepts_opts("max_body 0: no limit", "my-app", big, n, &o);
        em_event_free(ev);
        free(big);
    }
}


/* --- event-time: Go's time.Parse(time.RFC3339) ----------------------- */

static void
time_case(const char *t, const char *want)
{
    char         body[512];
    em_event_t  *ev;

    snprintf(body, sizeof(body), "{" BASE_TYPE "," BASE_VER ",\"event-time\":"
             "\"%s\"," BASE_DATA "}", t);

    if (want == NULL) {
        rejects(t, body, 400, INVALID("event-time"));
        return;
    }

    ev = accepts(t, body);
    is_str(ev ? em_event_get(ev, "time") : NULL, want, "time of %s", t);
    em_event_free(ev);
}


static void
test_time(void)
{
    time_case("2024-01-31T12:00:00Z", "2024-01-31T12:00:00Z");
    time_case("2024-02-29T23:59:59.5+01:00", "2024-02-29T23:59:59.5+01:00");
    time_case("0000-01-01T00:00:00Z", "0000-01-01T00:00:00Z");
    time_case("2024-01-31T12:00:00.1234567891234Z",
              "2024-01-31T12:00:00.1234567891234Z");

    /* Go only: written as the UTC instant, as Kyma stores it */
    time_case("2024-01-31T1:02:03Z", "2024-01-31T01:02:03Z");
    time_case("2024-01-31T12:00:00,25Z", "2024-01-31T12:00:00.25Z");
    time_case("2024-01-01T01:00:00+24:00", "2023-12-31T01:00:00Z");
    time_case("2024-12-31T23:30:00-00:60", "2025-01-01T00:30:00Z");
    time_case("2024-01-31T9:00:00.1234567891-02:00",
              "2024-01-31T11:00:00.123456789Z");
    time_case("2024-01-31T9:00:00.500000000Z", "2024-01-31T09:00:00.5Z");

    /* RFC 3339 or not, Go refuses these */
    time_case("2024-01-31t12:00:00Z", NULL);
    time_case("2024-01-31T12:00:00z", NULL);
    time_case("2024-12-31T23:59:60Z", NULL);
    time_case("2023-02-29T00:00:00Z", NULL);
    time_case("2024-13-01T00:00:00Z", NULL);
    time_case("2024-01-31T24:00:00Z", NULL);
    time_case("2024-01-31T12:00:00+25:00", NULL);
    time_case("2024-01-31T12:00:00+01:61", NULL);
    time_case("2024-01-31T12:00:00+0100", NULL);
    time_case("2024-01-31T12:00:00.Z", NULL);
    time_case("2024-1-31T12:00:00Z", NULL);
    time_case("2024-01-31T12:00:00Z ", NULL);
    time_case("2024-01-31", NULL);

    /* Go takes it, but its UTC instant has no RFC 3339 form */
    time_case("0000-01-01T0:30:00+24:00", NULL);
}


/* --- the conversion ---------------------------------------------------- */

static void
test_conversion(void)
{
    em_event_t  *ev, *back;
    em_buf_t     hdr;
    const char  *err, *id1;
    char         id[40];

    ev = accepts("conversion", "{\"event-type\":\"order.created\","
                 "\"event-type-version\":\"v1\",\"event-id\":"
                 "\"8945ec08-256b-11eb-9928-acde48001122\",\"event-time\":"
                 "\"2024-01-31T12:00:00+01:00\",\"data\": {\"a\" : [1, 2.50, "
                 "\"\\u00e9\"] } }");
    if (ev == NULL) {
        return;
    }

    ok(ev->nattrs == 7, "seven attributes");
    is_str(ev->attrs[0].name, "specversion", "specversion first");
    is_str(em_event_get(ev, "specversion"), "1.0", "specversion 1.0");
    is_str(em_event_get(ev, "id"), "8945ec08-256b-11eb-9928-acde48001122",
           "id = event-id");
    is_str(em_event_get(ev, "source"), "my-app", "source = the application");
    is_str(em_event_get(ev, "type"), "order.created", "type = event-type");
    is_str(em_event_get(ev, "datacontenttype"), "application/json",
           "datacontenttype");
    is_str(em_event_get(ev, "time"), "2024-01-31T12:00:00+01:00",
           "time = event-time");
    is_str(em_event_get(ev, "eventtypeversion"), "v1",
           "extension eventtypeversion");
    ok(em_event_get(ev, "originaltype") == NULL, "no originaltype");
    attr_type_is(ev, "source", EM_TYPE_URI_REF);
    attr_type_is(ev, "time", EM_TYPE_TIMESTAMP);
    attr_type_is(ev, "eventtypeversion", EM_TYPE_STRING);
    data_is(ev, "{\"a\" : [1, 2.50, \"\\u00e9\"] }", "conversion");
    ok(ev->data_is_json, "data marked as a JSON value");

    /* what ingress stores is what the dispatcher reads */
    em_buf_init(&hdr);
    back = NULL;
    ok(em_nats_encode_headers(ev, &hdr) == EM_OK
       && em_nats_decode(hdr.data, hdr.len, ev->data, ev->data_len, &back,
                         &err) == EM_OK
       && back != NULL
       && strcmp(em_event_get(back, "eventtypeversion"), "v1") == 0
       && strcmp(em_event_get(back, "source"), "my-app") == 0
       && back->data_len == ev->data_len,
       "the event survives the NATS encoding");
    em_event_free(back);
    em_buf_free(&hdr);
    em_event_free(ev);

    /* generated ids: version 4, a new one each time */
    ev = accepts("no event-id", VALID);
    id1 = ev ? em_event_get(ev, "id") : NULL;
    ok(is_uuid4(id1), "a UUIDv4 id: %s", id1 ? id1 : "(none)");
    snprintf(id, sizeof(id), "%s", id1 ? id1 : "");
    em_event_free(ev);
    ev = accepts("no event-id again", VALID);
    ok(ev != NULL && strcmp(em_event_get(ev, "id"), id) != 0,
       "a different id for the next event");
    em_event_free(ev);

    /* data as Go reads it: repaired only where Go would see U+FFFD */
    ev = accepts("data with invalid UTF-8",
                 "{" BASE_TYPE "," BASE_VER "," BASE_TIME ",\"data\":"
                 "[\"a\xFF\xC3\", \"\xE2\x82\xAC\"]}");
    data_is(ev, "[\"a\xEF\xBF\xBD\xEF\xBF\xBD\", \"\xE2\x82\xAC\"]",
            "invalid bytes become U+FFFD");
    em_event_free(ev);

    ev = accepts("data with surrogate escapes",
                 "{" BASE_TYPE "," BASE_VER "," BASE_TIME ",\"data\":"
                 "{\"\\ud800\":\"\\ud83d\\ude00\\udc00\\\\ud800\"}}");
    data_is(ev, "{\"\\ufffd\":\"\\ud83d\\ude00\\ufffd\\\\ud800\"}",
            "lone surrogates become \\ufffd, pairs and \\\\ stay");
    em_event_free(ev);

    ev = accepts("event-type with invalid UTF-8 and a lone surrogate",
                 "{\"event-type\":\"a\xFF\\udc00\"," BASE_VER "," BASE_TIME ","
                 BASE_DATA "}");
    is_str(ev ? em_event_get(ev, "type") : NULL,
           "a\xEF\xBF\xBD\xEF\xBF\xBD", "type as Go decodes it");
    em_event_free(ev);

    /* what Kyma takes but a CloudEvent cannot carry */
    rejects("event-type with a control character",
            "{\"event-type\":\"a\\u0000b\"," BASE_VER "," BASE_TIME ","
            BASE_DATA "}", 400, INVALID("event-type"));
    rejects("event-type-version with a control character",
            "{" BASE_TYPE ",\"event-type-version\":\"v1\\n\"," BASE_TIME ","
            BASE_DATA "}", 400, INVALID("event-type-version"));
    rejects("Kyma's checks come first",
            "{\"event-type\":\"a\\u0000b\"," BASE_VER "," BASE_DATA "}", 400,
            MISSING("event-time"));

    rejects_opts("no application", NULL, VALID, strlen(VALID), NULL, 400,
                 BAD_PAYLOAD("the application name, the event's source, is "
                             "empty"));
    rejects_opts("an application that is no URI-reference", "a b", VALID,
                 strlen(VALID), NULL, 400,
                 BAD_PAYLOAD("the application name \\\"a b\\\" cannot be "
                             "the event's source, a URI-reference: must not "
                             "contain spaces; percent-encode them as %20 "
                             "(RFC 3986)"));
}


/* --- Kyma 2's type naming (section 4, publication 2) ------------------- */

static void
prefix_case(const char *prefix, const char *app, const char *type,
    const char *version, const char *want)
{
    em_legacy_opts_t  o;
    em_event_t       *ev;
    char              body[512];

    em_legacy_opts_default(&o);
    o.type_prefix = prefix;
    o.type_prefix_len = strlen(prefix);

    snprintf(body, sizeof(body), "{\"event-type\":\"%s\",\"event-type-version"
             "\":\"%s\"," BASE_TIME "," BASE_DATA "}", type, version);

    ev = accepts_opts(want, app, body, strlen(body), &o);
    is_str(ev ? em_event_get(ev, "type") : NULL, want,
           "prefix '%s', app '%s', event-type '%s'", prefix, app, type);
    if (ev != NULL) {
        is_str(em_event_get(ev, "source"), app, "source stays the app");
    }
    em_event_free(ev);
}


static void
test_type_prefix(void)
{
    em_buf_t  b;

    /* the reference's example */
    prefix_case("sap.kyma.custom", "my-app", "Account.Root-x.Created", "v1",
                "sap.kyma.custom.myapp.AccountRootx.Created.v1");

    /* Kyma's own test cases (EPP pkg/legacy/legacy_test.go) */
    prefix_case("pre1.pre2.pre3", "app", "object.do", "v1",
                "pre1.pre2.pre3.app.object.do.v1");
    prefix_case("pre1.pre2.pre3", "no-app", "object.do", "v1",
                "pre1.pre2.pre3.noapp.object.do.v1");
    prefix_case("pre1.pre2.pre3", "app", "too.many.dots.object.do", "v1",
                "pre1.pre2.pre3.app.toomanydotsobject.do.v1");
    prefix_case("sap.kyma.custom", "app",
                "1-2+3=4.t&h$i#s.t!h@a%t.t;o/m$f*o{o]lery", "v1",
                "sap.kyma.custom.app.1234thisthat.tomfoolery.v1");
    prefix_case("sap.kyma.custom", "app", "t_o_m_f_o_o_l_e_r_y", "v1",
                "sap.kyma.custom.app.tomfoolery.v1");

    /* the prefix cleaned too; nothing left: no prefix at all */
    prefix_case("sap-kyma.custom!", "app", "order.created", "v1.0",
                "sapkyma.custom.app.order.created.v1.0");
    prefix_case("", "app", "order.created", "v1",
                "app.order.created.v1");
    prefix_case("-*-", "app", "order.created", "v1",
                "app.order.created.v1");

    /* cleaning merges names and leaves empty segments, as in Kyma */
    prefix_case("p", "a_b%2Fc", "..x", "v1", "p.ab2Fc..x.v1");
    prefix_case("p", "app", "order", "v1", "p.app.order.v1");

    em_buf_init(&b);
    ok(em_legacy_type_v1alpha1(&b, "p", 1, "system>prod", 11, "a.b", 3,
                               "v1", 2) == EM_OK
       && strcmp(b.data, "p.systemprod.a.b.v1") == 0,
       "system>prod and systemprod give one type (busola#807)");
    em_buf_free(&b);
}


/* --- the answers after publishing ------------------------------------ */

static void
backend_case(em_legacy_backend_t kind, int code, const char *detail,
    int want_status, const char *want)
{
    em_buf_t  b;
    int       status;

    em_buf_init(&b);
    status = 0;

    ok(em_legacy_backend_body(kind, code, detail,
                              detail ? strlen(detail) : 0, &status, &b)
       == EM_OK && status == want_status,
       "backend kind %d code %d: %d", (int) kind, code, want_status);
    is_str(b.data, want, "backend kind %d: Kyma's body", (int) kind);
    em_buf_free(&b);
}


static void
test_answers(void)
{
    em_buf_t  b;

    em_buf_init(&b);
    ok(em_legacy_ok_body("8945ec08-256b-11eb-9928-acde48001122", &b) == EM_OK,
       "ok body");
    is_str(b.data, "{\"event-id\":\"8945ec08-256b-11eb-9928-acde48001122\","
           "\"status\":\"\",\"reason\":\"\"}\n", "200 body byte for byte");

    ok(em_legacy_error_body(503, "too many <events> & more", 24, &b) == EM_OK,
       "error body");
    is_str(b.data, "{\"status\":503,\"message\":\"too many \\u003cevents"
           "\\u003e \\u0026 more\"}\n", "Go's HTML-safe escaping");
    em_buf_free(&b);

    backend_case(EM_LEGACY_BACKEND_NOT_CONNECTED, 0, NULL, 502,
                 "{\"status\":502,\"message\":\"no connection to NATS "
                 "JetStream server\"}\n");
    backend_case(EM_LEGACY_BACKEND_NO_STREAM, 0, NULL, 504,
                 "{\"status\":504,\"message\":\"cannot send to stream\"}\n");
    backend_case(EM_LEGACY_BACKEND_TIMEOUT, 0, NULL, 504,
                 "{\"status\":504,\"message\":\"cannot send to stream\"}\n");
    backend_case(EM_LEGACY_BACKEND_FULL, 0, NULL, 507,
                 "{\"status\":507,\"message\":\"insufficient resources on "
                 "target stream\"}\n");
    backend_case(EM_LEGACY_BACKEND_API, 503, "JetStream system temporarily "
                 "unavailable", 503,
                 "{\"status\":503,\"message\":\"JetStream system temporarily "
                 "unavailable\"}\n");
    backend_case(EM_LEGACY_BACKEND_API, 400, "write /data: no space left on "
                 "device", 507,
                 "{\"status\":507,\"message\":\"insufficient resources on "
                 "target stream\"}\n");
    backend_case(EM_LEGACY_BACKEND_API, 404, "", 404, "{\"status\":404}\n");
    backend_case(EM_LEGACY_BACKEND_API, 10077, "odd code", 500,
                 "{\"status\":500,\"message\":\"odd code\"}\n");
    backend_case(EM_LEGACY_BACKEND_INTERNAL, 0, NULL, 500,
                 "{\"status\":500,\"message\":\"internal error on "
                 "backend\"}\n");
}


/* --- Go's string encoder ------------------------------------------- */

static void
test_go_quote(void)
{
    static const char  raw[] = "a\"\\\b\f\n\r\t\x01\x7F<>&\xE2\x80\xA8"
                               "\xE2\x80\xA9\xFF\xC3\xA9";
    em_buf_t           b;

    em_buf_init(&b);
    ok(em_go_quote(&b, raw, sizeof(raw) - 1) == EM_OK, "quote");
    is_str(b.data, "\"a\\\"\\\\\\b\\f\\n\\r\\t\\u0001\x7F\\u003c\\u003e"
           "\\u0026\\u2028\\u2029\\ufffd\xC3\xA9\"",
           "json.Encoder's escaping");
    em_buf_free(&b);
}


int
main(void)
{
    test_rows();
    test_accepted_edges();
    test_go_decoder();
    test_limit();
    test_time();
    test_conversion();
    test_type_prefix();
    test_answers();
    test_go_quote();
    return tap_done();
}
