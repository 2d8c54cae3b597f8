/*
 * Broker naming on NATS (DESIGN.md section 3): the stream of a broker and
 * the subject of an event.
 */

#ifndef EVENTMESH_SUBJECT_H
#define EVENTMESH_SUBJECT_H

#include <eventmesh/em.h>

/*
 * Encodes one token so that the mapping is injective and the result holds
 * no '.', '*', '>', whitespace or control byte and is never empty: bytes
 * outside [A-Za-z0-9_-] become "~XX" (uppercase hex), "~" included, and
 * an empty token becomes "~".
 */
int em_subject_token(em_buf_t *out, const char *s, size_t len);

/*
 * em_subject_token() appends; em_subject_for(), em_subject_wildcard() and
 * em_stream_name() replace the content of out.
 */

/* em.<namespace>.<broker>.<type tokens> */
int em_subject_for(em_buf_t *out, const char *ns, size_t ns_len,
    const char *broker, size_t broker_len, const char *type, size_t type_len);

/* em.<namespace>.<broker>.> */
int em_subject_wildcard(em_buf_t *out, const char *ns, size_t ns_len,
    const char *broker, size_t broker_len);

/*
 * EM_<namespace>_<broker>.  Stream names may not hold '.', '*', '>', '/',
 * '\\' or whitespace and '_' is our separator, so any byte outside
 * [A-Za-z0-9-] is written "~XX"; names that passed em_broker_ref_parse()
 * never need it.
 */
int em_stream_name(em_buf_t *out, const char *ns, size_t ns_len,
    const char *broker, size_t broker_len);

/*
 * Parses "namespace/broker" as written in nginx.conf and dispatcher.yaml.
 * Both parts must be non-empty, Kubernetes-style names ([a-z0-9-], starting
 * and ending alphanumeric, at most 63 bytes).  Returns 1 or 0 with *why.
 */
int em_broker_ref_parse(const char *s, size_t len, size_t *slash,
    const char **why);

#endif /* EVENTMESH_SUBJECT_H */
