/*
 * The event model: an ordered attribute list plus the data bytes.  The
 * list is small (a handful of attributes), so lookups are linear and the
 * order of arrival is kept, which keeps every encoder's output stable.
 */

#include <eventmesh/event.h>

#include <stdlib.h>
#include <string.h>


em_event_t *
em_event_new(void)
{
    return calloc(1, sizeof(em_event_t));
}


void
em_event_free(em_event_t *ev)
{
    size_t  i;

    if (ev == NULL) {
        return;
    }

    for (i = 0; i < ev->nattrs; i++) {
        free(ev->attrs[i].name);
        free(ev->attrs[i].value);
    }

    free(ev->attrs);
    free(ev->data);
    free(ev);
}


const em_attr_t *
em_event_attr(const em_event_t *ev, const char *name)
{
    size_t  i;

    for (i = 0; i < ev->nattrs; i++) {
        if (strcmp(ev->attrs[i].name, name) == 0) {
            return &ev->attrs[i];
        }
    }

    return NULL;
}


const char *
em_event_get(const em_event_t *ev, const char *name)
{
    const em_attr_t  *a;

    a = em_event_attr(ev, name);
    return a ? a->value : NULL;
}


static char *
em_dup(const char *s, size_t len)
{
    char  *p;

    p = malloc(len + 1);
    if (p == NULL) {
        return NULL;
    }

    if (len) {
        memcpy(p, s, len);
    }
    p[len] = '\0';
    return p;
}


int
em_event_set(em_event_t *ev, const char *name, const char *value,
    size_t value_len, em_type_t type)
{
    em_attr_t  *a, *na;
    char       *v, *n;
    size_t      cap;

    v = em_dup(value, value_len);
    if (v == NULL) {
        return EM_ERROR;
    }

    a = (em_attr_t *) em_event_attr(ev, name);
    if (a != NULL) {
        free(a->value);
        a->value = v;
        a->value_len = value_len;
        a->type = type;
        return EM_OK;
    }

    if (ev->nattrs == ev->cattrs) {
        cap = ev->cattrs ? ev->cattrs * 2 : 8;
        na = realloc(ev->attrs, cap * sizeof(em_attr_t));
        if (na == NULL) {
            free(v);
            return EM_ERROR;
        }
        ev->attrs = na;
        ev->cattrs = cap;
    }

    n = em_dup(name, strlen(name));
    if (n == NULL) {
        free(v);
        return EM_ERROR;
    }

    a = &ev->attrs[ev->nattrs++];
    a->name = n;
    a->value = v;
    a->value_len = value_len;
    a->type = type;
    return EM_OK;
}


int
em_event_remove(em_event_t *ev, const char *name)
{
    size_t  i;

    for (i = 0; i < ev->nattrs; i++) {
        if (strcmp(ev->attrs[i].name, name) != 0) {
            continue;
        }

        free(ev->attrs[i].name);
        free(ev->attrs[i].value);
        memmove(&ev->attrs[i], &ev->attrs[i + 1],
                (ev->nattrs - i - 1) * sizeof(em_attr_t));
        ev->nattrs--;
        return EM_OK;
    }

    return EM_ENOTFOUND;
}


int
em_event_set_data(em_event_t *ev, const void *data, size_t len)
{
    unsigned char  *p;

    /* one spare byte so that an empty payload still has a non-NULL data */
    p = malloc(len + 1);
    if (p == NULL) {
        return EM_ERROR;
    }

    if (len) {
        memcpy(p, data, len);
    }
    p[len] = '\0';

    free(ev->data);
    ev->data = p;
    ev->data_len = len;
    ev->has_data = 1;
    return EM_OK;
}


static const struct {
    const char  *name;
    em_type_t    type;
} em_known_attrs[] = {
    /* core attributes (spec.md) */
    { "specversion", EM_TYPE_STRING },
    { "id", EM_TYPE_STRING },
    { "source", EM_TYPE_URI_REF },
    { "type", EM_TYPE_STRING },
    { "datacontenttype", EM_TYPE_STRING },
    { "dataschema", EM_TYPE_URI },
    { "subject", EM_TYPE_STRING },
    { "time", EM_TYPE_TIMESTAMP },

    /* registered extensions (cloudevents/extensions) */
    { "traceparent", EM_TYPE_STRING },
    { "tracestate", EM_TYPE_STRING },
    { "partitionkey", EM_TYPE_STRING },
    { "sequence", EM_TYPE_STRING },
    { "dataref", EM_TYPE_URI_REF },
    { "sampledrate", EM_TYPE_INTEGER },
    { "expirytime", EM_TYPE_TIMESTAMP },
    { "recordedtime", EM_TYPE_TIMESTAMP },
};


em_type_t
em_attr_known_type(const char *name, int *known)
{
    size_t  i;

    for (i = 0; i < sizeof(em_known_attrs) / sizeof(em_known_attrs[0]); i++) {
        if (strcmp(em_known_attrs[i].name, name) == 0) {
            if (known) {
                *known = 1;
            }
            return em_known_attrs[i].type;
        }
    }

    if (known) {
        *known = 0;
    }
    return EM_TYPE_STRING;
}
