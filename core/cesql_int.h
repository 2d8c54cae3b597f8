/*
 * CESQL internals shared by the lexer, parser, folder, evaluator and the
 * function table.  Nothing here is visible outside core/.
 */

#ifndef EM_CORE_CESQL_INT_H
#define EM_CORE_CESQL_INT_H

#include <eventmesh/cesql.h>

#include "utf8.h"

#include <stddef.h>
#include <stdint.h>


#define EM_CESQL_DEFAULT_MAX_LENGTH  4096
#define EM_CESQL_DEFAULT_MAX_DEPTH   64

/*
 * Whatever max_depth says, the parser, the folder and the evaluator
 * recurse once per level of the tree; this keeps that far from the end of
 * any thread's stack.
 */
#define EM_CESQL_MAX_DEPTH_CAP       256

/* a node's static type: the three of the spec, or "read from the event" */
#define EM_CESQL_ANY                 3

/*
 * Internal outcomes that travel the evaluator's error path but never
 * reach a caller: the scratch was too small (em_cesql_eval grows it and
 * evaluates again, so that no pointer into it moves during an
 * evaluation), and an attribute was read while folding constants.
 */
#define EM_CESQL_EAGAIN              ((em_cesql_error_t) 100)
#define EM_CESQL_ENOTCONST           ((em_cesql_error_t) 101)


/* --- compile-time memory: one arena per expression ---------------------- */

typedef struct em_cesql_chunk_s  em_cesql_chunk_t;

typedef struct {
    em_cesql_chunk_t   *head;
} em_cesql_arena_t;

/* zeroed and suitably aligned; NULL when out of memory */
void *em_cesql_alloc(em_cesql_arena_t *a, size_t size);
void em_cesql_arena_free(em_cesql_arena_t *a);


/* --- the tree ----------------------------------------------------------- */

typedef enum {
    EM_CESQL_OP_LITERAL = 0,
    EM_CESQL_OP_ATTR,
    EM_CESQL_OP_EXISTS,
    EM_CESQL_OP_NOT,
    EM_CESQL_OP_NEG,
    EM_CESQL_OP_AND,            /* n-ary: a chain of one operator */
    EM_CESQL_OP_OR,
    EM_CESQL_OP_XOR,
    EM_CESQL_OP_EQ,
    EM_CESQL_OP_NE,
    EM_CESQL_OP_LT,
    EM_CESQL_OP_LE,
    EM_CESQL_OP_GT,
    EM_CESQL_OP_GE,
    EM_CESQL_OP_ADD,
    EM_CESQL_OP_SUB,
    EM_CESQL_OP_MUL,
    EM_CESQL_OP_DIV,
    EM_CESQL_OP_MOD,
    EM_CESQL_OP_LIKE,           /* args[0] LIKE like */
    EM_CESQL_OP_IN,             /* args[0] IN (args[1] ...) */
    EM_CESQL_OP_CALL
} em_cesql_op_t;

typedef struct em_cesql_node_s  em_cesql_node_t;
typedef struct em_cesql_func_s  em_cesql_func_t;
typedef struct em_cesql_like_s  em_cesql_like_t;

struct em_cesql_node_s {
    em_cesql_op_t            op;
    int                      type;      /* em_cesql_type_t or EM_CESQL_ANY */
    unsigned                 negate:1;  /* NOT LIKE, NOT IN */
    unsigned                 depth;     /* 1 for a leaf */
    size_t                   column;    /* where its operator or name is */

    em_cesql_node_t        **args;
    size_t                   nargs;
    size_t                   cargs;

    em_cesql_value_t         value;     /* LITERAL; LIKE: the pattern */
    const char              *name;      /* ATTR, EXISTS: lower case, NUL */
    const em_cesql_func_t   *func;      /* CALL */
    const em_cesql_like_t   *like;      /* LIKE */
};

struct em_cesql_s {
    em_cesql_arena_t         arena;
    em_cesql_node_t         *root;
    const char              *text;
};


/* --- lexer -------------------------------------------------------------- */

typedef enum {
    EM_CESQL_T_EOF = 0,
    EM_CESQL_T_LPAREN,
    EM_CESQL_T_RPAREN,
    EM_CESQL_T_COMMA,
    EM_CESQL_T_INT,             /* digits only; the sign is the parser's */
    EM_CESQL_T_STRING,
    EM_CESQL_T_WORD,            /* attribute or function name */
    EM_CESQL_T_STAR,
    EM_CESQL_T_SLASH,
    EM_CESQL_T_PERCENT,
    EM_CESQL_T_PLUS,
    EM_CESQL_T_MINUS,
    EM_CESQL_T_EQ,
    EM_CESQL_T_NE,              /* != and <> */
    EM_CESQL_T_LT,
    EM_CESQL_T_LE,
    EM_CESQL_T_GT,
    EM_CESQL_T_GE,
    EM_CESQL_T_NOT,
    EM_CESQL_T_AND,
    EM_CESQL_T_OR,
    EM_CESQL_T_XOR,
    EM_CESQL_T_LIKE,
    EM_CESQL_T_EXISTS,
    EM_CESQL_T_IN,
    EM_CESQL_T_TRUE,
    EM_CESQL_T_FALSE
} em_cesql_tok_type_t;

typedef struct {
    em_cesql_tok_type_t      type;
    size_t                   start;     /* byte offset in the expression */
    size_t                   len;
    uint64_t                 ival;      /* T_INT, saturated above 2^32 */
} em_cesql_tok_t;

typedef struct {
    const char                 *src;
    size_t                      len;
    size_t                      pos;
    em_cesql_compile_error_t   *err;
} em_cesql_lexer_t;

/* 0, or -1 with lx->err filled */
int em_cesql_lex(em_cesql_lexer_t *lx, em_cesql_tok_t *t);

/*
 * The value of a T_STRING token written to dst (at most t->len - 2
 * bytes): the quotes removed and "\'" or "\"" (the delimiter) unescaped.
 * Any other backslash stays, so that LIKE sees its own escapes.
 */
size_t em_cesql_unquote(const char *src, const em_cesql_tok_t *t, char *dst);

/* "')' at column 7" style description of a token, for messages */
void em_cesql_tok_describe(const em_cesql_lexer_t *lx,
    const em_cesql_tok_t *t, char *buf, size_t size);

void em_cesql_set_error(em_cesql_compile_error_t *err, em_cesql_error_t kind,
    size_t column, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));


/* --- parser, folder, canonical text ------------------------------------- */

/* NULL with err filled; err->kind stays OK when out of memory */
em_cesql_node_t *em_cesql_parse(const char *expr, size_t len,
    unsigned max_depth, em_cesql_arena_t *arena,
    em_cesql_compile_error_t *err);

/* replaces constant subtrees by literals; -1 when out of memory */
int em_cesql_fold(em_cesql_node_t *n, em_cesql_arena_t *arena);

/* NULL when out of memory */
const char *em_cesql_print(const em_cesql_node_t *n, em_cesql_arena_t *a);

size_t em_cesql_node_count(const em_cesql_node_t *n);


/* --- evaluation --------------------------------------------------------- */

typedef struct {
    const em_event_t   *ev;     /* NULL while folding */
    char               *base;   /* the scratch of this evaluation */
    size_t              cap;
    size_t              used;
    size_t              need;   /* set when a reservation did not fit */
} em_cesql_ctx_t;

em_cesql_error_t em_cesql_eval_node(em_cesql_ctx_t *c,
    const em_cesql_node_t *n, em_cesql_value_t *out);

/*
 * size bytes of the scratch, aligned for em_cesql_value_t; NULL (with
 * c->need set) when the scratch is too small: return EM_CESQL_EAGAIN.
 */
void *em_cesql_take(em_cesql_ctx_t *c, size_t size);

void em_cesql_zero(int type, em_cesql_value_t *v);

/*
 * Casts per spec section 3.7: EM_CESQL_OK, EM_CESQL_ECAST with the zero
 * value of to, or EM_CESQL_EAGAIN.  out may be in.
 */
em_cesql_error_t em_cesql_cast(em_cesql_ctx_t *c, const em_cesql_value_t *in,
    int to, em_cesql_value_t *out);

/* String -> Integer: 0 when s is a base 10 int32 with an optional sign */
int em_cesql_parse_int(const char *s, size_t len, int32_t *v);

/* the CESQL value of an event attribute (section 3.2 and event types) */
void em_cesql_attr_value(const em_attr_t *a, em_cesql_value_t *out);


/* --- functions ---------------------------------------------------------- */

typedef em_cesql_error_t (*em_cesql_fn_pt)(em_cesql_ctx_t *c,
    const em_cesql_value_t *args, size_t nargs, em_cesql_value_t *out);

struct em_cesql_func_s {
    const char         *name;       /* upper case */
    unsigned            nfixed;
    unsigned            variadic;   /* more arguments of type vtype */
    int                 params[3];  /* EM_CESQL_ANY: taken as it is */
    int                 vtype;
    int                 ret;
    em_cesql_fn_pt      fn;
    const char         *doc;        /* one line, for README and tests */
};

/*
 * The function named name (any case) taking nargs arguments.  NULL when
 * there is none; *arities then lists what the name accepts ("" when the
 * name is unknown), for the error message.
 */
const em_cesql_func_t *em_cesql_func_find(const char *name, size_t len,
    size_t nargs, char *arities, size_t size);

/* the table, ending with a NULL name (for documentation tests) */
extern const em_cesql_func_t  em_cesql_funcs[];


/* --- LIKE --------------------------------------------------------------- */

/* compiled once; NULL when out of memory */
em_cesql_like_t *em_cesql_like_compile(const char *pat, size_t len,
    em_cesql_arena_t *arena);

int em_cesql_like_match(const em_cesql_like_t *l, const char *s, size_t len);


/* --- characters --------------------------------------------------------- */

uint32_t em_cesql_upper(uint32_t cp);
uint32_t em_cesql_lower(uint32_t cp);

/*
 * Length of the character at s[0] (len > 0): a valid UTF-8 sequence, or
 * one byte of an invalid one, so that every function counts the same way
 * even on bytes that are not UTF-8.
 */
static inline size_t
em_cesql_char_len(const char *s, size_t len)
{
    uint32_t  cp;
    size_t    n;

    if ((unsigned char) s[0] < 0x80) {
        return 1;
    }

    n = em_utf8_decode((const unsigned char *) s, len, &cp);
    return n ? n : 1;
}

#endif /* EM_CORE_CESQL_INT_H */
