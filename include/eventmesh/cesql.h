/*
 * CloudEvents SQL (CESQL) v1.0.0: expressions compiled once when a
 * Trigger is loaded, evaluated for every event a consumer reads.
 *
 * Compilation parses into a typed tree, folds constants, resolves every
 * function by name and arity and compiles every LIKE pattern; evaluation
 * then only reads the tree and the event.  String results of functions
 * (CONCAT, UPPER, ...) are written into a caller-owned scratch area that
 * grows to the largest evaluation seen and is reused, so the steady state
 * allocates nothing.
 *
 * Errors follow the spec's fail-fast model: an evaluation error still
 * yields the value the spec defines for the failing operation (usually the
 * zero value of its type) together with the kind of the first error; a
 * filter treats any error, and any non-boolean result, as "no match".
 */

#ifndef EVENTMESH_CESQL_H
#define EVENTMESH_CESQL_H

#include <stddef.h>
#include <stdint.h>

#include <eventmesh/event.h>

typedef struct em_cesql_s  em_cesql_t;

typedef enum {
    EM_CESQL_BOOLEAN = 0,
    EM_CESQL_INTEGER,
    EM_CESQL_STRING
} em_cesql_type_t;

/* the TCK's error kinds, in its spelling order */
typedef enum {
    EM_CESQL_OK = 0,
    EM_CESQL_EPARSE,
    EM_CESQL_EMATH,
    EM_CESQL_ECAST,
    EM_CESQL_EMISSING_FUNCTION,
    EM_CESQL_EFUNCTION_EVALUATION,
    EM_CESQL_EMISSING_ATTRIBUTE,
    EM_CESQL_EGENERIC
} em_cesql_error_t;

typedef struct {
    em_cesql_type_t     type;
    int32_t             i;      /* EM_CESQL_INTEGER */
    int                 b;      /* EM_CESQL_BOOLEAN: 0 or 1 */
    const char         *s;      /* EM_CESQL_STRING: not NUL-terminated; */
    size_t              len;    /* valid until the next evaluation with
                                   the same scratch or em_cesql_free() */
} em_cesql_value_t;

/* reused between evaluations; zero-initialise, free with
   em_cesql_scratch_free() */
typedef struct {
    char               *data;
    size_t              len;
    size_t              cap;
} em_cesql_scratch_t;

/* limits checked at compile time; zero means the default */
typedef struct {
    size_t              max_length;     /* expression bytes, default 4096 */
    unsigned            max_depth;      /* nesting of the tree, default 64,
                                           at most 256 (the evaluator
                                           recurses once per level) */
} em_cesql_limits_t;

typedef struct {
    em_cesql_error_t    kind;           /* EM_CESQL_EPARSE or
                                           EM_CESQL_EMISSING_FUNCTION, or
                                           EM_CESQL_EGENERIC for limits */
    size_t              column;         /* 1-based, in bytes */
    char                message[160];   /* "unexpected ')' at column 7" */
} em_cesql_compile_error_t;

/*
 * Compiles expr (len bytes, need not be NUL-terminated).  NULL on error
 * with *err filled (the message names the column); also NULL with
 * err->kind == EM_CESQL_OK when out of memory.  limits may be NULL.
 */
em_cesql_t *em_cesql_compile(const char *expr, size_t len,
    const em_cesql_limits_t *limits, em_cesql_compile_error_t *err);

/*
 * Evaluates e against ev.  Returns the first error's kind (EM_CESQL_OK
 * when none); *out always holds the spec's result value.  e is not
 * modified, so one compiled expression may be evaluated by several
 * threads, each with its own scratch.
 */
em_cesql_error_t em_cesql_eval(const em_cesql_t *e, const em_event_t *ev,
    em_cesql_scratch_t *scratch, em_cesql_value_t *out);

/* 1 when the result is the boolean true with no error, 0 otherwise */
int em_cesql_match(const em_cesql_t *e, const em_event_t *ev,
    em_cesql_scratch_t *scratch);

/* the expression's canonical text (for digests and /triggers) */
const char *em_cesql_text(const em_cesql_t *e);

/*
 * 1 when the whole expression folded to a constant without error (with
 * *value set when value is not NULL): a filter that never or always
 * matches, worth a warning when a Trigger is loaded.
 */
int em_cesql_constant(const em_cesql_t *e, em_cesql_value_t *value);

/* the TCK's name for an error kind: "parse", "math", ..., "" for OK */
const char *em_cesql_error_name(em_cesql_error_t kind);

void em_cesql_free(em_cesql_t *e);
void em_cesql_scratch_free(em_cesql_scratch_t *scratch);

#endif /* EVENTMESH_CESQL_H */
