/*
 * A small JSON scanner over text jansson already validated.  jansson
 * builds values but forgets where they were; ingress must forward the
 * "data" member byte for byte, so this finds the spans again.  It still
 * checks bounds on every step so that it cannot overrun if it is ever
 * handed text jansson did not see.
 */

#include "json_scan.h"
#include "utf8.h"

#include <string.h>


#define EM_JSON_BAD  ((size_t) -1)


size_t
em_json_ws(const char *s, size_t len, size_t i)
{
    while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n'
                       || s[i] == '\r'))
    {
        i++;
    }

    return i;
}


static size_t
em_json_string_end(const char *s, size_t len, size_t i)
{
    if (i >= len || s[i] != '"') {
        return EM_JSON_BAD;
    }

    for (i++; i < len; i++) {
        if (s[i] == '\\') {
            i++;
            continue;
        }

        if (s[i] == '"') {
            return i + 1;
        }
    }

    return EM_JSON_BAD;
}


size_t
em_json_value_end(const char *s, size_t len, size_t i)
{
    size_t  depth;

    if (i >= len) {
        return EM_JSON_BAD;
    }

    if (s[i] == '"') {
        return em_json_string_end(s, len, i);
    }

    if (s[i] != '{' && s[i] != '[') {
        /* number, true, false, null: up to the next delimiter */
        while (i < len && s[i] != ',' && s[i] != '}' && s[i] != ']'
               && s[i] != ' ' && s[i] != '\t' && s[i] != '\n'
               && s[i] != '\r')
        {
            i++;
        }
        return i;
    }

    depth = 0;

    while (i < len) {
        switch (s[i]) {
        case '"':
            i = em_json_string_end(s, len, i);
            if (i == EM_JSON_BAD) {
                return EM_JSON_BAD;
            }
            continue;

        case '{':
        case '[':
            depth++;
            break;

        case '}':
        case ']':
            if (--depth == 0) {
                return i + 1;
            }
            break;
        }

        i++;
    }

    return EM_JSON_BAD;
}


static int
em_hex4(const char *s, uint32_t *v)
{
    int  i;

    *v = 0;

    for (i = 0; i < 4; i++) {
        char  c = s[i];

        *v <<= 4;
        if (c >= '0' && c <= '9') {
            *v |= (uint32_t) (c - '0');
        } else if (c >= 'a' && c <= 'f') {
            *v |= (uint32_t) (c - 'a' + 10);
        } else if (c >= 'A' && c <= 'F') {
            *v |= (uint32_t) (c - 'A' + 10);
        } else {
            return 0;
        }
    }

    return 1;
}


/* Whether the JSON string s[b..e) (quotes included) unescapes to key. */
static int
em_json_key_eq(const char *s, size_t b, size_t e, const char *key,
    size_t key_len)
{
    size_t    i, k, n;
    uint32_t  cp, lo;
    char      u[4];

    k = 0;

    for (i = b + 1; i + 1 < e; ) {
        if (s[i] != '\\') {
            if (k == key_len || s[i] != key[k]) {
                return 0;
            }
            i++;
            k++;
            continue;
        }

        if (i + 2 >= e) {
            return 0;
        }

        switch (s[i + 1]) {
        case '"':  u[0] = '"'; n = 1; break;
        case '\\': u[0] = '\\'; n = 1; break;
        case '/':  u[0] = '/'; n = 1; break;
        case 'b':  u[0] = '\b'; n = 1; break;
        case 'f':  u[0] = '\f'; n = 1; break;
        case 'n':  u[0] = '\n'; n = 1; break;
        case 'r':  u[0] = '\r'; n = 1; break;
        case 't':  u[0] = '\t'; n = 1; break;
        case 'u':
            if (e - i < 7 || !em_hex4(s + i + 2, &cp)) {
                return 0;
            }
            i += 6;

            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (e - i < 7 || s[i] != '\\' || s[i + 1] != 'u'
                    || !em_hex4(s + i + 2, &lo) || lo < 0xDC00
                    || lo > 0xDFFF)
                {
                    return 0;
                }
                i += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }

            n = em_utf8_encode(cp, u);
            if (key_len - k < n || memcmp(key + k, u, n) != 0) {
                return 0;
            }
            k += n;
            continue;

        default:
            return 0;
        }

        if (k == key_len || key[k] != u[0]) {
            return 0;
        }
        k++;
        i += 2;
    }

    return k == key_len;
}


int
em_json_member(const char *s, size_t len, size_t i, const char *key,
    size_t key_len, em_span_t *span)
{
    size_t  kb, ke, vb, ve;

    if (i >= len || s[i] != '{') {
        return -1;
    }

    i = em_json_ws(s, len, i + 1);
    if (i < len && s[i] == '}') {
        return 0;
    }

    for ( ;; ) {
        kb = i;
        ke = em_json_string_end(s, len, kb);
        if (ke == EM_JSON_BAD) {
            return -1;
        }

        i = em_json_ws(s, len, ke);
        if (i >= len || s[i] != ':') {
            return -1;
        }

        vb = em_json_ws(s, len, i + 1);
        ve = em_json_value_end(s, len, vb);
        if (ve == EM_JSON_BAD || ve == vb) {
            return -1;
        }

        if (em_json_key_eq(s, kb, ke, key, key_len)) {
            span->b = vb;
            span->e = ve;
            return 1;
        }

        i = em_json_ws(s, len, ve);
        if (i >= len) {
            return -1;
        }

        if (s[i] == '}') {
            return 0;
        }

        if (s[i] != ',') {
            return -1;
        }

        i = em_json_ws(s, len, i + 1);
    }
}


long
em_json_elements(const char *s, size_t len, size_t i, em_span_t *spans,
    size_t n)
{
    size_t  k, ve;

    if (i >= len || s[i] != '[') {
        return -1;
    }

    i = em_json_ws(s, len, i + 1);
    if (i < len && s[i] == ']') {
        return 0;
    }

    for (k = 0; ; ) {
        ve = em_json_value_end(s, len, i);
        if (ve == EM_JSON_BAD || ve == i) {
            return -1;
        }

        if (k < n) {
            spans[k].b = i;
            spans[k].e = ve;
        }
        k++;

        i = em_json_ws(s, len, ve);
        if (i >= len) {
            return -1;
        }

        if (s[i] == ']') {
            return (long) k;
        }

        if (s[i] != ',') {
            return -1;
        }

        i = em_json_ws(s, len, i + 1);
    }
}
