/*
 * Encoders and decoders between the event model and the wire forms:
 * the NATS binary-mode message stored in JetStream (DESIGN.md section 3)
 * and the HTTP binary and structured forms the dispatcher sends.
 */

#ifndef EVENTMESH_CODEC_H
#define EVENTMESH_CODEC_H

#include <eventmesh/event.h>

/* Length of the hex digest em_msg_id() writes, without the NUL. */
#define EM_MSG_ID_LEN  64

/*
 * Nats-Msg-Id: SHA-256 of source and id (length-prefixed so that
 * ("a b", "c") and ("a", "b c") differ), lowercase hex.
 */
void em_msg_id(const char *source, size_t source_len, const char *id,
    size_t id_len, char out[EM_MSG_ID_LEN + 1]);

/*
 * The NATS header block "NATS/1.0\r\nce-specversion: 1.0\r\n...
 * Nats-Msg-Id: ...\r\n\r\n": every attribute as ce-<name> (datacontenttype
 * included, per the NATS binding), values percent-encoded as the binding
 * requires.  The payload is ev->data unchanged.
 *
 * Appends to out.  EM_OK; EM_EINVALID when an attribute name is not
 * [a-z0-9]+ (it would go on the wire as a header name); EM_ERROR.
 * Nats-Msg-Id is written when the event has source and id.
 */
int em_nats_encode_headers(const em_event_t *ev, em_buf_t *out);

/*
 * The reverse, for the dispatcher: a header block as stored plus the
 * payload.  Returns EM_OK or EM_EINVALID with *err set.
 *
 * hdr is the block from "NATS/1.0" up to and including the blank line
 * (the blank line may be missing).  ce-* names are case-insensitive; other
 * headers are ignored; specversion, id, source and type must be present.
 * Types come from em_attr_known_type(): an unknown extension is a String.
 */
em_status_t em_nats_decode(const char *hdr, size_t hdr_len,
    const void *payload, size_t payload_len, em_event_t **out,
    const char **err);

/* One output header for HTTP binary mode; name and value NUL-terminated. */
typedef struct {
    char    *name;
    char    *value;
} em_out_header_t;

typedef struct {
    em_out_header_t  *items;
    size_t            n;
    size_t            cap;
} em_out_headers_t;

void em_out_headers_free(em_out_headers_t *h);

/*
 * HTTP binary mode: ce-* headers (percent-encoded; never a raw CR/LF),
 * Content-Type from datacontenttype; the body is ev->data.
 *
 * Appends to out (zero it first; free with em_out_headers_free()).
 * EM_EINVALID when a name is not [a-z0-9]+ or datacontenttype holds a
 * control character (Content-Type is sent verbatim, never encoded).
 */
int em_http_encode_binary(const em_event_t *ev, em_out_headers_t *out);

/*
 * HTTP structured mode: the JSON-format event, appended to out.  Integer
 * and Boolean attributes are JSON numbers and booleans.  data: JSON data
 * (a JSON datacontenttype, or none with data_is_json) as the value itself;
 * valid UTF-8 under another declared type as a JSON string; anything else
 * as data_base64.
 */
int em_http_encode_structured(const em_event_t *ev, em_buf_t *out);

#endif /* EVENTMESH_CODEC_H */
