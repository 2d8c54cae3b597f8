/*
 * The stored form of an event: CloudEvents NATS binding, binary mode.
 * Every attribute is a ce- header (datacontenttype included, unlike HTTP),
 * values percent-encoded; the payload is the data bytes unchanged.
 */

#include <eventmesh/codec.h>
#include <eventmesh/ce_http.h>

#include "pct.h"
#include "utf8.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>


int
em_nats_encode_headers(const em_event_t *ev, em_buf_t *out)
{
    const em_attr_t  *a;
    const char       *src, *id, *why;
    char              msgid[EM_MSG_ID_LEN + 1];
    size_t            i;

    if (em_buf_append_str(out, "NATS/1.0\r\n") != EM_OK) {
        return EM_ERROR;
    }

    for (i = 0; i < ev->nattrs; i++) {
        a = &ev->attrs[i];

        /* the name goes on the wire as is: it must not inject a header */
        if (!em_check_attr_name(a->name, strlen(a->name), &why)) {
            return EM_EINVALID;
        }

        /*
         * An empty value is written as the quoted-string "": cnats 3.4.1
         * reads "ce-x: " followed by CRLF as if the next line were its
         * value, and the decoders of the binding unquote it anyway.
         */
        if (em_buf_append_str(out, "ce-") != EM_OK
            || em_buf_append_str(out, a->name) != EM_OK
            || em_buf_append_str(out, ": ") != EM_OK
            || (a->value_len == 0
                ? em_buf_append_str(out, "\"\"")
                : em_pct_encode(out, a->value, a->value_len)) != EM_OK
            || em_buf_append_str(out, "\r\n") != EM_OK)
        {
            return EM_ERROR;
        }
    }

    src = em_event_get(ev, "source");
    id = em_event_get(ev, "id");

    if (src != NULL && id != NULL) {
        em_msg_id(src, em_event_attr(ev, "source")->value_len, id,
                  em_event_attr(ev, "id")->value_len, msgid);

        if (msgid[0] != '\0'
            && (em_buf_append_str(out, "Nats-Msg-Id: ") != EM_OK
                || em_buf_append_str(out, msgid) != EM_OK
                || em_buf_append_str(out, "\r\n") != EM_OK))
        {
            return EM_ERROR;
        }
    }

    return em_buf_append_str(out, "\r\n");
}


static size_t
em_line_end(const char *s, size_t len, size_t i, size_t *next)
{
    size_t  j;

    for (j = i; j + 1 < len; j++) {
        if (s[j] == '\r' && s[j + 1] == '\n') {
            *next = j + 2;
            return j;
        }
    }

    *next = len;
    return len;
}


/* One "ce-name: value" line into ev; NULL or the static reason. */
static const char *
em_nats_attr(em_event_t *ev, const char *line, size_t len, size_t colon)
{
    em_buf_t     dec, name;
    const char  *why;
    size_t       i, vb, ve;
    em_type_t    t;

    em_buf_init(&dec);
    em_buf_init(&name);

    why = NULL;

    if (em_buf_append(&name, line + 3, colon - 3) != EM_OK) {
        why = "out of memory";
        goto done;
    }

    for (i = 0; i < name.len; i++) {
        if (name.data[i] >= 'A' && name.data[i] <= 'Z') {
            name.data[i] = (char) (name.data[i] + 32);
        }
    }

    if (!em_check_attr_name(name.data, name.len, &why)) {
        why = "a ce- header has an invalid attribute name";
        goto done;
    }

    why = NULL;

    if (em_event_attr(ev, name.data) != NULL) {
        why = "a ce- attribute header appears more than once";
        goto done;
    }

    vb = colon + 1;
    ve = len;
    while (vb < ve && (line[vb] == ' ' || line[vb] == '\t')) {
        vb++;
    }
    while (ve > vb && (line[ve - 1] == ' ' || line[ve - 1] == '\t')) {
        ve--;
    }

    /*
     * The encoder writes an empty value as "" and percent-encodes every
     * other '"', so a value of exactly two quotes is the empty string.
     */
    if (ve - vb == 2 && line[vb] == '"' && line[vb + 1] == '"') {
        vb = ve;
    }

    why = em_pct_decode(&dec, line + vb, ve - vb);
    if (why == NULL && em_buf_reserve(&dec, 0) != EM_OK) {
        why = "out of memory";
    }

    if (why == NULL && !em_utf8_valid(dec.data, dec.len)) {
        why = "a ce- header value is not valid UTF-8 after percent-decoding";
    }

    if (why == NULL) {
        t = em_attr_known_type(name.data, NULL);
        if (em_event_set(ev, name.data, dec.data, dec.len, t) != EM_OK) {
            why = "out of memory";
        }
    }

done:

    em_buf_free(&name);
    em_buf_free(&dec);
    return why;
}


em_status_t
em_nats_decode(const char *hdr, size_t hdr_len, const void *payload,
    size_t payload_len, em_event_t **out, const char **err)
{
    static const char  *required[] = { "specversion", "id", "source", "type" };
    static const char  *missing[] = {
        "the message has no ce-specversion header",
        "the message has no ce-id header",
        "the message has no ce-source header",
        "the message has no ce-type header"
    };
    em_event_t         *ev;
    const char         *line, *why;
    size_t              i, e, next, len, colon;

    *out = NULL;

    if (hdr_len < 8 || memcmp(hdr, "NATS/1.0", 8) != 0) {
        *err = "the header block does not start with NATS/1.0";
        return EM_EINVALID;
    }

    ev = em_event_new();
    if (ev == NULL) {
        *err = "out of memory";
        return EM_ERROR;
    }

    /* the status line may carry a code ("NATS/1.0 503"); it is ignored */
    (void) em_line_end(hdr, hdr_len, 0, &next);

    for (i = next; i < hdr_len; i = next) {
        e = em_line_end(hdr, hdr_len, i, &next);
        line = hdr + i;
        len = e - i;

        if (len == 0) {
            break;
        }

        for (colon = 0; colon < len && line[colon] != ':'; colon++) {
            /* void */
        }

        if (colon == len || colon == 0) {
            *err = "a header line has no name or no ':'";
            goto invalid;
        }

        if (colon < 3 || strncasecmp(line, "ce-", 3) != 0) {
            continue;
        }

        why = em_nats_attr(ev, line, len, colon);
        if (why != NULL) {
            *err = why;
            if (strcmp(why, "out of memory") == 0) {
                em_event_free(ev);
                return EM_ERROR;
            }
            goto invalid;
        }
    }

    for (i = 0; i < 4; i++) {
        if (em_event_attr(ev, required[i]) == NULL) {
            *err = missing[i];
            goto invalid;
        }
    }

    if (payload_len && em_event_set_data(ev, payload, payload_len) != EM_OK) {
        *err = "out of memory";
        em_event_free(ev);
        return EM_ERROR;
    }

    *out = ev;
    return EM_OK;

invalid:

    em_event_free(ev);
    return EM_EINVALID;
}
