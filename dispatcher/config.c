/*
 * dispatcher.yaml loader.  The YAML tree is walked once; every problem is
 * recorded with its line and the walk goes on, so that one --check run
 * shows all of them.  Values are copied out of the tree, which is freed
 * before returning.
 */

#include "config.h"
#include "config_brokers.h"
#include "conf_walk.h"
#include "yaml_tree.h"

#include <eventmesh/em.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


const char *
em_storage_name(em_storage_t storage)
{
    return storage == EM_STORAGE_MEMORY ? "memory" : "file";
}


static void
em_conf_server(em_conf_ctx_t *ctx, const em_yaml_node_t *item,
    const char *path, char **out, int *tls)
{
    const em_yaml_node_t  *v;
    const char            *host, *rest;
    size_t                 host_len;
    unsigned               port;
    char                   q[EM_CONF_QUOTE_SIZE];

    v = em_conf_scalar(ctx, item, item->line, path);
    if (v == NULL) {
        return;
    }

    /* never echo a URL that may carry a password */
    if (memchr(v->value, '@', v->len) != NULL) {
        em_conf_error(ctx, v->line,
                      "%s: do not put credentials in the URL: use nats.user "
                      "and nats.password, or nats.token", path);
        return;
    }

    em_conf_quote(q, sizeof(q), v);

    if (strncmp(v->value, "tls://", 6) == 0) {
        /* the NATS clients' way of asking for TLS */
        *tls = 1;
        rest = v->value + 6;

    } else if (strncmp(v->value, "nats://", 7) == 0) {
        rest = v->value + 7;

    } else {
        em_conf_error(ctx, v->line,
                      "%s: %s is not a NATS URL (use nats://host:port or "
                      "tls://host:port)", path, q);
        return;
    }

    if (em_conf_host_port(rest, v->len - (size_t) (rest - v->value), &host,
                          &host_len, &port)
        != 0)
    {
        em_conf_error(ctx, v->line,
                      "%s: %s is not a NATS URL (use nats://host:port or "
                      "tls://host:port)", path, q);
        return;
    }

    *out = strdup(v->value);
    if (*out == NULL) {
        em_conf_error(ctx, v->line, "%s: out of memory", path);
    }
}


static void
em_conf_nats(em_conf_ctx_t *ctx, em_config_t *cf, const em_conf_field_t *sec)
{
    const em_yaml_node_t  *map, *list;
    size_t                 i;
    unsigned               line;
    int                    tls;
    char                   path[EM_CONF_PATH_MAX];
    em_conf_field_t        f[] = {
        { "servers", NULL, NULL },
        { "user", NULL, NULL },
        { "password", NULL, NULL },
        { "token", NULL, NULL },
        { "tls", NULL, NULL },
    };

    map = em_conf_mapping(ctx, sec, "nats");
    if (map != NULL) {
        em_conf_fields(ctx, map, "nats", f, sizeof(f) / sizeof(f[0]));
    }

    tls = 0;

    if (f[0].value == NULL) {
        cf->servers = calloc(1, sizeof(char *));
        if (cf->servers == NULL
            || (cf->servers[0] = strdup(EM_CONF_DEFAULT_SERVER)) == NULL)
        {
            em_conf_error(ctx, 0, "out of memory");
            return;
        }

        cf->nservers = 1;

    } else {
        list = f[0].value;

        if (list->kind == EM_YAML_SCALAR && !em_yaml_is_null(list)) {
            /* a single URL is a list of one */
            cf->servers = calloc(1, sizeof(char *));
            if (cf->servers == NULL) {
                em_conf_error(ctx, list->line, "out of memory");
                return;
            }

            em_conf_server(ctx, list, "nats.servers", &cf->servers[0], &tls);
            cf->nservers = 1;

        } else if (list->kind != EM_YAML_SEQUENCE) {
            em_conf_error(ctx, f[0].key->line,
                          "nats.servers: expected a list of URLs, found %s",
                          em_yaml_kind_name(list));

        } else if (list->n == 0) {
            em_conf_error(ctx, list->line,
                          "nats.servers: the list is empty (e.g. "
                          "[nats://127.0.0.1:4222])");

        } else {
            cf->servers = calloc(list->n, sizeof(char *));
            if (cf->servers == NULL) {
                em_conf_error(ctx, list->line, "out of memory");
                return;
            }

            cf->nservers = list->n;

            for (i = 0; i < list->n; i++) {
                snprintf(path, sizeof(path), "nats.servers[%zu]", i);
                em_conf_server(ctx, list->items[i], path, &cf->servers[i],
                               &tls);
            }
        }
    }

    if (f[1].value != NULL) {
        em_conf_string(ctx, &f[1], "nats.user", &cf->user);
    }

    if (f[2].value != NULL) {
        em_conf_string(ctx, &f[2], "nats.password", &cf->password);
    }

    if (f[3].value != NULL) {
        em_conf_string(ctx, &f[3], "nats.token", &cf->token);
    }

    em_conf_tls(ctx, &cf->tls, &f[4]);

    /* one tls:// server means TLS for every server: cnats has one setting */
    if (tls) {
        cf->tls.enabled = 1;
    }

    if (f[1].value != NULL && f[2].value == NULL) {
        em_conf_error(ctx, f[1].key->line,
                      "nats.user is set but nats.password is not");

    } else if (f[2].value != NULL && f[1].value == NULL) {
        em_conf_error(ctx, f[2].key->line,
                      "nats.password is set but nats.user is not");
    }

    if (f[3].value != NULL && (f[1].value != NULL || f[2].value != NULL)) {
        line = f[3].key->line;
        em_conf_error(ctx, line,
                      "nats.token: use either nats.user and nats.password, "
                      "or nats.token, not both");
    }
}


static void
em_conf_admin(em_conf_ctx_t *ctx, em_config_t *cf, const em_conf_field_t *sec)
{
    const em_yaml_node_t  *map, *v;
    const char            *host;
    size_t                 host_len;
    unsigned               port, line;
    char                   q[EM_CONF_QUOTE_SIZE];
    em_conf_field_t        f[] = {
        { "listen", NULL, NULL },
    };

    map = em_conf_mapping(ctx, sec, "admin");
    if (map != NULL) {
        em_conf_fields(ctx, map, "admin", f, sizeof(f) / sizeof(f[0]));
    }

    if (f[0].value == NULL) {
        cf->admin_listen = strdup(EM_CONF_DEFAULT_ADMIN);
        line = 0;

    } else {
        v = em_conf_scalar(ctx, f[0].value, f[0].key->line, "admin.listen");
        if (v == NULL) {
            return;
        }

        line = v->line;

        if (em_conf_host_port(v->value, v->len, &host, &host_len, &port) != 0
            || port == 0)
        {
            em_conf_quote(q, sizeof(q), v);
            em_conf_error(ctx, line,
                          "admin.listen: %s is not host:port (e.g. "
                          "127.0.0.1:9090, [::1]:9090)", q);
            return;
        }

        cf->admin_listen = strdup(v->value);
    }

    if (cf->admin_listen == NULL) {
        em_conf_error(ctx, line, "out of memory");
        return;
    }

    em_conf_host_port(cf->admin_listen, strlen(cf->admin_listen), &host,
                      &host_len, &port);

    cf->admin_host = strndup(host, host_len);
    cf->admin_port = port;

    if (cf->admin_host == NULL) {
        em_conf_error(ctx, line, "out of memory");
    }
}


static void
em_conf_triggers(em_conf_ctx_t *ctx, em_config_t *cf,
    const em_conf_field_t *f)
{
    const char  *slash;
    size_t       dlen;
    em_buf_t     b;

    if (f->value == NULL) {
        cf->triggers = strdup(EM_CONF_DEFAULT_TRIGGERS);
        if (cf->triggers == NULL) {
            em_conf_error(ctx, 0, "out of memory");
            return;
        }

    } else if (em_conf_string(ctx, f, "triggers", &cf->triggers) != 0) {
        return;
    }

    /* relative to the file, so the daemon does not depend on its cwd */
    slash = strrchr(ctx->file, '/');

    em_buf_init(&b);

    if (cf->triggers[0] == '/' || slash == NULL) {
        if (em_buf_append_str(&b, cf->triggers) != EM_OK) {
            goto oom;
        }

    } else {
        dlen = (size_t) (slash - ctx->file) + 1;
        if (em_buf_append(&b, ctx->file, dlen) != EM_OK
            || em_buf_append_str(&b, cf->triggers) != EM_OK)
        {
            goto oom;
        }
    }

    cf->triggers_dir = b.data;
    return;

oom:

    em_buf_free(&b);
    em_conf_error(ctx, f->key ? f->key->line : 0, "out of memory");
}


static void
em_conf_template(em_conf_ctx_t *ctx, em_config_t *cf,
    const em_conf_field_t *f)
{
    const char  *p, *close;
    size_t       n;
    char         q[EM_CONF_QUOTE_SIZE];

    if (f->value == NULL) {
        cf->subscriber_template = strdup(EM_CONF_DEFAULT_TEMPLATE);
        if (cf->subscriber_template == NULL) {
            em_conf_error(ctx, 0, "out of memory");
        }
        return;
    }

    if (em_conf_string(ctx, f, "subscriberTemplate",
                       &cf->subscriber_template) != 0)
    {
        return;
    }

    p = cf->subscriber_template;

    if (strncmp(p, "http://", 7) != 0 && strncmp(p, "https://", 8) != 0) {
        em_conf_quote(q, sizeof(q), f->value);
        em_conf_error(ctx, f->value->line,
                      "subscriberTemplate: %s must start with http:// or "
                      "https://", q);
        return;
    }

    for ( ;; ) {
        p = strpbrk(p, "{}");
        if (p == NULL) {
            return;
        }

        close = *p == '{' ? strchr(p, '}') : NULL;
        n = close ? (size_t) (close - p + 1) : 0;

        if (close == NULL || memchr(p + 1, '{', n - 1) != NULL) {
            em_conf_error(ctx, f->value->line,
                          "subscriberTemplate: unbalanced '%c' (placeholders "
                          "are {name} and {namespace})", *p);
            return;
        }

        if (!(n == 6 && memcmp(p, "{name}", 6) == 0)
            && !(n == 11 && memcmp(p, "{namespace}", 11) == 0))
        {
            em_diag_quote(q, sizeof(q), p, n, EM_CONF_QUOTE_MAX);
            em_conf_error(ctx, f->value->line,
                          "subscriberTemplate: unknown placeholder %s (use "
                          "{name} and {namespace})", q);
            return;
        }

        p += n;
    }
}


void
em_config_free(em_config_t *cf)
{
    size_t  i;

    for (i = 0; i < cf->nservers; i++) {
        free(cf->servers[i]);
    }

    for (i = 0; i < cf->nbrokers; i++) {
        free(cf->brokers[i].ns);
        free(cf->brokers[i].name);
    }

    free(cf->path);
    free(cf->servers);
    free(cf->user);
    free(cf->password);
    free(cf->token);
    em_tls_conf_free(&cf->tls);
    free(cf->admin_listen);
    free(cf->admin_host);
    free(cf->triggers);
    free(cf->triggers_dir);
    free(cf->subscriber_template);
    free(cf->brokers);

    memset(cf, 0, sizeof(*cf));
}


static int
em_config_from_tree(em_config_t *cf, const char *path, em_yaml_node_t *root,
    em_diag_t *diag)
{
    em_conf_ctx_t    ctx;
    em_conf_field_t  f[] = {
        { "nats", NULL, NULL },
        { "admin", NULL, NULL },
        { "triggers", NULL, NULL },
        { "subscriberTemplate", NULL, NULL },
        { "brokers", NULL, NULL },
    };

    ctx.file = path;
    ctx.diag = diag;
    ctx.errors = 0;

    if (root == NULL || em_yaml_is_null(root)) {
        em_diag_add(diag, path, 0,
                    "the file is empty: expected nats, admin, triggers, "
                    "subscriberTemplate and brokers");
        return -1;
    }

    if (root->kind != EM_YAML_MAPPING) {
        em_diag_add(diag, path, root->line,
                    "expected a mapping (nats, admin, triggers, "
                    "subscriberTemplate, brokers) at the top level, found %s",
                    em_yaml_kind_name(root));
        return -1;
    }

    cf->path = strdup(path);
    if (cf->path == NULL) {
        em_conf_error(&ctx, 0, "out of memory");
    }

    em_conf_fields(&ctx, root, "", f, sizeof(f) / sizeof(f[0]));

    em_conf_nats(&ctx, cf, &f[0]);
    em_conf_admin(&ctx, cf, &f[1]);
    em_conf_triggers(&ctx, cf, &f[2]);
    em_conf_template(&ctx, cf, &f[3]);
    em_conf_brokers(&ctx, cf, &f[4], root->line);

    if (ctx.errors > 0) {
        em_config_free(cf);
        return -1;
    }

    return 0;
}


int
em_config_load(em_config_t *cf, const char *path, em_diag_t *diag)
{
    em_yaml_node_t  *root;
    int              rc;

    memset(cf, 0, sizeof(*cf));

    if (em_yaml_load_file(path, &root, diag) != 0) {
        return -1;
    }

    rc = em_config_from_tree(cf, path, root, diag);
    em_yaml_free(root);
    return rc;
}


int
em_config_load_string(em_config_t *cf, const char *name, const char *data,
    size_t len, em_diag_t *diag)
{
    em_yaml_node_t  *root;
    int              rc;

    memset(cf, 0, sizeof(*cf));

    if (em_yaml_load_string(name, data, len, &root, diag) != 0) {
        return -1;
    }

    rc = em_config_from_tree(cf, name, root, diag);
    em_yaml_free(root);
    return rc;
}
