/*
 * The CloudEvents SQL v1.0.0 conformance kit (the YAML files of
 * t/cesql-tck, see its README): every case compiled and evaluated, its
 * value and its error kind compared.  One TAP line per case.
 *
 * The directory is argv[1], else $EM_CESQL_TCK, else t/cesql-tck (tests
 * run from the repository's root).
 *
 * One case is decided against the TCK: not_operator.yaml "Invalid int
 * cast" expects NOT 10 to be true with a cast error.  Spec section 3.7
 * makes Integer -> Boolean a cast every engine MUST support (0 is false,
 * anything else true), and NOT is not ambiguous, so rule 1.1 casts 10 to
 * true without error and NOT 10 is false -- the same cast that gives the
 * TCK's own BOOL(100) = true.  Even by the TCK's error model the value
 * would be the zero value false, never true.  That case is checked for
 * false without error.
 */

#include <eventmesh/cesql.h>
#include <eventmesh/event.h>

#include "tap.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>


#define TCK_FILES  18
#define TCK_CASES  275

typedef enum {
    TCK_NONE = 0,
    TCK_BOOL,
    TCK_INT,
    TCK_STRING
} tck_kind_t;

typedef struct {
    tck_kind_t    kind;
    int           b;
    long long     i;
    const char   *s;
    size_t        len;
} tck_value_t;


static int  cases;
static int  decided;


/* YAML 1.1 typing of a scalar, as the TCK's README asks */
static tck_value_t
tck_scalar(const yaml_node_t *n)
{
    tck_value_t   v;
    const char   *s, *tag;
    size_t        i, len;

    memset(&v, 0, sizeof(v));

    if (n == NULL || n->type != YAML_SCALAR_NODE) {
        return v;
    }

    s = (const char *) n->data.scalar.value;
    len = n->data.scalar.length;
    tag = (const char *) n->tag;

    v.kind = TCK_STRING;
    v.s = s;
    v.len = len;

    if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE
        || (tag != NULL && strcmp(tag, YAML_STR_TAG) != 0
            && strcmp(tag, YAML_DEFAULT_SCALAR_TAG) != 0))
    {
        return v;
    }

    if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0
        || strcmp(s, "TRUE") == 0)
    {
        v.kind = TCK_BOOL;
        v.b = 1;
        return v;
    }

    if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0
        || strcmp(s, "FALSE") == 0)
    {
        v.kind = TCK_BOOL;
        v.b = 0;
        return v;
    }

    i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
    if (i == len) {
        return v;
    }

    for ( /* void */ ; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return v;
        }
    }

    v.kind = TCK_INT;
    v.i = strtoll(s, NULL, 10);
    return v;
}


static yaml_node_t *
tck_get(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
    yaml_node_pair_t  *p;
    yaml_node_t       *k;

    if (map == NULL || map->type != YAML_MAPPING_NODE) {
        return NULL;
    }

    for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++)
    {
        k = yaml_document_get_node(doc, p->key);
        if (k != NULL && k->type == YAML_SCALAR_NODE
            && strcmp((const char *) k->data.scalar.value, key) == 0)
        {
            return yaml_document_get_node(doc, p->value);
        }
    }

    return NULL;
}


/* sets every pair of map on ev; booleans and integers keep their type */
static void
tck_set_attrs(yaml_document_t *doc, yaml_node_t *map, em_event_t *ev)
{
    yaml_node_pair_t  *p;
    yaml_node_t       *k;
    tck_value_t        v;
    const char        *name;
    char               num[32];
    em_type_t          type;
    int                known;

    if (map == NULL || map->type != YAML_MAPPING_NODE) {
        return;
    }

    for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++)
    {
        k = yaml_document_get_node(doc, p->key);
        v = tck_scalar(yaml_document_get_node(doc, p->value));
        name = (const char *) k->data.scalar.value;

        switch (v.kind) {

        case TCK_BOOL:
            v.s = v.b ? "true" : "false";
            v.len = strlen(v.s);
            type = EM_TYPE_BOOLEAN;
            break;

        case TCK_INT:
            snprintf(num, sizeof(num), "%lld", v.i);
            v.s = num;
            v.len = strlen(num);
            type = EM_TYPE_INTEGER;
            break;

        default:
            type = em_attr_known_type(name, &known);
            break;
        }

        if (v.kind == TCK_NONE
            || em_event_set(ev, name, v.s, v.len, type) != EM_OK)
        {
            abort();
        }
    }
}


static em_event_t *
tck_event(yaml_document_t *doc, yaml_node_t *test)
{
    em_event_t   *ev;
    yaml_node_t  *full;

    ev = em_event_new();
    if (ev == NULL) {
        abort();
    }

    full = tck_get(doc, test, "event");

    if (full != NULL) {
        tck_set_attrs(doc, full, ev);

    } else {
        /* "any valid event" */
        if (em_event_set(ev, "specversion", "1.0", 3, EM_TYPE_STRING)
            || em_event_set(ev, "id", "tck-1", 5, EM_TYPE_STRING)
            || em_event_set(ev, "source", "/tck", 4, EM_TYPE_URI_REF)
            || em_event_set(ev, "type", "io.cloudevents.tck", 18,
                            EM_TYPE_STRING))
        {
            abort();
        }
    }

    tck_set_attrs(doc, tck_get(doc, test, "eventOverrides"), ev);
    return ev;
}


static void
tck_describe(const tck_value_t *v, char *buf, size_t size)
{
    switch (v->kind) {
    case TCK_BOOL:
        snprintf(buf, size, "%s", v->b ? "true" : "false");
        break;
    case TCK_INT:
        snprintf(buf, size, "%lld", v->i);
        break;
    case TCK_STRING:
        snprintf(buf, size, "'%.*s'", (int) v->len, v->s);
        break;
    default:
        snprintf(buf, size, "(none)");
        break;
    }
}


static tck_value_t
tck_from_cesql(const em_cesql_value_t *r)
{
    tck_value_t  v;

    memset(&v, 0, sizeof(v));

    switch (r->type) {
    case EM_CESQL_BOOLEAN:
        v.kind = TCK_BOOL;
        v.b = r->b;
        break;
    case EM_CESQL_INTEGER:
        v.kind = TCK_INT;
        v.i = r->i;
        break;
    default:
        v.kind = TCK_STRING;
        v.s = r->s;
        v.len = r->len;
        break;
    }

    return v;
}


static int
tck_same(const tck_value_t *a, const tck_value_t *b)
{
    if (a->kind != b->kind) {
        return 0;
    }

    switch (a->kind) {
    case TCK_BOOL:
        return a->b == b->b;
    case TCK_INT:
        return a->i == b->i;
    case TCK_STRING:
        return a->len == b->len && memcmp(a->s, b->s, a->len) == 0;
    default:
        return 1;
    }
}


static void
tck_case(const char *file, yaml_document_t *doc, yaml_node_t *test,
    em_cesql_scratch_t *scratch)
{
    em_cesql_compile_error_t   cerr;
    em_cesql_value_t           r;
    em_cesql_error_t           got_err;
    em_cesql_t                *e;
    em_event_t                *ev;
    yaml_node_t               *expr, *name, *err;
    tck_value_t                want, got;
    const char                *want_err, *tname;
    char                       a[128], b[128];
    int                        against;

    cases++;

    name = tck_get(doc, test, "name");
    expr = tck_get(doc, test, "expression");
    err = tck_get(doc, test, "error");
    tname = name ? (const char *) name->data.scalar.value : "?";

    if (expr == NULL || expr->type != YAML_SCALAR_NODE) {
        ok(0, "%s: %s has an expression", file, tname);
        return;
    }

    want = tck_scalar(tck_get(doc, test, "result"));
    want_err = err ? (const char *) err->data.scalar.value : "";

    against = strcmp(file, "not_operator") == 0
              && strcmp(tname, "Invalid int cast") == 0;
    if (against) {
        want.kind = TCK_BOOL;
        want.b = 0;
        want_err = "";
        decided++;
    }

    ev = tck_event(doc, test);

    e = em_cesql_compile((const char *) expr->data.scalar.value,
                         expr->data.scalar.length, NULL, &cerr);

    if (e == NULL) {
        /* a compile-time error: the value of an undispatchable call */
        got_err = cerr.kind;
        memset(&got, 0, sizeof(got));
        got.kind = TCK_BOOL;

    } else {
        got_err = em_cesql_eval(e, ev, scratch, &r);
        got = tck_from_cesql(&r);
    }

    tck_describe(&want, a, sizeof(a));
    tck_describe(&got, b, sizeof(b));

    if (!ok(strcmp(em_cesql_error_name(got_err), want_err) == 0
            && (want.kind == TCK_NONE || tck_same(&want, &got)),
            "%s: %s%s", file, tname,
            against ? " (decided against the TCK: spec 3.7 casts 10 to "
                      "true, so NOT 10 is false without error)" : ""))
    {
        diag("expression: %s", (const char *) expr->data.scalar.value);
        diag("  expected: %s%s%s", a, *want_err ? ", error " : "",
             want_err);
        diag("       got: %s%s%s", b, got_err ? ", error " : "",
             em_cesql_error_name(got_err));
        if (e == NULL) {
            diag("   compile: %s", cerr.message);
        }
    }

    em_cesql_free(e);
    em_event_free(ev);
}


static int
tck_file(const char *dir, const char *fname, em_cesql_scratch_t *scratch)
{
    yaml_parser_t     parser;
    yaml_document_t   doc;
    yaml_node_t      *root, *tests;
    yaml_node_item_t *it;
    char              path[1024], file[256];
    FILE             *f;
    size_t            len;

    snprintf(path, sizeof(path), "%s/%s", dir, fname);
    len = strlen(fname) - strlen(".yaml");
    snprintf(file, sizeof(file), "%.*s", (int) len, fname);

    f = fopen(path, "rb");
    if (f == NULL) {
        ok(0, "open %s", path);
        return -1;
    }

    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, f);

    if (!yaml_parser_load(&parser, &doc)) {
        ok(0, "%s: YAML at line %zu: %s", path,
           parser.problem_mark.line + 1,
           parser.problem ? parser.problem : "?");
        yaml_parser_delete(&parser);
        fclose(f);
        return -1;
    }

    root = yaml_document_get_root_node(&doc);
    tests = tck_get(&doc, root, "tests");

    if (tests == NULL || tests->type != YAML_SEQUENCE_NODE) {
        ok(0, "%s has a list of tests", path);

    } else {
        for (it = tests->data.sequence.items.start;
             it < tests->data.sequence.items.top; it++)
        {
            tck_case(file, &doc, yaml_document_get_node(&doc, *it), scratch);
        }
    }

    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    fclose(f);
    return 0;
}


static int
tck_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}


int
main(int argc, char **argv)
{
    em_cesql_scratch_t   scratch;
    struct dirent       *d;
    const char          *dir;
    char                *names[64];
    size_t               n, i, len;
    DIR                 *dp;

    dir = argc > 1 ? argv[1] : getenv("EM_CESQL_TCK");
    if (dir == NULL || *dir == '\0') {
        dir = "t/cesql-tck";
    }

    dp = opendir(dir);
    if (dp == NULL) {
        printf("Bail out! cannot open the TCK directory %s "
               "(set EM_CESQL_TCK or pass it as the argument)\n", dir);
        return 1;
    }

    n = 0;
    while ((d = readdir(dp)) != NULL && n < 64) {
        len = strlen(d->d_name);
        if (len > 5 && strcmp(d->d_name + len - 5, ".yaml") == 0) {
            names[n++] = strdup(d->d_name);
        }
    }
    closedir(dp);

    qsort(names, n, sizeof(names[0]), tck_cmp);

    memset(&scratch, 0, sizeof(scratch));

    for (i = 0; i < n; i++) {
        tck_file(dir, names[i], &scratch);
        free(names[i]);
    }

    em_cesql_scratch_free(&scratch);

    is_long((long) n, TCK_FILES, "the TCK has %d files", TCK_FILES);
    is_long(cases, TCK_CASES, "the TCK has %d cases", TCK_CASES);
    diag("%d cases: %d as the TCK expects, %d decided against it "
         "(not_operator: Invalid int cast, see the README)",
         cases, cases - decided, decided);

    return tap_done();
}
