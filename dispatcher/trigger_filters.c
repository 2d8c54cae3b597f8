/*
 * spec.filters: Knative's filters dialect (the CloudEvents subscriptions
 * API's filters), compiled into the core's filter tree.
 *
 * Knative's webhook lets through a few filters that its data plane then
 * reads as "no filter", so that they pass every event: an empty value in
 * exact, prefix or suffix, an empty map, an empty all or any, and an
 * object with no dialect.  Nobody writes those on purpose, so they are
 * errors here, reported with their line like everything else.  So is a
 * CESQL expression that does not compile (with its column).
 */

#include "trigger_int.h"

#include <eventmesh/cesql.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#define EM_DIALECTS  "exact, prefix, suffix, all, any, not or cesql"


typedef enum {
    EM_TF_EXACT = 0,
    EM_TF_PREFIX,
    EM_TF_SUFFIX,
    EM_TF_ALL,
    EM_TF_ANY,
    EM_TF_NOT,
    EM_TF_CESQL,
    EM_TF_UNKNOWN
} em_tf_dialect_t;

static const char *const  em_tf_names[] = {
    "exact", "prefix", "suffix", "all", "any", "not", "cesql"
};


static em_filter_t *em_tf_filter(em_tdoc_t *d, const em_yaml_node_t *node,
    unsigned line, const char *path);


/* The path of a part (EM_CONF_PATH_MAX bytes); a deep one ends "...". */
static void
em_tf_path(char *dst, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
em_tf_path(char *dst, const char *fmt, ...)
{
    va_list  ap;
    int      n;

    va_start(ap, fmt);
    n = vsnprintf(dst, EM_CONF_PATH_MAX, fmt, ap);
    va_end(ap);

    if (n >= EM_CONF_PATH_MAX) {
        memcpy(dst + EM_CONF_PATH_MAX - 4, "...", 4);
    }
}


static em_tf_dialect_t
em_tf_dialect(const em_yaml_node_t *key)
{
    size_t  i;

    for (i = 0; i < EM_TF_UNKNOWN; i++) {
        if (strlen(em_tf_names[i]) == key->len
            && memcmp(em_tf_names[i], key->value, key->len) == 0)
        {
            return (em_tf_dialect_t) i;
        }
    }

    return EM_TF_UNKNOWN;
}


/* exact, prefix, suffix: a mapping of attribute names to non-empty values */
static em_filter_t *
em_tf_map(em_tdoc_t *d, em_tf_dialect_t dialect, const em_yaml_node_t *key,
    const em_yaml_node_t *value, const char *path)
{
    const em_yaml_node_t  *k, *v;
    const char            *names[EM_TRIGGER_MAX_ATTRS];
    const char            *values[EM_TRIGGER_MAX_ATTRS];
    const char            *err;
    char                   q[EM_CONF_QUOTE_SIZE];
    size_t                 i, n, errors;
    em_filter_t           *f;

    if (value == NULL || em_yaml_is_null(value)
        || (value->kind == EM_YAML_MAPPING && value->n == 0))
    {
        em_conf_error(&d->ctx, value ? value->line : key->line,
                      "%s: empty: name at least one attribute (Knative "
                      "would pass every event)", path);
        return NULL;
    }

    if (value->kind != EM_YAML_MAPPING) {
        em_conf_error(&d->ctx, value->line,
                      "%s: expected a mapping of attribute names to values, "
                      "found %s", path, em_yaml_kind_name(value));
        return NULL;
    }

    if (value->n / 2 > EM_TRIGGER_MAX_ATTRS) {
        em_conf_error(&d->ctx, value->line, "%s: more than %d attributes",
                      path, EM_TRIGGER_MAX_ATTRS);
        return NULL;
    }

    errors = d->ctx.errors;
    n = 0;

    for (i = 0; i + 1 < value->n; i += 2) {
        k = value->items[i];
        v = value->items[i + 1];

        if (k->len == 0) {
            em_conf_error(&d->ctx, k->line, "%s: an empty attribute name",
                          path);
            continue;
        }

        if (!em_filter_name_valid(k->value, k->len)) {
            em_diag_quote_name(q, sizeof(q), k->value, k->len,
                               EM_CONF_QUOTE_MAX);
            em_conf_error(&d->ctx, k->line,
                          "%s: %s is not a valid attribute name (lower-case "
                          "letters and digits, starting with a letter)",
                          path, q);
            continue;
        }

        if (em_yaml_is_null(v) || (v->kind == EM_YAML_SCALAR && v->len == 0))
        {
            em_conf_error(&d->ctx, v->line,
                          "%s.%s: empty value: Knative would skip this %s "
                          "and pass every event", path, k->value,
                          em_tf_names[dialect]);
            continue;
        }

        if (em_conf_scalar(&d->ctx, v, k->line, path) == NULL) {
            continue;
        }

        names[n] = k->value;
        values[n] = v->value;
        n++;
    }

    if (d->ctx.errors != errors) {
        return NULL;
    }

    f = dialect == EM_TF_EXACT ? em_filter_exact(names, values, n, &err)
        : dialect == EM_TF_PREFIX ? em_filter_prefix(names, values, n, &err)
        : em_filter_suffix(names, values, n, &err);

    if (f == NULL) {
        em_conf_error(&d->ctx, value->line, "%s: %s", path, err);
    }

    return f;
}


/* all, any: a non-empty list of filters */
static em_filter_t *
em_tf_list(em_tdoc_t *d, em_tf_dialect_t dialect, const em_yaml_node_t *key,
    const em_yaml_node_t *value, const char *path)
{
    em_filter_t  **ops, *f;
    const char    *err;
    char           sub[EM_CONF_PATH_MAX];
    size_t         i, n;

    if (value == NULL || em_yaml_is_null(value)
        || (value->kind == EM_YAML_SEQUENCE && value->n == 0))
    {
        em_conf_error(&d->ctx, value ? value->line : key->line,
                      "%s: empty: give at least one filter (Knative would "
                      "pass every event)", path);
        return NULL;
    }

    if (value->kind != EM_YAML_SEQUENCE) {
        em_conf_error(&d->ctx, value->line,
                      "%s: expected a list of filters, found %s", path,
                      em_yaml_kind_name(value));
        return NULL;
    }

    ops = calloc(value->n, sizeof(em_filter_t *));
    if (ops == NULL) {
        em_conf_error(&d->ctx, value->line, "%s: out of memory", path);
        return NULL;
    }

    n = 0;

    for (i = 0; i < value->n; i++) {
        em_tf_path(sub, "%s[%zu]", path, i);
        ops[i] = em_tf_filter(d, value->items[i], value->items[i]->line, sub);
        n += ops[i] != NULL;
    }

    if (n < value->n) {
        for (i = 0; i < value->n; i++) {
            em_filter_free(ops[i]);
        }
        free(ops);
        return NULL;
    }

    f = dialect == EM_TF_ALL ? em_filter_all(ops, n, &err)
                             : em_filter_any(ops, n, &err);
    free(ops);

    if (f == NULL) {
        em_conf_error(&d->ctx, value->line, "%s: %s", path, err);
    }

    return f;
}


/*
 * cesql: compiled now, so that a mistake is a load error with its column.
 * An expression that folds to a constant is legal but never what was
 * meant: a warning says what the filter will do.
 */
static em_filter_t *
em_tf_cesql(em_tdoc_t *d, const em_yaml_node_t *key,
    const em_yaml_node_t *value, const char *path)
{
    em_cesql_compile_error_t  cerr;
    em_cesql_value_t          c;
    em_filter_t              *f;
    const char               *err;
    char                      q[EM_CONF_QUOTE_SIZE];

    if (value == NULL || em_yaml_is_null(value)
        || (value->kind == EM_YAML_SCALAR && value->len == 0))
    {
        em_conf_error(&d->ctx, value ? value->line : key->line,
                      "%s: empty: give a CESQL expression, e.g. "
                      "\"type LIKE 'order.%%'\"", path);
        return NULL;
    }

    if (em_conf_scalar(&d->ctx, value, key->line, path) == NULL) {
        return NULL;
    }

    em_conf_quote(q, sizeof(q), value);

    f = em_filter_cesql(value->value, value->len, &cerr, &err);
    if (f == NULL) {
        em_conf_error(&d->ctx, value->line, "%s: %s is not valid CESQL: %s",
                      path, q, err);
        return NULL;
    }

    if (em_cesql_constant(em_filter_cesql_expr(f), &c)) {
        if (c.type != EM_CESQL_BOOLEAN) {
            em_tdoc_warn(d, value->line,
                         "%s: %s is not a condition but a constant %s: the "
                         "filter passes no event", path, q,
                         c.type == EM_CESQL_INTEGER ? "integer" : "string");

        } else {
            em_tdoc_warn(d, value->line,
                         "%s: %s is always %s: the filter passes %s event",
                         path, q, c.b ? "true" : "false",
                         c.b ? "every" : "no");
        }
    }

    return f;
}


/* One filter object: a mapping with exactly one dialect. */
static em_filter_t *
em_tf_filter(em_tdoc_t *d, const em_yaml_node_t *node, unsigned line,
    const char *path)
{
    const em_yaml_node_t  *key, *value, *first;
    em_tf_dialect_t        dialect;
    em_filter_t           *f, *keep, *op;
    const char            *err;
    char                   q[EM_CONF_QUOTE_SIZE];
    char                   sub[EM_CONF_PATH_MAX];
    size_t                 i, errors;

    if (node == NULL || em_yaml_is_null(node)) {
        em_conf_error(&d->ctx, node ? node->line : line,
                      "%s: no filter (give one of " EM_DIALECTS ")", path);
        return NULL;
    }

    if (node->kind != EM_YAML_MAPPING) {
        em_conf_error(&d->ctx, node->line,
                      "%s: expected a filter (a mapping with one of "
                      EM_DIALECTS "), found %s", path,
                      em_yaml_kind_name(node));
        return NULL;
    }

    if (node->n == 0) {
        em_conf_error(&d->ctx, node->line,
                      "%s: an empty filter: give one of " EM_DIALECTS
                      " (Knative would pass every event)", path);
        return NULL;
    }

    errors = d->ctx.errors;
    first = NULL;
    keep = NULL;

    /* every key is looked at, so that all the problems come out at once */
    for (i = 0; i + 1 < node->n; i += 2) {
        key = node->items[i];
        value = node->items[i + 1];
        dialect = em_tf_dialect(key);

        if (dialect == EM_TF_UNKNOWN) {
            em_diag_quote_name(q, sizeof(q), key->value, key->len,
                               EM_CONF_QUOTE_MAX);
            em_conf_error(&d->ctx, key->line,
                          "%s: unknown dialect %s (expected " EM_DIALECTS
                          ")", path, q);
            continue;
        }

        if (first != NULL) {
            em_conf_error(&d->ctx, key->line,
                          "%s: more than one dialect (%s and %s): a filter "
                          "holds exactly one; combine several with all",
                          path, first->value, key->value);
        } else {
            first = key;
        }

        em_tf_path(sub, "%s.%s", path, em_tf_names[dialect]);

        switch (dialect) {

        case EM_TF_EXACT:
        case EM_TF_PREFIX:
        case EM_TF_SUFFIX:
            f = em_tf_map(d, dialect, key, value, sub);
            break;

        case EM_TF_ALL:
        case EM_TF_ANY:
            f = em_tf_list(d, dialect, key, value, sub);
            break;

        case EM_TF_NOT:
            f = NULL;
            op = em_tf_filter(d, value, key->line, sub);
            if (op != NULL) {
                f = em_filter_not(op, &err);
                if (f == NULL) {
                    em_conf_error(&d->ctx, key->line, "%s: %s", sub, err);
                }
            }
            break;

        default:
            f = em_tf_cesql(d, key, value, sub);
            break;
        }

        if (keep == NULL) {
            keep = f;
        } else {
            em_filter_free(f);
        }
    }

    if (d->ctx.errors != errors) {
        em_filter_free(keep);
        return NULL;
    }

    return keep;
}


int
em_tfilters_parse(em_tdoc_t *d, const em_conf_field_t *f, em_filter_t **out)
{
    const em_yaml_node_t  *list;
    em_filter_t          **items;
    const char            *err;
    char                   path[EM_CONF_PATH_MAX];
    size_t                 i, n;

    *out = NULL;
    list = f->value;

    /* Knative: no list, or an empty one, leaves spec.filter in force */
    if (list == NULL || em_yaml_is_null(list)
        || (list->kind == EM_YAML_SEQUENCE && list->n == 0))
    {
        return 0;
    }

    if (list->kind != EM_YAML_SEQUENCE) {
        em_conf_error(&d->ctx, list->line,
                      "spec.filters: expected a list of filters (- exact: "
                      "{type: ...}), found %s", em_yaml_kind_name(list));
        return -1;
    }

    items = calloc(list->n, sizeof(em_filter_t *));
    if (items == NULL) {
        em_conf_error(&d->ctx, list->line, "spec.filters: out of memory");
        return -1;
    }

    n = 0;

    for (i = 0; i < list->n; i++) {
        em_tf_path(path, "spec.filters[%zu]", i);
        items[i] = em_tf_filter(d, list->items[i], list->items[i]->line,
                                path);
        n += items[i] != NULL;
    }

    if (n < list->n) {
        for (i = 0; i < list->n; i++) {
            em_filter_free(items[i]);
        }
        free(items);
        return -1;
    }

    /* the entries are ANDed; one needs no all around it */
    if (n == 1) {
        *out = items[0];

    } else {
        *out = em_filter_all(items, n, &err);
        if (*out == NULL) {
            em_conf_error(&d->ctx, list->line, "spec.filters: %s", err);
        }
    }

    free(items);
    return *out != NULL ? 0 : -1;
}
