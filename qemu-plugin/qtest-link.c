#include "qtest-link.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int qt_connect(QtLink *q, const char *path, int timeout_ms, QtIrqFn fn, void *opaque)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    memset(q, 0, offsetof(QtLink, buf));
    q->fd = -1;
    q->irq_fn = fn;
    q->opaque = opaque;
    if (strlen(path) >= sizeof sa.sun_path) return -ENAMETOOLONG;
    strcpy(sa.sun_path, path);
    int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) return -errno;
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
            q->fd = fd;
            return 0;
        }
        int e = errno;
        close(fd);
        /* QEMU creates the socket after plugins are installed: wait for it. */
        if ((e != ENOENT && e != ECONNREFUSED) || now_ms() >= deadline) return -e;
        usleep(10000);
    }
}

void qt_close(QtLink *q)
{
    if (q->fd >= 0) close(q->fd);
    q->fd = -1;
    q->broken = true;
}

/* Handles an unsolicited line; returns true if it was one. */
static bool unsolicited(QtLink *q, const char *line)
{
    if (strncmp(line, "IRQ ", 4) != 0) return false;
    /* "IRQ raise N" / "IRQ lower N", parsed by hand: a flood brings
     * thousands of them per DMA */
    const char *p = line + 4;
    bool raised = strncmp(p, "raise ", 6) == 0;
    if (!raised && strncmp(p, "lower ", 6) != 0) return true;
    char *end;
    errno = 0;
    unsigned long irq = strtoul(p + 6, &end, 10);
    if (!errno && end != p + 6 && *end == '\0' && irq <= UINT32_MAX && q->irq_fn)
        q->irq_fn(q->opaque, (unsigned)irq, raised);
    return true;
}

/* The next complete line, NUL-terminated in place (valid until the next
 * fill), or NULL. Lines are consumed by moving an offset, not the buffer:
 * a flood of interrupt lines would otherwise cost one memmove each. */
static char *take_line(QtLink *q)
{
    char *line = q->buf + q->start;
    char *nl = memchr(line, '\n', q->have - q->start);
    if (!nl) return NULL;
    *nl = '\0';
    q->start = (size_t)(nl + 1 - q->buf);
    return line;
}

static int fill(QtLink *q, int timeout_ms)
{
    struct pollfd p = { .fd = q->fd, .events = POLLIN };
    int rc = poll(&p, 1, timeout_ms);
    if (rc < 0) return errno == EINTR ? 0 : -errno;
    if (rc == 0) return -ETIMEDOUT;
    if (q->start) { /* what is left of a line goes to the front */
        memmove(q->buf, q->buf + q->start, q->have - q->start);
        q->have -= q->start;
        q->start = 0;
    }
    if (q->have == sizeof q->buf) return -EPROTO; /* a line longer than any reply */
    ssize_t n = read(q->fd, q->buf + q->have, sizeof q->buf - q->have);
    if (n == 0) return -EPIPE;
    if (n < 0) return errno == EINTR || errno == EAGAIN ? 0 : -errno;
    q->have += (size_t)n;
    return 0;
}

int qt_pump(QtLink *q)
{
    if (q->broken) return -EPIPE;
    for (;;) {
        for (char *line; (line = take_line(q));) unsolicited(q, line);
        int rc = fill(q, 0);
        if (rc == -ETIMEDOUT) return 0;
        if (rc) {
            q->broken = true;
            return rc;
        }
    }
}

int qt_cmd(QtLink *q, char *reply, size_t cap, const char *fmt, ...)
{
    char line[QT_LINE_MAX];
    va_list ap;
    if (q->broken) return -EPIPE;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof line - 1) return -E2BIG;
    line[n++] = '\n';
    for (int off = 0; off < n;) {
        ssize_t w = send(q->fd, line + off, (size_t)(n - off), MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            q->broken = true;
            return -EPIPE;
        }
        off += (int)w;
    }
    int64_t deadline = now_ms() + QT_REPLY_TIMEOUT_MS;
    unsigned irq_lines = 0;
    for (;;) {
        for (char *l; (l = take_line(q));) {
            if (unsolicited(q, l)) {
                irq_lines++;
                continue;
            }
            if (strncmp(l, "OK", 2) == 0) {
                if (reply) snprintf(reply, cap, "%s", l[2] == ' ' ? l + 3 : l + 2);
                return 0;
            }
            if (reply) snprintf(reply, cap, "%s", l);
            return -EIO;
        }
        /* QEMU writes each interrupt line on its own; while a flood comes
         * in ahead of the reply (SMMUv3: two per event record), reading
         * each as it arrives costs a wake-up of this thread and of QEMU's
         * main loop per line or two. A short nap lets a batch gather. */
        if (irq_lines >= QT_FLOOD_LINES) {
            struct timespec nap = { 0, QT_FLOOD_NAP_US * 1000 };
            nanosleep(&nap, NULL);
        }
        int64_t left = deadline - now_ms();
        int rc = left <= 0 ? -ETIMEDOUT : fill(q, (int)left);
        if (rc) {
            /* A late reply would be taken for the next command's: stop here. */
            q->broken = true;
            return rc;
        }
    }
}

static const char *width(unsigned size)
{
    switch (size) {
    case 1: return "b";
    case 2: return "w";
    case 4: return "l";
    case 8: return "q";
    default: return NULL;
    }
}

int qt_read(QtLink *q, uint64_t addr, unsigned size, uint64_t *val)
{
    char r[64];
    const char *w = width(size);
    if (!w) return -EINVAL;
    int rc = qt_cmd(q, r, sizeof r, "read%s 0x%llx", w, (unsigned long long)addr);
    if (rc) return rc;
    char *end;
    errno = 0;
    *val = strtoull(r, &end, 16);
    return errno || end == r ? -EPROTO : 0;
}

int qt_write(QtLink *q, uint64_t addr, unsigned size, uint64_t val)
{
    const char *w = width(size);
    if (!w) return -EINVAL;
    return qt_cmd(q, NULL, 0, "write%s 0x%llx 0x%llx", w, (unsigned long long)addr,
                  (unsigned long long)val);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int qt_read_bytes(QtLink *q, uint64_t addr, uint8_t *buf, size_t len)
{
    char r[QT_LINE_MAX];
    if (len == 0 || len > 4096) return -EINVAL;
    int rc = qt_cmd(q, r, sizeof r, "read 0x%llx %zu", (unsigned long long)addr, len);
    if (rc) return rc;
    if (strncmp(r, "0x", 2) != 0 || strlen(r) != 2 + 2 * len) return -EPROTO;
    for (size_t i = 0; i < len; i++) {
        int hi = hexval(r[2 + 2 * i]), lo = hexval(r[3 + 2 * i]);
        if (hi < 0 || lo < 0) return -EPROTO;
        buf[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

int qt_write_bytes(QtLink *q, uint64_t addr, const uint8_t *buf, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    char data[2 * 4096 + 1];
    if (len == 0 || len > 4096) return -EINVAL;
    for (size_t i = 0; i < len; i++) {
        data[2 * i] = hex[buf[i] >> 4];
        data[2 * i + 1] = hex[buf[i] & 0xf];
    }
    data[2 * len] = '\0';
    return qt_cmd(q, NULL, 0, "write 0x%llx %zu 0x%s", (unsigned long long)addr, len, data);
}

int qt_out(QtLink *q, unsigned port, unsigned size, uint32_t val)
{
    const char *w = width(size);
    if (!w || size == 8 || port > 0xffff) return -EINVAL;
    return qt_cmd(q, NULL, 0, "out%s 0x%x 0x%x", w, port, val);
}
