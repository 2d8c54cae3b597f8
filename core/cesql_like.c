/*
 * CESQL LIKE (spec 3.4.3), compiled once per pattern.
 *
 * '%' is any run of characters, '_' exactly one character, "\%" and "\_"
 * are the characters themselves.  "\\" is one backslash, so that a
 * backslash in front of a wildcard can be written; a backslash before
 * anything else is itself (the TCK's 'ab\c' LIKE 'ab\c').
 *
 * The patterns filters use most (exact, prefix%, %suffix, %infix%) are
 * matched with one comparison; others by the classic wildcard walk that
 * retries from the last '%' only, which is O(text x pattern) at worst and
 * never recursive.  '_' steps over one UTF-8 character.
 */

#include "cesql_int.h"

#include <string.h>


typedef enum {
    EM_CESQL_LIKE_EXACT = 0,
    EM_CESQL_LIKE_PREFIX,
    EM_CESQL_LIKE_SUFFIX,
    EM_CESQL_LIKE_CONTAINS,
    EM_CESQL_LIKE_GENERAL
} em_cesql_like_kind_t;

typedef enum {
    EM_CESQL_LIKE_LIT = 0,      /* these bytes */
    EM_CESQL_LIKE_ONE,          /* _ */
    EM_CESQL_LIKE_ANY           /* % */
} em_cesql_like_op_t;

typedef struct {
    em_cesql_like_op_t   op;
    const char          *s;
    size_t               len;
} em_cesql_like_tok_t;

struct em_cesql_like_s {
    em_cesql_like_kind_t     kind;
    const char              *lit;       /* the literal of the simple kinds */
    size_t                   lit_len;
    em_cesql_like_tok_t     *toks;
    size_t                   ntoks;
};


em_cesql_like_t *
em_cesql_like_compile(const char *pat, size_t len, em_cesql_arena_t *arena)
{
    em_cesql_like_t      *l;
    em_cesql_like_tok_t  *t;
    size_t                i, n, k, any;
    char                 *lit, c;
    int                   one;

    l = em_cesql_alloc(arena, sizeof(em_cesql_like_t));
    t = em_cesql_alloc(arena, (len + 1) * sizeof(em_cesql_like_tok_t));
    lit = em_cesql_alloc(arena, len + 1);
    if (l == NULL || t == NULL || lit == NULL) {
        return NULL;
    }

    n = 0;
    k = 0;

    for (i = 0; i < len; i++) {
        c = pat[i];

        if (c == '%' || c == '_') {
            if (c == '%' && n && t[n - 1].op == EM_CESQL_LIKE_ANY) {
                continue;
            }

            t[n].op = c == '%' ? EM_CESQL_LIKE_ANY : EM_CESQL_LIKE_ONE;
            n++;
            continue;
        }

        if (c == '\\' && i + 1 < len
            && (pat[i + 1] == '%' || pat[i + 1] == '_' || pat[i + 1] == '\\'))
        {
            c = pat[++i];
        }

        if (n == 0 || t[n - 1].op != EM_CESQL_LIKE_LIT) {
            t[n].op = EM_CESQL_LIKE_LIT;
            t[n].s = lit + k;
            t[n].len = 0;
            n++;
        }

        lit[k++] = c;
        t[n - 1].len++;
    }

    l->toks = t;
    l->ntoks = n;
    l->kind = EM_CESQL_LIKE_GENERAL;

    for (i = 0, any = 0, one = 0; i < n; i++) {
        any += t[i].op == EM_CESQL_LIKE_ANY;
        one |= t[i].op == EM_CESQL_LIKE_ONE;
    }

    if (one) {
        return l;
    }

    l->lit = "";

    if (n == 0 || (n == 1 && any == 0)) {
        l->kind = EM_CESQL_LIKE_EXACT;

    } else if (n == 1 || (n == 2 && t[1].op == EM_CESQL_LIKE_ANY)) {
        /* "%" alone is the prefix "" */
        l->kind = EM_CESQL_LIKE_PREFIX;

    } else if (n == 2) {
        l->kind = EM_CESQL_LIKE_SUFFIX;

    } else if (n == 3 && t[0].op == EM_CESQL_LIKE_ANY
               && t[2].op == EM_CESQL_LIKE_ANY)
    {
        l->kind = EM_CESQL_LIKE_CONTAINS;

    } else {
        return l;
    }

    for (i = 0; i < n; i++) {
        if (t[i].op == EM_CESQL_LIKE_LIT) {
            l->lit = t[i].s;
            l->lit_len = t[i].len;
        }
    }

    return l;
}


static int
em_cesql_like_walk(const em_cesql_like_t *l, const char *s, size_t len)
{
    const em_cesql_like_tok_t  *t;
    size_t                      ti, pi, star_p, star_t, n;
    int                         star;

    t = l->toks;
    n = l->ntoks;
    ti = 0;
    pi = 0;
    star = 0;
    star_p = 0;
    star_t = 0;

    while (ti < len) {
        if (pi < n && t[pi].op == EM_CESQL_LIKE_ONE) {
            ti += em_cesql_char_len(s + ti, len - ti);
            pi++;

        } else if (pi < n && t[pi].op == EM_CESQL_LIKE_LIT
                   && len - ti >= t[pi].len
                   && memcmp(s + ti, t[pi].s, t[pi].len) == 0)
        {
            ti += t[pi].len;
            pi++;

        } else if (pi < n && t[pi].op == EM_CESQL_LIKE_ANY) {
            star = 1;
            star_p = ++pi;
            star_t = ti;

        } else if (star) {
            /* let the last % swallow one more character, and retry */
            star_t += em_cesql_char_len(s + star_t, len - star_t);
            ti = star_t;
            pi = star_p;

        } else {
            return 0;
        }
    }

    while (pi < n && t[pi].op == EM_CESQL_LIKE_ANY) {
        pi++;
    }

    return pi == n;
}


int
em_cesql_like_match(const em_cesql_like_t *l, const char *s, size_t len)
{
    const char  *lit;
    size_t       n;

    lit = l->lit;
    n = l->lit_len;

    switch (l->kind) {

    case EM_CESQL_LIKE_EXACT:
        return len == n && (n == 0 || memcmp(s, lit, n) == 0);

    case EM_CESQL_LIKE_PREFIX:
        return len >= n && (n == 0 || memcmp(s, lit, n) == 0);

    case EM_CESQL_LIKE_SUFFIX:
        return len >= n && memcmp(s + len - n, lit, n) == 0;

    case EM_CESQL_LIKE_CONTAINS:
        return len >= n && memmem(s, len, lit, n) != NULL;

    default:
        return em_cesql_like_walk(l, s, len);
    }
}
