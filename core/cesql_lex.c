/*
 * CESQL lexer.  Keywords are case-insensitive (spec section 2); a word is
 * [A-Za-z0-9_]+ and only the parser knows whether it names an attribute
 * or a function.  A sign is never part of a T_INT: whether "-1" is a
 * literal or a subtraction depends on where it stands, which the parser
 * knows.  Columns are 1-based byte offsets, as users count them in a YAML
 * line.
 */

#include "cesql_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>


static const struct {
    const char           *word;
    size_t                len;
    em_cesql_tok_type_t   type;
} em_cesql_keywords[] = {
    { "NOT", 3, EM_CESQL_T_NOT },
    { "AND", 3, EM_CESQL_T_AND },
    { "OR", 2, EM_CESQL_T_OR },
    { "XOR", 3, EM_CESQL_T_XOR },
    { "LIKE", 4, EM_CESQL_T_LIKE },
    { "EXISTS", 6, EM_CESQL_T_EXISTS },
    { "IN", 2, EM_CESQL_T_IN },
    { "TRUE", 4, EM_CESQL_T_TRUE },
    { "FALSE", 5, EM_CESQL_T_FALSE },
};


void
em_cesql_set_error(em_cesql_compile_error_t *err, em_cesql_error_t kind,
    size_t column, const char *fmt, ...)
{
    va_list  ap;

    err->kind = kind;
    err->column = column;

    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
}


static int
em_cesql_is_word(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '_';
}


/* the column of the first byte of s[0..len) that is not UTF-8 */
static size_t
em_cesql_bad_utf8(const char *s, size_t len)
{
    size_t    i, n;
    uint32_t  cp;

    for (i = 0; i < len; i += n) {
        n = em_utf8_decode((const unsigned char *) s + i, len - i, &cp);
        if (n == 0) {
            return i;
        }
    }

    return len;
}


static int
em_cesql_lex_string(em_cesql_lexer_t *lx, em_cesql_tok_t *t)
{
    const char  *s;
    size_t       i, bad;
    char         q;

    s = lx->src;
    q = s[lx->pos];

    for (i = lx->pos + 1; i < lx->len; i++) {
        if (s[i] == '\\') {
            /* a pair: "\'" is the quote, anything else stays as written */
            if (++i == lx->len) {
                break;
            }
            continue;
        }

        if (s[i] == q) {
            break;
        }
    }

    if (i >= lx->len) {
        em_cesql_set_error(lx->err, EM_CESQL_EPARSE, lx->pos + 1,
                           "string literal opened at column %zu is not "
                           "closed", lx->pos + 1);
        return -1;
    }

    if (memchr(s + lx->pos + 1, '\0', i - lx->pos - 1) != NULL) {
        bad = (const char *) memchr(s + lx->pos + 1, '\0', i - lx->pos - 1)
              - s;
        em_cesql_set_error(lx->err, EM_CESQL_EPARSE, bad + 1,
                           "NUL byte in string literal at column %zu",
                           bad + 1);
        return -1;
    }

    bad = lx->pos + 1 + em_cesql_bad_utf8(s + lx->pos + 1, i - lx->pos - 1);
    if (bad != i) {
        em_cesql_set_error(lx->err, EM_CESQL_EPARSE, bad + 1,
                           "invalid UTF-8 in string literal at column %zu",
                           bad + 1);
        return -1;
    }

    t->type = EM_CESQL_T_STRING;
    t->len = i + 1 - lx->pos;
    lx->pos = i + 1;
    return 0;
}


static void
em_cesql_lex_word(em_cesql_lexer_t *lx, em_cesql_tok_t *t)
{
    size_t  i, k;
    int     digits;

    digits = 1;
    t->ival = 0;

    for (i = lx->pos; i < lx->len && em_cesql_is_word(lx->src[i]); i++) {
        if (lx->src[i] >= '0' && lx->src[i] <= '9') {
            if (t->ival <= UINT32_MAX) {
                t->ival = t->ival * 10 + (uint64_t) (lx->src[i] - '0');
            }

        } else {
            digits = 0;
        }
    }

    t->len = i - lx->pos;
    lx->pos = i;

    /* as in the spec's grammar, the longest match wins: 12ab is a name */
    if (digits) {
        t->type = EM_CESQL_T_INT;
        return;
    }

    t->type = EM_CESQL_T_WORD;

    for (k = 0; k < sizeof(em_cesql_keywords) / sizeof(em_cesql_keywords[0]);
         k++)
    {
        if (t->len == em_cesql_keywords[k].len
            && strncasecmp(lx->src + t->start, em_cesql_keywords[k].word,
                           t->len) == 0)
        {
            t->type = em_cesql_keywords[k].type;
            return;
        }
    }
}


int
em_cesql_lex(em_cesql_lexer_t *lx, em_cesql_tok_t *t)
{
    unsigned char  c, n;

    while (lx->pos < lx->len
           && (lx->src[lx->pos] == ' ' || lx->src[lx->pos] == '\t'
               || lx->src[lx->pos] == '\r' || lx->src[lx->pos] == '\n'))
    {
        lx->pos++;
    }

    t->start = lx->pos;
    t->len = 1;
    t->ival = 0;

    if (lx->pos == lx->len) {
        t->type = EM_CESQL_T_EOF;
        t->len = 0;
        return 0;
    }

    c = (unsigned char) lx->src[lx->pos];
    n = lx->pos + 1 < lx->len ? (unsigned char) lx->src[lx->pos + 1] : 0;

    switch (c) {

    case '(':
        t->type = EM_CESQL_T_LPAREN;
        break;

    case ')':
        t->type = EM_CESQL_T_RPAREN;
        break;

    case ',':
        t->type = EM_CESQL_T_COMMA;
        break;

    case '*':
        t->type = EM_CESQL_T_STAR;
        break;

    case '/':
        t->type = EM_CESQL_T_SLASH;
        break;

    case '%':
        t->type = EM_CESQL_T_PERCENT;
        break;

    case '+':
        t->type = EM_CESQL_T_PLUS;
        break;

    case '-':
        t->type = EM_CESQL_T_MINUS;
        break;

    case '=':
        t->type = EM_CESQL_T_EQ;
        break;

    case '!':
        if (n != '=') {
            em_cesql_set_error(lx->err, EM_CESQL_EPARSE, lx->pos + 1,
                               "'!' at column %zu must be followed by '=' "
                               "(use NOT for negation)", lx->pos + 1);
            return -1;
        }
        t->type = EM_CESQL_T_NE;
        t->len = 2;
        break;

    case '<':
        if (n == '=') {
            t->type = EM_CESQL_T_LE;
            t->len = 2;

        } else if (n == '>') {
            t->type = EM_CESQL_T_NE;
            t->len = 2;

        } else {
            t->type = EM_CESQL_T_LT;
        }
        break;

    case '>':
        if (n == '=') {
            t->type = EM_CESQL_T_GE;
            t->len = 2;

        } else {
            t->type = EM_CESQL_T_GT;
        }
        break;

    case '\'':
    case '"':
        return em_cesql_lex_string(lx, t);

    default:
        if (em_cesql_is_word(c)) {
            em_cesql_lex_word(lx, t);
            return 0;
        }

        if (c >= 0x21 && c < 0x7f) {
            em_cesql_set_error(lx->err, EM_CESQL_EPARSE, lx->pos + 1,
                               "unexpected character '%c' at column %zu",
                               c, lx->pos + 1);

        } else {
            em_cesql_set_error(lx->err, EM_CESQL_EPARSE, lx->pos + 1,
                               "unexpected byte 0x%02x at column %zu%s",
                               c, lx->pos + 1,
                               c >= 0x80 ? " (text outside quotes must be "
                                           "ASCII)" : "");
        }
        return -1;
    }

    lx->pos += t->len;
    return 0;
}


size_t
em_cesql_unquote(const char *src, const em_cesql_tok_t *t, char *dst)
{
    const char  *s;
    size_t       i, n, len;
    char         q;

    s = src + t->start + 1;
    len = t->len - 2;
    q = src[t->start];
    n = 0;

    for (i = 0; i < len; i++) {
        if (s[i] == '\\' && i + 1 < len) {
            if (s[i + 1] == q) {
                dst[n++] = q;

            } else {
                dst[n++] = s[i];
                dst[n++] = s[i + 1];
            }
            i++;
            continue;
        }

        dst[n++] = s[i];
    }

    return n;
}


/* at most max bytes of s, printable, cut on a character boundary */
static void
em_cesql_excerpt(const char *s, size_t len, size_t max, char *buf,
    size_t size)
{
    size_t  i, n, cut;

    cut = len > max ? em_utf8_cut(s, len, max) : len;
    n = 0;

    for (i = 0; i < cut && n + 1 < size; i++) {
        buf[n++] = ((unsigned char) s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
    }

    if (cut < len && n + 4 < size) {
        memcpy(buf + n, "...", 3);
        n += 3;
    }

    buf[n] = '\0';
}


void
em_cesql_tok_describe(const em_cesql_lexer_t *lx, const em_cesql_tok_t *t,
    char *buf, size_t size)
{
    char  ex[64];

    em_cesql_excerpt(lx->src + t->start, t->len, 24, ex, sizeof(ex));

    switch (t->type) {

    case EM_CESQL_T_EOF:
        snprintf(buf, size, "end of expression");
        break;

    case EM_CESQL_T_STRING:
        snprintf(buf, size, "string %s", ex);
        break;

    case EM_CESQL_T_INT:
        snprintf(buf, size, "integer %s", ex);
        break;

    case EM_CESQL_T_WORD:
        snprintf(buf, size, "name '%s'", ex);
        break;

    case EM_CESQL_T_NOT:
    case EM_CESQL_T_AND:
    case EM_CESQL_T_OR:
    case EM_CESQL_T_XOR:
    case EM_CESQL_T_LIKE:
    case EM_CESQL_T_EXISTS:
    case EM_CESQL_T_IN:
    case EM_CESQL_T_TRUE:
    case EM_CESQL_T_FALSE:
        snprintf(buf, size, "keyword %s", ex);
        break;

    default:
        snprintf(buf, size, "'%s'", ex);
        break;
    }
}
