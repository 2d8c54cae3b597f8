/*
 * Go's JSON scanner, as json.Decoder runs it: the same states, so the same
 * verdicts and the same "invalid character ..." messages, which Kyma
 * returns to its clients in "moreInfo".
 */

#include "legacy_int.h"

#include <stdio.h>
#include <string.h>


typedef enum {
    EM_GS_VALUE = 0,       /* a value must begin */
    EM_GS_OBJ_FIRST,       /* after '{': a key or '}' */
    EM_GS_OBJ_KEY,         /* after ',' in an object: a key */
    EM_GS_ARR_FIRST,       /* after '[': a value or ']' */
    EM_GS_END,             /* a value ended */
    EM_GS_STR,
    EM_GS_ESC,
    EM_GS_HEX,
    EM_GS_NEG,
    EM_GS_INT,
    EM_GS_ZERO,
    EM_GS_DOT,
    EM_GS_FRAC,
    EM_GS_EXP,
    EM_GS_EXP_SIGN,
    EM_GS_EXP_DIGITS,
    EM_GS_LIT
} em_gs_state_t;


static int
em_go_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}


static int
em_go_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}


/* Go's "invalid character 'c' <context>", c quoted as its quoteChar(). */
static em_status_t
em_go_syntax(em_buf_t *err, unsigned char c, const char *context)
{
    char  q[8];
    int   rc;

    switch (c) {
    case '\'': strcpy(q, "\\'"); break;
    case '"':  strcpy(q, "\""); break;
    case '\\': strcpy(q, "\\\\"); break;
    case 0x07: strcpy(q, "\\a"); break;
    case '\b': strcpy(q, "\\b"); break;
    case '\f': strcpy(q, "\\f"); break;
    case '\n': strcpy(q, "\\n"); break;
    case '\r': strcpy(q, "\\r"); break;
    case '\t': strcpy(q, "\\t"); break;
    case 0x0B: strcpy(q, "\\v"); break;
    default:
        if (c < 0x20 || c == 0x7F) {
            snprintf(q, sizeof(q), "\\x%02x", c);

        } else if (c < 0x7F) {
            q[0] = (char) c;
            q[1] = '\0';

        } else if (c <= 0xA0 || c == 0xAD) {
            /* Go reads the byte as U+00XX; these are not printable */
            snprintf(q, sizeof(q), "\\u%04x", c);

        } else {
            q[0] = (char) (c < 0xC0 ? 0xC2 : 0xC3);
            q[1] = (char) (c < 0xC0 ? c : c - 0x40);
            q[2] = '\0';
        }
        break;
    }

    em_buf_reset(err);
    rc = em_buf_printf(err, "invalid character '%s' %s", q, context);

    return rc == EM_OK ? EM_EINVALID : EM_ERROR;
}


static em_status_t
em_go_text(em_buf_t *err, const char *text)
{
    em_buf_reset(err);
    return em_buf_append_str(err, text) == EM_OK ? EM_EINVALID : EM_ERROR;
}


/*
 * The first JSON value of s[0..n), as Go's Decoder finds it: [*vb, *ve).
 * eof: n is the end of the body (else the read limit stops there).
 */
em_status_t
em_go_scan(const char *s, size_t n, int eof, size_t *vb, size_t *ve,
    em_buf_t *err)
{
    unsigned char   stack[EM_GO_MAX_DEPTH];   /* 'k' 'v' object, 'a' */
    em_gs_state_t   st;
    const char     *lit;
    char            ctx[48];
    size_t          i, depth, litpos;
    int             hex, begun;
    unsigned char   c;

    st = EM_GS_VALUE;
    depth = 0;
    lit = NULL;
    litpos = 0;
    hex = 0;
    begun = 0;
    *vb = 0;
    *ve = 0;

    for (i = 0; i < n; ) {
        c = (unsigned char) s[i];

        switch (st) {

        case EM_GS_VALUE:
        case EM_GS_OBJ_FIRST:
        case EM_GS_OBJ_KEY:
        case EM_GS_ARR_FIRST:
            if (em_go_space(c)) {
                i++;
                continue;
            }

            if ((st == EM_GS_OBJ_FIRST && c == '}')
                || (st == EM_GS_ARR_FIRST && c == ']'))
            {
                goto pop;
            }

            if (st == EM_GS_OBJ_FIRST || st == EM_GS_OBJ_KEY) {
                if (c != '"') {
                    return em_go_syntax(err, c,
                               "looking for beginning of object key string");
                }
                st = EM_GS_STR;
                i++;
                continue;
            }

            if (depth == 0) {
                *vb = i;
                begun = 1;
            }

            switch (c) {
            case '{':
            case '[':
                if (depth == EM_GO_MAX_DEPTH) {
                    return em_go_syntax(err, c, "exceeded max depth");
                }
                stack[depth++] = (c == '{') ? 'k' : 'a';
                st = (c == '{') ? EM_GS_OBJ_FIRST : EM_GS_ARR_FIRST;
                break;
            case '"':
                st = EM_GS_STR;
                break;
            case '-':
                st = EM_GS_NEG;
                break;
            case '0':
                st = EM_GS_ZERO;
                break;
            case 't':
                lit = "true";
                break;
            case 'f':
                lit = "false";
                break;
            case 'n':
                lit = "null";
                break;
            default:
                if (c >= '1' && c <= '9') {
                    st = EM_GS_INT;
                    break;
                }
                return em_go_syntax(err, c, "looking for beginning of value");
            }

            if (c == 't' || c == 'f' || c == 'n') {
                st = EM_GS_LIT;
                litpos = 1;
            }

            i++;
            continue;

        case EM_GS_STR:
            while (i < n && s[i] != '"' && s[i] != '\\'
                   && (unsigned char) s[i] >= 0x20)
            {
                i++;
            }

            if (i == n) {
                continue;
            }

            c = (unsigned char) s[i];
            i++;

            if (c == '"') {
                goto ended;
            }

            if (c == '\\') {
                st = EM_GS_ESC;
                continue;
            }

            return em_go_syntax(err, c, "in string literal");

        case EM_GS_ESC:
            if (c == 'u') {
                st = EM_GS_HEX;
                hex = 0;
                i++;
                continue;
            }

            if (strchr("bfnrt\\/\"", c) == NULL || c == '\0') {
                return em_go_syntax(err, c, "in string escape code");
            }

            st = EM_GS_STR;
            i++;
            continue;

        case EM_GS_HEX:
            if (!em_go_digit(c) && !(c >= 'a' && c <= 'f')
                && !(c >= 'A' && c <= 'F'))
            {
                return em_go_syntax(err, c,
                                    "in \\u hexadecimal character escape");
            }

            if (++hex == 4) {
                st = EM_GS_STR;
            }
            i++;
            continue;

        case EM_GS_NEG:
            if (c == '0') {
                st = EM_GS_ZERO;
            } else if (c >= '1' && c <= '9') {
                st = EM_GS_INT;
            } else {
                return em_go_syntax(err, c, "in numeric literal");
            }
            i++;
            continue;

        case EM_GS_INT:
            if (em_go_digit(c)) {
                i++;
                continue;
            }
            /* fall through */

        case EM_GS_ZERO:
            if (c == '.') {
                st = EM_GS_DOT;
                i++;
                continue;
            }

            if (c == 'e' || c == 'E') {
                st = EM_GS_EXP;
                i++;
                continue;
            }

            /* c ends the number and is looked at again below */
            goto ended;

        case EM_GS_DOT:
            if (!em_go_digit(c)) {
                return em_go_syntax(err, c,
                           "after decimal point in numeric literal");
            }
            st = EM_GS_FRAC;
            i++;
            continue;

        case EM_GS_FRAC:
            if (em_go_digit(c)) {
                i++;
                continue;
            }

            if (c == 'e' || c == 'E') {
                st = EM_GS_EXP;
                i++;
                continue;
            }

            goto ended;

        case EM_GS_EXP:
            if (c == '+' || c == '-') {
                st = EM_GS_EXP_SIGN;
                i++;
                continue;
            }
            /* fall through */

        case EM_GS_EXP_SIGN:
            if (!em_go_digit(c)) {
                return em_go_syntax(err, c, "in exponent of numeric literal");
            }
            st = EM_GS_EXP_DIGITS;
            i++;
            continue;

        case EM_GS_EXP_DIGITS:
            if (em_go_digit(c)) {
                i++;
                continue;
            }
            goto ended;

        case EM_GS_LIT:
            if (c != (unsigned char) lit[litpos]) {
                snprintf(ctx, sizeof(ctx), "in literal %s (expecting '%c')",
                         lit, lit[litpos]);
                return em_go_syntax(err, c, ctx);
            }

            i++;
            if (lit[++litpos] == '\0') {
                goto ended;
            }
            continue;

        case EM_GS_END:
            if (depth == 0) {
                /* a top-level scalar: Go sees it end on any next byte */
                return EM_OK;
            }

            if (em_go_space(c)) {
                i++;
                continue;
            }

            switch (stack[depth - 1]) {
            case 'k':
                if (c != ':') {
                    return em_go_syntax(err, c, "after object key");
                }
                stack[depth - 1] = 'v';
                st = EM_GS_VALUE;
                i++;
                continue;

            case 'v':
                if (c == ',') {
                    stack[depth - 1] = 'k';
                    st = EM_GS_OBJ_KEY;
                    i++;
                    continue;
                }

                if (c == '}') {
                    goto pop;
                }

                return em_go_syntax(err, c, "after object key:value pair");

            default:
                if (c == ',') {
                    st = EM_GS_VALUE;
                    i++;
                    continue;
                }

                if (c == ']') {
                    goto pop;
                }

                return em_go_syntax(err, c, "after array element");
            }
        }

    pop:

        depth--;
        i++;

        if (depth == 0) {
            /* Go ends an object or array without waiting for a byte */
            *ve = i;
            return EM_OK;
        }

        st = EM_GS_END;
        continue;

    ended:

        /* a scalar ended just before s[i] */
        if (depth == 0) {
            *ve = i;
        }
        st = EM_GS_END;
    }

    if (!eof) {
        return EM_ETOOBIG;
    }

    /* at the end of the body Go feeds its scanner one more space */
    if (depth == 0) {
        switch (st) {
        case EM_GS_END:
            return EM_OK;

        case EM_GS_INT:
        case EM_GS_ZERO:
        case EM_GS_FRAC:
        case EM_GS_EXP_DIGITS:
            *ve = n;
            return EM_OK;

        default:
            break;
        }
    }

    return em_go_text(err, begun ? "unexpected EOF" : "EOF");
}
