/*
 * CESQL constant folding: a subtree that evaluates without reading the
 * event and without an error is replaced by its value, so that
 * "LENGTH('abc') + 1 = x" costs one comparison per event.  A constant
 * subtree that fails (1 / 0) is left alone: evaluating it again yields the
 * same error every time, which is what the spec asks for.  AND and OR
 * fold as soon as a constant operand decides them ("FALSE AND x").
 */

#include "cesql_int.h"

#include <stdlib.h>
#include <string.h>


/* 1 when n evaluated to a constant (in *v), 0 when not, -1 on OOM */
static int
em_cesql_try_const(const em_cesql_node_t *n, em_cesql_scratch_t *s,
    em_cesql_value_t *v)
{
    em_cesql_ctx_t    c;
    em_cesql_error_t  rc;
    size_t            cap;
    char             *p;

    for ( ;; ) {
        memset(&c, 0, sizeof(c));
        c.base = s->data;
        c.cap = s->cap;

        rc = em_cesql_eval_node(&c, n, v);
        if (rc != EM_CESQL_EAGAIN) {
            return rc == EM_CESQL_OK;
        }

        cap = s->cap ? s->cap * 2 : 256;
        if (cap < c.need) {
            cap = c.need;
        }

        p = realloc(s->data, cap);
        if (p == NULL) {
            return -1;
        }

        s->data = p;
        s->cap = cap;
    }
}


static int
em_cesql_fold_node(em_cesql_node_t *n, em_cesql_arena_t *arena,
    em_cesql_scratch_t *s)
{
    em_cesql_value_t  v;
    size_t            i;
    char             *p;
    int               rc;

    for (i = 0; i < n->nargs; i++) {
        if (em_cesql_fold_node(n->args[i], arena, s) != 0) {
            return -1;
        }
    }

    if (n->op == EM_CESQL_OP_LITERAL || n->op == EM_CESQL_OP_ATTR
        || n->op == EM_CESQL_OP_EXISTS)
    {
        return 0;
    }

    rc = em_cesql_try_const(n, s, &v);
    if (rc <= 0) {
        return rc;
    }

    if (v.type == EM_CESQL_STRING && v.len) {
        /* the value may live in the scratch: the literal owns a copy */
        p = em_cesql_alloc(arena, v.len);
        if (p == NULL) {
            return -1;
        }
        memcpy(p, v.s, v.len);
        v.s = p;
    }

    n->op = EM_CESQL_OP_LITERAL;
    n->type = v.type;
    n->value = v;
    n->args = NULL;
    n->nargs = 0;
    n->cargs = 0;
    n->func = NULL;
    n->like = NULL;
    n->negate = 0;
    n->depth = 1;
    return 0;
}


int
em_cesql_fold(em_cesql_node_t *n, em_cesql_arena_t *arena)
{
    em_cesql_scratch_t  s;
    int                 rc;

    memset(&s, 0, sizeof(s));
    rc = em_cesql_fold_node(n, arena, &s);
    em_cesql_scratch_free(&s);
    return rc;
}
