/*
 * Kyma 2's legacy event type, for users whose subscriptions filter on it
 * (event_mesh_legacy_type_prefix): sap.kyma.custom.<app>.<event>.<version>
 * built with Kyma's cleaning, names silently merged included
 * ("system>prod" and "systemprod" give the same type).
 */

#include "legacy_int.h"


static int
em_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9');
}


/* Appends s without the bytes Kyma's regexp removes. */
static int
em_legacy_clean(em_buf_t *out, const char *s, size_t len, int keep_dots)
{
    size_t  i, run;

    for (i = 0, run = 0; i < len; i++) {
        if (em_alnum((unsigned char) s[i]) || (keep_dots && s[i] == '.')) {
            continue;
        }

        if (em_buf_append(out, s + run, i - run) != EM_OK) {
            return EM_ERROR;
        }
        run = i + 1;
    }

    return em_buf_append(out, s + run, len - run);
}


int
em_legacy_type_v1alpha1(em_buf_t *out, const char *prefix,
    size_t prefix_len, const char *app, size_t app_len, const char *event,
    size_t event_len, const char *version, size_t version_len)
{
    size_t  start, last, i, run;

    em_buf_reset(out);

    if (em_buf_reserve(out, prefix_len + app_len + event_len + version_len
                            + 4)
        != EM_OK)
    {
        return EM_ERROR;
    }

    if (em_legacy_clean(out, prefix, prefix_len, 1) != EM_OK) {
        return EM_ERROR;
    }

    /* a prefix that cleans to nothing is left out, dot included */
    if (out->len != 0 && em_buf_append(out, ".", 1) != EM_OK) {
        return EM_ERROR;
    }

    if (em_legacy_clean(out, app, app_len, 0) != EM_OK
        || em_buf_append(out, ".", 1) != EM_OK)
    {
        return EM_ERROR;
    }

    /*
     * The event name keeps two segments: every one but the last is run
     * together ("Account.Root.Created" gives "AccountRoot.Created").
     */
    start = out->len;
    if (em_legacy_clean(out, event, event_len, 1) != EM_OK) {
        return EM_ERROR;
    }

    for (last = out->len; last > start && out->data[last - 1] != '.'; last--) {
        /* void */
    }

    if (last > start) {
        last--;     /* the last dot, which stays */

        for (i = start, run = start; i < out->len; i++) {
            if (out->data[i] != '.' || i == last) {
                out->data[run++] = out->data[i];
            }
        }

        out->len = run;
        out->data[run] = '\0';
    }

    if (em_buf_append(out, ".", 1) != EM_OK
        || em_buf_append(out, version, version_len) != EM_OK)
    {
        return EM_ERROR;
    }

    return EM_OK;
}
