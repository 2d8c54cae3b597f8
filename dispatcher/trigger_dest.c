/*
 * Destinations (Knative duckv1.Destination): spec.subscriber and
 * spec.delivery.deadLetterSink.  A uri is used as written; a ref goes
 * through dispatcher.yaml's subscriberTemplate; with both, the uri is
 * resolved relative to the ref's URL (knative/specs control-plane.md,
 * Destination Resolution).  URLs are parsed and resolved by libcurl's own
 * URL parser, the one that later sends the requests, so whatever passes
 * here is what curl will connect to.
 */

#include "trigger_int.h"

#include <eventmesh/em.h>

#include <curl/curl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* The scheme and host rules the delivery engine relies on. */
static int
em_turl_check(CURLU *u, const char **why)
{
    char  *part;
    int    bad;

    part = NULL;
    if (curl_url_get(u, CURLUPART_SCHEME, &part, 0) != CURLUE_OK) {
        *why = "has no scheme (use http:// or https://)";
        return -1;
    }

    bad = strcmp(part, "http") != 0 && strcmp(part, "https") != 0;
    curl_free(part);

    if (bad) {
        *why = "must be an http:// or https:// URL";
        return -1;
    }

    part = NULL;
    if (curl_url_get(u, CURLUPART_HOST, &part, 0) != CURLUE_OK
        || part == NULL || part[0] == '\0')
    {
        curl_free(part);
        *why = "has no host";
        return -1;
    }

    curl_free(part);

    part = NULL;
    if (curl_url_get(u, CURLUPART_USER, &part, 0) == CURLUE_OK) {
        curl_free(part);
        *why = "holds credentials (user:password@): they are not "
               "supported in subscriber URLs";
        return -1;
    }

    return 0;
}


/*
 * base NULL: url must be absolute.  Otherwise url (possibly relative)
 * is resolved against base.  Returns a malloc'ed URL or NULL with *why.
 */
static char *
em_turl_resolve(const char *base, const char *url, const char **why)
{
    CURLU     *u;
    CURLUcode  rc;
    char      *got, *out;

    u = curl_url();
    if (u == NULL) {
        *why = "out of memory";
        return NULL;
    }

    out = NULL;

    if (base != NULL) {
        rc = curl_url_set(u, CURLUPART_URL, base, 0);
        if (rc != CURLUE_OK) {
            *why = curl_url_strerror(rc);
            goto done;
        }
    }

    if (base == NULL && strstr(url, "://") == NULL) {
        *why = "is not an absolute URL (use http://host/path, or a relative "
               "uri together with a ref)";
        goto done;
    }

    if (url != NULL) {
        rc = curl_url_set(u, CURLUPART_URL, url, 0);
        if (rc != CURLUE_OK) {
            *why = rc == CURLUE_BAD_SCHEME || rc == CURLUE_UNSUPPORTED_SCHEME
                   ? "must be an http:// or https:// URL"
                   : curl_url_strerror(rc);
            goto done;
        }
    }

    if (em_turl_check(u, why) != 0) {
        goto done;
    }

    got = NULL;
    if (curl_url_get(u, CURLUPART_URL, &got, 0) != CURLUE_OK) {
        *why = "cannot be written back as a URL";
        goto done;
    }

    out = strdup(got);
    curl_free(got);

    if (out == NULL) {
        *why = "out of memory";
    }

done:

    curl_url_cleanup(u);
    return out;
}


/* subscriberTemplate with {name} and {namespace} replaced. */
static char *
em_tdest_template(const char *tpl, const char *name, const char *ns)
{
    em_buf_t     b;
    const char  *p;

    em_buf_init(&b);

    for (p = tpl; *p; ) {
        if (strncmp(p, "{name}", 6) == 0) {
            if (em_buf_append_str(&b, name) != EM_OK) {
                goto oom;
            }
            p += 6;

        } else if (strncmp(p, "{namespace}", 11) == 0) {
            if (em_buf_append_str(&b, ns) != EM_OK) {
                goto oom;
            }
            p += 11;

        } else {
            if (em_buf_append(&b, p, 1) != EM_OK) {
                goto oom;
            }
            p++;
        }
    }

    if (b.data == NULL && em_buf_append(&b, "", 0) != EM_OK) {
        goto oom;
    }

    return b.data;

oom:

    em_buf_free(&b);
    return NULL;
}


static int
em_tdest_ref(em_tdoc_t *d, const em_conf_field_t *f, const char *path,
    const char *trigger_ns, char **url)
{
    const em_yaml_node_t  *map;
    const char            *tpl, *why;
    char                  *name, *ns;
    char                   sub[EM_CONF_PATH_MAX + 16];
    size_t                 errors;
    int                    rc;
    em_conf_field_t        rf[] = {
        { "apiVersion", NULL, NULL },
        { "kind", NULL, NULL },
        { "name", NULL, NULL },
        { "namespace", NULL, NULL },
    };

    map = em_conf_mapping(&d->ctx, f, path);
    if (map == NULL) {
        if (f->value != NULL && em_yaml_is_null(f->value)) {
            em_conf_error(&d->ctx, f->key->line,
                          "%s: no value (kind and name are needed)", path);
        }
        return -1;
    }

    errors = d->ctx.errors;
    em_conf_fields(&d->ctx, map, path, rf, sizeof(rf) / sizeof(rf[0]));

    name = NULL;
    ns = NULL;
    rc = -1;

    if (rf[0].value != NULL) {
        snprintf(sub, sizeof(sub), "%.100s.apiVersion", path);
        em_conf_scalar(&d->ctx, rf[0].value, rf[0].key->line, sub);
    }

    snprintf(sub, sizeof(sub), "%.100s.kind", path);
    if (rf[1].value == NULL) {
        em_conf_error(&d->ctx, f->key->line,
                      "%s: missing (e.g. kind: Service)", sub);

    } else {
        em_conf_scalar(&d->ctx, rf[1].value, rf[1].key->line, sub);
    }

    snprintf(sub, sizeof(sub), "%.100s.name", path);
    if (rf[2].value == NULL) {
        em_conf_error(&d->ctx, f->key->line, "%s: missing", sub);

    } else {
        em_tdoc_name(d, &rf[2], sub, 0, &name);
    }

    if (rf[3].value != NULL) {
        snprintf(sub, sizeof(sub), "%.100s.namespace", path);
        em_tdoc_name(d, &rf[3], sub, 0, &ns);
    }

    if (d->ctx.errors != errors || name == NULL) {
        goto done;
    }

    tpl = d->cf->subscriber_template ? d->cf->subscriber_template
                                     : EM_CONF_DEFAULT_TEMPLATE;

    *url = em_tdest_template(tpl, name, ns ? ns : trigger_ns);
    if (*url == NULL) {
        em_conf_error(&d->ctx, map->line, "%s: out of memory", path);
        goto done;
    }

    /* the template was checked, but not with these values in it */
    why = NULL;
    {
        char  *checked = em_turl_resolve(NULL, *url, &why);

        if (checked == NULL) {
            em_conf_error(&d->ctx, f->key->line,
                          "%s: subscriberTemplate gives \"%.200s\", which %s",
                          path, *url, why ? why : "is not a URL");
            free(*url);
            *url = NULL;
            goto done;
        }

        free(*url);
        *url = checked;
    }

    rc = 0;

done:

    free(name);
    free(ns);
    return rc;
}


int
em_tdest_parse(em_tdoc_t *d, const em_conf_field_t *f, const char *path,
    const char *ns, char **out)
{
    const em_yaml_node_t  *map, *uri;
    const char            *why;
    char                  *base;
    char                   sub[EM_CONF_PATH_MAX + 16];
    char                   q[EM_CONF_QUOTE_SIZE];
    size_t                 errors;
    em_conf_field_t        df[] = {
        { "ref", NULL, NULL },
        { "uri", NULL, NULL },
        { "CACerts", NULL, NULL },
        { "audience", NULL, NULL },
    };

    *out = NULL;

    if (f->value == NULL || em_yaml_is_null(f->value)) {
        em_conf_error(&d->ctx, f->key ? f->key->line : 0,
                      "%s: no value (give uri or ref)", path);
        return -1;
    }

    map = em_conf_mapping(&d->ctx, f, path);
    if (map == NULL) {
        return -1;
    }

    errors = d->ctx.errors;
    em_conf_fields(&d->ctx, map, path, df, sizeof(df) / sizeof(df[0]));

    if (df[2].value != NULL) {
        em_conf_error(&d->ctx, df[2].key->line,
                      "%s.CACerts: custom CA certificates are not supported "
                      "yet (the system's CAs are used)", path);
    }

    if (df[3].value != NULL) {
        em_conf_error(&d->ctx, df[3].key->line,
                      "%s.audience: OIDC audiences are not supported", path);
    }

    if (df[0].value == NULL && df[1].value == NULL) {
        em_conf_error(&d->ctx, f->key->line,
                      "%s: give uri (http://host/path) or ref (kind, name)",
                      path);
        return -1;
    }

    base = NULL;

    if (df[0].value != NULL) {
        snprintf(sub, sizeof(sub), "%.100s.ref", path);
        if (em_tdest_ref(d, &df[0], sub, ns, &base) != 0) {
            return -1;
        }
    }

    uri = NULL;

    if (df[1].value != NULL) {
        snprintf(sub, sizeof(sub), "%.100s.uri", path);
        uri = em_conf_scalar(&d->ctx, df[1].value, df[1].key->line, sub);

        if (uri != NULL && uri->len == 0) {
            em_conf_error(&d->ctx, uri->line, "%s: must not be empty", sub);
            uri = NULL;
        }

        if (uri == NULL) {
            free(base);
            return -1;
        }
    }

    if (d->ctx.errors != errors) {
        free(base);
        return -1;
    }

    if (uri == NULL) {
        *out = base;
        return 0;
    }

    why = NULL;
    *out = em_turl_resolve(base, uri->value, &why);

    if (*out == NULL) {
        em_conf_quote(q, sizeof(q), uri);

        if (base != NULL) {
            em_conf_error(&d->ctx, uri->line,
                          "%s.uri: %s, relative to the ref's %s, %s", path,
                          q, base, why ? why : "is not a URL");

        } else {
            em_conf_error(&d->ctx, uri->line, "%s.uri: %s %s", path, q,
                          why ? why : "is not a URL");
        }

        free(base);
        return -1;
    }

    free(base);
    return 0;
}
