/*
 * The one UTF-8 decoder of the core.  Header decoding, the String type
 * check and the report's value truncation all depend on it agreeing with
 * RFC 3629, so it is table-free and explicit about every boundary.
 */

#include "utf8.h"


size_t
em_utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
    uint32_t  c, min;
    size_t    n, i;

    if (len == 0) {
        return 0;
    }

    c = s[0];

    if (c < 0x80) {
        *cp = c;
        return 1;
    }

    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        c &= 0x1F;
        min = 0x80;

    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        c &= 0x0F;
        min = 0x800;

    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        c &= 0x07;
        min = 0x10000;

    } else {
        /* continuation byte, C0/C1 (always overlong) or F5..FF */
        return 0;
    }

    if (len < n) {
        return 0;
    }

    for (i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            return 0;
        }
        c = (c << 6) | (s[i] & 0x3F);
    }

    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) {
        return 0;
    }

    *cp = c;
    return n;
}


int
em_utf8_valid(const char *s, size_t len)
{
    const unsigned char  *p = (const unsigned char *) s;
    uint32_t              cp;
    size_t                i, n;

    for (i = 0; i < len; i += n) {
        if (p[i] < 0x80) {
            n = 1;
            continue;
        }

        n = em_utf8_decode(p + i, len - i, &cp);
        if (n == 0) {
            return 0;
        }
    }

    return 1;
}


size_t
em_utf8_cut(const char *s, size_t len, size_t max)
{
    const unsigned char  *p = (const unsigned char *) s;
    size_t                i;

    if (len <= max) {
        return len;
    }

    /* step back over continuation bytes to the start of a sequence */
    i = max;
    while (i > 0 && (p[i] & 0xC0) == 0x80) {
        i--;
    }

    return i;
}


size_t
em_utf8_encode(uint32_t cp, char *out)
{
    unsigned char  *o = (unsigned char *) out;

    if (cp < 0x80) {
        o[0] = (unsigned char) cp;
        return 1;
    }

    if (cp < 0x800) {
        o[0] = (unsigned char) (0xC0 | (cp >> 6));
        o[1] = (unsigned char) (0x80 | (cp & 0x3F));
        return 2;
    }

    if (cp < 0x10000) {
        o[0] = (unsigned char) (0xE0 | (cp >> 12));
        o[1] = (unsigned char) (0x80 | ((cp >> 6) & 0x3F));
        o[2] = (unsigned char) (0x80 | (cp & 0x3F));
        return 3;
    }

    o[0] = (unsigned char) (0xF0 | (cp >> 18));
    o[1] = (unsigned char) (0x80 | ((cp >> 12) & 0x3F));
    o[2] = (unsigned char) (0x80 | ((cp >> 6) & 0x3F));
    o[3] = (unsigned char) (0x80 | (cp & 0x3F));
    return 4;
}
