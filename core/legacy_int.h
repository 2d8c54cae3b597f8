/*
 * The pieces behind eventmesh/legacy.h, each reproducing one behaviour of
 * Kyma's Go publisher: the JSON decoder and encoder, time.Parse with
 * RFC3339, the id rules and Kyma 2's type naming.
 */

#ifndef EM_CORE_LEGACY_INT_H
#define EM_CORE_LEGACY_INT_H

#include <eventmesh/legacy.h>

/* Go's encoding/json nesting limit. */
#define EM_GO_MAX_DEPTH  10000

/*
 * Kyma's PublishRequestV1 after json.Decoder.Decode(); strings as Go
 * decodes them (U+FFFD for invalid UTF-8 and lone surrogate escapes).
 */
typedef struct {
    em_buf_t    event_type;
    em_buf_t    version;
    em_buf_t    id;
    em_buf_t    time;
    size_t      data_b;   /* span of the last "data" value in the body */
    size_t      data_e;
    unsigned    has_data:1;   /* a non-null "data" was the last one */
} em_legacy_req_t;

void em_legacy_req_init(em_legacy_req_t *r);
void em_legacy_req_free(em_legacy_req_t *r);

/*
 * The first JSON value of s[0..n) as Go's json.Decoder finds it:
 * [*vb, *ve).  eof: the body ends at n, else a read limit stops there.
 * EM_OK; EM_EINVALID with Go's message in err; EM_ETOOBIG when the value
 * is still open at n without eof; EM_ERROR.
 */
em_status_t em_go_scan(const char *s, size_t n, int eof, size_t *vb,
    size_t *ve, em_buf_t *err);

/*
 * json.NewDecoder(http.MaxBytesReader(body, max)).Decode(&req):
 * EM_OK; EM_EINVALID with Go's error text in err ("EOF", "unexpected
 * EOF", "invalid character ...", "json: cannot unmarshal ..."); EM_ETOOBIG
 * when the value is still open after max bytes (max 0: no limit);
 * EM_ERROR out of memory.  truncated: the body goes on after s[len - 1].
 */
em_status_t em_legacy_decode(const char *s, size_t len, size_t max,
    int truncated, em_legacy_req_t *req, em_buf_t *err);

/* Whether strconv.ParseFloat(s, 64) overflows for a valid JSON number. */
int em_go_float_overflows(const char *s, size_t len);

/* The value of the escape "\\uXXXX" at s, or -1 when s has none. */
long em_go_u4(const char *s, size_t avail);

/* Go's unquote of a valid JSON string s[0..len) (quotes included). */
int em_go_unquote(const char *s, size_t len, em_buf_t *out);

/*
 * Appends s as Go's json.Encoder writes a string: HTML-safe ('<' '>' '&'
 * as \u003c ...), \b \f \n \r \t, other controls \u00XX, invalid UTF-8
 * as \ufffd, U+2028 and U+2029 escaped.
 */
int em_go_quote(em_buf_t *b, const char *s, size_t len);

/*
 * Go's time.Parse(time.RFC3339, s) succeeds.  1 and canon empty when s is
 * also strict RFC 3339 (keep it); 1 and canon set to the UTC instant in
 * Go's RFC3339Nano form when only Go accepts it; 0 when Go refuses it.
 * *range_ok is 0 when that UTC instant falls outside years 0000-9999.
 * Returns -1 when out of memory.
 */
int em_go_rfc3339(const char *s, size_t len, em_buf_t *canon, int *range_ok);

/* Kyma's ^[a-fA-F0-9]{8}-...-[a-fA-F0-9]{12}$ (any version, any case). */
int em_legacy_uuid_ok(const char *s, size_t len);

/* A random (version 4) UUID, lowercase, NUL-terminated; EM_ERROR. */
int em_legacy_uuid_new(char out[37]);

/*
 * Kyma 2's legacy type: <prefix>.<app>.<event>.<version>; prefix without
 * [^a-zA-Z0-9.] (left out, with its dot, when that leaves nothing), app
 * without [^a-zA-Z0-9], event without [^a-zA-Z0-9.] and every segment
 * but the last joined, version verbatim.  Replaces out's content.
 */
int em_legacy_type_v1alpha1(em_buf_t *out, const char *prefix,
    size_t prefix_len, const char *app, size_t app_len, const char *event,
    size_t event_len, const char *version, size_t version_len);

#endif /* EM_CORE_LEGACY_INT_H */
