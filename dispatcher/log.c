/*
 * Text log on stderr.  Each line is formatted in full and written with one
 * write(2) so that lines from different threads (cnats callbacks, the
 * delivery loop) never interleave.
 */

#include "log.h"

#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>


#define EM_LOG_LINE_MAX  4096


em_log_level_t         em_log_current = EM_LOG_INFO;
static em_log_style_t  em_log_style = EM_LOG_STYLE_PLAIN;

static const char *const  em_log_names[] = {
    "error", "warn", "info", "debug"
};


void
em_log_setup(em_log_level_t level, em_log_style_t style)
{
    em_log_current = level;
    em_log_style = style;
}


int
em_log_level_parse(const char *s, em_log_level_t *level)
{
    size_t  i;

    for (i = 0; i < sizeof(em_log_names) / sizeof(em_log_names[0]); i++) {
        if (strcmp(s, em_log_names[i]) == 0) {
            *level = (em_log_level_t) i;
            return 0;
        }
    }

    return -1;
}


const char *
em_log_level_name(em_log_level_t level)
{
    if ((unsigned) level >= sizeof(em_log_names) / sizeof(em_log_names[0])) {
        return "?";
    }

    return em_log_names[level];
}


void
em_log_vwrite(em_log_level_t level, const char *fmt, va_list ap)
{
    char            line[EM_LOG_LINE_MAX];
    size_t          n, room;
    int             r;
    struct timeval  tv;
    struct tm       tm;

    if (level > em_log_current) {
        return;
    }

    if (em_log_style == EM_LOG_STYLE_STAMPED) {
        gettimeofday(&tv, NULL);
        gmtime_r(&tv.tv_sec, &tm);
        r = snprintf(line, sizeof(line),
                     "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %s ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec,
                     (int) (tv.tv_usec / 1000), em_log_level_name(level));

    } else {
        r = snprintf(line, sizeof(line), "event-mesh-dispatcher: %s: ",
                     em_log_level_name(level));
    }

    n = r > 0 ? (size_t) r : 0;

    /* keep one byte for the newline */
    room = sizeof(line) - n - 1;
    r = vsnprintf(line + n, room, fmt, ap);
    if (r > 0) {
        n += (size_t) r < room ? (size_t) r : room - 1;
    }

    line[n++] = '\n';

    /* a failed write to stderr has nowhere left to be reported */
    if (write(STDERR_FILENO, line, n) < 0) {
        return;
    }
}


void
em_log_write(em_log_level_t level, const char *fmt, ...)
{
    va_list  ap;

    va_start(ap, fmt);
    em_log_vwrite(level, fmt, ap);
    va_end(ap);
}
