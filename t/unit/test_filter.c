/*
 * Trigger filters (include/eventmesh/filter.h): Knative's filter.attributes
 * rules, each from the side that passes and the side that fails, plus the
 * construction errors, the pushed-down type, the canonical text and the
 * promise that matching never allocates; then the same for the filters
 * dialect (exact, prefix, suffix, all, any, not, cesql).
 */

#include <eventmesh/event.h>
#include <eventmesh/filter.h>

#include "tap.h"

#include <stdlib.h>
#include <string.h>


/* --- counting allocations ---------------------------------------------- */

#include "alloc_count.h"


/* --- helpers ------------------------------------------------------------ */

/* An event from name/value pairs ending with NULL (all strings). */
static em_event_t *
event(const char *first, ...)
{
    em_event_t  *ev;
    va_list      ap;
    const char  *name, *value;
    int          known;

    ev = em_event_new();
    if (ev == NULL) {
        abort();
    }

    va_start(ap, first);
    for (name = first; name != NULL; name = va_arg(ap, const char *)) {
        value = va_arg(ap, const char *);
        if (em_event_set(ev, name, value, strlen(value),
                         em_attr_known_type(name, &known)) != EM_OK)
        {
            abort();
        }
    }
    va_end(ap);

    return ev;
}

/* The four required attributes plus the given ones. */
#define EVENT(...)                                                           \
    event("specversion", "1.0", "id", "1", "source", "mock",                \
          "type", "user.created", __VA_ARGS__)

static em_filter_t *
filter(size_t n, const char *const *names, const char *const *values)
{
    em_filter_t  *f;
    const char   *err;

    f = em_filter_attributes(names, values, n, &err);
    if (f == NULL) {
        diag("em_filter_attributes: %s", err);
        abort();
    }

    return f;
}

/* 1 when the one-pair filter name=value matches ev. */
static int
match1(const char *name, const char *value, const em_event_t *ev)
{
    em_filter_t  *f;
    int           m;

    f = filter(1, &name, &value);
    m = em_filter_match(f, ev);
    em_filter_free(f);
    return m;
}

static const char *
refused(size_t n, const char *const *names, const char *const *values)
{
    em_filter_t  *f;
    const char   *err;

    err = NULL;
    f = em_filter_attributes(names, values, n, &err);
    if (f != NULL) {
        em_filter_free(f);
        return NULL;
    }

    return err ? err : "(no message)";
}


/* A one-pair exact/prefix/suffix filter; aborts when refused. */
static em_filter_t *
pair(em_filter_kind_t kind, const char *name, const char *value)
{
    em_filter_t  *f;
    const char   *err;

    f = kind == EM_FILTER_EXACT ? em_filter_exact(&name, &value, 1, &err)
        : kind == EM_FILTER_PREFIX ? em_filter_prefix(&name, &value, 1, &err)
        : em_filter_suffix(&name, &value, 1, &err);
    if (f == NULL) {
        diag("pair %s=%s: %s", name, value, err);
        abort();
    }

    return f;
}

static int
match_pair(em_filter_kind_t kind, const char *name, const char *value,
    const em_event_t *ev)
{
    em_filter_t  *f;
    int           m;

    f = pair(kind, name, value);
    m = em_filter_match(f, ev);
    em_filter_free(f);
    return m;
}

/* all/any of up to four operands (NULL-terminated); aborts when refused */
static em_filter_t *
list(em_filter_kind_t kind, em_filter_t *a, em_filter_t *b, em_filter_t *c,
    em_filter_t *d)
{
    em_filter_t  *ops[4], *f;
    const char   *err;
    size_t        n;

    n = 0;
    if (a) { ops[n++] = a; }
    if (b) { ops[n++] = b; }
    if (c) { ops[n++] = c; }
    if (d) { ops[n++] = d; }

    f = kind == EM_FILTER_ALL ? em_filter_all(ops, n, &err)
                              : em_filter_any(ops, n, &err);
    if (f == NULL) {
        diag("list: %s", err);
        abort();
    }

    return f;
}

static em_filter_t *
not(em_filter_t *child)
{
    em_filter_t  *f;
    const char   *err;

    f = em_filter_not(child, &err);
    if (f == NULL) {
        diag("not: %s", err);
        abort();
    }

    return f;
}

#define ALL(a, b)  list(EM_FILTER_ALL, a, b, NULL, NULL)
#define ANY(a, b)  list(EM_FILTER_ANY, a, b, NULL, NULL)
#define EXACT(n, v)   pair(EM_FILTER_EXACT, n, v)
#define PREFIX(n, v)  pair(EM_FILTER_PREFIX, n, v)
#define SUFFIX(n, v)  pair(EM_FILTER_SUFFIX, n, v)

/* The canonical text of f, freed by the caller with free(). */
static char *
text(const em_filter_t *f)
{
    em_buf_t  b;

    em_buf_init(&b);
    if (em_filter_write(f, &b) != EM_OK) {
        em_buf_free(&b);
        return strdup("(em_filter_write failed)");
    }

    return b.data;
}

/* is_str() on the text of f, which is then freed */
static void
text_is(em_filter_t *f, const char *want, const char *name)
{
    char  *t;

    t = text(f);
    is_str(t, want, "%s", name);
    free(t);
    em_filter_free(f);
}


/* --- the filters dialect ------------------------------------------------ */

static void
test_dialect_pairs(const em_event_t *ev, const em_event_t *bare)
{
    em_filter_t  *f;
    em_event_t   *media;
    const char   *err;

    /* exact: filter.attributes' lookup, but "" refused */
    ok(match_pair(EM_FILTER_EXACT, "type", "user.created", ev),
       "exact type equal: passes");
    ok(!match_pair(EM_FILTER_EXACT, "type", "user.create", ev),
       "exact: a prefix of the value fails");
    ok(!match_pair(EM_FILTER_EXACT, "type", "User.Created", ev),
       "exact: case-sensitive");
    ok(!match_pair(EM_FILTER_EXACT, "eventtypeversion", "v1", bare),
       "exact: a missing extension fails");
    ok(!match_pair(EM_FILTER_EXACT, "subject", "x", bare),
       "exact: an unset subject fails");
    ok(match_pair(EM_FILTER_EXACT, "schemaurl", "http://schemas/user", ev),
       "exact: schemaurl reads dataschema");

    {
        const char  *n[] = { "type", "source", "eventtypeversion" };
        const char  *v[] = { "user.created", "mock", "v1" };
        const char  *w[] = { "user.created", "mock", "v2" };

        f = em_filter_exact(n, v, 3, &err);
        ok(f != NULL && em_filter_match(f, ev),
           "exact with three keys, all equal: passes");
        ok(f != NULL && !em_filter_match(f, bare),
           "exact with three keys, one missing: fails");
        is_long(em_filter_kind(f), EM_FILTER_EXACT, "kind EXACT");
        em_filter_free(f);

        f = em_filter_exact(n, w, 3, &err);
        ok(f != NULL && !em_filter_match(f, ev),
           "exact with three keys, one different: fails");
        em_filter_free(f);

        f = em_filter_prefix(n, v, 3, &err);
        ok(f != NULL && em_filter_match(f, ev),
           "prefix with three keys, whole values: passes");
        em_filter_free(f);
    }

    /* prefix */
    ok(match_pair(EM_FILTER_PREFIX, "type", "user.", ev),
       "prefix user. of user.created: passes");
    ok(match_pair(EM_FILTER_PREFIX, "type", "user.created", ev),
       "prefix equal to the whole value: passes");
    ok(!match_pair(EM_FILTER_PREFIX, "type", "user.created.", ev),
       "prefix longer than the value: fails");
    ok(!match_pair(EM_FILTER_PREFIX, "type", "User.", ev),
       "prefix: case-sensitive");
    ok(!match_pair(EM_FILTER_PREFIX, "type", "created", ev),
       "prefix: a suffix is not a prefix");
    ok(!match_pair(EM_FILTER_PREFIX, "eventtypeversion", "v", bare),
       "prefix: a missing extension fails");
    ok(match_pair(EM_FILTER_PREFIX, "subject", "users/", ev),
       "prefix on subject: passes");
    ok(!match_pair(EM_FILTER_PREFIX, "subject", "u", bare),
       "prefix on an unset subject: fails");

    /* suffix */
    ok(match_pair(EM_FILTER_SUFFIX, "type", ".created", ev),
       "suffix .created: passes");
    ok(match_pair(EM_FILTER_SUFFIX, "type", "user.created", ev),
       "suffix equal to the whole value: passes");
    ok(!match_pair(EM_FILTER_SUFFIX, "type", "xuser.created", ev),
       "suffix longer than the value: fails");
    ok(!match_pair(EM_FILTER_SUFFIX, "type", "user.", ev),
       "suffix: a prefix is not a suffix");
    ok(!match_pair(EM_FILTER_SUFFIX, "type", ".Created", ev),
       "suffix: case-sensitive");
    ok(!match_pair(EM_FILTER_SUFFIX, "myext", "x", bare),
       "suffix: a missing extension fails");

    media = EVENT("datacontenttype", "application/json; charset=utf-8",
                  NULL);
    ok(match_pair(EM_FILTER_SUFFIX, "datamediatype", "/json", media),
       "suffix on datamediatype: the type without parameters");
    ok(!match_pair(EM_FILTER_SUFFIX, "datacontenttype", "/json", media),
       "datacontenttype keeps its parameters");
    ok(match_pair(EM_FILTER_PREFIX, "datacontenttype", "application/", media),
       "prefix on datacontenttype: passes");
    em_event_free(media);

    /* refused at construction */
    {
        const char  *n[] = { "type" };
        const char  *empty[] = { "" };
        const char  *bad[] = { "Type" };
        const char  *v[] = { "x" };
        const char  *n2[] = { "type", "type" };
        const char  *v2[] = { "a", "b" };

        err = NULL;
        f = em_filter_exact(n, empty, 1, &err);
        ok(f == NULL && err != NULL && strstr(err, "empty value") != NULL,
           "exact with an empty value: refused (%s)", err ? err : "-");
        f = em_filter_prefix(n, empty, 1, &err);
        ok(f == NULL && err != NULL, "prefix with an empty value: refused");
        f = em_filter_suffix(n, empty, 1, &err);
        ok(f == NULL && err != NULL, "suffix with an empty value: refused");
        f = em_filter_exact(NULL, NULL, 0, &err);
        ok(f == NULL && err != NULL && strstr(err, "at least one") != NULL,
           "exact without a pair: refused (%s)", err ? err : "-");
        f = em_filter_prefix(bad, v, 1, &err);
        ok(f == NULL && err != NULL && strstr(err, "lower-case") != NULL,
           "prefix on an invalid name: refused");
        f = em_filter_suffix(n2, v2, 2, &err);
        ok(f == NULL && err != NULL && strstr(err, "twice") != NULL,
           "suffix naming an attribute twice: refused");
    }
}


static void
test_dialect_trees(const em_event_t *ev, const em_event_t *bare)
{
    em_filter_t  *f, *ops[2];
    const char   *err;

    /* all: AND */
    f = ALL(EXACT("type", "user.created"), PREFIX("source", "mo"));
    ok(em_filter_match(f, ev), "all of two passing: passes");
    em_filter_free(f);
    f = ALL(EXACT("type", "user.created"), PREFIX("source", "x"));
    ok(!em_filter_match(f, ev), "all with one failing: fails");
    em_filter_free(f);
    f = ALL(EXACT("type", "x"), PREFIX("source", "x"));
    ok(!em_filter_match(f, ev), "all with both failing: fails");
    em_filter_free(f);
    f = list(EM_FILTER_ALL, SUFFIX("type", "created"), NULL, NULL, NULL);
    ok(em_filter_match(f, ev), "all of one: that one");
    em_filter_free(f);

    /* any: OR */
    f = ANY(EXACT("type", "x"), EXACT("type", "user.created"));
    ok(em_filter_match(f, ev), "any with the second passing: passes");
    em_filter_free(f);
    f = ANY(EXACT("type", "user.created"), EXACT("type", "x"));
    ok(em_filter_match(f, ev), "any with the first passing: passes");
    em_filter_free(f);
    f = ANY(EXACT("type", "x"), EXACT("type", "y"));
    ok(!em_filter_match(f, ev), "any with none passing: fails");
    em_filter_free(f);

    /* not */
    f = not(EXACT("type", "user.created"));
    ok(!em_filter_match(f, ev), "not of a passing filter: fails");
    em_filter_free(f);
    f = not(EXACT("eventtypeversion", "v1"));
    ok(!em_filter_match(f, ev) && em_filter_match(f, bare),
       "not exact: passes where the extension is missing");
    em_filter_free(f);
    f = not(not(PREFIX("type", "user.")));
    ok(em_filter_match(f, ev), "not not: the filter itself");
    em_filter_free(f);

    /* nesting: (type user.* AND NOT subject users/4*) OR source x */
    f = ANY(ALL(PREFIX("type", "user."), not(PREFIX("subject", "users/4"))),
            EXACT("source", "x"));
    ok(!em_filter_match(f, ev), "nested: users/42 is excluded");
    ok(em_filter_match(f, bare), "nested: no subject, not excluded");
    em_filter_free(f);

    /* refused, and the operands freed (ASan's leak check sees to it) */
    err = NULL;
    f = em_filter_all(NULL, 0, &err);
    ok(f == NULL && err != NULL && strstr(err, "at least one") != NULL,
       "all of nothing: refused (%s)", err ? err : "-");
    f = em_filter_any(NULL, 0, &err);
    ok(f == NULL && err != NULL, "any of nothing: refused");
    f = em_filter_not(NULL, &err);
    ok(f == NULL && err != NULL, "not of nothing: refused");
    ops[0] = EXACT("type", "a");
    ops[1] = NULL;
    f = em_filter_all(ops, 2, &err);
    ok(f == NULL && err != NULL, "all with a NULL operand: refused, "
       "the other freed");
}


static void
test_dialect_pinned(void)
{
    em_filter_t  *f;
    const char   *err;

    f = EXACT("type", "a.b");
    is_str(em_filter_exact_type(f), "a.b", "exact type at the top: pushed");
    em_filter_free(f);

    f = ALL(PREFIX("subject", "x"), EXACT("type", "a.b"));
    is_str(em_filter_exact_type(f), "a.b", "exact type inside all: pushed");
    em_filter_free(f);

    f = ALL(PREFIX("subject", "x"), ALL(not(EXACT("source", "s")),
                                         EXACT("type", "a.b")));
    is_str(em_filter_exact_type(f), "a.b", "inside an all in an all: pushed");
    em_filter_free(f);

    f = ANY(EXACT("type", "a.b"), EXACT("type", "a.b"));
    ok(em_filter_exact_type(f) == NULL,
       "exact type inside any: not pushed (other operands could admit "
       "other types)");
    em_filter_free(f);

    f = ALL(EXACT("source", "s"), ANY(EXACT("type", "a"), EXACT("type", "b")));
    ok(em_filter_exact_type(f) == NULL, "an all holding an any of types: not "
       "pushed");
    is_str(em_filter_attribute(f, "source"), "s",
           "but the source it pins is known");
    em_filter_free(f);

    f = not(EXACT("type", "a"));
    ok(em_filter_exact_type(f) == NULL, "not exact type: not pushed");
    em_filter_free(f);

    f = ALL(not(EXACT("type", "a")), PREFIX("source", "s"));
    ok(em_filter_exact_type(f) == NULL, "all holding a not of a type: not "
       "pushed");
    ok(em_filter_attribute(f, "source") == NULL,
       "a prefix pins nothing");
    em_filter_free(f);

    f = PREFIX("type", "a");
    ok(em_filter_exact_type(f) == NULL, "prefix type: not pushed");
    em_filter_free(f);

    f = SUFFIX("type", "a");
    ok(em_filter_exact_type(f) == NULL, "suffix type: not pushed");
    em_filter_free(f);

    {
        const char  *n[] = { "type", "source", "eventtypeversion" };
        const char  *v[] = { "order.created", "shop", "v1" };

        f = em_filter_exact(n, v, 3, &err);
        is_str(em_filter_attribute(f, "source"), "shop",
               "em_filter_attribute: exact source");
        is_str(em_filter_attribute(f, "eventtypeversion"), "v1",
               "em_filter_attribute: exact eventtypeversion");
        ok(em_filter_attribute(f, "subject") == NULL,
           "em_filter_attribute: an unnamed one is NULL");
        is_long((long) em_filter_nattrs(f), 0,
                "the pairs of filter.attributes only: none for exact");
        em_filter_free(f);
    }
}


static void
test_dialect_text(void)
{
    em_filter_t  *f, *g;
    char         *a, *b;
    const char   *err;

    text_is(EXACT("type", "a.b"), "exact(type=\"a.b\")", "exact text");
    text_is(PREFIX("source", "/x"), "prefix(source=\"/x\")", "prefix text");
    text_is(SUFFIX("subject", ".png"), "suffix(subject=\".png\")",
            "suffix text");
    text_is(ALL(EXACT("type", "a"), not(SUFFIX("source", "z"))),
            "all(exact(type=\"a\"), not(suffix(source=\"z\")))",
            "all and not text");
    text_is(ANY(EXACT("type", "a"), EXACT("type", "b")),
            "any(exact(type=\"a\"), exact(type=\"b\"))", "any text");
    text_is(EXACT("x", "say \"hi\"\\\n\x7f\xc3\xa9"),
            "exact(x=\"say \\\"hi\\\"\\\\\\x0a\\x7f\xc3\xa9\")",
            "quotes, backslashes and control bytes escaped, UTF-8 kept");

    {
        const char  *n1[] = { "type", "source" };
        const char  *v1[] = { "a", "b" };
        const char  *n2[] = { "source", "type" };
        const char  *v2[] = { "b", "a" };
        const char  *n3[] = { "x" };
        const char  *v3[] = { "1\", y=\"2" };
        const char  *n4[] = { "x", "y" };
        const char  *v4[] = { "1", "2" };

        f = em_filter_exact(n1, v1, 2, &err);
        g = em_filter_exact(n2, v2, 2, &err);
        a = text(f);
        b = text(g);
        is_str(a, b, "the order of the keys of one map does not matter");
        free(a);
        free(b);
        em_filter_free(f);
        em_filter_free(g);

        f = em_filter_exact(n3, v3, 1, &err);
        g = em_filter_exact(n4, v4, 2, &err);
        a = text(f);
        b = text(g);
        ok(strcmp(a, b) != 0, "a value cannot pass for another pair "
           "(%s vs %s)", a, b);
        free(a);
        free(b);
        em_filter_free(f);
        em_filter_free(g);
    }

    /* every change of kind or value changes the text */
    {
        em_filter_t  *fs[8];
        char         *ts[8];
        size_t        i, k;
        int           distinct;

        fs[0] = EXACT("type", "a");
        fs[1] = PREFIX("type", "a");
        fs[2] = SUFFIX("type", "a");
        fs[3] = not(EXACT("type", "a"));
        fs[4] = ALL(EXACT("type", "a"), EXACT("source", "b"));
        fs[5] = ANY(EXACT("type", "a"), EXACT("source", "b"));
        fs[6] = ALL(EXACT("source", "b"), EXACT("type", "a"));
        fs[7] = EXACT("type", "b");

        for (i = 0; i < 8; i++) {
            ts[i] = text(fs[i]);
        }

        distinct = 1;
        for (i = 0; i < 8; i++) {
            for (k = i + 1; k < 8; k++) {
                if (strcmp(ts[i], ts[k]) == 0) {
                    diag("same text: %s", ts[i]);
                    distinct = 0;
                }
            }
        }
        ok(distinct, "eight different filters, eight different texts");

        for (i = 0; i < 8; i++) {
            free(ts[i]);
            em_filter_free(fs[i]);
        }
    }
}


static void
test_dialect_no_alloc(const em_event_t *ev, const em_event_t *bare)
{
    em_filter_t  *f;
    long          before;
    int           i, m;

    f = ALL(ANY(EXACT("type", "x"), PREFIX("type", "user.")),
            ALL(not(SUFFIX("source", "z")),
                ANY(EXACT("eventtypeversion", "v1"),
                    PREFIX("datamediatype", "application/"))));
    m = 0;

#if COUNT_ALLOCS
    before = allocs;
    for (i = 0; i < 1000; i++) {
        m += em_filter_match(f, ev);
        m += em_filter_match(f, bare);
    }
    is_long(allocs - before, 0, "a dialect tree: 2000 matches, 0 allocations");
#else
    (void) before;
    for (i = 0; i < 1000; i++) {
        m += em_filter_match(f, ev) + em_filter_match(f, bare);
    }
    ok(1, "allocation count # SKIP ASan owns malloc");
#endif
    is_long(m, 1000, "and the answers: ev passes, bare fails");
    em_filter_free(f);
}


static em_filter_t *
cesql(const char *expr)
{
    em_cesql_compile_error_t  cerr;
    em_filter_t              *f;
    const char               *err;

    f = em_filter_cesql(expr, strlen(expr), &cerr, &err);
    if (f == NULL) {
        diag("cesql %s: %s", expr, err);
        abort();
    }

    return f;
}


static int
match_cesql(const char *expr, const em_event_t *ev)
{
    em_filter_t  *f;
    int           m;

    f = cesql(expr);
    m = em_filter_match(f, ev);
    em_filter_free(f);
    return m;
}


static void
test_cesql(const em_event_t *ev, const em_event_t *bare)
{
    em_cesql_compile_error_t  cerr;
    em_filter_t              *f;
    const char               *err;
    long                      before;
    int                       i, m;

    ok(match_cesql("type LIKE 'user.%' AND subject = 'users/42'", ev),
       "cesql true: passes");
    ok(!match_cesql("type LIKE 'user.%' AND subject = 'users/42'", bare),
       "cesql on a missing subject: fails (fail fast)");
    ok(!match_cesql("type = 'user.deleted'", ev), "cesql false: fails");
    ok(match_cesql("EXISTS eventtypeversion", ev), "EXISTS: passes");
    ok(!match_cesql("EXISTS eventtypeversion", bare), "EXISTS: fails");
    ok(!match_cesql("myext = 'x'", bare),
       "a missing attribute is an error: fails");
    ok(!match_cesql("subject", ev), "a string result: fails");
    ok(!match_cesql("1 / 0 = 0", ev), "a math error: fails");
    ok(match_cesql("type = 'user.created' OR myext = 'x'", ev),
       "OR short-circuits before the missing attribute: passes");
    ok(!match_cesql("myext = 'x' OR type = 'user.created'", ev),
       "the missing attribute first: fails (fail fast, TCK)");

    /* not of a failing cesql passes, errors included (Knative's too) */
    f = not(cesql("myext = 'x'"));
    ok(em_filter_match(f, bare), "not over an erroring cesql: passes");
    em_filter_free(f);

    f = cesql("type = 'a'");
    is_long(em_filter_kind(f), EM_FILTER_CESQL, "kind CESQL");
    ok(em_filter_cesql_expr(f) != NULL, "its expression");
    ok(em_filter_exact_type(f) == NULL, "a cesql type is not pushed down");
    ok(em_filter_attribute(f, "type") == NULL, "nor an attribute");
    em_filter_free(f);

    f = ALL(cesql("subject LIKE 'users/%'"), EXACT("type", "user.created"));
    is_str(em_filter_exact_type(f), "user.created",
           "exact type beside a cesql in an all: pushed down");
    ok(em_filter_match(f, ev), "and the all passes");
    em_filter_free(f);

    f = EXACT("type", "a");
    ok(em_filter_cesql_expr(f) == NULL, "no expression for exact");
    em_filter_free(f);

    /* compile errors */
    f = em_filter_cesql("type =", 6, &cerr, &err);
    ok(f == NULL && cerr.kind == EM_CESQL_EPARSE && cerr.column == 7
       && err != NULL && strstr(err, "column 7") != NULL,
       "a parse error: refused, with its column (%s)", err ? err : "-");
    f = em_filter_cesql("nosuch(1)", 9, &cerr, &err);
    ok(f == NULL && err != NULL && cerr.kind == EM_CESQL_EMISSING_FUNCTION,
       "an unknown function: refused (%s)", err ? err : "-");

    /* canonical text */
    text_is(cesql("type='a'"), "cesql(\"type = 'a'\")",
            "cesql text: the expression's canonical form");
    text_is(cesql("type = \"a\\\"b\""), "cesql(\"type = 'a\\\"b'\")",
            "a quote inside is escaped");
    text_is(ANY(cesql("type LIKE 'a%'"), EXACT("type", "b")),
            "any(cesql(\"type LIKE 'a%'\"), exact(type=\"b\"))",
            "cesql inside any");

    {
        char  *a, *b, *c;

        f = cesql("type = 'a' AND subject = 'b'");
        a = text(f);
        em_filter_free(f);
        f = cesql("type='a'   and subject='b'");
        b = text(f);
        em_filter_free(f);
        f = cesql("type = 'a' AND subject = 'c'");
        c = text(f);
        em_filter_free(f);
        is_str(a, b, "spacing and keyword case: the same text");
        ok(strcmp(a, c) != 0, "another value: another text");
        free(a);
        free(b);
        free(c);
    }

    /* the scratch grows once, then matching allocates nothing */
    f = cesql("CONCAT(UPPER(type), '/', source) = 'USER.CREATED/mock'");
    m = em_filter_match(f, ev) + em_filter_match(f, bare);
    is_long(m, 2, "string functions: both pass");

#if COUNT_ALLOCS
    before = allocs;
    for (i = 0; i < 1000; i++) {
        m += em_filter_match(f, ev);
        m += em_filter_match(f, bare);
    }
    is_long(allocs - before, 0, "cesql: 2000 matches after the first, "
            "0 allocations");
#else
    (void) before;
    for (i = 0; i < 1000; i++) {
        m += em_filter_match(f, ev) + em_filter_match(f, bare);
    }
    ok(1, "allocation count # SKIP ASan owns malloc");
#endif
    is_long(m, 2002, "and the answers");
    em_filter_free(f);
}


int
main(void)
{
    em_event_t   *ev, *bare, *ext_empty, *media, *num;
    em_filter_t  *f, *g;
    const char   *name, *value, *err;
    em_buf_t      a, b;

    ev = EVENT("eventtypeversion", "v1", "subject", "users/42",
               "datacontenttype", "application/json",
               "dataschema", "http://schemas/user", NULL);
    bare = event("specversion", "1.0", "id", "1", "source", "mock",
                 "type", "user.created", NULL);

    /* --- the empty filter --------------------------------------------- */

    f = filter(0, NULL, NULL);
    is_long(em_filter_kind(f), EM_FILTER_TRUE, "no attributes: kind TRUE");
    ok(em_filter_match(f, ev), "no attributes: matches an event");
    ok(em_filter_match(f, bare), "no attributes: matches a bare event");
    ok(em_filter_exact_type(f) == NULL, "no attributes: no type to push down");
    ok(em_filter_attribute(f, "type") == NULL, "no attributes: no attribute");
    is_long((long) em_filter_nattrs(f), 0, "no attributes: no pairs");
    em_filter_free(f);

    /* --- exact match ---------------------------------------------------- */

    ok(match1("type", "user.created", ev), "type equal: passes");
    ok(!match1("type", "user.deleted", ev), "type different: fails");
    ok(!match1("type", "User.Created", ev), "case-sensitive: fails");
    ok(!match1("type", "user.create", ev), "a prefix of the value: fails");
    ok(!match1("type", "user.created.x", ev), "longer than the value: fails");
    ok(match1("source", "mock", ev), "source equal: passes");
    ok(!match1("source", "mock2", ev), "source different: fails");
    ok(match1("specversion", "1.0", ev), "specversion: passes");
    ok(match1("id", "1", ev), "id: passes");
    ok(match1("subject", "users/42", ev), "subject set: passes");
    ok(!match1("subject", "users/43", ev), "subject different: fails");

    /* --- AND ---------------------------------------------------------- */

    {
        const char  *n2[] = { "type", "eventtypeversion", "source" };
        const char  *v2[] = { "user.created", "v1", "mock" };
        const char  *v3[] = { "user.created", "v2", "mock" };

        f = filter(3, n2, v2);
        ok(em_filter_match(f, ev), "three keys all equal: passes");
        ok(!em_filter_match(f, bare),
           "three keys, the extension missing: fails");
        em_filter_free(f);

        f = filter(3, n2, v3);
        ok(!em_filter_match(f, ev), "three keys, one different: fails");
        em_filter_free(f);
    }

    /* --- extensions: missing fails --------------------------------------- */

    ok(match1("eventtypeversion", "v1", ev), "extension equal: passes");
    ok(!match1("eventtypeversion", "v1", bare), "extension missing: fails");
    ok(!match1("nosuchext", "x", ev), "unknown extension: fails");

    /* --- "" means present and not empty ------------------------------- */

    ext_empty = EVENT("myext", "", NULL);

    ok(match1("eventtypeversion", "", ev),
       "\"\" and the extension set: passes");
    ok(!match1("eventtypeversion", "", bare),
       "\"\" and the extension missing: fails");
    ok(!match1("myext", "", ext_empty),
       "\"\" and the extension set to \"\": fails");
    ok(!match1("myext", "x", ext_empty),
       "\"x\" and the extension set to \"\": fails");
    ok(match1("type", "", ev), "\"\" on type (always set): passes");

    /* an unset standard attribute fails either way */
    ok(!match1("subject", "", bare), "\"\" on an unset subject: fails");
    ok(!match1("subject", "x", bare), "\"x\" on an unset subject: fails");
    ok(!match1("time", "", bare), "\"\" on an unset time: fails");
    ok(!match1("dataschema", "", bare), "\"\" on an unset dataschema: fails");
    ok(!match1("datacontenttype", "", bare),
       "\"\" on an unset datacontenttype: fails");

    /* --- Knative's aliases and derived attributes --------------------- */

    ok(match1("schemaurl", "http://schemas/user", ev),
       "schemaurl reads dataschema: passes");
    ok(!match1("schemaurl", "http://other", ev),
       "schemaurl different: fails");
    ok(!match1("schemaurl", "", bare), "schemaurl unset: fails");

    media = EVENT("datacontenttype", "application/json ; charset=utf-8",
                  NULL);
    ok(match1("datamediatype", "application/json", media),
       "datamediatype: the type without parameters: passes");
    ok(!match1("datamediatype", "application/json ; charset=utf-8", media),
       "datamediatype never holds the parameters");
    ok(match1("datamediatype", "application/json", ev),
       "datamediatype without parameters: passes");
    ok(match1("datacontenttype", "application/json ; charset=utf-8", media),
       "datacontenttype keeps them");
    ok(!match1("datamediatype", "", bare), "datamediatype unset: fails");

    ok(!match1("datacontentencoding", "", ev),
       "datacontentencoding (CloudEvents 0.3 only): fails on \"\"");
    ok(!match1("datacontentencoding", "base64", ev),
       "datacontentencoding: fails on a value");
    em_event_free(media);

    /* canonical string forms */
    num = EVENT("count", "5", "flag", "true", NULL);
    ok(match1("count", "5", num), "an integer extension compares as \"5\"");
    ok(match1("flag", "true", num), "a boolean extension compares as \"true\"");
    ok(!match1("flag", "True", num), "and case-sensitively");
    em_event_free(num);

    /* --- construction errors ------------------------------------------ */

    {
        const char  *bad[] = { "Type", "1abc", "a-b", "a_b", "", "caf\xc3\xa9",
                               "a b" };
        const char  *val[] = { "x" };
        size_t       i;

        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            err = refused(1, &bad[i], val);
            ok(err != NULL && strstr(err, "lower-case") != NULL,
               "name \"%s\" refused: %s", bad[i], err ? err : "accepted");
        }

        ok(em_filter_name_valid("a", 1), "name \"a\" is valid");
        ok(em_filter_name_valid("ce1x", 4), "name \"ce1x\" is valid");
        ok(!em_filter_name_valid("ab", 0), "an empty name is not");
    }

    {
        const char  *names[] = { "type", "source", "type" };
        const char  *values[] = { "a", "b", "a" };

        err = refused(3, names, values);
        ok(err != NULL && strstr(err, "twice") != NULL,
           "a name given twice is refused: %s", err ? err : "accepted");
    }

    {
        const char  *names[] = { "type" };
        const char  *values[] = { NULL };

        ok(refused(1, names, values) != NULL, "a NULL value is refused");
    }

    /* --- the pushed-down type ------------------------------------------ */

    {
        const char  *names[] = { "source", "type" };
        const char  *values[] = { "mock", "user.created" };
        const char  *empty[] = { "mock", "" };

        f = filter(2, names, values);
        is_str(em_filter_exact_type(f), "user.created",
               "exact type of type+source");
        is_str(em_filter_attribute(f, "source"), "mock",
               "em_filter_attribute(source)");
        ok(em_filter_attribute(f, "subject") == NULL,
           "em_filter_attribute of an absent key: NULL");
        is_long(em_filter_kind(f), EM_FILTER_ATTRIBUTES, "kind ATTRIBUTES");

        is_long((long) em_filter_nattrs(f), 2, "two pairs");
        ok(em_filter_attr_at(f, 0, &name, &value) == 0
           && strcmp(name, "source") == 0 && strcmp(value, "mock") == 0,
           "pairs sorted by name: source first");
        ok(em_filter_attr_at(f, 1, &name, &value) == 0
           && strcmp(name, "type") == 0, "then type");
        ok(em_filter_attr_at(f, 2, &name, &value) == -1, "then the end");
        em_filter_free(f);

        f = filter(2, names, empty);
        ok(em_filter_exact_type(f) == NULL,
           "type \"\" (any) is not pushed down");
        ok(em_filter_attribute(f, "type") == NULL,
           "nor reported as a required value");
        em_filter_free(f);

        f = filter(1, names, values);
        ok(em_filter_exact_type(f) == NULL, "no type key: nothing pushed down");
        em_filter_free(f);
    }

    /* --- canonical text ------------------------------------------------- */

    {
        const char  *n1[] = { "type", "source" };
        const char  *v1[] = { "a", "b" };
        const char  *n2[] = { "source", "type" };
        const char  *v2[] = { "b", "a" };
        const char  *v3[] = { "b", "a " };
        /* a value that spells a second pair must not collide with one */
        const char  *n4[] = { "a" };
        const char  *v4[] = { "x 1:b=1:y" };
        const char  *n5[] = { "a", "b" };
        const char  *v5[] = { "x", "y" };

        em_buf_init(&a);
        em_buf_init(&b);

        f = filter(2, n1, v1);
        g = filter(2, n2, v2);
        ok(em_filter_write(f, &a) == EM_OK && em_filter_write(g, &b) == EM_OK
           && a.len == b.len && memcmp(a.data, b.data, a.len) == 0,
           "the order of the keys does not change the text");
        em_filter_free(g);

        em_buf_reset(&b);
        g = filter(2, n2, v3);
        em_filter_write(g, &b);
        ok(a.len != b.len || memcmp(a.data, b.data, a.len) != 0,
           "a changed value changes the text");
        em_filter_free(g);
        em_filter_free(f);

        em_buf_reset(&a);
        em_buf_reset(&b);
        f = filter(1, n4, v4);
        g = filter(2, n5, v5);
        em_filter_write(f, &a);
        em_filter_write(g, &b);
        ok(a.len != b.len || memcmp(a.data, b.data, a.len) != 0,
           "a value cannot pass for another pair");
        em_filter_free(g);
        em_filter_free(f);

        em_buf_reset(&a);
        f = filter(0, NULL, NULL);
        em_filter_write(f, &a);
        is_str(a.data, "true", "the empty filter writes \"true\"");
        em_filter_free(f);

        em_buf_free(&a);
        em_buf_free(&b);
    }

    /* --- matching never allocates --------------------------------------- */

    {
        const char  *names[] = { "type", "eventtypeversion", "source",
                                 "datamediatype", "schemaurl" };
        const char  *values[] = { "user.created", "v1", "mock",
                                  "application/json", "" };
        long         before;
        int          i, m;

        f = filter(5, names, values);
        m = 0;

#if COUNT_ALLOCS
        before = allocs;
        for (i = 0; i < 1000; i++) {
            m += em_filter_match(f, ev);
            m += em_filter_match(f, bare);
        }
        is_long(allocs - before, 0, "2000 matches, 0 allocations");
#else
        (void) before;
        for (i = 0; i < 1000; i++) {
            m += em_filter_match(f, ev) + em_filter_match(f, bare);
        }
        ok(1, "allocation count # SKIP ASan owns malloc");
#endif
        is_long(m, 1000, "and the answers: ev passes, bare fails");
        em_filter_free(f);
    }

    test_dialect_pairs(ev, bare);
    test_dialect_trees(ev, bare);
    test_dialect_pinned();
    test_dialect_text();
    test_dialect_no_alloc(ev, bare);
    test_cesql(ev, bare);

    em_event_free(ext_empty);
    em_event_free(bare);
    em_event_free(ev);

    return tap_done();
}
