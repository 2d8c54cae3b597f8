/*
 * Kyma's legacy answers, byte for byte (reference/kyma-publisher.md 3):
 * Go's json.Encoder output of its response structs, so compact, keys in
 * struct order, empty optional members left out, a trailing newline.
 */

#include "legacy_int.h"

#include <string.h>


int
em_legacy_error_body(int status, const char *message, size_t len,
    em_buf_t *out)
{
    em_buf_reset(out);

    if (em_buf_printf(out, "{\"status\":%d", status) != EM_OK) {
        return EM_ERROR;
    }

    /* Kyma's Error struct: message is omitempty */
    if (len != 0
        && (em_buf_append_str(out, ",\"message\":") != EM_OK
            || em_go_quote(out, message, len) != EM_OK))
    {
        return EM_ERROR;
    }

    return em_buf_append_str(out, "}\n");
}


int
em_legacy_ok_body(const char *id, em_buf_t *out)
{
    size_t  len;

    len = (id != NULL) ? strlen(id) : 0;

    em_buf_reset(out);

    /* event-id is omitempty; status and reason are always there */
    if (em_buf_append_str(out, "{") != EM_OK
        || (len != 0
            && (em_buf_append_str(out, "\"event-id\":") != EM_OK
                || em_go_quote(out, id, len) != EM_OK
                || em_buf_append_str(out, ",") != EM_OK)))
    {
        return EM_ERROR;
    }

    return em_buf_append_str(out, "\"status\":\"\",\"reason\":\"\"}\n");
}


int
em_legacy_backend_body(em_legacy_backend_t kind, int api_code,
    const char *detail, size_t detail_len, int *http_status, em_buf_t *out)
{
    const char  *msg;

    switch (kind) {

    case EM_LEGACY_BACKEND_NOT_CONNECTED:
        *http_status = 502;
        msg = "no connection to NATS JetStream server";
        break;

    case EM_LEGACY_BACKEND_NO_STREAM:
    case EM_LEGACY_BACKEND_TIMEOUT:
        *http_status = 504;
        msg = "cannot send to stream";
        break;

    case EM_LEGACY_BACKEND_FULL:
        *http_status = 507;
        msg = "insufficient resources on target stream";
        break;

    case EM_LEGACY_BACKEND_API:
        if (detail == NULL) {
            detail_len = 0;
        }

        if (detail_len != 0
            && memmem(detail, detail_len, "no space left on device", 23)
               != NULL)
        {
            *http_status = 507;
            msg = "insufficient resources on target stream";
            break;
        }

        /* the API's code is the answer; nginx can only send a real one */
        *http_status = (api_code >= 400 && api_code <= 599) ? api_code : 500;
        return em_legacy_error_body(*http_status, detail, detail_len, out);

    default:
        *http_status = 500;
        msg = "internal error on backend";
        break;
    }

    return em_legacy_error_body(*http_status, msg, strlen(msg), out);
}
