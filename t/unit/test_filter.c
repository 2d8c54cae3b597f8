/*
 * Trigger filters (include/eventmesh/filter.h): Knative's filter.attributes
 * rules, each from the side that passes and the side that fails, plus the
 * construction errors, the pushed-down type, the canonical text and the
 * promise that matching never allocates.
 */

#include <eventmesh/event.h>
#include <eventmesh/filter.h>

#include "tap.h"

#include <stdlib.h>
#include <string.h>


/* --- counting allocations (not under ASan, which owns malloc) ---------- */

#if defined(__SANITIZE_ADDRESS__)
#define COUNT_ALLOCS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define COUNT_ALLOCS 0
#endif
#endif

#ifndef COUNT_ALLOCS
#define COUNT_ALLOCS 1
#endif

#if COUNT_ALLOCS

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);

static long  allocs;

void *
malloc(size_t size)
{
    allocs++;
    return __libc_malloc(size);
}

void *
calloc(size_t n, size_t size)
{
    allocs++;
    return __libc_calloc(n, size);
}

void *
realloc(void *p, size_t size)
{
    allocs++;
    return __libc_realloc(p, size);
}

#endif


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

    em_event_free(ext_empty);
    em_event_free(bare);
    em_event_free(ev);

    return tap_done();
}
