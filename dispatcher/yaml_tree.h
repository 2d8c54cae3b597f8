/*
 * A YAML document read into a small tree that remembers the line of every
 * node, so that whoever walks it (the dispatcher.yaml loader, the Trigger
 * loader) can name the line of each problem it finds.
 *
 * Aliases and merge keys are refused: configuration files do not need
 * them and refusing them keeps every value's line exact.  A second
 * document ('---') is refused too, except by the _docs readers (Trigger
 * files hold several).
 */

#ifndef EM_DISPATCHER_YAML_TREE_H
#define EM_DISPATCHER_YAML_TREE_H

#include "diag.h"

#include <stddef.h>

typedef enum {
    EM_YAML_SCALAR,
    EM_YAML_SEQUENCE,
    EM_YAML_MAPPING
} em_yaml_kind_t;

typedef struct em_yaml_node_s  em_yaml_node_t;

struct em_yaml_node_s {
    em_yaml_kind_t    kind;
    unsigned          line;         /* 1-based */
    unsigned          column;       /* 1-based */

    /* scalar: bytes (may hold NUL from "\0" escapes), NUL-terminated */
    char             *value;
    size_t            len;
    unsigned          plain:1;      /* not quoted, not a block scalar */

    /*
     * sequence: n items; mapping: n/2 pairs stored key, value, key, ...
     * (keys are always scalars)
     */
    em_yaml_node_t  **items;
    size_t            n;
    size_t            cap;          /* allocated items, for the builder */
};

/* Nesting deeper than this is refused (a file, not a data dump). */
#define EM_YAML_MAX_DEPTH  64

/* Larger files are refused before parsing: configuration is small. */
#define EM_YAML_MAX_FILE   (1024 * 1024)

/*
 * Reads and parses path.  On success returns 0 and sets *root (NULL for an
 * empty document); on failure records the reason in diag under path and
 * returns -1.
 */
int em_yaml_load_file(const char *path, em_yaml_node_t **root,
    em_diag_t *diag);

/* Same, from memory; name is used in diagnostics. */
int em_yaml_load_string(const char *name, const char *data, size_t len,
    em_yaml_node_t **root, em_diag_t *diag);

void em_yaml_free(em_yaml_node_t *node);

/*
 * Every document of a '---' separated stream, in order; empty documents
 * are left out (*ndocs may be 0).  On failure nothing is returned and the
 * reason is in diag.
 */
int em_yaml_load_docs(const char *name, const char *data, size_t len,
    em_yaml_node_t ***docs, size_t *ndocs, em_diag_t *diag);

int em_yaml_load_file_docs(const char *path, em_yaml_node_t ***docs,
    size_t *ndocs, em_diag_t *diag);

void em_yaml_free_docs(em_yaml_node_t **docs, size_t n);

/* A plain scalar that YAML reads as null: "", "~", "null", "Null", "NULL". */
int em_yaml_is_null(const em_yaml_node_t *node);

/* "a mapping", "a list", "a value" - for "expected X, found Y" messages */
const char *em_yaml_kind_name(const em_yaml_node_t *node);

#endif /* EM_DISPATCHER_YAML_TREE_H */
