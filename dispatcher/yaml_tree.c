/*
 * libyaml events folded into a tree of em_yaml_node_t.  The tree is built
 * with an explicit stack bounded by EM_YAML_MAX_DEPTH, so recursion over
 * a finished tree is bounded too.
 */

#include "yaml_tree.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>


typedef struct {
    const char       *name;
    const char       *data;
    size_t            len;
    em_diag_t        *diag;
    em_yaml_node_t   *stack[EM_YAML_MAX_DEPTH];
    size_t            depth;
    em_yaml_node_t   *root;
    int               failed;

    /* multi-document mode: the finished documents */
    int               multi;
    em_yaml_node_t  **docs;
    size_t            ndocs;
    size_t            cdocs;
} em_yaml_build_t;


static int em_yaml_attach(em_yaml_build_t *b, em_yaml_node_t *node);
static void em_yaml_check_keys(em_yaml_build_t *b, em_yaml_node_t *map);
static void em_yaml_syntax_error(em_yaml_build_t *b, yaml_parser_t *p);


void
em_yaml_free(em_yaml_node_t *node)
{
    size_t  i;

    if (node == NULL) {
        return;
    }

    for (i = 0; i < node->n; i++) {
        em_yaml_free(node->items[i]);
    }

    free(node->items);
    free(node->value);
    free(node);
}


int
em_yaml_is_null(const em_yaml_node_t *node)
{
    if (node == NULL) {
        return 1;
    }

    if (node->kind != EM_YAML_SCALAR || !node->plain) {
        return 0;
    }

    return node->len == 0
           || strcmp(node->value, "~") == 0
           || strcmp(node->value, "null") == 0
           || strcmp(node->value, "Null") == 0
           || strcmp(node->value, "NULL") == 0;
}


const char *
em_yaml_kind_name(const em_yaml_node_t *node)
{
    if (node == NULL || em_yaml_is_null(node)) {
        return "nothing";
    }

    switch (node->kind) {
    case EM_YAML_SEQUENCE:
        return "a list";
    case EM_YAML_MAPPING:
        return "a mapping";
    default:
        return "a single value";
    }
}


static void
em_yaml_oom(em_yaml_build_t *b, const yaml_mark_t *mark)
{
    em_diag_add(b->diag, b->name, (unsigned) mark->line + 1,
                "out of memory reading YAML");
    b->failed = 1;
}


static em_yaml_node_t *
em_yaml_node(em_yaml_kind_t kind, const yaml_mark_t *mark)
{
    em_yaml_node_t  *node;

    node = calloc(1, sizeof(*node));
    if (node == NULL) {
        return NULL;
    }

    node->kind = kind;
    node->line = (unsigned) mark->line + 1;
    node->column = (unsigned) mark->column + 1;
    return node;
}


static int
em_yaml_append(em_yaml_node_t *parent, em_yaml_node_t *child)
{
    em_yaml_node_t  **items;
    size_t            cap;

    if (parent->n == parent->cap) {
        cap = parent->cap ? parent->cap * 2 : 4;
        items = realloc(parent->items, cap * sizeof(*items));
        if (items == NULL) {
            return -1;
        }

        parent->items = items;
        parent->cap = cap;
    }

    parent->items[parent->n++] = child;
    return 0;
}


static int
em_yaml_attach(em_yaml_build_t *b, em_yaml_node_t *node)
{
    em_yaml_node_t  *parent;

    if (b->depth == 0) {
        b->root = node;
        return 0;
    }

    parent = b->stack[b->depth - 1];

    if (parent->kind == EM_YAML_MAPPING && parent->n % 2 == 0) {
        if (node->kind != EM_YAML_SCALAR) {
            em_diag_add(b->diag, b->name, node->line,
                        "a key must be a single value, not %s",
                        em_yaml_kind_name(node));
            b->failed = 1;

        } else if (node->plain && strcmp(node->value, "<<") == 0) {
            em_diag_add(b->diag, b->name, node->line,
                        "merge keys (<<) are not supported: write the "
                        "values out");
            b->failed = 1;
        }
    }

    if (em_yaml_append(parent, node) != 0) {
        em_diag_add(b->diag, b->name, node->line, "out of memory");
        b->failed = 1;
        return -1;
    }

    return 0;
}


typedef struct {
    const em_yaml_node_t  *key;
} em_yaml_key_ref_t;


static int
em_yaml_key_cmp(const void *a, const void *b)
{
    const em_yaml_node_t  *x = ((const em_yaml_key_ref_t *) a)->key;
    const em_yaml_node_t  *y = ((const em_yaml_key_ref_t *) b)->key;
    int                    c;

    if (x->len != y->len) {
        return x->len < y->len ? -1 : 1;
    }

    c = memcmp(x->value, y->value, x->len);
    if (c != 0) {
        return c;
    }

    if (x->line != y->line) {
        return x->line < y->line ? -1 : 1;
    }

    return x->column < y->column ? -1 : (x->column > y->column);
}


/*
 * Duplicate keys make a YAML mapping invalid and would silently hide one
 * of the values; sorting finds them in O(n log n) even in a huge mapping.
 */
static void
em_yaml_check_keys(em_yaml_build_t *b, em_yaml_node_t *map)
{
    em_yaml_key_ref_t  *refs;
    size_t              i, j, n;
    char                q[EM_DIAG_QUOTE_SIZE(64)];

    n = map->n / 2;
    if (n < 2) {
        return;
    }

    refs = malloc(n * sizeof(*refs));
    if (refs == NULL) {
        em_diag_add(b->diag, b->name, map->line, "out of memory");
        b->failed = 1;
        return;
    }

    for (i = 0; i < n; i++) {
        refs[i].key = map->items[2 * i];
    }

    qsort(refs, n, sizeof(*refs), em_yaml_key_cmp);

    for (i = 0; i < n; i = j) {
        for (j = i + 1; j < n; j++) {
            if (refs[j].key->len != refs[i].key->len
                || memcmp(refs[j].key->value, refs[i].key->value,
                          refs[i].key->len) != 0)
            {
                break;
            }

            em_diag_quote_name(q, sizeof(q), refs[j].key->value,
                               refs[j].key->len, 64);
            em_diag_add(b->diag, b->name, refs[j].key->line,
                        "duplicate key %s (first at line %u)", q,
                        refs[i].key->line);
            b->failed = 1;
        }
    }

    free(refs);
}


static unsigned
em_yaml_line_of_offset(const em_yaml_build_t *b, size_t offset)
{
    size_t    i;
    unsigned  line = 1;

    for (i = 0; i < offset && i < b->len; i++) {
        if (b->data[i] == '\n') {
            line++;
        }
    }

    return line;
}


static int
em_yaml_line_has_tab(const em_yaml_build_t *b, unsigned line)
{
    size_t    i;
    unsigned  cur = 1;

    for (i = 0; i < b->len; i++) {
        if (b->data[i] == '\n') {
            if (++cur > line) {
                break;
            }

        } else if (cur == line && b->data[i] == '\t') {
            return 1;
        }
    }

    return 0;
}


static void
em_yaml_syntax_error(em_yaml_build_t *b, yaml_parser_t *p)
{
    unsigned     line;
    const char  *problem, *hint;

    problem = p->problem ? p->problem : "unknown error";

    switch (p->error) {

    case YAML_MEMORY_ERROR:
        em_diag_add(b->diag, b->name, 0, "out of memory reading YAML");
        return;

    case YAML_READER_ERROR:
        line = em_yaml_line_of_offset(b, p->problem_offset);
        em_diag_add(b->diag, b->name, line,
                    "not a valid YAML text: %s (the file must be UTF-8)",
                    problem);
        return;

    default:
        break;
    }

    line = (unsigned) p->problem_mark.line + 1;

    hint = "";
    if (em_yaml_line_has_tab(b, line)) {
        hint = "; this line holds a tab: YAML indentation must use spaces";
    }

    if (p->context != NULL
        && p->context_mark.line != p->problem_mark.line)
    {
        em_diag_add(b->diag, b->name, line,
                    "YAML syntax error: %s (%s at line %u)%s", problem,
                    p->context, (unsigned) p->context_mark.line + 1, hint);

    } else if (p->context != NULL) {
        em_diag_add(b->diag, b->name, line, "YAML syntax error: %s %s%s",
                    p->context, problem, hint);

    } else {
        em_diag_add(b->diag, b->name, line, "YAML syntax error: %s%s",
                    problem, hint);
    }
}


void
em_yaml_free_docs(em_yaml_node_t **docs, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        em_yaml_free(docs[i]);
    }

    free(docs);
}


/* A finished document of a multi-document stream; empty ones are left out. */
static void
em_yaml_end_document(em_yaml_build_t *b, const yaml_mark_t *mark)
{
    em_yaml_node_t  **docs;
    size_t            cap;

    if (b->root == NULL) {
        return;
    }

    if (b->ndocs == b->cdocs) {
        cap = b->cdocs ? b->cdocs * 2 : 4;
        docs = realloc(b->docs, cap * sizeof(*docs));
        if (docs == NULL) {
            em_yaml_oom(b, mark);
            return;
        }

        b->docs = docs;
        b->cdocs = cap;
    }

    b->docs[b->ndocs++] = b->root;
    b->root = NULL;
}


static int
em_yaml_parse(em_yaml_build_t *b)
{
    yaml_parser_t     parser;
    yaml_event_t      ev;
    em_yaml_node_t   *node;
    unsigned          docs;
    int               done;
    const char       *name = b->name;
    em_diag_t        *diag = b->diag;
    char              q[EM_DIAG_QUOTE_SIZE(64)];

    if (!yaml_parser_initialize(&parser)) {
        em_diag_add(diag, name, 0, "out of memory reading YAML");
        return -1;
    }

    yaml_parser_set_input_string(&parser, (const unsigned char *) b->data,
                                 b->len);

    docs = 0;
    done = 0;

    while (!done && !b->failed) {
        if (!yaml_parser_parse(&parser, &ev)) {
            em_yaml_syntax_error(b, &parser);
            b->failed = 1;
            break;
        }

        switch (ev.type) {

        case YAML_STREAM_END_EVENT:
            done = 1;
            break;

        case YAML_DOCUMENT_START_EVENT:
            if (++docs > 1 && !b->multi) {
                em_diag_add(diag, name, (unsigned) ev.start_mark.line + 1,
                            "a second YAML document ('---') is not "
                            "supported: keep one document per file");
                b->failed = 1;
            }
            break;

        case YAML_DOCUMENT_END_EVENT:
            if (b->multi) {
                em_yaml_end_document(b, &ev.start_mark);
            }
            break;

        case YAML_ALIAS_EVENT:
            em_diag_quote_name(q, sizeof(q),
                               (const char *) ev.data.alias.anchor,
                               strlen((const char *) ev.data.alias.anchor),
                               64);
            em_diag_add(diag, name, (unsigned) ev.start_mark.line + 1,
                        "YAML aliases (*%s) are not supported: write the "
                        "value out", q);
            b->failed = 1;
            break;

        case YAML_SCALAR_EVENT:
            node = em_yaml_node(EM_YAML_SCALAR, &ev.start_mark);
            if (node != NULL) {
                node->value = malloc(ev.data.scalar.length + 1);
            }

            if (node == NULL || node->value == NULL) {
                free(node);
                em_yaml_oom(b, &ev.start_mark);
                break;
            }

            memcpy(node->value, ev.data.scalar.value, ev.data.scalar.length);
            node->value[ev.data.scalar.length] = '\0';
            node->len = ev.data.scalar.length;
            node->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE
                          && ev.data.scalar.tag == NULL;

            if (em_yaml_attach(b, node) != 0) {
                em_yaml_free(node);
            }
            break;

        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
            if (b->depth == EM_YAML_MAX_DEPTH) {
                em_diag_add(diag, name, (unsigned) ev.start_mark.line + 1,
                            "values nested deeper than %d levels",
                            EM_YAML_MAX_DEPTH);
                b->failed = 1;
                break;
            }

            node = em_yaml_node(ev.type == YAML_SEQUENCE_START_EVENT
                                ? EM_YAML_SEQUENCE : EM_YAML_MAPPING,
                                &ev.start_mark);
            if (node == NULL) {
                em_yaml_oom(b, &ev.start_mark);
                break;
            }

            if (em_yaml_attach(b, node) != 0) {
                em_yaml_free(node);
                break;
            }

            b->stack[b->depth++] = node;
            break;

        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            node = b->stack[--b->depth];
            if (node->kind == EM_YAML_MAPPING) {
                em_yaml_check_keys(b, node);
            }
            break;

        default:
            /* stream start, document end: nothing to build */
            break;
        }

        yaml_event_delete(&ev);
    }

    yaml_parser_delete(&parser);

    if (b->failed) {
        em_yaml_free(b->root);
        em_yaml_free_docs(b->docs, b->ndocs);
        b->root = NULL;
        b->docs = NULL;
        b->ndocs = 0;
        return -1;
    }

    return 0;
}


int
em_yaml_load_string(const char *name, const char *data, size_t len,
    em_yaml_node_t **root, em_diag_t *diag)
{
    em_yaml_build_t  b;

    memset(&b, 0, sizeof(b));
    b.name = name;
    b.data = data;
    b.len = len;
    b.diag = diag;

    *root = NULL;

    if (em_yaml_parse(&b) != 0) {
        return -1;
    }

    *root = b.root;
    return 0;
}


int
em_yaml_load_docs(const char *name, const char *data, size_t len,
    em_yaml_node_t ***docs, size_t *ndocs, em_diag_t *diag)
{
    em_yaml_build_t  b;

    memset(&b, 0, sizeof(b));
    b.name = name;
    b.data = data;
    b.len = len;
    b.diag = diag;
    b.multi = 1;

    *docs = NULL;
    *ndocs = 0;

    if (em_yaml_parse(&b) != 0) {
        return -1;
    }

    *docs = b.docs;
    *ndocs = b.ndocs;
    return 0;
}


static int
em_yaml_read_file(const char *path, char **out, size_t *out_len,
    em_diag_t *diag)
{
    int          fd;
    struct stat  st;
    char        *data;
    size_t       len;
    ssize_t      r;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        em_diag_add(diag, path, 0, "cannot open: %s", strerror(errno));
        return -1;
    }

    if (fstat(fd, &st) == -1) {
        em_diag_add(diag, path, 0, "cannot stat: %s", strerror(errno));
        close(fd);
        return -1;
    }

    if (!S_ISREG(st.st_mode)) {
        em_diag_add(diag, path, 0, "not a regular file");
        close(fd);
        return -1;
    }

    if (st.st_size > EM_YAML_MAX_FILE) {
        em_diag_add(diag, path, 0, "file is larger than %d bytes",
                    EM_YAML_MAX_FILE);
        close(fd);
        return -1;
    }

    /* the size may change under us: read at most one byte past the cap */
    data = malloc(EM_YAML_MAX_FILE + 1);
    if (data == NULL) {
        em_diag_add(diag, path, 0, "out of memory");
        close(fd);
        return -1;
    }

    len = 0;

    for ( ;; ) {
        r = read(fd, data + len, EM_YAML_MAX_FILE + 1 - len);
        if (r == -1) {
            if (errno == EINTR) {
                continue;
            }

            em_diag_add(diag, path, 0, "cannot read: %s", strerror(errno));
            free(data);
            close(fd);
            return -1;
        }

        if (r == 0) {
            break;
        }

        len += (size_t) r;
        if (len > EM_YAML_MAX_FILE) {
            em_diag_add(diag, path, 0, "file is larger than %d bytes",
                        EM_YAML_MAX_FILE);
            free(data);
            close(fd);
            return -1;
        }
    }

    close(fd);

    *out = data;
    *out_len = len;
    return 0;
}


int
em_yaml_load_file(const char *path, em_yaml_node_t **root, em_diag_t *diag)
{
    char    *data;
    size_t   len;
    int      rc;

    *root = NULL;

    if (em_yaml_read_file(path, &data, &len, diag) != 0) {
        return -1;
    }

    rc = em_yaml_load_string(path, data, len, root, diag);
    free(data);
    return rc;
}


int
em_yaml_load_file_docs(const char *path, em_yaml_node_t ***docs,
    size_t *ndocs, em_diag_t *diag)
{
    char    *data;
    size_t   len;
    int      rc;

    *docs = NULL;
    *ndocs = 0;

    if (em_yaml_read_file(path, &data, &len, diag) != 0) {
        return -1;
    }

    rc = em_yaml_load_docs(path, data, len, docs, ndocs, diag);
    free(data);
    return rc;
}
