/* Log lines go to stderr and, if configured, the log file; debug lines only
 * at the configured debug level. */
#include <stdarg.h>
#include <time.h>

#include "service.h"

void svc_log(Service *s, SmmuLogLevel level, const char *fmt, ...)
{
    static const char *const names[] = { "error", "warn", "info", "debug" };
    if (level == SMMU_LOG_DEBUG && s->cfg.debug == 0) return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    fprintf(stderr, "%s: %s: %s\n", s->prog, names[level], msg);
    if (s->log) {
        fprintf(s->log, "%lld.%03ld %s %s\n", (long long)ts.tv_sec, ts.tv_nsec / 1000000, names[level], msg);
        fflush(s->log);
    }
}
