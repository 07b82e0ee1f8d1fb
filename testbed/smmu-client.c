/* smmu-client: a driver process for tests and scenarios. It is a real
 * libsmmu client (its own process, its own connection), driven by one
 * command per line on stdin, one reply line per command on stdout:
 *
 *   init                                  ok | err ENAME message
 *   obj [manual]                          ok HANDLE
 *   destroy HANDLE
 *   add HANDLE|- pci BUS DEV FUNC         (- detaches)
 *   add HANDLE|- mem PHYS LEN
 *   map HANDLE PERMS ADDR LEN [ADDR LEN ...] [target=ADDR]
 *                                         PERMS: r w rw x none (none removes), t adds SMF_TARGET
 *   unmap HANDLE ADDR LEN [ADDR LEN ...]
 *   reserved pci BUS DEV FUNC [OFFSET [N]]
 *                                         ok R [START,LEN ...]: R as smmu_device_report_reserved()
 *                                         returns it (from OFFSET, default 0, room for N, default 16);
 *                                         the entries written, min(R, N)
 *   notify signal|thread|none             one-shot registration
 *   notified MS                           ok N (notifications delivered so far, after waiting up to MS for one)
 *   status                                fault device=... address=0x.. access=read|write reason=N dropped=0|1
 *                                         repeat=N reason-name=NAME | none
 *   wait-fault MS                         like status, waiting up to MS ms (smmu_xfer_fd)
 *   wait-fd MS                            ok readable | ok timeout: smmu_xfer_fd() alone, polled up to MS ms
 *   gone                                  ok REASON (smmu_dss_reason(): the service is gone) | none
 *   safety                                ok N
 *   counters                              ok seen=N unowned=N overflows=N queued=N dropped=N: the
 *                                         service's fault counters (its status text: faults.seen,
 *                                         faults.unowned, faults.overflows) and this client's own
 *                                         queue (records waiting, records dropped on a full queue)
 *   errname N                             ok ENAME: the name this client prints for errno N
 *   fini | exit
 * Numbers: decimal or 0x hex. Errors name errno: "err EBUSY Device or resource busy".
 * Options: --help, --version (answered without connecting). */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "smmu.h"
/* the service's status text, as smmuctl reads it (libsmmu's calls for tools) */
#include "../smmuman/lib/libsmmu-tools.h"
#include "../smmuman/lib/proto.h"

#define MAX_OBJECTS 64
#define MAX_ENTRIES 64

static struct smmu_object *objs[MAX_OBJECTS];
static atomic_int notified;

#ifndef SMMU_VERSION
#error "SMMU_VERSION: the build passes the project's version"
#endif

/* The errno values the service or libsmmu return, by name: scenarios and
 * tests expect names, which do not vary between architectures. */
static const char *errname(int e)
{
    switch (e) {
    case EBUSY: return "EBUSY";
    case ENOENT: return "ENOENT";
    case EINVAL: return "EINVAL";
    case EPERM: return "EPERM";
    case ENOMEM: return "ENOMEM";
    case EEXIST: return "EEXIST";
    case EIO: return "EIO";
    case ENOTCONN: return "ENOTCONN";
    case ECONNREFUSED: return "ECONNREFUSED";
    case ETIMEDOUT: return "ETIMEDOUT";
    case ENOSPC: return "ENOSPC";
    case EPROTO: return "EPROTO";
    case ERANGE: return "ERANGE";
    case EDQUOT: return "EDQUOT";
    case E2BIG: return "E2BIG";
    case EMSGSIZE: return "EMSGSIZE";
    case ENOSYS: return "ENOSYS";
    case EAGAIN: return "EAGAIN";
    case EOVERFLOW: return "EOVERFLOW";
    case EFAULT: return "EFAULT";
    case ENODEV: return "ENODEV";
    default: return "EOTHER";
    }
}

/* "err ENAME message", and the service's own words when it gave some */
static void reply_err(void)
{
    int e = errno;
    const char *why = smmu_last_error();
    if (why && *why) printf("err %s %s: %s\n", errname(e), strerror(e), why);
    else printf("err %s %s\n", errname(e), strerror(e));
}

static int num(const char *s, uint64_t *v)
{
    char *end;
    if (!s || !*s) return -1;
    errno = 0;
    *v = strtoull(s, &end, 0);
    return errno || *end ? -1 : 0;
}

static struct smmu_object **handle(const char *s, bool allow_none, bool *none)
{
    uint64_t h;
    if (none) *none = false;
    if (allow_none && strcmp(s, "-") == 0) {
        *none = true;
        return NULL;
    }
    if (num(s, &h) || h >= MAX_OBJECTS || !objs[h]) return NULL;
    return &objs[h];
}

static void on_signal(int sig) { (void)sig; atomic_fetch_add(&notified, 1); }
static void on_thread(union sigval v) { (void)v; atomic_fetch_add(&notified, 1); }

static void print_status(const struct smmu_status *st)
{
    char dev[48];
    if (st->devid.type == SDT_PCI)
        snprintf(dev, sizeof dev, "pci:%u:%u.%u", st->devid.pci.bus, st->devid.pci.dev, st->devid.pci.func);
    else
        snprintf(dev, sizeof dev, "mem:0x%llx", (unsigned long long)st->devid.mmio.phys);
    /* the runner parses these fields in this order: new ones go at the end */
    printf("fault device=%s address=0x%llx access=%s reason=%llu dropped=%d repeat=%u reason-name=%s\n", dev,
           (unsigned long long)st->fault_addr, st->flags & SSF_WRITE ? "write" : "read", (unsigned long long)st->hw_specific,
           st->flags & SSF_DROPPED_FAULTS ? 1 : 0, SSF_REPEAT(st->flags), smmu_fault_reason_name(st));
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void cmd_map(char **w, int n, bool unmap)
{
    bool none;
    struct smmu_object **o = n > 1 ? handle(w[1], false, &none) : NULL;
    int first = unmap ? 2 : 3;
    if (!o || (!unmap && n < 5)) {
        printf("err EINVAL usage\n");
        return;
    }
    unsigned flags = 0;
    uint64_t target = 0;
    if (!unmap) {
        const char *p = w[2];
        if (strcmp(p, "none") != 0)
            for (; *p; p++) flags |= *p == 'r' ? SMF_READ : *p == 'w' ? SMF_WRITE : *p == 'x' ? SMF_EXEC : *p == 't' ? SMF_TARGET : 0x100;
        if (flags & 0x100) {
            printf("err EINVAL perms\n");
            return;
        }
    }
    struct smmu_map_entry e[MAX_ENTRIES];
    unsigned k = 0;
    for (int i = first; i < n; i++) {
        if (strncmp(w[i], "target=", 7) == 0) {
            if (num(w[i] + 7, &target)) break;
            continue;
        }
        if (i + 1 >= n || k == MAX_ENTRIES || num(w[i], &e[k].phys) || num(w[i + 1], &e[k].len)) {
            printf("err EINVAL entries\n");
            return;
        }
        k++;
        i++;
    }
    if (smmu_mapping_add(*o, flags, getpid(), k, e, target) < 0) reply_err();
    else printf("ok\n");
}

/* The value of "KEY=" at a line's start in the status text, or of
 * " KEY:" inside line (a client's line); -1 when absent. */
static long long status_value(const char *text, const char *key, bool line_start)
{
    size_t k = strlen(key);
    for (const char *p = text; p && *p; p = strchr(p, line_start ? '\n' : ' '), p = p ? p + 1 : NULL)
        if (strncmp(p, key, k) == 0 && p[k] == (line_start ? '=' : ':')) return strtoll(p + k + 1, NULL, 10);
    return -1;
}

/* "counters": the service's fault counters and this client's queue, from
 * the status text the service gives every client (smmuctl status's). */
static void cmd_counters(void)
{
    char *text = smmu_query_text_alloc(SMMU_OP_STATUS);
    if (!text) {
        reply_err();
        return;
    }
    /* this client's line: "client.ID=pid:PID uid:... queued:N dropped:N ..." */
    char me[32];
    snprintf(me, sizeof me, "=pid:%d ", (int)getpid());
    const char *mine = strstr(text, me);
    const char *eol = mine ? strchr(mine, '\n') : NULL;
    char line[512] = "";
    if (mine) snprintf(line, sizeof line, "%.*s", eol ? (int)(eol - mine) : (int)strlen(mine), mine);
    long long seen = status_value(text, "faults.seen", true), unowned = status_value(text, "faults.unowned", true),
              overflows = status_value(text, "faults.overflows", true);
    long long queued = mine ? status_value(line, "queued", false) : -1, dropped = mine ? status_value(line, "dropped", false) : -1;
    free(text);
    if (seen < 0 || unowned < 0 || overflows < 0 || queued < 0 || dropped < 0) {
        printf("err EPROTO the service's status text lacks a counter (or this client's line)\n");
        return;
    }
    printf("ok seen=%lld unowned=%lld overflows=%lld queued=%lld dropped=%lld\n", seen, unowned, overflows, queued, dropped);
}

static void command(char **w, int n)
{
    const char *c = w[0];
    bool none;
    uint64_t a, b, d;
    if (strcmp(c, "init") == 0) {
        if (smmu_init(0) < 0) reply_err();
        else printf("ok\n");
    } else if (strcmp(c, "obj") == 0) {
        int h = 0;
        while (h < MAX_OBJECTS && objs[h]) h++;
        struct smmu_object *o = h < MAX_OBJECTS ? smmu_obj_create(n > 1 && strcmp(w[1], "manual") == 0 ? SOCF_RESERVED_MANUAL : SOCF_NONE) : NULL;
        if (!o) reply_err();
        else printf("ok %d\n", h), objs[h] = o;
    } else if (strcmp(c, "destroy") == 0) {
        struct smmu_object **o = n == 2 ? handle(w[1], false, &none) : NULL;
        if (!o) printf("err EINVAL handle\n");
        else smmu_obj_destroy(*o), *o = NULL, printf("ok\n");
    } else if (strcmp(c, "add") == 0 && n >= 3) {
        struct smmu_object **o = handle(w[1], true, &none);
        int rc;
        if (!o && !none) {
            printf("err EINVAL handle\n");
            return;
        }
        if (strcmp(w[2], "pci") == 0 && n == 6 && !num(w[3], &a) && !num(w[4], &b) && !num(w[5], &d))
            rc = smmu_device_add_pci(none ? NULL : *o, (unsigned)a, (unsigned)b, (unsigned)d);
        else if (strcmp(w[2], "mem") == 0 && n == 5 && !num(w[3], &a) && !num(w[4], &b) && b <= UINT_MAX)
            rc = smmu_device_add_mmio(none ? NULL : *o, a, (unsigned)b); /* QNX: the length is unsigned */
        else {
            printf("err EINVAL usage\n");
            return;
        }
        if (rc < 0) reply_err();
        else printf("ok\n");
    } else if (strcmp(c, "map") == 0) {
        cmd_map(w, n, false);
    } else if (strcmp(c, "unmap") == 0) {
        cmd_map(w, n, true);
    } else if (strcmp(c, "reserved") == 0 && n >= 5 && n <= 7 && strcmp(w[1], "pci") == 0 && !num(w[2], &a) &&
               !num(w[3], &b) && !num(w[4], &d)) {
        uint64_t off = 0, room = 16;
        if ((n > 5 && (num(w[5], &off) || off > UINT_MAX)) || (n > 6 && (num(w[6], &room) || room > 16))) {
            printf("err EINVAL usage\n");
            return;
        }
        union smmu_devid id;
        memset(&id, 0, sizeof id);
        id.pci = (struct smmu_devid_pci){ SDT_PCI, (unsigned)a, (unsigned)b, (unsigned)d };
        struct smmu_map_entry e[16];
        unsigned r = smmu_device_report_reserved(&id, (unsigned)off, e, (unsigned)room);
        if (r == (unsigned)-1) {
            reply_err();
            return;
        }
        printf("ok %u", r);
        for (unsigned i = 0; i < r && i < room; i++)
            printf(" 0x%llx,0x%llx", (unsigned long long)e[i].phys, (unsigned long long)e[i].len);
        printf("\n");
    } else if (strcmp(c, "notify") == 0 && n == 2) {
        struct sigevent ev;
        memset(&ev, 0, sizeof ev);
        if (strcmp(w[1], "signal") == 0) ev.sigev_notify = SIGEV_SIGNAL, ev.sigev_signo = SIGUSR1;
        else if (strcmp(w[1], "thread") == 0) ev.sigev_notify = SIGEV_THREAD, ev.sigev_notify_function = on_thread;
        else ev.sigev_notify = SIGEV_NONE;
        if (smmu_xfer_notify(&ev) < 0) reply_err();
        else printf("ok\n");
    } else if (strcmp(c, "notified") == 0 && n == 2 && !num(w[1], &a)) {
        int64_t until = now_ms() + (int64_t)a;
        int start = atomic_load(&notified);
        while (atomic_load(&notified) == start && now_ms() < until) usleep(1000);
        printf("ok %d\n", atomic_load(&notified));
    } else if (strcmp(c, "status") == 0 || (strcmp(c, "wait-fault") == 0 && n == 2 && !num(w[1], &a))) {
        int64_t until = now_ms() + (strcmp(c, "status") == 0 ? 0 : (int64_t)a);
        struct smmu_status st;
        for (;;) {
            int r = smmu_xfer_status(&st);
            if (r < 0) {
                reply_err();
                return;
            }
            if (r == 1) {
                print_status(&st);
                return;
            }
            int64_t left = until - now_ms();
            if (left <= 0) break;
            struct pollfd p = { .fd = smmu_xfer_fd(), .events = POLLIN };
            poll(&p, 1, (int)(left < 50 ? left : 50)); /* re-check: the fd is a hint */
        }
        printf("none\n");
    } else if (strcmp(c, "wait-fd") == 0 && n == 2 && !num(w[1], &a) && a <= INT_MAX) {
        struct pollfd p = { .fd = smmu_xfer_fd(), .events = POLLIN };
        int r = p.fd < 0 ? -1 : poll(&p, 1, (int)a);
        if (r < 0) reply_err();
        else printf("ok %s\n", r ? "readable" : "timeout");
    } else if (strcmp(c, "gone") == 0) {
        const char *why = smmu_dss_reason();
        if (why) printf("ok %s\n", why);
        else printf("none\n");
    } else if (strcmp(c, "errname") == 0 && n == 2 && !num(w[1], &a) && a <= INT_MAX) {
        printf("ok %s\n", errname((int)a));
    } else if (strcmp(c, "safety") == 0) {
        printf("ok %d\n", smmu_safety());
    } else if (strcmp(c, "counters") == 0 && n == 1) {
        cmd_counters();
    } else if (strcmp(c, "fini") == 0) {
        smmu_fini();
        printf("ok\n");
    } else {
        printf("err EINVAL unknown command '%s'\n", c);
    }
}

static const char usage[] =
    "usage: smmu-client [--help | --version]\n"
    "A libsmmu client driven by one command per line on stdin, one reply line per\n"
    "command on stdout. It connects to $SMMU_SOCKET on \"init\". Commands:\n"
    "  init | fini | exit | safety | obj [manual] | destroy HANDLE\n"
    "  add HANDLE|- pci BUS DEV FUNC | add HANDLE|- mem PHYS LEN\n"
    "  map HANDLE PERMS ADDR LEN [ADDR LEN ...] [target=ADDR]   (PERMS: r w rw x none, t: SMF_TARGET)\n"
    "  unmap HANDLE ADDR LEN [ADDR LEN ...]\n"
    "  reserved pci BUS DEV FUNC [OFFSET [N]]\n"
    "  notify signal|thread|none | notified MS\n"
    "  status | wait-fault MS | wait-fd MS | gone | errname N | counters\n"
    "Replies: ok [...], none, fault ..., or err ENAME message.\n";

int main(int argc, char **argv)
{
    /* options are answered before anything else: no connection is made */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, stdout);
            return 0;
        }
        if (strcmp(argv[i], "--version") == 0) {
            printf("smmu-client (smmuman) %s\n", SMMU_VERSION);
            return 0;
        }
    }
    if (argc > 1) {
        fputs(usage, stderr);
        return 2;
    }
    char line[4096];
    /* SA_RESTART: a notification arriving while we wait for a command must
     * not end the command loop */
    struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESTART };
    sigaction(SIGUSR1, &sa, NULL);
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (;;) {
        if (!fgets(line, sizeof line, stdin)) {
            if (ferror(stdin) && errno == EINTR) { /* belt and braces for a restart-less read */
                clearerr(stdin);
                continue;
            }
            break;
        }
        char *w[MAX_ENTRIES * 2 + 8];
        int n = 0;
        char *save = NULL;
        for (char *t = strtok_r(line, " \t\r\n", &save); t && n < (int)(sizeof w / sizeof w[0]); t = strtok_r(NULL, " \t\r\n", &save))
            w[n++] = t;
        if (n == 0) continue;
        if (strcmp(w[0], "exit") == 0) break;
        command(w, n);
    }
    return 0;
}
