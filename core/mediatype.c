/*
 * Media type syntax.  One grammar walker serves the RFC 2046 check of
 * datacontenttype and the parameter lookup for the charset rule, so both
 * agree on what a parameter is.
 */

#include <eventmesh/ce_http.h>

#include "mediatype.h"

#include <string.h>
#include <strings.h>


static int
em_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
        || (c >= '0' && c <= '9'))
    {
        return 1;
    }

    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}


static int
em_ows(unsigned char c)
{
    return c == ' ' || c == '\t';
}


static size_t
em_token(const char *s, size_t len, size_t i)
{
    while (i < len && em_tchar((unsigned char) s[i])) {
        i++;
    }

    return i;
}


/*
 * Walks "; name=value" parameters from i.  For each one calls back with
 * the name and the raw value (quotes included).  Returns 0 or the static
 * reason the syntax is wrong.
 */
typedef int (*em_param_pt)(const char *name, size_t name_len,
    const char *value, size_t value_len, void *data);

static const char *
em_media_params(const char *s, size_t len, size_t i, em_param_pt cb,
    void *data)
{
    size_t  n, ne, v;

    for ( ;; ) {
        while (i < len && em_ows((unsigned char) s[i])) {
            i++;
        }

        if (i == len) {
            return NULL;
        }

        if (s[i] != ';') {
            return "parameters must be separated by ';'";
        }
        i++;

        while (i < len && em_ows((unsigned char) s[i])) {
            i++;
        }

        /* RFC 9110 allows empty parameters ("text/plain;") */
        if (i == len || s[i] == ';') {
            continue;
        }

        n = i;
        i = em_token(s, len, i);
        if (i == n) {
            return "a parameter name must be a token (RFC 9110 5.6.2)";
        }

        if (i == len || s[i] != '=') {
            return "a parameter needs '=' and a value (name=value)";
        }
        ne = i++;

        v = i;

        if (i < len && s[i] == '"') {
            for (i++; i < len && s[i] != '"'; i++) {
                unsigned char  c = (unsigned char) s[i];

                if (c == '\\') {
                    i++;
                    if (i == len) {
                        return "a quoted parameter value ends with '\\'";
                    }
                    c = (unsigned char) s[i];
                    if (c < 0x20 && c != '\t') {
                        return "a quoted parameter value holds a control "
                               "character";
                    }
                    continue;
                }

                if ((c < 0x20 && c != '\t') || c == 0x7F) {
                    return "a quoted parameter value holds a control "
                           "character";
                }
            }

            if (i == len) {
                return "a quoted parameter value is not terminated";
            }
            i++;

        } else {
            i = em_token(s, len, i);
            if (i == v) {
                return "a parameter value must be a token or a quoted "
                       "string";
            }
        }

        if (cb != NULL && cb(s + n, ne - n, s + v, i - v, data))
        {
            return NULL;
        }
    }
}


int
em_check_media_type(const char *s, size_t len, const char **why)
{
    size_t       i, t;
    const char  *err;

    if (len == 0) {
        *why = "must be a media type such as application/json (RFC 2046)";
        return 0;
    }

    t = em_token(s, len, 0);
    if (t == 0) {
        *why = "must start with a media type token (type/subtype, "
               "RFC 2046)";
        return 0;
    }

    if (t == len || s[t] != '/') {
        *why = "must be type/subtype, e.g. application/json (RFC 2046)";
        return 0;
    }

    i = em_token(s, len, t + 1);
    if (i == t + 1) {
        *why = "the subtype after '/' is missing or not a token (RFC 2046)";
        return 0;
    }

    if (i < len && !em_ows((unsigned char) s[i]) && s[i] != ';') {
        *why = "the media type holds a character not allowed in a token "
               "(RFC 9110 5.6.2)";
        return 0;
    }

    /* the grammar has no trailing whitespace without a parameter */
    if (len && em_ows((unsigned char) s[len - 1])) {
        *why = "must not end with whitespace";
        return 0;
    }

    err = em_media_params(s, len, i, NULL, NULL);
    if (err != NULL) {
        *why = err;
        return 0;
    }

    return 1;
}


void
em_media_essence(const char *s, size_t len, const char **ess,
    size_t *ess_len)
{
    size_t  b, e;

    b = 0;
    while (b < len && em_ows((unsigned char) s[b])) {
        b++;
    }

    e = b;
    while (e < len && s[e] != ';') {
        e++;
    }

    while (e > b && em_ows((unsigned char) s[e - 1])) {
        e--;
    }

    *ess = s + b;
    *ess_len = e - b;
}


int
em_media_type_is_json(const char *s, size_t len)
{
    const char  *e, *slash;
    size_t       n, sub;

    em_media_essence(s, len, &e, &n);

    slash = memchr(e, '/', n);
    if (slash == NULL || slash == e) {
        return 0;
    }

    sub = n - (size_t) (slash + 1 - e);

    /* "*" "/json" or "*" "/" "*+json": the structured suffix of RFC 6839 */
    if (sub == 4 && strncasecmp(slash + 1, "json", 4) == 0) {
        return 1;
    }

    return sub > 5 && strncasecmp(slash + 1 + sub - 5, "+json", 5) == 0;
}


typedef struct {
    const char  *name;
    char        *buf;
    size_t       size;
    int          rc;
} em_param_find_t;


static int
em_param_find(const char *name, size_t name_len, const char *value,
    size_t value_len, void *data)
{
    em_param_find_t  *f = data;
    size_t            i, o;

    if (strlen(f->name) != name_len
        || strncasecmp(f->name, name, name_len) != 0)
    {
        return 0;
    }

    o = 0;

    if (value_len && value[0] == '"') {
        for (i = 1; i + 1 < value_len; i++) {
            if (value[i] == '\\') {
                i++;
            }
            if (o + 1 >= f->size) {
                f->rc = -1;
                return 1;
            }
            f->buf[o++] = value[i];
        }

    } else {
        for (i = 0; i < value_len; i++) {
            if (o + 1 >= f->size) {
                f->rc = -1;
                return 1;
            }
            f->buf[o++] = value[i];
        }
    }

    f->buf[o] = '\0';
    f->rc = 1;
    return 1;
}


int
em_media_param(const char *s, size_t len, const char *name, char *buf,
    size_t size)
{
    em_param_find_t  f;
    size_t           i;

    i = 0;
    while (i < len && s[i] != ';') {
        i++;
    }

    f.name = name;
    f.buf = buf;
    f.size = size;
    f.rc = 0;

    if (em_media_params(s, len, i, em_param_find, &f) != NULL) {
        return -1;
    }

    return f.rc;
}
