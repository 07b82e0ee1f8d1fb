/* libsmmu's connections as values (smmu_conn_*), without QEMU and without
 * the service: what the library itself decides. A NULL connection, a
 * connection that is closed (the default one after smmu_fini()) or whose
 * service hung up, and an object used with a connection that is not its
 * own are refused, and the refusal sends nothing.
 *
 * The other end is a fake service in a thread of the test: it speaks the
 * wire protocol (proto.c, as the service does), answers every request,
 * logs which connection sent what, and can hang up on one connection or
 * send it an event. Its HELLO reply grants the target ability to the
 * connections of its "target" socket only, as the service does. The real
 * service's side of the same questions (abilities, EBUSY, fault records)
 * is test-conn.c's, on the boards. */
#include <check.h>

#include "../../smmuman/tests/check-run.h"

#include <errno.h>
#include <glib.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../../smmuman/lib/proto.h"
#include "smmu.h"

#define MAX_CONNS 8
#define MAX_LOG 256
#define WAIT_MS 5000 /* a bound for what takes microseconds */

typedef struct {
    int conn;    /* accept order: 0 is the first connection made */
    uint16_t op;
    uint64_t obj;
} LogEntry;

typedef struct {
    char *dir, *attach, *target;
    int lfd[2];              /* attach, target */
    int cfd[MAX_CONNS];
    bool ctarget[MAX_CONNS];
    int nconn;
    int stop[2];             /* a byte here ends the thread */
    pthread_t thread;
    pthread_mutex_t mu;      /* guards the log and cfd[] against the test thread */
    LogEntry log[MAX_LOG];
    int nlog;
    uint64_t next_obj;
} Fake;

static int listen_at(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    ck_assert_uint_lt(strlen(path), sizeof sa.sun_path);
    strcpy(sa.sun_path, path);
    ck_assert_msg(bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0, "bind %s: %s", path, strerror(errno));
    ck_assert_int_eq(listen(fd, 8), 0);
    return fd;
}

/* One request of connection i: logged and answered as the service would,
 * with made-up but well-formed values. */
static void serve(Fake *f, int i)
{
    static uint8_t buf[SMMU_MSG_MAX + 1], out[SMMU_MSG_MAX];
    static SmmuMsg req, rep;
    ssize_t n = recv(f->cfd[i], buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && errno == EAGAIN) return;
    char err[200];
    if (n <= 0 || smmu_msg_decode(buf, (size_t)n, false, &req, err, sizeof err) != 0) {
        pthread_mutex_lock(&f->mu);
        close(f->cfd[i]);
        f->cfd[i] = -1;
        pthread_mutex_unlock(&f->mu);
        return;
    }
    pthread_mutex_lock(&f->mu);
    if (f->nlog < MAX_LOG) f->log[f->nlog++] = (LogEntry){ i, req.hdr.op, req.obj };
    memset(&rep, 0, offsetof(SmmuMsg, entry_buf));
    rep.hdr.op = req.hdr.op;
    rep.hdr.seq = req.hdr.seq;
    switch (req.hdr.op) {
    case SMMU_OP_HELLO:
        rep.client_version = SMMU_PROTO_VERSION;
        rep.flags = f->ctarget[i] ? SMMU_HELLO_TARGET : 0;
        break;
    case SMMU_OP_OBJ_CREATE: rep.obj = ++f->next_obj; break; /* under f->mu: the test reads it */
    case SMMU_OP_SAFETY: rep.result = SMMUMAN_SAFETY_NO; break;
    default: break; /* every other reply's fields may be zero */
    }
    int len = smmu_msg_encode(&rep, true, out, sizeof out);
    int fd = f->cfd[i];
    pthread_mutex_unlock(&f->mu);
    ck_assert_int_gt(len, 0);
    if (send(fd, out, (size_t)len, MSG_NOSIGNAL) != len) { /* the client hung up: its next recv says so */ }
}

static void *fake_thread(void *arg)
{
    Fake *f = arg;
    for (;;) {
        struct pollfd p[3 + MAX_CONNS];
        int idx[3 + MAX_CONNS], np = 0;
        p[np++] = (struct pollfd){ .fd = f->stop[0], .events = POLLIN };
        p[np++] = (struct pollfd){ .fd = f->lfd[0], .events = POLLIN };
        p[np++] = (struct pollfd){ .fd = f->lfd[1], .events = POLLIN };
        pthread_mutex_lock(&f->mu);
        for (int i = 0; i < f->nconn; i++)
            if (f->cfd[i] >= 0) {
                idx[np] = i;
                p[np++] = (struct pollfd){ .fd = f->cfd[i], .events = POLLIN };
            }
        pthread_mutex_unlock(&f->mu);
        /* bounded, so that a connection the test thread hung up on is seen */
        if (poll(p, (nfds_t)np, 100) < 0) continue;
        if (p[0].revents) return NULL;
        for (int l = 0; l < 2; l++)
            if (p[1 + l].revents & POLLIN) {
                int fd = accept4(f->lfd[l], NULL, NULL, SOCK_CLOEXEC);
                pthread_mutex_lock(&f->mu);
                if (fd >= 0 && f->nconn < MAX_CONNS) {
                    f->ctarget[f->nconn] = l == 1;
                    f->cfd[f->nconn++] = fd;
                } else if (fd >= 0) close(fd);
                pthread_mutex_unlock(&f->mu);
            }
        for (int k = 3; k < np; k++)
            if (p[k].revents) serve(f, idx[k]);
    }
}

static void fake_start(Fake *f)
{
    memset(f, 0, sizeof *f);
    f->dir = g_dir_make_tmp("conn-args-XXXXXX", NULL);
    ck_assert(f->dir);
    f->attach = g_build_filename(f->dir, "attach", NULL);
    f->target = g_build_filename(f->dir, "target", NULL);
    f->lfd[0] = listen_at(f->attach);
    f->lfd[1] = listen_at(f->target);
    ck_assert_int_eq(pipe(f->stop), 0);
    pthread_mutex_init(&f->mu, NULL);
    ck_assert_int_eq(pthread_create(&f->thread, NULL, fake_thread, f), 0);
}

static void fake_stop(Fake *f)
{
    ck_assert_int_eq(write(f->stop[1], "x", 1), 1);
    pthread_join(f->thread, NULL);
    for (int i = 0; i < f->nconn; i++)
        if (f->cfd[i] >= 0) close(f->cfd[i]);
    close(f->lfd[0]);
    close(f->lfd[1]);
    close(f->stop[0]);
    close(f->stop[1]);
    unlink(f->attach);
    unlink(f->target);
    rmdir(f->dir);
    g_free(f->attach);
    g_free(f->target);
    g_free(f->dir);
    pthread_mutex_destroy(&f->mu);
}

/* Requests connection i has sent so far. */
static int fake_count(Fake *f, int i)
{
    pthread_mutex_lock(&f->mu);
    int n = 0;
    for (int k = 0; k < f->nlog; k++) n += f->log[k].conn == i;
    pthread_mutex_unlock(&f->mu);
    return n;
}

/* Whether connection i sent OBJ_DESTROY for obj, within WAIT_MS (it comes
 * from a thread of the test, but the log is the fake's). */
static bool fake_saw_destroy(Fake *f, int i, uint64_t obj)
{
    for (int waited = 0; waited < WAIT_MS; waited += 5) {
        pthread_mutex_lock(&f->mu);
        bool seen = false;
        for (int k = 0; k < f->nlog; k++)
            seen |= f->log[k].conn == i && f->log[k].op == SMMU_OP_OBJ_DESTROY && f->log[k].obj == obj;
        pthread_mutex_unlock(&f->mu);
        if (seen) return true;
        g_usleep(5000);
    }
    return false;
}

/* The id the fake gave the last object it created. */
static uint64_t fake_last_obj(Fake *f)
{
    pthread_mutex_lock(&f->mu);
    uint64_t id = f->next_obj;
    pthread_mutex_unlock(&f->mu);
    return id;
}

static void fake_hangup(Fake *f, int i)
{
    pthread_mutex_lock(&f->mu);
    ck_assert_int_ge(f->cfd[i], 0);
    shutdown(f->cfd[i], SHUT_RDWR); /* the thread sees the end and closes it */
    pthread_mutex_unlock(&f->mu);
}

/* An event to connection i: EV_FAULT (text NULL) or EV_DSS. */
static void fake_event(Fake *f, int i, const char *dss_text)
{
    static SmmuMsg ev;
    static uint8_t out[SMMU_MSG_MAX];
    memset(&ev, 0, offsetof(SmmuMsg, entry_buf));
    ev.hdr.op = dss_text ? SMMU_EV_DSS : SMMU_EV_FAULT;
    if (dss_text) {
        ev.text = dss_text;
        ev.text_len = (uint32_t)strlen(dss_text);
    } else ev.pending = 1;
    int len = smmu_msg_encode(&ev, true, out, sizeof out);
    ck_assert_int_gt(len, 0);
    pthread_mutex_lock(&f->mu);
    ck_assert_int_eq(send(f->cfd[i], out, (size_t)len, MSG_NOSIGNAL), len);
    pthread_mutex_unlock(&f->mu);
}

static bool readable(int fd, int ms)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    return poll(&p, 1, ms) == 1;
}

#define EXPECT_ERR(call, e)                                                                                        \
    do {                                                                                                           \
        errno = 0;                                                                                                 \
        ck_assert_msg((call) == -1 && errno == (e), "%s: errno %d (%s), want %s", #call, errno, strerror(errno), #e); \
    } while (0)

static const struct smmu_map_entry entry = { .phys = 0x100000, .len = 4096 };

START_TEST(a_null_connection_is_einval)
{
    union smmu_devid id;
    memset(&id, 0, sizeof id);
    struct smmu_map_entry room[1];
    struct smmu_status st;
    struct sigevent ev = { .sigev_notify = SIGEV_NONE };
    errno = 0;
    ck_assert_ptr_null(smmu_conn_obj_create(NULL, 0));
    ck_assert_int_eq(errno, EINVAL);
    EXPECT_ERR(smmu_conn_close(NULL), EINVAL);
    EXPECT_ERR(smmu_conn_abilities(NULL), EINVAL);
    EXPECT_ERR(smmu_conn_device_add_generic(NULL, NULL, &id), EINVAL);
    EXPECT_ERR(smmu_conn_device_add_pci(NULL, NULL, 0, 4, 0), EINVAL);
    EXPECT_ERR(smmu_conn_device_add_mmio(NULL, NULL, 0x1000, 4096), EINVAL);
    errno = 0;
    ck_assert_uint_eq(smmu_conn_device_report_reserved(NULL, &id, 0, room, 1), (unsigned)-1);
    ck_assert_int_eq(errno, EINVAL);
    EXPECT_ERR(smmu_conn_xfer_notify(NULL, &ev), EINVAL);
    EXPECT_ERR(smmu_conn_xfer_status(NULL, &st), EINVAL);
    EXPECT_ERR(smmu_conn_safety(NULL), EINVAL); /* SMMUMAN_SAFETY_ERROR is -1 */
    EXPECT_ERR(smmu_conn_xfer_fd(NULL), EINVAL);
    errno = 0;
    ck_assert_ptr_null(smmu_conn_dss_reason(NULL));
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    smmu_conn_obj_destroy(NULL, NULL);
    ck_assert_int_eq(errno, EINVAL);

    /* no connection yet: the default one does not exist (QNX's calls
     * answer ENOTCONN, as they always have before smmu_init()) */
    errno = 0;
    ck_assert_ptr_null(smmu_conn_default());
    ck_assert_int_eq(errno, ENOTCONN);
    errno = 0;
    ck_assert_ptr_null(smmu_obj_create(0));
    ck_assert_int_eq(errno, ENOTCONN);
    EXPECT_ERR(smmu_safety(), ENOTCONN);
    EXPECT_ERR(smmu_xfer_fd(), ENOTCONN);
    EXPECT_ERR(smmu_xfer_status(&st), ENOTCONN);
    EXPECT_ERR(smmu_device_add_pci(NULL, 0, 4, 0), ENOTCONN);
    ck_assert_ptr_null(smmu_dss_reason());
}
END_TEST

START_TEST(opening_checks_its_arguments)
{
    errno = 0;
    ck_assert_ptr_null(smmu_conn_open("/nonexistent/smmu.sock", 1)); /* flags must be 0 */
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_ptr_null(smmu_conn_open("/nonexistent/smmu.sock", 0));
    ck_assert_int_eq(errno, ENOENT);
    char longer[200];
    memset(longer, 'x', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    errno = 0;
    ck_assert_ptr_null(smmu_conn_open(longer, 0));
    ck_assert_int_eq(errno, ENAMETOOLONG);
    /* NULL: as smmu_init(), $SMMU_SOCKET */
    Fake f;
    fake_start(&f);
    setenv("SMMU_SOCKET", f.target, 1);
    struct smmu_conn *c = smmu_conn_open(NULL, 0);
    ck_assert_msg(c, "%s", strerror(errno));
    ck_assert_int_eq(smmu_conn_abilities(c), SMMU_CONN_TARGET);
    ck_assert_int_eq(smmu_conn_close(c), 0);
    fake_stop(&f);
}
END_TEST

/* An object is its connection's: with any other connection every call
 * refuses it with EINVAL and sends nothing (its id could name another of
 * that client's objects), and destroying it there leaves it alone. */
START_TEST(an_object_of_another_connection_is_einval_and_sends_nothing)
{
    Fake f;
    fake_start(&f);
    struct smmu_conn *a = smmu_conn_open(f.attach, 0), *b = smmu_conn_open(f.target, 0);
    ck_assert(a && b);
    /* each its own HELLO: the ability of the socket it came through */
    ck_assert_int_eq(smmu_conn_abilities(a), 0);
    ck_assert_int_eq(smmu_conn_abilities(b), SMMU_CONN_TARGET);
    struct smmu_object *oa = smmu_conn_obj_create(a, SOCF_NONE);
    ck_assert(oa);
    uint64_t oa_id = fake_last_obj(&f);
    int b_sent = fake_count(&f, 1);

    EXPECT_ERR(smmu_conn_mapping_add(b, oa, SMF_READ, getpid(), 1, &entry, 0), EINVAL);
    EXPECT_ERR(smmu_conn_device_add_pci(b, oa, 0, 4, 0), EINVAL);
    union smmu_devid mmio;
    memset(&mmio, 0, sizeof mmio);
    mmio.mmio = (struct smmu_devid_mmio){ SDT_MMIO, 4096, 0x1000 };
    EXPECT_ERR(smmu_conn_device_add_generic(b, oa, &mmio), EINVAL);
    errno = 0;
    smmu_conn_obj_destroy(b, oa);
    ck_assert_int_eq(errno, EINVAL);
    /* QNX's calls, whose connection is the default one (none yet) */
    EXPECT_ERR(smmu_mapping_add(oa, SMF_READ, getpid(), 1, &entry, 0), EINVAL);
    EXPECT_ERR(smmu_device_add_pci(oa, 0, 4, 0), EINVAL);
    errno = 0;
    smmu_obj_destroy(oa);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(fake_count(&f, 1), b_sent); /* b sent nothing */

    /* the object is intact and a's: it works there, and a's closing
     * destroys it (confirmed with the service before close returns) */
    ck_assert_int_eq(smmu_conn_mapping_add(a, oa, SMF_READ, getpid(), 1, &entry, 0), 0);
    ck_assert_int_eq(smmu_conn_device_add_pci(a, oa, 0, 4, 0), 0);

    /* the default connection (on the attach socket) is one more such value */
    setenv("SMMU_SOCKET", f.attach, 1);
    ck_assert_int_eq(smmu_init(0), 0);
    struct smmu_conn *d = smmu_conn_default();
    ck_assert(d && d != a && d != b);
    ck_assert_int_eq(smmu_conn_abilities(d), 0);
    struct smmu_object *od = smmu_obj_create(SOCF_NONE);
    ck_assert(od);
    uint64_t od_id = fake_last_obj(&f);
    int a_sent = fake_count(&f, 0), d_sent = fake_count(&f, 2);
    EXPECT_ERR(smmu_conn_mapping_add(a, od, SMF_READ, getpid(), 1, &entry, 0), EINVAL);
    EXPECT_ERR(smmu_mapping_add(oa, SMF_READ, getpid(), 1, &entry, 0), EINVAL);
    ck_assert_int_eq(smmu_conn_mapping_add(d, od, SMF_READ, getpid(), 1, &entry, 0), 0); /* d's own */
    ck_assert_int_eq(smmu_mapping_add(od, SMF_NONE, getpid(), 1, &entry, 0), 0);
    ck_assert_int_eq(fake_count(&f, 0), a_sent);
    ck_assert_int_eq(fake_count(&f, 2), d_sent + 2);
    /* smmu_fini() ends the default connection, not smmu_conn_close() */
    EXPECT_ERR(smmu_conn_close(d), EINVAL);
    ck_assert_int_eq(smmu_conn_safety(d), SMMUMAN_SAFETY_NO);

    ck_assert_int_eq(smmu_conn_close(a), 0);
    ck_assert(fake_saw_destroy(&f, 0, oa_id));
    smmu_fini();
    ck_assert(fake_saw_destroy(&f, 2, od_id));
    ck_assert_int_eq(smmu_conn_safety(b), SMMUMAN_SAFETY_NO); /* b lives on */
    ck_assert_int_eq(smmu_conn_close(b), 0);
    fake_stop(&f);
}
END_TEST

/* The default connection after smmu_fini(): closed, its pointer still
 * good, every call ENOTCONN; smmu_init() connects it again, and a handle
 * of an object of the earlier session is refused with ENOENT. */
START_TEST(a_closed_default_connection_is_enotconn)
{
    Fake f;
    fake_start(&f);
    setenv("SMMU_SOCKET", f.target, 1);
    ck_assert_int_eq(smmu_init(0), 0);
    struct smmu_conn *d = smmu_conn_default();
    ck_assert(d);
    ck_assert_int_eq(smmu_conn_abilities(d), SMMU_CONN_TARGET);
    struct smmu_object *old = smmu_obj_create(SOCF_NONE);
    ck_assert(old);
    uint64_t old_id = fake_last_obj(&f);
    smmu_fini();
    ck_assert(fake_saw_destroy(&f, 0, old_id));
    errno = 0;
    ck_assert_ptr_null(smmu_conn_default());
    ck_assert_int_eq(errno, ENOTCONN);
    struct smmu_status st;
    errno = 0;
    ck_assert_ptr_null(smmu_conn_obj_create(d, 0));
    ck_assert_int_eq(errno, ENOTCONN);
    EXPECT_ERR(smmu_conn_abilities(d), ENOTCONN);
    EXPECT_ERR(smmu_conn_xfer_fd(d), ENOTCONN);
    EXPECT_ERR(smmu_conn_xfer_status(d, &st), ENOTCONN);
    EXPECT_ERR(smmu_conn_safety(d), ENOTCONN);
    EXPECT_ERR(smmu_safety(), ENOTCONN);
    ck_assert_ptr_null(smmu_conn_dss_reason(d)); /* closed by us: no service went away */
    ck_assert_int_eq(smmu_init(0), 0);
    ck_assert_ptr_eq(smmu_conn_default(), d);
    ck_assert_int_eq(smmu_conn_safety(d), SMMUMAN_SAFETY_NO);
    /* a handle of the session smmu_fini() ended is kept, not freed: it is
     * no longer this client's object (ENOENT, as the service says of such
     * objects), nothing is sent, and smmu_obj_destroy() frees it */
    int sent = fake_count(&f, 1);
    EXPECT_ERR(smmu_mapping_add(old, SMF_READ, getpid(), 1, &entry, 0), ENOENT);
    EXPECT_ERR(smmu_device_add_pci(old, 0, 4, 0), ENOENT);
    EXPECT_ERR(smmu_conn_device_add_pci(d, old, 0, 4, 0), ENOENT);
    smmu_obj_destroy(old);
    ck_assert_int_eq(fake_count(&f, 1), sent);
    smmu_fini();
    fake_stop(&f);
}
END_TEST

static void count_notification(union sigval v) { atomic_fetch_add((atomic_int *)v.sival_ptr, 1); }

static bool count_reaches(atomic_int *n, int want)
{
    for (int waited = 0; waited < WAIT_MS && atomic_load(n) < want; waited += 5) g_usleep(5000);
    return atomic_load(n) >= want;
}

/* Each connection has its own descriptor, registration and DSS reason: an
 * event or the end of one connection reaches that one alone. */
START_TEST(events_and_the_end_of_a_connection_are_its_own)
{
    Fake f;
    fake_start(&f);
    struct smmu_conn *a = smmu_conn_open(f.attach, 0), *b = smmu_conn_open(f.attach, 0);
    ck_assert(a && b);
    int afd = smmu_conn_xfer_fd(a), bfd = smmu_conn_xfer_fd(b);
    ck_assert(afd >= 0 && bfd >= 0 && afd != bfd);
    atomic_int na = 0, nb = 0;
    struct sigevent ea = { .sigev_notify = SIGEV_THREAD, .sigev_notify_function = count_notification,
                           .sigev_value.sival_ptr = &na };
    struct sigevent eb = ea;
    eb.sigev_value.sival_ptr = &nb;
    ck_assert_int_eq(smmu_conn_xfer_notify(a, &ea), 0);
    ck_assert_int_eq(smmu_conn_xfer_notify(b, &eb), 0);

    fake_event(&f, 0, NULL); /* records for a */
    ck_assert(readable(afd, WAIT_MS));
    ck_assert(count_reaches(&na, 1));
    ck_assert(!readable(bfd, 200));
    ck_assert_int_eq(atomic_load(&nb), 0);

    /* a's service hangs up: a is gone, b is not */
    fake_hangup(&f, 0);
    for (int w = 0; w < WAIT_MS && !smmu_conn_dss_reason(a); w += 5) g_usleep(5000);
    ck_assert_str_eq(smmu_conn_dss_reason(a), SMMU_REASON_LOST);
    ck_assert(readable(afd, 0));
    struct smmu_status st;
    EXPECT_ERR(smmu_conn_xfer_status(a, &st), EIO);
    EXPECT_ERR(smmu_conn_safety(a), EIO);
    errno = 0;
    ck_assert_ptr_null(smmu_conn_obj_create(a, 0));
    ck_assert_int_eq(errno, EIO);
    ck_assert_ptr_null(smmu_conn_dss_reason(b));
    ck_assert(!readable(bfd, 0));
    ck_assert_int_eq(smmu_conn_safety(b), SMMUMAN_SAFETY_NO);
    ck_assert_int_eq(atomic_load(&nb), 0);

    /* b's DSS: b's registration fires and b has the service's reason */
    fake_event(&f, 1, "stopped by a signal: the service must never be stopped");
    ck_assert(count_reaches(&nb, 1));
    ck_assert(readable(bfd, WAIT_MS));
    ck_assert_str_eq(smmu_conn_dss_reason(b), "stopped by a signal: the service must never be stopped");
    ck_assert_str_eq(smmu_conn_dss_reason(a), SMMU_REASON_LOST);
    EXPECT_ERR(smmu_conn_safety(b), EIO);
    ck_assert_int_eq(smmu_conn_close(a), 0);
    ck_assert_int_eq(smmu_conn_close(b), 0);
    fake_stop(&f);
}
END_TEST

/* A notification signal is the application's: libsmmu's own thread takes
 * none, so a driver that blocks its signal after smmu_init() and waits for
 * it with sigtimedwait() gets it, instead of the process ending because
 * the signal landed on libsmmu's reader (default action: terminate). */
START_TEST(a_notification_signal_never_lands_on_libsmmus_thread)
{
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    signal(SIGUSR1, SIG_DFL);
    pthread_sigmask(SIG_BLOCK, &usr1, NULL); /* the fake service's thread: never a taker */
    Fake f;
    fake_start(&f);
    pthread_sigmask(SIG_UNBLOCK, &usr1, NULL); /* as a driver is when it connects */
    struct smmu_conn *a = smmu_conn_open(f.attach, 0);
    ck_assert(a);
    pthread_sigmask(SIG_BLOCK, &usr1, NULL); /* ...and blocks only afterwards */
    struct sigevent ev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1 };
    ck_assert_int_eq(smmu_conn_xfer_notify(a, &ev), 0);
    fake_event(&f, 0, NULL);
    /* the signal comes while the driver is busy elsewhere, not yet waiting */
    ck_assert(readable(smmu_conn_xfer_fd(a), WAIT_MS));
    g_usleep(200000);
    struct timespec limit = { .tv_sec = WAIT_MS / 1000, .tv_nsec = (WAIT_MS % 1000) * 1000000L };
    ck_assert_int_eq(sigtimedwait(&usr1, NULL, &limit), SIGUSR1);
    ck_assert_int_eq(smmu_conn_close(a), 0);
    fake_stop(&f);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("conn-args");
    TCase *tc = tcase_create("no-service");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, a_null_connection_is_einval);
    tcase_add_test(tc, opening_checks_its_arguments);
    tcase_add_test(tc, an_object_of_another_connection_is_einval_and_sends_nothing);
    tcase_add_test(tc, a_closed_default_connection_is_enotconn);
    tcase_add_test(tc, events_and_the_end_of_a_connection_are_its_own);
    tcase_add_test(tc, a_notification_signal_never_lands_on_libsmmus_thread);
    suite_add_tcase(su, tc);
    return check_run(su);
}
