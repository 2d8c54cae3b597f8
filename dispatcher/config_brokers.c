/*
 * The brokers section of dispatcher.yaml: each broker's namespace and name
 * (em_broker_ref_parse() rules) and its channel, the JetStream stream
 * settings, with JetStream's own constraints checked up front.
 */

#include "config_brokers.h"
#include "units.h"

#include <eventmesh/subject.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* A part of namespace/broker, by em_broker_ref_parse()'s rules. */
static void
em_conf_k8s_name(em_conf_ctx_t *ctx, const em_conf_field_t *f,
    const char *path, int is_ns, char **out)
{
    const em_yaml_node_t  *v;
    const char            *why;
    size_t                 slash;
    em_buf_t               ref;
    char                   q[EM_CONF_QUOTE_SIZE];
    int                    ok;

    v = em_conf_scalar(ctx, f->value, f->key->line, path);
    if (v == NULL) {
        return;
    }

    em_conf_quote(q, sizeof(q), v);

    if (v->len == 0) {
        em_conf_error(ctx, v->line, "%s: must not be empty", path);
        return;
    }

    if (memchr(v->value, '/', v->len) != NULL) {
        em_conf_error(ctx, v->line, "%s: %s must not contain '/'", path, q);
        return;
    }

    /* pair it with a valid other half so that any reason is about v */
    em_buf_init(&ref);
    if ((is_ns ? em_buf_printf(&ref, "%s/x", v->value)
               : em_buf_printf(&ref, "x/%s", v->value)) != EM_OK)
    {
        em_buf_free(&ref);
        em_conf_error(ctx, v->line, "out of memory");
        return;
    }

    why = NULL;
    ok = em_broker_ref_parse(ref.data, ref.len, &slash, &why);
    em_buf_free(&ref);

    if (!ok) {
        em_conf_error(ctx, v->line, "%s: %s is not a valid name: %s", path,
                      q, why ? why : "invalid");
        return;
    }

    *out = strdup(v->value);
    if (*out == NULL) {
        em_conf_error(ctx, v->line, "out of memory");
    }
}


static void
em_conf_channel(em_conf_ctx_t *ctx, em_broker_conf_t *b,
    const em_conf_field_t *sec, const char *bpath)
{
    const em_yaml_node_t  *map, *v;
    const char            *why;
    char                   where[EM_CONF_PATH_MAX];
    char                   path[EM_CONF_PATH_MAX + 32];
    char                   q[EM_CONF_QUOTE_SIZE];
    char                   a[EM_UNITS_FORMAT_SIZE], d[EM_UNITS_FORMAT_SIZE];
    const char            *p;
    int64_t                size;
    long                   r;
    unsigned               line;
    em_conf_field_t        f[] = {
        { "storage", NULL, NULL },
        { "maxAge", NULL, NULL },
        { "size", NULL, NULL },
        { "maxInactivity", NULL, NULL },
        { "replicas", NULL, NULL },
        { "duplicateWindow", NULL, NULL },
    };

    b->storage = EM_STORAGE_FILE;
    b->max_age = EM_CONF_DEFAULT_MAX_AGE;
    b->size = EM_CONF_DEFAULT_SIZE;
    b->max_inactivity = EM_CONF_DEFAULT_MAX_INACTIVITY;
    b->replicas = EM_CONF_DEFAULT_REPLICAS;
    b->duplicate_window = EM_CONF_DEFAULT_DUP_WINDOW;

    snprintf(where, sizeof(where), "%s.channel", bpath);

    map = em_conf_mapping(ctx, sec, where);
    if (map == NULL) {
        return;
    }

    em_conf_fields(ctx, map, where, f, sizeof(f) / sizeof(f[0]));

    if (f[0].value != NULL) {
        snprintf(path, sizeof(path), "%s.storage", where);
        v = em_conf_scalar(ctx, f[0].value, f[0].key->line, path);

        if (v != NULL && strcmp(v->value, "file") == 0) {
            b->storage = EM_STORAGE_FILE;

        } else if (v != NULL && strcmp(v->value, "memory") == 0) {
            b->storage = EM_STORAGE_MEMORY;

        } else if (v != NULL) {
            em_conf_quote(q, sizeof(q), v);
            em_conf_error(ctx, v->line,
                          "%s: %s is not a storage type (use file or memory)",
                          path, q);
        }
    }

    if (f[1].value != NULL) {
        snprintf(path, sizeof(path), "%s.maxAge", where);
        (void) em_conf_duration(ctx, &f[1], path, 1, &b->max_age);
    }

    if (f[2].value != NULL) {
        snprintf(path, sizeof(path), "%s.size", where);
        v = em_conf_scalar(ctx, f[2].value, f[2].key->line, path);

        if (v != NULL) {
            em_conf_quote(q, sizeof(q), v);

            if (em_size_parse(v->value, v->len, &size, &why) != 0) {
                em_conf_error(ctx, v->line, "%s: %s %s", path, q, why);

            } else if (size == 0) {
                em_conf_error(ctx, v->line, "%s: must be more than 0 bytes",
                              path);

            } else {
                b->size = size;
            }
        }
    }

    if (f[3].value != NULL) {
        snprintf(path, sizeof(path), "%s.maxInactivity", where);
        (void) em_conf_duration(ctx, &f[3], path, 0, &b->max_inactivity);
    }

    if (f[4].value != NULL) {
        snprintf(path, sizeof(path), "%s.replicas", where);
        v = em_conf_scalar(ctx, f[4].value, f[4].key->line, path);

        if (v != NULL) {
            r = 0;
            for (p = v->value; *p >= '0' && *p <= '9' && r < 1000; p++) {
                r = r * 10 + (*p - '0');
            }

            if (*p != '\0' || p == v->value || r < 1
                || r > EM_CONF_MAX_REPLICAS)
            {
                em_conf_quote(q, sizeof(q), v);
                em_conf_error(ctx, v->line,
                              "%s: %s is not a number of replicas from 1 to "
                              "%d", path, q, EM_CONF_MAX_REPLICAS);

            } else {
                b->replicas = (int) r;
            }
        }
    }

    if (f[5].value != NULL) {
        snprintf(path, sizeof(path), "%s.duplicateWindow", where);
        (void) em_conf_duration(ctx, &f[5], path, 0, &b->duplicate_window);
    }

    /* JetStream refuses a duplicate window longer than the stream's age */
    if (b->max_age > 0 && b->duplicate_window > b->max_age) {
        em_duration_format(b->max_age, a, sizeof(a));
        em_duration_format(b->duplicate_window, d, sizeof(d));

        if (f[5].value != NULL) {
            line = f[5].value->line;
            em_conf_error(ctx, line,
                          "%s.duplicateWindow: %s is longer than maxAge %s "
                          "(JetStream requires duplicateWindow <= maxAge)",
                          where, d, a);

        } else {
            line = f[1].value ? f[1].value->line : map->line;
            em_conf_error(ctx, line,
                          "%s.maxAge: %s is shorter than the default "
                          "duplicateWindow %s (JetStream requires "
                          "duplicateWindow <= maxAge): set duplicateWindow "
                          "too", where, a, d);
        }
    }
}


typedef struct {
    const em_broker_conf_t  *b;
} em_conf_broker_ref_t;


static int
em_conf_broker_cmp(const void *x, const void *y)
{
    const em_broker_conf_t  *a = ((const em_conf_broker_ref_t *) x)->b;
    const em_broker_conf_t  *b = ((const em_conf_broker_ref_t *) y)->b;
    int                      c;

    c = strcmp(a->ns, b->ns);
    if (c == 0) {
        c = strcmp(a->name, b->name);
    }

    if (c == 0) {
        c = a->line < b->line ? -1 : (a->line > b->line);
    }

    return c;
}


static void
em_conf_duplicates(em_conf_ctx_t *ctx, em_config_t *cf)
{
    em_conf_broker_ref_t  *refs;
    size_t                 i, j, n;

    refs = malloc((cf->nbrokers + 1) * sizeof(*refs));
    if (refs == NULL) {
        em_conf_error(ctx, 0, "out of memory");
        return;
    }

    n = 0;
    for (i = 0; i < cf->nbrokers; i++) {
        if (cf->brokers[i].ns != NULL && cf->brokers[i].name != NULL) {
            refs[n++].b = &cf->brokers[i];
        }
    }

    qsort(refs, n, sizeof(*refs), em_conf_broker_cmp);

    for (i = 0; i < n; i = j) {
        for (j = i + 1; j < n; j++) {
            if (strcmp(refs[i].b->ns, refs[j].b->ns) != 0
                || strcmp(refs[i].b->name, refs[j].b->name) != 0)
            {
                break;
            }

            em_conf_error(ctx, refs[j].b->line,
                          "brokers[%zu]: duplicate broker %s/%s (first at "
                          "line %u)", (size_t) (refs[j].b - cf->brokers),
                          refs[j].b->ns, refs[j].b->name, refs[i].b->line);
        }
    }

    free(refs);
}


void
em_conf_brokers(em_conf_ctx_t *ctx, em_config_t *cf,
    const em_conf_field_t *sec, unsigned root_line)
{
    const em_yaml_node_t  *list, *item;
    em_broker_conf_t      *b;
    size_t                 i;
    char                   where[64], path[96];

    if (sec->value == NULL) {
        em_conf_error(ctx, root_line,
                      "no brokers: add at least one under 'brokers:' (e.g. "
                      "namespace: default, name: default)");
        return;
    }

    list = sec->value;

    if (em_yaml_is_null(list) || list->kind != EM_YAML_SEQUENCE
        || list->n == 0)
    {
        em_conf_error(ctx, sec->key->line,
                      "brokers: expected a list of brokers, found %s",
                      list->kind == EM_YAML_SEQUENCE ? "an empty list"
                      : em_yaml_kind_name(list));
        return;
    }

    cf->brokers = calloc(list->n, sizeof(*cf->brokers));
    if (cf->brokers == NULL) {
        em_conf_error(ctx, list->line, "out of memory");
        return;
    }

    cf->nbrokers = list->n;

    for (i = 0; i < list->n; i++) {
        em_conf_field_t  f[] = {
            { "namespace", NULL, NULL },
            { "name", NULL, NULL },
            { "channel", NULL, NULL },
        };

        item = list->items[i];
        b = &cf->brokers[i];
        b->line = item->line;

        snprintf(where, sizeof(where), "brokers[%zu]", i);

        if (item->kind != EM_YAML_MAPPING) {
            em_conf_error(ctx, item->line,
                          "%s: expected a mapping with namespace, name and "
                          "channel, found %s", where, em_yaml_kind_name(item));
            continue;
        }

        em_conf_fields(ctx, item, where, f, sizeof(f) / sizeof(f[0]));

        if (f[0].value == NULL) {
            em_conf_error(ctx, item->line, "%s: namespace is missing", where);

        } else {
            snprintf(path, sizeof(path), "%s.namespace", where);
            em_conf_k8s_name(ctx, &f[0], path, 1, &b->ns);
        }

        if (f[1].value == NULL) {
            em_conf_error(ctx, item->line, "%s: name is missing", where);

        } else {
            snprintf(path, sizeof(path), "%s.name", where);
            em_conf_k8s_name(ctx, &f[1], path, 0, &b->name);
        }

        em_conf_channel(ctx, b, &f[2], where);
    }

    em_conf_duplicates(ctx, cf);
}
