/*
 * What the dispatcher sends to subscribers: HTTP binary mode (ce- headers
 * plus Content-Type, the data as body) or the JSON event format.
 */

#include <eventmesh/codec.h>
#include <eventmesh/ce_http.h>

#include "base64.h"
#include "json_out.h"
#include "pct.h"
#include "utf8.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>


void
em_out_headers_free(em_out_headers_t *h)
{
    size_t  i;

    for (i = 0; i < h->n; i++) {
        free(h->items[i].name);
        free(h->items[i].value);
    }

    free(h->items);
    h->items = NULL;
    h->n = 0;
    h->cap = 0;
}


static int
em_out_header_add(em_out_headers_t *h, em_buf_t *name, em_buf_t *value)
{
    em_out_header_t  *ni;
    size_t            cap;

    if (h->n == h->cap) {
        cap = h->cap ? h->cap * 2 : 8;
        ni = realloc(h->items, cap * sizeof(em_out_header_t));
        if (ni == NULL) {
            return EM_ERROR;
        }
        h->items = ni;
        h->cap = cap;
    }

    /* the buffers hand over their memory */
    if (em_buf_reserve(name, 0) != EM_OK
        || em_buf_reserve(value, 0) != EM_OK)
    {
        return EM_ERROR;
    }

    h->items[h->n].name = name->data;
    h->items[h->n].value = value->data;
    h->n++;

    em_buf_init(name);
    em_buf_init(value);
    return EM_OK;
}


int
em_http_encode_binary(const em_event_t *ev, em_out_headers_t *out)
{
    const em_attr_t  *a;
    const char       *why;
    em_buf_t          name, value;
    size_t            i, j;
    int               rc;

    em_buf_init(&name);
    em_buf_init(&value);

    for (i = 0; i < ev->nattrs; i++) {
        a = &ev->attrs[i];

        if (!em_check_attr_name(a->name, strlen(a->name), &why)) {
            rc = EM_EINVALID;
            goto fail;
        }

        if (strcmp(a->name, "datacontenttype") == 0) {
            /* Content-Type is not percent-decoded by receivers: verbatim,
             * and so it must not hold a byte that could end the header */
            for (j = 0; j < a->value_len; j++) {
                unsigned char  c = (unsigned char) a->value[j];

                if ((c < 0x20 && c != '\t') || c == 0x7F) {
                    rc = EM_EINVALID;
                    goto fail;
                }
            }

            rc = em_buf_append_str(&name, "Content-Type");
            if (rc == EM_OK) {
                rc = em_buf_append(&value, a->value, a->value_len);
            }

        } else {
            rc = em_buf_append_str(&name, "ce-");
            if (rc == EM_OK) {
                rc = em_buf_append_str(&name, a->name);
            }
            if (rc == EM_OK) {
                rc = em_pct_encode(&value, a->value, a->value_len);
            }
        }

        if (rc != EM_OK || em_out_header_add(out, &name, &value) != EM_OK) {
            rc = EM_ERROR;
            goto fail;
        }
    }

    return EM_OK;

fail:

    em_buf_free(&name);
    em_buf_free(&value);
    return rc;
}


static int
em_data_is_valid_json(const em_event_t *ev)
{
    json_error_t  e;
    json_t       *v;

    v = json_loadb((const char *) ev->data, ev->data_len,
                   JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
    if (v == NULL) {
        return 0;
    }

    json_decref(v);
    return 1;
}


static int
em_encode_data(const em_event_t *ev, em_buf_t *out)
{
    const em_attr_t  *dct;
    int               json_dct;

    dct = em_event_attr(ev, "datacontenttype");
    json_dct = dct != NULL && em_media_type_is_json(dct->value,
                                                    dct->value_len);

    /* JSON data stays JSON: "data" holds the value itself */
    if ((json_dct || (dct == NULL && ev->data_is_json))
        && em_data_is_valid_json(ev))
    {
        if (em_buf_append_str(out, ",\"data\":") != EM_OK
            || em_buf_append(out, ev->data, ev->data_len) != EM_OK)
        {
            return EM_ERROR;
        }
        return EM_OK;
    }

    /* text of a declared non-JSON type travels as a string */
    if (dct != NULL && !json_dct
        && em_utf8_valid((const char *) ev->data, ev->data_len))
    {
        if (em_buf_append_str(out, ",\"data\":") != EM_OK
            || em_json_append_string(out, (const char *) ev->data,
                                     ev->data_len) != EM_OK)
        {
            return EM_ERROR;
        }
        return EM_OK;
    }

    if (em_buf_append_str(out, ",\"data_base64\":\"") != EM_OK
        || em_base64_encode(out, ev->data, ev->data_len) != EM_OK
        || em_buf_append_str(out, "\"") != EM_OK)
    {
        return EM_ERROR;
    }

    return EM_OK;
}


int
em_http_encode_structured(const em_event_t *ev, em_buf_t *out)
{
    const em_attr_t  *a;
    const char       *why;
    size_t            i;
    int               rc;

    if (em_buf_append_str(out, "{") != EM_OK) {
        return EM_ERROR;
    }

    for (i = 0; i < ev->nattrs; i++) {
        a = &ev->attrs[i];

        if (!em_check_attr_name(a->name, strlen(a->name), &why)) {
            return EM_EINVALID;
        }

        if ((i && em_buf_append_str(out, ",") != EM_OK)
            || em_json_append_string(out, a->name, strlen(a->name)) != EM_OK
            || em_buf_append_str(out, ":") != EM_OK)
        {
            return EM_ERROR;
        }

        /* Integer and Boolean values were checked when the event was
         * built, so their canonical form is already JSON */
        if ((a->type == EM_TYPE_INTEGER
             && em_check_integer(a->value, a->value_len, &why))
            || (a->type == EM_TYPE_BOOLEAN
                && em_check_boolean(a->value, a->value_len, &why)))
        {
            rc = em_buf_append(out, a->value, a->value_len);

        } else {
            if (!em_utf8_valid(a->value, a->value_len)) {
                return EM_EINVALID;
            }
            rc = em_json_append_string(out, a->value, a->value_len);
        }

        if (rc != EM_OK) {
            return EM_ERROR;
        }
    }

    if (ev->has_data && em_encode_data(ev, out) != EM_OK) {
        return EM_ERROR;
    }

    return em_buf_append_str(out, "}");
}
