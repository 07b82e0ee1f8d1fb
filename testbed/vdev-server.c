#include "vdev-server.h"

#include <errno.h>
#include <glib-unix.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define LOG_LINES_PER_CONN 20 /* lines about one connection's bad messages, then a count */

typedef struct {
    int fd;
    guint watch, out_watch;
    GQueue *out; /* GBytes kept for a guest that does not read */
    bool dead;   /* its socket failed: the watch frees it */
    bool hello;  /* it said HELLO: it is the guest's service */
    bool fault_event_queued;
    struct smmu_status q[VDEV_FAULT_QUEUE];
    unsigned q_head, q_len;
    bool dropped, armed;
    unsigned logged, suppressed;
} Guest;

struct VdevServer {
    char *path;
    int listen_fd;
    guint listen_watch;
    const VdevOps *ops;
    void *ctx;
    Guest *guest;          /* one at a time */
    bool lost_before;      /* records were lost while they may have been the guest's */
    SmmuMsg *in, *rep, *ev; /* large: one request at a time on this thread */
    uint8_t *in_buf, *out_buf;
};

static gboolean on_guest(gint fd, GIOCondition cond, gpointer data);
static gboolean on_writable(gint fd, GIOCondition cond, gpointer data);

static void vlog(VdevServer *s, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void vlog(VdevServer *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (s->ops->log) s->ops->log(s->ctx, msg);
}

/* A guest sending garbage must not flood the VM's log. */
static void vlog_limited(VdevServer *s, Guest *g, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static void vlog_limited(VdevServer *s, Guest *g, const char *fmt, ...)
{
    if (g->logged >= LOG_LINES_PER_CONN) {
        g->suppressed++;
        return;
    }
    g->logged++;
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (s->ops->log) s->ops->log(s->ctx, msg);
}

static uint16_t op_of(const uint8_t *buf) { return (uint16_t)(buf[6] | buf[7] << 8); }

/* ---- sending: at once when nothing waits before it, else kept in order -- */

static void guest_send(VdevServer *s, Guest *g, const uint8_t *buf, size_t n)
{
    if (g->dead) return;
    if (g_queue_is_empty(g->out)) {
        ssize_t w = send(g->fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w == (ssize_t)n) return;
        if (w >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS && errno != EINTR)) {
            g->dead = true; /* gone: its watch sees the hang-up */
            return;
        }
    }
    if (op_of(buf) == SMMU_EV_FAULT) g->fault_event_queued = true;
    g_queue_push_tail(g->out, g_bytes_new(buf, n));
    if (!g->out_watch) g->out_watch = g_unix_fd_add(g->fd, G_IO_OUT | G_IO_HUP | G_IO_ERR, on_writable, s);
}

static void send_msg(VdevServer *s, Guest *g, const SmmuMsg *m)
{
    int n = smmu_msg_encode(m, true, s->out_buf, SMMU_MSG_MAX);
    if (n < 0) {
        vlog(s, "vdev-smmu: %s reply not encodable (%s)", smmu_op_name(m->hdr.op), g_strerror(-n));
        return;
    }
    guest_send(s, g, s->out_buf, (size_t)n);
}

static void send_event(VdevServer *s, Guest *g, uint16_t op, int32_t code, uint32_t pending, const char *text)
{
    /* one waiting EV_FAULT says all there is to say */
    if (op == SMMU_EV_FAULT && g->fault_event_queued) return;
    memset(s->ev, 0, offsetof(SmmuMsg, entry_buf));
    s->ev->hdr.op = op;
    s->ev->result = code;
    s->ev->pending = pending;
    if (text) {
        g_strlcpy(s->ev->text_buf, text, SMMU_TEXT_MAX + 1);
        s->ev->text = s->ev->text_buf;
        s->ev->text_len = (uint32_t)strlen(s->ev->text_buf);
    }
    send_msg(s, g, s->ev);
}

/* Sends what is kept, waiting for the socket until deadline_us (0: not at all). */
static void flush_until(Guest *g, gint64 deadline_us)
{
    while (!g->dead && !g_queue_is_empty(g->out)) {
        GBytes *b = g_queue_peek_head(g->out);
        gsize n;
        const uint8_t *p = g_bytes_get_data(b, &n);
        if (send(g->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)n) {
            g_bytes_unref(g_queue_pop_head(g->out));
            continue;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS && errno != EINTR) {
            g->dead = true;
            return;
        }
        gint64 left = (deadline_us - g_get_monotonic_time()) / 1000;
        struct pollfd pf = { .fd = g->fd, .events = POLLOUT };
        if (left <= 0 || poll(&pf, 1, (int)left) <= 0) return;
    }
}

static void guest_free(VdevServer *s, Guest *g)
{
    if (g->watch) g_source_remove(g->watch);
    if (g->out_watch) g_source_remove(g->out_watch);
    g_queue_free_full(g->out, (GDestroyNotify)g_bytes_unref);
    close(g->fd);
    if (g->suppressed) vlog(s, "vdev-smmu: %u more line(s) about its messages were suppressed", g->suppressed);
    if (s->guest == g) s->guest = NULL;
    g_free(g);
}

/* The connection ended. After HELLO it was the guest's service: the VM's
 * end (the callback does not return when it ends the process). */
static void guest_ended(VdevServer *s, Guest *g, const char *why)
{
    bool was_service = g->hello;
    guest_free(s, g);
    if (was_service) s->ops->gone(s->ctx, why);
    else vlog(s, "vdev-smmu: a connection that never said HELLO closed (%s); nothing changed", why);
}

static gboolean on_writable(gint fd, GIOCondition cond, gpointer data)
{
    VdevServer *s = data;
    Guest *g = s->guest;
    if (!g || g->fd != fd) return G_SOURCE_REMOVE;
    flush_until(g, 0);
    if (g->dead || ((cond & (G_IO_HUP | G_IO_ERR)) && !g_queue_is_empty(g->out))) {
        g->out_watch = 0;
        guest_ended(s, g, "its connection closed");
        return G_SOURCE_REMOVE;
    }
    if (!g_queue_is_empty(g->out)) return G_SOURCE_CONTINUE;
    g->fault_event_queued = false;
    g->out_watch = 0;
    if (!g->watch) g->watch = g_unix_fd_add(g->fd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_guest, s);
    return G_SOURCE_REMOVE;
}

/* ---- the fault queue: as the host service keeps one per client --------- */

void vdev_server_fault(VdevServer *s, const struct smmu_status *rec)
{
    Guest *g = s->guest;
    if (!g) return;
    if (g->q_len == VDEV_FAULT_QUEUE) {
        g->dropped = true;
        return;
    }
    bool was_empty = g->q_len == 0;
    g->q[(g->q_head + g->q_len) % VDEV_FAULT_QUEUE] = *rec;
    g->q_len++;
    /* the first record after empty turns the guest's descriptor readable;
     * an XFER_NOTIFY registration is one-shot */
    if (g->armed || was_empty) {
        g->armed = false;
        send_event(s, g, SMMU_EV_FAULT, 0, g->q_len, NULL);
    }
}

void vdev_server_lost_records(VdevServer *s)
{
    if (s->guest) s->guest->dropped = true;
}

static int take_record(Guest *g, struct smmu_status *out)
{
    if (!g->q_len) return 0;
    *out = g->q[g->q_head];
    g->q_head = (g->q_head + 1) % VDEV_FAULT_QUEUE;
    g->q_len--;
    if (g->dropped) {
        out->flags |= SSF_DROPPED_FAULTS;
        g->dropped = false;
    }
    return 1;
}

void vdev_page_text(const char *text, uint32_t first, SmmuMsg *r)
{
    const char *p = text, *start = NULL;
    uint32_t line = 0;
    size_t len = 0;
    for (; *p; line++) {
        const char *eol = strchr(p, '\n');
        const char *next = eol ? eol + 1 : p + strlen(p);
        if (line == first) start = p;
        if (start && (size_t)(next - start) <= SMMU_TEXT_MAX) len = (size_t)(next - start);
        else if (start && line == first) len = SMMU_TEXT_MAX; /* a line longer than a reply is cut, not lost */
        p = next;
    }
    r->total = line;
    if (start) memcpy(r->text_buf, start, len);
    r->text_buf[len] = '\0';
    r->text = r->text_buf;
    r->text_len = (uint32_t)len;
}

/* ---- requests ---------------------------------------------------------- */

static void fail_reply(VdevServer *s, Guest *g, uint16_t op, uint32_t seq, int rc, const char *why)
{
    memset(s->rep, 0, offsetof(SmmuMsg, entry_buf));
    s->rep->hdr.op = op;
    s->rep->hdr.seq = seq;
    s->rep->hdr.status = rc;
    g_strlcpy(s->rep->text_buf, why, SMMU_ERROR_TEXT_MAX + 1);
    s->rep->text = s->rep->text_buf;
    s->rep->text_len = (uint32_t)strlen(s->rep->text_buf);
    send_msg(s, g, s->rep);
}

static int handle(VdevServer *s, Guest *g, const SmmuMsg *m, SmmuMsg *r, char *err, size_t errlen)
{
    if (m->hdr.op != SMMU_OP_HELLO && !g->hello) {
        snprintf(err, errlen, "%s before HELLO: say HELLO first (it is what takes the VM's devices out of its "
                              "whole-memory object)", smmu_op_name(m->hdr.op));
        return -EPROTO;
    }
    switch (m->hdr.op) {
    case SMMU_OP_HELLO: {
        int rc = s->ops->hello(s->ctx, err, errlen);
        if (rc) return rc;
        g->hello = true;
        r->client_version = SMMU_PROTO_VERSION;
        r->flags = 0; /* a guest never has the target ability: its addresses are guest-physical */
        return 0;
    }
    case SMMU_OP_XFER_NOTIFY:
        g->armed = true;
        r->pending = g->q_len;
        return 0;
    case SMMU_OP_XFER_STATUS:
        r->have = (uint32_t)take_record(g, &r->record);
        return 0;
    default:
        return s->ops->request(s->ctx, m, r, err, errlen);
    }
}

static gboolean on_guest(gint fd, GIOCondition cond, gpointer data)
{
    VdevServer *s = data;
    Guest *g = s->guest;
    if (!g || g->fd != fd) return G_SOURCE_REMOVE;
    ssize_t n = recv(fd, s->in_buf, SMMU_MSG_MAX + 1, MSG_TRUNC | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return G_SOURCE_CONTINUE;
    if (n <= 0 || g->dead) {
        g->watch = 0;
        guest_ended(s, g, n < 0 ? g_strerror(errno) : "its connection closed");
        return G_SOURCE_REMOVE;
    }
    char err[SMMU_ERROR_TEXT_MAX + 1] = "";
    int rc = n > SMMU_MSG_MAX ? -EMSGSIZE : smmu_msg_decode(s->in_buf, (size_t)n, false, s->in, err, sizeof err);
    if (rc) {
        vlog_limited(s, g, "vdev-smmu: bad message: %s", err[0] ? err : "too large");
        if (n < SMMU_MSG_HDR_SIZE) { /* it cannot be addressed a reply: a guest that cannot frame is dropped */
            g->watch = 0;
            guest_ended(s, g, "it sent a packet shorter than a message header");
            return G_SOURCE_REMOVE;
        }
        uint16_t op = op_of(s->in_buf);
        uint32_t seq = (uint32_t)s->in_buf[8] | (uint32_t)s->in_buf[9] << 8 | (uint32_t)s->in_buf[10] << 16 |
                       (uint32_t)s->in_buf[11] << 24;
        fail_reply(s, g, smmu_op_is_request(op) ? op : SMMU_OP_HELLO, seq, rc, err[0] ? err : "message too large");
    } else {
        memset(s->rep, 0, offsetof(SmmuMsg, entry_buf));
        s->rep->hdr.op = s->in->hdr.op;
        s->rep->hdr.seq = s->in->hdr.seq;
        rc = handle(s, g, s->in, s->rep, err, sizeof err);
        if (rc) {
            vlog_limited(s, g, "vdev-smmu: %s refused: %s (%s)", smmu_op_name(s->in->hdr.op), g_strerror(-rc), err);
            fail_reply(s, g, s->in->hdr.op, s->in->hdr.seq, rc, err);
        } else {
            send_msg(s, g, s->rep);
        }
        /* registered while records were pending: tell at once */
        if (!rc && s->in->hdr.op == SMMU_OP_XFER_NOTIFY && g->armed && g->q_len) {
            g->armed = false;
            send_event(s, g, SMMU_EV_FAULT, 0, g->q_len, NULL);
        }
    }
    if (s->guest != g) return G_SOURCE_REMOVE; /* the request ended it (cannot happen today; cheap to be sure) */
    if (!g_queue_is_empty(g->out)) { /* the reply could not go out yet: read nothing more until it has */
        g->watch = 0;
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

static gboolean on_accept(gint fd, GIOCondition cond, gpointer data)
{
    VdevServer *s = data;
    int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (cfd < 0) return G_SOURCE_CONTINUE;
    if (s->guest) { /* one guest's service at a time: hanging up is all there is to say */
        struct ucred cred = { 0 };
        socklen_t len = sizeof cred;
        getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &len);
        vlog(s, "vdev-smmu: refused a second connection (pid %d): one guest service at a time", (int)cred.pid);
        close(cfd);
        return G_SOURCE_CONTINUE;
    }
    Guest *g = g_new0(Guest, 1);
    g->fd = cfd;
    g->out = g_queue_new();
    s->guest = g;
    g->watch = g_unix_fd_add(cfd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_guest, s);
    return G_SOURCE_CONTINUE;
}

/* ---- the socket ---------------------------------------------------------- */

/* A socket file already there: a live server keeps it (two VMs must never
 * share one vdev-smmu); a stale one, left by a process that died, goes. */
static int claim_path(const char *path, const struct sockaddr_un *sa, char *err, size_t errlen)
{
    struct stat st;
    if (lstat(path, &st) < 0) return errno == ENOENT ? 0 : -errno;
    if (!S_ISSOCK(st.st_mode)) {
        snprintf(err, errlen, "%s: exists and is not a socket", path);
        return -EEXIST;
    }
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    int rc = connect(fd, (const struct sockaddr *)sa, sizeof *sa);
    close(fd);
    if (rc == 0) {
        snprintf(err, errlen, "%s: another process serves this socket", path);
        return -EADDRINUSE;
    }
    unlink(path);
    return 0;
}

int vdev_server_open(const char *path, const VdevOps *ops, void *ctx, VdevServer **out, char *err, size_t errlen)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof sa.sun_path) {
        snprintf(err, errlen, "%s: socket path longer than %zu bytes", path, sizeof sa.sun_path - 1);
        return -ENAMETOOLONG;
    }
    strcpy(sa.sun_path, path);
    int rc = claim_path(path, &sa, err, errlen);
    if (rc) {
        if (!err[0]) snprintf(err, errlen, "%s: %s", path, g_strerror(-rc));
        return rc;
    }
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    /* 0600 from the start: no moment in which another user could connect */
    mode_t old = umask(0177);
    rc = fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ? -errno : 0;
    umask(old);
    if (!rc && (chmod(path, 0600) < 0 || listen(fd, 4) < 0)) rc = -errno;
    if (rc) {
        snprintf(err, errlen, "%s: %s", path, g_strerror(-rc));
        if (fd >= 0) close(fd);
        return rc;
    }
    VdevServer *s = g_new0(VdevServer, 1);
    s->path = g_strdup(path);
    s->listen_fd = fd;
    s->ops = ops;
    s->ctx = ctx;
    s->in = g_new0(SmmuMsg, 1);
    s->rep = g_new0(SmmuMsg, 1);
    s->ev = g_new0(SmmuMsg, 1);
    s->in_buf = g_malloc(SMMU_MSG_MAX + 1);
    s->out_buf = g_malloc(SMMU_MSG_MAX);
    s->listen_watch = g_unix_fd_add(fd, G_IO_IN, on_accept, s);
    *out = s;
    return 0;
}

void vdev_server_tell_end(VdevServer *s, int code, const char *reason)
{
    if (!s || !s->guest) return;
    send_event(s, s->guest, SMMU_EV_DSS, code, 0, reason);
    flush_until(s->guest, g_get_monotonic_time() + VDEV_TELL_END_US);
}

void vdev_server_close(VdevServer *s)
{
    if (!s) return;
    if (s->guest) guest_free(s, s->guest);
    if (s->listen_watch) g_source_remove(s->listen_watch);
    close(s->listen_fd);
    unlink(s->path); /* nobody listens any more: leave no socket for a guest to find */
    g_free(s->path);
    g_free(s->in);
    g_free(s->rep);
    g_free(s->ev);
    g_free(s->in_buf);
    g_free(s->out_buf);
    g_free(s);
}
