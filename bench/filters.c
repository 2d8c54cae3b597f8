/*
 * bench-filters: the cost of finding the Triggers an event goes to, per
 * event, for 1, 100 and 1000 Triggers on one broker, with an event that
 * matches none of them (the common case on a busy broker: most Triggers
 * want other types).  Two ways: the naive loop, em_filter_match() on
 * every filter, and the index, em_filter_set_match().
 *
 * Two mixes of filter kinds.  "pinned": every filter names its type or
 * source exactly somewhere the index can see it, beside whatever else it
 * checks (prefix, suffix, any, not, ...), which is how Triggers are
 * usually written.  "10% open": one filter in ten pins nothing (a prefix
 * on the type, an any of types, a not, a cesql), and the index must try
 * those on every event.
 *
 *   build/bench/filters [-t SECONDS-PER-FIGURE]
 */

#include <eventmesh/event.h>
#include <eventmesh/filter.h>
#include <eventmesh/filter_set.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


#define KINDS  9

static const char *const  kind_names[KINDS] = {
    "attributes", "exact", "all+prefix", "all+suffix", "all+any",
    "all+not", "exact source", "all+exact+suffix", "all+cesql"
};

static double  budget = 0.3;        /* seconds per figure */
static volatile size_t  sink;


static void
die(const char *what, const char *err)
{
    fprintf(stderr, "bench-filters: %s: %s\n", what, err ? err : "?");
    exit(1);
}


static em_filter_t *
pairs(em_filter_kind_t kind, const char *n1, const char *v1, const char *n2,
    const char *v2)
{
    const char   *n[2], *v[2], *err;
    em_filter_t  *f;
    size_t        k;

    n[0] = n1;
    v[0] = v1;
    n[1] = n2;
    v[1] = v2;
    k = n2 != NULL ? 2 : 1;

    f = kind == EM_FILTER_ATTRIBUTES ? em_filter_attributes(n, v, k, &err)
        : kind == EM_FILTER_EXACT ? em_filter_exact(n, v, k, &err)
        : kind == EM_FILTER_PREFIX ? em_filter_prefix(n, v, k, &err)
        : em_filter_suffix(n, v, k, &err);

    if (f == NULL) {
        die("filter", err);
    }

    return f;
}


static em_filter_t *
all2(em_filter_kind_t kind, em_filter_t *a, em_filter_t *b)
{
    em_filter_t  *ops[2], *f;
    const char   *err;

    ops[0] = a;
    ops[1] = b;
    f = kind == EM_FILTER_ALL ? em_filter_all(ops, 2, &err)
                              : em_filter_any(ops, 2, &err);
    if (f == NULL) {
        die("all/any", err);
    }

    return f;
}


static em_filter_t *
cesql(const char *expr)
{
    em_cesql_compile_error_t  cerr;
    em_filter_t              *f;
    const char               *err;

    f = em_filter_cesql(expr, strlen(expr), &cerr, &err);
    if (f == NULL) {
        die(expr, err);
    }

    return f;
}


static em_filter_t *
not1(em_filter_t *a)
{
    em_filter_t  *f;
    const char   *err;

    f = em_filter_not(a, &err);
    if (f == NULL) {
        die("not", err);
    }

    return f;
}


/* Trigger i's filter: kind i % KINDS, about its own type or source. */
static em_filter_t *
pinned_filter(size_t i)
{
    char  type[48], source[48];

    snprintf(type, sizeof(type), "com.example.order.%zu", i);
    snprintf(source, sizeof(source), "/shop/%zu", i);

    switch (i % KINDS) {

    case 0:
        return pairs(EM_FILTER_ATTRIBUTES, "type", type, "source", source);

    case 1:
        return pairs(EM_FILTER_EXACT, "type", type, NULL, NULL);

    case 2:
        return all2(EM_FILTER_ALL,
                    pairs(EM_FILTER_PREFIX, "subject", "orders/", NULL, NULL),
                    pairs(EM_FILTER_EXACT, "type", type, NULL, NULL));

    case 3:
        return all2(EM_FILTER_ALL,
                    pairs(EM_FILTER_EXACT, "type", type, NULL, NULL),
                    pairs(EM_FILTER_SUFFIX, "source", "/eu", NULL, NULL));

    case 4:
        return all2(EM_FILTER_ALL,
                    pairs(EM_FILTER_EXACT, "type", type, NULL, NULL),
                    all2(EM_FILTER_ANY,
                         pairs(EM_FILTER_EXACT, "eventtypeversion", "v1",
                               NULL, NULL),
                         pairs(EM_FILTER_EXACT, "eventtypeversion", "v2",
                               NULL, NULL)));

    case 5:
        return all2(EM_FILTER_ALL,
                    pairs(EM_FILTER_EXACT, "type", type, NULL, NULL),
                    not1(pairs(EM_FILTER_PREFIX, "subject", "test/", NULL,
                               NULL)));

    case 6:
        return pairs(EM_FILTER_EXACT, "source", source, NULL, NULL);

    case 7:
        return all2(EM_FILTER_ALL,
                    pairs(EM_FILTER_EXACT, "source", source,
                          "eventtypeversion", "v1"),
                    pairs(EM_FILTER_SUFFIX, "type", ".created", NULL, NULL));

    default:
        return all2(EM_FILTER_ALL,
                    pairs(EM_FILTER_EXACT, "type", type, NULL, NULL),
                    cesql("subject LIKE 'orders/%' AND "
                          "eventtypeversion IN ('v1', 'v2')"));
    }
}


/* The filters no index can file: they pass more than one type. */
static em_filter_t *
open_filter(size_t i)
{
    char  type[48], expr[96];

    snprintf(type, sizeof(type), "com.example.order.%zu", i);

    switch (i % 4) {

    case 0:
        return pairs(EM_FILTER_PREFIX, "type", type, NULL, NULL);

    case 3:
        snprintf(expr, sizeof(expr), "type LIKE '%s.%%' OR source = 'x'",
                 type);
        return cesql(expr);

    case 1:
        return all2(EM_FILTER_ANY,
                    pairs(EM_FILTER_EXACT, "type", type, NULL, NULL),
                    pairs(EM_FILTER_EXACT, "type", "com.example.refund",
                          NULL, NULL));

    default:
        return all2(EM_FILTER_ALL,
                    not1(pairs(EM_FILTER_SUFFIX, "type", ".created", NULL,
                               NULL)),
                    pairs(EM_FILTER_EXACT, "subject", type, NULL, NULL));
    }
}


static em_event_t *
event_none(void)
{
    em_event_t  *ev;

    ev = em_event_new();
    if (ev == NULL) {
        die("event", "out of memory");
    }

#define SET(n, v)  em_event_set(ev, n, v, strlen(v), EM_TYPE_STRING)
    SET("specversion", "1.0");
    SET("id", "5b3c2f6e-8d1a-4c8e-9f00-1a2b3c4d5e6f");
    SET("source", "/shop/none");
    SET("type", "com.example.order.none");
    SET("subject", "orders/42");
    SET("time", "2024-05-01T10:00:00Z");
    SET("datacontenttype", "application/json");
    SET("eventtypeversion", "v1");
#undef SET

    return ev;
}


static double
now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}


typedef struct {
    em_filter_t      **filters;
    size_t             n;
    em_filter_set_t   *set;
    size_t            *out;
    const em_event_t  *ev;
} run_t;


static size_t
naive(run_t *r)
{
    size_t  i, m;

    m = 0;
    for (i = 0; i < r->n; i++) {
        m += (size_t) em_filter_match(r->filters[i], r->ev);
    }

    return m;
}


static size_t
indexed(run_t *r)
{
    return em_filter_set_match(r->set, r->ev, r->out, NULL);
}


static int
dbl_cmp(const void *a, const void *b)
{
    double  x = *(const double *) a, y = *(const double *) b;

    return x < y ? -1 : x > y;
}


/* ns per call: the median of five timed runs of budget / 5 each */
static double
measure(size_t (*fn)(run_t *), run_t *r)
{
    double  runs[5], t0, t;
    size_t  iters, i, k;

    /* find an iteration count that fills a fifth of the budget */
    for (iters = 64; ; iters *= 2) {
        t0 = now();
        for (i = 0; i < iters; i++) {
            sink += fn(r);
        }
        t = now() - t0;
        if (t > budget / 20) {
            iters = (size_t) ((double) iters * (budget / 5) / t) + 1;
            break;
        }
    }

    for (k = 0; k < 5; k++) {
        t0 = now();
        for (i = 0; i < iters; i++) {
            sink += fn(r);
        }
        runs[k] = (now() - t0) * 1e9 / (double) iters;
    }

    qsort(runs, 5, sizeof(double), dbl_cmp);
    return runs[2];
}


static void
mix(const char *name, unsigned open_pct)
{
    static const size_t  sizes[] = { 1, 100, 1000 };
    em_filter_t        **fs;
    em_event_t          *ev;
    const char          *err;
    double               t_naive[3], t_index[3];
    size_t               s, i, n, evaluated;
    run_t                r;

    ev = event_none();

    printf("\n%s: an event that matches none of the Triggers\n", name);
    printf("%9s %14s %14s %10s %12s\n", "triggers", "naive ns/ev",
           "indexed ns/ev", "speed-up", "evaluated");

    for (s = 0; s < 3; s++) {
        n = sizes[s];
        fs = calloc(n, sizeof(em_filter_t *));
        r.out = calloc(n, sizeof(size_t));
        if (fs == NULL || r.out == NULL) {
            die("bench", "out of memory");
        }

        /* the open ones spread evenly; a single Trigger is a pinned one */
        for (i = 0; i < n; i++) {
            if (n > 1 && (i * open_pct) / 100 != ((i + 1) * open_pct) / 100)
            {
                fs[i] = open_filter(i);

            } else {
                fs[i] = pinned_filter(i);
            }
        }

        r.filters = fs;
        r.n = n;
        r.ev = ev;
        r.set = em_filter_set_new((const em_filter_t *const *) fs, n, &err);
        if (r.set == NULL) {
            die("em_filter_set_new", err);
        }

        if (naive(&r) != 0 || indexed(&r) != 0) {
            die("bench", "the event matches a filter");
        }

        em_filter_set_match(r.set, ev, r.out, &evaluated);

        t_naive[s] = measure(naive, &r);
        t_index[s] = measure(indexed, &r);

        printf("%9zu %14.1f %14.1f %9.1fx %12zu\n", n, t_naive[s],
               t_index[s], t_naive[s] / t_index[s], evaluated);

        em_filter_set_free(r.set);
        for (i = 0; i < n; i++) {
            em_filter_free(fs[i]);
        }
        free(fs);
        free(r.out);
    }

    /* one Trigger is one em_filter_match(): the naive figure */
    printf("1000 triggers / 1 trigger: naive %.1fx, indexed %.1fx; indexed "
           "1000 / one filter evaluated %.1fx (goal: <= 5x)\n",
           t_naive[2] / t_naive[0], t_index[2] / t_index[0],
           t_index[2] / t_naive[0]);

    em_event_free(ev);
}


int
main(int argc, char **argv)
{
    size_t  i;

    if (argc == 3 && strcmp(argv[1], "-t") == 0) {
        budget = atof(argv[2]);
        if (budget <= 0) {
            budget = 0.3;
        }

    } else if (argc != 1) {
        fprintf(stderr, "usage: %s [-t SECONDS-PER-FIGURE]\n", argv[0]);
        return 64;
    }

    printf("filter kinds, in turn: ");
    for (i = 0; i < KINDS; i++) {
        printf("%s%s", i ? ", " : "", kind_names[i]);
    }
    printf("\n");

    mix("pinned (every Trigger names its type or source exactly)", 0);
    mix("10% open (one Trigger in ten pins neither)", 10);

    return 0;
}
