/*
 * Walking a YAML tree (yaml_tree.h) that holds configuration: matching the
 * keys of a mapping, fetching typed values, and recording every problem
 * with its line in an em_diag_t.  Shared by dispatcher.yaml and, later,
 * the Trigger files.
 *
 * Paths in messages are written as the user navigates the file:
 * "brokers[0].channel.size".
 */

#ifndef EM_DISPATCHER_CONF_WALK_H
#define EM_DISPATCHER_CONF_WALK_H

#include "diag.h"
#include "yaml_tree.h"

#include <stddef.h>
#include <stdint.h>

#define EM_CONF_PATH_MAX   160
#define EM_CONF_QUOTE_MAX  64
#define EM_CONF_QUOTE_SIZE EM_DIAG_QUOTE_SIZE(EM_CONF_QUOTE_MAX)

typedef struct {
    const char   *file;
    em_diag_t    *diag;
    size_t        errors;
} em_conf_ctx_t;

/* One expected key of a mapping, and what the file gave for it. */
typedef struct {
    const char            *name;
    const em_yaml_node_t  *key;       /* NULL when absent */
    const em_yaml_node_t  *value;
} em_conf_field_t;

void em_conf_error(em_conf_ctx_t *ctx, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The value quoted and escaped for a message: "1Xi". */
void em_conf_quote(char *buf, size_t size, const em_yaml_node_t *node);

/*
 * Fills fields from the keys of map; each unknown key is reported with the
 * list of known ones ("unknown key 'foo' in brokers[0].channel (expected
 * ...)"); where is "" for the top level.
 */
void em_conf_fields(em_conf_ctx_t *ctx, const em_yaml_node_t *map,
    const char *where, em_conf_field_t *fields, size_t nfields);

/*
 * A mapping section: NULL when absent or written without a value (the
 * defaults apply) or when it is not a mapping (reported).
 */
const em_yaml_node_t *em_conf_mapping(em_conf_ctx_t *ctx,
    const em_conf_field_t *f, const char *path);

/*
 * A single value that must be there: not null, not a list or mapping, no
 * NUL byte.  NULL (reported) otherwise; line is where to report absence.
 */
const em_yaml_node_t *em_conf_scalar(em_conf_ctx_t *ctx,
    const em_yaml_node_t *value, unsigned line, const char *path);

/*
 * A non-empty string, copied to *out.  The value is never quoted in
 * messages, so this is also the getter for secrets.
 */
int em_conf_string(em_conf_ctx_t *ctx, const em_conf_field_t *f,
    const char *path, char **out);

/* A Go duration into *out (nanoseconds); 0 refused unless zero_ok. */
int em_conf_duration(em_conf_ctx_t *ctx, const em_conf_field_t *f,
    const char *path, int zero_ok, int64_t *out);

/*
 * host[:port]: a name, an IPv4 address or a bracketed IPv6 address, and a
 * port from 1 to 65535 (*port = 0 when absent).  Returns 0 or -1.
 */
int em_conf_host_port(const char *s, size_t len, const char **host,
    size_t *host_len, unsigned *port);

#endif /* EM_DISPATCHER_CONF_WALK_H */
