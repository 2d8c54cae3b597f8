/*
 * Strict base64.  Whitespace, URL-safe letters and missing padding are
 * all rejected: data_base64 has exactly one spelling per byte string
 * (apart from the unused bits of the last group, which RFC 4648 3.5 lets
 * decoders ignore).
 */

#include "base64.h"


static int
em_b64val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '+') {
        return 62;
    }
    if (c == '/') {
        return 63;
    }
    return -1;
}


const char *
em_base64_decode(em_buf_t *out, const char *s, size_t len)
{
    unsigned char  o[3];
    size_t         i, j, pad;
    int            v[4];

    if (len % 4 != 0) {
        return "the length must be a multiple of 4 (use '=' padding)";
    }

    if (em_buf_reserve(out, len / 4 * 3) != EM_OK) {
        return "out of memory";
    }

    for (i = 0; i < len; i += 4) {
        pad = 0;

        for (j = 0; j < 4; j++) {
            unsigned char  c = (unsigned char) s[i + j];

            if (c == '=') {
                /* padding only in the last group, only at its end */
                if (i + 4 != len || j < 2) {
                    return "'=' padding may only end the text";
                }
                pad++;
                v[j] = 0;
                continue;
            }

            if (pad) {
                return "'=' padding may only end the text";
            }

            v[j] = em_b64val(c);
            if (v[j] < 0) {
                return "a character outside the base64 alphabet "
                       "(A-Z a-z 0-9 + /); whitespace and the URL-safe "
                       "alphabet are not accepted";
            }
        }

        o[0] = (unsigned char) (v[0] << 2 | v[1] >> 4);
        o[1] = (unsigned char) ((v[1] & 0xF) << 4 | v[2] >> 2);
        o[2] = (unsigned char) ((v[2] & 0x3) << 6 | v[3]);

        if (em_buf_append(out, o, 3 - pad) != EM_OK) {
            return "out of memory";
        }
    }

    return NULL;
}


int
em_base64_encode(em_buf_t *out, const void *data, size_t len)
{
    static const char     tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                  "abcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char  *p = data;
    size_t                i;
    char                  q[4];
    unsigned              v;

    if (em_buf_reserve(out, (len + 2) / 3 * 4) != EM_OK) {
        return EM_ERROR;
    }

    for (i = 0; i < len; i += 3) {
        v = (unsigned) p[i] << 16;
        if (i + 1 < len) {
            v |= (unsigned) p[i + 1] << 8;
        }
        if (i + 2 < len) {
            v |= p[i + 2];
        }

        q[0] = tab[v >> 18];
        q[1] = tab[(v >> 12) & 0x3F];
        q[2] = i + 1 < len ? tab[(v >> 6) & 0x3F] : '=';
        q[3] = i + 2 < len ? tab[v & 0x3F] : '=';

        if (em_buf_append(out, q, 4) != EM_OK) {
            return EM_ERROR;
        }
    }

    return EM_OK;
}
