/*
 * libFuzzer target: Trigger files through the multi-document YAML reader
 * and the Trigger walk (destinations through libcurl's URL parser), then
 * everything a loaded set is used for: filter matching, consumer names,
 * digests and the /v1/subscribed answer.  Short inputs also go to the ISO
 * 8601 duration parser on their own.
 */

#include "config.h"
#include "diag.h"
#include "subscribed.h"
#include "trigger.h"

#include <eventmesh/event.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>


static const char  conf_text[] =
    "subscriberTemplate: \"http://{name}.{namespace}.svc/\"\n"
    "brokers:\n"
    "  - namespace: default\n"
    "    name: default\n";


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static em_config_t   cf;
    static em_event_t   *ev;
    static int           ready;
    em_trigger_set_t     set;
    em_diag_t            diag;
    em_buf_t             b;
    char                 name[EM_TRIGGER_CONSUMER_NAME_SIZE];
    char                 iso[EM_ISO8601_FORMAT_SIZE];
    const char          *why;
    int64_t              ns;
    size_t               i;
    FILE                *null;

    if (!ready) {
        em_diag_init(&diag);
        if (em_config_load_string(&cf, "dispatcher.yaml", conf_text,
                                  strlen(conf_text), &diag) != 0)
        {
            return 0;
        }
        em_diag_free(&diag);

        ev = em_event_new();
        em_event_set(ev, "specversion", "1.0", 3, EM_TYPE_STRING);
        em_event_set(ev, "id", "1", 1, EM_TYPE_STRING);
        em_event_set(ev, "source", "mock", 4, EM_TYPE_URI_REF);
        em_event_set(ev, "type", "user.created", 12, EM_TYPE_STRING);
        em_event_set(ev, "eventtypeversion", "v1", 2, EM_TYPE_STRING);
        em_event_set(ev, "datacontenttype", "application/json; x=1", 21,
                     EM_TYPE_STRING);
        ready = 1;
    }

    em_diag_init(&diag);

    if (em_triggers_load_string(&cf, "fuzz.yaml", (const char *) data, size,
                                &set, &diag) == 0)
    {
        em_buf_init(&b);

        for (i = 0; i < set.n; i++) {
            (void) em_filter_match(set.items[i].filter, ev);
            (void) em_filter_exact_type(set.items[i].filter);
            (void) em_trigger_consumer_name(&set.items[i], name,
                                            sizeof(name));
            em_buf_reset(&b);
            (void) em_filter_write(set.items[i].filter, &b);
        }

        (void) em_subscribed_json(&set, "mock", 4, &b);
        em_buf_free(&b);
    }

    null = fopen("/dev/null", "w");
    if (null != NULL) {
        em_diag_print(&diag, null);
        em_diag_print(&set.warnings, null);
        fclose(null);
    }

    em_triggers_free(&set);
    em_diag_free(&diag);

    if (size < 64
        && em_iso8601_duration_parse((const char *) data, size, &ns, &why)
           == 0)
    {
        em_iso8601_duration_format(ns, iso, sizeof(iso));
    }

    return 0;
}
