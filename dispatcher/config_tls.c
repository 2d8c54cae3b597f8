/*
 * nats.tls of dispatcher.yaml.  The files are checked when the
 * configuration is read, with the same words as the key that names them.
 */

#include "config_tls.h"

#include <eventmesh/em.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


/* YAML 1.2's core schema booleans */
static int
em_conf_bool(em_conf_ctx_t *ctx, const em_conf_field_t *f, const char *path,
    int *out)
{
    const em_yaml_node_t  *v;
    char                   q[EM_CONF_QUOTE_SIZE];

    v = em_conf_scalar(ctx, f->value, f->key->line, path);
    if (v == NULL) {
        return -1;
    }

    if (strcmp(v->value, "true") == 0 || strcmp(v->value, "True") == 0
        || strcmp(v->value, "TRUE") == 0)
    {
        *out = 1;
        return 0;
    }

    if (strcmp(v->value, "false") == 0 || strcmp(v->value, "False") == 0
        || strcmp(v->value, "FALSE") == 0)
    {
        *out = 0;
        return 0;
    }

    em_conf_quote(q, sizeof(q), v);
    em_conf_error(ctx, v->line, "%s: %s is not true or false", path, q);

    return -1;
}


/*
 * A file named relative to dispatcher.yaml, like the triggers directory,
 * so that the daemon does not depend on its working directory.
 */
static void
em_conf_tls_file(em_conf_ctx_t *ctx, const em_conf_field_t *f,
    const char *path, char **out)
{
    char        *given;
    const char  *slash;
    em_buf_t     b;

    if (f->value == NULL || em_conf_string(ctx, f, path, &given) != 0) {
        return;
    }

    em_buf_init(&b);

    slash = strrchr(ctx->file, '/');

    if (given[0] != '/' && slash != NULL
        && em_buf_append(&b, ctx->file, (size_t) (slash - ctx->file) + 1)
           != EM_OK)
    {
        goto oom;
    }

    if (em_buf_append_str(&b, given) != EM_OK) {
        goto oom;
    }

    free(given);

    if (access(b.data, R_OK) != 0) {
        em_conf_error(ctx, f->value->line, "%s: cannot read %s: %s", path,
                      b.data, strerror(errno));
        em_buf_free(&b);
        return;
    }

    *out = b.data;
    return;

oom:

    free(given);
    em_buf_free(&b);
    em_conf_error(ctx, f->value->line, "%s: out of memory", path);
}


void
em_conf_tls(em_conf_ctx_t *ctx, em_tls_conf_t *tls, const em_conf_field_t *f)
{
    const em_yaml_node_t  *map;
    em_conf_field_t        k[] = {
        { "ca", NULL, NULL },
        { "cert", NULL, NULL },
        { "key", NULL, NULL },
        { "verify", NULL, NULL },
        { "name", NULL, NULL },
    };

    tls->verify = 1;

    if (f->value == NULL) {
        return;
    }

    /* "tls:" alone, or "tls: {}", turns TLS on with the defaults */
    tls->enabled = 1;

    map = em_conf_mapping(ctx, f, "nats.tls");
    if (map == NULL) {
        return;
    }

    em_conf_fields(ctx, map, "nats.tls", k, sizeof(k) / sizeof(k[0]));

    em_conf_tls_file(ctx, &k[0], "nats.tls.ca", &tls->ca);
    em_conf_tls_file(ctx, &k[1], "nats.tls.cert", &tls->cert);
    em_conf_tls_file(ctx, &k[2], "nats.tls.key", &tls->key);

    if (k[3].value != NULL) {
        (void) em_conf_bool(ctx, &k[3], "nats.tls.verify", &tls->verify);
    }

    if (k[4].value != NULL) {
        (void) em_conf_string(ctx, &k[4], "nats.tls.name", &tls->name);
    }

    if (k[1].value != NULL && k[2].value == NULL) {
        em_conf_error(ctx, k[1].key->line,
                      "nats.tls.cert: a client certificate needs "
                      "nats.tls.key, its private key");

    } else if (k[2].value != NULL && k[1].value == NULL) {
        em_conf_error(ctx, k[2].key->line,
                      "nats.tls.key: a private key needs nats.tls.cert, its "
                      "certificate");
    }

    if (!tls->verify && (k[0].value != NULL || k[4].value != NULL)) {
        em_conf_error(ctx, k[3].key->line,
                      "nats.tls.verify: false checks nothing, so "
                      "nats.tls.ca and nats.tls.name would be ignored; "
                      "remove them or verify");
    }
}


void
em_tls_conf_free(em_tls_conf_t *tls)
{
    free(tls->ca);
    free(tls->cert);
    free(tls->key);
    free(tls->name);

    memset(tls, 0, sizeof(*tls));
}
