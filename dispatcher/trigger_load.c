/*
 * The Trigger set: every *.yaml / *.yml file of the triggers directory,
 * any number of documents each, checked as a whole.  One broken document
 * fails the load (a reload then keeps the old set), and every problem of
 * every file is reported, not only the first.
 */

#include "trigger_int.h"

#include <eventmesh/em.h>

#include <openssl/evp.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>


void
em_trigger_free(em_trigger_t *t)
{
    free(t->file);
    free(t->api_version);
    free(t->ns);
    free(t->name);
    free(t->broker);
    em_filter_free(t->filter);
    free(t->subscriber_uri);
    free(t->delivery.dead_letter_uri);
    free(t->digest);
    memset(t, 0, sizeof(*t));
}


void
em_triggers_free(em_trigger_set_t *set)
{
    size_t  i;

    for (i = 0; i < set->n; i++) {
        em_trigger_free(&set->items[i]);
    }

    free(set->items);
    em_diag_free(&set->warnings);
    set->items = NULL;
    set->n = 0;
}


/* Growing the set; the caller owns *t only when this fails. */
static int
em_triggers_push(em_trigger_set_t *set, size_t *cap, em_trigger_t *t)
{
    em_trigger_t  *items;
    size_t         n;

    if (set->n == *cap) {
        n = *cap ? *cap * 2 : 8;
        items = realloc(set->items, n * sizeof(*items));
        if (items == NULL) {
            return -1;
        }

        set->items = items;
        *cap = n;
    }

    set->items[set->n++] = *t;
    return 0;
}


static int
em_buf_field(em_buf_t *b, const char *s)
{
    /* length-prefixed: no value can pass for a separator */
    if (s == NULL) {
        return em_buf_append_str(b, "-\n");
    }

    return em_buf_printf(b, "%zu:%s\n", strlen(s), s);
}


int
em_trigger_digest(em_trigger_t *t)
{
    static const char  hex[] = "0123456789abcdef";
    const em_delivery_t  *dl = &t->delivery;
    unsigned char         md[EVP_MAX_MD_SIZE];
    unsigned int          mdlen, i;
    em_buf_t              b;

    em_buf_init(&b);

    if (em_buf_append_str(&b, "em-trigger 1\n") != EM_OK
        || em_buf_field(&b, t->ns) != EM_OK
        || em_buf_field(&b, t->name) != EM_OK
        || em_buf_field(&b, t->broker) != EM_OK
        || em_buf_printf(&b, "broker-found %d\n",
                         t->broker_conf != NULL) != EM_OK
        || em_filter_write(t->filter, &b) != EM_OK
        || em_buf_append_str(&b, "\n") != EM_OK
        || em_buf_field(&b, t->subscriber_uri) != EM_OK
        || em_buf_printf(&b, "%d %d %lld %lld %lld %d %u\n", dl->retry,
                         (int) dl->backoff_policy,
                         (long long) dl->backoff_delay,
                         (long long) dl->timeout,
                         (long long) dl->retry_after_max, (int) dl->format,
                         t->max_in_flight) != EM_OK
        || em_buf_field(&b, dl->dead_letter_uri) != EM_OK)
    {
        em_buf_free(&b);
        return -1;
    }

    mdlen = 0;
    if (EVP_Digest(b.data, b.len, md, &mdlen, EVP_sha256(), NULL) != 1) {
        em_buf_free(&b);
        return -1;
    }

    em_buf_free(&b);

    t->digest = malloc(mdlen * 2 + 1);
    if (t->digest == NULL) {
        return -1;
    }

    for (i = 0; i < mdlen; i++) {
        t->digest[2 * i] = hex[md[i] >> 4];
        t->digest[2 * i + 1] = hex[md[i] & 0xf];
    }

    t->digest[2 * mdlen] = '\0';
    return 0;
}


static const em_broker_conf_t *
em_trigger_broker(const em_config_t *cf, const char *ns, const char *name)
{
    size_t  i;

    for (i = 0; i < cf->nbrokers; i++) {
        if (strcmp(cf->brokers[i].ns, ns) == 0
            && strcmp(cf->brokers[i].name, name) == 0)
        {
            return &cf->brokers[i];
        }
    }

    return NULL;
}


/* The documents of one file (already parsed) into set. */
static void
em_triggers_docs(const em_config_t *cf, const char *file,
    em_yaml_node_t **docs, size_t ndocs, em_trigger_set_t *set, size_t *cap,
    em_diag_t *diag)
{
    em_tdoc_t     d;
    em_trigger_t  t;
    size_t        i;

    memset(&d, 0, sizeof(d));
    d.ctx.file = file;
    d.ctx.diag = diag;
    d.warnings = &set->warnings;
    d.cf = cf;

    for (i = 0; i < ndocs; i++) {
        if (em_yaml_is_null(docs[i])) {
            continue;
        }

        if (em_trigger_from_doc(&d, docs[i], &t) != 0) {
            continue;
        }

        t.broker_conf = em_trigger_broker(cf, t.ns, t.broker);

        if (t.broker_conf == NULL) {
            em_diag_add(&set->warnings, file, t.line,
                        "Trigger %s/%s: broker %s/%s is not in %s, so the "
                        "Trigger receives nothing (BrokerNotFound)", t.ns,
                        t.name, t.ns, t.broker,
                        cf->path ? cf->path : "dispatcher.yaml");
        }

        if (em_trigger_digest(&t) != 0 || em_triggers_push(set, cap, &t) != 0)
        {
            em_diag_add(diag, file, t.line, "out of memory");
            em_trigger_free(&t);
        }
    }
}


static int
em_trigger_cmp(const void *a, const void *b)
{
    const em_trigger_t  *x = *(em_trigger_t *const *) a;
    const em_trigger_t  *y = *(em_trigger_t *const *) b;
    int                  c;

    c = strcmp(x->ns, y->ns);
    if (c != 0) {
        return c;
    }

    c = strcmp(x->name, y->name);
    if (c != 0) {
        return c;
    }

    /* the first one read is the original, the others duplicates */
    return x < y ? -1 : (x > y);
}


static void
em_triggers_duplicates(em_trigger_set_t *set, em_diag_t *diag)
{
    em_trigger_t  **order;
    size_t          i, first;

    if (set->n < 2) {
        return;
    }

    order = malloc(set->n * sizeof(*order));
    if (order == NULL) {
        em_diag_add(diag, set->items[0].file, 0, "out of memory");
        return;
    }

    for (i = 0; i < set->n; i++) {
        order[i] = &set->items[i];
    }

    qsort(order, set->n, sizeof(*order), em_trigger_cmp);

    first = 0;
    for (i = 1; i < set->n; i++) {
        if (strcmp(order[i]->ns, order[first]->ns) != 0
            || strcmp(order[i]->name, order[first]->name) != 0)
        {
            first = i;
            continue;
        }

        em_diag_add(diag, order[i]->file, order[i]->line,
                    "Trigger %s/%s is defined twice: first at %s:%u",
                    order[i]->ns, order[i]->name, order[first]->file,
                    order[first]->line);
    }

    free(order);
}


static int
em_triggers_finish(em_trigger_set_t *set, em_diag_t *diag, size_t before)
{
    em_diag_t  keep;

    em_triggers_duplicates(set, diag);

    if (em_diag_count(diag) == before) {
        return 0;
    }

    keep = set->warnings;
    em_diag_init(&set->warnings);
    em_triggers_free(set);
    set->warnings = keep;
    return -1;
}


static int
em_yaml_name(const char *name)
{
    size_t  len = strlen(name);

    /* hidden files: editors' backups, ConfigMap mounts' ..data links */
    if (name[0] == '.') {
        return 0;
    }

    return (len > 5 && strcmp(name + len - 5, ".yaml") == 0)
           || (len > 4 && strcmp(name + len - 4, ".yml") == 0);
}


static int
em_str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}


int
em_triggers_load(const em_config_t *cf, em_trigger_set_t *set,
    em_diag_t *diag)
{
    DIR              *dir;
    struct dirent    *de;
    struct stat       st;
    char            **names, **nn, *path;
    size_t            nnames, cnames, i, cap, before;
    em_yaml_node_t  **docs;
    size_t            ndocs;
    const char       *dirname;
    em_buf_t          b;

    memset(set, 0, sizeof(*set));
    em_diag_init(&set->warnings);

    before = em_diag_count(diag);
    dirname = cf->triggers_dir ? cf->triggers_dir : EM_CONF_DEFAULT_TRIGGERS;

    dir = opendir(dirname);
    if (dir == NULL) {
        em_diag_add(diag, dirname, 0,
                    "cannot read the triggers directory: %s%s",
                    strerror(errno),
                    errno == ENOENT ? " (create it, or point triggers: in "
                                      "the configuration elsewhere)" : "");
        return -1;
    }

    names = NULL;
    nnames = 0;
    cnames = 0;

    for ( ;; ) {
        errno = 0;
        de = readdir(dir);
        if (de == NULL) {
            if (errno != 0) {
                em_diag_add(diag, dirname, 0, "cannot read: %s",
                            strerror(errno));
            }
            break;
        }

        if (!em_yaml_name(de->d_name)) {
            continue;
        }

        if (nnames == cnames) {
            cnames = cnames ? cnames * 2 : 16;
            nn = realloc(names, cnames * sizeof(*names));
            if (nn == NULL) {
                em_diag_add(diag, dirname, 0, "out of memory");
                break;
            }
            names = nn;
        }

        names[nnames] = strdup(de->d_name);
        if (names[nnames] == NULL) {
            em_diag_add(diag, dirname, 0, "out of memory");
            break;
        }
        nnames++;
    }

    closedir(dir);

    /* the same order on every run: the first of two duplicates is stable */
    if (nnames > 1) {
        qsort(names, nnames, sizeof(*names), em_str_cmp);
    }

    cap = 0;
    em_buf_init(&b);

    for (i = 0; i < nnames; i++) {
        em_buf_reset(&b);
        if (em_buf_printf(&b, "%s%s%s", dirname,
                          dirname[strlen(dirname) - 1] == '/' ? "" : "/",
                          names[i]) != EM_OK)
        {
            em_diag_add(diag, dirname, 0, "out of memory");
            break;
        }

        path = b.data;

        /* a directory named x.yaml is not a file to read */
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            continue;
        }

        if (em_yaml_load_file_docs(path, &docs, &ndocs, diag) != 0) {
            continue;
        }

        em_triggers_docs(cf, path, docs, ndocs, set, &cap, diag);
        em_yaml_free_docs(docs, ndocs);
    }

    em_buf_free(&b);

    for (i = 0; i < nnames; i++) {
        free(names[i]);
    }
    free(names);

    return em_triggers_finish(set, diag, before);
}


int
em_triggers_load_string(const em_config_t *cf, const char *name,
    const char *data, size_t len, em_trigger_set_t *set, em_diag_t *diag)
{
    em_yaml_node_t  **docs;
    size_t            ndocs, cap, before;

    memset(set, 0, sizeof(*set));
    em_diag_init(&set->warnings);

    before = em_diag_count(diag);

    if (em_yaml_load_docs(name, data, len, &docs, &ndocs, diag) != 0) {
        return -1;
    }

    cap = 0;
    em_triggers_docs(cf, name, docs, ndocs, set, &cap, diag);
    em_yaml_free_docs(docs, ndocs);

    return em_triggers_finish(set, diag, before);
}


const em_trigger_t *
em_trigger_find(const em_trigger_set_t *set, const char *ns,
    const char *name)
{
    size_t  i;

    for (i = 0; i < set->n; i++) {
        if (strcmp(set->items[i].ns, ns) == 0
            && strcmp(set->items[i].name, name) == 0)
        {
            return &set->items[i];
        }
    }

    return NULL;
}


int
em_trigger_consumer_name(const em_trigger_t *t, char *out, size_t size)
{
    static const char  hex[] = "0123456789abcdef";
    const char        *parts[2];
    const unsigned char *p;
    unsigned char      md[EVP_MAX_MD_SIZE];
    unsigned int       mdlen;
    size_t             n, k, i, full;
    em_buf_t           b;
    int                rc;

    if (size < EM_TRIGGER_CONSUMER_NAME_SIZE) {
        return -1;
    }

    parts[0] = t->ns;
    parts[1] = t->name;

    em_buf_init(&b);

    rc = em_buf_append_str(&b, "em");

    for (k = 0; k < 2 && rc == EM_OK; k++) {
        rc = em_buf_append_str(&b, "_");

        /* '_' separates, so it is encoded inside a part too */
        for (p = (const unsigned char *) parts[k]; *p && rc == EM_OK; p++) {
            if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
                || (*p >= '0' && *p <= '9') || *p == '-')
            {
                rc = em_buf_append(&b, p, 1);

            } else {
                rc = em_buf_printf(&b, "~%02X", *p);
            }
        }
    }

    if (rc != EM_OK) {
        em_buf_free(&b);
        return -1;
    }

    full = b.len;

    if (full < EM_TRIGGER_CONSUMER_NAME_SIZE) {
        memcpy(out, b.data, full + 1);
        em_buf_free(&b);
        return 0;
    }

    /* cut, and keep it unique with a hash of the whole */
    mdlen = 0;
    if (EVP_Digest(b.data, b.len, md, &mdlen, EVP_sha256(), NULL) != 1) {
        em_buf_free(&b);
        return -1;
    }

    n = EM_TRIGGER_CONSUMER_NAME_SIZE - 1 - 17;
    memcpy(out, b.data, n);
    out[n++] = '_';

    for (i = 0; i < 8; i++) {
        out[n++] = hex[md[i] >> 4];
        out[n++] = hex[md[i] & 0xf];
    }

    out[n] = '\0';
    em_buf_free(&b);
    return 0;
}
