/*
 * The NATS protocol reader: what a server sends, in any fragmentation.
 *
 * Input: one byte choosing the limits, one byte choosing the size of the
 * pieces, then the server's byte stream.  The stream is read whole, then
 * in pieces from a buffer that is compacted after every read (as the
 * module does); both must give the same frames and the same verdict.
 * Every frame must lie inside the buffer and obey the limits; INFO texts
 * and header blocks go on to their parsers.
 */

#include <eventmesh/nats_proto.h>

#include <stdlib.h>
#include <string.h>

#define FUZZ_ASSERT(c)  do { if (!(c)) { __builtin_trap(); } } while (0)


typedef struct {
    uint64_t  hash;
    size_t    frames;
    int       failed;
} fuzz_result_t;


static uint64_t
fuzz_mix(uint64_t h, const void *p, size_t n)
{
    const unsigned char  *b = p;
    size_t                i;

    for (i = 0; i < n; i++) {
        h = (h ^ b[i]) * 1099511628211ULL;
    }

    return h;
}


static uint64_t
fuzz_span(uint64_t h, const em_nats_span_t *s, const char *buf, size_t len)
{
    FUZZ_ASSERT(s->len == 0 || (s->data >= buf && s->data + s->len
                                                  <= buf + len));

    h = fuzz_mix(h, &s->len, sizeof(s->len));
    return fuzz_mix(h, s->data, s->len);
}


static int
fuzz_blank_free(const em_nats_span_t *s)
{
    size_t  i;

    for (i = 0; i < s->len; i++) {
        /* a CR inside the line is the owner's business, an LF cannot be */
        if (s->data[i] == ' ' || s->data[i] == '\t' || s->data[i] == '\n') {
            return 0;
        }
    }

    return 1;
}


static void
fuzz_frame(fuzz_result_t *res, const em_nats_reader_t *r,
    const em_nats_frame_t *f, const char *buf, size_t len, size_t used)
{
    size_t          limit;
    unsigned        status;
    em_nats_span_t  text;
    em_nats_info_t  info;
    char            err[EM_NATS_ERROR_SIZE];

    FUZZ_ASSERT(used > 0 && used <= len);
    FUZZ_ASSERT(f->op >= EM_NATS_OP_INFO && f->op <= EM_NATS_OP_ERR);

    res->frames++;
    res->hash = fuzz_mix(res->hash, &f->op, sizeof(f->op));
    res->hash = fuzz_span(res->hash, &f->text, buf, len);

    if (f->op != EM_NATS_OP_MSG) {
        FUZZ_ASSERT(f->subject.len == 0 && f->payload.len == 0);

        if (f->op == EM_NATS_OP_INFO) {
            if (em_nats_info_parse(f->text.data, f->text.len, &info, err,
                                   sizeof(err))
                == EM_OK)
            {
                FUZZ_ASSERT(info.max_payload <= EM_NATS_MAX_PAYLOAD);
                FUZZ_ASSERT(strlen(info.version) < sizeof(info.version));

            } else {
                FUZZ_ASSERT(err[0] != '\0');
            }
        }

        return;
    }

    limit = r->max_payload ? r->max_payload : EM_NATS_DEFAULT_PAYLOAD;

    FUZZ_ASSERT(f->subject.len > 0 && fuzz_blank_free(&f->subject));
    FUZZ_ASSERT(f->sid.len > 0 && fuzz_blank_free(&f->sid));
    FUZZ_ASSERT(fuzz_blank_free(&f->reply));
    FUZZ_ASSERT(f->hmsg || f->headers.len == 0);
    FUZZ_ASSERT(f->headers.len + f->payload.len <= limit);
    FUZZ_ASSERT(f->payload.data == f->headers.data + f->headers.len);
    FUZZ_ASSERT(f->payload.data + f->payload.len + 2 == buf + used);
    FUZZ_ASSERT(memcmp(buf + used - 2, "\r\n", 2) == 0);

    res->hash = fuzz_mix(res->hash, &f->hmsg, sizeof(f->hmsg));
    res->hash = fuzz_span(res->hash, &f->subject, buf, len);
    res->hash = fuzz_span(res->hash, &f->sid, buf, len);
    res->hash = fuzz_span(res->hash, &f->reply, buf, len);
    res->hash = fuzz_span(res->hash, &f->headers, buf, len);
    res->hash = fuzz_span(res->hash, &f->payload, buf, len);

    if (f->headers.len
        && em_nats_status_parse(f->headers.data, f->headers.len, &status,
                                &text)
           == EM_OK)
    {
        FUZZ_ASSERT(status == 0 || (status >= 100 && status <= 999));
        FUZZ_ASSERT(status == 0 || text.len > 0);
    }
}


/* Reads every operation at buf[*start..*end); returns 0 when it stops. */
static int
fuzz_drain(fuzz_result_t *res, em_nats_reader_t *r, const char *buf,
    size_t *start, size_t end)
{
    size_t            used;
    em_nats_rc_t      rc;
    em_nats_frame_t   f;

    for ( ;; ) {
        rc = em_nats_read(r, buf + *start, end - *start, &f, &used);

        if (rc == EM_NATS_AGAIN) {
            FUZZ_ASSERT(used == 0);
            return 1;
        }

        if (rc == EM_NATS_EPROTO) {
            FUZZ_ASSERT(r->error[0] != '\0');
            FUZZ_ASSERT(strlen(r->error) < sizeof(r->error));
            res->failed = 1;
            return 0;
        }

        FUZZ_ASSERT(rc == EM_NATS_FRAME);
        fuzz_frame(res, r, &f, buf + *start, end - *start, used);
        *start += used;
    }
}


static void
fuzz_limits(em_nats_reader_t *r, uint8_t sel)
{
    static const size_t  lines[] = { 0, 8, 64, 300 };
    static const size_t  payloads[] = { 0, 1, 16, 4096 };

    em_nats_reader_init(r);
    r->max_line = lines[sel & 3];
    r->max_payload = payloads[(sel >> 2) & 3];
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char        *s;
    char              *buf;
    size_t             len, piece, fed, start, end, n;
    em_nats_reader_t   r;
    fuzz_result_t      whole, pieces;

    if (size < 2) {
        return 0;
    }

    s = (const char *) data + 2;
    len = size - 2;
    piece = 1 + data[1] % 29;

    /* whole, from a copy that holds exactly the stream */
    buf = malloc(len ? len : 1);
    FUZZ_ASSERT(buf != NULL);
    memcpy(buf, s, len);

    memset(&whole, 0, sizeof(whole));
    fuzz_limits(&r, data[0]);
    start = 0;
    (void) fuzz_drain(&whole, &r, buf, &start, len);

    /* in pieces, moving what is left to the front after every read */
    memset(&pieces, 0, sizeof(pieces));
    fuzz_limits(&r, data[0]);
    start = 0;
    end = 0;

    for (fed = 0; fed < len; fed += n) {
        n = len - fed < piece ? len - fed : piece;
        memcpy(buf + end, s + fed, n);
        end += n;

        if (!fuzz_drain(&pieces, &r, buf, &start, end)) {
            break;
        }

        memmove(buf, buf + start, end - start);
        end -= start;
        start = 0;
    }

    FUZZ_ASSERT(whole.frames == pieces.frames);
    FUZZ_ASSERT(whole.hash == pieces.hash);
    FUZZ_ASSERT(whole.failed == pieces.failed);

    free(buf);

    return 0;
}
