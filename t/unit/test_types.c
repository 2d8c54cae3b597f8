/*
 * The type checks of ce_http.h, table-driven: each case is a value, the
 * expected verdict and, for rejections, a fragment of the reason.
 */

#include "tap.h"

#include <eventmesh/ce_http.h>

typedef int (*check_pt)(const char *s, size_t len, const char **why);

typedef struct {
    const char  *value;
    int          len;        /* -1: strlen */
    int          valid;
    const char  *fragment;   /* part of *why when invalid */
} tcase_t;


static void
run(const char *what, check_pt check, const tcase_t *c, size_t n)
{
    const char  *why;
    size_t       i, len;
    int          got;

    for (i = 0; i < n; i++) {
        why = NULL;
        len = c[i].len < 0 ? strlen(c[i].value) : (size_t) c[i].len;
        got = check(c[i].value, len, &why);

        if (c[i].valid) {
            ok(got == 1, "%s accepts '%s'", what, c[i].value);
            if (got != 1) {
                diag("why: %s", why ? why : "(none)");
            }

        } else {
            ok(got == 0 && why != NULL && strstr(why, c[i].fragment) != NULL,
               "%s rejects '%s' (%s)", what, c[i].value, c[i].fragment);
            if (got != 0 || why == NULL || !strstr(why, c[i].fragment)) {
                diag("got %d, why: %s", got, why ? why : "(none)");
            }
        }
    }
}

#define RUN(what, check, cases) \
    run(what, check, cases, sizeof(cases) / sizeof(cases[0]))


static const tcase_t  timestamps[] = {
    { "2024-01-31T12:00:00Z", -1, 1, NULL },
    { "2024-01-31T12:00:00.5+01:00", -1, 1, NULL },
    { "2024-01-31t12:00:00.123456789z", -1, 1, NULL },
    { "2024-02-29T00:00:00-00:00", -1, 1, NULL },
    { "2000-02-29T00:00:00Z", -1, 1, NULL },
    { "2016-12-31T23:59:60Z", -1, 1, NULL },
    { "2016-12-31T18:59:60-05:00", -1, 1, NULL },
    { "2017-01-01T00:59:60+01:00", -1, 1, NULL },
    { "2016-12-31T23:58:60Z", -1, 0, "leap second" },
    { "2016-12-31T23:59:60+01:00", -1, 0, "leap second" },
    { "2023-02-29T00:00:00Z", -1, 0, "does not exist" },
    { "1900-02-29T00:00:00Z", -1, 0, "does not exist" },
    { "2024-04-31T00:00:00Z", -1, 0, "does not exist" },
    { "2024-13-01T00:00:00Z", -1, 0, "month" },
    { "2024-00-01T00:00:00Z", -1, 0, "month" },
    { "2024-01-00T00:00:00Z", -1, 0, "does not exist" },
    { "2024-01-01T24:00:00Z", -1, 0, "hour" },
    { "2024-01-01T23:60:00Z", -1, 0, "minute" },
    { "2024-01-01T23:00:61Z", -1, 0, "second" },
    { "2024-01-01T00:00:00", -1, 0, "time offset" },
    { "2024-01-01 00:00:00Z", -1, 0, "not a space" },
    { "2024-01-01T00:00:00+0100", -1, 0, "with a colon" },
    { "2024-01-01T00:00:00+24:00", -1, 0, "within" },
    { "2024-01-01T00:00:00.Z", -1, 0, "at least one digit" },
    { "2024-01-01", -1, 0, "needs a time" },
    { "2024-1-01T00:00:00Z", -1, 0, "RFC 3339" },
    { "2024-01-01T0:00:00Z", -1, 0, "hh:mm:ss" },
    { "2024-01-01T00:00:00Zjunk", -1, 0, "after the time offset" },
    { "", -1, 0, "RFC 3339" },
};


static const tcase_t  uri_refs[] = {
    { "https://example.com/a/b?c=d#e", -1, 1, NULL },
    { "/sensors/tn-1234567/alerts", -1, 1, NULL },
    { "1-555-123-4567", -1, 1, NULL },
    { "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66", -1, 1, NULL },
    { "mailto:a@example.com", -1, 1, NULL },
    { "//host:8080/p", -1, 1, NULL },
    { "http://[::1]:80/", -1, 1, NULL },
    { "http://[v7.fe80::a]/", -1, 1, NULL },
    { "http://u:p@h/%7Euser", -1, 1, NULL },
    { "./42:answers", -1, 1, NULL },
    { "?q", -1, 1, NULL },
    { "#frag", -1, 1, NULL },
    { "42:answers", -1, 0, "first segment" },
    { "a b", -1, 0, "spaces" },
    { "caf\xC3\xA9", -1, 0, "ASCII" },
    { "/a%2", -1, 0, "two hex digits" },
    { "/a%zz", -1, 0, "two hex digits" },
    { "http://[::1/", -1, 0, "']'" },
    { "http://[::g]/", -1, 0, "IPv6" },
    { "http://h:80a/", -1, 0, "port" },
    { "http://a@b@c/", -1, 0, "not allowed" },
    { "/a#b#c", -1, 0, "not allowed" },
    { "/a<b>", -1, 0, "not allowed" },
    { "http://[::\0\0001]/", 16, 0, "IPv6" },
    { "", -1, 0, "empty" },
};


static const tcase_t  uris[] = {
    { "https://example.com/schema.json", -1, 1, NULL },
    { "https://example.com/s.json#/definitions/a", -1, 1, NULL },
    { "urn:example:schema", -1, 1, NULL },
    { "a+b.c-d:x", -1, 1, NULL },
    { "/schemas/a.json", -1, 0, "absolute URI" },
    { "schema.json", -1, 0, "absolute URI" },
    { "1http://x", -1, 0, "absolute URI" },
    { "", -1, 0, "empty" },
};


static const tcase_t  integers[] = {
    { "0", -1, 1, NULL },
    { "-1", -1, 1, NULL },
    { "2147483647", -1, 1, NULL },
    { "-2147483648", -1, 1, NULL },
    { "2147483648", -1, 0, "-2147483648..2147483647" },
    { "-2147483649", -1, 0, "-2147483648..2147483647" },
    { "99999999999999999999999", -1, 0, "-2147483648..2147483647" },
    { "+1", -1, 0, "integer" },
    { "01", -1, 0, "leading zeros" },
    { "1.0", -1, 0, "integer" },
    { "1e3", -1, 0, "integer" },
    { " 1", -1, 0, "integer" },
    { "-", -1, 0, "integer" },
    { "", -1, 0, "integer" },
    { "99999999999x", -1, 0, "integer" },
};


static const tcase_t  booleans[] = {
    { "true", -1, 1, NULL },
    { "false", -1, 1, NULL },
    { "True", -1, 0, "lowercase" },
    { "1", -1, 0, "true or false" },
    { "", -1, 0, "true or false" },
};


static const tcase_t  names[] = {
    { "id", -1, 1, NULL },
    { "comexampleextension1", -1, 1, NULL },
    { "1abc", -1, 1, NULL },
    { "data", -1, 0, "reserved" },
    { "data_base64", -1, 0, "[a-z0-9]" },
    { "Id", -1, 0, "[a-z0-9]" },
    { "my-ext", -1, 0, "[a-z0-9]" },
    { "", -1, 0, "empty" },
};


static const tcase_t  strings[] = {
    { "plain", -1, 1, NULL },
    { "", -1, 1, NULL },
    { "\xF0\x9F\x98\x80 emoji", -1, 1, NULL },
    { "\xEF\xBF\xBD", -1, 1, NULL },
    { "a\0b", 3, 0, "control" },
    { "tab\there", -1, 0, "control" },
    { "del\x7F", -1, 0, "control" },
    { "c1\xC2\x9F", -1, 0, "control" },
    { "\xC2\xA0nbsp", -1, 1, NULL },
    { "\xEF\xB7\x90", -1, 0, "noncharacters" },
    { "\xEF\xB7\xAF", -1, 0, "noncharacters" },
    { "\xEF\xB7\xB0", -1, 1, NULL },
    { "\xEF\xBF\xBE", -1, 0, "noncharacters" },
    { "\xF0\x9F\xBF\xBF", -1, 0, "noncharacters" },
    { "\xF4\x8F\xBF\xBE", -1, 0, "noncharacters" },
    { "\xED\xA0\x80", -1, 0, "UTF-8" },
    { "\xC0\xAF", -1, 0, "UTF-8" },
    { "\xE0\x80\xAF", -1, 0, "UTF-8" },
    { "\xF4\x90\x80\x80", -1, 0, "UTF-8" },
    { "\xE2\x82", -1, 0, "UTF-8" },
    { "\x80", -1, 0, "UTF-8" },
    { "\xFF", -1, 0, "UTF-8" },
};


static const tcase_t  media[] = {
    { "application/json", -1, 1, NULL },
    { "text/plain; charset=utf-8", -1, 1, NULL },
    { "text/plain;charset=\"utf-8\";format=flowed", -1, 1, NULL },
    { "multipart/mixed; boundary=\"a b;c\"", -1, 1, NULL },
    { "application/vnd.api+json", -1, 1, NULL },
    { "text/plain;", -1, 1, NULL },
    { "json", -1, 0, "type/subtype" },
    { "application/", -1, 0, "subtype" },
    { "/json", -1, 0, "media type token" },
    { "application/json; charset", -1, 0, "name=value" },
    { "application/json; =x", -1, 0, "token" },
    { "application/json; a=\"open", -1, 0, "not terminated" },
    { "application/json x", -1, 0, "separated by ';'" },
    { "application/json ", -1, 0, "whitespace" },
    { "app lication/json", -1, 0, "type/subtype" },
    { "application/js(on", -1, 0, "not allowed" },
    { "", -1, 0, "media type" },
};


static const tcase_t  traceparents[] = {
    { "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", -1, 1, NULL },
    { "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what", -1, 1,
      NULL },
    { "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x", -1, 0,
      "exactly 55" },
    { "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", -1, 0,
      "ff" },
    { "00-00000000000000000000000000000000-00f067aa0ba902b7-01", -1, 0,
      "trace-id" },
    { "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", -1, 0,
      "parent-id" },
    { "00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01", -1, 0,
      "lowercase hex" },
    { "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x", -1, 0,
      "'-'" },
    /* found by fuzz_ce_binary: raw bytes from an HTTP traceparent header */
    { "15-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-a\xff\xff" "b",
      -1, 0, "visible ASCII" },
    { "15-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-a b", -1, 0,
      "visible ASCII" },
    { "", -1, 0, "lowercase hex" },
};


static const tcase_t  tracestates[] = {
    { "congo=t61rcWkgMzE", -1, 1, NULL },
    { "rojo=00f067aa0ba902b7, congo=t61rcWkgMzE", -1, 1, NULL },
    { "a=1,,b=2", -1, 1, NULL },
    { "", -1, 1, NULL },
    { "novalue", -1, 0, "key=value" },
    { "a=", -1, 0, "key=value" },
    { "=b", -1, 0, "key=value" },
    { "k0=v,k1=v,k2=v,k3=v,k4=v,k5=v,k6=v,k7=v,k8=v,k9=v,k10=v,k11=v,"
      "k12=v,k13=v,k14=v,k15=v,k16=v,k17=v,k18=v,k19=v,k20=v,k21=v,k22=v,"
      "k23=v,k24=v,k25=v,k26=v,k27=v,k28=v,k29=v,k30=v,k31=v", -1, 1, NULL },
    { "k0=v,k1=v,k2=v,k3=v,k4=v,k5=v,k6=v,k7=v,k8=v,k9=v,k10=v,k11=v,"
      "k12=v,k13=v,k14=v,k15=v,k16=v,k17=v,k18=v,k19=v,k20=v,k21=v,k22=v,"
      "k23=v,k24=v,k25=v,k26=v,k27=v,k28=v,k29=v,k30=v,k31=v,k32=v", -1, 0,
      "32" },
};


static void
test_json_media(void)
{
    static const struct {
        const char  *mt;
        int          json;
    } c[] = {
        { "application/json", 1 },
        { "APPLICATION/JSON; charset=utf-8", 1 },
        { "text/json", 1 },
        { "application/cloudevents+json", 1 },
        { "application/vnd.x+JSON", 1 },
        { " application/json ", 1 },
        { "application/json-seq", 0 },
        { "application/jsonx", 0 },
        { "text/plain", 0 },
        { "+json", 0 },
        { "application/+json", 0 },
        { "", 0 },
    };
    size_t  i;

    for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        is_long(em_media_type_is_json(c[i].mt, strlen(c[i].mt)), c[i].json,
                "'%s' %s JSON", c[i].mt, c[i].json ? "is" : "is not");
    }
}


static void
test_known_types(void)
{
    int  known;

    is_long(em_attr_known_type("time", &known), EM_TYPE_TIMESTAMP,
            "time is a Timestamp");
    ok(known, "time is known");
    is_long(em_attr_known_type("dataschema", &known), EM_TYPE_URI,
            "dataschema is a URI");
    is_long(em_attr_known_type("sampledrate", &known), EM_TYPE_INTEGER,
            "sampledrate is an Integer");
    is_long(em_attr_known_type("dataref", &known), EM_TYPE_URI_REF,
            "dataref is a URI-reference");
    is_long(em_attr_known_type("whatever", &known), EM_TYPE_STRING,
            "unknown is a String");
    ok(!known, "unknown is not known");
}


int
main(void)
{
    RUN("timestamp", em_check_timestamp, timestamps);
    RUN("uri-ref", em_check_uri_ref, uri_refs);
    RUN("uri", em_check_uri, uris);
    RUN("integer", em_check_integer, integers);
    RUN("boolean", em_check_boolean, booleans);
    RUN("name", em_check_attr_name, names);
    RUN("string", em_check_string, strings);
    RUN("media type", em_check_media_type, media);
    RUN("traceparent", em_check_traceparent, traceparents);
    RUN("tracestate", em_check_tracestate, tracestates);
    test_json_media();
    test_known_types();
    return tap_done();
}
