/*
 * The value syntaxes of dispatcher.yaml: Go durations ("24h", "2m30s",
 * "500ms") as Kubernetes and Knative users write them, and Kubernetes
 * quantities for sizes ("1Gi", "512Mi", "100M", "1000000").
 */

#ifndef EM_DISPATCHER_UNITS_H
#define EM_DISPATCHER_UNITS_H

#include <stddef.h>
#include <stdint.h>

#define EM_NS_PER_MS   INT64_C(1000000)
#define EM_NS_PER_SEC  INT64_C(1000000000)

/*
 * Go's time.ParseDuration without the sign: one or more
 * <decimal number><unit> with units ns, us (µs, μs), ms, s, m, h, or a
 * bare "0".  Returns 0 and sets *ns, or -1 with *why: a short reason to
 * follow the quoted input ("is not a duration (use ...)", ...).
 */
int em_duration_parse(const char *s, size_t len, int64_t *ns,
    const char **why);

/* Shortest Go-like spelling: "24h", "1h30m", "2m30s", "1s500ms", "0s". */
void em_duration_format(int64_t ns, char *buf, size_t size);

/*
 * A Kubernetes quantity that is a whole number of bytes:
 * <decimal number>[Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E|e<exp>|E<exp>].
 * Returns 0 and sets *bytes (at most INT64_MAX), or -1 with *why.
 */
int em_size_parse(const char *s, size_t len, int64_t *bytes,
    const char **why);

/* Exact, shortest spelling: "1Gi", "512Mi", "100M", "1000001". */
void em_size_format(int64_t bytes, char *buf, size_t size);

#define EM_UNITS_FORMAT_SIZE  32

#endif /* EM_DISPATCHER_UNITS_H */
