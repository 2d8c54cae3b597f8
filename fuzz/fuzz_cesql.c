/*
 * CESQL: the input is an expression, compiled and evaluated against a
 * fixed event.  Beyond "no crash, no leak, no stack overflow":
 *
 * - a refused expression has a kind a compiler may give, a column inside
 *   the input (or just past it) and a message;
 * - evaluation yields one of the spec's error kinds and a value of one of
 *   the three types, the same on a second run with the same scratch;
 * - the canonical text compiles back to the same text and evaluates to the
 *   same value and error (it is the same tree).
 */

#include "fuzz_common.h"

#include <eventmesh/cesql.h>


static em_event_t  *fuzz_ev;


static void
fuzz_event(void)
{
    static const struct {
        const char  *name;
        const char  *value;
        em_type_t    type;
    } attrs[] = {
        { "specversion", "1.0", EM_TYPE_STRING },
        { "id", "myId", EM_TYPE_STRING },
        { "source", "http://localhost/source", EM_TYPE_URI_REF },
        { "type", "com.example.order.created", EM_TYPE_STRING },
        { "subject", "Francesco", EM_TYPE_STRING },
        { "time", "2018-04-26T14:48:09+02:00", EM_TYPE_TIMESTAMP },
        { "myext", "abc123123%456_dzf", EM_TYPE_STRING },
        { "myint", "10", EM_TYPE_INTEGER },
        { "mybool", "true", EM_TYPE_BOOLEAN },
        { "hop", "5", EM_TYPE_STRING },
        { "ttl", "10", EM_TYPE_STRING },
        { "name", "h\xc3\xa9llo w\xc3\xb6rld \xe2\xb1\xa5", EM_TYPE_STRING },
    };
    size_t  i;

    fuzz_ev = em_event_new();
    FUZZ_ASSERT(fuzz_ev != NULL);

    for (i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
        FUZZ_ASSERT(em_event_set(fuzz_ev, attrs[i].name, attrs[i].value,
                                 strlen(attrs[i].value), attrs[i].type)
                    == EM_OK);
    }
}


static int
fuzz_same(const em_cesql_value_t *a, const em_cesql_value_t *b)
{
    if (a->type != b->type) {
        return 0;
    }

    switch (a->type) {
    case EM_CESQL_BOOLEAN:
        return a->b == b->b;
    case EM_CESQL_INTEGER:
        return a->i == b->i;
    default:
        return a->len == b->len
               && (a->len == 0 || memcmp(a->s, b->s, a->len) == 0);
    }
}


static void
fuzz_check_value(em_cesql_error_t rc, const em_cesql_value_t *v)
{
    FUZZ_ASSERT(rc >= EM_CESQL_OK && rc <= EM_CESQL_EGENERIC);
    FUZZ_ASSERT(rc != EM_CESQL_EPARSE && rc != EM_CESQL_EMISSING_FUNCTION);
    FUZZ_ASSERT(v->type == EM_CESQL_BOOLEAN || v->type == EM_CESQL_INTEGER
                || v->type == EM_CESQL_STRING);
    FUZZ_ASSERT(v->type != EM_CESQL_BOOLEAN || v->b == 0 || v->b == 1);
    FUZZ_ASSERT(v->type != EM_CESQL_STRING || v->s != NULL);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    em_cesql_compile_error_t   err;
    em_cesql_scratch_t         s;
    em_cesql_limits_t          lim;
    em_cesql_value_t           v1, v2, copy;
    em_cesql_error_t           rc1, rc2;
    em_cesql_t                *e, *back;
    const char                *text;
    char                      *keep;

    if (fuzz_ev == NULL) {
        fuzz_event();
    }

    e = em_cesql_compile((const char *) data, size, NULL, &err);

    if (e == NULL) {
        FUZZ_ASSERT(err.kind == EM_CESQL_EPARSE
                    || err.kind == EM_CESQL_EMISSING_FUNCTION
                    || err.kind == EM_CESQL_EGENERIC);
        FUZZ_ASSERT(err.column >= 1 && err.column <= size + 1);
        FUZZ_ASSERT(memchr(err.message, '\0', sizeof(err.message)) != NULL);
        FUZZ_ASSERT(err.message[0] != '\0');
        return 0;
    }

    memset(&s, 0, sizeof(s));

    rc1 = em_cesql_eval(e, fuzz_ev, &s, &v1);
    fuzz_check_value(rc1, &v1);
    FUZZ_ASSERT(em_cesql_match(e, fuzz_ev, &s)
                == (rc1 == EM_CESQL_OK && v1.type == EM_CESQL_BOOLEAN
                    && v1.b));

    /* the value may live in the scratch: keep a copy for comparisons */
    rc1 = em_cesql_eval(e, fuzz_ev, &s, &v1);
    copy = v1;
    keep = NULL;
    if (v1.type == EM_CESQL_STRING) {
        keep = malloc(v1.len + 1);
        FUZZ_ASSERT(keep != NULL);
        memcpy(keep, v1.s, v1.len);
        copy.s = keep;
    }

    rc2 = em_cesql_eval(e, fuzz_ev, &s, &v2);
    FUZZ_ASSERT(rc1 == rc2 && fuzz_same(&copy, &v2));

    /* the text is longer and nests more parentheses than the input may */
    text = em_cesql_text(e);
    memset(&lim, 0, sizeof(lim));
    lim.max_length = 1 << 20;
    lim.max_depth = 256;

    back = em_cesql_compile(text, strlen(text), &lim, &err);
    FUZZ_ASSERT(back != NULL);
    FUZZ_ASSERT(strcmp(em_cesql_text(back), text) == 0);

    rc2 = em_cesql_eval(back, fuzz_ev, &s, &v2);
    FUZZ_ASSERT(rc1 == rc2 && fuzz_same(&copy, &v2));

    free(keep);
    em_cesql_free(back);
    em_cesql_free(e);
    em_cesql_scratch_free(&s);
    return 0;
}
