/*
 * JSON string output.  Written by hand rather than through jansson so
 * that values with NUL bytes need no intermediate json_t and the escaping
 * is the same in every response body.
 */

#include "json_out.h"


int
em_json_append_string(em_buf_t *b, const char *s, size_t len)
{
    static const char     hex[] = "0123456789abcdef";
    const unsigned char  *p = (const unsigned char *) s;
    size_t                i, run;
    char                  esc[6];

    if (em_buf_reserve(b, len + 2) != EM_OK
        || em_buf_append(b, "\"", 1) != EM_OK)
    {
        return EM_ERROR;
    }

    run = 0;

    for (i = 0; i < len; i++) {
        unsigned char  c = p[i];
        const char    *e;
        size_t         elen;

        if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7F) {
            continue;
        }

        if (em_buf_append(b, s + run, i - run) != EM_OK) {
            return EM_ERROR;
        }
        run = i + 1;

        switch (c) {
        case '"':  e = "\\\""; elen = 2; break;
        case '\\': e = "\\\\"; elen = 2; break;
        case '\n': e = "\\n"; elen = 2; break;
        case '\r': e = "\\r"; elen = 2; break;
        case '\t': e = "\\t"; elen = 2; break;
        default:
            esc[0] = '\\';
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 0xF];
            e = esc;
            elen = 6;
            break;
        }

        if (em_buf_append(b, e, elen) != EM_OK) {
            return EM_ERROR;
        }
    }

    if (em_buf_append(b, s + run, len - run) != EM_OK
        || em_buf_append(b, "\"", 1) != EM_OK)
    {
        return EM_ERROR;
    }

    return EM_OK;
}
