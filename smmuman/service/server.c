/* Sockets and requests. Two SOCK_SEQPACKET sockets: "attach" for every
 * client, and "target", protected by its file mode, whose clients get the
 * target ability (SMF_TARGET). Peer credentials are recorded per client.
 * Every message is decoded and validated before anything acts on it. */
#include <errno.h>
#include <glib-unix.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../lib/proto.h"
#include "service.h"

static SmmuMsg in_msg, out_msg; /* large; one request at a time on this thread */
static uint8_t in_buf[SMMU_MSG_MAX + 1], out_buf[SMMU_MSG_MAX];

static gboolean on_client(gint fd, GIOCondition cond, gpointer data);
static gboolean on_writable(gint fd, GIOCondition cond, gpointer data);

static uint16_t op_of(const uint8_t *buf) { return (uint16_t)(buf[6] | buf[7] << 8); }

/* Sends at once when nothing waits before it and the socket takes it;
 * otherwise keeps it, in order, and stops reading the client's requests
 * until everything is out: a client that does not read its replies is
 * slowed down, never given fewer replies than requests. */
static void client_send(Client *c, const uint8_t *buf, size_t n)
{
    if (c->dead) return;
    if (g_queue_is_empty(c->out)) {
        ssize_t w = send(c->fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w == (ssize_t)n) return;
        if (w >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS && errno != EINTR)) {
            c->dead = true; /* gone: its watch sees the hang-up and frees it */
            return;
        }
    }
    if (op_of(buf) == SMMU_EV_FAULT) c->fault_event_queued = true;
    g_queue_push_tail(c->out, g_bytes_new(buf, n));
    if (!c->out_watch) c->out_watch = g_unix_fd_add(c->fd, G_IO_OUT | G_IO_HUP | G_IO_ERR, on_writable, c);
}

static void send_msg(Client *c, const SmmuMsg *m, bool is_reply)
{
    int n = smmu_msg_encode(m, is_reply, out_buf, sizeof out_buf);
    if (n < 0) {
        svc_log(c->svc, SMMU_LOG_ERROR, "client %u: %s not encodable (%s)", c->cc->id, smmu_op_name(m->hdr.op),
                g_strerror(-n));
        return;
    }
    client_send(c, out_buf, (size_t)n);
}

void client_send_event(Client *c, uint16_t op, int32_t code, uint32_t pending, const char *text)
{
    static SmmuMsg ev;
    /* one waiting EV_FAULT says all there is to say: the client fetches
     * every record with XFER_STATUS */
    if (op == SMMU_EV_FAULT && c->fault_event_queued) return;
    memset(&ev, 0, offsetof(SmmuMsg, entry_buf));
    ev.hdr.op = op;
    ev.result = code;
    ev.pending = pending;
    if (text) {
        g_strlcpy(ev.text_buf, text, SMMU_TEXT_MAX + 1);
        ev.text = ev.text_buf;
        ev.text_len = (uint32_t)strlen(ev.text_buf);
    }
    send_msg(c, &ev, true);
}

/* Sends what is queued, waiting for the socket until deadline_us
 * (monotonic; 0: not at all). */
void client_flush_until(Client *c, int64_t deadline_us)
{
    while (!c->dead && !g_queue_is_empty(c->out)) {
        GBytes *b = g_queue_peek_head(c->out);
        gsize n;
        const uint8_t *p = g_bytes_get_data(b, &n);
        if (send(c->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)n) {
            g_bytes_unref(g_queue_pop_head(c->out));
            continue;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS && errno != EINTR) {
            c->dead = true; /* gone: its watch frees it */
            return;
        }
        int64_t left = (deadline_us - g_get_monotonic_time()) / 1000;
        struct pollfd pf = { .fd = c->fd, .events = POLLOUT };
        if (left <= 0 || poll(&pf, 1, (int)left) <= 0) return;
    }
}

void client_flush_now(Client *c) { client_flush_until(c, 0); }

static void client_free(Service *s, Client *c)
{
    const unsigned id = c->cc->id;
    const int pid = (int)c->cc->pid;
    core_client_free(c->cc); /* its objects die; their devices go home or to blocked */
    s->clients = g_list_remove(s->clients, c);
    s->n_clients--;
    if (c->watch) g_source_remove(c->watch);
    if (c->out_watch) g_source_remove(c->out_watch);
    g_queue_free_full(c->out, (GDestroyNotify)g_bytes_unref);
    close(c->fd);
    if (c->log_limit.suppressed)
        svc_log(s, SMMU_LOG_WARN, "client %u: %llu more log line(s) about its messages were suppressed", id,
                (unsigned long long)c->log_limit.suppressed);
    svc_log(s, SMMU_LOG_INFO, "client %u (pid %d) gone; its devices are blocked again", id, pid);
    g_free(c);
}

/* Everything queued went out: read requests again. */
static gboolean on_writable(gint fd, GIOCondition cond, gpointer data)
{
    Client *c = data;
    client_flush_now(c);
    if (c->dead || ((cond & (G_IO_HUP | G_IO_ERR)) && !g_queue_is_empty(c->out))) {
        c->out_watch = 0;
        client_free(c->svc, c);
        return G_SOURCE_REMOVE;
    }
    if (!g_queue_is_empty(c->out)) return G_SOURCE_CONTINUE;
    c->fault_event_queued = false;
    c->out_watch = 0;
    if (!c->watch) c->watch = g_unix_fd_add(c->fd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_client, c);
    return G_SOURCE_REMOVE;
}

/* The whole lines of text from line `first` on that fit one reply, and the
 * number of lines in all (docs/protocol.md: the client pages by line). */
static void page_text(const char *text, uint32_t first, SmmuMsg *r)
{
    const char *p = text, *start = NULL;
    uint32_t line = 0;
    size_t len = 0;
    for (; *p; line++) {
        const char *eol = strchr(p, '\n');
        const char *next = eol ? eol + 1 : p + strlen(p);
        if (line == first) start = p;
        /* a line longer than a whole reply is cut rather than never sent */
        if (start && (size_t)(next - start) <= SMMU_TEXT_MAX) len = (size_t)(next - start);
        else if (start && line == first) len = SMMU_TEXT_MAX;
        p = next;
    }
    r->total = line;
    if (start) memcpy(r->text_buf, start, len);
    r->text_buf[len] = '\0';
    r->text = r->text_buf;
    r->text_len = (uint32_t)len;
}

/* A failed reply says why (protocol v3): the request's own message, cut
 * to what a reply may carry. */
static void set_error_text(SmmuMsg *r, const char *why)
{
    g_strlcpy(r->text_buf, why, SMMU_ERROR_TEXT_MAX + 1);
    r->text = r->text_buf;
    r->text_len = (uint32_t)strlen(r->text_buf);
}

/* What the shell says about itself at the top of the status text. */
static void status_text(Service *s, GString *out)
{
    g_string_append_printf(out, "state=running\nvariant=%s\npid=%d\n", s->safety_variant ? "smmuman-safety" : "smmuman",
                           (int)getpid());
    if (s->guest)
        g_string_append_printf(out, "mode=guest\nbackend=vdev-smmu\nsafety=%s\n",
                               s->safety_variant && s->guest_certified ? "yes" : "no");
    else
        g_string_append_printf(out, "mode=host\nlibrary=smmu-%s%s.so\nsafety=%s\n", s->hw->type,
                               s->hw->safety ? "-safety" : "", s->hw->safety && s->safety_variant ? "yes" : "no");
    core_status_text(s->core, out);
    g_string_append_printf(out, "register.accesses=%llu\nlimit.clients=%u\n", (unsigned long long)s->reg_accesses,
                           s->max_clients);
}

/* Handles one decoded request; fills out_msg's body and returns a status. */
static int handle(Service *s, Client *c, const SmmuMsg *m, SmmuMsg *r, char *err, size_t errlen)
{
    CoreClient *cc = c->cc;
    switch (m->hdr.op) {
    case SMMU_OP_HELLO:
        r->client_version = SMMU_PROTO_VERSION;
        r->flags = cc->target ? SMMU_HELLO_TARGET : 0;
        return 0;
    case SMMU_OP_OBJ_CREATE:
        return core_obj_create(cc, m->flags, &r->obj, err, errlen);
    case SMMU_OP_OBJ_DESTROY:
        return core_obj_destroy(cc, m->obj);
    case SMMU_OP_DEVICE_ADD:
        r->result = 0;
        return core_device_add(cc, m->obj, &m->devid, err, errlen);
    case SMMU_OP_REPORT_RESERVED: {
        unsigned total;
        r->n_entries = core_report_reserved(s->core, &m->devid, m->offset, r->entry_buf, m->max, &total);
        r->total = total;
        r->entries = r->entry_buf;
        return 0;
    }
    case SMMU_OP_MAPPING_ADD:
        return core_mapping(cc, m->obj, m->flags, m->entries, m->n_entries, m->target, err, errlen);
    case SMMU_OP_XFER_NOTIFY:
        r->pending = core_notify_arm(cc);
        return 0;
    case SMMU_OP_XFER_STATUS:
        r->have = (uint32_t)core_take_record(cc, &r->record);
        return 0;
    case SMMU_OP_SAFETY:
        r->result = s->safety_variant && (s->guest ? s->guest_certified : s->hw && s->hw->safety) ? SMMUMAN_SAFETY_YES
                                                                                                   : SMMUMAN_SAFETY_NO;
        return 0;
    case SMMU_OP_STATUS:
    case SMMU_OP_OBJECTS: {
        g_autoptr(GString) t = g_string_new(NULL);
        if (m->hdr.op == SMMU_OP_STATUS) status_text(s, t);
        else core_objects_text(s->core, t);
        page_text(t->str, m->offset, r);
        return 0;
    }
    default:
        return -ENOSYS;
    }
}

/* Debug level 2: every request and what became of it. */
static void trace(Service *s, Client *c, const SmmuMsg *m, int rc)
{
    if (s->cfg.debug < 2) return;
    char what[160] = "";
    switch (m->hdr.op) {
    case SMMU_OP_OBJ_CREATE: snprintf(what, sizeof what, " flags=0x%x", m->flags); break;
    case SMMU_OP_OBJ_DESTROY: snprintf(what, sizeof what, " obj=%llu", (unsigned long long)m->obj); break;
    case SMMU_OP_DEVICE_ADD:
    case SMMU_OP_REPORT_RESERVED: {
        char label[40];
        devid_label(&m->devid, label, sizeof label);
        snprintf(what, sizeof what, " obj=%llu device=%s", (unsigned long long)m->obj, label);
        break;
    }
    case SMMU_OP_MAPPING_ADD:
        snprintf(what, sizeof what, " obj=%llu flags=0x%x n=%u first=0x%llx+0x%llx target=0x%llx",
                 (unsigned long long)m->obj, m->flags, m->n_entries, (unsigned long long)m->entries[0].phys,
                 (unsigned long long)m->entries[0].len, (unsigned long long)m->target);
        break;
    default: break;
    }
    svc_log_limited(s, &c->log_limit, SMMU_LOG_DEBUG, "client %u: %s%s -> %s", c->cc->id, smmu_op_name(m->hdr.op), what,
                    rc ? g_strerror(-rc) : "ok");
}

static gboolean on_client(gint fd, GIOCondition cond, gpointer data)
{
    Client *c = data;
    Service *s = c->svc;
    ssize_t n = recv(fd, in_buf, sizeof in_buf, MSG_TRUNC | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return G_SOURCE_CONTINUE;
    if (n <= 0 || c->dead) {
        c->watch = 0;
        client_free(s, c);
        return G_SOURCE_REMOVE;
    }
    char err[256] = "";
    int rc = n > SMMU_MSG_MAX ? -EMSGSIZE : smmu_msg_decode(in_buf, (size_t)n, false, &in_msg, err, sizeof err);
    if (rc) {
        /* Reply if the header can be trusted enough to address one;
         * a client that cannot frame its messages is dropped. */
        svc_log_limited(s, &c->log_limit, SMMU_LOG_WARN, "client %u (pid %d): bad message: %s", c->cc->id, (int)c->cc->pid,
                        err[0] ? err : "too large");
        if (n < SMMU_MSG_HDR_SIZE) {
            c->watch = 0;
            client_free(s, c);
            return G_SOURCE_REMOVE;
        }
        memset(&out_msg, 0, offsetof(SmmuMsg, entry_buf));
        /* header fields, little-endian on the wire (docs/protocol.md) */
        uint16_t op = op_of(in_buf);
        out_msg.hdr.seq = (uint32_t)in_buf[8] | (uint32_t)in_buf[9] << 8 | (uint32_t)in_buf[10] << 16 |
                          (uint32_t)in_buf[11] << 24;
        out_msg.hdr.op = smmu_op_is_request(op) ? op : SMMU_OP_HELLO;
        out_msg.hdr.status = rc;
        set_error_text(&out_msg, err[0] ? err : "message too large");
        send_msg(c, &out_msg, true);
    } else {
        memset(&out_msg, 0, offsetof(SmmuMsg, entry_buf));
        out_msg.hdr.op = in_msg.hdr.op;
        out_msg.hdr.seq = in_msg.hdr.seq;
        rc = handle(s, c, &in_msg, &out_msg, err, sizeof err);
        trace(s, c, &in_msg, rc);
        if (rc) {
            svc_log_limited(s, &c->log_limit, SMMU_LOG_DEBUG, "client %u: %s: %s (%s)", c->cc->id,
                            smmu_op_name(in_msg.hdr.op), g_strerror(-rc), err);
            memset(&out_msg, 0, offsetof(SmmuMsg, entry_buf));
            out_msg.hdr.op = in_msg.hdr.op;
            out_msg.hdr.seq = in_msg.hdr.seq;
            out_msg.hdr.status = rc;
            set_error_text(&out_msg, err);
        }
        send_msg(c, &out_msg, true);
        /* a queued request came in while records were pending: tell at once */
        if (in_msg.hdr.op == SMMU_OP_XFER_NOTIFY && core_take_armed(c->cc))
            client_send_event(c, SMMU_EV_FAULT, 0, c->cc->q_len, NULL);
    }
    /* the reply could not go out yet: read nothing more until it has */
    if (!g_queue_is_empty(c->out)) {
        c->watch = 0;
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

static gboolean on_accept(gint fd, GIOCondition cond, gpointer data)
{
    Service *s = data;
    int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (cfd < 0) return G_SOURCE_CONTINUE;
    struct ucred cred = { 0 };
    socklen_t len = sizeof cred;
    getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &len);
    if (s->n_clients >= s->max_clients) {
        /* hanging up at once is all a full service can say */
        svc_log_limited(s, &s->accept_limit, SMMU_LOG_WARN, "refused a client (pid %d): %u clients, the maximum",
                        (int)cred.pid, s->n_clients);
        close(cfd);
        return G_SOURCE_CONTINUE;
    }
    Client *c = g_new0(Client, 1);
    c->svc = s;
    c->fd = cfd;
    c->cc = core_client_new(s->core, c, fd == s->target_fd, cred.pid, cred.uid, cred.gid);
    c->out = g_queue_new();
    s->clients = g_list_append(s->clients, c);
    s->n_clients++;
    c->watch = g_unix_fd_add(cfd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_client, c);
    svc_log(s, SMMU_LOG_INFO, "client %u attached (pid %d uid %d%s)", c->cc->id, (int)c->cc->pid, (int)c->cc->uid,
            c->cc->target ? ", target ability" : "");
    return G_SOURCE_CONTINUE;
}

static int listen_on(const char *path, mode_t mode, int *out, char **made_dir, char *err, size_t errlen)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof sa.sun_path) {
        snprintf(err, errlen, "socket path too long: %s", path);
        return -ENAMETOOLONG;
    }
    strcpy(sa.sun_path, path);
    g_autofree char *dir = g_path_get_dirname(path);
    /* a directory made for the socket goes with it (DSS): nothing is left
     * behind in /run for the default sockets */
    if (!g_file_test(dir, G_FILE_TEST_IS_DIR) && g_mkdir_with_parents(dir, 0755) == 0) *made_dir = g_strdup(dir);
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    unlink(path);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || chmod(path, mode) < 0 || listen(fd, 64) < 0) {
        int e = errno;
        snprintf(err, errlen, "%s: %s", path, g_strerror(e));
        if (fd >= 0) close(fd);
        return -e;
    }
    *out = fd;
    return 0;
}

int svc_listen(Service *s, char *err, size_t errlen)
{
    /* Attaching is open to every local process (the "smmu/attach" ability);
     * the target ability is whoever the file mode lets in. */
    int rc = listen_on(s->cfg.attach_socket, 0666, &s->attach_fd, &s->made_dirs[0], err, errlen);
    if (!rc) rc = listen_on(s->cfg.target_socket, s->cfg.target_mode, &s->target_fd, &s->made_dirs[1], err, errlen);
    if (rc) return rc;
    g_unix_fd_add(s->attach_fd, G_IO_IN, on_accept, s);
    g_unix_fd_add(s->target_fd, G_IO_IN, on_accept, s);
    return 0;
}
