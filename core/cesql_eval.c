/*
 * CESQL evaluator, "fail fast" (spec 4.1): the first error stops the
 * evaluation.  The node that fails returns the value the spec defines for
 * it (ABS and LEFT/RIGHT have their own), and every node above it returns
 * the zero value of its own type with the same error, which is what the
 * TCK expects from "1 / missing" (0, missingAttribute) or from
 * "true AND (1 != 1 / 0)" (false, math).
 *
 * Operands are evaluated left to right, then cast (3.7): "=", "!=" and
 * "<>" cast the left operand to the right one's type, IN casts each
 * element to the left operand's type, everything else casts to its fixed
 * parameter types.  AND and OR short-circuit (3.4.2); IN stops at the
 * first element that matches, as the OR chain it abbreviates would.
 */

#include "cesql_int.h"

#include <string.h>


static em_cesql_error_t
em_cesql_fail(const em_cesql_node_t *n, em_cesql_error_t rc,
    em_cesql_value_t *out)
{
    em_cesql_zero(n->type, out);
    return rc;
}


static int
em_cesql_equal(const em_cesql_value_t *a, const em_cesql_value_t *b)
{
    switch (a->type) {
    case EM_CESQL_INTEGER:
        return a->i == b->i;

    case EM_CESQL_BOOLEAN:
        return a->b == b->b;

    default:
        return a->len == b->len
               && (a->len == 0 || memcmp(a->s, b->s, a->len) == 0);
    }
}


static const char *const  em_cesql_required[] = {
    "specversion", "id", "source", "type"
};


static em_cesql_error_t
em_cesql_eval_attr(em_cesql_ctx_t *c, const em_cesql_node_t *n,
    em_cesql_value_t *out)
{
    const em_attr_t  *a;
    size_t            i;

    if (c->ev == NULL) {
        return em_cesql_fail(n, EM_CESQL_ENOTCONST, out);
    }

    a = em_event_attr(c->ev, n->name);

    if (n->op == EM_CESQL_OP_EXISTS) {
        em_cesql_zero(EM_CESQL_BOOLEAN, out);
        out->b = a != NULL;

        /* the input event is assumed valid (3.4.4) */
        for (i = 0; !out->b && i < 4; i++) {
            out->b = strcmp(n->name, em_cesql_required[i]) == 0;
        }

        return EM_CESQL_OK;
    }

    if (a == NULL) {
        return em_cesql_fail(n, EM_CESQL_EMISSING_ATTRIBUTE, out);
    }

    em_cesql_attr_value(a, out);
    return EM_CESQL_OK;
}


/* the operand, evaluated and cast to type */
static em_cesql_error_t
em_cesql_operand(em_cesql_ctx_t *c, const em_cesql_node_t *n, int type,
    em_cesql_value_t *out)
{
    em_cesql_error_t  rc;

    rc = em_cesql_eval_node(c, n, out);
    if (rc != EM_CESQL_OK) {
        return rc;
    }

    return em_cesql_cast(c, out, type, out);
}


static em_cesql_error_t
em_cesql_eval_logic(em_cesql_ctx_t *c, const em_cesql_node_t *n,
    em_cesql_value_t *out)
{
    em_cesql_value_t  v;
    em_cesql_error_t  rc;
    size_t            i;
    int               acc;

    acc = n->op == EM_CESQL_OP_AND;

    for (i = 0; i < n->nargs; i++) {
        rc = em_cesql_operand(c, n->args[i], EM_CESQL_BOOLEAN, &v);
        if (rc != EM_CESQL_OK) {
            return em_cesql_fail(n, rc, out);
        }

        if (n->op == EM_CESQL_OP_XOR) {
            acc = i ? acc ^ v.b : v.b;

        } else if (n->op == EM_CESQL_OP_AND ? !v.b : v.b) {
            acc = v.b;
            break;
        }
    }

    em_cesql_zero(EM_CESQL_BOOLEAN, out);
    out->b = acc;
    return EM_CESQL_OK;
}


static em_cesql_error_t
em_cesql_eval_compare(em_cesql_ctx_t *c, const em_cesql_node_t *n,
    em_cesql_value_t *out)
{
    em_cesql_value_t  a, b;
    em_cesql_error_t  rc;
    int               r;

    rc = em_cesql_eval_node(c, n->args[0], &a);
    if (rc == EM_CESQL_OK) {
        rc = em_cesql_eval_node(c, n->args[1], &b);
    }

    if (rc == EM_CESQL_OK) {
        if (n->op == EM_CESQL_OP_EQ || n->op == EM_CESQL_OP_NE) {
            /* ambiguous: the right operand's type picks the definition */
            rc = em_cesql_cast(c, &a, b.type, &a);

        } else {
            rc = em_cesql_cast(c, &a, EM_CESQL_INTEGER, &a);
            if (rc == EM_CESQL_OK) {
                rc = em_cesql_cast(c, &b, EM_CESQL_INTEGER, &b);
            }
        }
    }

    if (rc != EM_CESQL_OK) {
        return em_cesql_fail(n, rc, out);
    }

    switch (n->op) {
    case EM_CESQL_OP_EQ: r = em_cesql_equal(&a, &b); break;
    case EM_CESQL_OP_NE: r = !em_cesql_equal(&a, &b); break;
    case EM_CESQL_OP_LT: r = a.i < b.i; break;
    case EM_CESQL_OP_LE: r = a.i <= b.i; break;
    case EM_CESQL_OP_GT: r = a.i > b.i; break;
    default:             r = a.i >= b.i; break;
    }

    em_cesql_zero(EM_CESQL_BOOLEAN, out);
    out->b = r;
    return EM_CESQL_OK;
}


/*
 * The spec leaves overflow of + - * unsaid; a wrapped result would be a
 * silent lie, so it is a MathError with the zero value, like a division
 * by zero.  INT32_MIN / -1 overflows the same way; INT32_MIN % -1 is 0.
 */
static em_cesql_error_t
em_cesql_eval_math(em_cesql_ctx_t *c, const em_cesql_node_t *n,
    em_cesql_value_t *out)
{
    em_cesql_value_t  a, b;
    em_cesql_error_t  rc;
    int64_t           r;

    rc = em_cesql_eval_node(c, n->args[0], &a);
    if (rc == EM_CESQL_OK) {
        rc = em_cesql_eval_node(c, n->args[1], &b);
    }

    if (rc == EM_CESQL_OK) {
        rc = em_cesql_cast(c, &a, EM_CESQL_INTEGER, &a);
    }

    if (rc == EM_CESQL_OK) {
        rc = em_cesql_cast(c, &b, EM_CESQL_INTEGER, &b);
    }

    if (rc != EM_CESQL_OK) {
        return em_cesql_fail(n, rc, out);
    }

    switch (n->op) {

    case EM_CESQL_OP_ADD:
        r = (int64_t) a.i + b.i;
        break;

    case EM_CESQL_OP_SUB:
        r = (int64_t) a.i - b.i;
        break;

    case EM_CESQL_OP_MUL:
        r = (int64_t) a.i * b.i;
        break;

    case EM_CESQL_OP_DIV:
        if (b.i == 0) {
            return em_cesql_fail(n, EM_CESQL_EMATH, out);
        }

        /* C truncates toward zero, as the spec wants */
        r = (int64_t) a.i / b.i;
        break;

    default:
        if (b.i == 0) {
            return em_cesql_fail(n, EM_CESQL_EMATH, out);
        }

        /* C gives the remainder the sign of the dividend, as the spec */
        r = (int64_t) a.i % b.i;
        break;
    }

    if (r < INT32_MIN || r > INT32_MAX) {
        return em_cesql_fail(n, EM_CESQL_EMATH, out);
    }

    em_cesql_zero(EM_CESQL_INTEGER, out);
    out->i = (int32_t) r;
    return EM_CESQL_OK;
}


static em_cesql_error_t
em_cesql_eval_unary(em_cesql_ctx_t *c, const em_cesql_node_t *n,
    em_cesql_value_t *out)
{
    em_cesql_value_t  v;
    em_cesql_error_t  rc;

    rc = em_cesql_operand(c, n->args[0], n->type, &v);
    if (rc != EM_CESQL_OK) {
        return em_cesql_fail(n, rc, out);
    }

    em_cesql_zero(n->type, out);

    if (n->op == EM_CESQL_OP_NOT) {
        out->b = !v.b;
        return EM_CESQL_OK;
    }

    /* -(-2147483648) has no int32 value: an overflow, as in + - * */
    if (v.i == INT32_MIN) {
        return EM_CESQL_EMATH;
    }

    out->i = -v.i;
    return EM_CESQL_OK;
}


static em_cesql_error_t
em_cesql_eval_like(em_cesql_ctx_t *c, const em_cesql_node_t *n,
    em_cesql_value_t *out)
{
    em_cesql_value_t  v;
    em_cesql_error_t  rc;
    int               m;

    rc = em_cesql_operand(c, n->args[0], EM_CESQL_STRING, &v);
    if (rc != EM_CESQL_OK) {
        return em_cesql_fail(n, rc, out);
    }

    m = em_cesql_like_match(n->like, v.s, v.len);

    em_cesql_zero(EM_CESQL_BOOLEAN, out);
    out->b = n->negate ? !m : m;
    return EM_CESQL_OK;
}


static em_cesql_error_t
em_cesql_eval_in(em_cesql_ctx_t *c, const em_cesql_node_t *n,
    em_cesql_value_t *out)
{
    em_cesql_value_t  x, v;
    em_cesql_error_t  rc;
    size_t            i;
    int               m;

    rc = em_cesql_eval_node(c, n->args[0], &x);
    if (rc != EM_CESQL_OK) {
        return em_cesql_fail(n, rc, out);
    }

    m = 0;

    for (i = 1; i < n->nargs && !m; i++) {
        rc = em_cesql_operand(c, n->args[i], x.type, &v);
        if (rc != EM_CESQL_OK) {
            return em_cesql_fail(n, rc, out);
        }

        m = em_cesql_equal(&x, &v);
    }

    em_cesql_zero(EM_CESQL_BOOLEAN, out);
    out->b = n->negate ? !m : m;
    return EM_CESQL_OK;
}


static em_cesql_error_t
em_cesql_eval_call(em_cesql_ctx_t *c, const em_cesql_node_t *n,
    em_cesql_value_t *out)
{
    const em_cesql_func_t  *f;
    em_cesql_value_t       *args;
    em_cesql_error_t        rc;
    size_t                  i;

    f = n->func;
    args = NULL;

    if (n->nargs) {
        args = em_cesql_take(c, n->nargs * sizeof(em_cesql_value_t));
        if (args == NULL) {
            return em_cesql_fail(n, EM_CESQL_EAGAIN, out);
        }
    }

    for (i = 0; i < n->nargs; i++) {
        rc = em_cesql_operand(c, n->args[i],
                              i < f->nfixed ? f->params[i] : f->vtype,
                              &args[i]);
        if (rc != EM_CESQL_OK) {
            return em_cesql_fail(n, rc, out);
        }
    }

    return f->fn(c, args, n->nargs, out);
}


em_cesql_error_t
em_cesql_eval_node(em_cesql_ctx_t *c, const em_cesql_node_t *n,
    em_cesql_value_t *out)
{
    switch (n->op) {

    case EM_CESQL_OP_LITERAL:
        *out = n->value;
        return EM_CESQL_OK;

    case EM_CESQL_OP_ATTR:
    case EM_CESQL_OP_EXISTS:
        return em_cesql_eval_attr(c, n, out);

    case EM_CESQL_OP_NOT:
    case EM_CESQL_OP_NEG:
        return em_cesql_eval_unary(c, n, out);

    case EM_CESQL_OP_AND:
    case EM_CESQL_OP_OR:
    case EM_CESQL_OP_XOR:
        return em_cesql_eval_logic(c, n, out);

    case EM_CESQL_OP_EQ:
    case EM_CESQL_OP_NE:
    case EM_CESQL_OP_LT:
    case EM_CESQL_OP_LE:
    case EM_CESQL_OP_GT:
    case EM_CESQL_OP_GE:
        return em_cesql_eval_compare(c, n, out);

    case EM_CESQL_OP_ADD:
    case EM_CESQL_OP_SUB:
    case EM_CESQL_OP_MUL:
    case EM_CESQL_OP_DIV:
    case EM_CESQL_OP_MOD:
        return em_cesql_eval_math(c, n, out);

    case EM_CESQL_OP_LIKE:
        return em_cesql_eval_like(c, n, out);

    case EM_CESQL_OP_IN:
        return em_cesql_eval_in(c, n, out);

    default:
        return em_cesql_eval_call(c, n, out);
    }
}
