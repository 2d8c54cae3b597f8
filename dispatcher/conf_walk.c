/*
 * Helpers to walk configuration in a YAML tree and report problems with
 * their lines.
 */

#include "conf_walk.h"
#include "units.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


void
em_conf_error(em_conf_ctx_t *ctx, unsigned line, const char *fmt, ...)
{
    va_list  ap;
    char     msg[1024];

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    em_diag_add(ctx->diag, ctx->file, line, "%s", msg);
    ctx->errors++;
}


void
em_conf_quote(char *buf, size_t size, const em_yaml_node_t *node)
{
    em_diag_quote(buf, size, node->value, node->len, EM_CONF_QUOTE_MAX);
}


/*
 * Unknown keys come with the list of known ones, so that a typo is
 * obvious.  Duplicate keys were already refused by the YAML reader.
 */
void
em_conf_fields(em_conf_ctx_t *ctx, const em_yaml_node_t *map,
    const char *where, em_conf_field_t *fields, size_t nfields)
{
    size_t                 i, k, n;
    const em_yaml_node_t  *key;
    char                   name[EM_CONF_QUOTE_SIZE];
    char                   known[512];

    for (i = 0; i + 1 < map->n; i += 2) {
        key = map->items[i];

        for (k = 0; k < nfields; k++) {
            if (strlen(fields[k].name) == key->len
                && memcmp(fields[k].name, key->value, key->len) == 0)
            {
                fields[k].key = key;
                fields[k].value = map->items[i + 1];
                break;
            }
        }

        if (k < nfields) {
            continue;
        }

        n = 0;
        known[0] = '\0';
        for (k = 0; k < nfields; k++) {
            n += (size_t) snprintf(known + n, sizeof(known) - n, "%s%s",
                                   k == 0 ? ""
                                   : k + 1 == nfields ? " or " : ", ",
                                   fields[k].name);
            if (n >= sizeof(known)) {
                break;
            }
        }

        em_diag_quote_name(name, sizeof(name), key->value, key->len,
                           EM_CONF_QUOTE_MAX);

        if (where[0] == '\0') {
            em_conf_error(ctx, key->line,
                          "unknown key %s at the top level (expected %s)",
                          name, known);

        } else {
            em_conf_error(ctx, key->line, "unknown key %s in %s (expected %s)",
                          name, where, known);
        }
    }
}


const em_yaml_node_t *
em_conf_mapping(em_conf_ctx_t *ctx, const em_conf_field_t *f,
    const char *path)
{
    if (f->value == NULL || em_yaml_is_null(f->value)) {
        return NULL;
    }

    if (f->value->kind != EM_YAML_MAPPING) {
        em_conf_error(ctx, f->value->line, "%s: expected a mapping, found %s",
                      path, em_yaml_kind_name(f->value));
        return NULL;
    }

    return f->value;
}


const em_yaml_node_t *
em_conf_scalar(em_conf_ctx_t *ctx, const em_yaml_node_t *value,
    unsigned line, const char *path)
{
    if (value == NULL || em_yaml_is_null(value)) {
        em_conf_error(ctx, line, "%s: no value", path);
        return NULL;
    }

    if (value->kind != EM_YAML_SCALAR) {
        em_conf_error(ctx, value->line,
                      "%s: expected a single value, found %s", path,
                      em_yaml_kind_name(value));
        return NULL;
    }

    if (memchr(value->value, '\0', value->len) != NULL) {
        em_conf_error(ctx, value->line, "%s: contains a NUL byte", path);
        return NULL;
    }

    return value;
}


int
em_conf_string(em_conf_ctx_t *ctx, const em_conf_field_t *f,
    const char *path, char **out)
{
    const em_yaml_node_t  *v;

    v = em_conf_scalar(ctx, f->value, f->key->line, path);
    if (v == NULL) {
        return -1;
    }

    if (v->len == 0) {
        em_conf_error(ctx, v->line, "%s: must not be empty", path);
        return -1;
    }

    *out = strdup(v->value);
    if (*out == NULL) {
        em_conf_error(ctx, v->line, "%s: out of memory", path);
        return -1;
    }

    return 0;
}


static int
em_conf_host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}


int
em_conf_host_port(const char *s, size_t len, const char **host,
    size_t *host_len, unsigned *port)
{
    const char  *p, *end, *h;
    size_t       hl;
    unsigned     v;

    p = s;
    end = s + len;

    if (p < end && *p == '[') {
        h = ++p;
        while (p < end && *p != ']') {
            if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')
                  || (*p >= 'A' && *p <= 'F') || *p == ':' || *p == '.'))
            {
                return -1;
            }
            p++;
        }

        if (p == end || p == h) {
            return -1;
        }

        hl = (size_t) (p - h);
        p++;

    } else {
        h = p;
        while (p < end && em_conf_host_char(*p)) {
            p++;
        }

        hl = (size_t) (p - h);
        if (hl == 0) {
            return -1;
        }
    }

    *host = h;
    *host_len = hl;
    *port = 0;

    if (p == end) {
        return 0;
    }

    if (*p++ != ':' || p == end) {
        return -1;
    }

    v = 0;
    while (p < end && *p >= '0' && *p <= '9') {
        v = v * 10 + (unsigned) (*p++ - '0');
        if (v > 65535) {
            return -1;
        }
    }

    if (p != end || v == 0) {
        return -1;
    }

    *port = v;
    return 0;
}


int
em_conf_duration(em_conf_ctx_t *ctx, const em_conf_field_t *f,
    const char *path, int zero_ok, int64_t *out)
{
    const em_yaml_node_t  *v;
    const char            *why;
    char                   q[EM_CONF_QUOTE_SIZE];
    int64_t                ns;

    v = em_conf_scalar(ctx, f->value, f->key->line, path);
    if (v == NULL) {
        return -1;
    }

    em_conf_quote(q, sizeof(q), v);

    if (em_duration_parse(v->value, v->len, &ns, &why) != 0) {
        em_conf_error(ctx, v->line, "%s: %s %s", path, q, why);
        return -1;
    }

    if (ns == 0 && !zero_ok) {
        em_conf_error(ctx, v->line, "%s: must be longer than 0", path);
        return -1;
    }

    *out = ns;
    return 0;
}
