/* Benchmark (not a test): what the agent costs and how fast it injects DMA.
 *
 *  1. MMIO round trip: "mmio read" of the VT-d VER register through the agent,
 *     against a direct qtest client ("readl") on a board started without the
 *     agent. Same machine, same register, same number of accesses.
 *  2. DMA injection rate: single "dma" requests of 64 B and 4 KiB, and
 *     "storm" requests over one and three engines.
 *
 * Usage: board-bench [ITERATIONS]   (results on stdout, method in
 * docs/performance.md) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent-client.h"
#include "launcher.h"

#define VTD_VER 0xfed90000ull

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

static TbBoard *start(bool no_agent)
{
    g_autoptr(GError) err = NULL;
    TbLaunchOptions opt = { .no_agent = no_agent };
    TbBoard *b = tb_board_start("q35-vtd", &opt, &err);
    if (!b) {
        fprintf(stderr, "board-bench: %s\n", err->message);
        exit(1);
    }
    return b;
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

/* A minimal direct qtest client: what the agent itself does per access. */
static void bench_direct_mmio(unsigned n, double *us)
{
    TbBoard *b = start(true);
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

int main(int argc, char **argv)
{
    unsigned n = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 5000;
    if (n < 100) n = 100;
    double *us = g_new(double, n);
    printf("board-bench: q35-vtd, %u iterations, %s\n", n, g_get_host_name());
    bench_direct_mmio(n, us);
    bench_agent_mmio(n, us);
    bench_dma(n / 5);
    g_free(us);
    return 0;
}
