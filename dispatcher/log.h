/*
 * The dispatcher's log: one line per event of note, text on stderr.
 *
 * Credentials never reach this module: callers log server URLs (which the
 * configuration refuses to hold user information) and never the user,
 * password or token values.
 */

#ifndef EM_DISPATCHER_LOG_H
#define EM_DISPATCHER_LOG_H

#include <stdarg.h>

typedef enum {
    EM_LOG_ERROR = 0,
    EM_LOG_WARN,
    EM_LOG_INFO,
    EM_LOG_DEBUG
} em_log_level_t;

typedef enum {
    /* "event-mesh-dispatcher: error: ..." for one-shot commands */
    EM_LOG_STYLE_PLAIN = 0,
    /* "2024-05-01T10:00:00.123Z error ..." for the long-running daemon */
    EM_LOG_STYLE_STAMPED
} em_log_style_t;

extern em_log_level_t  em_log_current;

void em_log_setup(em_log_level_t level, em_log_style_t style);

/* "error", "warn", "info" or "debug"; returns 0 on success, -1 otherwise. */
int em_log_level_parse(const char *s, em_log_level_t *level);
const char *em_log_level_name(em_log_level_t level);

void em_log_write(em_log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void em_log_vwrite(em_log_level_t level, const char *fmt, va_list ap);

/* The arguments are not evaluated when the level is filtered out. */
#define em_log(level, ...)                                                   \
    do {                                                                     \
        if ((level) <= em_log_current) {                                     \
            em_log_write((level), __VA_ARGS__);                              \
        }                                                                    \
    } while (0)

#define em_log_error(...)  em_log(EM_LOG_ERROR, __VA_ARGS__)
#define em_log_warn(...)   em_log(EM_LOG_WARN, __VA_ARGS__)
#define em_log_info(...)   em_log(EM_LOG_INFO, __VA_ARGS__)
#define em_log_debug(...)  em_log(EM_LOG_DEBUG, __VA_ARGS__)

#endif /* EM_DISPATCHER_LOG_H */
