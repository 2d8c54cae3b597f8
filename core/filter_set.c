/*
 * The filter index (filter_set.h).  Each filter is filed in exactly one
 * place: under the type it pins, else under the source it pins, else in
 * the list of filters every event must be checked against.  An event then
 * walks three lists of filter numbers, each in ascending order: its type's
 * bucket, its source's bucket and that list.  Merging them keeps the
 * answer in the naive loop's order without sorting, and since no filter is
 * in two lists none is evaluated twice.
 *
 * The buckets live in open-addressing tables (linear probing, at most half
 * full) keyed by the value's bytes; their numbers are runs of one array.
 */

#include <eventmesh/filter_set.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>


typedef struct {
    uint64_t        hash;
    const char     *key;        /* NULL: a free slot */
    size_t          len;
    uint32_t        start;      /* the bucket: ids[start .. start + n - 1] */
    uint32_t        n;
} em_fset_slot_t;

typedef struct {
    em_fset_slot_t *slots;
    size_t          mask;       /* slots - 1; no slots when nothing pins */
} em_fset_table_t;

struct em_filter_set_s {
    const em_filter_t **filters;
    size_t              n;

    em_fset_table_t     by_type;
    em_fset_table_t     by_source;

    uint32_t           *ids;    /* the buckets' runs, then rest */
    const uint32_t     *rest;   /* filters that pin neither */
    size_t              nrest;
};

/* one filter filed under one value, while the set is built */
typedef struct {
    uint64_t        hash;
    const char     *key;
    size_t          len;
    uint32_t        id;
} em_fset_entry_t;


/* FNV-1a: types and sources are short, and this needs no state */
static uint64_t
em_fset_hash(const char *s, size_t len)
{
    uint64_t  h = UINT64_C(14695981039346656037);
    size_t    i;

    for (i = 0; i < len; i++) {
        h ^= (unsigned char) s[i];
        h *= UINT64_C(1099511628211);
    }

    return h;
}


static int
em_fset_entry_cmp(const void *a, const void *b)
{
    const em_fset_entry_t  *x = a, *y = b;
    int                     c;

    if (x->hash != y->hash) {
        return x->hash < y->hash ? -1 : 1;
    }

    if (x->len != y->len) {
        return x->len < y->len ? -1 : 1;
    }

    c = memcmp(x->key, y->key, x->len);
    if (c != 0) {
        return c;
    }

    return x->id < y->id ? -1 : (x->id > y->id);
}


static int
em_fset_same(const em_fset_entry_t *x, const em_fset_entry_t *y)
{
    return x->hash == y->hash && x->len == y->len
           && memcmp(x->key, y->key, x->len) == 0;
}


/*
 * The table of entries e[0 .. n-1]; their ids are appended to set->ids
 * from *next on, grouped by value, ascending within a group.
 */
static int
em_fset_table_build(em_fset_table_t *t, em_fset_entry_t *e, size_t n,
    uint32_t *ids, uint32_t *next)
{
    em_fset_slot_t  *s;
    size_t           i, k, groups, size;

    if (n == 0) {
        return 0;
    }

    qsort(e, n, sizeof(em_fset_entry_t), em_fset_entry_cmp);

    groups = 1;
    for (i = 1; i < n; i++) {
        groups += !em_fset_same(&e[i - 1], &e[i]);
    }

    size = 2;
    while (size < groups * 2) {
        size *= 2;
    }

    t->slots = calloc(size, sizeof(em_fset_slot_t));
    if (t->slots == NULL) {
        return -1;
    }

    t->mask = size - 1;

    for (i = 0; i < n; i = k) {
        for (k = i + 1; k < n && em_fset_same(&e[i], &e[k]); k++) {
            /* void */
        }

        s = &t->slots[e[i].hash & t->mask];
        while (s->key != NULL) {
            s = s == &t->slots[t->mask] ? t->slots : s + 1;
        }

        s->hash = e[i].hash;
        s->key = e[i].key;
        s->len = e[i].len;
        s->start = *next;
        s->n = (uint32_t) (k - i);

        for ( /* void */ ; i < k; i++) {
            ids[(*next)++] = e[i].id;
        }
    }

    return 0;
}


static const em_fset_slot_t *
em_fset_lookup(const em_fset_table_t *t, const char *key, size_t len)
{
    const em_fset_slot_t  *s;
    uint64_t               h;

    if (t->slots == NULL) {
        return NULL;
    }

    h = em_fset_hash(key, len);

    for (s = &t->slots[h & t->mask]; s->key != NULL;
         s = s == &t->slots[t->mask] ? t->slots : s + 1)
    {
        if (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0) {
            return s;
        }
    }

    return NULL;
}


em_filter_set_t *
em_filter_set_new(const em_filter_t *const *filters, size_t n,
    const char **err)
{
    em_filter_set_t  *set;
    em_fset_entry_t  *types, *sources;
    const char       *v;
    size_t            i, ntypes, nsources;
    uint32_t          next, *rest;

    *err = "out of memory";

    if (n >= UINT32_MAX) {
        *err = "too many filters";
        return NULL;
    }

    set = calloc(1, sizeof(*set));
    if (set == NULL) {
        return NULL;
    }

    set->n = n;
    set->filters = malloc((n ? n : 1) * sizeof(em_filter_t *));
    set->ids = malloc((n ? n : 1) * sizeof(uint32_t));
    types = malloc((n ? n : 1) * sizeof(em_fset_entry_t));
    sources = malloc((n ? n : 1) * sizeof(em_fset_entry_t));
    rest = malloc((n ? n : 1) * sizeof(uint32_t));

    if (set->filters == NULL || set->ids == NULL || types == NULL
        || sources == NULL || rest == NULL)
    {
        goto failed;
    }

    ntypes = 0;
    nsources = 0;
    set->nrest = 0;

    for (i = 0; i < n; i++) {
        set->filters[i] = filters[i];

        /* the type first: there are more types than sources to tell
           events apart, so its buckets are the smaller */
        v = em_filter_attribute(filters[i], "type");
        if (v != NULL) {
            types[ntypes].key = v;
            types[ntypes].len = strlen(v);
            types[ntypes].hash = em_fset_hash(v, types[ntypes].len);
            types[ntypes++].id = (uint32_t) i;
            continue;
        }

        v = em_filter_attribute(filters[i], "source");
        if (v != NULL) {
            sources[nsources].key = v;
            sources[nsources].len = strlen(v);
            sources[nsources].hash = em_fset_hash(v, sources[nsources].len);
            sources[nsources++].id = (uint32_t) i;
            continue;
        }

        rest[set->nrest++] = (uint32_t) i;
    }

    next = 0;

    if (em_fset_table_build(&set->by_type, types, ntypes, set->ids, &next)
            != 0
        || em_fset_table_build(&set->by_source, sources, nsources, set->ids,
                               &next) != 0)
    {
        goto failed;
    }

    memcpy(set->ids + next, rest, set->nrest * sizeof(uint32_t));
    set->rest = set->ids + next;

    free(types);
    free(sources);
    free(rest);

    *err = NULL;
    return set;

failed:

    free(types);
    free(sources);
    free(rest);
    em_filter_set_free(set);
    return NULL;
}


size_t
em_filter_set_size(const em_filter_set_t *set)
{
    return set->n;
}


/* The bucket of the event's value of name, as (ids, count). */
static void
em_fset_bucket(const em_filter_set_t *set, const em_fset_table_t *t,
    const em_event_t *ev, const char *name, const uint32_t **ids, size_t *n)
{
    const em_attr_t       *a;
    const em_fset_slot_t  *s;

    *n = 0;

    if (t->slots == NULL) {
        return;
    }

    a = em_event_attr(ev, name);
    if (a == NULL) {
        return;
    }

    s = em_fset_lookup(t, a->value, a->value_len);
    if (s != NULL) {
        *ids = set->ids + s->start;
        *n = s->n;
    }
}


size_t
em_filter_set_match(const em_filter_set_t *set, const em_event_t *ev,
    size_t *out, size_t *evaluated)
{
    const uint32_t  *list[3];
    size_t           len[3], at[3], i, best, matched, tried;
    uint32_t         id;

    list[0] = NULL;
    list[1] = NULL;
    em_fset_bucket(set, &set->by_type, ev, "type", &list[0], &len[0]);
    em_fset_bucket(set, &set->by_source, ev, "source", &list[1], &len[1]);
    list[2] = set->rest;
    len[2] = set->nrest;

    at[0] = 0;
    at[1] = 0;
    at[2] = 0;
    matched = 0;
    tried = 0;

    for ( ;; ) {
        best = 3;

        for (i = 0; i < 3; i++) {
            if (at[i] < len[i]
                && (best == 3 || list[i][at[i]] < list[best][at[best]]))
            {
                best = i;
            }
        }

        if (best == 3) {
            break;
        }

        id = list[best][at[best]++];
        tried++;

        if (em_filter_match(set->filters[id], ev)) {
            out[matched++] = id;
        }
    }

    if (evaluated != NULL) {
        *evaluated = tried;
    }

    return matched;
}


void
em_filter_set_free(em_filter_set_t *set)
{
    if (set == NULL) {
        return;
    }

    free(set->by_type.slots);
    free(set->by_source.slots);
    free(set->filters);
    free(set->ids);
    free(set);
}
