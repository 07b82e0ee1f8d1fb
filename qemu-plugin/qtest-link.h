/* The agent's connection to QEMU's own qtest port. Every line it sends has
 * been validated by the caller; replies are awaited with a bound, and "IRQ"
 * lines that arrive in between are handed to a callback. */
#ifndef AGENT_QTEST_LINK_H
#define AGENT_QTEST_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QT_REPLY_TIMEOUT_MS 10000
#define QT_LINE_MAX         (2 * 4096 + 64) /* "OK 0x" + 4 KiB of hex */
/* Past this many interrupt lines ahead of one reply, the wait for it naps
 * QT_FLOOD_NAP_US between reads, so that a flood is read in batches. */
#define QT_FLOOD_LINES  16
#define QT_FLOOD_NAP_US 100

typedef void (*QtIrqFn)(void *opaque, unsigned irq, bool raised);

typedef struct {
    int fd;
    bool broken; /* a reply timed out or the socket failed: stream out of sync */
    size_t start, have; /* unread bytes are buf[start..have) */
    char buf[4 * QT_LINE_MAX];
    QtIrqFn irq_fn;
    void *opaque;
} QtLink;

/* Connects, retrying while QEMU creates the socket, for at most timeout_ms. */
int qt_connect(QtLink *q, const char *path, int timeout_ms, QtIrqFn fn, void *opaque);
void qt_close(QtLink *q);
/* Sends one line and waits for its reply; reply gets the text after "OK"
 * (may be NULL). -EIO on FAIL/ERR (message in reply), -ETIMEDOUT, -EPIPE. */
int qt_cmd(QtLink *q, char *reply, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Reads whatever is pending without blocking and dispatches IRQ lines. */
int qt_pump(QtLink *q);

int qt_read(QtLink *q, uint64_t addr, unsigned size, uint64_t *val);
int qt_write(QtLink *q, uint64_t addr, unsigned size, uint64_t val);
int qt_read_bytes(QtLink *q, uint64_t addr, uint8_t *buf, size_t len);
int qt_write_bytes(QtLink *q, uint64_t addr, const uint8_t *buf, size_t len);
int qt_out(QtLink *q, unsigned port, unsigned size, uint32_t val);

#endif
