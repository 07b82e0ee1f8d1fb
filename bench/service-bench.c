/* Benchmark (not a test) of the service, issue 3's three figures and
 * issue 9's:
 *
 *  1. pt_map of 256 pages of 4 KiB in one call, against a plain loop storing
 *     256 8-byte entries into the same memory (median of many repetitions).
 *  2. smmu_mapping_add end to end (client -> service -> tables -> queued
 *     invalidation -> reply) against one register round trip through the
 *     board agent, which is what an unmap's invalidation needs (one IQT
 *     write; a map where nothing was needs none since issue 9).
 *  3. The service's resident memory with 64 clients holding 1,000 regions
 *     each.
 *  4. One smmu_mapping_add of k separate 4 KiB segments, on both IOMMU
 *     boards: the register accesses it costs (the service's own count) and
 *     its time, for a map where nothing was mapped, a change of permission,
 *     and an unmap.
 *  5. Guest pass-through, on both IOMMU boards: a guest driver's
 *     smmu_mapping_add through its guest's smmuman, the VM (smmu-qvm) and
 *     the host service, against a host driver's on the same board, and the
 *     guest's no-hardware request (smmu_safety: guest driver <-> guest
 *     service only) beside them.
 *
 * Usage: see usage[] (method and results: docs/performance.md) */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent-client.h"
#include "bench-json.h"
#include "inventory.h"
#include "launcher.h"
#include "paths-bench.h"
#include "smmu.h"

#include "../smmuman/lib/libsmmu-tools.h"
#include "../smmuman/lib/proto.h"


#ifndef SMMU_VERSION
#error "SMMU_VERSION: meson passes the project's version"
#endif

static const char usage[] =
    "usage: service-bench [--help | --version | --only pgtable|service|segments|guest|rows] [--quick] [--json FILE]\n"
    "Benchmarks the service (not a test): pt_map of 256 pages against a plain loop\n"
    "(pgtable); smmu_mapping_add end to end against one register round trip through\n"
    "the board agent, and the service's memory with 64 clients x 1000 regions\n"
    "(service); the register accesses and time of one smmu_mapping_add of k separate\n"
    "pages on both IOMMU boards (segments); a guest driver's smmu_mapping_add through\n"
    "its guest's smmuman and the VM against a host driver's (guest). --only runs one\n"
    "section. rows (not run by default; scripts/bench runs it): issue 12's rows 2, 3\n"
    "and 6 on both boards (mapping cost split into its parts, fault latency, scale),\n"
    "as JSON rows with --json FILE (bench-json.h); --quick: fewer repetitions.\n"
    "Starts q35-vtd and virt-smmuv3 boards and smmuman from " SMMU_BUILD_DIR ".\n"
    "Results on stdout; the method and past results are in docs/performance.md.\n";

static unsigned long long reg_accesses(void)
{
    static char text[65536];
    unsigned long long n = 0;
    if (smmu_query_text(SMMU_OP_STATUS, text, sizeof text) == 0 && strstr(text, "register.accesses="))
        sscanf(strstr(text, "register.accesses="), "register.accesses=%llu", &n);
    return n;
}
#include "../smmuman/hw/pgtable/pgtable.h"

#define ARENA_PAGES 64
static uint8_t arena[ARENA_PAGES * 4096] __attribute__((aligned(4096)));
static unsigned arena_used;

static int a_alloc(void *ctx, uint64_t *pa)
{
    (void)ctx;
    if (arena_used == ARENA_PAGES) return -ENOMEM;
    memset(arena + arena_used * 4096, 0, 4096);
    *pa = 0x10000000ull + arena_used++ * 4096ull;
    return 0;
}
static void a_free(void *ctx, uint64_t pa) { (void)ctx; (void)pa; }
static uint64_t *a_va(void *ctx, uint64_t pa) { (void)ctx; return (uint64_t *)(void *)(arena + (pa - 0x10000000ull)); }
static void a_written(void *ctx, uint64_t pa) { (void)ctx; (void)pa; }

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, unsigned n)
{
    qsort(v, n, sizeof *v, cmp);
    return v[n / 2];
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void bench_pgtable(void)
{
    enum { REPS = 2001 };
    static double t_cold[REPS], t_warm[REPS], t_loop[REPS];
    PtMem mem = { NULL, a_alloc, a_free, a_va, a_written };
    for (unsigned r = 0; r < REPS; r++) {
        PtTable t;
        PtInval inv;
        arena_used = 0;
        pt_init(&t, &pt_format_vtd_sl, 3, 1, &mem); /* 4 KiB leaves only */
        pt_inval_init(&inv);
        /* cold: the two tables below the root are allocated and zeroed */
        double t0 = now_ns();
        pt_map(&t, 0x40000000, 0x80000000, 256 * 4096, PT_READ, &inv);
        t_cold[r] = now_ns() - t0;
        /* warm: the tables exist; all 256 entries change (new permission) */
        t0 = now_ns();
        pt_map(&t, 0x40000000, 0x80000000, 256 * 4096, PT_READ | PT_WRITE, &inv);
        t_warm[r] = now_ns() - t0;
        /* the same 256 stores by hand into the leaf table's memory */
        volatile uint64_t *leaf = (volatile uint64_t *)(void *)(arena + (arena_used - 1) * 4096);
        t0 = now_ns();
        for (unsigned i = 0; i < 256; i++) leaf[i] = (0x80000000ull + i * 4096ull) | 3;
        t_loop[r] = now_ns() - t0;
        pt_fini(&t);
    }
    double c = median(t_cold, REPS), w = median(t_warm, REPS), l = median(t_loop, REPS);
    printf("pt_map 256 x 4 KiB in one call: %.0f ns with tables present (%.2fx), %.0f ns allocating them (%.2fx); "
           "plain loop of 256 stores: %.0f ns\n", w, w / l, c, c / l, l);
}

static pid_t start_service_poll(const char *run, const char *type, char *sock, size_t socklen, unsigned poll_ms)
{
    char poll[16];
    snprintf(poll, sizeof poll, "%u", poll_ms);
    snprintf(sock, socklen, "%s/bench.sock", run);
    char conf[512], tsock[300];
    snprintf(conf, sizeof conf, "platform board:%s", run);
    snprintf(tsock, sizeof tsock, "%s/bench-target.sock", run);
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 2); /* one log line per client would drown the results */
        setenv("SMMU_HW_DIR", SMMU_BUILD_DIR, 1); /* this build's libraries and platform modules */
        execl(SMMU_BUILD_DIR "/smmuman", "smmuman", "foreground", "smmu", type, "attach-socket", sock,
              "target-socket", tsock, "fault-poll-ms", poll, conf, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 500 && access(sock, F_OK) != 0; i++) usleep(10000);
    return pid;
}

static pid_t start_service(const char *run, const char *type, char *sock, size_t socklen)
{
    return start_service_poll(run, type, sock, socklen, 1000);
}

static long rss_kib(pid_t pid)
{
    char path[64], line[256];
    long kib = -1;
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1) break;
    if (f) fclose(f);
    return kib;
}

static void bench_service(void)
{
    g_autoptr(GError) err = NULL;
    TbBoard *b = tb_board_start("q35-vtd", NULL, &err);
    if (!b) {
        fprintf(stderr, "service-bench: %s\n", err->message);
        exit(1);
    }
    char sock[300];
    pid_t svc = start_service(tb_board_run_dir(b), "vtd", sock, sizeof sock);
    setenv("SMMU_SOCKET", sock, 1);
    if (smmu_init(0) < 0) {
        perror("service-bench: smmu_init");
        exit(1);
    }
    struct smmu_object *o = smmu_obj_create(0);
    smmu_device_add_pci(o, 0, 4, 0);
    /* register accesses one map and one unmap cost, from the service's own count
     * (its fault poll runs once a second here; measured over a short burst) */
    unsigned long long acc0 = reg_accesses();
    for (unsigned i = 0; i < 20; i++) {
        struct smmu_map_entry e = { .phys = 0x3000000, .len = 4096 };
        smmu_mapping_add(o, i % 2 ? SMF_NONE : SMF_READ, getpid(), 1, &e, 0);
    }
    printf("register accesses per smmu_mapping_add, a map and an unmap in turn: %.2f (an unmap's invalidation is "
           "the IQT write; a map where nothing was needs none)\n",
           (double)(reg_accesses() - acc0) / 20);
    enum { N = 2001 };
    static double t_add[N], t_reg[N], t_ipc[N];
    TbAgent *ag = NULL;
    tb_agent_connect(tb_board_agent_path(b), 0, &ag, &err);
    /* Interleaved, so that all three see the same machine: on this VM an
     * idle vCPU takes tens of microseconds to wake, and that comes and goes. */
    for (unsigned i = 0; i < N; i++) {
        struct smmu_map_entry e = { .phys = 0x1000000 + (i % 64) * 4096ull, .len = 4096 };
        double t0 = now_ns();
        smmu_mapping_add(o, i % 2 ? SMF_NONE : SMF_READ | SMF_WRITE, getpid(), 1, &e, 0);
        t_add[i] = now_ns() - t0;
        TbReply r;
        t0 = now_ns();
        tb_agent_do(ag, &r, NULL, "mmio read 0xfed90000 4"); /* as the service's IQT write */
        t_reg[i] = now_ns() - t0;
        tb_reply_clear(&r);
        t0 = now_ns();
        smmu_safety(); /* the client <-> service hop alone */
        t_ipc[i] = now_ns() - t0;
    }
    double a = median(t_add, N), rr = median(t_reg, N), ipc = median(t_ipc, N);
    printf("smmu_mapping_add (1 page, end to end): median %.1f us; one register round trip via the agent: median %.1f us "
           "(ratio %.2f); a request with no hardware access (smmu_safety): median %.1f us\n", a / 1e3, rr / 1e3, a / rr,
           ipc / 1e3);
    tb_agent_close(ag);
    smmu_obj_destroy(o);
    smmu_fini();

    /* 64 clients with 1,000 regions each (separate pages, one call each) */
    long before = rss_kib(svc);
    pid_t kids[64];
    int ready[2];
    if (pipe(ready) < 0) exit(1);
    for (unsigned k = 0; k < 64; k++) {
        kids[k] = fork();
        if (kids[k] == 0) {
            close(ready[0]);
            if (smmu_init(0) < 0) _exit(1);
            struct smmu_object *obj = smmu_obj_create(0);
            static struct smmu_map_entry e[1000];
            /* the same 1,000 pages for every client: 64 x 1,000 distinct pages
             * 8 KiB apart do not fit below the table pool (row 6 says more) */
            for (unsigned i = 0; i < 1000; i++) e[i] = (struct smmu_map_entry){ .phys = 0x2000000 + i * 8192ull, .len = 4096 };
            int rc = obj ? smmu_mapping_add(obj, SMF_READ, getpid(), 1000, e, 0) : -1;
            char c = rc == 0 ? 'y' : 'n';
            if (write(ready[1], &c, 1) != 1) _exit(1);
            pause(); /* hold the regions until measured */
            _exit(0);
        }
    }
    close(ready[1]);
    unsigned ok = 0;
    for (unsigned k = 0; k < 64; k++) {
        char c;
        if (read(ready[0], &c, 1) == 1 && c == 'y') ok++;
    }
    if (ok != 64) { /* a benchmark whose set-up fails stops and says so */
        fprintf(stderr, "service-bench: only %u of 64 clients could map their 1000 regions; stopped\n", ok);
        exit(1);
    }
    long after = rss_kib(svc);
    printf("service RSS: %ld KiB at rest, %ld KiB (%.1f MiB) with %u clients x 1000 regions\n", before, after,
           after / 1024.0, ok);
    for (unsigned k = 0; k < 64; k++) kill(kids[k], SIGKILL), waitpid(kids[k], NULL, 0);
    kill(svc, SIGKILL);
    waitpid(svc, NULL, 0);
    char f[400];
    snprintf(f, sizeof f, "%s/bench-target.sock", tb_board_run_dir(b));
    unlink(f);
    unlink(sock);
    tb_board_stop(b, NULL);
}

/* One smmu_mapping_add of k separate 4 KiB pages, 8 KiB apart (so that no
 * two touch: k regions, k segments), on `board` with smmuman's `type`
 * library: register accesses (the service's own count, per call) and time
 * per call, median over REPS calls, for three kinds of change in turn:
 * pages nothing mapped get read access, the same pages get write access
 * too (present entries change), and the pages are unmapped. */
static void bench_segments(const char *board, const char *type)
{
    enum { REPS = 101, KMAX = 64 };
    static const unsigned ks[] = { 1, 16, 64 };
    static const char *const kinds[] = { "map", "add write", "unmap" };
    static const unsigned flags[] = { SMF_READ, SMF_WRITE, SMF_NONE };
    g_autoptr(GError) err = NULL;
    TbBoard *b = tb_board_start(board, NULL, &err);
    if (!b) {
        fprintf(stderr, "service-bench: %s\n", err->message);
        exit(1);
    }
    char sock[300];
    pid_t svc = start_service(tb_board_run_dir(b), type, sock, sizeof sock);
    setenv("SMMU_SOCKET", sock, 1);
    /* the socket's file exists from bind(); it answers once the units are up */
    int rc = -1;
    for (int i = 0; i < 500 && (rc = smmu_init(0)) < 0 && errno == ECONNREFUSED; i++) usleep(10000);
    if (rc < 0) {
        perror("service-bench: smmu_init");
        exit(1);
    }
    struct smmu_object *o = smmu_obj_create(0);
    smmu_device_add_pci(o, 0, 4, 0);
    const uint64_t base = tb_board_def(b)->ram_base + 0x4000000;
    for (unsigned ki = 0; ki < sizeof ks / sizeof ks[0]; ki++) {
        const unsigned k = ks[ki];
        static double t[3][REPS], acc[3][REPS];
        struct smmu_map_entry e[KMAX];
        for (unsigned i = 0; i < k; i++) e[i] = (struct smmu_map_entry){ .phys = base + i * 8192ull, .len = 4096 };
        for (unsigned r = 0; r < REPS; r++)
            for (unsigned kind = 0; kind < 3; kind++) {
                unsigned long long a0 = reg_accesses();
                double t0 = now_ns();
                if (smmu_mapping_add(o, flags[kind], getpid(), k, e, 0) < 0) {
                    perror("service-bench: smmu_mapping_add");
                    exit(1);
                }
                t[kind][r] = now_ns() - t0;
                /* the fault poll (once a second here) may add a read or two to a
                 * call now and then: the median is the call's own cost */
                acc[kind][r] = (double)(reg_accesses() - a0);
            }
        printf("%s, smmu_mapping_add of %u separate 4 KiB page%s:", board, k, k > 1 ? "s" : "");
        for (unsigned kind = 0; kind < 3; kind++)
            printf("%s %s %.0f accesses, %.1f us", kind ? ";" : "", kinds[kind], median(acc[kind], REPS),
                   median(t[kind], REPS) / 1e3);
        printf("\n");
    }
    smmu_obj_destroy(o);
    smmu_fini();
    kill(svc, SIGKILL);
    waitpid(svc, NULL, 0);
    char f[400];
    snprintf(f, sizeof f, "%s/bench-target.sock", tb_board_run_dir(b));
    unlink(f);
    unlink(sock);
    tb_board_stop(b, NULL);
}

/* A child process with stderr to /dev/null (one log line per request would
 * drown the results) and this build's libraries and platform modules. */
static pid_t spawn_quiet(char *const argv[], const char *vdev)
{
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 2);
        setenv("SMMU_HW_DIR", SMMU_BUILD_DIR, 1);
        if (vdev) setenv("SMMU_VDEV", vdev, 1);
        else unsetenv("SMMU_VDEV");
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

/* Waits (bounded: 5 s) for a socket to answer a libsmmu connection. */
static struct smmu_conn *conn_when_up(const char *path)
{
    struct smmu_conn *c = NULL;
    for (int i = 0; i < 500 && !(c = smmu_conn_open(path, 0)); i++) usleep(10000);
    if (!c) {
        fprintf(stderr, "service-bench: %s: %s\n", path, strerror(errno));
        exit(1);
    }
    return c;
}

/* Guest pass-through on `board`: host smmuman, a VM of fixtures/vms/BOARD.vm
 * (guest RAM from the board's base, edu0 = host 0:4.0 at guest 0:2.0), and
 * the guest's smmuman on its vdev-smmu. In one loop, interleaved: a guest
 * driver maps and unmaps one page of guest RAM (guest service -> vdev back
 * end -> VM -> host service -> tables and invalidation), a host driver
 * owning edu2 (0:6.0) does the same on the host, and the guest driver asks
 * smmu_safety (guest driver <-> guest service alone). */
static void bench_guest(const char *board, const char *type)
{
    enum { N = 1001 };
    g_autoptr(GError) err = NULL;
    TbBoard *b = tb_board_start(board, NULL, &err);
    if (!b) {
        fprintf(stderr, "service-bench: %s\n", err->message);
        exit(1);
    }
    const char *run = tb_board_run_dir(b);
    g_autofree char *sock = g_build_filename(run, "bench.sock", NULL);
    g_autofree char *tsock = g_build_filename(run, "bench-target.sock", NULL);
    g_autofree char *gsock = g_build_filename(run, "guest.sock", NULL);
    g_autofree char *gtsock = g_build_filename(run, "guest-target.sock", NULL);
    g_autofree char *vdev = g_build_filename(run, "vdev-smmu.sock", NULL);
    g_autofree char *vmstatus = g_build_filename(run, "vm.status", NULL);
    g_autofree char *platform = g_strdup_printf("board:%s", run);
    g_autofree char *fixture = g_strdup_printf("%s/%s.vm", VM_FIXTURES_DIR, board);
    char *host_argv[] = { (char *)SMMU_BUILD_DIR "/smmuman", "foreground", "smmu", (char *)type, "attach-socket", sock,
                          "target-socket", tsock, "fault-poll-ms", "1000", "platform", platform, NULL };
    pid_t host = spawn_quiet(host_argv, NULL);
    struct smmu_conn *hc = conn_when_up(sock);
    char *vm_argv[] = { (char *)SMMU_QVM, "--host-socket", tsock, "--run-dir", (char *)run, "--status-file", vmstatus,
                        fixture, NULL };
    pid_t vm = spawn_quiet(vm_argv, NULL);
    for (int i = 0; i < 500 && access(vdev, F_OK) != 0; i++) usleep(10000);
    char *guest_argv[] = { (char *)SMMU_BUILD_DIR "/smmuman", "foreground", "attach-socket", gsock,
                           "target-socket", gtsock, NULL };
    pid_t guest = spawn_quiet(guest_argv, vdev);
    struct smmu_conn *gc = conn_when_up(gsock);

    struct smmu_object *ho = smmu_conn_obj_create(hc, 0), *go = smmu_conn_obj_create(gc, 0);
    if (!ho || !go || smmu_conn_device_add_pci(hc, ho, 0, 6, 0) < 0 || smmu_conn_device_add_pci(gc, go, 0, 2, 0) < 0) {
        fprintf(stderr, "service-bench: %s: set-up: %s\n", board, strerror(errno));
        exit(1);
    }
    const uint64_t base = tb_board_def(b)->ram_base;
    static double t_guest[N], t_host[N], t_ipc[N];
    for (unsigned i = 0; i < N; i++) {
        const unsigned flags = i % 2 ? SMF_NONE : SMF_READ | SMF_WRITE;
        /* guest RAM's first 32 MiB (guest-physical from base); the host's
         * page well away from what the VM backs */
        struct smmu_map_entry ge = { .phys = base + 0x300000 + (i / 2 % 64) * 4096ull, .len = 4096 };
        struct smmu_map_entry he = { .phys = base + 0x1000000 + (i / 2 % 64) * 4096ull, .len = 4096 };
        double t0 = now_ns();
        int rc = smmu_conn_mapping_add(gc, go, flags, getpid(), 1, &ge, 0);
        t_guest[i] = now_ns() - t0;
        t0 = now_ns();
        rc |= smmu_conn_mapping_add(hc, ho, flags, getpid(), 1, &he, 0);
        t_host[i] = now_ns() - t0;
        t0 = now_ns();
        rc |= smmu_conn_safety(gc) < 0;
        t_ipc[i] = now_ns() - t0;
        if (rc) {
            fprintf(stderr, "service-bench: %s: request %u: %s\n", board, i, strerror(errno));
            exit(1);
        }
    }
    double g = median(t_guest, N), h = median(t_host, N), ipc = median(t_ipc, N);
    printf("%s, smmu_mapping_add of 1 page (map and unmap in turn): guest driver %.1f us, host driver %.1f us "
           "(ratio %.2f); guest driver <-> guest service alone (smmu_safety) %.1f us\n",
           board, g / 1e3, h / 1e3, g / h, ipc / 1e3);
    smmu_conn_close(gc);
    smmu_conn_close(hc);
    pid_t kids[] = { guest, vm, host };
    for (unsigned k = 0; k < 3; k++) kill(kids[k], SIGKILL), waitpid(kids[k], NULL, 0);
    const char *files[] = { sock, tsock, gsock, gtsock, vdev, vmstatus };
    for (unsigned k = 0; k < G_N_ELEMENTS(files); k++) unlink(files[k]);
    g_autofree char *tmp = g_strconcat(vmstatus, ".tmp", NULL);
    unlink(tmp);
    tb_board_stop(b, NULL);
}

/* ---- issue 12 rows 2, 3 and 6 (--only rows; JSON rows with --json) ---------- */

static unsigned reps_rows = 1001; /* --quick: 201 */

static double pctl(double *v, unsigned n, double p)
{
    qsort(v, n, sizeof *v, cmp);
    return v[(unsigned)(n * p)];
}

/* A board, its service (fault-poll-ms poll_ms) and this process connected as
 * its client; the unit's version register for round trips through the
 * agent. Stops the program, saying why, when any of it fails. */
typedef struct {
    TbBoard *b;
    pid_t svc;
    char sock[300];
    TbAgent *ag;
    TbInventory inv;
    uint64_t reg;
} Rig;

static void rig_start(Rig *g, const char *board, const char *type, unsigned poll_ms)
{
    g_autoptr(GError) err = NULL;
    g->b = tb_board_start(board, NULL, &err);
    if (!g->b) {
        fprintf(stderr, "service-bench: %s\n", err->message);
        exit(1);
    }
    g->svc = start_service_poll(tb_board_run_dir(g->b), type, g->sock, sizeof g->sock, poll_ms);
    setenv("SMMU_SOCKET", g->sock, 1);
    int rc = -1;
    for (int i = 0; i < 500 && (rc = smmu_init(0)) < 0 && errno == ECONNREFUSED; i++) usleep(10000);
    if (rc < 0 || tb_agent_connect(tb_board_agent_path(g->b), 0, &g->ag, &err) ||
        tb_inventory_fetch(g->ag, &g->inv, &err) || g->inv.n_units == 0) {
        fprintf(stderr, "service-bench: %s: set-up: %s\n", board, err ? err->message : strerror(errno));
        exit(1);
    }
    g->reg = g->inv.units[0].base + (strcmp(g->inv.units[0].kind, "vtd") == 0 ? 0 : 0x1c); /* VER, AIDR */
}

static void rig_stop(Rig *g)
{
    smmu_fini();
    tb_agent_close(g->ag);
    kill(g->svc, SIGKILL);
    waitpid(g->svc, NULL, 0);
    char f[400];
    snprintf(f, sizeof f, "%s/bench-target.sock", tb_board_run_dir(g->b));
    unlink(f);
    unlink(g->sock);
    tb_board_stop(g->b, NULL);
}

static double reg_rt(Rig *g)
{
    TbReply r;
    g_autoptr(GError) err = NULL;
    double t0 = now_ns();
    if (tb_agent_do(g->ag, &r, &err, "mmio read 0x%llx 4", (unsigned long long)g->reg) || !r.ok) {
        fprintf(stderr, "service-bench: register read: %s\n", err ? err->message : r.text);
        exit(1);
    }
    tb_reply_clear(&r);
    return now_ns() - t0;
}

/* Row 2: smmu_mapping_add of one page and its removal, interleaved with its
 * parts measured alone: the client <-> service hop (smmu_safety), the table
 * work in this process (pt_map/pt_unmap of one page into a fresh table of
 * the unit's format), and one register round trip through the agent; the
 * service's count of register accesses per call. */
static void row2(const char *board, const char *type)
{
    const unsigned n = reps_rows;
    Rig g;
    rig_start(&g, board, type, 1000);
    struct smmu_object *o = smmu_obj_create(0);
    if (!o || smmu_device_add_pci(o, 0, 4, 0) < 0) {
        fprintf(stderr, "service-bench: %s: object with edu0: %s\n", board, smmu_last_error());
        exit(1);
    }
    const PtFormat *fmt = strcmp(type, "vtd") == 0 ? &pt_format_vtd_sl : &pt_format_arm_s2;
    PtMem mem = { NULL, a_alloc, a_free, a_va, a_written };
    double *t[6], *acc[2];
    for (unsigned k = 0; k < 6; k++) t[k] = g_new(double, n);
    for (unsigned k = 0; k < 2; k++) acc[k] = g_new(double, n);
    const uint64_t page = g.inv.ram_base + 0x1000000;
    for (unsigned i = 0; i < n; i++) {
        struct smmu_map_entry e = { .phys = page + (i % 64) * 4096ull, .len = 4096 };
        for (unsigned k = 0; k < 2; k++) {
            unsigned long long a0 = reg_accesses();
            double t0 = now_ns();
            if (smmu_mapping_add(o, k ? SMF_NONE : SMF_READ | SMF_WRITE, getpid(), 1, &e, 0) < 0) {
                fprintf(stderr, "service-bench: %s: smmu_mapping_add: %s\n", board, smmu_last_error());
                exit(1);
            }
            t[k][i] = now_ns() - t0;
            acc[k][i] = (double)(reg_accesses() - a0);
        }
        double t0 = now_ns();
        smmu_safety();
        t[2][i] = now_ns() - t0;
        PtTable tb;
        PtInval inv;
        arena_used = 0;
        pt_init(&tb, fmt, 3, 1, &mem);
        pt_inval_init(&inv);
        t0 = now_ns();
        pt_map(&tb, e.phys, e.phys, 4096, PT_READ | PT_WRITE, &inv);
        t[3][i] = now_ns() - t0;
        t0 = now_ns();
        pt_unmap(&tb, e.phys, 4096, &inv);
        t[4][i] = now_ns() - t0;
        pt_release(&tb);
        pt_fini(&tb);
        t[5][i] = reg_rt(&g);
    }
    double med[6], p99[6];
    for (unsigned k = 0; k < 6; k++) p99[k] = pctl(t[k], n, 0.99) / 1e3, med[k] = pctl(t[k], n, 0.5) / 1e3;
    /* the status query itself is not a register access; the fault poll (once a
     * second) may add one now and then: the median is the call's own count */
    double am = pctl(acc[0], n, 0.5), au = pctl(acc[1], n, 0.5);
    static const char *const what[] = { "map", "unmap" };
    for (unsigned k = 0; k < 2; k++) {
        double a = k ? au : am, floor = med[2] + med[3 + k] + a * med[5];
        char name[64], note[300];
        snprintf(name, sizeof name, "smmu_mapping_add 1 page, %s", what[k]);
        snprintf(note, sizeof note, "floor = hop %.1f us + table work %.2f us + %.0f register accesses x round trip "
                 "%.1f us (all medians, interleaved); invalidation %.0f us of it", med[2], med[3 + k], a, med[5],
                 a * med[5]);
        bench_row(&(BenchRow){ .name = name, .row = 2, .board = board, .unit = "us", .median = med[k], .p99 = p99[k],
                               .floor = floor, .ratio = med[k] / floor, .runs = n, .goal = "ratio <= 1.25",
                               .note = note });
    }
    bench_row(&(BenchRow){ .name = "client <-> service hop (smmu_safety)", .row = 2, .board = board, .unit = "us",
                           .median = med[2], .p99 = p99[2], .floor = NAN, .ratio = NAN, .runs = n,
                           .note = "a request with no hardware access, interleaved with the rows above" });
    bench_row(&(BenchRow){ .name = "register round trip via the agent", .row = 2, .board = board, .unit = "us",
                           .median = med[5], .p99 = p99[5], .floor = NAN, .ratio = NAN, .runs = n,
                           .note = "the unit's version register, interleaved with the rows above" });
    for (unsigned k = 0; k < 6; k++) g_free(t[k]);
    for (unsigned k = 0; k < 2; k++) g_free(acc[k]);
    smmu_obj_destroy(o);
    rig_stop(&g);
}

/* Row 3: from the agent's reply to a blocked DMA (edu0 attached to an object
 * with nothing mapped; 64 bytes, so that SMMUv3 writes 16 records, not
 * 1,024) to this client's fault descriptor polling readable. */
static void row3(const char *board, const char *type, unsigned poll_ms)
{
    const unsigned n = reps_rows / 10 + 1;
    Rig g;
    rig_start(&g, board, type, poll_ms);
    struct smmu_object *o = smmu_obj_create(0);
    if (!o || smmu_device_add_pci(o, 0, 4, 0) < 0) {
        fprintf(stderr, "service-bench: %s: object with edu0: %s\n", board, smmu_last_error());
        exit(1);
    }
    int fd = smmu_xfer_fd();
    const bool polled = strcmp(type, "vtd") == 0;
    double *lat = g_new(double, n), *rt = g_new(double, n);
    for (unsigned i = 0; i < n; i++) {
        TbReply r;
        g_autoptr(GError) err = NULL;
        if (tb_agent_do(g.ag, &r, &err, "dma edu0 write 0x%llx 64",
                        (unsigned long long)g.inv.ram_base + 0x2000000 + (i % 64) * 4096ull)) {
            fprintf(stderr, "service-bench: %s: dma: %s\n", board, err->message);
            exit(1);
        }
        tb_reply_clear(&r);
        double t0 = now_ns();
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, 5000) != 1) {
            fprintf(stderr, "service-bench: %s: no fault notification within 5 s of a blocked DMA\n", board);
            exit(1);
        }
        lat[i] = (now_ns() - t0) / 1e6;
        /* every record of this DMA, also those that come a poll later */
        struct smmu_status st;
        do {
            while (smmu_xfer_status(&st) == 1) {}
            p.revents = 0;
        } while (poll(&p, 1, polled ? (int)poll_ms * 2 + 5 : 20) == 1); /* quiet: two polls, or 20 ms */
        rt[i] = reg_rt(&g) / 1e6;
    }
    double med = pctl(lat, n, 0.5), p99 = pctl(lat, n, 0.99), r = pctl(rt, n, 0.5);
    char full[360];
    snprintf(full, sizeof full, "blocked 64 B edu0 DMA: the agent's reply to libsmmu's fault fd readable; %s %u%s; "
             "register round trip %.3f ms (median, same run)",
             polled ? "VT-d polled, fault-poll-ms" : "SMMUv3 event-queue interrupt (fault-poll-ms", poll_ms,
             polled ? "" : ", not what notifies)", r);
    if (polled)
        bench_row(&(BenchRow){ .name = "fault latency (polled)", .row = 3, .board = board, .unit = "ms",
                               .median = med, .p99 = p99, .floor = poll_ms + r, .ratio = med / (poll_ms + r),
                               .runs = n, .goal = "ratio <= 1", .note = full });
    else
        bench_row(&(BenchRow){ .name = "fault latency (interrupt)", .row = 3, .board = board, .unit = "ms",
                               .median = med, .p99 = p99, .floor = NAN, .ratio = NAN, .runs = n,
                               .goal = "median <= 0.5", .note = full });
    g_free(lat);
    g_free(rt);
    smmu_obj_destroy(o);
    rig_stop(&g);
}

static long status_num(const char *key)
{
    static char text[65536];
    long v = -1;
    const char *p;
    if (smmu_query_text(SMMU_OP_STATUS, text, sizeof text) == 0 && (p = strstr(text, key)))
        sscanf(p + strlen(key), "=%ld", &v);
    if (v < 0) {
        fprintf(stderr, "service-bench: the service's status has no %s\n", key);
        exit(1);
    }
    return v;
}

/* The table pages the format itself needs for regions[] in one domain: the
 * same maps made in this process, pages counted. */
static size_t min_pages(const PtFormat *fmt, const struct smmu_map_entry *e, unsigned n)
{
    PtMem mem = { NULL, a_alloc, a_free, a_va, a_written };
    PtTable tb;
    PtInval inv;
    arena_used = 0;
    pt_init(&tb, fmt, 3, 1, &mem);
    pt_inval_init(&inv);
    for (unsigned i = 0; i < n; i++)
        if (pt_map(&tb, e[i].phys, e[i].phys, e[i].len, PT_READ, &inv)) {
            fprintf(stderr, "service-bench: in-process table for the minimum: out of arena\n");
            exit(1);
        }
    uint64_t *pages = NULL;
    size_t np = pt_pages(&tb, &pages);
    free(pages);
    pt_fini(&tb);
    return np;
}

/* Row 6: N clients, each one object of 1,000 regions (separate 4 KiB pages
 * 8 KiB apart). Every client maps the same 1,000 pages: 64 clients of
 * distinct pages 8 KiB apart (500 MiB) do not fit in the 496 MiB of RAM
 * below the table pool, which is why the old row silently measured 61.
 * Then client 0 attaches edu0 (the service replays its 1,000 regions into
 * a new domain), timed. Any refusal stops the benchmark. */
static void row6(const char *board, const char *type)
{
    enum { REGIONS = 1000 };
    static const unsigned ns[] = { 1, 8, 64 };
    const PtFormat *fmt = strcmp(type, "vtd") == 0 ? &pt_format_vtd_sl : &pt_format_arm_s2;
    enum { RUNS = 3 }; /* each set-up from a fresh board, for a spread */
    double rss[RUNS], grown[RUNS], attach[RUNS];
    for (unsigned run = 0; run < 3 * RUNS; run++) {
        const unsigned n = ns[run / RUNS];
        Rig g;
        rig_start(&g, board, type, 1000);
        static struct smmu_map_entry e[REGIONS];
        for (unsigned i = 0; i < REGIONS; i++)
            e[i] = (struct smmu_map_entry){ .phys = g.inv.ram_base + 0x2000000 + i * 8192ull, .len = 4096 };
        long rss0 = rss_kib(g.svc), pool0 = status_num("pool.pages.used");
        /* a forked child must not share this process's connection: closed
         * here, opened again once the children hold theirs */
        smmu_fini();
        pid_t kids[64];
        int ready[2], go[2];
        if (pipe(ready) < 0 || pipe(go) < 0) exit(1);
        for (unsigned k = 0; k < n; k++) {
            kids[k] = fork();
            if (kids[k] == 0) {
                char msg[256] = "y";
                close(ready[0]);
                struct smmu_object *obj = smmu_init(0) == 0 ? smmu_obj_create(0) : NULL;
                if (!obj || smmu_mapping_add(obj, SMF_READ, getpid(), REGIONS, e, 0) < 0)
                    snprintf(msg, sizeof msg, "n client %u of %u: %s (%s)", k, n, smmu_last_error(), strerror(errno));
                if (write(ready[1], msg, sizeof msg) != sizeof msg) _exit(1);
                char c;
                if (k == 0 && msg[0] == 'y' && read(go[0], &c, 1) == 1) {
                    double t0 = now_ns();
                    int rc = smmu_device_add_pci(obj, 0, 4, 0);
                    double us = (now_ns() - t0) / 1e3;
                    if (rc < 0) snprintf(msg, sizeof msg, "n attaching edu0: %s", smmu_last_error());
                    else snprintf(msg, sizeof msg, "y %.1f", us);
                    if (write(ready[1], msg, sizeof msg) != sizeof msg) _exit(1);
                }
                pause(); /* hold the regions until measured */
                _exit(0);
            }
        }
        close(go[0]);
        const char *fail = NULL;
        char msg[256];
        for (unsigned k = 0; k < n; k++) {
            if (read(ready[0], msg, sizeof msg) != sizeof msg) snprintf(msg, sizeof msg, "n a client died");
            if (msg[0] != 'y' && !fail) fail = g_strdup(msg + 2);
        }
        if (smmu_init(0) < 0) {
            fprintf(stderr, "service-bench: %s: reconnecting: %s\n", board, strerror(errno));
            exit(1);
        }
        long rss1 = rss_kib(g.svc), pool1 = status_num("pool.pages.used");
        double attach_us = NAN;
        if (!fail) {
            if (write(go[1], "g", 1) != 1 || read(ready[0], msg, sizeof msg) != sizeof msg) msg[0] = 'n';
            if (msg[0] != 'y') fail = g_strdup(msg[0] ? msg + 2 : "client 0 died attaching edu0");
            else attach_us = strtod(msg + 2, NULL);
        }
        long pool2 = status_num("pool.pages.used");
        for (unsigned k = 0; k < n; k++) kill(kids[k], SIGKILL), waitpid(kids[k], NULL, 0);
        close(ready[0]);
        close(go[1]);
        rig_stop(&g);
        if (fail) {
            fprintf(stderr, "service-bench: %s, %u clients x %u regions: set-up failed, benchmark stopped: %s\n",
                    board, n, REGIONS, fail);
            exit(1);
        }
        rss[run % RUNS] = (double)rss1;
        grown[run % RUNS] = (double)(rss1 - rss0);
        attach[run % RUNS] = attach_us;
        if (run % RUNS != RUNS - 1) continue;
        size_t min = min_pages(fmt, e, REGIONS);
        char name[64], note[300], spread[64];
        double g_med = pctl(grown, RUNS, 0.5), lo, hi;
        lo = pctl(rss, RUNS, 0), hi = rss[RUNS - 1];
        snprintf(spread, sizeof spread, "%.0f-%.0f KiB", lo, hi);
        snprintf(name, sizeof name, "service RSS, %u client%s x 1000 regions", n, n > 1 ? "s" : "");
        snprintf(note, sizeof note, "VmRSS, median of %u fresh set-ups; floor: the same service at rest before the "
                 "clients came (last set-up); %.0f KiB more, %.1f KiB per client", RUNS, g_med, g_med / n);
        double med = pctl(rss, RUNS, 0.5);
        bench_row(&(BenchRow){ .name = name, .row = 6, .board = board, .unit = "KiB", .median = med, .p99 = NAN,
                               .spread = spread, .floor = (double)rss0, .ratio = med / rss0, .runs = RUNS,
                               .goal = "median <= 16384", .note = note });
        snprintf(name, sizeof name, "table-pool pages, %u client%s, one attached", n, n > 1 ? "s" : "");
        snprintf(note, sizeof note, "pool.pages.used: %ld at rest, %ld with the regions, %ld once client 0's object "
                 "has edu0 (last set-up); floor: pages the format needs for its 1,000 regions (built in process, "
                 "3 levels)", pool0, pool1, pool2);
        bench_row(&(BenchRow){ .name = name, .row = 6, .board = board, .unit = "pages", .median = (double)(pool2 - pool0),
                               .p99 = NAN, .floor = (double)min, .ratio = (double)(pool2 - pool0) / min, .runs = 1,
                               .note = note });
        snprintf(name, sizeof name, "attach edu0 to a 1000-region object, %u client%s", n, n > 1 ? "s" : "");
        lo = pctl(attach, RUNS, 0), hi = attach[RUNS - 1];
        snprintf(spread, sizeof spread, "%.0f-%.0f us", lo, hi);
        bench_row(&(BenchRow){ .name = name, .row = 6, .board = board, .unit = "us", .median = pctl(attach, RUNS, 0.5),
                               .p99 = NAN, .spread = spread, .floor = NAN, .ratio = NAN, .runs = RUNS,
                               .note = "smmu_device_add_pci timed in client 0, one per fresh set-up: the service "
                                       "replays its 1,000 regions into the new domain" });
    }
}

int main(int argc, char **argv)
{
    /* answered before any board or service starts */
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(usage, stdout);
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        printf("service-bench %s\n", SMMU_VERSION);
        return 0;
    }
    const char *only = NULL, *json = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--only") == 0 && i + 1 < argc &&
            (strcmp(argv[i + 1], "pgtable") == 0 || strcmp(argv[i + 1], "service") == 0 ||
             strcmp(argv[i + 1], "segments") == 0 || strcmp(argv[i + 1], "guest") == 0 ||
             strcmp(argv[i + 1], "rows") == 0))
            only = argv[++i];
        else if (strcmp(argv[i], "--json") == 0 && i + 1 < argc)
            json = argv[++i];
        else if (strcmp(argv[i], "--quick") == 0)
            reps_rows = 201;
        else {
            fprintf(stderr, "service-bench: unexpected argument '%s'\n%s", argv[i], usage);
            return 2;
        }
    }
    bench_json_open("service-bench", json);
    if (only && strcmp(only, "rows") == 0) {
        row2("q35-vtd", "vtd");
        row2("virt-smmuv3", "smmuv3");
        row3("q35-vtd", "vtd", 10);
        row3("virt-smmuv3", "smmuv3", 1000);
        row6("q35-vtd", "vtd");
        row6("virt-smmuv3", "smmuv3");
        bench_json_close();
        return 0;
    }
    if (!only || strcmp(only, "pgtable") == 0) bench_pgtable();
    if (!only || strcmp(only, "service") == 0) bench_service();
    if (!only || strcmp(only, "segments") == 0) {
        bench_segments("q35-vtd", "vtd");
        bench_segments("virt-smmuv3", "smmuv3");
    }
    if (!only || strcmp(only, "guest") == 0) {
        bench_guest("q35-vtd", "vtd");
        bench_guest("virt-smmuv3", "smmuv3");
    }
    return 0;
}
