/*
 * JSON strings the way Go's encoding/json reads and writes them.  Kyma's
 * answers are produced by json.Encoder, so its escaping is part of the
 * byte-exact contract; its decoder's repair of bad text decides what the
 * request's strings are.
 */

#include "legacy_int.h"
#include "utf8.h"

#include <string.h>


static const char  em_hex_lc[] = "0123456789abcdef";


int
em_go_quote(em_buf_t *b, const char *s, size_t len)
{
    const unsigned char  *p = (const unsigned char *) s;
    size_t                i, run, n;
    uint32_t              cp;
    char                  esc[6];
    const char           *e;
    size_t                elen;

    if (em_buf_append(b, "\"", 1) != EM_OK) {
        return EM_ERROR;
    }

    run = 0;

    for (i = 0; i < len; ) {
        unsigned char  c = p[i];

        if (c >= 0x80) {
            n = em_utf8_decode(p + i, len - i, &cp);

            if (n != 0 && cp != 0x2028 && cp != 0x2029) {
                i += n;
                continue;
            }

            if (n == 0) {
                e = "\\ufffd";
                n = 1;

            } else {
                e = (cp == 0x2028) ? "\\u2028" : "\\u2029";
            }

            if (em_buf_append(b, s + run, i - run) != EM_OK
                || em_buf_append(b, e, 6) != EM_OK)
            {
                return EM_ERROR;
            }

            i += n;
            run = i;
            continue;
        }

        if (c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>'
            && c != '&')
        {
            i++;
            continue;
        }

        switch (c) {
        case '"':  e = "\\\""; elen = 2; break;
        case '\\': e = "\\\\"; elen = 2; break;
        case '\b': e = "\\b"; elen = 2; break;
        case '\f': e = "\\f"; elen = 2; break;
        case '\n': e = "\\n"; elen = 2; break;
        case '\r': e = "\\r"; elen = 2; break;
        case '\t': e = "\\t"; elen = 2; break;
        default:
            esc[0] = '\\';
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = em_hex_lc[c >> 4];
            esc[5] = em_hex_lc[c & 0xF];
            e = esc;
            elen = 6;
            break;
        }

        if (em_buf_append(b, s + run, i - run) != EM_OK
            || em_buf_append(b, e, elen) != EM_OK)
        {
            return EM_ERROR;
        }

        i++;
        run = i;
    }

    if (em_buf_append(b, s + run, len - run) != EM_OK
        || em_buf_append(b, "\"", 1) != EM_OK)
    {
        return EM_ERROR;
    }

    return EM_OK;
}


long
em_go_u4(const char *s, size_t avail)
{
    long    v;
    size_t  i;

    if (avail < 6 || s[0] != '\\' || s[1] != 'u') {
        return -1;
    }

    v = 0;
    for (i = 2; i < 6; i++) {
        char  c = s[i];

        v <<= 4;
        if (c >= '0' && c <= '9') {
            v |= c - '0';
        } else if (c >= 'a' && c <= 'f') {
            v |= c - 'a' + 10;
        } else if (c >= 'A' && c <= 'F') {
            v |= c - 'A' + 10;
        } else {
            return -1;
        }
    }

    return v;
}


int
em_go_unquote(const char *s, size_t len, em_buf_t *out)
{
    const unsigned char  *p = (const unsigned char *) s;
    size_t                i, e, n, run;
    uint32_t              cp;
    long                  r, r2;
    char                  u[4];
    char                  c;

    em_buf_reset(out);

    /* an empty result is still a NUL-terminated "" */
    if (em_buf_reserve(out, len) != EM_OK) {
        return EM_ERROR;
    }

    /* s is a valid JSON string: quotes at both ends */
    e = len - 1;
    run = 1;

    for (i = 1; i < e; ) {
        if (p[i] < 0x80 && p[i] != '\\') {
            i++;
            continue;
        }

        if (p[i] >= 0x80) {
            n = em_utf8_decode(p + i, e - i, &cp);
            if (n != 0) {
                i += n;
                continue;
            }
        }

        if (em_buf_append(out, s + run, i - run) != EM_OK) {
            return EM_ERROR;
        }

        if (p[i] >= 0x80) {
            /* Go reads each byte that starts no valid sequence as U+FFFD */
            if (em_buf_append(out, "\xEF\xBF\xBD", 3) != EM_OK) {
                return EM_ERROR;
            }
            i++;
            run = i;
            continue;
        }

        c = s[i + 1];

        switch (c) {
        case 'b': c = '\b'; break;
        case 'f': c = '\f'; break;
        case 'n': c = '\n'; break;
        case 'r': c = '\r'; break;
        case 't': c = '\t'; break;
        case 'u': c = 0; break;
        default:  break;     /* '"', '\\', '/' stand for themselves */
        }

        if (c != 0) {
            if (em_buf_append(out, &c, 1) != EM_OK) {
                return EM_ERROR;
            }
            i += 2;
            run = i;
            continue;
        }

        r = em_go_u4(s + i, e - i);
        if (r < 0) {
            return EM_EINVALID;     /* not text the scanner accepted */
        }
        i += 6;

        if (r >= 0xD800 && r <= 0xDFFF) {
            /* a pair only when a low half follows a high half */
            r2 = em_go_u4(s + i, e - i);

            if (r <= 0xDBFF && r2 >= 0xDC00 && r2 <= 0xDFFF) {
                r = 0x10000 + ((r - 0xD800) << 10) + (r2 - 0xDC00);
                i += 6;

            } else {
                r = 0xFFFD;
            }
        }

        n = em_utf8_encode((uint32_t) r, u);
        if (em_buf_append(out, u, n) != EM_OK) {
            return EM_ERROR;
        }
        run = i;
    }

    return em_buf_append(out, s + run, e - run);
}
