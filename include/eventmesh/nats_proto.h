/*
 * The NATS client protocol as a server speaks it, without any I/O: an
 * incremental reader of the server's operations (INFO, MSG, HMSG, PING,
 * PONG, +OK, -ERR) and parsers for what a JetStream publisher receives
 * (the INFO document, the status line of a header block, PubAcks and
 * JetStream API errors).
 *
 * The reader works on the caller's buffer and allocates nothing: a frame
 * points into that buffer.  Feeding a stream in pieces of any size gives
 * the same frames as feeding it whole, and costs O(n) in total, because
 * the bytes already searched for the end of a line are not searched again.
 */

#ifndef EVENTMESH_NATS_PROTO_H
#define EVENTMESH_NATS_PROTO_H

#include <eventmesh/em.h>

#include <stddef.h>
#include <stdint.h>

/*
 * Server lines can be long (the INFO of a cluster member lists every
 * connect_url), but not unbounded.
 */
#define EM_NATS_MAX_SERVER_LINE   (64 * 1024)

/* what nats-server assumes when INFO says nothing */
#define EM_NATS_DEFAULT_PAYLOAD   (1024 * 1024)

/* the protocol's own ceiling for max_payload */
#define EM_NATS_MAX_PAYLOAD       (64 * 1024 * 1024)

/* room for the reader's and the parsers' messages */
#define EM_NATS_ERROR_SIZE        256

/* untrusted bytes quoted in a message are cut to this many */
#define EM_NATS_QUOTE_MAX         125

typedef struct {
    const char  *data;
    size_t       len;
} em_nats_span_t;

typedef enum {
    EM_NATS_OP_INFO = 1,
    EM_NATS_OP_MSG,            /* MSG and HMSG */
    EM_NATS_OP_PING,
    EM_NATS_OP_PONG,
    EM_NATS_OP_OK,
    EM_NATS_OP_ERR
} em_nats_op_t;

/* One operation; every span points into the buffer given to the reader. */
typedef struct {
    em_nats_op_t     op;
    em_nats_span_t   text;      /* INFO: the JSON; -ERR: the rest of line */
    em_nats_span_t   subject;   /* MSG and HMSG only */
    em_nats_span_t   sid;
    em_nats_span_t   reply;     /* empty when the message has none */
    em_nats_span_t   headers;   /* HMSG: the header block; else empty */
    em_nats_span_t   payload;
    int              hmsg;
} em_nats_frame_t;

typedef enum {
    EM_NATS_EPROTO = -1,       /* reader.error says why; drop the connection */
    EM_NATS_AGAIN = 0,         /* incomplete: call again with more bytes */
    EM_NATS_FRAME = 1          /* one operation in *frame */
} em_nats_rc_t;

typedef struct {
    size_t  max_payload;       /* largest message accepted; 0: the default */
    size_t  max_line;          /* longest line; 0: EM_NATS_MAX_SERVER_LINE */
    size_t  scan;              /* private: bytes searched without an LF */
    char    error[EM_NATS_ERROR_SIZE];
} em_nats_reader_t;

/* Default limits, nothing read yet. */
void em_nats_reader_init(em_nats_reader_t *r);

/* A new connection: forget the partial operation, keep the limits. */
void em_nats_reader_reset(em_nats_reader_t *r);

/*
 * The largest buffer one operation can need under the current limits: a
 * caller whose buffer is full and holds less than this may grow it.
 */
size_t em_nats_reader_max_op(const em_nats_reader_t *r);

/*
 * Reads the operation at the start of buf[0..len).  EM_NATS_FRAME: *frame
 * is filled and *used is its size; the next call starts after it.
 * EM_NATS_AGAIN: the operation is incomplete; call again when more bytes
 * have arrived, with buf starting at the same operation (the buffer may
 * have moved).  EM_NATS_EPROTO: the stream is not NATS or breaks a limit;
 * r->error has a message that quotes the offending bytes printably.
 */
em_nats_rc_t em_nats_read(em_nats_reader_t *r, const char *buf, size_t len,
    em_nats_frame_t *frame, size_t *used);

/* What a publisher needs from the server's INFO. */
typedef struct {
    size_t    max_payload;     /* 0 when INFO does not say */
    int       tls_required;
    int       tls_available;
    int       headers;
    int       auth_required;
    int       ldm;             /* lame duck mode */
    char      version[32];     /* printable, maybe cut; "" when absent */
} em_nats_info_t;

/*
 * Parses INFO's JSON.  EM_OK, or EM_EINVALID with a message in err (not
 * an object, a max_payload that is not positive).  A max_payload above
 * EM_NATS_MAX_PAYLOAD is cut to it.
 */
int em_nats_info_parse(const char *json, size_t len, em_nats_info_t *info,
    char *err, size_t err_size);

/*
 * The status of a header block: "NATS/1.0\r\n..." has none (*status 0),
 * "NATS/1.0 503\r\n" and "NATS/1.0 408 Request Timeout\r\n" have one, and
 * *text is its description ("NATS error status" when there is none).
 * EM_OK, or EM_EINVALID when the block does not start with a valid line.
 */
int em_nats_status_parse(const char *p, size_t len, unsigned *status,
    em_nats_span_t *text);

typedef enum {
    EM_NATS_PUBACK_STORED = 0,     /* stream, seq, duplicate */
    EM_NATS_PUBACK_API_ERROR,      /* code, err_code, description */
    EM_NATS_PUBACK_MALFORMED       /* neither: not JSON, missing fields */
} em_nats_puback_kind_t;

typedef struct {
    em_nats_puback_kind_t   kind;
    em_nats_span_t          stream;
    uint64_t                seq;
    int                     duplicate;
    uint64_t                code;          /* 0 when absent or not positive */
    uint64_t                err_code;
    em_nats_span_t          description;
    void                   *doc;           /* private: what spans point to */
} em_nats_puback_t;

/*
 * Parses the answer to a JetStream publish:
 *   {"stream":"S","seq":1,"duplicate":true}
 *   {"error":{"code":503,"err_code":10077,"description":"..."},...}
 * Returns ack->kind.  The spans stay valid until em_nats_puback_free(),
 * which must be called whatever the kind.
 */
em_nats_puback_kind_t em_nats_puback_parse(const char *data, size_t len,
    em_nats_puback_t *ack);

void em_nats_puback_free(em_nats_puback_t *ack);

/*
 * Untrusted bytes for a message: at most max of them, control and
 * non-ASCII bytes as '?', "..." when cut.  Writes a NUL-terminated string
 * into dst (size > 3) and returns dst.
 */
char *em_nats_printable(char *dst, size_t size, const char *p, size_t len,
    size_t max);

#endif /* EVENTMESH_NATS_PROTO_H */
