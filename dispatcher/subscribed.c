/*
 * /v1/subscribed/{app}: a pure function of the Trigger set, so the admin
 * listener can answer from whichever set is in force.
 */

#include "subscribed.h"

#include "json_out.h"

#include <stdlib.h>
#include <string.h>


typedef struct {
    const char  *name;
    const char  *version;
} em_sub_entry_t;


static int
em_sub_cmp(const void *a, const void *b)
{
    const em_sub_entry_t  *x = a, *y = b;
    int                    c;

    c = strcmp(x->name, y->name);
    return c != 0 ? c : strcmp(x->version, y->version);
}


int
em_subscribed_json(const em_trigger_set_t *set, const char *app,
    size_t app_len, em_buf_t *out)
{
    em_sub_entry_t  *e;
    const char      *source, *type, *version;
    size_t           i, n, k;
    int              rc;

    em_buf_reset(out);

    e = set->n ? malloc(set->n * sizeof(*e)) : NULL;
    if (set->n && e == NULL) {
        return EM_ERROR;
    }

    n = 0;

    for (i = 0; i < set->n; i++) {
        if (set->items[i].broker_conf == NULL) {
            continue;
        }

        source = em_filter_attribute(set->items[i].filter, "source");
        type = em_filter_attribute(set->items[i].filter, "type");

        if (source == NULL || type == NULL || strlen(source) != app_len
            || memcmp(source, app, app_len) != 0)
        {
            continue;
        }

        version = em_filter_attribute(set->items[i].filter,
                                      "eventtypeversion");
        e[n].name = type;
        e[n].version = version ? version : "";
        n++;
    }

    if (n > 1) {
        qsort(e, n, sizeof(*e), em_sub_cmp);
    }

    rc = em_buf_append_str(out, "{\"eventsInfo\":[");

    for (i = 0, k = 0; i < n && rc == EM_OK; i++) {
        if (i > 0 && em_sub_cmp(&e[i - 1], &e[i]) == 0) {
            continue;
        }

        if ((k++ > 0 && em_buf_append_str(out, ",") != EM_OK)
            || em_buf_append_str(out, "{\"name\":") != EM_OK
            || em_json_append_string(out, e[i].name, strlen(e[i].name))
               != EM_OK
            || em_buf_append_str(out, ",\"version\":") != EM_OK
            || em_json_append_string(out, e[i].version, strlen(e[i].version))
               != EM_OK
            || em_buf_append_str(out, "}") != EM_OK)
        {
            rc = EM_ERROR;
        }
    }

    if (rc == EM_OK) {
        rc = em_buf_append_str(out, "]}");
    }

    free(e);
    return rc == EM_OK ? EM_OK : EM_ERROR;
}
