/* Benchmark (not a test): what the agent costs and how fast it injects DMA.
 *
 *  1. MMIO round trip: "mmio read" of the VT-d VER register through the agent,
 *     against a direct qtest client ("readl") on a board started without the
 *     agent. Same machine, same register, same number of accesses.
 *  2. DMA injection rate: single "dma" requests of 64 B and 4 KiB, and
 *     "storm" requests over one and three engines.
 *  3. Fairness, on q35-vtd and virt-smmuv3: while client A's storm runs,
 *     client B reads the IOMMU's version register about once a millisecond
 *     and records each round trip (what the service's register accesses
 *     see during a storm).
 *
 * Usage: see usage[] (results on stdout, method in docs/performance.md) */
#include <errno.h>
#include <stdarg.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent-client.h"
#include "bench-json.h"
#include "inventory.h"
#include "launcher.h"

#define VTD_VER 0xfed90000ull
#define SMMU_AIDR_OFF 0x1c /* SMMUv3 architecture revision */
/* This program's own revision: 2 added the fairness section. */

static const char usage[] =
    "usage: board-bench [--only mmio|dma|fair|baredma] [--storm COUNT] [--quick] [--json FILE] [ITERATIONS]\n"
    "  ITERATIONS  register round trips per MMIO case (default 5000, at least 100)\n"
    "  --only      run one section: mmio (agent vs direct qtest), dma (injection\n"
    "              rate), fair (register round trips from a second client while\n"
    "              a storm runs, on q35-vtd and virt-smmuv3)\n"
    "              a storm runs, on q35-vtd and virt-smmuv3), baredma (not run by\n"
    "              default: 4 KiB DMAs through the agent against a bare qtest\n"
    "              client driving the same edu engine; with mmio, both\n"
    "              interleaved on two boards running side by side)\n"
    "  --storm     DMAs in the fairness section's storm (default 20000)\n"
    "  --quick     a fifth of the iterations\n"
    "  --json FILE append the mmio and baredma results as JSON rows (bench-json.h)\n"
    "Results on stdout; the method is in docs/performance.md.\n";

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *what, double *us, unsigned n)
{
    qsort(us, n, sizeof *us, cmp_double);
    double sum = 0;
    for (unsigned i = 0; i < n; i++) sum += us[i];
    printf("%-34s n=%-6u mean %7.1f us  median %7.1f us  p99 %7.1f us\n", what, n, sum / n, us[n / 2],
           us[(unsigned)(n * 0.99)]);
}

static TbBoard *start_board(const char *name, bool no_agent)
{
    g_autoptr(GError) err = NULL;
    TbLaunchOptions opt = { .no_agent = no_agent };
    TbBoard *b = tb_board_start(name, &opt, &err);
    if (!b) {
        fprintf(stderr, "board-bench: %s\n", err->message);
        exit(1);
    }
    return b;
}

static TbBoard *start(bool no_agent) { return start_board("q35-vtd", no_agent); }

static TbAgent *connect_or_die(TbBoard *b)
{
    g_autoptr(GError) err = NULL;
    TbAgent *ag = NULL;
    if (tb_agent_connect(tb_board_agent_path(b), 0, &ag, &err)) {
        fprintf(stderr, "board-bench: %s\n", err->message);
        exit(1);
    }
    return ag;
}

/* Client A starts a storm; client B, on its own connection, reads the
 * IOMMU's version register once a millisecond until A's reply is there.
 * Each of B's round trips is a sample. B does not hammer: a service polls,
 * and a client that never pauses would halve the storm for nothing. */
static void bench_fair(const char *board, unsigned count)
{
    g_autoptr(GError) err = NULL;
    TbBoard *b = start_board(board, false);
    TbAgent *a = connect_or_die(b), *c = connect_or_die(b);
    TbInventory inv;
    if (tb_inventory_fetch(c, &inv, &err) || inv.n_units == 0) {
        fprintf(stderr, "board-bench: %s: %s\n", board, err ? err->message : "no IOMMU unit");
        exit(1);
    }
    bool vtd = strcmp(inv.units[0].kind, "vtd") == 0;
    uint64_t reg = inv.units[0].base + (vtd ? 0 : SMMU_AIDR_OFF);
    char storm[160];
    snprintf(storm, sizeof storm, "storm edu0,edu1,edu2 write 0x%llx 4096 %u stride=0",
             (unsigned long long)(inv.ram_base + 0x1000000), count);
    TbReply r;
    /* the storm alone first: what slicing costs it */
    gint64 t0 = g_get_monotonic_time();
    if (tb_agent_do(a, &r, &err, "%s", storm)) {
        fprintf(stderr, "board-bench: %s\n", err->message);
        exit(1);
    }
    tb_reply_clear(&r);
    double alone = (double)(g_get_monotonic_time() - t0) / 1e6;

    unsigned cap = 200000, n = 0;
    double *us = g_new(double, cap);
    tb_agent_set_timeout(a, 600000);
    tb_agent_set_timeout(c, 600000);
    t0 = g_get_monotonic_time();
    if (tb_agent_send(a, storm, &err)) exit(1);
    g_usleep(2000); /* let the storm begin */
    for (;;) {
        struct pollfd p = { .fd = tb_agent_fd(a), .events = POLLIN };
        if (poll(&p, 1, 0) != 0 || n == cap) break; /* A's reply (or its end) is there */
        gint64 s0 = g_get_monotonic_time();
        if (tb_agent_do(c, &r, &err, "mmio read 0x%llx 4", (unsigned long long)reg)) {
            fprintf(stderr, "board-bench: %s\n", err->message);
            exit(1);
        }
        us[n++] = (double)(g_get_monotonic_time() - s0);
        tb_reply_clear(&r);
        g_usleep(1000);
    }
    if (tb_agent_recv(a, &r, &err) || !r.ok) {
        fprintf(stderr, "board-bench: storm: %s\n", err ? err->message : r.text);
        exit(1);
    }
    double shared = (double)(g_get_monotonic_time() - t0) / 1e6;
    printf("%s: storm of %u x 4 KiB over 3 engines: alone %.2f s (%.0f DMA/s), "
           "with a second client %.2f s (%.0f DMA/s), reply '%s'\n",
           board, count, alone, count / alone, shared, count / shared, r.text);
    tb_reply_clear(&r);
    char what[64];
    snprintf(what, sizeof what, "%s: mmio read during storm", board);
    qsort(us, n, sizeof *us, cmp_double);
    printf("%-34s n=%-6u median %9.1f us  p99 %9.1f us  max %9.1f us\n", what, n, us[n / 2],
           us[(unsigned)(n * 0.99)], us[n - 1]);
    g_free(us);
    tb_agent_close(a);
    tb_agent_close(c);
    tb_board_stop(b, NULL);
}

static void bench_agent_mmio(unsigned n, double *us)
{
    g_autoptr(GError) err = NULL;
    TbBoard *b = start(false);
    TbAgent *ag = NULL;
    if (tb_agent_connect(tb_board_agent_path(b), 0, &ag, &err)) exit(1);
    for (unsigned i = 0; i < n + 100; i++) {
        TbReply r;
        gint64 t0 = g_get_monotonic_time();
        if (tb_agent_do(ag, &r, &err, "mmio read 0x%llx 4", VTD_VER)) {
            fprintf(stderr, "board-bench: %s\n", err->message);
            exit(1);
        }
        if (i >= 100) us[i - 100] = (double)(g_get_monotonic_time() - t0); /* 100 warm-up */
        tb_reply_clear(&r);
    }
    report("mmio read via agent", us, n);
    tb_agent_close(ag);
    tb_board_stop(b, NULL);
}

/* A qtest connection of our own to board b (bounded: 5 s of tries). */
static int qtest_open(TbBoard *b)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    g_strlcpy(sa.sun_path, tb_board_qtest_path(b), sizeof sa.sun_path);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    for (int tries = 0; connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0; tries++) {
        if (tries > 500) {
            perror("board-bench: qtest connect");
            exit(1);
        }
        g_usleep(10000);
    }
    return fd;
}

/* A minimal direct qtest client: what the agent itself does per access. */
static void bench_direct_mmio(unsigned n, double *us)
{
    TbBoard *b = start(true);
    int fd = qtest_open(b);
    char line[64], buf[256];
    int len = snprintf(line, sizeof line, "readl 0x%llx\n", VTD_VER);
    for (unsigned i = 0; i < n + 100; i++) {
        gint64 t0 = g_get_monotonic_time();
        if (write(fd, line, (size_t)len) != len) exit(1);
        size_t have = 0;
        while (!memchr(buf, '\n', have)) {
            ssize_t k = read(fd, buf + have, sizeof buf - have);
            if (k <= 0) exit(1);
            have += (size_t)k;
        }
        if (strncmp(buf, "OK 0x", 5) != 0) exit(1);
        if (i >= 100) us[i - 100] = (double)(g_get_monotonic_time() - t0);
    }
    report("readl via direct qtest client", us, n);
    close(fd);
    tb_board_stop(b, NULL);
}

static void bench_dma(unsigned n)
{
    g_autoptr(GError) err = NULL;
    TbBoard *b = start(false);
    TbAgent *ag = NULL;
    if (tb_agent_connect(tb_board_agent_path(b), 0, &ag, &err)) exit(1);
    static const struct {
        const char *what, *fmt;
        unsigned per_request;
    } cases[] = {
        { "dma write 64 B (one request each)", "dma edu0 write 0x%x 64", 1 },
        { "dma write 4 KiB (one request each)", "dma edu0 write 0x%x 4096", 1 },
        { "dma read 4 KiB (one request each)", "dma edu0 read 0x%x 4096", 1 },
        { "storm 4 KiB writes, 1 engine", "storm edu0 write 0x%x 4096 1000", 1000 },
        { "storm 4 KiB writes, 3 engines", "storm edu0,edu1,edu2 write 0x%x 4096 1000", 1000 },
    };
    for (unsigned c = 0; c < G_N_ELEMENTS(cases); c++) {
        unsigned requests = cases[c].per_request > 1 ? 5 : n;
        gint64 t0 = g_get_monotonic_time();
        for (unsigned i = 0; i < requests; i++) {
            TbReply r;
            if (tb_agent_do(ag, &r, &err, cases[c].fmt, 0x1000000 + (i % 256) * 4096)) {
                fprintf(stderr, "board-bench: %s\n", err->message);
                exit(1);
            }
            tb_reply_clear(&r);
        }
        double s = (double)(g_get_monotonic_time() - t0) / 1e6;
        unsigned dmas = requests * cases[c].per_request;
        printf("%-34s %6u DMAs in %6.3f s: %8.0f DMA/s, %6.1f us per DMA\n", cases[c].what, dmas, s, dmas / s,
               s * 1e6 / dmas);
    }
    tb_agent_close(ag);
    tb_board_stop(b, NULL);
}

/* ---- issue 12 row 4: the agent against a bare qtest client, interleaved ----
 * Two q35-vtd boards run side by side: one with the agent, one without
 * (its qtest socket is this program's). Each turn makes one access (or one
 * DMA) on each, so that the machine's noise falls on both alike. */


/* One qtest command and its "OK" reply line (qtest sends nothing else on a
 * board whose interrupts nobody intercepts). Returns the reply's value. */
static uint64_t qtest_cmd(int fd, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static uint64_t qtest_cmd(int fd, const char *fmt, ...)
{
    char line[256], buf[256];
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (write(fd, line, (size_t)len) != len) {
        perror("board-bench: qtest write");
        exit(1);
    }
    size_t have = 0;
    while (!memchr(buf, '\n', have)) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        ssize_t k = poll(&p, 1, 5000) == 1 ? read(fd, buf + have, sizeof buf - 1 - have) : -1;
        if (k <= 0) {
            fprintf(stderr, "board-bench: qtest: no reply to '%.*s' within 5 s\n", len - 1, line);
            exit(1);
        }
        have += (size_t)k;
    }
    buf[have] = 0;
    if (strncmp(buf, "OK", 2) != 0) {
        fprintf(stderr, "board-bench: qtest: '%.*s' answered '%s'\n", len - 1, line, buf);
        exit(1);
    }
    return strncmp(buf, "OK 0x", 5) == 0 ? strtoull(buf + 3, NULL, 16) : 0;
}

/* What the agent's start()/poll_idle() do (qemu-plugin/dma.c): source,
 * destination, count and command in one 32-byte write, then look at the
 * command register until RUN is clear. edu's buffer to RAM (a "write"). */
static void bare_dma(int fd, uint64_t bar, uint64_t addr)
{
    const uint64_t regs[4] = { 0x40000, addr, 4096, 0x1 | 0x2 }; /* RUN | TO_RAM */
    char hex[2 * sizeof regs + 1];
    const uint8_t *p = (const uint8_t *)regs; /* x86-64: already little-endian */
    for (unsigned i = 0; i < sizeof regs; i++) snprintf(hex + 2 * i, 3, "%02x", p[i]);
    qtest_cmd(fd, "write 0x%llx 32 0x%s\n", (unsigned long long)bar + 0x80, hex);
    for (unsigned looks = 0; qtest_cmd(fd, "readq 0x%llx\n", (unsigned long long)bar + 0x98) & 1; looks++)
        if (looks > 100000) {
            fprintf(stderr, "board-bench: bare edu DMA did not finish\n");
            exit(1);
        }
}

static void row4(const char *name, const char *unit, double *agent, double *bare, unsigned n, bool rate)
{
    qsort(agent, n, sizeof *agent, cmp_double);
    qsort(bare, n, sizeof *bare, cmp_double);
    double ma = agent[n / 2], mb = bare[n / 2];
    char note[256];
    if (rate) {
        /* per-DMA times -> DMA/s; the ratio is the agent's rate over the bare client's */
        snprintf(note, sizeof note, "4 KiB edu0 DMA to RAM, one at a time; agent %.1f us, bare client %.1f us per DMA "
                 "(medians), interleaved on two boards", ma, mb);
        bench_row(&(BenchRow){ .name = name, .row = 4, .board = "q35-vtd", .unit = unit, .median = 1e6 / ma,
                               .p99 = 1e6 / agent[(unsigned)(n * 0.99)], .floor = 1e6 / mb, .ratio = mb / ma,
                               .runs = n, .goal = "ratio >= 0.8", .note = note });
    } else {
        snprintf(note, sizeof note, "VT-d VER read; floor: a bare qtest client's readl, interleaved on a second board "
                 "(its p99 %.1f us)", bare[(unsigned)(n * 0.99)]);
        bench_row(&(BenchRow){ .name = name, .row = 4, .board = "q35-vtd", .unit = unit, .median = ma,
                               .p99 = agent[(unsigned)(n * 0.99)], .floor = mb, .ratio = ma / mb, .runs = n,
                               .goal = "ratio <= 1.5", .note = note });
    }
}

static void bench_interleaved(unsigned n, bool mmio, bool dma)
{
    g_autoptr(GError) err = NULL;
    TbBoard *ba = start(false), *bb = start(true);
    TbAgent *ag = connect_or_die(ba);
    int fd = qtest_open(bb);
    TbInventory inv;
    const TbInvDevice *edu;
    unsigned bus, dev, fn;
    if (tb_inventory_fetch(ag, &inv, &err) || !(edu = tb_inventory_device(&inv, "edu0")) ||
        sscanf(edu->bdf, "%x:%x.%x", &bus, &dev, &fn) != 3) {
        fprintf(stderr, "board-bench: no edu0 in q35-vtd's inventory%s%s\n", err ? ": " : "", err ? err->message : "");
        exit(1);
    }
    /* the bare board: the same BAR address the agent chose on its twin, set
     * through the legacy configuration ports, memory and bus master on */
    unsigned cfg = 0x80000000u | bus << 16 | dev << 11 | fn << 8;
    qtest_cmd(fd, "outl 0xcf8 0x%x\n", cfg | 0x10);
    qtest_cmd(fd, "outl 0xcfc 0x%llx\n", (unsigned long long)(edu->bar0 & 0xffffffffu));
    qtest_cmd(fd, "outl 0xcf8 0x%x\n", cfg | 0x14); /* upper half, should BAR0 be 64-bit; ignored otherwise */
    qtest_cmd(fd, "outl 0xcfc 0x%llx\n", (unsigned long long)(edu->bar0 >> 32));
    qtest_cmd(fd, "outl 0xcf8 0x%x\n", cfg | 0x04);
    qtest_cmd(fd, "outw 0xcfc 0x6\n");
    if ((uint32_t)qtest_cmd(fd, "readl 0x%llx\n", (unsigned long long)edu->bar0) != 0x010000edu) {
        fprintf(stderr, "board-bench: bare board: edu0's ID register not at 0x%llx\n", (unsigned long long)edu->bar0);
        exit(1);
    }
    double *a = g_new(double, n), *b = g_new(double, n);
    const uint64_t ram = inv.ram_base + 0x1000000;
    for (int what = 0; what < 2; what++) {
        if (what == 0 ? !mmio : !dma) continue;
        for (unsigned i = 0; i < n + 100; i++) {
            TbReply r;
            gint64 t0 = g_get_monotonic_time();
            int rc = what == 0 ? tb_agent_do(ag, &r, &err, "mmio read 0x%llx 4", VTD_VER)
                               : tb_agent_do(ag, &r, &err, "dma edu0 write 0x%llx 4096",
                                             (unsigned long long)ram + (i % 256) * 4096);
            gint64 t1 = g_get_monotonic_time();
            if (rc || !r.ok) {
                fprintf(stderr, "board-bench: agent: %s\n", err ? err->message : r.text);
                exit(1);
            }
            tb_reply_clear(&r);
            if (what == 0) qtest_cmd(fd, "readl 0x%llx\n", VTD_VER);
            else bare_dma(fd, edu->bar0, ram + (i % 256) * 4096);
            gint64 t2 = g_get_monotonic_time();
            if (i >= 100) a[i - 100] = (double)(t1 - t0), b[i - 100] = (double)(t2 - t1); /* 100 warm-up */
        }
        if (what == 0) row4("register round trip, agent vs bare qtest", "us", a, b, n, false);
        else row4("4 KiB DMA rate, agent vs bare qtest", "DMA/s", a, b, n, true);
    }
    g_free(a);
    g_free(b);
    close(fd);
    tb_agent_close(ag);
    tb_board_stop(ba, NULL);
    tb_board_stop(bb, NULL);
}

static unsigned number(const char *what, const char *s)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || v == 0 || v > 100000) {
        fprintf(stderr, "board-bench: %s: expected 1..100000, got '%s'\n%s", what, s, usage);
        exit(2);
    }
    return (unsigned)v;
}

int main(int argc, char **argv)
{
    unsigned n = 5000, storm = 20000;
    const char *only = NULL, *json = NULL;
    bool quick = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, stdout);
            return 0;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("board-bench %s\n", SMMU_VERSION);
            return 0;
        } else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
            only = argv[++i];
            if (strcmp(only, "mmio") && strcmp(only, "dma") && strcmp(only, "fair") && strcmp(only, "baredma")) {
                fprintf(stderr, "board-bench: --only: expected mmio, dma, fair or baredma\n%s", usage);
                return 2;
            }
        } else if (strcmp(argv[i], "--quick") == 0) {
            quick = true;
        } else if (strcmp(argv[i], "--json") == 0 && i + 1 < argc) {
            json = argv[++i];
        } else if (strcmp(argv[i], "--storm") == 0 && i + 1 < argc) {
            storm = number("--storm", argv[++i]);
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "board-bench: unknown option '%s'\n%s", argv[i], usage);
            return 2;
        } else {
            n = number("ITERATIONS", argv[i]);
        }
    }
    if (quick) n /= 5;
    if (n < 100) n = 100;
    bench_json_open("board-bench", json);
    double *us = g_new(double, n);
    printf("board-bench %s: %u iterations, %s\n", SMMU_VERSION, n, g_get_host_name());
    if (!only || strcmp(only, "mmio") == 0) {
        bench_direct_mmio(n, us);
        bench_agent_mmio(n, us);
        bench_interleaved(n, true, false);
    }
    if (only && strcmp(only, "baredma") == 0) bench_interleaved(n, false, true);
    if (!only || strcmp(only, "dma") == 0) bench_dma(n / 5);
    if (!only || strcmp(only, "fair") == 0) {
        bench_fair("q35-vtd", storm);
        bench_fair("virt-smmuv3", storm);
    }
    g_free(us);
    bench_json_close();
    return 0;
}
