/*
 * Percent-encoding as the CloudEvents HTTP and NATS bindings use it: the
 * sender encodes a fixed set, the receiver decodes every %XX once.
 */

#include "pct.h"


static int
em_hexval(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}


int
em_pct_encode(em_buf_t *out, const char *s, size_t len)
{
    static const char     hex[] = "0123456789ABCDEF";
    const unsigned char  *p = (const unsigned char *) s;
    size_t                i, run;
    char                  esc[3];

    run = 0;

    for (i = 0; i < len; i++) {
        if (p[i] >= 0x21 && p[i] <= 0x7E && p[i] != '"' && p[i] != '%') {
            continue;
        }

        esc[0] = '%';
        esc[1] = hex[p[i] >> 4];
        esc[2] = hex[p[i] & 0xF];

        if (em_buf_append(out, s + run, i - run) != EM_OK
            || em_buf_append(out, esc, 3) != EM_OK)
        {
            return EM_ERROR;
        }
        run = i + 1;
    }

    return em_buf_append(out, s + run, len - run);
}


const char *
em_pct_decode(em_buf_t *out, const char *s, size_t len)
{
    size_t  i, run;
    int     hi, lo;
    char    c;

    run = 0;

    for (i = 0; i < len; i++) {
        if (s[i] != '%') {
            continue;
        }

        if (len - i < 3
            || (hi = em_hexval((unsigned char) s[i + 1])) < 0
            || (lo = em_hexval((unsigned char) s[i + 2])) < 0)
        {
            return "'%' must be followed by two hex digits; send a literal "
                   "'%' as %25";
        }

        c = (char) (hi << 4 | lo);

        if (em_buf_append(out, s + run, i - run) != EM_OK
            || em_buf_append(out, &c, 1) != EM_OK)
        {
            return "out of memory";
        }

        i += 2;
        run = i + 1;
    }

    if (em_buf_append(out, s + run, len - run) != EM_OK) {
        return "out of memory";
    }

    return NULL;
}
