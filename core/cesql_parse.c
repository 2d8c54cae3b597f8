/*
 * CESQL parser: precedence climbing into a typed tree.
 *
 * Precedence follows spec section 3.6, tightest first: calls, unary NOT
 * and -, LIKE, IN, * / %, + -, comparisons, then AND OR XOR together.
 * Operators of one level associate left to right, as section 3.6 says (the
 * ANTLR grammar marks the logic level right-associative; the prose wins).
 * Because unary operators bind tighter than LIKE, "NOT x LIKE 'a'" is
 * "(NOT x) LIKE 'a'"; "x NOT LIKE 'a'" is the usual way to say it.
 *
 * A chain of one logic operator becomes one n-ary node, so that a filter
 * listing many alternatives is not as deep as it is long.  Every
 * recursion of the parser counts against max_depth, as does the depth of
 * every node built, so neither parsing nor anything walking the tree
 * later can run off the C stack.
 */

#include "cesql_int.h"

#include <stdio.h>
#include <string.h>


typedef struct {
    em_cesql_lexer_t             lx;
    em_cesql_tok_t               tok;
    em_cesql_arena_t            *arena;
    em_cesql_compile_error_t    *err;
    unsigned                     max_depth;
    unsigned                     nesting;
} em_cesql_parser_t;


static em_cesql_node_t *em_cesql_parse_expr(em_cesql_parser_t *p, int min);
static em_cesql_node_t *em_cesql_parse_unary(em_cesql_parser_t *p);


/* binary operators: level (higher binds tighter), node, result type */
static int
em_cesql_binary(em_cesql_tok_type_t t, em_cesql_op_t *op, int *type)
{
    *type = EM_CESQL_BOOLEAN;

    switch (t) {
    case EM_CESQL_T_AND:     *op = EM_CESQL_OP_AND; return 1;
    case EM_CESQL_T_OR:      *op = EM_CESQL_OP_OR; return 1;
    case EM_CESQL_T_XOR:     *op = EM_CESQL_OP_XOR; return 1;
    case EM_CESQL_T_EQ:      *op = EM_CESQL_OP_EQ; return 2;
    case EM_CESQL_T_NE:      *op = EM_CESQL_OP_NE; return 2;
    case EM_CESQL_T_LT:      *op = EM_CESQL_OP_LT; return 2;
    case EM_CESQL_T_LE:      *op = EM_CESQL_OP_LE; return 2;
    case EM_CESQL_T_GT:      *op = EM_CESQL_OP_GT; return 2;
    case EM_CESQL_T_GE:      *op = EM_CESQL_OP_GE; return 2;
    default:                 break;
    }

    *type = EM_CESQL_INTEGER;

    switch (t) {
    case EM_CESQL_T_PLUS:    *op = EM_CESQL_OP_ADD; return 3;
    case EM_CESQL_T_MINUS:   *op = EM_CESQL_OP_SUB; return 3;
    case EM_CESQL_T_STAR:    *op = EM_CESQL_OP_MUL; return 4;
    case EM_CESQL_T_SLASH:   *op = EM_CESQL_OP_DIV; return 4;
    case EM_CESQL_T_PERCENT: *op = EM_CESQL_OP_MOD; return 4;
    default:                 return 0;
    }
}


static size_t
em_cesql_col(const em_cesql_tok_t *t)
{
    return t->start + 1;
}


static int
em_cesql_next(em_cesql_parser_t *p)
{
    return em_cesql_lex(&p->lx, &p->tok);
}


static void
em_cesql_unexpected(em_cesql_parser_t *p, const char *hint)
{
    char  what[96];

    em_cesql_tok_describe(&p->lx, &p->tok, what, sizeof(what));
    em_cesql_set_error(p->err, EM_CESQL_EPARSE, em_cesql_col(&p->tok),
                       "unexpected %s at column %zu%s", what,
                       em_cesql_col(&p->tok), hint);
}


static void
em_cesql_too_deep(em_cesql_parser_t *p, size_t column)
{
    em_cesql_set_error(p->err, EM_CESQL_EGENERIC, column,
                       "expression nests deeper than max_depth %u at "
                       "column %zu", p->max_depth, column);
}


static em_cesql_node_t *
em_cesql_node(em_cesql_parser_t *p, em_cesql_op_t op, int type, size_t col)
{
    em_cesql_node_t  *n;

    n = em_cesql_alloc(p->arena, sizeof(em_cesql_node_t));
    if (n == NULL) {
        return NULL;
    }

    n->op = op;
    n->type = type;
    n->column = col;
    n->depth = 1;
    return n;
}


static int
em_cesql_add_arg(em_cesql_parser_t *p, em_cesql_node_t *n,
    em_cesql_node_t *arg)
{
    em_cesql_node_t  **a;
    size_t             cap;

    if (n->nargs == n->cargs) {
        cap = n->cargs ? n->cargs * 2 : 2;
        a = em_cesql_alloc(p->arena, cap * sizeof(em_cesql_node_t *));
        if (a == NULL) {
            return -1;
        }

        if (n->nargs) {
            memcpy(a, n->args, n->nargs * sizeof(em_cesql_node_t *));
        }
        n->args = a;
        n->cargs = cap;
    }

    n->args[n->nargs++] = arg;

    if (arg->depth + 1 > n->depth) {
        n->depth = arg->depth + 1;

        if (n->depth > p->max_depth) {
            em_cesql_too_deep(p, n->column);
            return -1;
        }
    }

    return 0;
}


static int
em_cesql_enter(em_cesql_parser_t *p)
{
    /* a little above max_depth: the tree's own depth is the limit users
       meet; this one only keeps the recursion bounded */
    if (++p->nesting > p->max_depth + 2) {
        em_cesql_too_deep(p, em_cesql_col(&p->tok));
        return -1;
    }

    return 0;
}


static em_cesql_node_t *
em_cesql_int_literal(em_cesql_parser_t *p, size_t col, int negative)
{
    em_cesql_node_t  *n;
    uint64_t          max;

    max = negative ? (uint64_t) INT32_MAX + 1 : INT32_MAX;

    if (p->tok.ival > max) {
        em_cesql_set_error(p->err, EM_CESQL_EPARSE, col,
                           "integer at column %zu is outside the 32-bit "
                           "range -2147483648..2147483647", col);
        return NULL;
    }

    n = em_cesql_node(p, EM_CESQL_OP_LITERAL, EM_CESQL_INTEGER, col);
    if (n == NULL) {
        return NULL;
    }

    n->value.type = EM_CESQL_INTEGER;
    n->value.i = negative ? (int32_t) (-(int64_t) p->tok.ival)
                          : (int32_t) p->tok.ival;

    return em_cesql_next(p) == 0 ? n : NULL;
}


static int
em_cesql_string_value(em_cesql_parser_t *p, em_cesql_value_t *v)
{
    char  *s;

    s = em_cesql_alloc(p->arena, p->tok.len);
    if (s == NULL) {
        return -1;
    }

    v->type = EM_CESQL_STRING;
    v->s = s;
    v->len = em_cesql_unquote(p->lx.src, &p->tok, s);
    return 0;
}


static em_cesql_node_t *
em_cesql_parse_attr(em_cesql_parser_t *p, const em_cesql_tok_t *w,
    em_cesql_op_t op)
{
    em_cesql_node_t  *n;
    const char       *s;
    char             *name, ex[64];
    size_t            i;

    s = p->lx.src + w->start;

    if (memchr(s, '_', w->len) != NULL) {
        em_cesql_tok_describe(&p->lx, w, ex, sizeof(ex));
        em_cesql_set_error(p->err, EM_CESQL_EPARSE, em_cesql_col(w),
                           "invalid attribute %s at column %zu: attribute "
                           "names are letters and digits", ex,
                           em_cesql_col(w));
        return NULL;
    }

    n = em_cesql_node(p, op, op == EM_CESQL_OP_ATTR ? EM_CESQL_ANY
                                                     : EM_CESQL_BOOLEAN,
                      em_cesql_col(w));
    name = em_cesql_alloc(p->arena, w->len + 1);
    if (n == NULL || name == NULL) {
        return NULL;
    }

    /* attribute names are lower case (spec 2.2); SOURCE means source */
    for (i = 0; i < w->len; i++) {
        name[i] = (s[i] >= 'A' && s[i] <= 'Z') ? s[i] + 0x20 : s[i];
    }

    n->name = name;
    return n;
}


static em_cesql_node_t *
em_cesql_parse_call(em_cesql_parser_t *p, const em_cesql_tok_t *w)
{
    em_cesql_node_t  *n, *arg;
    const char       *s;
    char              name[64], arities[40], hint[128];
    size_t            i;

    s = p->lx.src + w->start;

    /* function-identifier ::= char ( "_" | char )* */
    for (i = 0; i < w->len; i++) {
        if ((s[i] >= '0' && s[i] <= '9') || (i == 0 && s[i] == '_')) {
            em_cesql_tok_describe(&p->lx, w, name, sizeof(name));
            em_cesql_set_error(p->err, EM_CESQL_EPARSE, em_cesql_col(w),
                               "invalid function %s at column %zu: function "
                               "names are letters and '_'", name,
                               em_cesql_col(w));
            return NULL;
        }
    }

    n = em_cesql_node(p, EM_CESQL_OP_CALL, EM_CESQL_BOOLEAN,
                      em_cesql_col(w));
    if (n == NULL || em_cesql_next(p) != 0) {
        return NULL;
    }

    if (p->tok.type == EM_CESQL_T_RPAREN) {
        if (em_cesql_next(p) != 0) {
            return NULL;
        }

    } else {
        for ( ;; ) {
            arg = em_cesql_parse_expr(p, 0);
            if (arg == NULL || em_cesql_add_arg(p, n, arg) != 0) {
                return NULL;
            }

            if (p->tok.type == EM_CESQL_T_COMMA) {
                if (em_cesql_next(p) != 0) {
                    return NULL;
                }
                continue;
            }

            if (p->tok.type == EM_CESQL_T_RPAREN) {
                if (em_cesql_next(p) != 0) {
                    return NULL;
                }
                break;
            }

            snprintf(hint, sizeof(hint), " (expected ',' or ')' in the call "
                     "at column %zu)", n->column);
            em_cesql_unexpected(p, hint);
            return NULL;
        }
    }

    for (i = 0; i < w->len && i < 32; i++) {
        name[i] = (s[i] >= 'a' && s[i] <= 'z') ? s[i] - 0x20 : s[i];
    }
    name[i] = '\0';

    n->func = em_cesql_func_find(s, w->len, n->nargs, arities,
                                 sizeof(arities));
    if (n->func == NULL) {
        hint[0] = '\0';
        if (arities[0] != '\0') {
            snprintf(hint, sizeof(hint), " (%s takes %s)", name,
                     arities);
        }

        em_cesql_set_error(p->err, EM_CESQL_EMISSING_FUNCTION, n->column,
                           "unknown function %s%s/%zu at column %zu%s",
                           name, i < w->len ? "..." : "", n->nargs,
                           n->column, hint);
        return NULL;
    }

    n->type = n->func->ret;
    return n;
}


static em_cesql_node_t *
em_cesql_parse_primary(em_cesql_parser_t *p)
{
    em_cesql_node_t  *n;
    em_cesql_tok_t    w;
    size_t            col;
    char              hint[64];

    col = em_cesql_col(&p->tok);

    switch (p->tok.type) {

    case EM_CESQL_T_LPAREN:
        if (em_cesql_next(p) != 0) {
            return NULL;
        }

        n = em_cesql_parse_expr(p, 0);
        if (n == NULL) {
            return NULL;
        }

        if (p->tok.type != EM_CESQL_T_RPAREN) {
            snprintf(hint, sizeof(hint), " (expected ')' to close the '(' "
                     "at column %zu)", col);
            em_cesql_unexpected(p, hint);
            return NULL;
        }

        return em_cesql_next(p) == 0 ? n : NULL;

    case EM_CESQL_T_INT:
        return em_cesql_int_literal(p, col, 0);

    case EM_CESQL_T_STRING:
        n = em_cesql_node(p, EM_CESQL_OP_LITERAL, EM_CESQL_STRING, col);
        if (n == NULL || em_cesql_string_value(p, &n->value) != 0) {
            return NULL;
        }
        return em_cesql_next(p) == 0 ? n : NULL;

    case EM_CESQL_T_TRUE:
    case EM_CESQL_T_FALSE:
        n = em_cesql_node(p, EM_CESQL_OP_LITERAL, EM_CESQL_BOOLEAN, col);
        if (n == NULL) {
            return NULL;
        }
        n->value.type = EM_CESQL_BOOLEAN;
        n->value.b = p->tok.type == EM_CESQL_T_TRUE;
        return em_cesql_next(p) == 0 ? n : NULL;

    case EM_CESQL_T_EXISTS:
        if (em_cesql_next(p) != 0) {
            return NULL;
        }

        if (p->tok.type != EM_CESQL_T_WORD && p->tok.type != EM_CESQL_T_INT) {
            snprintf(hint, sizeof(hint), " (EXISTS at column %zu needs an "
                     "attribute name)", col);
            em_cesql_unexpected(p, hint);
            return NULL;
        }

        w = p->tok;
        n = em_cesql_parse_attr(p, &w, EM_CESQL_OP_EXISTS);
        if (n == NULL) {
            return NULL;
        }
        n->column = col;
        return em_cesql_next(p) == 0 ? n : NULL;

    case EM_CESQL_T_WORD:
        w = p->tok;
        if (em_cesql_next(p) != 0) {
            return NULL;
        }

        if (p->tok.type == EM_CESQL_T_LPAREN) {
            return em_cesql_parse_call(p, &w);
        }

        return em_cesql_parse_attr(p, &w, EM_CESQL_OP_ATTR);

    default:
        em_cesql_unexpected(p, "");
        return NULL;
    }
}


static em_cesql_node_t *
em_cesql_parse_unary(em_cesql_parser_t *p)
{
    em_cesql_node_t  *n, *arg;
    em_cesql_op_t     op;
    size_t            col;

    if (em_cesql_enter(p) != 0) {
        return NULL;
    }

    col = em_cesql_col(&p->tok);

    switch (p->tok.type) {

    case EM_CESQL_T_NOT:
    case EM_CESQL_T_MINUS:
        op = p->tok.type == EM_CESQL_T_NOT ? EM_CESQL_OP_NOT
                                           : EM_CESQL_OP_NEG;
        if (em_cesql_next(p) != 0) {
            return NULL;
        }

        /* "-1" written as one word is the literal, so -2147483648 exists */
        if (op == EM_CESQL_OP_NEG && p->tok.type == EM_CESQL_T_INT
            && p->tok.start == col)
        {
            n = em_cesql_int_literal(p, col, 1);
            break;
        }

        arg = em_cesql_parse_unary(p);
        if (arg == NULL) {
            return NULL;
        }

        n = em_cesql_node(p, op, op == EM_CESQL_OP_NOT ? EM_CESQL_BOOLEAN
                                                       : EM_CESQL_INTEGER,
                          col);
        if (n == NULL || em_cesql_add_arg(p, n, arg) != 0) {
            return NULL;
        }
        break;

    case EM_CESQL_T_PLUS:
        if (em_cesql_next(p) != 0) {
            return NULL;
        }

        if (p->tok.type != EM_CESQL_T_INT || p->tok.start != col) {
            em_cesql_set_error(p->err, EM_CESQL_EPARSE, col,
                               "unexpected '+' at column %zu (a sign must "
                               "touch the digits of an integer)", col);
            return NULL;
        }

        n = em_cesql_int_literal(p, col, 0);
        break;

    default:
        n = em_cesql_parse_primary(p);
        break;
    }

    p->nesting--;
    return n;
}


static em_cesql_node_t *
em_cesql_parse_like(em_cesql_parser_t *p, em_cesql_node_t *lhs, size_t col,
    int negate)
{
    em_cesql_node_t  *n;
    char              hint[64];

    if (p->tok.type != EM_CESQL_T_STRING) {
        snprintf(hint, sizeof(hint), " (the pattern of LIKE at column %zu "
                 "must be a string literal)", col);
        em_cesql_unexpected(p, hint);
        return NULL;
    }

    n = em_cesql_node(p, EM_CESQL_OP_LIKE, EM_CESQL_BOOLEAN, col);
    if (n == NULL || em_cesql_add_arg(p, n, lhs) != 0
        || em_cesql_string_value(p, &n->value) != 0)
    {
        return NULL;
    }

    n->negate = negate;
    n->like = em_cesql_like_compile(n->value.s, n->value.len, p->arena);
    if (n->like == NULL) {
        return NULL;
    }

    return em_cesql_next(p) == 0 ? n : NULL;
}


static em_cesql_node_t *
em_cesql_parse_in(em_cesql_parser_t *p, em_cesql_node_t *lhs, size_t col,
    int negate)
{
    em_cesql_node_t  *n, *arg;
    char              hint[64];

    if (p->tok.type != EM_CESQL_T_LPAREN) {
        snprintf(hint, sizeof(hint), " (IN at column %zu needs a list in "
                 "parentheses)", col);
        em_cesql_unexpected(p, hint);
        return NULL;
    }

    n = em_cesql_node(p, EM_CESQL_OP_IN, EM_CESQL_BOOLEAN, col);
    if (n == NULL || em_cesql_add_arg(p, n, lhs) != 0
        || em_cesql_next(p) != 0)
    {
        return NULL;
    }

    n->negate = negate;

    if (p->tok.type == EM_CESQL_T_RPAREN) {
        snprintf(hint, sizeof(hint), " (the list of IN at column %zu needs "
                 "at least one value)", col);
        em_cesql_unexpected(p, hint);
        return NULL;
    }

    for ( ;; ) {
        arg = em_cesql_parse_expr(p, 0);
        if (arg == NULL || em_cesql_add_arg(p, n, arg) != 0) {
            return NULL;
        }

        if (p->tok.type == EM_CESQL_T_COMMA) {
            if (em_cesql_next(p) != 0) {
                return NULL;
            }
            continue;
        }

        if (p->tok.type == EM_CESQL_T_RPAREN) {
            return em_cesql_next(p) == 0 ? n : NULL;
        }

        snprintf(hint, sizeof(hint), " (expected ',' or ')' in the list of "
                 "IN at column %zu)", col);
        em_cesql_unexpected(p, hint);
        return NULL;
    }
}


static em_cesql_node_t *
em_cesql_parse_expr(em_cesql_parser_t *p, int min)
{
    em_cesql_node_t      *lhs, *rhs, *n;
    em_cesql_tok_type_t   t;
    em_cesql_op_t         op;
    size_t                col;
    int                   level, type, negate;

    if (em_cesql_enter(p) != 0) {
        return NULL;
    }

    lhs = em_cesql_parse_unary(p);

    while (lhs != NULL) {
        t = p->tok.type;
        col = em_cesql_col(&p->tok);

        /* LIKE and IN bind tighter than any binary operator, so they
           always apply to what has been read so far */
        if (t == EM_CESQL_T_NOT || t == EM_CESQL_T_LIKE
            || t == EM_CESQL_T_IN)
        {
            negate = t == EM_CESQL_T_NOT;
            if (em_cesql_next(p) != 0) {
                return NULL;
            }

            if (negate && p->tok.type != EM_CESQL_T_LIKE
                && p->tok.type != EM_CESQL_T_IN)
            {
                em_cesql_unexpected(p, " (expected LIKE or IN after NOT)");
                return NULL;
            }

            if (negate) {
                t = p->tok.type;
                if (em_cesql_next(p) != 0) {
                    return NULL;
                }
            }

            lhs = t == EM_CESQL_T_LIKE ? em_cesql_parse_like(p, lhs, col,
                                                             negate)
                                       : em_cesql_parse_in(p, lhs, col,
                                                           negate);
            continue;
        }

        level = em_cesql_binary(t, &op, &type);
        if (level == 0 || level < min) {
            break;
        }

        if (em_cesql_next(p) != 0) {
            return NULL;
        }

        rhs = em_cesql_parse_expr(p, level + 1);
        if (rhs == NULL) {
            return NULL;
        }

        if (level == 1 && lhs->op == op) {
            n = lhs;

        } else {
            n = em_cesql_node(p, op, type, col);
            if (n == NULL || em_cesql_add_arg(p, n, lhs) != 0) {
                return NULL;
            }
        }

        if (em_cesql_add_arg(p, n, rhs) != 0) {
            return NULL;
        }

        lhs = n;
    }

    p->nesting--;
    return lhs;
}


em_cesql_node_t *
em_cesql_parse(const char *expr, size_t len, unsigned max_depth,
    em_cesql_arena_t *arena, em_cesql_compile_error_t *err)
{
    em_cesql_parser_t  p;
    em_cesql_node_t   *n;

    memset(&p, 0, sizeof(p));
    p.lx.src = expr;
    p.lx.len = len;
    p.lx.err = err;
    p.arena = arena;
    p.err = err;
    p.max_depth = max_depth;

    if (em_cesql_next(&p) != 0) {
        return NULL;
    }

    n = em_cesql_parse_expr(&p, 0);
    if (n == NULL) {
        return NULL;
    }

    if (p.tok.type != EM_CESQL_T_EOF) {
        em_cesql_unexpected(&p, "");
        return NULL;
    }

    return n;
}
