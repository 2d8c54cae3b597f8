/*
 * The filter index (include/eventmesh/filter_set.h): on many random
 * filters of every kind (cesql included) and many random events drawn
 * from the same small alphabet (so that filters do match), the set
 * answers exactly what the naive loop over all filters answers, in the
 * same order.  Then the cases the index must not get wrong by
 * construction, that it actually skips filters, and that matching never
 * allocates.
 */

#include <eventmesh/event.h>
#include <eventmesh/filter.h>
#include <eventmesh/filter_set.h>

#include "tap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>


/* --- counting allocations ---------------------------------------------- */

#include "alloc_count.h"


/* --- a reproducible generator ------------------------------------------ */

static uint64_t  rng_state;

static uint32_t
rnd(uint32_t n)
{
    /* xorshift64*: enough to spread choices, the same on every run */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t) ((rng_state * UINT64_C(2685821657736338717)) >> 33)
           % n;
}

static const char *const  types[] = {
    "a", "a.b", "a.c", "b", "b.a", "order.created", "order.paid", "x.a.b"
};
static const char *const  sources[] = { "shop", "shop/eu", "mock", "/a", "b" };
static const char *const  subjects[] = { "x", "x/1", "1/x", "users/42" };
static const char *const  exts[] = { "v1", "v2", "1" };

/* attribute names a filter may use, and the values they take */
static const char *const  names[] = {
    "type", "source", "subject", "eventtypeversion", "id"
};

#define N(a)  (sizeof(a) / sizeof((a)[0]))

static const char *
value_of(const char *name)
{
    if (strcmp(name, "type") == 0) {
        return types[rnd(N(types))];
    }

    if (strcmp(name, "source") == 0) {
        return sources[rnd(N(sources))];
    }

    if (strcmp(name, "subject") == 0) {
        return subjects[rnd(N(subjects))];
    }

    if (strcmp(name, "id") == 0) {
        return rnd(2) ? "1" : "2";
    }

    return exts[rnd(N(exts))];
}


/* a non-empty part of v for prefix and suffix, kept in a static ring */
static const char *
part_of(const char *v, int suffix)
{
    static char  ring[64][32];
    static int   next;
    size_t       len, k;
    char        *p;

    len = strlen(v);
    k = 1 + rnd((uint32_t) len);
    p = ring[next++ % 64];

    if (suffix) {
        memcpy(p, v + len - k, k);
    } else {
        memcpy(p, v, k);
    }

    p[k] = '\0';
    return p;
}


static em_filter_t *
random_pairs(em_filter_kind_t kind)
{
    const char   *n[3], *v[3], *err;
    size_t        count, i, k;
    em_filter_t  *f;

    count = 1 + rnd(kind == EM_FILTER_ATTRIBUTES ? 3 : 2);

    for (i = 0; i < count; i++) {
        /* type and source often, so that the index has work to do */
        n[i] = rnd(2) ? names[rnd(2)] : names[rnd(N(names))];

        for (k = 0; k < i; k++) {
            if (strcmp(n[k], n[i]) == 0) {
                break;
            }
        }

        if (k < i) {
            count = i;
            break;
        }

        v[i] = value_of(n[i]);

        if (kind == EM_FILTER_PREFIX || kind == EM_FILTER_SUFFIX) {
            v[i] = part_of(v[i], kind == EM_FILTER_SUFFIX);

        } else if (kind == EM_FILTER_ATTRIBUTES && rnd(5) == 0) {
            v[i] = "";
        }
    }

    f = kind == EM_FILTER_ATTRIBUTES ? em_filter_attributes(n, v, count, &err)
        : kind == EM_FILTER_EXACT ? em_filter_exact(n, v, count, &err)
        : kind == EM_FILTER_PREFIX ? em_filter_prefix(n, v, count, &err)
        : em_filter_suffix(n, v, count, &err);

    if (f == NULL) {
        diag("random_pairs: %s", err);
        abort();
    }

    return f;
}


/* CESQL over the same alphabet: some pass, some fail, some err */
static const char *const  expressions[] = {
    "type = 'a'",
    "type LIKE 'order.%'",
    "type LIKE '%.b' AND source <> 'mock'",
    "EXISTS subject AND subject LIKE 'x%'",
    "eventtypeversion = 'v1' OR source = 'shop'",
    "NOT (type IN ('a', 'b', 'a.b'))",
    "subject = 'x' OR type = 'b'",
    "LENGTH(source) > 3",
    "INT(eventtypeversion) = 1"
};


static em_filter_t *
random_filter(int depth)
{
    em_cesql_compile_error_t  cerr;
    em_filter_t              *ops[3], *f;
    const char               *err, *e;
    size_t                    n, i;
    uint32_t                  k;

    k = rnd(depth > 0 ? 9 : 6);

    switch (k) {

    case 0:
        return random_pairs(EM_FILTER_ATTRIBUTES);

    case 1:
    case 2:
        return random_pairs(EM_FILTER_EXACT);

    case 3:
        return random_pairs(EM_FILTER_PREFIX);

    case 4:
        return random_pairs(EM_FILTER_SUFFIX);

    case 5:
        e = expressions[rnd(N(expressions))];
        f = em_filter_cesql(e, strlen(e), &cerr, &err);
        break;

    case 6:
        f = em_filter_not(random_filter(depth - 1), &err);
        break;

    default:
        n = 1 + rnd(3);
        for (i = 0; i < n; i++) {
            ops[i] = random_filter(depth - 1);
        }
        f = k == 7 ? em_filter_all(ops, n, &err)
                   : em_filter_any(ops, n, &err);
        break;
    }

    if (f == NULL) {
        diag("random_filter: %s", err);
        abort();
    }

    return f;
}


/*
 * Most Triggers name a type or a source: an all holding an exact type (or
 * source) and a random filter, in either order, pct times in a hundred.
 */
static em_filter_t *
random_trigger_filter(int depth, uint32_t pct)
{
    em_filter_t  *ops[2], *pin, *f;
    const char   *name, *value, *err;

    if (rnd(100) >= pct) {
        return random_filter(depth);
    }

    name = rnd(4) ? "type" : "source";
    value = value_of(name);
    pin = em_filter_exact(&name, &value, 1, &err);

    if (rnd(4) == 0) {
        return pin;
    }

    ops[rnd(2)] = pin;
    ops[ops[0] == pin] = random_filter(depth);

    f = em_filter_all(ops, 2, &err);
    if (f == NULL) {
        diag("random_trigger_filter: %s", err);
        abort();
    }

    return f;
}


static em_event_t *
random_event(void)
{
    em_event_t  *ev;
    const char  *v;

    ev = em_event_new();
    if (ev == NULL) {
        abort();
    }

    em_event_set(ev, "specversion", "1.0", 3, EM_TYPE_STRING);
    v = rnd(2) ? "1" : "2";
    em_event_set(ev, "id", v, 1, EM_TYPE_STRING);

    /* now and then no source or type at all: lookups must cope */
    if (rnd(50) != 0) {
        v = sources[rnd(N(sources))];
        em_event_set(ev, "source", v, strlen(v), EM_TYPE_URI_REF);
    }

    if (rnd(50) != 0) {
        v = types[rnd(N(types))];
        em_event_set(ev, "type", v, strlen(v), EM_TYPE_STRING);
    }

    if (rnd(2)) {
        v = subjects[rnd(N(subjects))];
        em_event_set(ev, "subject", v, strlen(v), EM_TYPE_STRING);
    }

    if (rnd(3)) {
        v = exts[rnd(N(exts))];
        em_event_set(ev, "eventtypeversion", v, strlen(v), EM_TYPE_STRING);
    }

    return ev;
}


/* --- the comparison ------------------------------------------------------ */

/*
 * nfilters random filters (pct in a hundred pinned), nevents random
 * events: the set and the naive loop agree on every event, in order.
 */
static void
compare(uint64_t seed, size_t nfilters, size_t nevents, int depth,
    uint32_t pct)
{
    em_filter_t      **fs;
    em_filter_set_t   *set;
    em_event_t        *ev;
    const char        *err;
    size_t            *got, *want, i, k, ngot, nwant, evaluated;
    size_t             bad, hits, tried;

    rng_state = seed;

    fs = calloc(nfilters ? nfilters : 1, sizeof(em_filter_t *));
    got = calloc(nfilters ? nfilters : 1, sizeof(size_t));
    want = calloc(nfilters ? nfilters : 1, sizeof(size_t));

    for (i = 0; i < nfilters; i++) {
        fs[i] = random_trigger_filter(depth, pct);
    }

    set = em_filter_set_new((const em_filter_t *const *) fs, nfilters, &err);
    if (!ok(set != NULL, "seed %llu: %zu filters indexed",
            (unsigned long long) seed, nfilters))
    {
        diag("%s", err);
        return;
    }

    bad = 0;
    hits = 0;
    tried = 0;

    for (k = 0; k < nevents; k++) {
        ev = random_event();

        nwant = 0;
        for (i = 0; i < nfilters; i++) {
            if (em_filter_match(fs[i], ev)) {
                want[nwant++] = i;
            }
        }

        ngot = em_filter_set_match(set, ev, got, &evaluated);
        tried += evaluated;
        hits += nwant;

        if (ngot != nwant
            || (nwant && memcmp(got, want, nwant * sizeof(size_t)) != 0))
        {
            if (bad++ < 3) {
                diag("event %zu: the set found %zu, the loop %zu", k, ngot,
                     nwant);
            }
        }

        if (evaluated > nfilters) {
            bad++;
        }

        em_event_free(ev);
    }

    ok(bad == 0, "seed %llu: %zu filters (depth %d, %u%% pinned) x %zu "
       "events: the same answers as the loop (%zu matches; %.1f of %zu "
       "evaluated per event)", (unsigned long long) seed, nfilters, depth,
       pct, nevents, hits,
       nevents ? (double) tried / (double) nevents : 0.0, nfilters);

    em_filter_set_free(set);

    for (i = 0; i < nfilters; i++) {
        em_filter_free(fs[i]);
    }

    free(fs);
    free(got);
    free(want);
}


/* --- the cases by construction ------------------------------------------ */

static em_filter_t *
exact2(const char *n1, const char *v1, const char *n2, const char *v2)
{
    const char  *n[2], *v[2], *err;

    n[0] = n1;
    v[0] = v1;
    n[1] = n2;
    v[1] = v2;
    return em_filter_exact(n, v, n2 ? 2 : 1, &err);
}


static em_event_t *
event_of(const char *type, const char *source)
{
    em_event_t  *ev = em_event_new();

    em_event_set(ev, "specversion", "1.0", 3, EM_TYPE_STRING);
    em_event_set(ev, "id", "1", 1, EM_TYPE_STRING);
    if (source != NULL) {
        em_event_set(ev, "source", source, strlen(source), EM_TYPE_URI_REF);
    }
    if (type != NULL) {
        em_event_set(ev, "type", type, strlen(type), EM_TYPE_STRING);
    }

    return ev;
}


static void
test_cases(void)
{
    em_filter_t      *fs[6], *ops[2];
    em_filter_set_t  *set;
    em_event_t       *ev;
    const char       *err;
    size_t            out[6], n, evaluated, i;

    fs[0] = exact2("type", "a", NULL, NULL);
    /* any of two types: must not be filed under either */
    ops[0] = exact2("type", "a", NULL, NULL);
    ops[1] = exact2("type", "b", NULL, NULL);
    fs[1] = em_filter_any(ops, 2, &err);
    /* a source and no type: filed under the source */
    fs[2] = exact2("source", "shop", NULL, NULL);
    /* two types at once: passes nothing, wherever it is filed */
    ops[0] = exact2("type", "a", NULL, NULL);
    ops[1] = exact2("type", "b", NULL, NULL);
    fs[3] = em_filter_all(ops, 2, &err);
    /* not a type: every other type */
    fs[4] = em_filter_not(exact2("type", "a", NULL, NULL), &err);
    /* type and source: filed under the type */
    fs[5] = exact2("type", "b", "source", "shop");

    set = em_filter_set_new((const em_filter_t *const *) fs, 6, &err);
    ok(set != NULL && em_filter_set_size(set) == 6, "a set of six");

    ev = event_of("a", "shop");
    n = em_filter_set_match(set, ev, out, &evaluated);
    ok(n == 3 && out[0] == 0 && out[1] == 1 && out[2] == 2,
       "type a from shop: exact a, any(a, b), source shop");
    is_long((long) evaluated, 5,
            "evaluated: bucket a (2: exact a, all a b), shop (1), rest (2)");
    em_event_free(ev);

    ev = event_of("b", "mock");
    n = em_filter_set_match(set, ev, out, &evaluated);
    ok(n == 2 && out[0] == 1 && out[1] == 4,
       "type b from mock: any(a, b), not a");
    em_event_free(ev);

    ev = event_of("b", "shop");
    n = em_filter_set_match(set, ev, out, NULL);
    ok(n == 4 && out[0] == 1 && out[1] == 2 && out[2] == 4 && out[3] == 5,
       "type b from shop: four, in order");
    em_event_free(ev);

    ev = event_of(NULL, NULL);
    n = em_filter_set_match(set, ev, out, &evaluated);
    ok(n == 1 && out[0] == 4 && evaluated == 2,
       "no type, no source: only the unfiled two are tried, not a passes");
    em_event_free(ev);

    em_filter_set_free(set);

    for (i = 0; i < 6; i++) {
        em_filter_free(fs[i]);
    }

    set = em_filter_set_new(NULL, 0, &err);
    ev = event_of("a", "shop");
    ok(set != NULL && em_filter_set_match(set, ev, out, &evaluated) == 0
       && evaluated == 0, "an empty set: nothing");
    em_event_free(ev);
    em_filter_set_free(set);
}


/* 1000 filters over 100 types: an event is tried against its type's ten */
static void
test_skips_and_no_alloc(void)
{
    em_filter_t      *fs[1000];
    em_filter_set_t  *set;
    em_event_t       *ev, *none;
    const char       *err, *n[2], *v[2];
    char              type[100][16];
    size_t            out[1000], i, m, evaluated, total;
    long              before;

    for (i = 0; i < 100; i++) {
        snprintf(type[i], sizeof(type[i]), "t.%zu", i);
    }

    for (i = 0; i < 1000; i++) {
        n[0] = "type";
        v[0] = type[i % 100];
        n[1] = "subject";
        v[1] = type[i / 100];
        fs[i] = i % 2 ? em_filter_exact(n, v, 2, &err)
                      : em_filter_attributes(n, v, 2, &err);
    }

    set = em_filter_set_new((const em_filter_t *const *) fs, 1000, &err);

    ev = event_of("t.7", "s");
    em_event_set(ev, "subject", "t.3", 3, EM_TYPE_STRING);
    none = event_of("t.none", "s");

    m = em_filter_set_match(set, ev, out, &evaluated);
    ok(m == 1 && out[0] == 307, "the one filter for t.7 and subject t.3");
    is_long((long) evaluated, 10, "ten evaluated of 1000");

    m = em_filter_set_match(set, none, out, &evaluated);
    ok(m == 0 && evaluated == 0, "an event of no filter's type: none tried");

    total = 0;

#if COUNT_ALLOCS
    before = allocs;
    for (i = 0; i < 1000; i++) {
        total += em_filter_set_match(set, ev, out, NULL);
        total += em_filter_set_match(set, none, out, NULL);
    }
    is_long(allocs - before, 0, "2000 set matches, 0 allocations");
#else
    (void) before;
    for (i = 0; i < 1000; i++) {
        total += em_filter_set_match(set, ev, out, NULL);
        total += em_filter_set_match(set, none, out, NULL);
    }
    ok(1, "allocation count # SKIP ASan owns malloc");
#endif
    is_long((long) total, 1000, "and the answers");

    em_event_free(ev);
    em_event_free(none);
    em_filter_set_free(set);

    for (i = 0; i < 1000; i++) {
        em_filter_free(fs[i]);
    }
}


int
main(void)
{
    uint64_t  seed;

    test_cases();
    test_skips_and_no_alloc();

    compare(1, 0, 100, 2, 0);
    compare(2, 1, 2000, 2, 0);
    compare(3, 10, 2000, 2, 0);
    compare(4, 300, 3000, 3, 0);
    compare(5, 1000, 3000, 2, 90);

    for (seed = 10; seed < 30; seed++) {
        compare(seed, 50 + (size_t) (seed % 5) * 100, 1000, 3,
                (uint32_t) (seed % 3) * 45);
    }

    return tap_done();
}
