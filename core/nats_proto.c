/*
 * The incremental reader of a NATS server's operations, and the status
 * line of a header block.
 */

#include <eventmesh/nats_proto.h>

#include <stdio.h>
#include <string.h>

/* MSG <subject> <sid> [reply-to] <#bytes>; HMSG has one size more */
#define EM_NATS_MAX_ARGS  6


char *
em_nats_printable(char *dst, size_t size, const char *p, size_t len,
    size_t max)
{
    size_t          i, n;
    unsigned char   c;

    n = len < max ? len : max;

    if (n > size - 4) {
        n = size - 4;
    }

    for (i = 0; i < n; i++) {
        c = (unsigned char) p[i];
        dst[i] = (c < ' ' || c >= 0x7f) ? '?' : (char) c;
    }

    if (n < len) {
        memcpy(dst + i, "...", 3);
        i += 3;
    }

    dst[i] = '\0';

    return dst;
}


void
em_nats_reader_init(em_nats_reader_t *r)
{
    memset(r, 0, sizeof(*r));
}


void
em_nats_reader_reset(em_nats_reader_t *r)
{
    r->scan = 0;
    r->error[0] = '\0';
}


static size_t
em_nats_limit(const em_nats_reader_t *r)
{
    return r->max_payload ? r->max_payload : EM_NATS_DEFAULT_PAYLOAD;
}


static size_t
em_nats_line_limit(const em_nats_reader_t *r)
{
    return r->max_line ? r->max_line : EM_NATS_MAX_SERVER_LINE;
}


size_t
em_nats_reader_max_op(const em_nats_reader_t *r)
{
    /* the line, its CRLF, the payload and its CRLF */
    return em_nats_line_limit(r) + 2 + em_nats_limit(r) + 2;
}


static em_nats_rc_t
em_nats_fail(em_nats_reader_t *r, const char *what, const char *p,
    size_t len, const char *rest)
{
    char  q[EM_NATS_QUOTE_MAX + 4];

    snprintf(r->error, sizeof(r->error), "%s\"%s\"%s", what,
             em_nats_printable(q, sizeof(q), p, len, EM_NATS_QUOTE_MAX),
             rest);

    return EM_NATS_EPROTO;
}


/* Only digits, no sign, no overflow: a size the server wrote. */
static int
em_nats_size(const em_nats_span_t *s, size_t *out)
{
    size_t  i, v, d;

    if (s->len == 0) {
        return -1;
    }

    v = 0;

    for (i = 0; i < s->len; i++) {
        if (s->data[i] < '0' || s->data[i] > '9') {
            return -1;
        }

        d = (size_t) (s->data[i] - '0');

        if (v > (SIZE_MAX - d) / 10) {
            return -1;
        }

        v = v * 10 + d;
    }

    *out = v;
    return 0;
}


/*
 * Splits on runs of blanks (the server writes "MSG s 1  23" for no reply).
 * Returns the number of arguments, max + 1 when there are more.
 */
static size_t
em_nats_split(const char *p, const char *last, em_nats_span_t *args,
    size_t max)
{
    size_t  n;

    n = 0;

    for ( ;; ) {
        while (p < last && (*p == ' ' || *p == '\t')) {
            p++;
        }

        if (p == last) {
            return n;
        }

        if (n == max) {
            return n + 1;
        }

        args[n].data = p;

        while (p < last && *p != ' ' && *p != '\t') {
            p++;
        }

        args[n].len = (size_t) (p - args[n].data);
        n++;
    }
}


static em_nats_rc_t
em_nats_read_msg(em_nats_reader_t *r, int hmsg, const char *p,
    const char *last, const char *next, const char *end,
    em_nats_frame_t *f, size_t *used, const char *buf)
{
    size_t          nargs, total, hdr_len, limit;
    em_nats_span_t  args[EM_NATS_MAX_ARGS];

    nargs = em_nats_split(p, last, args, EM_NATS_MAX_ARGS);

    if (nargs < (size_t) (3 + hmsg) || nargs > (size_t) (4 + hmsg)
        || em_nats_size(&args[nargs - 1], &total) != 0)
    {
        goto invalid;
    }

    hdr_len = 0;

    if (hmsg && (em_nats_size(&args[nargs - 2], &hdr_len) != 0
                 || hdr_len > total))
    {
        goto invalid;
    }

    limit = em_nats_limit(r);

    if (total > limit) {
        snprintf(r->error, sizeof(r->error),
                 "message of %zu bytes exceeds max_payload %zu", total,
                 limit);
        return EM_NATS_EPROTO;
    }

    if ((size_t) (end - next) < total + 2) {
        /* the line is found again at once when the payload is complete */
        r->scan = (size_t) (last + 1 - buf);
        return EM_NATS_AGAIN;
    }

    if (next[total] != '\r' || next[total + 1] != '\n') {
        return em_nats_fail(r, "message payload of ", args[0].data,
                            args[0].len, " is not followed by CRLF");
    }

    memset(f, 0, sizeof(*f));

    f->op = EM_NATS_OP_MSG;
    f->hmsg = hmsg;
    f->subject = args[0];
    f->sid = args[1];

    if (nargs == (size_t) (4 + hmsg)) {
        f->reply = args[2];
    }

    f->headers.data = next;
    f->headers.len = hdr_len;
    f->payload.data = next + hdr_len;
    f->payload.len = total - hdr_len;

    *used = (size_t) (next + total + 2 - buf);
    r->scan = 0;

    return EM_NATS_FRAME;

invalid:

    return em_nats_fail(r, hmsg ? "invalid HMSG arguments "
                                : "invalid MSG arguments ",
                        p, (size_t) (last - p), "");
}


static int
em_nats_op_is(const char *op, size_t len, const char *name)
{
    size_t  i;
    char    c;

    if (len != strlen(name)) {
        return 0;
    }

    /* operation names are case-insensitive in the protocol */
    for (i = 0; i < len; i++) {
        c = op[i];

        if (c >= 'a' && c <= 'z') {
            c = (char) (c - 'a' + 'A');
        }

        if (c != name[i]) {
            return 0;
        }
    }

    return 1;
}


em_nats_rc_t
em_nats_read(em_nats_reader_t *r, const char *buf, size_t len,
    em_nats_frame_t *f, size_t *used)
{
    const char  *lf, *p, *op, *last, *next, *end;
    size_t       oplen;

    *used = 0;

    if (r->scan > len) {
        /* not the buffer of the last call: search it all */
        r->scan = 0;
    }

    if (len == 0) {
        return EM_NATS_AGAIN;
    }

    lf = memchr(buf + r->scan, '\n', len - r->scan);

    if (lf == NULL) {
        r->scan = len;

        /* the limit is on the line without its CRLF; its CR may be here */
        if (len > em_nats_line_limit(r) + 1) {
            char  msg[64];

            snprintf(msg, sizeof(msg), "no end of line in %zu bytes "
                     "starting with ", len);
            return em_nats_fail(r, msg, buf, len, "");
        }

        return EM_NATS_AGAIN;
    }

    if (lf == buf || lf[-1] != '\r') {
        return em_nats_fail(r, "line ", buf, (size_t) (lf - buf),
                            " does not end with CRLF");
    }

    /* the same verdict whether the line came in one piece or in many */
    if ((size_t) (lf - 1 - buf) > em_nats_line_limit(r)) {
        char  msg[64];

        snprintf(msg, sizeof(msg), "a line of %zu bytes starting with ",
                 (size_t) (lf - 1 - buf));
        return em_nats_fail(r, msg, buf, (size_t) (lf - 1 - buf),
                            " is over the limit");
    }

    last = lf - 1;
    next = lf + 1;
    end = buf + len;

    op = buf;
    p = buf;

    while (p < last && *p != ' ' && *p != '\t') {
        p++;
    }

    oplen = (size_t) (p - op);

    while (p < last && (*p == ' ' || *p == '\t')) {
        p++;
    }

    if (em_nats_op_is(op, oplen, "MSG")) {
        return em_nats_read_msg(r, 0, p, last, next, end, f, used, buf);
    }

    if (em_nats_op_is(op, oplen, "HMSG")) {
        return em_nats_read_msg(r, 1, p, last, next, end, f, used, buf);
    }

    memset(f, 0, sizeof(*f));

    if (p == last && em_nats_op_is(op, oplen, "PING")) {
        f->op = EM_NATS_OP_PING;

    } else if (p == last && em_nats_op_is(op, oplen, "PONG")) {
        f->op = EM_NATS_OP_PONG;

    } else if (p == last && oplen == 3 && memcmp(op, "+OK", 3) == 0) {
        f->op = EM_NATS_OP_OK;

    } else if (em_nats_op_is(op, oplen, "-ERR")) {
        f->op = EM_NATS_OP_ERR;

    } else if (em_nats_op_is(op, oplen, "INFO")) {
        f->op = EM_NATS_OP_INFO;

    } else {
        return em_nats_fail(r, "unexpected ", op, (size_t) (last - op), "");
    }

    f->text.data = p;
    f->text.len = (size_t) (last - p);

    *used = (size_t) (next - buf);
    r->scan = 0;

    return EM_NATS_FRAME;
}


int
em_nats_status_parse(const char *p, size_t len, unsigned *status,
    em_nats_span_t *text)
{
    const char  *last, *eol;

    *status = 0;
    text->data = NULL;
    text->len = 0;

    last = p + len;

    if (len < sizeof("NATS/1.0\r\n") - 1
        || memcmp(p, "NATS/1.0", sizeof("NATS/1.0") - 1) != 0)
    {
        return EM_EINVALID;
    }

    eol = memchr(p, '\r', len);
    if (eol == NULL || eol + 1 == last || eol[1] != '\n') {
        return EM_EINVALID;
    }

    p += sizeof("NATS/1.0") - 1;

    while (p < eol && *p == ' ') {
        p++;
    }

    if (p == eol) {
        return EM_OK;
    }

    if (eol - p < 3
        || p[0] < '1' || p[0] > '9'
        || p[1] < '0' || p[1] > '9'
        || p[2] < '0' || p[2] > '9'
        || (eol - p > 3 && p[3] != ' '))
    {
        return EM_EINVALID;
    }

    *status = (unsigned) ((p[0] - '0') * 100 + (p[1] - '0') * 10
                          + (p[2] - '0'));

    p += 3;

    while (p < eol && *p == ' ') {
        p++;
    }

    text->data = p;
    text->len = (size_t) (eol - p);

    if (text->len == 0) {
        text->data = "NATS error status";
        text->len = sizeof("NATS error status") - 1;
    }

    return EM_OK;
}
