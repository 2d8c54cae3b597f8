/*
 * libFuzzer target: dispatcher.yaml through the YAML reader and the
 * configuration walk, and the duration and size parsers on their own.
 */

#include "config.h"
#include "diag.h"
#include "units.h"

#include <stdint.h>
#include <stdio.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    em_config_t  cf;
    em_diag_t    diag;
    int64_t      v;
    const char  *why;
    char         buf[EM_UNITS_FORMAT_SIZE];
    FILE        *null;

    em_diag_init(&diag);
    if (em_config_load_string(&cf, "fuzz.yaml", (const char *) data, size,
                              &diag) == 0)
    {
        em_config_free(&cf);
    }

    null = fopen("/dev/null", "w");
    if (null != NULL) {
        em_diag_print(&diag, null);
        fclose(null);
    }
    em_diag_free(&diag);

    if (size < 64) {
        if (em_duration_parse((const char *) data, size, &v, &why) == 0) {
            em_duration_format(v, buf, sizeof(buf));
        }

        if (em_size_parse((const char *) data, size, &v, &why) == 0) {
            em_size_format(v, buf, sizeof(buf));
        }
    }

    return 0;
}
