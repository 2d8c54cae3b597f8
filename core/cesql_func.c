/*
 * CESQL built-in functions (spec 3.5) plus the casting functions INT,
 * BOOL and STRING that section 3.7 and the TCK use, and IS_INT and
 * IS_BOOL as the Go SDK registers them.  Names are case-insensitive.
 *
 * Arguments arrive already cast to the parameter types.  Lengths and
 * positions count characters, not bytes; a byte that is not part of valid
 * UTF-8 counts as one character.  Results that are part of an argument
 * (LEFT, TRIM, ...) point into it; new strings go to the scratch.
 */

#include "cesql_int.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>


static size_t
em_cesql_chars(const char *s, size_t len)
{
    size_t  i, n;

    for (i = 0, n = 0; i < len; n++) {
        i += em_cesql_char_len(s + i, len - i);
    }

    return n;
}


/* the byte offset after the first k characters of s (or len) */
static size_t
em_cesql_skip(const char *s, size_t len, int64_t k)
{
    size_t  i;

    for (i = 0; i < len && k > 0; k--) {
        i += em_cesql_char_len(s + i, len - i);
    }

    return i;
}


static void
em_cesql_view(const em_cesql_value_t *v, size_t from, size_t to,
    em_cesql_value_t *out)
{
    em_cesql_zero(EM_CESQL_STRING, out);
    out->s = v->s + from;
    out->len = to - from;
}


static void
em_cesql_int(int64_t i, em_cesql_value_t *out)
{
    em_cesql_zero(EM_CESQL_INTEGER, out);
    out->i = i > INT32_MAX ? INT32_MAX : (int32_t) i;
}


static em_cesql_error_t
em_cesql_fn_length(em_cesql_ctx_t *c, const em_cesql_value_t *a, size_t n,
    em_cesql_value_t *out)
{
    (void) c;
    (void) n;

    em_cesql_int((int64_t) em_cesql_chars(a[0].s, a[0].len), out);
    return EM_CESQL_OK;
}


/* CONCAT(x...) and, with a delimiter first, CONCAT_WS(d, x...) */
static em_cesql_error_t
em_cesql_join(em_cesql_ctx_t *c, const em_cesql_value_t *d,
    const em_cesql_value_t *a, size_t n, em_cesql_value_t *out)
{
    size_t  i, total, at;
    char   *p;

    em_cesql_zero(EM_CESQL_STRING, out);

    total = 0;
    for (i = 0; i < n; i++) {
        total += a[i].len + (i && d ? d->len : 0);
    }

    if (total == 0) {
        return EM_CESQL_OK;
    }

    p = em_cesql_take(c, total);
    if (p == NULL) {
        return EM_CESQL_EAGAIN;
    }

    for (i = 0, at = 0; i < n; i++) {
        if (i && d != NULL && d->len) {
            memcpy(p + at, d->s, d->len);
            at += d->len;
        }

        if (a[i].len) {
            memcpy(p + at, a[i].s, a[i].len);
            at += a[i].len;
        }
    }

    out->s = p;
    out->len = total;
    return EM_CESQL_OK;
}


static em_cesql_error_t
em_cesql_fn_concat(em_cesql_ctx_t *c, const em_cesql_value_t *a, size_t n,
    em_cesql_value_t *out)
{
    return em_cesql_join(c, NULL, a, n, out);
}


static em_cesql_error_t
em_cesql_fn_concat_ws(em_cesql_ctx_t *c, const em_cesql_value_t *a, size_t n,
    em_cesql_value_t *out)
{
    return em_cesql_join(c, &a[0], a + 1, n - 1, out);
}


static em_cesql_error_t
em_cesql_recase(em_cesql_ctx_t *c, const em_cesql_value_t *a,
    uint32_t (*map)(uint32_t), em_cesql_value_t *out)
{
    const char  *s;
    uint32_t     cp;
    size_t       i, k, n, len;
    char        *p;

    em_cesql_zero(EM_CESQL_STRING, out);

    s = a->s;
    len = a->len;
    if (len == 0) {
        return EM_CESQL_OK;
    }

    /* no simple case mapping grows a character by more than half
       (cesql_case_gen.py checks it), and encoding wants 4 spare bytes */
    p = em_cesql_take(c, len + len / 2 + 4);
    if (p == NULL) {
        return EM_CESQL_EAGAIN;
    }

    for (i = 0, n = 0; i < len; i += k) {
        if ((unsigned char) s[i] < 0x80) {
            p[n++] = (char) map((unsigned char) s[i]);
            k = 1;
            continue;
        }

        k = em_utf8_decode((const unsigned char *) s + i, len - i, &cp);
        if (k == 0) {
            p[n++] = s[i];
            k = 1;
            continue;
        }

        n += em_utf8_encode(map(cp), p + n);
    }

    out->s = p;
    out->len = n;
    return EM_CESQL_OK;
}


static em_cesql_error_t
em_cesql_fn_lower(em_cesql_ctx_t *c, const em_cesql_value_t *a, size_t n,
    em_cesql_value_t *out)
{
    (void) n;
    return em_cesql_recase(c, &a[0], em_cesql_lower, out);
}


static em_cesql_error_t
em_cesql_fn_upper(em_cesql_ctx_t *c, const em_cesql_value_t *a, size_t n,
    em_cesql_value_t *out)
{
    (void) n;
    return em_cesql_recase(c, &a[0], em_cesql_upper, out);
}


/* Unicode's White_Space property */
static int
em_cesql_space(uint32_t cp)
{
    return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85
           || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A)
           || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F
           || cp == 0x3000;
}


static em_cesql_error_t
em_cesql_fn_trim(em_cesql_ctx_t *c, const em_cesql_value_t *a, size_t n,
    em_cesql_value_t *out)
{
    const char  *s;
    size_t       i, k, from, to, len;
    uint32_t     cp;
    int          seen;

    (void) c;
    (void) n;

    s = a[0].s;
    len = a[0].len;
    from = 0;
    to = 0;
    seen = 0;

    for (i = 0; i < len; i += k) {
        k = em_utf8_decode((const unsigned char *) s + i, len - i, &cp);
        if (k == 0) {
            k = 1;
            cp = 0xFFFD;
        }

        if (em_cesql_space(cp)) {
            continue;
        }

        if (!seen) {
            from = i;
            seen = 1;
        }
        to = i + k;
    }

    em_cesql_view(&a[0], from, to, out);
    return EM_CESQL_OK;
}


static em_cesql_error_t
em_cesql_fn_left(em_cesql_ctx_t *c, const em_cesql_value_t *a, size_t n,
    em_cesql_value_t *out)
{
    (void) c;
    (void) n;

    if (a[1].i < 0) {
        *out = a[0];
        return EM_CESQL_EFUNCTION_EVALUATION;
    }

    em_cesql_view(&a[0], 0, em_cesql_skip(a[0].s, a[0].len, a[1].i), out);
    return EM_CESQL_OK;
}


static em_cesql_error_t
em_cesql_fn_right(em_cesql_ctx_t *c, const em_cesql_value_t *a, size_t n,
    em_cesql_value_t *out)
{
    int64_t  chars;

    (void) c;
    (void) n;

    if (a[1].i < 0) {
        *out = a[0];
        return EM_CESQL_EFUNCTION_EVALUATION;
    }

    chars = (int64_t) em_cesql_chars(a[0].s, a[0].len);

    em_cesql_view(&a[0], chars <= a[1].i
                         ? 0
                         : em_cesql_skip(a[0].s, a[0].len, chars - a[1].i),
                  a[0].len, out);
    return EM_CESQL_OK;
}


static em_cesql_error_t
em_cesql_fn_substring(em_cesql_ctx_t *c, const em_cesql_value_t *a, size_t n,
    em_cesql_value_t *out)
{
    int64_t  chars, pos, start, count;
    size_t   from, to;

    (void) c;

    chars = (int64_t) em_cesql_chars(a[0].s, a[0].len);
    pos = a[1].i;

    if (pos > chars || pos < -chars || (n == 3 && a[2].i < 0)) {
        em_cesql_zero(EM_CESQL_STRING, out);
        return EM_CESQL_EFUNCTION_EVALUATION;
    }

    if (pos == 0) {
        em_cesql_zero(EM_CESQL_STRING, out);
        return EM_CESQL_OK;
    }

    start = pos > 0 ? pos - 1 : chars + pos;
    count = chars - start;
    if (n == 3 && a[2].i < count) {
        count = a[2].i;
    }

    from = em_cesql_skip(a[0].s, a[0].len, start);
    to = from + em_cesql_skip(a[0].s + from, a[0].len - from, count);

    em_cesql_view(&a[0], from, to, out);
    return EM_CESQL_OK;
}


static em_cesql_error_t
em_cesql_fn_abs(em_cesql_ctx_t *c, const em_cesql_value_t *a, size_t n,
    em_cesql_value_t *out)
{
    (void) c;
    (void) n;

    em_cesql_zero(EM_CESQL_INTEGER, out);

    if (a[0].i == INT32_MIN) {
        out->i = INT32_MAX;
        return EM_CESQL_EMATH;
    }

    out->i = a[0].i < 0 ? -a[0].i : a[0].i;
    return EM_CESQL_OK;
}


static em_cesql_error_t
em_cesql_fn_int(em_cesql_ctx_t *c, const em_cesql_value_t *a, size_t n,
    em_cesql_value_t *out)
{
    (void) n;
    return em_cesql_cast(c, &a[0], EM_CESQL_INTEGER, out);
}


static em_cesql_error_t
em_cesql_fn_bool(em_cesql_ctx_t *c, const em_cesql_value_t *a, size_t n,
    em_cesql_value_t *out)
{
    (void) n;
    return em_cesql_cast(c, &a[0], EM_CESQL_BOOLEAN, out);
}


static em_cesql_error_t
em_cesql_fn_string(em_cesql_ctx_t *c, const em_cesql_value_t *a, size_t n,
    em_cesql_value_t *out)
{
    (void) n;
    return em_cesql_cast(c, &a[0], EM_CESQL_STRING, out);
}


static em_cesql_error_t
em_cesql_fn_is_int(em_cesql_ctx_t *c, const em_cesql_value_t *a, size_t n,
    em_cesql_value_t *out)
{
    em_cesql_value_t  v;
    int               ok;

    (void) n;

    ok = em_cesql_cast(c, &a[0], EM_CESQL_INTEGER, &v) == EM_CESQL_OK;
    em_cesql_zero(EM_CESQL_BOOLEAN, out);
    out->b = ok;
    return EM_CESQL_OK;
}


static em_cesql_error_t
em_cesql_fn_is_bool(em_cesql_ctx_t *c, const em_cesql_value_t *a, size_t n,
    em_cesql_value_t *out)
{
    em_cesql_value_t  v;
    int               ok;

    (void) n;

    ok = em_cesql_cast(c, &a[0], EM_CESQL_BOOLEAN, &v) == EM_CESQL_OK;
    em_cesql_zero(EM_CESQL_BOOLEAN, out);
    out->b = ok;
    return EM_CESQL_OK;
}


#define S  EM_CESQL_STRING
#define I  EM_CESQL_INTEGER
#define B  EM_CESQL_BOOLEAN
#define A  EM_CESQL_ANY

const em_cesql_func_t  em_cesql_funcs[] = {
    { "ABS", 1, 0, { I }, 0, I, em_cesql_fn_abs,
      "absolute value; ABS(-2147483648) is 2147483647 with a math error" },
    { "LENGTH", 1, 0, { S }, 0, I, em_cesql_fn_length,
      "number of characters" },
    { "CONCAT", 0, 1, { 0 }, S, S, em_cesql_fn_concat,
      "the arguments joined; CONCAT() is ''" },
    { "CONCAT_WS", 1, 1, { S }, S, S, em_cesql_fn_concat_ws,
      "the arguments after the first joined with the first between them" },
    { "LOWER", 1, 0, { S }, 0, S, em_cesql_fn_lower,
      "lower case (Unicode simple case mapping)" },
    { "UPPER", 1, 0, { S }, 0, S, em_cesql_fn_upper,
      "upper case (Unicode simple case mapping)" },
    { "TRIM", 1, 0, { S }, 0, S, em_cesql_fn_trim,
      "without leading and trailing Unicode white space" },
    { "LEFT", 2, 0, { S, I }, 0, S, em_cesql_fn_left,
      "the first n characters; n < 0 gives the string and an error" },
    { "RIGHT", 2, 0, { S, I }, 0, S, em_cesql_fn_right,
      "the last n characters; n < 0 gives the string and an error" },
    { "SUBSTRING", 2, 0, { S, I }, 0, S, em_cesql_fn_substring,
      "from character pos (1-based, negative from the end) to the end" },
    { "SUBSTRING", 3, 0, { S, I, I }, 0, S, em_cesql_fn_substring,
      "at most len characters from character pos" },
    { "INT", 1, 0, { A }, 0, I, em_cesql_fn_int,
      "the argument cast to Integer" },
    { "BOOL", 1, 0, { A }, 0, B, em_cesql_fn_bool,
      "the argument cast to Boolean" },
    { "STRING", 1, 0, { A }, 0, S, em_cesql_fn_string,
      "the argument cast to String" },
    { "IS_INT", 1, 0, { A }, 0, B, em_cesql_fn_is_int,
      "whether the argument casts to Integer without error" },
    { "IS_BOOL", 1, 0, { A }, 0, B, em_cesql_fn_is_bool,
      "whether the argument casts to Boolean without error" },
    { NULL, 0, 0, { 0 }, 0, 0, NULL, NULL }
};

#undef S
#undef I
#undef B
#undef A


const em_cesql_func_t *
em_cesql_func_find(const char *name, size_t len, size_t nargs,
    char *arities, size_t size)
{
    const em_cesql_func_t  *f;
    size_t                  at, fixed;
    int                     n, known;

    at = 0;
    known = 0;
    arities[0] = '\0';

    for (f = em_cesql_funcs; f->name != NULL; f++) {
        if (strlen(f->name) != len || strncasecmp(f->name, name, len) != 0) {
            continue;
        }

        if (nargs == f->nfixed || (f->variadic && nargs > f->nfixed)) {
            return f;
        }

        fixed = f->nfixed;
        n = snprintf(arities + at, size - at, "%s%s%zu",
                     known ? " or " : "", f->variadic ? "at least " : "",
                     fixed);
        if (n > 0 && (size_t) n < size - at) {
            at += (size_t) n;
        }

        known = 1;
    }

    if (known && at + 12 < size) {
        strcpy(arities + at, (strcmp(arities, "1") == 0
                              || strcmp(arities, "at least 1") == 0)
                             ? " argument" : " arguments");
    }

    return NULL;
}
