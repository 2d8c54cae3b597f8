/*
 * The CloudEvent model: context attributes (core and extensions) with their
 * type, plus the data bytes exactly as received.
 */

#ifndef EVENTMESH_EVENT_H
#define EVENTMESH_EVENT_H

#include <eventmesh/em.h>

typedef enum {
    EM_TYPE_STRING = 0,
    EM_TYPE_INTEGER,
    EM_TYPE_BOOLEAN,
    EM_TYPE_BINARY,
    EM_TYPE_URI,
    EM_TYPE_URI_REF,
    EM_TYPE_TIMESTAMP
} em_type_t;

/*
 * One context attribute.  value holds the canonical string form (the form
 * used in a binary-mode header before percent-encoding): "42", "true",
 * "2024-01-01T00:00:00Z".  It is NUL-terminated and valid UTF-8.
 */
typedef struct {
    char        *name;
    char        *value;
    size_t       value_len;
    em_type_t    type;
} em_attr_t;

typedef struct em_event_s {
    em_attr_t       *attrs;       /* specversion, id, source, type first */
    size_t           nattrs;
    size_t           cattrs;

    unsigned char   *data;        /* data bytes, unchanged; NULL if none */
    size_t           data_len;
    unsigned         has_data:1;
    /* structured mode: data was a JSON value (not data_base64) */
    unsigned         data_is_json:1;
} em_event_t;

em_event_t *em_event_new(void);
void em_event_free(em_event_t *ev);

/* NULL when absent. */
const em_attr_t *em_event_attr(const em_event_t *ev, const char *name);
const char *em_event_get(const em_event_t *ev, const char *name);

/* Adds or replaces; copies name and value. */
int em_event_set(em_event_t *ev, const char *name, const char *value,
    size_t value_len, em_type_t type);
int em_event_remove(em_event_t *ev, const char *name);

/* Copies the data bytes. */
int em_event_set_data(em_event_t *ev, const void *data, size_t len);

/* The type the spec gives a core or known extension attribute. */
em_type_t em_attr_known_type(const char *name, int *known);

#endif /* EVENTMESH_EVENT_H */
