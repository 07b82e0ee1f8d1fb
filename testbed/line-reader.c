#include "line-reader.h"

#include <poll.h>
#include <string.h>
#include <unistd.h>

char *tb_read_line(int fd, GString *buf, int timeout_ms, bool *timed_out)
{
    gint64 deadline = g_get_monotonic_time() + timeout_ms * 1000ll;
    if (timed_out) *timed_out = false;
    for (;;) {
        char *nl = memchr(buf->str, '\n', buf->len);
        if (nl) {
            char *line = g_strndup(buf->str, (gsize)(nl - buf->str));
            g_string_erase(buf, 0, nl - buf->str + 1);
            return line;
        }
        gint64 left = (deadline - g_get_monotonic_time()) / 1000;
        if (left <= 0) {
            if (timed_out) *timed_out = true;
            return NULL;
        }
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, (int)left) <= 0) continue;
        char chunk[4096];
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n <= 0) return NULL;
        g_string_append_len(buf, chunk, n);
    }
}
