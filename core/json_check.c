/*
 * JSON syntax check without building values.  Binary-mode bodies only
 * need "is this JSON?", and jansson answers no for JSON it cannot
 * represent (integers beyond long long, reals beyond double), which are
 * still valid JSON and valid CloudEvents data.
 */

#include "json_check.h"
#include "json_scan.h"
#include "utf8.h"

#include <string.h>


typedef struct {
    const char  *s;
    size_t       len;
    size_t       i;
    const char  *why;
} em_jc_t;


static int
em_jc_fail(em_jc_t *c, const char *why)
{
    c->why = why;
    return 0;
}


static int
em_jc_hex4(em_jc_t *c, unsigned *v)
{
    size_t  k;

    *v = 0;

    if (c->len - c->i < 4) {
        return em_jc_fail(c, "a \\u escape needs four hex digits");
    }

    for (k = 0; k < 4; k++) {
        char  h = c->s[c->i + k];

        *v <<= 4;
        if (h >= '0' && h <= '9') {
            *v |= (unsigned) (h - '0');
        } else if (h >= 'a' && h <= 'f') {
            *v |= (unsigned) (h - 'a' + 10);
        } else if (h >= 'A' && h <= 'F') {
            *v |= (unsigned) (h - 'A' + 10);
        } else {
            return em_jc_fail(c, "a \\u escape needs four hex digits");
        }
    }

    c->i += 4;
    return 1;
}


static int
em_jc_string(em_jc_t *c)
{
    const unsigned char  *p = (const unsigned char *) c->s;
    uint32_t              cp;
    unsigned              u, lo;
    size_t                n;

    c->i++;

    while (c->i < c->len) {
        unsigned char  ch = p[c->i];

        if (ch == '"') {
            c->i++;
            return 1;
        }

        if (ch < 0x20) {
            return em_jc_fail(c, "a control character inside a string must "
                              "be escaped");
        }

        if (ch >= 0x80) {
            n = em_utf8_decode(p + c->i, c->len - c->i, &cp);
            if (n == 0) {
                return em_jc_fail(c, "invalid UTF-8");
            }
            c->i += n;
            continue;
        }

        if (ch != '\\') {
            c->i++;
            continue;
        }

        if (++c->i == c->len) {
            break;
        }

        ch = p[c->i++];

        if (ch == 'u') {
            if (!em_jc_hex4(c, &u)) {
                return 0;
            }

            if (u >= 0xDC00 && u <= 0xDFFF) {
                return em_jc_fail(c, "a lone low surrogate escape");
            }

            if (u >= 0xD800 && u <= 0xDBFF) {
                if (c->len - c->i < 2 || p[c->i] != '\\'
                    || p[c->i + 1] != 'u')
                {
                    return em_jc_fail(c, "a high surrogate escape without "
                                      "its low surrogate");
                }
                c->i += 2;

                if (!em_jc_hex4(c, &lo)) {
                    return 0;
                }

                if (lo < 0xDC00 || lo > 0xDFFF) {
                    return em_jc_fail(c, "a high surrogate escape without "
                                      "its low surrogate");
                }
            }

            continue;
        }

        if (ch == 0 || strchr("\"\\/bfnrt", ch) == NULL) {
            return em_jc_fail(c, "an invalid escape in a string");
        }
    }

    return em_jc_fail(c, "an unterminated string");
}


static int
em_jc_digits(em_jc_t *c)
{
    size_t  b = c->i;

    while (c->i < c->len && c->s[c->i] >= '0' && c->s[c->i] <= '9') {
        c->i++;
    }

    return c->i > b;
}


static int
em_jc_number(em_jc_t *c)
{
    if (c->s[c->i] == '-') {
        c->i++;
    }

    if (c->i < c->len && c->s[c->i] == '0') {
        c->i++;

    } else if (!em_jc_digits(c)) {
        return em_jc_fail(c, "an invalid number");
    }

    if (c->i < c->len && c->s[c->i] == '.') {
        c->i++;
        if (!em_jc_digits(c)) {
            return em_jc_fail(c, "a number needs digits after '.'");
        }
    }

    if (c->i < c->len && (c->s[c->i] == 'e' || c->s[c->i] == 'E')) {
        c->i++;
        if (c->i < c->len && (c->s[c->i] == '+' || c->s[c->i] == '-')) {
            c->i++;
        }
        if (!em_jc_digits(c)) {
            return em_jc_fail(c, "a number needs digits in its exponent");
        }
    }

    return 1;
}


static int
em_jc_scalar(em_jc_t *c)
{
    static const char  *lit[] = { "true", "false", "null" };
    size_t              k, n;
    char                ch = c->s[c->i];

    if (ch == '"') {
        return em_jc_string(c);
    }

    if (ch == '-' || (ch >= '0' && ch <= '9')) {
        return em_jc_number(c);
    }

    for (k = 0; k < 3; k++) {
        n = strlen(lit[k]);
        if (c->len - c->i >= n && memcmp(c->s + c->i, lit[k], n) == 0) {
            c->i += n;
            return 1;
        }
    }

    return em_jc_fail(c, "an unexpected character where a value should be");
}


int
em_json_check(const char *s, size_t len, size_t *pos, const char **why)
{
    char     stack[EM_JSON_MAX_DEPTH];
    size_t   depth;
    em_jc_t  c;

    c.s = s;
    c.len = len;
    c.why = NULL;
    depth = 0;

    c.i = em_json_ws(s, len, 0);

    /* each turn: a value at c.i, then what may follow it */
    for ( ;; ) {
        if (c.i == len) {
            em_jc_fail(&c, depth ? "the text ends inside an object or array"
                                 : "no JSON value");
            goto fail;
        }

        if (s[c.i] == '{' || s[c.i] == '[') {
            if (depth == EM_JSON_MAX_DEPTH) {
                em_jc_fail(&c, "objects and arrays nested too deeply");
                goto fail;
            }

            stack[depth++] = s[c.i++];
            c.i = em_json_ws(s, len, c.i);

            if (c.i < len && s[c.i] == (stack[depth - 1] == '{' ? '}' : ']'))
            {
                c.i++;
                depth--;
                goto after;
            }

            if (stack[depth - 1] == '[') {
                continue;
            }

            goto key;
        }

        if (!em_jc_scalar(&c)) {
            goto fail;
        }

    after:

        c.i = em_json_ws(s, len, c.i);

        if (depth == 0) {
            if (c.i != len) {
                em_jc_fail(&c, "characters after the JSON value");
                goto fail;
            }
            return 1;
        }

        if (c.i == len) {
            em_jc_fail(&c, "the text ends inside an object or array");
            goto fail;
        }

        if (s[c.i] == (stack[depth - 1] == '{' ? '}' : ']')) {
            c.i++;
            depth--;
            goto after;
        }

        if (s[c.i] != ',') {
            em_jc_fail(&c, stack[depth - 1] == '{'
                           ? "expected ',' or '}' after an object member"
                           : "expected ',' or ']' after an array element");
            goto fail;
        }

        c.i = em_json_ws(s, len, c.i + 1);

        if (stack[depth - 1] == '[') {
            continue;
        }

    key:

        if (c.i == len || s[c.i] != '"') {
            em_jc_fail(&c, "an object member must start with a string key");
            goto fail;
        }

        if (!em_jc_string(&c)) {
            goto fail;
        }

        c.i = em_json_ws(s, len, c.i);
        if (c.i == len || s[c.i] != ':') {
            em_jc_fail(&c, "expected ':' after an object key");
            goto fail;
        }

        c.i = em_json_ws(s, len, c.i + 1);
    }

fail:

    *pos = c.i;
    *why = c.why;
    return 0;
}
