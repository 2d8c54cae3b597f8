/*
 * Broker naming on NATS.  The subject is only a pre-filter, but it must
 * be injective (two types never share a subject, or a type filter pushed
 * down as a filter subject would leak events) and must never hold a
 * wildcard or an empty token.
 */

#include <eventmesh/subject.h>


static int
em_token_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '_' || c == '-';
}


static int
em_escape(em_buf_t *out, const char *s, size_t len, int underscore)
{
    static const char     hex[] = "0123456789ABCDEF";
    const unsigned char  *p = (const unsigned char *) s;
    size_t                i, run;
    char                  esc[3];

    run = 0;

    for (i = 0; i < len; i++) {
        if (em_token_char(p[i]) && (underscore || p[i] != '_')) {
            continue;
        }

        esc[0] = '~';
        esc[1] = hex[p[i] >> 4];
        esc[2] = hex[p[i] & 0xF];

        if (em_buf_append(out, s + run, i - run) != EM_OK
            || em_buf_append(out, esc, 3) != EM_OK)
        {
            return EM_ERROR;
        }
        run = i + 1;
    }

    return em_buf_append(out, s + run, len - run);
}


int
em_subject_token(em_buf_t *out, const char *s, size_t len)
{
    if (len == 0) {
        /* "~" alone: every other escape is "~XX", so it cannot collide */
        return em_buf_append(out, "~", 1);
    }

    return em_escape(out, s, len, 1);
}


static int
em_subject_prefix(em_buf_t *out, const char *ns, size_t ns_len,
    const char *broker, size_t broker_len)
{
    em_buf_reset(out);

    if (em_buf_append(out, "em.", 3) != EM_OK
        || em_subject_token(out, ns, ns_len) != EM_OK
        || em_buf_append(out, ".", 1) != EM_OK
        || em_subject_token(out, broker, broker_len) != EM_OK)
    {
        return EM_ERROR;
    }

    return EM_OK;
}


int
em_subject_for(em_buf_t *out, const char *ns, size_t ns_len,
    const char *broker, size_t broker_len, const char *type, size_t type_len)
{
    size_t  i, b;

    if (em_subject_prefix(out, ns, ns_len, broker, broker_len) != EM_OK) {
        return EM_ERROR;
    }

    b = 0;

    for (i = 0; i <= type_len; i++) {
        if (i < type_len && type[i] != '.') {
            continue;
        }

        if (em_buf_append(out, ".", 1) != EM_OK
            || em_subject_token(out, type + b, i - b) != EM_OK)
        {
            return EM_ERROR;
        }

        b = i + 1;
    }

    return EM_OK;
}


int
em_subject_wildcard(em_buf_t *out, const char *ns, size_t ns_len,
    const char *broker, size_t broker_len)
{
    if (em_subject_prefix(out, ns, ns_len, broker, broker_len) != EM_OK) {
        return EM_ERROR;
    }

    return em_buf_append(out, ".>", 2);
}


int
em_stream_name(em_buf_t *out, const char *ns, size_t ns_len,
    const char *broker, size_t broker_len)
{
    em_buf_reset(out);

    if (em_buf_append(out, "EM_", 3) != EM_OK
        || em_escape(out, ns, ns_len, 0) != EM_OK
        || em_buf_append(out, "_", 1) != EM_OK
        || em_escape(out, broker, broker_len, 0) != EM_OK)
    {
        return EM_ERROR;
    }

    return EM_OK;
}


static int
em_k8s_name(const char *s, size_t len, const char **why)
{
    size_t  i;

    if (len == 0) {
        *why = "empty name; write namespace/broker";
        return 0;
    }

    if (len > 63) {
        *why = "a name may have at most 63 characters";
        return 0;
    }

    for (i = 0; i < len; i++) {
        char  c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
        {
            *why = "names may only use lowercase letters, digits and '-'";
            return 0;
        }
    }

    if (s[0] == '-' || s[len - 1] == '-') {
        *why = "a name must start and end with a letter or digit";
        return 0;
    }

    return 1;
}


int
em_broker_ref_parse(const char *s, size_t len, size_t *slash,
    const char **why)
{
    size_t  i, n;

    n = len;
    for (i = 0; i < len; i++) {
        if (s[i] == '/') {
            if (n != len) {
                *why = "expected namespace/broker with exactly one '/'";
                return 0;
            }
            n = i;
        }
    }

    if (n == len) {
        *why = "expected namespace/broker, e.g. default/default";
        return 0;
    }

    if (!em_k8s_name(s, n, why) || !em_k8s_name(s + n + 1, len - n - 1, why))
    {
        return 0;
    }

    *slash = n;
    return 1;
}
