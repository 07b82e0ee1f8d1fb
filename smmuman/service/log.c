/* Log lines go to stderr and, if configured, the log file; debug lines only
 * at the configured debug level. */
#include <stdarg.h>
#include <time.h>

#include "service.h"

#define LOG_BURST 10             /* lines per cause and interval */
#define LOG_INTERVAL_US 1000000  /* then one summary line per second at most */

static void log_line(Service *s, SmmuLogLevel level, const char *msg)
{
    static const char *const names[] = { "error", "warn", "info", "debug" };
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    fprintf(stderr, "%s: %s: %s\n", s->prog, names[level], msg);
    if (s->log) {
        fprintf(s->log, "%lld.%03ld %s %s\n", (long long)ts.tv_sec, ts.tv_nsec / 1000000, names[level], msg);
        fflush(s->log);
    }
}

static void vlog(Service *s, SmmuLogLevel level, const char *fmt, va_list ap)
{
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    log_line(s, level, msg);
}

void svc_log(Service *s, SmmuLogLevel level, const char *fmt, ...)
{
    if (level == SMMU_LOG_DEBUG && s->cfg.debug == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vlog(s, level, fmt, ap);
    va_end(ap);
}

/* One client sending garbage as fast as it can must not fill the disk or
 * drown every other line: each cause gets a burst per interval, and the
 * first line after a quiet spell says how many were left out. */
void svc_log_limited(Service *s, RateLimit *rl, SmmuLogLevel level, const char *fmt, ...)
{
    if (level == SMMU_LOG_DEBUG && s->cfg.debug == 0) return;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t us = (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
    if (us - rl->window_start_us >= LOG_INTERVAL_US) {
        if (rl->suppressed) {
            char note[128];
            snprintf(note, sizeof note, "(%llu similar line%s suppressed)", (unsigned long long)rl->suppressed,
                     rl->suppressed == 1 ? "" : "s");
            log_line(s, level, note);
        }
        rl->window_start_us = us;
        rl->in_window = 0;
        rl->suppressed = 0;
    }
    if (rl->in_window >= LOG_BURST) {
        rl->suppressed++;
        return;
    }
    rl->in_window++;
    va_list ap;
    va_start(ap, fmt);
    vlog(s, level, fmt, ap);
    va_end(ap);
}
