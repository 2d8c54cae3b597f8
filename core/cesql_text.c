/*
 * The canonical text of a CESQL expression, printed from the tree before
 * folding so that /triggers shows what the user wrote: keywords and
 * function names upper case, attribute names lower case, strings single
 * quoted where possible, one space around binary operators and every
 * binary operation in parentheses (except the outermost), so that the
 * text parses back to the same tree and two spellings of one expression
 * share a digest.
 */

#include "cesql_int.h"

#include <string.h>


static const char *const  em_cesql_op_names[] = {
    [EM_CESQL_OP_AND] = "AND",
    [EM_CESQL_OP_OR] = "OR",
    [EM_CESQL_OP_XOR] = "XOR",
    [EM_CESQL_OP_EQ] = "=",
    [EM_CESQL_OP_NE] = "!=",
    [EM_CESQL_OP_LT] = "<",
    [EM_CESQL_OP_LE] = "<=",
    [EM_CESQL_OP_GT] = ">",
    [EM_CESQL_OP_GE] = ">=",
    [EM_CESQL_OP_ADD] = "+",
    [EM_CESQL_OP_SUB] = "-",
    [EM_CESQL_OP_MUL] = "*",
    [EM_CESQL_OP_DIV] = "/",
    [EM_CESQL_OP_MOD] = "%",
};


/*
 * A backslash in a string value always starts a pair the lexer kept as
 * written, so the pairs are copied; a lone quote is escaped.  A pair "\'"
 * can only have come from a double-quoted literal, and then double quotes
 * print it faithfully.
 */
static int
em_cesql_print_string(em_buf_t *b, const char *s, size_t len)
{
    size_t  i;
    char    q;

    q = '\'';

    for (i = 0; i + 1 < len; i++) {
        if (s[i] == '\\') {
            if (s[i + 1] == '\'') {
                q = '"';
                break;
            }
            i++;
        }
    }

    if (em_buf_append(b, &q, 1) != EM_OK) {
        return -1;
    }

    for (i = 0; i < len; i++) {
        if (s[i] == '\\' && i + 1 < len) {
            if (em_buf_append(b, s + i, 2) != EM_OK) {
                return -1;
            }
            i++;
            continue;
        }

        if ((s[i] == q && em_buf_append(b, "\\", 1) != EM_OK)
            || em_buf_append(b, s + i, 1) != EM_OK)
        {
            return -1;
        }
    }

    return em_buf_append(b, &q, 1) == EM_OK ? 0 : -1;
}


static int em_cesql_print_node(em_buf_t *b, const em_cesql_node_t *n,
    int operand);


static int
em_cesql_print_list(em_buf_t *b, const em_cesql_node_t *n, size_t from,
    const char *sep)
{
    size_t  i;

    for (i = from; i < n->nargs; i++) {
        if ((i > from && em_buf_append_str(b, sep) != EM_OK)
            || em_cesql_print_node(b, n->args[i], 0) != 0)
        {
            return -1;
        }
    }

    return 0;
}


static int
em_cesql_print_node(em_buf_t *b, const em_cesql_node_t *n, int operand)
{
    const em_cesql_node_t  *a;
    char                    sep[8];
    int                     rc;

    switch (n->op) {

    case EM_CESQL_OP_LITERAL:
        if (n->value.type == EM_CESQL_STRING) {
            return em_cesql_print_string(b, n->value.s, n->value.len);
        }

        if (n->value.type == EM_CESQL_BOOLEAN) {
            return em_buf_append_str(b, n->value.b ? "TRUE" : "FALSE")
                   == EM_OK ? 0 : -1;
        }

        return em_buf_printf(b, "%d", (int) n->value.i) == EM_OK ? 0 : -1;

    case EM_CESQL_OP_ATTR:
        return em_buf_append_str(b, n->name) == EM_OK ? 0 : -1;

    case EM_CESQL_OP_EXISTS:
        return em_buf_printf(b, "EXISTS %s", n->name) == EM_OK ? 0 : -1;

    case EM_CESQL_OP_NOT:
        /* NOT binds tighter than anything binary: say so visibly */
        return (operand && em_buf_append_str(b, "(") != EM_OK)
               || em_buf_append_str(b, "NOT ") != EM_OK
               || em_cesql_print_node(b, n->args[0], 1) != 0
               || (operand && em_buf_append_str(b, ")") != EM_OK) ? -1 : 0;

    case EM_CESQL_OP_NEG:
        /* "-5" is a literal, "- 5" negates one: keep them apart */
        a = n->args[0];
        rc = a->op == EM_CESQL_OP_NEG
             || (a->op == EM_CESQL_OP_LITERAL
                 && a->value.type == EM_CESQL_INTEGER);

        return em_buf_append_str(b, rc ? "- " : "-") != EM_OK
               || em_cesql_print_node(b, a, 1) != 0 ? -1 : 0;

    case EM_CESQL_OP_CALL:
        return em_buf_printf(b, "%s(", n->func->name) != EM_OK
               || em_cesql_print_list(b, n, 0, ", ") != 0
               || em_buf_append_str(b, ")") != EM_OK ? -1 : 0;

    default:
        break;
    }

    if (operand && em_buf_append_str(b, "(") != EM_OK) {
        return -1;
    }

    if (n->op == EM_CESQL_OP_LIKE) {
        rc = em_cesql_print_node(b, n->args[0], 1) != 0
             || em_buf_append_str(b, n->negate ? " NOT LIKE " : " LIKE ")
                != EM_OK
             || em_cesql_print_string(b, n->value.s, n->value.len) != 0;

    } else if (n->op == EM_CESQL_OP_IN) {
        rc = em_cesql_print_node(b, n->args[0], 1) != 0
             || em_buf_append_str(b, n->negate ? " NOT IN (" : " IN (")
                != EM_OK
             || em_cesql_print_list(b, n, 1, ", ") != 0
             || em_buf_append_str(b, ")") != EM_OK;

    } else {
        /* binary operators and chains of one logic operator */
        sep[0] = ' ';
        strcpy(sep + 1, em_cesql_op_names[n->op]);
        strcat(sep, " ");

        rc = 0;
        for (size_t i = 0; i < n->nargs && rc == 0; i++) {
            rc = (i && em_buf_append_str(b, sep) != EM_OK)
                 || em_cesql_print_node(b, n->args[i], 1) != 0;
        }
    }

    if (rc != 0 || (operand && em_buf_append_str(b, ")") != EM_OK)) {
        return -1;
    }

    return 0;
}


const char *
em_cesql_print(const em_cesql_node_t *n, em_cesql_arena_t *a)
{
    em_buf_t  b;
    char     *text;

    em_buf_init(&b);

    text = NULL;

    if (em_cesql_print_node(&b, n, 0) == 0) {
        text = em_cesql_alloc(a, b.len + 1);
        if (text != NULL) {
            memcpy(text, b.data != NULL ? b.data : "", b.len);
            text[b.len] = '\0';
        }
    }

    em_buf_free(&b);
    return text;
}
