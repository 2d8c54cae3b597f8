/*
 * The JSON a NATS server sends a JetStream publisher: INFO, and the
 * answer to a publish (a PubAck or a JetStream API error).
 */

#include <eventmesh/nats_proto.h>

#include <jansson.h>
#include <stdio.h>
#include <string.h>


static int
em_nats_true(json_t *obj, const char *key)
{
    return json_is_true(json_object_get(obj, key)) ? 1 : 0;
}


int
em_nats_info_parse(const char *json, size_t len, em_nats_info_t *info,
    char *err, size_t err_size)
{
    json_t        *doc, *v;
    json_int_t     max_payload;
    json_error_t   jerr;

    memset(info, 0, sizeof(*info));

    doc = json_loadb(json, len, 0, &jerr);

    if (doc == NULL || !json_is_object(doc)) {
        snprintf(err, err_size, "INFO is not a JSON object: %s",
                 doc ? "not an object" : jerr.text);
        json_decref(doc);
        return EM_EINVALID;
    }

    v = json_object_get(doc, "max_payload");

    if (json_is_integer(v)) {
        max_payload = json_integer_value(v);

        if (max_payload <= 0) {
            snprintf(err, err_size, "INFO has max_payload %lld",
                     (long long) max_payload);
            json_decref(doc);
            return EM_EINVALID;
        }

        info->max_payload = (max_payload > EM_NATS_MAX_PAYLOAD)
                            ? EM_NATS_MAX_PAYLOAD : (size_t) max_payload;
    }

    info->tls_required = em_nats_true(doc, "tls_required");
    info->tls_available = em_nats_true(doc, "tls_available");
    info->headers = em_nats_true(doc, "headers");
    info->auth_required = em_nats_true(doc, "auth_required");
    info->ldm = em_nats_true(doc, "ldm");

    v = json_object_get(doc, "version");

    if (json_is_string(v)) {
        em_nats_printable(info->version, sizeof(info->version),
                          json_string_value(v), json_string_length(v),
                          sizeof(info->version) - 4);
    }

    json_decref(doc);

    return EM_OK;
}


static uint64_t
em_nats_positive(json_t *obj, const char *key)
{
    json_t      *v;
    json_int_t   n;

    v = json_object_get(obj, key);
    n = json_is_integer(v) ? json_integer_value(v) : 0;

    return n > 0 ? (uint64_t) n : 0;
}


static void
em_nats_span_set(em_nats_span_t *s, const char *text)
{
    s->data = text;
    s->len = strlen(text);
}


em_nats_puback_kind_t
em_nats_puback_parse(const char *data, size_t len, em_nats_puback_t *ack)
{
    json_t        *doc, *error, *v, *stream, *seq;
    json_error_t   jerr;

    memset(ack, 0, sizeof(*ack));

    doc = json_loadb(data, len, 0, &jerr);
    ack->doc = doc;

    if (doc == NULL || !json_is_object(doc)) {
        goto malformed;
    }

    error = json_object_get(doc, "error");

    if (error != NULL) {
        if (!json_is_object(error)) {
            goto malformed;
        }

        ack->kind = EM_NATS_PUBACK_API_ERROR;
        ack->code = em_nats_positive(error, "code");
        ack->err_code = em_nats_positive(error, "err_code");

        v = json_object_get(error, "description");

        if (json_is_string(v)) {
            ack->description.data = json_string_value(v);
            ack->description.len = json_string_length(v);

        } else {
            em_nats_span_set(&ack->description, "JetStream API error");
        }

        return ack->kind;
    }

    stream = json_object_get(doc, "stream");
    seq = json_object_get(doc, "seq");

    if (!json_is_string(stream) || !json_is_integer(seq)
        || json_integer_value(seq) < 0)
    {
        goto malformed;
    }

    ack->kind = EM_NATS_PUBACK_STORED;
    ack->stream.data = json_string_value(stream);
    ack->stream.len = json_string_length(stream);
    ack->seq = (uint64_t) json_integer_value(seq);
    ack->duplicate = em_nats_true(doc, "duplicate");

    return ack->kind;

malformed:

    json_decref(doc);
    memset(ack, 0, sizeof(*ack));

    /* code 0 says it is neither a size nor an internal error */
    ack->kind = EM_NATS_PUBACK_MALFORMED;
    em_nats_span_set(&ack->description, "malformed PubAck from NATS");

    return ack->kind;
}


void
em_nats_puback_free(em_nats_puback_t *ack)
{
    json_decref((json_t *) ack->doc);
    ack->doc = NULL;
}
