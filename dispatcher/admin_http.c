/*
 * The admin server's HTTP/1.1 request parser and response writer.  Strict
 * on purpose: the only clients are probes, scrapers and operators' curl,
 * so anything unusual is refused with a precise status instead of being
 * guessed at.
 */

#include "admin.h"

#include <string.h>
#include <strings.h>


static int
em_admin_tchar(unsigned char c)
{
    /* RFC 9110 token characters */
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
        || (c >= '0' && c <= '9'))
    {
        return 1;
    }

    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}


/* Does the comma-separated list v hold the token tok (case-insensitive)? */
static int
em_admin_has_token(const char *v, size_t len, const char *tok)
{
    size_t  i, start, end, n;

    n = strlen(tok);
    i = 0;

    while (i < len) {
        while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ',')) {
            i++;
        }

        start = i;

        while (i < len && v[i] != ',') {
            i++;
        }

        end = i;

        while (end > start && (v[end - 1] == ' ' || v[end - 1] == '\t')) {
            end--;
        }

        if (end - start == n && strncasecmp(v + start, tok, n) == 0) {
            return 1;
        }
    }

    return 0;
}


static const char *
em_admin_crlf(const char *p, const char *end)
{
    for ( /* void */ ; p + 1 < end; p++) {
        if (p[0] == '\r' && p[1] == '\n') {
            return p;
        }
    }

    return NULL;
}


static int
em_admin_request_line(const char *p, const char *eol, em_admin_req_t *req,
    const char **why)
{
    const char  *m, *t, *q;
    size_t       mlen, tlen;

    m = p;
    while (p < eol && em_admin_tchar((unsigned char) *p)) {
        p++;
    }

    mlen = (size_t) (p - m);
    if (mlen == 0 || p == eol || *p != ' ') {
        *why = "malformed request line";
        return -400;
    }

    t = ++p;
    while (p < eol && *p != ' ') {
        if ((unsigned char) *p <= 0x20 || (unsigned char) *p >= 0x7f) {
            *why = "control or non-ASCII byte in the request target";
            return -400;
        }
        p++;
    }

    tlen = (size_t) (p - t);
    if (p == eol || tlen == 0) {
        *why = "malformed request line";
        return -400;
    }

    if (tlen > EM_ADMIN_TARGET_MAX) {
        *why = "request target too long";
        return -414;
    }

    if (t[0] != '/') {
        *why = "the request target must be a path (origin-form)";
        return -400;
    }

    p++;

    if (eol - p != 8 || strncmp(p, "HTTP/", 5) != 0
        || p[5] < '0' || p[5] > '9' || p[6] != '.' || p[7] < '0'
        || p[7] > '9')
    {
        *why = "malformed HTTP version";
        return -400;
    }

    if (p[5] != '1' || (p[7] != '0' && p[7] != '1')) {
        *why = "only HTTP/1.0 and HTTP/1.1 are served";
        return -505;
    }

    req->http11 = p[7] == '1';

    q = memchr(t, '?', tlen);
    req->path_len = q != NULL ? (size_t) (q - t) : tlen;
    memcpy(req->path, t, req->path_len);
    req->path[req->path_len] = '\0';

    if (mlen == 3 && memcmp(m, "GET", 3) == 0) {
        req->method = EM_ADMIN_GET;

    } else if (mlen == 4 && memcmp(m, "HEAD", 4) == 0) {
        req->method = EM_ADMIN_HEAD;

    } else {
        *why = "only GET and HEAD are served";
        return -405;
    }

    return 0;
}


int
em_admin_parse(const char *buf, size_t len, em_admin_req_t *req,
    const char **why)
{
    const char  *p, *end, *eol, *name, *colon, *v, *ve;
    size_t       nlen, nheaders;
    int          rc, host, conn_close, conn_keep;

    memset(req, 0, sizeof(*req));
    *why = NULL;

    if (len > EM_ADMIN_HEAD_MAX) {
        len = EM_ADMIN_HEAD_MAX;
    }

    p = buf;
    end = buf + len;

    eol = em_admin_crlf(p, end);
    if (eol == NULL) {
        if (memchr(p, '\n', len) != NULL) {
            *why = "lines must end with CRLF";
            return -400;
        }
        return 0;
    }

    rc = em_admin_request_line(p, eol, req, why);
    if (rc == -400 || rc == -414 || rc == -505) {
        return rc;
    }

    /* a refused method still needs its head read to answer cleanly */

    p = eol + 2;
    nheaders = 0;
    host = 0;
    conn_close = 0;
    conn_keep = 0;

    for ( ;; ) {
        eol = em_admin_crlf(p, end);
        if (eol == NULL) {
            if (memchr(p, '\n', (size_t) (end - p)) != NULL) {
                *why = "lines must end with CRLF";
                return -400;
            }
            return 0;
        }

        if (eol == p) {
            p += 2;
            break;
        }

        if (++nheaders > EM_ADMIN_HEADERS_MAX) {
            *why = "too many header fields";
            return -431;
        }

        name = p;
        while (p < eol && em_admin_tchar((unsigned char) *p)) {
            p++;
        }

        nlen = (size_t) (p - name);
        colon = p;

        if (nlen == 0 || colon == eol || *colon != ':') {
            *why = "malformed header field";
            return -400;
        }

        v = colon + 1;
        while (v < eol && (*v == ' ' || *v == '\t')) {
            v++;
        }

        ve = eol;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) {
            ve--;
        }

        for (p = v; p < ve; p++) {
            if (((unsigned char) *p < 0x20 && *p != '\t')
                || (unsigned char) *p == 0x7f)
            {
                *why = "control byte in a header field value";
                return -400;
            }
        }

        if (nlen == 4 && strncasecmp(name, "Host", 4) == 0) {
            if (host++) {
                *why = "more than one Host header";
                return -400;
            }

        } else if (nlen == 14 && strncasecmp(name, "Content-Length", 14) == 0)
        {
            /* a refused method is refused whatever it carries */
            if (rc == 0 && (ve - v != 1 || *v != '0')) {
                *why = "these paths take no request body";
                return -400;
            }

        } else if (rc == 0 && nlen == 17
                   && strncasecmp(name, "Transfer-Encoding", 17) == 0)
        {
            *why = "these paths take no request body";
            return -400;

        } else if (nlen == 10 && strncasecmp(name, "Connection", 10) == 0) {
            conn_close |= em_admin_has_token(v, (size_t) (ve - v), "close");
            conn_keep |= em_admin_has_token(v, (size_t) (ve - v),
                                            "keep-alive");
        }

        p = eol + 2;
    }

    if (req->http11 && !host) {
        *why = "HTTP/1.1 requires a Host header";
        return -400;
    }

    req->keep_alive = req->http11 ? !conn_close : (conn_keep && !conn_close);

    if (rc < 0) {
        return rc;
    }

    return (int) (p - buf);
}


static int
em_admin_hex(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }

    return -1;
}


int
em_admin_pct_decode(char *s, size_t *len)
{
    size_t  i, o;
    int     hi, lo;

    for (i = 0, o = 0; i < *len; i++, o++) {
        if (s[i] != '%') {
            s[o] = s[i];
            continue;
        }

        if (i + 2 >= *len) {
            return -1;
        }

        hi = em_admin_hex(s[i + 1]);
        lo = em_admin_hex(s[i + 2]);

        /* a NUL would cut the name short where it is used as a string */
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
            return -1;
        }

        s[o] = (char) (hi * 16 + lo);
        i += 2;
    }

    s[o] = '\0';
    *len = o;
    return 0;
}


const char *
em_admin_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 414: return "URI Too Long";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default:  return "Unknown";
    }
}


int
em_admin_write_response(em_buf_t *out, const em_admin_answer_t *ans,
    int head_only, int keep_alive)
{
    size_t  blen;

    blen = ans->body.data != NULL ? ans->body.len : 0;

    if (em_buf_printf(out,
            "HTTP/1.1 %d %s\r\n"
            "Content-Type: %s\r\n"
            "Content-Length: %zu\r\n"
            "Cache-Control: no-store\r\n"
            "%s%s%s"
            "Connection: %s\r\n"
            "\r\n",
            ans->status, em_admin_reason(ans->status),
            ans->content_type ? ans->content_type
                              : "text/plain; charset=utf-8",
            blen,
            ans->allow ? "Allow: " : "", ans->allow ? ans->allow : "",
            ans->allow ? "\r\n" : "",
            keep_alive ? "keep-alive" : "close") != EM_OK)
    {
        return EM_ERROR;
    }

    if (!head_only && blen > 0) {
        return em_buf_append(out, ans->body.data, blen);
    }

    return EM_OK;
}
