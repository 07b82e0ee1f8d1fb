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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent-client.h"
#include "launcher.h"
#include "paths-bench.h"
#include "smmu.h"

#include "../smmuman/lib/libsmmu-tools.h"
#include "../smmuman/lib/proto.h"


#ifndef SMMU_VERSION
#error "SMMU_VERSION: meson passes the project's version"
#endif

static const char usage[] =
    "usage: service-bench [--help | --version | --only pgtable|service|segments|guest]\n"
    "Benchmarks the service (not a test): pt_map of 256 pages against a plain loop\n"
    "(pgtable); smmu_mapping_add end to end against one register round trip through\n"
    "the board agent, and the service's memory with 64 clients x 1000 regions\n"
    "(service); the register accesses and time of one smmu_mapping_add of k separate\n"
    "pages on both IOMMU boards (segments); a guest driver's smmu_mapping_add through\n"
    "its guest's smmuman and the VM against a host driver's (guest). --only runs one\n"
    "section.\n"
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

static pid_t start_service(const char *run, const char *type, char *sock, size_t socklen)
{
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
              "target-socket", tsock, "fault-poll-ms", "1000", conf, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 500 && access(sock, F_OK) != 0; i++) usleep(10000);
    return pid;
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
            for (unsigned i = 0; i < 1000; i++) e[i] = (struct smmu_map_entry){ .phys = 0x2000000 + (k * 1000ull + i) * 8192, .len = 4096 };
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
    const char *only = NULL;
    if (argc == 3 && strcmp(argv[1], "--only") == 0 &&
        (strcmp(argv[2], "pgtable") == 0 || strcmp(argv[2], "service") == 0 || strcmp(argv[2], "segments") == 0 ||
         strcmp(argv[2], "guest") == 0))
        only = argv[2];
    else if (argc > 1) {
        fprintf(stderr, "service-bench: unexpected argument '%s'\n%s", argv[1], usage);
        return 2;
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
