/* libsmmu: the client side of smmuman (smmu.h).
 *
 * One connection per process, made by smmu_init(). Requests are serialised,
 * one in flight at a time, and the calling thread reads its own reply
 * (handling any event that comes first): a reply costs no thread hand-off.
 * Between requests a reader thread watches the socket, so events (fault
 * notifications, DSS) are handled when they come and a SIGEV_SIGNAL or
 * SIGEV_THREAD notification does not wait for the application to call in.
 *
 * When the service goes away, by a Design Safe State (an EV_DSS event with
 * its reason, then the connection closes) or without a word (killed, or
 * crashed), every waiter is woken: the descriptor of smmu_xfer_fd() turns
 * readable for good, an armed smmu_xfer_notify() registration fires, every
 * later call fails with EIO, and smmu_dss_reason() says why. A client that
 * sleeps until a fault would otherwise sleep through the loss of its
 * protection. */
#include <poll.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "proto.h"
#include "smmu.h"

#define SMMU_EXPORT __attribute__((visibility("default")))
#define REPLY_TIMEOUT_S 30 /* the service answers in microseconds; this is for a hung one */

struct smmu_object {
    uint64_t id;
    struct smmu_object *next; /* live objects, so that smmu_fini() can tear them down */
};

static struct {
    pthread_mutex_t lock;     /* guards everything below */
    pthread_mutex_t request;  /* one request in flight */
    pthread_cond_t idle;      /* in_flight went false, or stopping */
    int fd, efd;
    bool up, dead, stopping;
    bool in_flight;           /* the caller reads the socket; the reader keeps off */
    pthread_t reader;
    uint32_t seq;
    SmmuMsg *reply, *req, *ev;
    struct smmu_object *objects;
    bool armed;
    struct sigevent notify;
    char dss[SMMU_TEXT_MAX + 1]; /* why the service is gone: set once, with dead */
} L = { .lock = PTHREAD_MUTEX_INITIALIZER, .request = PTHREAD_MUTEX_INITIALIZER,
        .idle = PTHREAD_COND_INITIALIZER, .fd = -1, .efd = -1 };

static void *notify_thread(void *arg)
{
    struct sigevent *ev = arg;
    ev->sigev_notify_function(ev->sigev_value);
    free(ev);
    return NULL;
}

/* Called with L.lock held. */
static void deliver_notification(void)
{
    if (!L.armed) return;
    L.armed = false;
    struct sigevent ev = L.notify;
    if (ev.sigev_notify == SIGEV_SIGNAL) {
        sigqueue(getpid(), ev.sigev_signo, ev.sigev_value);
    } else if (ev.sigev_notify == SIGEV_THREAD) {
        struct sigevent *copy = malloc(sizeof *copy);
        pthread_t t;
        pthread_attr_t def, *attr = ev.sigev_notify_attributes;
        if (!copy) return;
        *copy = ev;
        if (!attr) {
            pthread_attr_init(&def);
            attr = &def;
        }
        pthread_attr_setdetachstate(attr, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&t, attr, notify_thread, copy) != 0) free(copy);
        if (attr == &def) pthread_attr_destroy(&def);
    }
}

static void wake_fd(void)
{
    uint64_t one = 1;
    if (write(L.efd, &one, sizeof one) < 0) { /* counter full: already readable */ }
}

/* The service is gone: remember why (the first reason wins: an EV_DSS is
 * followed by the connection closing) and wake whoever waits, by the
 * descriptor and by the registered notification. Called with L.lock held. */
static void gone(const char *reason)
{
    if (L.dead) return;
    snprintf(L.dss, sizeof L.dss, "%s", reason);
    L.dead = true;
    wake_fd();
    deliver_notification();
}

/* Handles one received event (called with L.lock held). */
static void handle_event(const SmmuMsg *m)
{
    if (m->hdr.op == SMMU_EV_FAULT) {
        if (m->pending) wake_fd();
        deliver_notification();
    } else if (m->hdr.op == SMMU_EV_DSS) {
        gone(m->text && m->text[0] ? m->text : "Design Safe State (the service gave no reason)");
    }
}

/* Reads one packet without blocking into L.ev: 1 got one, 0 none yet, -1
 * the service is gone or spoke nonsense (gone() called). L.lock held. */
static int receive(void)
{
    static uint8_t buf[SMMU_MSG_MAX + 1];
    char err[200] = "";
    ssize_t n = recv(L.fd, buf, sizeof buf, MSG_TRUNC | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return 0;
    if (n <= 0) {
        gone(SMMU_REASON_LOST);
        return -1;
    }
    if (n > SMMU_MSG_MAX || smmu_msg_decode(buf, (size_t)n, true, L.ev, err, sizeof err)) {
        /* the two sides disagree about the format: nothing it says can be
         * trusted any more (docs/protocol.md) */
        char why[300];
        snprintf(why, sizeof why, "%s: it sent what this library cannot decode (%s)", SMMU_REASON_LOST,
                 err[0] ? err : "oversized packet");
        gone(why);
        return -1;
    }
    return 1;
}

static void *reader(void *arg)
{
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&L.lock);
        while (L.in_flight && !L.stopping) pthread_cond_wait(&L.idle, &L.lock);
        bool stop = L.stopping || L.dead;
        pthread_mutex_unlock(&L.lock);
        if (stop) return NULL;
        struct pollfd p = { .fd = L.fd, .events = POLLIN };
        if (poll(&p, 1, -1) < 0 && errno != EINTR) return NULL;
        pthread_mutex_lock(&L.lock);
        /* a request went out meanwhile: what arrived is its caller's to read */
        if (!L.in_flight && !L.stopping && receive() == 1) handle_event(L.ev);
        pthread_mutex_unlock(&L.lock);
    }
}

/* Sends L.req and reads until its reply is in L.reply. Returns 0 or -errno
 * (the reply's status, or the failure to get one). Caller holds L.request. */
static int transact(void)
{
    static uint8_t buf[SMMU_MSG_MAX];
    pthread_mutex_lock(&L.lock);
    if (!L.up || L.dead) {
        pthread_mutex_unlock(&L.lock);
        return L.up ? -EIO : -ENOTCONN;
    }
    L.req->hdr.seq = ++L.seq ? L.seq : ++L.seq;
    L.in_flight = true;
    pthread_mutex_unlock(&L.lock);
    int status = 0;
    int n = smmu_msg_encode(L.req, false, buf, sizeof buf);
    if (n < 0) status = n;
    else if (send(L.fd, buf, (size_t)n, MSG_NOSIGNAL) != n) {
        /* SO_SNDTIMEO bounds a send to a service that stopped reading */
        if (errno == EAGAIN || errno == EWOULDBLOCK) status = -ETIMEDOUT;
        else {
            status = -EIO;
            pthread_mutex_lock(&L.lock);
            gone(SMMU_REASON_LOST);
            pthread_mutex_unlock(&L.lock);
        }
    }
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (status == 0) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        long left = REPLY_TIMEOUT_S * 1000 - ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000);
        if (left <= 0) {
            status = -ETIMEDOUT;
            break;
        }
        struct pollfd p = { .fd = L.fd, .events = POLLIN };
        if (poll(&p, 1, (int)left) <= 0) continue;
        pthread_mutex_lock(&L.lock);
        int got = receive();
        if (got == 1 && smmu_op_is_event(L.ev->hdr.op)) handle_event(L.ev);
        else if (got == 1 && L.ev->hdr.seq == L.req->hdr.seq) {
            SmmuMsg *t = L.reply; /* swap rather than copy 130 KiB */
            L.reply = L.ev;
            L.ev = t;
            got = 2;
        }
        if (L.dead) status = -EIO;
        pthread_mutex_unlock(&L.lock);
        if (got == 2) {
            status = L.reply->hdr.status;
            break;
        }
    }
    pthread_mutex_lock(&L.lock);
    L.in_flight = false;
    pthread_cond_broadcast(&L.idle);
    pthread_mutex_unlock(&L.lock);
    return status;
}

static void new_request(uint16_t op)
{
    memset(L.req, 0, offsetof(SmmuMsg, entry_buf));
    L.req->hdr.op = op;
}

static int fail(int rc)
{
    errno = -rc;
    return -1;
}

SMMU_EXPORT int smmu_init(unsigned flags)
{
    if (flags) return fail(-EINVAL); /* QNX: "Must be 0" */
    if (L.up) return L.dead ? fail(-EIO) : 0; /* one connection; a dead one until smmu_fini() */
    const char *path = getenv("SMMU_SOCKET");
    if (!path || !*path) path = SMMU_DEFAULT_SOCKET;
    /* an ability's name stands for the default socket that grants it */
    if (strcmp(path, SMMU_ABILITY_ATTACH_NAME) == 0) path = SMMU_DEFAULT_SOCKET;
    else if (strcmp(path, SMMU_ABILITY_TARGET_NAME) == 0) path = SMMU_DEFAULT_TARGET_SOCKET;
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof sa.sun_path) return fail(-ENAMETOOLONG);
    strcpy(sa.sun_path, path);
    if (!L.req) {
        L.req = calloc(1, sizeof *L.req);
        L.reply = calloc(1, sizeof *L.reply);
        L.ev = calloc(1, sizeof *L.ev);
        if (!L.req || !L.reply || !L.ev) return fail(-ENOMEM);
    }
    L.fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (L.fd < 0) return -1;
    if (connect(L.fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        int e = errno;
        close(L.fd);
        L.fd = -1;
        return fail(-e);
    }
    struct timeval snd = { .tv_sec = REPLY_TIMEOUT_S };
    setsockopt(L.fd, SOL_SOCKET, SO_SNDTIMEO, &snd, sizeof snd);
    L.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    L.dead = false;
    L.stopping = false;
    L.in_flight = false;
    L.dss[0] = '\0';
    if (L.efd < 0 || pthread_create(&L.reader, NULL, reader, NULL) != 0) {
        int e = errno ? errno : EAGAIN;
        close(L.fd);
        if (L.efd >= 0) close(L.efd);
        L.fd = L.efd = -1;
        return fail(-e);
    }
    L.up = true;
    pthread_mutex_lock(&L.request);
    new_request(SMMU_OP_HELLO);
    L.req->client_version = SMMU_PROTO_VERSION;
    int rc = transact();
    pthread_mutex_unlock(&L.request);
    if (rc) {
        smmu_fini();
        return fail(rc);
    }
    return 0;
}

SMMU_EXPORT void smmu_fini(void)
{
    if (!L.up) return;
    /* Destroy every object we still hold, each confirmed by the service,
     * before hanging up: when smmu_fini() returns, no device can reach the
     * buffers any more, so the caller may free them at once. (Hanging up
     * alone would leave that to the service, a moment later.) */
    while (L.objects) smmu_obj_destroy(L.objects);
    pthread_mutex_lock(&L.lock);
    L.stopping = true;
    pthread_cond_broadcast(&L.idle);
    pthread_mutex_unlock(&L.lock);
    shutdown(L.fd, SHUT_RDWR); /* wakes the reader's poll */
    pthread_join(L.reader, NULL);
    close(L.fd);
    close(L.efd);
    L.fd = L.efd = -1;
    L.up = false;
    L.armed = false;
}

SMMU_EXPORT struct smmu_object *smmu_obj_create(unsigned flags)
{
    struct smmu_object *o = malloc(sizeof *o);
    if (!o) return NULL;
    pthread_mutex_lock(&L.request);
    new_request(SMMU_OP_OBJ_CREATE);
    L.req->flags = flags;
    int rc = transact();
    o->id = L.reply->obj;
    pthread_mutex_unlock(&L.request);
    if (rc) {
        free(o);
        errno = -rc;
        return NULL;
    }
    pthread_mutex_lock(&L.lock);
    o->next = L.objects;
    L.objects = o;
    pthread_mutex_unlock(&L.lock);
    return o;
}

SMMU_EXPORT void smmu_obj_destroy(struct smmu_object *obj)
{
    if (!obj) return;
    pthread_mutex_lock(&L.lock);
    for (struct smmu_object **p = &L.objects; *p; p = &(*p)->next)
        if (*p == obj) {
            *p = obj->next;
            break;
        }
    pthread_mutex_unlock(&L.lock);
    pthread_mutex_lock(&L.request);
    new_request(SMMU_OP_OBJ_DESTROY);
    L.req->obj = obj->id;
    transact();
    pthread_mutex_unlock(&L.request);
    free(obj);
}

SMMU_EXPORT int smmu_device_add_generic(struct smmu_object *obj, const union smmu_devid *devid)
{
    if (!devid) return fail(-EINVAL);
    pthread_mutex_lock(&L.request);
    new_request(SMMU_OP_DEVICE_ADD);
    L.req->obj = obj ? obj->id : 0;
    L.req->devid = *devid;
    int rc = transact();
    pthread_mutex_unlock(&L.request);
    return rc ? fail(rc) : 0;
}

SMMU_EXPORT int smmu_device_add_pci(struct smmu_object *obj, unsigned bus, unsigned dev, unsigned func)
{
    union smmu_devid id;
    memset(&id, 0, sizeof id);
    id.pci = (struct smmu_devid_pci){ SDT_PCI, bus, dev, func };
    return smmu_device_add_generic(obj, &id);
}

SMMU_EXPORT int smmu_device_add_mmio(struct smmu_object *obj, uint64_t phys, unsigned len)
{
    union smmu_devid id;
    memset(&id, 0, sizeof id);
    id.mmio = (struct smmu_devid_mmio){ SDT_MMIO, len, phys };
    return smmu_device_add_generic(obj, &id);
}

/* QNX's contract: (unsigned)-1 and errno; 0 when offset is past the last
 * region; else the number of regions from offset on, which exceeds nresv
 * when more remain (only nresv are written), so that a caller pages with an
 * ever-increasing offset until 0. A reply carries at most
 * SMMU_RESERVED_MAX_ENTRIES entries: a larger nresv takes several requests,
 * each checked against the first reply's total (the configuration does not
 * change while the service runs; a service that says otherwise is not
 * believed). */
SMMU_EXPORT unsigned smmu_device_report_reserved(const union smmu_devid *devid, unsigned offset,
                                                 struct smmu_map_entry *resv, unsigned nresv)
{
    if (!devid || (nresv && !resv)) {
        errno = EINVAL;
        return (unsigned)-1;
    }
    uint32_t total = 0, want = 0, got = 0;
    int rc;
    pthread_mutex_lock(&L.request);
    for (bool first = true;; first = false) {
        new_request(SMMU_OP_REPORT_RESERVED);
        L.req->devid = *devid;
        L.req->offset = offset + got;
        uint32_t left = nresv - got;
        L.req->max = left < SMMU_RESERVED_MAX_ENTRIES ? left : SMMU_RESERVED_MAX_ENTRIES;
        if ((rc = transact())) break;
        if (first) {
            total = L.reply->total;
            want = total > offset ? total - offset : 0;
            if (want > nresv) want = nresv;
        } else if (L.reply->total != total) {
            rc = -EPROTO;
            break;
        }
        uint32_t n = L.reply->n_entries;
        if (n > want - got) n = want - got; /* never more than the caller's room */
        if (n == 0 && got < want) { /* no progress: the service contradicts its total */
            rc = -EPROTO;
            break;
        }
        for (uint32_t i = 0; i < n; i++) resv[got + i] = L.reply->entries[i];
        got += n;
        if (got >= want) break;
    }
    pthread_mutex_unlock(&L.request);
    if (rc) {
        errno = -rc;
        return (unsigned)-1;
    }
    return total > offset ? total - offset : 0;
}

SMMU_EXPORT int smmu_mapping_add(struct smmu_object *obj, unsigned flags, pid_t pid, unsigned n,
                                 const struct smmu_map_entry *entries, uint64_t target)
{
    if (!obj || !entries || n == 0 || n > SMMU_MAP_MAX_ENTRIES) return fail(-EINVAL);
    pthread_mutex_lock(&L.request);
    new_request(SMMU_OP_MAPPING_ADD);
    L.req->obj = obj->id;
    L.req->flags = flags;
    L.req->pid = (int32_t)pid;
    L.req->target = target;
    L.req->n_entries = n;
    L.req->entries = entries;
    int rc = transact();
    pthread_mutex_unlock(&L.request);
    return rc ? fail(rc) : 0;
}

SMMU_EXPORT int smmu_xfer_notify(const struct sigevent *ev)
{
    if (!ev || (ev->sigev_notify != SIGEV_SIGNAL && ev->sigev_notify != SIGEV_THREAD && ev->sigev_notify != SIGEV_NONE) ||
        (ev->sigev_notify == SIGEV_THREAD && !ev->sigev_notify_function))
        return fail(-EINVAL);
    pthread_mutex_lock(&L.lock);
    L.notify = *ev;
    L.armed = true;
    pthread_mutex_unlock(&L.lock);
    pthread_mutex_lock(&L.request);
    new_request(SMMU_OP_XFER_NOTIFY);
    int rc = transact();
    pthread_mutex_unlock(&L.request);
    if (rc) {
        pthread_mutex_lock(&L.lock);
        L.armed = false;
        pthread_mutex_unlock(&L.lock);
        return fail(rc);
    }
    return 0;
}

SMMU_EXPORT int smmu_xfer_status(struct smmu_status *status)
{
    if (!status) return fail(-EINVAL);
    pthread_mutex_lock(&L.request);
    /* The descriptor is cleared before asking, not after the answer: the
     * notice of a record that arrives once the service has answered "none"
     * then sets it again. Cleared after the answer, that notice (handled by
     * the reader thread in between) was swallowed, and a caller polling the
     * descriptor slept with a record pending. */
    uint64_t v;
    if (read(L.efd, &v, sizeof v) < 0) { /* already clear */ }
    new_request(SMMU_OP_XFER_STATUS);
    int rc = transact();
    int have = !rc && L.reply->have;
    if (have) *status = L.reply->record;
    /* a record (more may follow), or no answer (a gone service keeps the
     * descriptor readable for good): readable again */
    if (rc || have) wake_fd();
    pthread_mutex_unlock(&L.request);
    if (rc) return fail(rc);
    return have;
}

SMMU_EXPORT int smmu_safety(void)
{
    pthread_mutex_lock(&L.request);
    new_request(SMMU_OP_SAFETY);
    int rc = transact();
    int result = L.reply->result;
    pthread_mutex_unlock(&L.request);
    if (rc) {
        errno = -rc; /* QNX: SMMUMAN_SAFETY_ERROR with errno set */
        return SMMUMAN_SAFETY_ERROR;
    }
    return result;
}

SMMU_EXPORT int smmu_xfer_fd(void)
{
    if (!L.up) return fail(-ENOTCONN);
    return L.efd;
}

/* The text is written once, under the lock, before dead is set, and left
 * alone until the next smmu_init(): the pointer stays good. */
SMMU_EXPORT const char *smmu_dss_reason(void)
{
    pthread_mutex_lock(&L.lock);
    const char *why = L.dead && L.dss[0] ? L.dss : NULL;
    pthread_mutex_unlock(&L.lock);
    return why;
}

/* Ours, for tools (smmuctl, benchmarks): the STATUS and OBJECTS texts. Not
 * in smmu.h. A reply holds the whole lines that fit one message; the text
 * is read page by page, by line offset, until the reply's total of lines is
 * reached. Bounded: every page must bring at least one line, and every
 * reply must give the same total: a text whose line count changes while it
 * is read (a client came or went) fails with EAGAIN, to be asked again. */
SMMU_EXPORT char *smmu_query_text_alloc(int op);
SMMU_EXPORT int smmu_query_text(int op, char *buf, size_t len);

char *smmu_query_text_alloc(int op)
{
    if (op != SMMU_OP_STATUS && op != SMMU_OP_OBJECTS) {
        errno = EINVAL;
        return NULL;
    }
    char *text = malloc(1);
    size_t len = 0;
    uint32_t lines = 0, total = 0;
    int rc = text ? 0 : -ENOMEM;
    pthread_mutex_lock(&L.request);
    for (bool first = true; !rc; first = false) {
        new_request((uint16_t)op);
        L.req->offset = lines;
        if ((rc = transact())) break;
        if (first) total = L.reply->total;
        else if (L.reply->total != total) {
            rc = -EAGAIN;
            break;
        }
        const char *t = L.reply->text ? L.reply->text : "";
        size_t n = L.reply->text_len;
        uint32_t k = 0;
        for (size_t i = 0; i < n; i++) k += t[i] == '\n';
        bool cut = n && t[n - 1] != '\n'; /* a line longer than a reply, cut by the service */
        k += cut;
        if (k == 0 && lines >= total) break; /* an empty text */
        if (k == 0 || lines + k > total) { /* no progress, or more lines than there are */
            rc = -EPROTO;
            break;
        }
        char *grown = realloc(text, len + n + 2);
        if (!grown) {
            rc = -ENOMEM;
            break;
        }
        text = grown;
        memcpy(text + len, t, n);
        len += n;
        if (cut) text[len++] = '\n'; /* keep the next line a line of its own */
        lines += k;
        if (lines >= total) break;
    }
    pthread_mutex_unlock(&L.request);
    if (rc) {
        free(text);
        errno = -rc;
        return NULL;
    }
    text[len] = '\0';
    return text;
}

/* The whole text into buf, or -1 with ERANGE when it does not fit (never
 * a silently shortened text). */
int smmu_query_text(int op, char *buf, size_t len)
{
    char *text = smmu_query_text_alloc(op);
    if (!text) return -1;
    size_t n = strlen(text);
    if (n >= len) {
        free(text);
        return fail(-ERANGE);
    }
    memcpy(buf, text, n + 1);
    free(text);
    return 0;
}
