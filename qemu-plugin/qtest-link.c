#include "qtest-link.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
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
    unsigned irq;
    char what[8];
    if (strncmp(line, "IRQ ", 4) != 0) return false;
    if (sscanf(line, "IRQ %7s %u", what, &irq) == 2 && q->irq_fn)
        q->irq_fn(q->opaque, irq, strcmp(what, "raise") == 0);
    return true;
}

/* Takes one complete line out of the buffer into out (NUL-terminated). */
static bool take_line(QtLink *q, char *out, size_t cap)
{
    char *nl = memchr(q->buf, '\n', q->have);
    if (!nl) return false;
    size_t n = (size_t)(nl - q->buf);
    size_t c = n < cap - 1 ? n : cap - 1;
    memcpy(out, q->buf, c);
    out[c] = '\0';
    memmove(q->buf, nl + 1, q->have - n - 1);
    q->have -= n + 1;
    return true;
}

static int fill(QtLink *q, int timeout_ms)
{
    struct pollfd p = { .fd = q->fd, .events = POLLIN };
    int rc = poll(&p, 1, timeout_ms);
    if (rc < 0) return errno == EINTR ? 0 : -errno;
    if (rc == 0) return -ETIMEDOUT;
    if (q->have == sizeof q->buf) return -EPROTO; /* a line longer than any reply */
    ssize_t n = read(q->fd, q->buf + q->have, sizeof q->buf - q->have);
    if (n == 0) return -EPIPE;
    if (n < 0) return errno == EINTR || errno == EAGAIN ? 0 : -errno;
    q->have += (size_t)n;
    return 0;
}

int qt_pump(QtLink *q)
{
    char line[QT_LINE_MAX];
    if (q->broken) return -EPIPE;
    for (;;) {
        while (take_line(q, line, sizeof line)) unsolicited(q, line);
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
    for (;;) {
        while (take_line(q, line, sizeof line)) {
            if (unsolicited(q, line)) continue;
            if (strncmp(line, "OK", 2) == 0) {
                if (reply) snprintf(reply, cap, "%s", line[2] == ' ' ? line + 3 : line + 2);
                return 0;
            }
            if (reply) snprintf(reply, cap, "%s", line);
            return -EIO;
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
