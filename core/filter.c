/*
 * Trigger filters.  A filter is compiled once per configuration load and
 * evaluated for every event a consumer receives, so evaluation only reads:
 * no allocation, no copies, lengths compared before bytes.  The filters
 * dialect's nodes (exact, prefix, suffix, all, any, not) share the pairs
 * and the lookup of filter.attributes; since their constructors refuse
 * what Knative turns into "no filter" (empty values, empty lists), every
 * node answers plainly pass or fail and Knative's third answer is not
 * needed.  A cesql node holds a compiled expression (cesql.h).
 *
 * Attribute lookup follows Knative's LookupAttribute (eventing
 * pkg/eventfilter/attributes): the standard attributes always exist, with
 * "" when unset, and the empty filter value means "present and not
 * empty".  The two rules together make any filter on an unset attribute
 * fail, which is also what a missing extension does, so the only lookups
 * that need care are the aliases and the derived attributes below.
 */

#include <eventmesh/filter.h>

#include <stdlib.h>
#include <string.h>


typedef enum {
    EM_LOOKUP_ATTR = 0,         /* the event attribute of the same name */
    EM_LOOKUP_DATASCHEMA,       /* "schemaurl": CloudEvents 0.3's name */
    EM_LOOKUP_MEDIATYPE,        /* "datamediatype": datacontenttype's type */
    EM_LOOKUP_NEVER             /* "datacontentencoding": 0.3 only, "" */
} em_lookup_t;

typedef struct {
    char         *name;
    size_t        name_len;
    char         *value;
    size_t        value_len;
    em_lookup_t   lookup;
} em_filter_attr_t;

struct em_filter_s {
    em_filter_kind_t    kind;

    /* ATTRIBUTES, EXACT, PREFIX, SUFFIX: sorted by name */
    em_filter_attr_t   *attrs;
    size_t              nattrs;

    /* the dialect's composite kinds (all, any, not) keep their operands
       here, so that freeing stays one recursive walk */
    em_filter_t       **children;
    size_t              nchildren;

    const char         *exact_type; /* points into attrs, ours or a
                                       child's: see em_filter_pinned() */

    /* CESQL: evaluation writes strings into the scratch, which is why a
       filter is matched by one thread at a time; it is allocated apart
       so that matching through a const filter may use it */
    em_cesql_t         *cesql;
    em_cesql_scratch_t *scratch;
};


int
em_filter_name_valid(const char *name, size_t len)
{
    size_t  i;

    if (len == 0 || !(name[0] >= 'a' && name[0] <= 'z')) {
        return 0;
    }

    for (i = 1; i < len; i++) {
        if (!((name[i] >= 'a' && name[i] <= 'z')
              || (name[i] >= '0' && name[i] <= '9')))
        {
            return 0;
        }
    }

    return 1;
}


static em_lookup_t
em_filter_lookup_of(const char *name)
{
    if (strcmp(name, "schemaurl") == 0) {
        return EM_LOOKUP_DATASCHEMA;
    }

    if (strcmp(name, "datamediatype") == 0) {
        return EM_LOOKUP_MEDIATYPE;
    }

    if (strcmp(name, "datacontentencoding") == 0) {
        return EM_LOOKUP_NEVER;
    }

    return EM_LOOKUP_ATTR;
}


static int
em_filter_attr_cmp(const void *a, const void *b)
{
    const em_filter_attr_t  *x = a, *y = b;

    return strcmp(x->name, y->name);
}


void
em_filter_free(em_filter_t *f)
{
    size_t  i;

    if (f == NULL) {
        return;
    }

    for (i = 0; i < f->nattrs; i++) {
        free(f->attrs[i].name);
        free(f->attrs[i].value);
    }

    for (i = 0; i < f->nchildren; i++) {
        em_filter_free(f->children[i]);
    }

    if (f->scratch != NULL) {
        em_cesql_scratch_free(f->scratch);
        free(f->scratch);
    }

    em_cesql_free(f->cesql);
    free(f->attrs);
    free(f->children);
    free(f);
}


/*
 * The pairs of f (already allocated, kind set) from names and values.
 * Empty values are refused unless empty_ok (filter.attributes' "any").
 */
static int
em_filter_pairs(em_filter_t *f, const char *const *names,
    const char *const *values, size_t n, int empty_ok, const char **err)
{
    em_filter_attr_t  *a;
    size_t             i;

    f->attrs = calloc(n, sizeof(em_filter_attr_t));
    if (f->attrs == NULL) {
        *err = "out of memory";
        return -1;
    }

    for (i = 0; i < n; i++) {
        if (names[i] == NULL || values[i] == NULL) {
            *err = "an attribute name or value is missing";
            return -1;
        }

        if (!em_filter_name_valid(names[i], strlen(names[i]))) {
            *err = "attribute names must be lower-case letters and digits, "
                   "starting with a letter";
            return -1;
        }

        if (!empty_ok && values[i][0] == '\0') {
            *err = "an empty value is not allowed (Knative would skip the "
                   "filter and pass every event)";
            return -1;
        }

        a = &f->attrs[f->nattrs];
        a->name = strdup(names[i]);
        a->value = strdup(values[i]);
        f->nattrs++;

        if (a->name == NULL || a->value == NULL) {
            *err = "out of memory";
            return -1;
        }

        a->name_len = strlen(a->name);
        a->value_len = strlen(a->value);
        a->lookup = em_filter_lookup_of(a->name);
    }

    qsort(f->attrs, f->nattrs, sizeof(em_filter_attr_t), em_filter_attr_cmp);

    for (i = 1; i < f->nattrs; i++) {
        if (strcmp(f->attrs[i - 1].name, f->attrs[i].name) == 0) {
            *err = "an attribute is named twice";
            return -1;
        }
    }

    return 0;
}


/*
 * The non-empty value f requires name to equal for every event it
 * passes, when that follows from the structure alone: a pair of
 * filter.attributes or exact, or of any operand of an all (an all under
 * an all is still a conjunction).  any and not are never looked into:
 * `any: [exact type a, exact type b]` passes two types, `not: exact type
 * a` every type but one.
 */
static const char *
em_filter_pinned(const em_filter_t *f, const char *name)
{
    const char  *v;
    size_t       i;

    switch (f->kind) {

    case EM_FILTER_ATTRIBUTES:
    case EM_FILTER_EXACT:
        for (i = 0; i < f->nattrs; i++) {
            if (strcmp(f->attrs[i].name, name) == 0) {
                return f->attrs[i].value_len ? f->attrs[i].value : NULL;
            }
        }
        return NULL;

    case EM_FILTER_ALL:
        for (i = 0; i < f->nchildren; i++) {
            v = em_filter_pinned(f->children[i], name);
            if (v != NULL) {
                return v;
            }
        }
        return NULL;

    default:
        return NULL;
    }
}


static em_filter_t *
em_filter_map(em_filter_kind_t kind, const char *const *names,
    const char *const *values, size_t n, const char **err)
{
    em_filter_t  *f;

    *err = NULL;

    f = calloc(1, sizeof(*f));
    if (f == NULL) {
        *err = "out of memory";
        return NULL;
    }

    if (n == 0) {
        if (kind == EM_FILTER_ATTRIBUTES) {
            f->kind = EM_FILTER_TRUE;
            return f;
        }

        free(f);
        *err = "at least one attribute is needed (Knative would pass every "
               "event)";
        return NULL;
    }

    f->kind = kind;

    if (em_filter_pairs(f, names, values, n, kind == EM_FILTER_ATTRIBUTES,
                        err)
        != 0)
    {
        em_filter_free(f);
        return NULL;
    }

    if (kind == EM_FILTER_ATTRIBUTES || kind == EM_FILTER_EXACT) {
        f->exact_type = em_filter_pinned(f, "type");
    }

    return f;
}


em_filter_t *
em_filter_attributes(const char *const *names, const char *const *values,
    size_t n, const char **err)
{
    return em_filter_map(EM_FILTER_ATTRIBUTES, names, values, n, err);
}


em_filter_t *
em_filter_exact(const char *const *names, const char *const *values,
    size_t n, const char **err)
{
    return em_filter_map(EM_FILTER_EXACT, names, values, n, err);
}


em_filter_t *
em_filter_prefix(const char *const *names, const char *const *values,
    size_t n, const char **err)
{
    return em_filter_map(EM_FILTER_PREFIX, names, values, n, err);
}


em_filter_t *
em_filter_suffix(const char *const *names, const char *const *values,
    size_t n, const char **err)
{
    return em_filter_map(EM_FILTER_SUFFIX, names, values, n, err);
}


static em_filter_t *
em_filter_list(em_filter_kind_t kind, em_filter_t **children, size_t n,
    const char **err)
{
    em_filter_t  *f;
    size_t        i;

    *err = NULL;

    for (i = 0; i < n; i++) {
        if (children[i] == NULL) {
            *err = "an operand is missing";
            goto failed;
        }
    }

    if (n == 0) {
        *err = kind == EM_FILTER_NOT
               ? "an operand is missing"
               : "at least one filter is needed (Knative would pass every "
                 "event)";
        goto failed;
    }

    f = calloc(1, sizeof(*f));
    if (f == NULL) {
        *err = "out of memory";
        goto failed;
    }

    f->children = malloc(n * sizeof(em_filter_t *));
    if (f->children == NULL) {
        free(f);
        *err = "out of memory";
        goto failed;
    }

    memcpy(f->children, children, n * sizeof(em_filter_t *));
    f->nchildren = n;
    f->kind = kind;

    if (kind == EM_FILTER_ALL) {
        f->exact_type = em_filter_pinned(f, "type");
    }

    return f;

failed:

    for (i = 0; i < n; i++) {
        em_filter_free(children[i]);
    }

    return NULL;
}


em_filter_t *
em_filter_all(em_filter_t **children, size_t n, const char **err)
{
    return em_filter_list(EM_FILTER_ALL, children, n, err);
}


em_filter_t *
em_filter_any(em_filter_t **children, size_t n, const char **err)
{
    return em_filter_list(EM_FILTER_ANY, children, n, err);
}


em_filter_t *
em_filter_not(em_filter_t *child, const char **err)
{
    return em_filter_list(EM_FILTER_NOT, &child, 1, err);
}


em_filter_t *
em_filter_cesql(const char *expr, size_t len, em_cesql_compile_error_t *cerr,
    const char **err)
{
    em_filter_t  *f;

    *err = "out of memory";
    cerr->kind = EM_CESQL_OK;
    cerr->column = 0;
    cerr->message[0] = '\0';

    f = calloc(1, sizeof(*f));
    if (f == NULL) {
        return NULL;
    }

    f->kind = EM_FILTER_CESQL;
    f->scratch = calloc(1, sizeof(em_cesql_scratch_t));
    if (f->scratch == NULL) {
        em_filter_free(f);
        return NULL;
    }

    f->cesql = em_cesql_compile(expr, len, NULL, cerr);
    if (f->cesql == NULL) {
        if (cerr->kind != EM_CESQL_OK) {
            *err = cerr->message;
        }

        em_filter_free(f);
        return NULL;
    }

    *err = NULL;
    return f;
}


const em_cesql_t *
em_filter_cesql_expr(const em_filter_t *f)
{
    return f->kind == EM_FILTER_CESQL ? f->cesql : NULL;
}


/*
 * The value a filter compares with, as (pointer, length); 0 when the
 * event has no such attribute.  An unset standard attribute and a
 * missing extension both come out as "absent": see the comment at the
 * top for why that is Knative's net result.
 */
static int
em_filter_lookup(const em_event_t *ev, const em_filter_attr_t *a,
    const char **v, size_t *len)
{
    const em_attr_t  *attr;
    const char       *semi, *s, *e;

    switch (a->lookup) {

    case EM_LOOKUP_NEVER:
        return 0;

    case EM_LOOKUP_DATASCHEMA:
        attr = em_event_attr(ev, "dataschema");
        break;

    case EM_LOOKUP_MEDIATYPE:
        attr = em_event_attr(ev, "datacontenttype");
        if (attr == NULL) {
            return 0;
        }

        /* sdk-go: the text before ';', trimmed, or the whole value */
        semi = memchr(attr->value, ';', attr->value_len);
        if (semi == NULL) {
            *v = attr->value;
            *len = attr->value_len;
            return 1;
        }

        s = attr->value;
        e = semi;

        while (s < e && (*s == ' ' || *s == '\t')) {
            s++;
        }

        while (e > s && (e[-1] == ' ' || e[-1] == '\t')) {
            e--;
        }

        *v = s;
        *len = (size_t) (e - s);
        return 1;

    default:
        attr = em_event_attr(ev, a->name);
        break;
    }

    if (attr == NULL) {
        return 0;
    }

    *v = attr->value;
    *len = attr->value_len;
    return 1;
}


static int
em_filter_match_attributes(const em_filter_t *f, const em_event_t *ev)
{
    const em_filter_attr_t  *a;
    const char              *v;
    size_t                   i, len;

    for (i = 0; i < f->nattrs; i++) {
        a = &f->attrs[i];

        if (!em_filter_lookup(ev, a, &v, &len)) {
            return 0;
        }

        if (a->value_len == 0) {
            if (len == 0) {
                return 0;
            }
            continue;
        }

        if (len != a->value_len || memcmp(v, a->value, len) != 0) {
            return 0;
        }
    }

    return 1;
}


/* prefix and suffix: every pair's value starts (ends) the attribute's */
static int
em_filter_match_affix(const em_filter_t *f, const em_event_t *ev,
    int suffix)
{
    const em_filter_attr_t  *a;
    const char              *v;
    size_t                   i, len;

    for (i = 0; i < f->nattrs; i++) {
        a = &f->attrs[i];

        if (!em_filter_lookup(ev, a, &v, &len) || len < a->value_len) {
            return 0;
        }

        if (suffix) {
            v += len - a->value_len;
        }

        if (memcmp(v, a->value, a->value_len) != 0) {
            return 0;
        }
    }

    return 1;
}


int
em_filter_match(const em_filter_t *f, const em_event_t *ev)
{
    size_t  i;

    switch (f->kind) {

    case EM_FILTER_TRUE:
        return 1;

    /* exact values are never "", so exact is filter.attributes' loop */
    case EM_FILTER_ATTRIBUTES:
    case EM_FILTER_EXACT:
        return em_filter_match_attributes(f, ev);

    case EM_FILTER_PREFIX:
        return em_filter_match_affix(f, ev, 0);

    case EM_FILTER_SUFFIX:
        return em_filter_match_affix(f, ev, 1);

    case EM_FILTER_ALL:
        for (i = 0; i < f->nchildren; i++) {
            if (!em_filter_match(f->children[i], ev)) {
                return 0;
            }
        }
        return 1;

    case EM_FILTER_ANY:
        for (i = 0; i < f->nchildren; i++) {
            if (em_filter_match(f->children[i], ev)) {
                return 1;
            }
        }
        return 0;

    case EM_FILTER_NOT:
        return !em_filter_match(f->children[0], ev);

    case EM_FILTER_CESQL:
        return em_cesql_match(f->cesql, ev, f->scratch);

    default:
        return 0;
    }
}


const char *
em_filter_exact_type(const em_filter_t *f)
{
    return f->exact_type;
}


em_filter_kind_t
em_filter_kind(const em_filter_t *f)
{
    return f->kind;
}


const char *
em_filter_attribute(const em_filter_t *f, const char *name)
{
    return em_filter_pinned(f, name);
}


size_t
em_filter_nattrs(const em_filter_t *f)
{
    return f->kind == EM_FILTER_ATTRIBUTES ? f->nattrs : 0;
}


int
em_filter_attr_at(const em_filter_t *f, size_t i, const char **name,
    const char **value)
{
    if (f->kind != EM_FILTER_ATTRIBUTES || i >= f->nattrs) {
        return -1;
    }

    *name = f->attrs[i].name;
    *value = f->attrs[i].value;
    return 0;
}


/* "value" with '"', '\\' and bytes below 0x20 or 0x7f escaped */
static int
em_filter_write_quoted(em_buf_t *out, const char *s, size_t len)
{
    size_t  i, run;

    if (em_buf_append_str(out, "\"") != EM_OK) {
        return EM_ERROR;
    }

    run = 0;

    for (i = 0; i < len; i++) {
        unsigned char  c = (unsigned char) s[i];

        if (c >= 0x20 && c != 0x7f && c != '"' && c != '\\') {
            continue;
        }

        if (em_buf_append(out, s + run, i - run) != EM_OK
            || (c == '"' || c == '\\'
                ? em_buf_printf(out, "\\%c", c)
                : em_buf_printf(out, "\\x%02x", c)) != EM_OK)
        {
            return EM_ERROR;
        }

        run = i + 1;
    }

    if (em_buf_append(out, s + run, len - run) != EM_OK) {
        return EM_ERROR;
    }

    return em_buf_append_str(out, "\"");
}


int
em_filter_write(const em_filter_t *f, em_buf_t *out)
{
    static const char *const  names[] = {
        "true", "attributes", "exact", "prefix", "suffix", "all", "any",
        "not", "cesql"
    };
    const char               *v;
    size_t                    i;

    switch (f->kind) {

    case EM_FILTER_TRUE:
        return em_buf_append_str(out, "true");

    case EM_FILTER_ATTRIBUTES:
        /* lengths first: no name or value can fake a separator */
        if (em_buf_printf(out, "attributes(%zu", f->nattrs) != EM_OK) {
            return EM_ERROR;
        }

        for (i = 0; i < f->nattrs; i++) {
            if (em_buf_printf(out, " %zu:%s=%zu:", f->attrs[i].name_len,
                              f->attrs[i].name, f->attrs[i].value_len)
                    != EM_OK
                || em_buf_append(out, f->attrs[i].value,
                                 f->attrs[i].value_len) != EM_OK)
            {
                return EM_ERROR;
            }
        }

        return em_buf_append_str(out, ")");

    /* names are [a-z][a-z0-9]* and values quoted: nothing is ambiguous */
    case EM_FILTER_EXACT:
    case EM_FILTER_PREFIX:
    case EM_FILTER_SUFFIX:
        if (em_buf_printf(out, "%s(", names[f->kind]) != EM_OK) {
            return EM_ERROR;
        }

        for (i = 0; i < f->nattrs; i++) {
            if (em_buf_printf(out, "%s%s=", i ? ", " : "",
                              f->attrs[i].name) != EM_OK
                || em_filter_write_quoted(out, f->attrs[i].value,
                                          f->attrs[i].value_len) != EM_OK)
            {
                return EM_ERROR;
            }
        }

        return em_buf_append_str(out, ")");

    case EM_FILTER_ALL:
    case EM_FILTER_ANY:
    case EM_FILTER_NOT:
        if (em_buf_printf(out, "%s(", names[f->kind]) != EM_OK) {
            return EM_ERROR;
        }

        for (i = 0; i < f->nchildren; i++) {
            if ((i && em_buf_append_str(out, ", ") != EM_OK)
                || em_filter_write(f->children[i], out) != EM_OK)
            {
                return EM_ERROR;
            }
        }

        return em_buf_append_str(out, ")");

    /* the canonical text: spacing and keyword case do not count */
    case EM_FILTER_CESQL:
        v = em_cesql_text(f->cesql);

        if (em_buf_append_str(out, "cesql(") != EM_OK
            || em_filter_write_quoted(out, v, strlen(v)) != EM_OK)
        {
            return EM_ERROR;
        }

        return em_buf_append_str(out, ")");

    default:
        return EM_ERROR;
    }
}
