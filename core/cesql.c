/*
 * CESQL public entry points: compile (limits, parse, canonical text, fold)
 * and evaluate (with a scratch that only ever grows, so that the steady
 * state allocates nothing).
 */

#include "cesql_int.h"

#include <stdlib.h>
#include <string.h>


/* --- the arena ---------------------------------------------------------- */

#define EM_CESQL_CHUNK  4096

struct em_cesql_chunk_s {
    em_cesql_chunk_t   *next;
    size_t              size;
    size_t              used;
    max_align_t         data[];
};


void *
em_cesql_alloc(em_cesql_arena_t *a, size_t size)
{
    em_cesql_chunk_t  *c;
    size_t             align, n;
    void              *p;

    align = _Alignof(max_align_t);
    size = (size + align - 1) & ~(align - 1);
    c = a->head;

    if (c == NULL || c->size - c->used < size) {
        n = size > EM_CESQL_CHUNK ? size : EM_CESQL_CHUNK;
        c = malloc(sizeof(em_cesql_chunk_t) + n);
        if (c == NULL) {
            return NULL;
        }

        c->size = n;
        c->used = 0;
        c->next = a->head;
        a->head = c;
    }

    p = (char *) c->data + c->used;
    c->used += size;
    memset(p, 0, size);
    return p;
}


void
em_cesql_arena_free(em_cesql_arena_t *a)
{
    em_cesql_chunk_t  *c, *next;

    for (c = a->head; c != NULL; c = next) {
        next = c->next;
        free(c);
    }

    a->head = NULL;
}


/* --- compile ------------------------------------------------------------ */

em_cesql_t *
em_cesql_compile(const char *expr, size_t len,
    const em_cesql_limits_t *limits, em_cesql_compile_error_t *err)
{
    em_cesql_t  *e;
    size_t       max_length;
    unsigned     max_depth;

    memset(err, 0, sizeof(*err));

    max_length = EM_CESQL_DEFAULT_MAX_LENGTH;
    max_depth = EM_CESQL_DEFAULT_MAX_DEPTH;

    if (limits != NULL && limits->max_length) {
        max_length = limits->max_length;
    }

    if (limits != NULL && limits->max_depth) {
        max_depth = limits->max_depth;
    }

    if (max_depth > EM_CESQL_MAX_DEPTH_CAP) {
        max_depth = EM_CESQL_MAX_DEPTH_CAP;
    }

    if (len > max_length) {
        em_cesql_set_error(err, EM_CESQL_EGENERIC, max_length + 1,
                           "expression is %zu bytes long, more than "
                           "max_length %zu", len, max_length);
        return NULL;
    }

    if (expr == NULL) {
        expr = "";
        len = 0;
    }

    e = calloc(1, sizeof(em_cesql_t));
    if (e == NULL) {
        strcpy(err->message, "out of memory");
        return NULL;
    }

    e->root = em_cesql_parse(expr, len, max_depth, &e->arena, err);

    if (e->root != NULL) {
        e->text = em_cesql_print(e->root, &e->arena);
    }

    if (e->root == NULL || e->text == NULL
        || em_cesql_fold(e->root, &e->arena) != 0)
    {
        if (err->kind == EM_CESQL_OK) {
            /* out of memory: say so, but leave kind OK as promised */
            err->column = 0;
            strcpy(err->message, "out of memory");
        }

        em_cesql_free(e);
        return NULL;
    }

    return e;
}


void
em_cesql_free(em_cesql_t *e)
{
    if (e == NULL) {
        return;
    }

    em_cesql_arena_free(&e->arena);
    free(e);
}


const char *
em_cesql_text(const em_cesql_t *e)
{
    return e->text;
}


int
em_cesql_constant(const em_cesql_t *e, em_cesql_value_t *value)
{
    if (e->root->op != EM_CESQL_OP_LITERAL) {
        return 0;
    }

    if (value != NULL) {
        *value = e->root->value;
    }

    return 1;
}


size_t
em_cesql_node_count(const em_cesql_node_t *n)
{
    size_t  i, count;

    count = 1;

    for (i = 0; i < n->nargs; i++) {
        count += em_cesql_node_count(n->args[i]);
    }

    return count;
}


/* --- evaluate ----------------------------------------------------------- */

static int
em_cesql_scratch_grow(em_cesql_scratch_t *s, size_t need)
{
    size_t  cap;
    char   *p;

    cap = s->cap ? s->cap * 2 : 256;
    if (cap < need) {
        cap = need;
    }

    /* nothing in it is worth copying: the evaluation starts over */
    p = malloc(cap);
    if (p == NULL) {
        return -1;
    }

    free(s->data);
    s->data = p;
    s->cap = cap;
    return 0;
}


em_cesql_error_t
em_cesql_eval(const em_cesql_t *e, const em_event_t *ev,
    em_cesql_scratch_t *scratch, em_cesql_value_t *out)
{
    em_cesql_ctx_t    c;
    em_cesql_error_t  rc;

    for ( ;; ) {
        c.ev = ev;
        c.base = scratch->data;
        c.cap = scratch->cap;
        c.used = 0;
        c.need = 0;

        rc = em_cesql_eval_node(&c, e->root, out);
        scratch->len = c.used;

        if (rc != EM_CESQL_EAGAIN) {
            return rc;
        }

        if (em_cesql_scratch_grow(scratch, c.need) != 0) {
            em_cesql_zero(e->root->type, out);
            return EM_CESQL_EGENERIC;
        }
    }
}


int
em_cesql_match(const em_cesql_t *e, const em_event_t *ev,
    em_cesql_scratch_t *scratch)
{
    em_cesql_value_t  v;

    return em_cesql_eval(e, ev, scratch, &v) == EM_CESQL_OK
           && v.type == EM_CESQL_BOOLEAN && v.b;
}


void
em_cesql_scratch_free(em_cesql_scratch_t *scratch)
{
    free(scratch->data);
    scratch->data = NULL;
    scratch->len = 0;
    scratch->cap = 0;
}


const char *
em_cesql_error_name(em_cesql_error_t kind)
{
    switch (kind) {
    case EM_CESQL_OK:                   return "";
    case EM_CESQL_EPARSE:               return "parse";
    case EM_CESQL_EMATH:                return "math";
    case EM_CESQL_ECAST:                return "cast";
    case EM_CESQL_EMISSING_FUNCTION:    return "missingFunction";
    case EM_CESQL_EFUNCTION_EVALUATION: return "functionEvaluation";
    case EM_CESQL_EMISSING_ATTRIBUTE:   return "missingAttribute";
    default:                            return "generic";
    }
}
