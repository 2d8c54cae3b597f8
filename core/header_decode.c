/*
 * Binary-mode header value decoding (HTTP binding 3.1.3.2): quoted-string,
 * then one round of percent-decoding, then UTF-8.  Raw header bytes must
 * be printable US-ASCII; anything else has to arrive percent-encoded.
 */

#include <eventmesh/ce_http.h>

#include "pct.h"
#include "utf8.h"

#include <stdlib.h>


char *
em_ce_header_decode(const char *v, size_t len, size_t *out_len,
    const char **err)
{
    em_buf_t     unq, dec;
    size_t       i;
    const char  *e;

    em_buf_init(&unq);
    em_buf_init(&dec);

    for (i = 0; i < len; i++) {
        unsigned char  c = (unsigned char) v[i];

        if (c >= 0x80) {
            *err = "header values must be printable US-ASCII; "
                   "percent-encode other bytes (UTF-8 as %XX)";
            return NULL;
        }

        if (c < 0x20 || c == 0x7F) {
            *err = "header values must not contain control characters; "
                   "percent-encode them";
            return NULL;
        }
    }

    /* RFC 7230 3.2.6 quoted-string, as pre-1.0.2 senders wrote it */
    if (len && v[0] == '"') {
        for (i = 1; i < len && v[i] != '"'; i++) {
            if (v[i] == '\\') {
                i++;
                if (i == len) {
                    *err = "unterminated backslash escape in a quoted "
                           "header value";
                    goto fail;
                }
            }

            if (em_buf_append(&unq, &v[i], 1) != EM_OK) {
                *err = "out of memory";
                goto fail;
            }
        }

        if (i == len) {
            *err = "unterminated quoted string in the header value";
            goto fail;
        }

        if (i != len - 1) {
            *err = "characters after the closing quote of a quoted header "
                   "value";
            goto fail;
        }

        e = em_pct_decode(&dec, unq.data ? unq.data : "", unq.len);

    } else {
        e = em_pct_decode(&dec, v, len);
    }

    if (e != NULL) {
        *err = e;
        goto fail;
    }

    if (em_buf_reserve(&dec, 0) != EM_OK) {
        *err = "out of memory";
        goto fail;
    }

    if (!em_utf8_valid(dec.data, dec.len)) {
        *err = "the percent-decoded value is not valid UTF-8 (overlong, "
               "surrogate, above U+10FFFF or truncated sequence)";
        goto fail;
    }

    em_buf_free(&unq);
    *out_len = dec.len;
    return dec.data;

fail:
    em_buf_free(&unq);
    em_buf_free(&dec);
    return NULL;
}
