/* libsmmu: the client side of smmuman (smmu.h).
 *
 * A connection is a value (struct smmu_conn): its own socket, reader
 * thread, request and reply buffers, fault descriptor, notification
 * registration, object list and DSS reason. A process may hold several: a
 * VM manager is a client of the host's service and serves its guest's
 * at the same time. QNX's calls (smmu_init(), smmu_obj_create(), ...) work
 * on one of them, the default connection, made by smmu_init(); they are
 * the smmu_conn_*() calls with that connection first. The pointer to it is
 * the library's only global mutable state.
 *
 * Per connection, requests are serialised, one in flight at a time, and
 * the calling thread reads its own reply (handling any event that comes
 * first): a reply costs no thread hand-off. Between requests the
 * connection's reader thread watches the socket, so events (fault
 * notifications, DSS) are handled when they come and a SIGEV_SIGNAL or
 * SIGEV_THREAD notification does not wait for the application to call in.
 * Two connections share nothing: a request on one never waits for the
 * other.
 *
 * When the service goes away, by a Design Safe State (an EV_DSS event with
 * its reason, then the connection closes) or without a word (killed, or
 * crashed), every waiter on that connection is woken: its descriptor
 * turns readable for good, an armed notification fires, every later call
 * on it fails with EIO, and its DSS reason says why. A client that sleeps
 * until a fault would otherwise sleep through the loss of its protection. */
#include <poll.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "libsmmu-tools.h"
#include "proto.h"
#include "smmu.h"

#define SMMU_EXPORT __attribute__((visibility("default")))
#define REPLY_TIMEOUT_S 30 /* the service answers in microseconds; this is for a hung one */

_Static_assert(SMMU_CONN_TARGET == SMMU_HELLO_TARGET, "the ability bit is the HELLO reply's, passed on as is");

struct smmu_object {
    uint64_t id;
    struct smmu_conn *conn;   /* whose it is: an object means nothing to another connection */
    bool retired;             /* destroyed by smmu_fini(); the handle is kept (see conn_disconnect()) */
    struct smmu_object *next; /* the connection's objects or retired handles */
};

struct smmu_conn {
    pthread_mutex_t lock;     /* guards the state below, shared with the reader thread */
    pthread_mutex_t request;  /* one request in flight; also held while the connection is torn down */
    pthread_cond_t idle;      /* in_flight went false, or stopping */
    int fd, efd;
    bool up, dead, stopping;
    bool in_flight;           /* the caller reads the socket; the reader keeps off */
    bool is_default;          /* smmu_init()'s: smmu_fini() ends it, never smmu_conn_close() */
    pthread_t reader;
    uint32_t seq;
    unsigned abilities;       /* SMMU_CONN_*, from the HELLO reply */
    SmmuMsg *reply, *req, *ev;
    uint8_t *rbuf;            /* a received packet (SMMU_MSG_MAX + 1: MSG_TRUNC tells an oversized one); lock */
    uint8_t *sbuf;            /* an encoded request; request */
    struct smmu_object *objects;
    struct smmu_object *retired; /* the default connection's handles smmu_fini() destroyed the objects of */
    bool armed;
    struct sigevent notify;
    char dss[SMMU_TEXT_MAX + 1]; /* why the service is gone: set once, with dead */
    char error[SMMU_ERROR_TEXT_MAX + 1]; /* why the last request the service refused failed */
};

/* The default connection: made by the first smmu_init() and kept for the
 * life of the process (smmu_fini() disconnects it, the next smmu_init()
 * connects it again), so that a pointer to it, and smmu_dss_reason()'s
 * text, never dangle. default_lock makes smmu_init()/smmu_fini() one at a
 * time; the pointer is atomic for the calls that only read it. */
static pthread_mutex_t default_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic(struct smmu_conn *) default_conn;

static struct smmu_conn *dflt(void) { return atomic_load(&default_conn); }

static int fail(int rc)
{
    errno = -rc;
    return -1;
}

/* A refusal made here, before the service was asked: what the service said
 * about an earlier request no longer explains anything. */
static int refuse(struct smmu_conn *c, int rc)
{
    if (!c) return fail(rc);
    pthread_mutex_lock(&c->request);
    c->error[0] = '\0';
    pthread_mutex_unlock(&c->request);
    return fail(rc);
}

static void *notify_thread(void *arg)
{
    struct sigevent *ev = arg;
    ev->sigev_notify_function(ev->sigev_value);
    free(ev);
    return NULL;
}

/* Called with c->lock held. */
static void deliver_notification(struct smmu_conn *c)
{
    if (!c->armed) return;
    c->armed = false;
    struct sigevent ev = c->notify;
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

static void wake_fd(struct smmu_conn *c)
{
    uint64_t one = 1;
    if (write(c->efd, &one, sizeof one) < 0) { /* counter full: already readable */ }
}

/* The service is gone: remember why (the first reason wins: an EV_DSS is
 * followed by the connection closing) and wake whoever waits, by the
 * descriptor and by the registered notification. Called with c->lock held. */
static void gone(struct smmu_conn *c, const char *reason)
{
    if (c->dead) return;
    snprintf(c->dss, sizeof c->dss, "%s", reason);
    c->dead = true;
    wake_fd(c);
    deliver_notification(c);
}

/* Handles one received event (called with c->lock held). */
static void handle_event(struct smmu_conn *c, const SmmuMsg *m)
{
    if (m->hdr.op == SMMU_EV_FAULT) {
        if (m->pending) wake_fd(c);
        deliver_notification(c);
    } else if (m->hdr.op == SMMU_EV_DSS) {
        gone(c, m->text && m->text[0] ? m->text : "Design Safe State (the service gave no reason)");
    }
}

/* Reads one packet without blocking into c->ev: 1 got one, 0 none yet, -1
 * the service is gone or spoke nonsense (gone() called). c->lock held. */
static int receive(struct smmu_conn *c)
{
    char err[200] = "";
    ssize_t n = recv(c->fd, c->rbuf, SMMU_MSG_MAX + 1, MSG_TRUNC | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return 0;
    if (n <= 0) {
        gone(c, SMMU_REASON_LOST);
        return -1;
    }
    if (n > SMMU_MSG_MAX || smmu_msg_decode(c->rbuf, (size_t)n, true, c->ev, err, sizeof err)) {
        /* the two sides disagree about the format: nothing it says can be
         * trusted any more (docs/protocol.md) */
        char why[300];
        snprintf(why, sizeof why, "%s: it sent what this library cannot decode (%s)", SMMU_REASON_LOST,
                 err[0] ? err : "oversized packet");
        gone(c, why);
        return -1;
    }
    return 1;
}

static void *reader(void *arg)
{
    struct smmu_conn *c = arg;
    for (;;) {
        pthread_mutex_lock(&c->lock);
        while (c->in_flight && !c->stopping) pthread_cond_wait(&c->idle, &c->lock);
        bool stop = c->stopping || c->dead;
        pthread_mutex_unlock(&c->lock);
        if (stop) return NULL;
        /* unbounded on purpose: events come when they come; the teardown
         * wakes it by shutting the socket down */
        struct pollfd p = { .fd = c->fd, .events = POLLIN };
        if (poll(&p, 1, -1) < 0 && errno != EINTR) return NULL;
        pthread_mutex_lock(&c->lock);
        /* a request went out meanwhile: what arrived is its caller's to read */
        if (!c->in_flight && !c->stopping && receive(c) == 1) handle_event(c, c->ev);
        pthread_mutex_unlock(&c->lock);
    }
}

/* Sends c->req and reads until its reply is in c->reply. Returns 0 or
 * -errno (the reply's status, or the failure to get one). Caller holds
 * c->request. */
static int transact(struct smmu_conn *c)
{
    pthread_mutex_lock(&c->lock);
    if (!c->up || c->dead) {
        bool up = c->up;
        pthread_mutex_unlock(&c->lock);
        return up ? -EIO : -ENOTCONN;
    }
    c->req->hdr.seq = ++c->seq ? c->seq : ++c->seq;
    c->in_flight = true;
    c->error[0] = '\0';
    pthread_mutex_unlock(&c->lock);
    int status = 0;
    int n = smmu_msg_encode(c->req, false, c->sbuf, SMMU_MSG_MAX);
    if (n < 0) status = n;
    else if (send(c->fd, c->sbuf, (size_t)n, MSG_NOSIGNAL) != n) {
        /* SO_SNDTIMEO bounds a send to a service that stopped reading */
        if (errno == EAGAIN || errno == EWOULDBLOCK) status = -ETIMEDOUT;
        else {
            status = -EIO;
            pthread_mutex_lock(&c->lock);
            gone(c, SMMU_REASON_LOST);
            pthread_mutex_unlock(&c->lock);
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
        struct pollfd p = { .fd = c->fd, .events = POLLIN };
        if (poll(&p, 1, (int)left) <= 0) continue;
        pthread_mutex_lock(&c->lock);
        int got = receive(c);
        if (got == 1 && smmu_op_is_event(c->ev->hdr.op)) handle_event(c, c->ev);
        else if (got == 1 && c->ev->hdr.seq == c->req->hdr.seq) {
            SmmuMsg *t = c->reply; /* swap rather than copy 130 KiB */
            c->reply = c->ev;
            c->ev = t;
            got = 2;
        }
        if (c->dead) status = -EIO;
        pthread_mutex_unlock(&c->lock);
        if (got == 2) {
            status = c->reply->hdr.status;
            /* the service says why: kept until the next request */
            snprintf(c->error, sizeof c->error, "%s", status && c->reply->text ? c->reply->text : "");
            break;
        }
    }
    pthread_mutex_lock(&c->lock);
    c->in_flight = false;
    pthread_cond_broadcast(&c->idle);
    pthread_mutex_unlock(&c->lock);
    return status;
}

static void new_request(struct smmu_conn *c, uint16_t op)
{
    memset(c->req, 0, offsetof(SmmuMsg, entry_buf));
    c->req->hdr.op = op;
}

/* ---- a connection's life ---------------------------------------------------- */

static struct smmu_conn *conn_new(void)
{
    struct smmu_conn *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->req = calloc(1, sizeof *c->req);
    c->reply = calloc(1, sizeof *c->reply);
    c->ev = calloc(1, sizeof *c->ev);
    c->rbuf = malloc(SMMU_MSG_MAX + 1);
    c->sbuf = malloc(SMMU_MSG_MAX);
    if (!c->req || !c->reply || !c->ev || !c->rbuf || !c->sbuf) {
        free(c->req);
        free(c->reply);
        free(c->ev);
        free(c->rbuf);
        free(c->sbuf);
        free(c);
        return NULL;
    }
    pthread_mutex_init(&c->lock, NULL);
    pthread_mutex_init(&c->request, NULL);
    pthread_cond_init(&c->idle, NULL);
    c->fd = c->efd = -1;
    return c;
}

/* Only for a connection that is down (never connected, or torn down). */
static void conn_free(struct smmu_conn *c)
{
    while (c->retired) {
        struct smmu_object *o = c->retired;
        c->retired = o->next;
        free(o);
    }
    pthread_mutex_destroy(&c->lock);
    pthread_mutex_destroy(&c->request);
    pthread_cond_destroy(&c->idle);
    free(c->req);
    free(c->reply);
    free(c->ev);
    free(c->rbuf);
    free(c->sbuf);
    free(c);
}

static void conn_disconnect(struct smmu_conn *c);

/* Connects c (down) to path, or to $SMMU_SOCKET / the default socket when
 * path is NULL, and says HELLO. 0, or -errno with c down again. */
static int conn_connect(struct smmu_conn *c, const char *path)
{
    if (!path) path = getenv("SMMU_SOCKET");
    if (!path || !*path) path = SMMU_DEFAULT_SOCKET;
    /* an ability's name stands for the default socket that grants it */
    if (strcmp(path, SMMU_ABILITY_ATTACH_NAME) == 0) path = SMMU_DEFAULT_SOCKET;
    else if (strcmp(path, SMMU_ABILITY_TARGET_NAME) == 0) path = SMMU_DEFAULT_TARGET_SOCKET;
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof sa.sun_path) return -ENAMETOOLONG;
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    struct timeval snd = { .tv_sec = REPLY_TIMEOUT_S };
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &snd, sizeof snd);
    int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (efd < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    pthread_mutex_lock(&c->lock);
    c->fd = fd;
    c->efd = efd;
    c->dead = false;
    c->stopping = false;
    c->in_flight = false;
    c->armed = false;
    c->abilities = 0;
    c->dss[0] = '\0';
    pthread_mutex_unlock(&c->lock);
    /* The reader takes no signal: a notification (SIGEV_SIGNAL) is the
     * application's, for its own threads, and must not end the process by
     * landing on ours before the application blocked or handled it. A new
     * thread inherits the creator's mask. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int e = pthread_create(&c->reader, NULL, reader, c);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e) {
        close(fd);
        close(efd);
        c->fd = c->efd = -1;
        return -e;
    }
    pthread_mutex_lock(&c->lock);
    c->up = true;
    pthread_mutex_unlock(&c->lock);
    pthread_mutex_lock(&c->request);
    new_request(c, SMMU_OP_HELLO);
    c->req->client_version = SMMU_PROTO_VERSION;
    int rc = transact(c);
    if (!rc) { /* under lock: smmu_conn_abilities() reads it there */
        pthread_mutex_lock(&c->lock);
        c->abilities = c->reply->flags & SMMU_CONN_TARGET;
        pthread_mutex_unlock(&c->lock);
    }
    pthread_mutex_unlock(&c->request);
    if (rc) conn_disconnect(c);
    return rc;
}

/* Asks the service to destroy object id. Caller holds c->request. */
static void destroy_request(struct smmu_conn *c, uint64_t id)
{
    new_request(c, SMMU_OP_OBJ_DESTROY);
    c->req->obj = id;
    transact(c);
}

/* Tears c down, leaving it down (its DSS reason, if any, stays). Holds
 * c->request throughout: a request of another thread waits and then finds
 * the connection down, and no object can be created meanwhile and be left
 * in the list. */
static void conn_disconnect(struct smmu_conn *c)
{
    pthread_mutex_lock(&c->request);
    pthread_mutex_lock(&c->lock);
    bool up = c->up;
    pthread_mutex_unlock(&c->lock);
    if (!up) {
        pthread_mutex_unlock(&c->request);
        return;
    }
    /* Destroy every object we still hold, each confirmed by the service,
     * before hanging up: when this returns, no device can reach the
     * buffers any more, so the caller may free them at once. (Hanging up
     * alone would leave that to the service, a moment later.) */
    for (;;) {
        pthread_mutex_lock(&c->lock);
        struct smmu_object *o = c->objects;
        if (o) c->objects = o->next;
        pthread_mutex_unlock(&c->lock);
        if (!o) break;
        destroy_request(c, o->id);
        if (c->is_default) {
            /* QNX code may use a handle after smmu_fini() and a new
             * smmu_init() (the scenario host/ownership-enoent does): the
             * default connection outlives its sessions, so it keeps the
             * handle, and such a call is refused with ENOENT, the
             * object being no longer this client's, rather than reading
             * freed memory. smmu_obj_destroy() frees it. */
            pthread_mutex_lock(&c->lock);
            o->retired = true;
            o->next = c->retired;
            c->retired = o;
            pthread_mutex_unlock(&c->lock);
        } else {
            free(o);
        }
    }
    pthread_mutex_lock(&c->lock);
    c->stopping = true;
    pthread_cond_broadcast(&c->idle);
    pthread_mutex_unlock(&c->lock);
    shutdown(c->fd, SHUT_RDWR); /* wakes the reader's poll */
    pthread_join(c->reader, NULL);
    pthread_mutex_lock(&c->lock);
    close(c->fd);
    close(c->efd);
    c->fd = c->efd = -1;
    c->up = false;
    c->armed = false;
    pthread_mutex_unlock(&c->lock);
    pthread_mutex_unlock(&c->request);
}

/* ---- the calls, on a given connection --------------------------------------
 * c NULL is "no connection": the default one before smmu_init() (ENOTCONN,
 * as QNX's calls have always answered then). The smmu_conn_*() entry
 * points refuse a NULL connection with EINVAL before they get here. An
 * object used with a connection that is not its own is refused with EINVAL
 * before anything is sent: its id means nothing to that connection's
 * client, or (worse) names another of its objects. */

static bool foreign(const struct smmu_conn *c, const struct smmu_object *obj) { return obj && obj->conn != c; }

/* 0: obj is NULL or c's live object; -EINVAL: another connection's;
 * -ENOENT: c's, but destroyed by smmu_fini() (the service would say the
 * same of an object that is not the caller's). */
static int check_obj(struct smmu_conn *c, const struct smmu_object *obj)
{
    if (!obj) return 0;
    if (foreign(c, obj)) return -EINVAL;
    pthread_mutex_lock(&c->lock);
    bool retired = obj->retired;
    pthread_mutex_unlock(&c->lock);
    return retired ? -ENOENT : 0;
}

/* Takes obj out of the list at *head, if it is there. c->lock held. */
static void unlink_obj(struct smmu_object **head, struct smmu_object *obj)
{
    for (struct smmu_object **p = head; *p; p = &(*p)->next)
        if (*p == obj) {
            *p = obj->next;
            return;
        }
}

static struct smmu_object *conn_obj_create(struct smmu_conn *c, unsigned flags)
{
    if (!c) {
        errno = ENOTCONN;
        return NULL;
    }
    struct smmu_object *o = calloc(1, sizeof *o);
    if (!o) return NULL;
    o->conn = c;
    pthread_mutex_lock(&c->request);
    new_request(c, SMMU_OP_OBJ_CREATE);
    c->req->flags = flags;
    int rc = transact(c);
    o->id = c->reply->obj;
    if (!rc) { /* listed before c->request is let go: a teardown then sees it */
        pthread_mutex_lock(&c->lock);
        o->next = c->objects;
        c->objects = o;
        pthread_mutex_unlock(&c->lock);
    }
    pthread_mutex_unlock(&c->request);
    if (rc) {
        free(o);
        errno = -rc;
        return NULL;
    }
    return o;
}

static void conn_obj_destroy(struct smmu_conn *c, struct smmu_object *obj)
{
    if (!obj) return;
    if (!c || foreign(c, obj)) { /* not this connection's to destroy: left alone */
        errno = EINVAL;
        return;
    }
    pthread_mutex_lock(&c->request);
    pthread_mutex_lock(&c->lock);
    bool retired = obj->retired;
    unlink_obj(retired ? &c->retired : &c->objects, obj);
    pthread_mutex_unlock(&c->lock);
    if (!retired) destroy_request(c, obj->id); /* a retired one is gone at the service already */
    pthread_mutex_unlock(&c->request);
    free(obj);
}

static int conn_device_add_generic(struct smmu_conn *c, struct smmu_object *obj, const union smmu_devid *devid)
{
    if (!devid || foreign(c, obj)) return refuse(c, -EINVAL);
    if (!c) return fail(-ENOTCONN);
    int rc = check_obj(c, obj);
    if (rc) return fail(rc);
    pthread_mutex_lock(&c->request);
    new_request(c, SMMU_OP_DEVICE_ADD);
    c->req->obj = obj ? obj->id : 0;
    c->req->devid = *devid;
    rc = transact(c);
    pthread_mutex_unlock(&c->request);
    return rc ? fail(rc) : 0;
}

static union smmu_devid pci_id(unsigned bus, unsigned dev, unsigned func)
{
    union smmu_devid id;
    memset(&id, 0, sizeof id);
    id.pci = (struct smmu_devid_pci){ SDT_PCI, bus, dev, func };
    return id;
}

static union smmu_devid mmio_id(uint64_t phys, unsigned len)
{
    union smmu_devid id;
    memset(&id, 0, sizeof id);
    id.mmio = (struct smmu_devid_mmio){ SDT_MMIO, len, phys };
    return id;
}

/* QNX's contract: (unsigned)-1 and errno; 0 when offset is past the last
 * region; else the number of regions from offset on, which exceeds nresv
 * when more remain (only nresv are written), so that a caller pages with an
 * ever-increasing offset until 0. A reply carries at most
 * SMMU_RESERVED_MAX_ENTRIES entries: a larger nresv takes several requests,
 * each checked against the first reply's total (the configuration does not
 * change while the service runs; a service that says otherwise is not
 * believed). */
static unsigned conn_device_report_reserved(struct smmu_conn *c, const union smmu_devid *devid, unsigned offset,
                                            struct smmu_map_entry *resv, unsigned nresv)
{
    if (!devid || (nresv && !resv)) {
        errno = EINVAL;
        return (unsigned)-1;
    }
    if (!c) {
        errno = ENOTCONN;
        return (unsigned)-1;
    }
    uint32_t total = 0, want = 0, got = 0;
    int rc;
    pthread_mutex_lock(&c->request);
    for (bool first = true;; first = false) {
        new_request(c, SMMU_OP_REPORT_RESERVED);
        c->req->devid = *devid;
        c->req->offset = offset + got;
        uint32_t left = nresv - got;
        c->req->max = left < SMMU_RESERVED_MAX_ENTRIES ? left : SMMU_RESERVED_MAX_ENTRIES;
        if ((rc = transact(c))) break;
        if (first) {
            total = c->reply->total;
            want = total > offset ? total - offset : 0;
            if (want > nresv) want = nresv;
        } else if (c->reply->total != total) {
            rc = -EPROTO;
            break;
        }
        uint32_t n = c->reply->n_entries;
        if (n > want - got) n = want - got; /* never more than the caller's room */
        if (n == 0 && got < want) { /* no progress: the service contradicts its total */
            rc = -EPROTO;
            break;
        }
        for (uint32_t i = 0; i < n; i++) resv[got + i] = c->reply->entries[i];
        got += n;
        if (got >= want) break;
    }
    pthread_mutex_unlock(&c->request);
    if (rc) {
        errno = -rc;
        return (unsigned)-1;
    }
    return total > offset ? total - offset : 0;
}

static int conn_mapping_add(struct smmu_conn *c, struct smmu_object *obj, unsigned flags, pid_t pid, unsigned n,
                            const struct smmu_map_entry *entries, uint64_t target)
{
    if (!obj || !entries || n == 0 || n > SMMU_MAP_MAX_ENTRIES || foreign(c, obj)) return refuse(c, -EINVAL);
    if (!c) return fail(-ENOTCONN); /* not reached: no object is the missing connection's */
    int rc = check_obj(c, obj);
    if (rc) return fail(rc);
    pthread_mutex_lock(&c->request);
    new_request(c, SMMU_OP_MAPPING_ADD);
    c->req->obj = obj->id;
    c->req->flags = flags;
    c->req->pid = (int32_t)pid;
    c->req->target = target;
    c->req->n_entries = n;
    c->req->entries = entries;
    rc = transact(c);
    pthread_mutex_unlock(&c->request);
    return rc ? fail(rc) : 0;
}

static int conn_xfer_notify(struct smmu_conn *c, const struct sigevent *ev)
{
    if (!ev || (ev->sigev_notify != SIGEV_SIGNAL && ev->sigev_notify != SIGEV_THREAD && ev->sigev_notify != SIGEV_NONE) ||
        (ev->sigev_notify == SIGEV_THREAD && !ev->sigev_notify_function))
        return refuse(c, -EINVAL);
    if (!c) return fail(-ENOTCONN);
    pthread_mutex_lock(&c->lock);
    c->notify = *ev;
    c->armed = true;
    pthread_mutex_unlock(&c->lock);
    pthread_mutex_lock(&c->request);
    new_request(c, SMMU_OP_XFER_NOTIFY);
    int rc = transact(c);
    pthread_mutex_unlock(&c->request);
    if (rc) {
        pthread_mutex_lock(&c->lock);
        c->armed = false;
        pthread_mutex_unlock(&c->lock);
        return fail(rc);
    }
    return 0;
}

static int conn_xfer_status(struct smmu_conn *c, struct smmu_status *status)
{
    if (!status) return refuse(c, -EINVAL);
    if (!c) return fail(-ENOTCONN);
    pthread_mutex_lock(&c->request);
    /* The descriptor is cleared before asking, not after the answer: the
     * notice of a record that arrives once the service has answered "none"
     * then sets it again. Cleared after the answer, that notice (handled by
     * the reader thread in between) was swallowed, and a caller polling the
     * descriptor slept with a record pending. (Down, efd is -1: the read
     * fails and transact() says ENOTCONN.) */
    uint64_t v;
    if (read(c->efd, &v, sizeof v) < 0) { /* already clear */ }
    new_request(c, SMMU_OP_XFER_STATUS);
    int rc = transact(c);
    int have = !rc && c->reply->have;
    if (have) *status = c->reply->record;
    /* a record (more may follow), or no answer (a gone service keeps the
     * descriptor readable for good): readable again */
    if (rc || have) wake_fd(c);
    pthread_mutex_unlock(&c->request);
    if (rc) return fail(rc);
    return have;
}

static int conn_safety(struct smmu_conn *c)
{
    if (!c) {
        errno = ENOTCONN;
        return SMMUMAN_SAFETY_ERROR;
    }
    pthread_mutex_lock(&c->request);
    new_request(c, SMMU_OP_SAFETY);
    int rc = transact(c);
    int result = c->reply->result;
    pthread_mutex_unlock(&c->request);
    if (rc) {
        errno = -rc; /* QNX: SMMUMAN_SAFETY_ERROR with errno set */
        return SMMUMAN_SAFETY_ERROR;
    }
    return result;
}

static int conn_xfer_fd(struct smmu_conn *c)
{
    if (!c) return fail(-ENOTCONN);
    pthread_mutex_lock(&c->lock);
    int fd = c->up ? c->efd : -1;
    pthread_mutex_unlock(&c->lock);
    return fd >= 0 ? fd : fail(-ENOTCONN);
}

/* The text is written once, under the lock, before dead is set, and left
 * alone until the connection is connected again or freed: the pointer
 * stays good. */
static const char *conn_dss_reason(struct smmu_conn *c)
{
    if (!c) return NULL;
    pthread_mutex_lock(&c->lock);
    const char *why = c->dead && c->dss[0] ? c->dss : NULL;
    pthread_mutex_unlock(&c->lock);
    return why;
}

/* ---- QNX's calls: the default connection ---------------------------------- */

SMMU_EXPORT int smmu_init(unsigned flags)
{
    if (flags) return fail(-EINVAL); /* QNX: "Must be 0" */
    pthread_mutex_lock(&default_lock);
    struct smmu_conn *c = dflt();
    if (!c) {
        if (!(c = conn_new())) {
            pthread_mutex_unlock(&default_lock);
            return fail(-ENOMEM);
        }
        c->is_default = true;
        atomic_store(&default_conn, c);
    }
    pthread_mutex_lock(&c->lock);
    bool up = c->up, dead = c->dead;
    pthread_mutex_unlock(&c->lock);
    /* one default connection; a dead one stays until smmu_fini() */
    int rc = up ? (dead ? -EIO : 0) : conn_connect(c, NULL);
    pthread_mutex_unlock(&default_lock);
    return rc ? fail(rc) : 0;
}

SMMU_EXPORT void smmu_fini(void)
{
    pthread_mutex_lock(&default_lock);
    struct smmu_conn *c = dflt();
    if (c) conn_disconnect(c);
    pthread_mutex_unlock(&default_lock);
}

SMMU_EXPORT struct smmu_object *smmu_obj_create(unsigned flags) { return conn_obj_create(dflt(), flags); }

SMMU_EXPORT void smmu_obj_destroy(struct smmu_object *obj) { conn_obj_destroy(dflt(), obj); }

SMMU_EXPORT int smmu_device_add_generic(struct smmu_object *obj, const union smmu_devid *devid)
{
    return conn_device_add_generic(dflt(), obj, devid);
}

SMMU_EXPORT int smmu_device_add_pci(struct smmu_object *obj, unsigned bus, unsigned dev, unsigned func)
{
    union smmu_devid id = pci_id(bus, dev, func);
    return conn_device_add_generic(dflt(), obj, &id);
}

SMMU_EXPORT int smmu_device_add_mmio(struct smmu_object *obj, uint64_t phys, unsigned len)
{
    union smmu_devid id = mmio_id(phys, len);
    return conn_device_add_generic(dflt(), obj, &id);
}

SMMU_EXPORT unsigned smmu_device_report_reserved(const union smmu_devid *devid, unsigned offset,
                                                 struct smmu_map_entry *resv, unsigned nresv)
{
    return conn_device_report_reserved(dflt(), devid, offset, resv, nresv);
}

SMMU_EXPORT int smmu_mapping_add(struct smmu_object *obj, unsigned flags, pid_t pid, unsigned n,
                                 const struct smmu_map_entry *entries, uint64_t target)
{
    return conn_mapping_add(dflt(), obj, flags, pid, n, entries, target);
}

SMMU_EXPORT int smmu_xfer_notify(const struct sigevent *ev) { return conn_xfer_notify(dflt(), ev); }

SMMU_EXPORT int smmu_xfer_status(struct smmu_status *status) { return conn_xfer_status(dflt(), status); }

SMMU_EXPORT int smmu_safety(void) { return conn_safety(dflt()); }

SMMU_EXPORT int smmu_xfer_fd(void) { return conn_xfer_fd(dflt()); }

SMMU_EXPORT const char *smmu_dss_reason(void) { return conn_dss_reason(dflt()); }

/* The service's text for the last refused request, or "" (never NULL for a
 * connection). Read under the request lock: a request in flight on another
 * thread finishes first. */
static const char *conn_last_error(struct smmu_conn *c)
{
    if (!c) return "";
    pthread_mutex_lock(&c->request);
    const char *why = c->error;
    pthread_mutex_unlock(&c->request);
    return why;
}

SMMU_EXPORT const char *smmu_last_error(void) { return conn_last_error(dflt()); }

/* ---- ours: connections as values ------------------------------------------ */

SMMU_EXPORT struct smmu_conn *smmu_conn_open(const char *socket_path, unsigned flags)
{
    if (flags) { /* as smmu_init(): a flag of a later version is never silently ignored */
        errno = EINVAL;
        return NULL;
    }
    struct smmu_conn *c = conn_new();
    if (!c) {
        errno = ENOMEM;
        return NULL;
    }
    int rc = conn_connect(c, socket_path);
    if (rc) {
        conn_free(c);
        errno = -rc;
        return NULL;
    }
    return c;
}

SMMU_EXPORT int smmu_conn_close(struct smmu_conn *conn)
{
    /* the default connection is smmu_init()'s: smmu_fini() ends it, and the
     * pointer stays good for the process's life */
    if (!conn || conn->is_default) return fail(-EINVAL);
    conn_disconnect(conn);
    conn_free(conn);
    return 0;
}

SMMU_EXPORT struct smmu_conn *smmu_conn_default(void)
{
    struct smmu_conn *c = dflt();
    if (c) {
        pthread_mutex_lock(&c->lock);
        bool up = c->up;
        pthread_mutex_unlock(&c->lock);
        if (up) return c;
    }
    errno = ENOTCONN;
    return NULL;
}

SMMU_EXPORT int smmu_conn_abilities(struct smmu_conn *conn)
{
    if (!conn) return fail(-EINVAL);
    pthread_mutex_lock(&conn->lock);
    int a = conn->up ? (int)conn->abilities : -1;
    pthread_mutex_unlock(&conn->lock);
    return a >= 0 ? a : fail(-ENOTCONN);
}

SMMU_EXPORT struct smmu_object *smmu_conn_obj_create(struct smmu_conn *conn, unsigned flags)
{
    if (!conn) {
        errno = EINVAL;
        return NULL;
    }
    return conn_obj_create(conn, flags);
}

SMMU_EXPORT void smmu_conn_obj_destroy(struct smmu_conn *conn, struct smmu_object *obj)
{
    if (!conn) {
        errno = EINVAL;
        return;
    }
    conn_obj_destroy(conn, obj);
}

SMMU_EXPORT int smmu_conn_device_add_generic(struct smmu_conn *conn, struct smmu_object *obj,
                                             const union smmu_devid *devid)
{
    if (!conn) return fail(-EINVAL);
    return conn_device_add_generic(conn, obj, devid);
}

SMMU_EXPORT int smmu_conn_device_add_pci(struct smmu_conn *conn, struct smmu_object *obj, unsigned bus, unsigned dev,
                                         unsigned func)
{
    union smmu_devid id = pci_id(bus, dev, func);
    return smmu_conn_device_add_generic(conn, obj, &id);
}

SMMU_EXPORT int smmu_conn_device_add_mmio(struct smmu_conn *conn, struct smmu_object *obj, uint64_t phys,
                                          unsigned len)
{
    union smmu_devid id = mmio_id(phys, len);
    return smmu_conn_device_add_generic(conn, obj, &id);
}

SMMU_EXPORT unsigned smmu_conn_device_report_reserved(struct smmu_conn *conn, const union smmu_devid *devid,
                                                      unsigned offset, struct smmu_map_entry *resv, unsigned nresv)
{
    if (!conn) {
        errno = EINVAL;
        return (unsigned)-1;
    }
    return conn_device_report_reserved(conn, devid, offset, resv, nresv);
}

SMMU_EXPORT int smmu_conn_mapping_add(struct smmu_conn *conn, struct smmu_object *obj, unsigned flags, pid_t pid,
                                      unsigned n, const struct smmu_map_entry *entries, uint64_t target)
{
    if (!conn) return fail(-EINVAL);
    return conn_mapping_add(conn, obj, flags, pid, n, entries, target);
}

SMMU_EXPORT int smmu_conn_xfer_notify(struct smmu_conn *conn, const struct sigevent *ev)
{
    if (!conn) return fail(-EINVAL);
    return conn_xfer_notify(conn, ev);
}

SMMU_EXPORT int smmu_conn_xfer_status(struct smmu_conn *conn, struct smmu_status *status)
{
    if (!conn) return fail(-EINVAL);
    return conn_xfer_status(conn, status);
}

SMMU_EXPORT int smmu_conn_safety(struct smmu_conn *conn)
{
    if (!conn) {
        errno = EINVAL;
        return SMMUMAN_SAFETY_ERROR;
    }
    return conn_safety(conn);
}

SMMU_EXPORT int smmu_conn_xfer_fd(struct smmu_conn *conn)
{
    if (!conn) return fail(-EINVAL);
    return conn_xfer_fd(conn);
}

SMMU_EXPORT const char *smmu_conn_last_error(struct smmu_conn *conn)
{
    if (!conn) {
        errno = EINVAL;
        return NULL;
    }
    return conn_last_error(conn);
}

SMMU_EXPORT const char *smmu_conn_dss_reason(struct smmu_conn *conn)
{
    if (!conn) {
        errno = EINVAL;
        return NULL;
    }
    return conn_dss_reason(conn);
}

/* ---- ours, for tools (smmuctl, benchmarks): the STATUS and OBJECTS texts ----
 * Not in smmu.h; on the default connection. A reply holds the whole lines
 * that fit one message; the text is read page by page, by line offset,
 * until the reply's total of lines is reached. Bounded: every page must
 * bring at least one line, and every reply must give the same total: a
 * text whose line count changes while it is read (a client came or went)
 * fails with EAGAIN, to be asked again. */
SMMU_EXPORT char *smmu_query_text_alloc(int op);
SMMU_EXPORT int smmu_query_text(int op, char *buf, size_t len);
SMMU_EXPORT char *smmu_conn_query_text_alloc(struct smmu_conn *conn, int op);

static char *conn_query_text_alloc(struct smmu_conn *c, int op)
{
    if (op != SMMU_OP_STATUS && op != SMMU_OP_OBJECTS) {
        errno = EINVAL;
        return NULL;
    }
    if (!c) {
        errno = ENOTCONN;
        return NULL;
    }
    char *text = malloc(1);
    size_t len = 0;
    uint32_t lines = 0, total = 0;
    int rc = text ? 0 : -ENOMEM;
    pthread_mutex_lock(&c->request);
    for (bool first = true; !rc; first = false) {
        new_request(c, (uint16_t)op);
        c->req->offset = lines;
        if ((rc = transact(c))) break;
        if (first) total = c->reply->total;
        else if (c->reply->total != total) {
            rc = -EAGAIN;
            break;
        }
        const char *t = c->reply->text ? c->reply->text : "";
        size_t n = c->reply->text_len;
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
    pthread_mutex_unlock(&c->request);
    if (rc) {
        free(text);
        errno = -rc;
        return NULL;
    }
    text[len] = '\0';
    return text;
}

char *smmu_query_text_alloc(int op) { return conn_query_text_alloc(dflt(), op); }

char *smmu_conn_query_text_alloc(struct smmu_conn *conn, int op)
{
    if (!conn) {
        errno = EINVAL;
        return NULL;
    }
    return conn_query_text_alloc(conn, op);
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
