/*
 * Stream settings owned by the dispatcher, and their comparison with what
 * JetStream holds, worded for the user.
 */

#include "stream.h"
#include "units.h"

#include <eventmesh/subject.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


int
em_stream_spec_init(em_stream_spec_t *spec, const em_broker_conf_t *b)
{
    em_buf_t  name, subject;

    memset(spec, 0, sizeof(*spec));
    spec->broker = b;

    em_buf_init(&name);
    em_buf_init(&subject);

    if (em_stream_name(&name, b->ns, strlen(b->ns), b->name,
                       strlen(b->name)) != EM_OK
        || em_subject_wildcard(&subject, b->ns, strlen(b->ns), b->name,
                               strlen(b->name)) != EM_OK)
    {
        em_buf_free(&name);
        em_buf_free(&subject);
        return EM_ERROR;
    }

    spec->name = name.data;
    spec->subject = subject.data;
    spec->subjects[0] = spec->subject;

    snprintf(spec->description, sizeof(spec->description),
             "nginx Event Mesh broker %s/%s", b->ns, b->name);

    return EM_OK;
}


void
em_stream_spec_free(em_stream_spec_t *spec)
{
    free(spec->name);
    free(spec->subject);
    memset(spec, 0, sizeof(*spec));
}


void
em_stream_spec_apply(em_stream_spec_t *spec, jsStreamConfig *cfg)
{
    const em_broker_conf_t  *b = spec->broker;

    cfg->Name = spec->name;
    cfg->Subjects = spec->subjects;
    cfg->SubjectsLen = 1;
    cfg->Retention = js_LimitsPolicy;
    cfg->Storage = b->storage == EM_STORAGE_MEMORY ? js_MemoryStorage
                                                   : js_FileStorage;
    cfg->MaxAge = b->max_age;
    cfg->MaxBytes = b->size;
    cfg->Replicas = b->replicas;

    /* a full stream answers 507 rather than dropping old events */
    cfg->Discard = js_DiscardNew;
    cfg->Duplicates = b->duplicate_window;

    if (cfg->Description == NULL || cfg->Description[0] == '\0') {
        cfg->Description = spec->description;
    }
}


static const char *
em_storage_text(jsStorageType t)
{
    return t == js_MemoryStorage ? "memory" : "file";
}


static const char *
em_retention_text(jsRetentionPolicy r)
{
    switch (r) {
    case js_LimitsPolicy:
        return "limits";
    case js_InterestPolicy:
        return "interest";
    case js_WorkQueuePolicy:
        return "workqueue";
    default:
        return "unknown";
    }
}


static int
em_stream_sep(em_buf_t *out)
{
    return out->len ? em_buf_append_str(out, ", ") : EM_OK;
}


static int
em_stream_duration_change(em_buf_t *out, const char *what, int64_t from,
    int64_t to)
{
    char  a[EM_UNITS_FORMAT_SIZE], b[EM_UNITS_FORMAT_SIZE];

    em_duration_format(from, a, sizeof(a));
    em_duration_format(to, b, sizeof(b));

    /* JetStream's "no limit" is 0 for durations */
    if (em_stream_sep(out) != EM_OK
        || em_buf_printf(out, "%s %s -> %s", what,
                         from == 0 ? "unlimited" : a,
                         to == 0 ? "unlimited" : b) != EM_OK)
    {
        return EM_ERROR;
    }

    return EM_OK;
}


static int
em_stream_subjects_same(const em_stream_spec_t *spec,
    const jsStreamConfig *cur)
{
    return cur->SubjectsLen == 1 && cur->Subjects != NULL
           && cur->Subjects[0] != NULL
           && strcmp(cur->Subjects[0], spec->subject) == 0;
}


int
em_stream_spec_compare(const em_stream_spec_t *spec,
    const jsStreamConfig *cur, em_stream_cmp_t *result, em_buf_t *out)
{
    const em_broker_conf_t  *b = spec->broker;
    jsStorageType            storage;
    char                     x[EM_UNITS_FORMAT_SIZE], y[EM_UNITS_FORMAT_SIZE];
    int                      i;

    em_buf_reset(out);

    storage = b->storage == EM_STORAGE_MEMORY ? js_MemoryStorage
                                              : js_FileStorage;

    if (cur->Storage != storage) {
        *result = EM_STREAM_IMMUTABLE;
        return em_buf_printf(out,
                   "stream %s has %s storage and JetStream cannot change the "
                   "storage type in place; to switch to %s, delete the "
                   "stream (nats stream rm %s; its stored events are lost) "
                   "and run provision again, or set channel.storage back to "
                   "%s", spec->name, em_storage_text(cur->Storage),
                   em_storage_name(b->storage), spec->name,
                   em_storage_text(cur->Storage));
    }

    if (cur->Retention != js_LimitsPolicy) {
        *result = EM_STREAM_IMMUTABLE;
        return em_buf_printf(out,
                   "stream %s has %s retention, not limits, and JetStream "
                   "cannot change retention in place; it was not created "
                   "by event-mesh-dispatcher: delete or rename it (nats "
                   "stream rm %s) and run provision again", spec->name,
                   em_retention_text(cur->Retention), spec->name);
    }

    *result = EM_STREAM_SAME;

    if (!em_stream_subjects_same(spec, cur)) {
        if (em_stream_sep(out) != EM_OK
            || em_buf_append_str(out, "subjects [") != EM_OK)
        {
            return EM_ERROR;
        }

        for (i = 0; cur->Subjects != NULL && i < cur->SubjectsLen; i++) {
            if (em_buf_printf(out, "%s%s", i ? " " : "",
                              cur->Subjects[i] ? cur->Subjects[i] : "")
                != EM_OK)
            {
                return EM_ERROR;
            }
        }

        if (em_buf_printf(out, "] -> [%s]", spec->subject) != EM_OK) {
            return EM_ERROR;
        }
    }

    if (cur->MaxAge != b->max_age
        && em_stream_duration_change(out, "maxAge", cur->MaxAge, b->max_age)
           != EM_OK)
    {
        return EM_ERROR;
    }

    if (cur->MaxBytes != b->size) {
        em_size_format(cur->MaxBytes, x, sizeof(x));
        em_size_format(b->size, y, sizeof(y));

        if (em_stream_sep(out) != EM_OK
            || em_buf_printf(out, "size %s -> %s",
                             cur->MaxBytes < 0 ? "unlimited" : x, y)
               != EM_OK)
        {
            return EM_ERROR;
        }
    }

    if (cur->Replicas != b->replicas
        && (em_stream_sep(out) != EM_OK
            || em_buf_printf(out, "replicas %lld -> %d",
                             (long long) cur->Replicas, b->replicas)
               != EM_OK))
    {
        return EM_ERROR;
    }

    if (cur->Discard != js_DiscardNew
        && (em_stream_sep(out) != EM_OK
            || em_buf_append_str(out, "discard old -> new") != EM_OK))
    {
        return EM_ERROR;
    }

    if (cur->Duplicates != b->duplicate_window
        && em_stream_duration_change(out, "duplicateWindow", cur->Duplicates,
                                     b->duplicate_window) != EM_OK)
    {
        return EM_ERROR;
    }

    if (out->len > 0) {
        *result = EM_STREAM_CHANGED;
    }

    return EM_OK;
}


int
em_stream_spec_describe(const em_stream_spec_t *spec, em_buf_t *out)
{
    const em_broker_conf_t  *b = spec->broker;
    char                     age[EM_UNITS_FORMAT_SIZE];
    char                     size[EM_UNITS_FORMAT_SIZE];
    char                     dup[EM_UNITS_FORMAT_SIZE];

    em_duration_format(b->max_age, age, sizeof(age));
    em_size_format(b->size, size, sizeof(size));
    em_duration_format(b->duplicate_window, dup, sizeof(dup));

    em_buf_reset(out);

    return em_buf_printf(out,
                         "%s storage, maxAge %s, size %s, replicas %d, "
                         "duplicateWindow %s, subjects %s",
                         em_storage_name(b->storage),
                         b->max_age == 0 ? "unlimited" : age, size,
                         b->replicas, dup, spec->subject);
}
