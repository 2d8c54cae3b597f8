/*
 * CESQL values: zero values, the casts of spec section 3.7, event
 * attributes as values, and the per-evaluation scratch they may need.
 */

#include "cesql_int.h"

#include <string.h>
#include <strings.h>


void *
em_cesql_take(em_cesql_ctx_t *c, size_t size)
{
    size_t  at;

    at = (c->used + _Alignof(em_cesql_value_t) - 1)
         & ~(_Alignof(em_cesql_value_t) - 1);

    if (at > c->cap || c->cap - at < size) {
        if (c->need < at + size) {
            c->need = at + size;
        }
        return NULL;
    }

    c->used = at + size;
    return c->base + at;
}


void
em_cesql_zero(int type, em_cesql_value_t *v)
{
    memset(v, 0, sizeof(*v));

    /* a type nobody can know (an attribute's) counts as Boolean (3.2) */
    v->type = type == EM_CESQL_ANY ? EM_CESQL_BOOLEAN
                                   : (em_cesql_type_t) type;
    v->s = "";
}


int
em_cesql_parse_int(const char *s, size_t len, int32_t *v)
{
    int64_t  n, max;
    size_t   i;
    int      neg;

    i = 0;
    neg = 0;

    if (len && (s[0] == '+' || s[0] == '-')) {
        neg = s[0] == '-';
        i = 1;
    }

    if (i == len) {
        return -1;
    }

    max = neg ? (int64_t) INT32_MAX + 1 : INT32_MAX;
    n = 0;

    for ( /* void */ ; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }

        n = n * 10 + (s[i] - '0');
        if (n > max) {
            return -1;
        }
    }

    *v = (int32_t) (neg ? -n : n);
    return 0;
}


static int
em_cesql_parse_bool(const char *s, size_t len, int *b)
{
    if (len == 4 && strncasecmp(s, "true", 4) == 0) {
        *b = 1;
        return 0;
    }

    if (len == 5 && strncasecmp(s, "false", 5) == 0) {
        *b = 0;
        return 0;
    }

    return -1;
}


em_cesql_error_t
em_cesql_cast(em_cesql_ctx_t *c, const em_cesql_value_t *in, int to,
    em_cesql_value_t *out)
{
    em_cesql_value_t  v;
    uint32_t          u;
    char             *p, digits[12];
    size_t            n;

    v = *in;

    if (to == EM_CESQL_ANY || (int) v.type == to) {
        *out = v;
        return EM_CESQL_OK;
    }

    em_cesql_zero(to, out);

    switch (to) {

    case EM_CESQL_INTEGER:
        if (v.type == EM_CESQL_BOOLEAN) {
            out->i = v.b;
            return EM_CESQL_OK;
        }

        return em_cesql_parse_int(v.s, v.len, &out->i) == 0
               ? EM_CESQL_OK : EM_CESQL_ECAST;

    case EM_CESQL_BOOLEAN:
        if (v.type == EM_CESQL_INTEGER) {
            out->b = v.i != 0;
            return EM_CESQL_OK;
        }

        return em_cesql_parse_bool(v.s, v.len, &out->b) == 0
               ? EM_CESQL_OK : EM_CESQL_ECAST;

    default:
        if (v.type == EM_CESQL_BOOLEAN) {
            out->s = v.b ? "true" : "false";
            out->len = v.b ? 4 : 5;
            return EM_CESQL_OK;
        }

        /* Integer: base 10, no leading zeros, '-' when negative */
        u = v.i < 0 ? 0u - (uint32_t) v.i : (uint32_t) v.i;
        n = sizeof(digits);
        do {
            digits[--n] = (char) ('0' + u % 10);
            u /= 10;
        } while (u != 0);

        if (v.i < 0) {
            digits[--n] = '-';
        }

        p = em_cesql_take(c, sizeof(digits) - n);
        if (p == NULL) {
            return EM_CESQL_EAGAIN;
        }

        memcpy(p, digits + n, sizeof(digits) - n);
        out->s = p;
        out->len = sizeof(digits) - n;
        return EM_CESQL_OK;
    }
}


void
em_cesql_attr_value(const em_attr_t *a, em_cesql_value_t *out)
{
    memset(out, 0, sizeof(*out));

    switch (a->type) {

    case EM_TYPE_INTEGER:
        if (em_cesql_parse_int(a->value, a->value_len, &out->i) == 0) {
            out->type = EM_CESQL_INTEGER;
            return;
        }
        break;

    case EM_TYPE_BOOLEAN:
        if (a->value_len == 4 && memcmp(a->value, "true", 4) == 0) {
            out->type = EM_CESQL_BOOLEAN;
            out->b = 1;
            return;
        }

        if (a->value_len == 5 && memcmp(a->value, "false", 5) == 0) {
            out->type = EM_CESQL_BOOLEAN;
            return;
        }
        break;

    default:
        break;
    }

    /* URI, URI-reference, Timestamp, Binary and anything malformed */
    out->type = EM_CESQL_STRING;
    out->s = a->value != NULL ? a->value : "";
    out->len = a->value != NULL ? a->value_len : 0;
}
