/* Benchmark (not a test) of issue 12, row 5: what a DMA costs when the
 * IOMMU blocks it, per board, against the same DMA allowed.
 *
 * On q35-vtd and virt-smmuv3 at once, each with smmuman and one client
 * owning edu0 (one page mapped read-write), DMAs of 64 B and 4 KiB,
 * allowed and blocked (an unmapped page), interleaved: every run does each
 * case on both boards in turn, so that the machine's noise falls on all
 * alike. Each DMA is timed from the agent request to its reply, and, when
 * blocked, to the moment its record reached the client (smmu_xfer_fd
 * readable, smmu_xfer_status). Every record is checked: one per DMA, on the
 * DMA's page, with the repeat count the hardware's folded events give
 * (SMMUv3: one event per 4 bytes), nothing dropped; at the end the
 * service's own faults.seen must equal the blocked DMAs and
 * faults.overflows be 0.
 *
 * Usage: see usage[] (method and results: docs/performance.md) */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent-client.h"
#include "bench-json.h"
#include "launcher.h"
#include "paths-bench.h"
#include "smmu.h"

#include "../smmuman/lib/libsmmu-tools.h"
#include "../smmuman/lib/proto.h"

#ifndef SMMU_VERSION
#error "SMMU_VERSION: meson passes the project's version"
#endif

static const char usage[] =
    "usage: blocked-bench [--help | --version] [--quick] [--runs N] [--json FILE]\n"
    "Benchmarks blocked DMAs (not a test): on q35-vtd and virt-smmuv3 with smmuman\n"
    "running, DMAs of 64 B and 4 KiB, allowed and blocked, back to back and\n"
    "interleaved, N runs each (default 101); N/10 blocked ones isolated (after 120 ms\n"
    "of quiet); N/10 storms of 40 blocked 4 KiB DMAs. Each timed to the agent's reply\n"
    "and, when blocked, to its record (storms: the last) reaching the client. Checks\n"
    "every record (page, repeat count, nothing dropped; SMMUv3 storms: every event)\n"
    "and the service's faults.seen and faults.overflows.\n"
    "--json FILE appends one JSON object per result row.\n"
    "Starts the boards and smmuman from " SMMU_BUILD_DIR ".\n";

#define RECORD_TIMEOUT_MS 5000
#define MAX_RUNS          10000

/* The first four run back to back, interleaved (blocked 4 KiB DMAs come
 * about 30 ms apart: for the SMMUv3 library a flood that goes on, so its
 * event-queue interrupt stays masked and the polls drain); the isolated
 * ones each after ISOLATED_QUIET_MS of quiet, when the interrupt is on. */
enum { A64, A4K, B64, B4K, I64, I4K, NCASE, NBACK = I64 };
#define ISOLATED_QUIET_MS 120
static const struct {
    const char *name;
    unsigned len;
    bool blocked;
} cases[NCASE] = {
    { "allowed 64 B", 64, false },
    { "allowed 4 KiB", 4096, false },
    { "blocked 64 B", 64, true },
    { "blocked 4 KiB", 4096, true },
    { "isolated 64 B", 64, true },
    { "isolated 4 KiB", 4096, true },
};

typedef struct {
    const char *board, *type;
    TbBoard *b;
    pid_t svc;
    char sock[300];
    struct smmu_conn *conn;
    struct smmu_object *obj;
    TbAgent *ag;
    uint64_t ok_page, blocked_page;
    double *t_reply[NCASE], *t_record[NCASE];
    unsigned blocked_dmas, records, bad_records;
    double *storm_reply, *storm_record;
    unsigned long long storm_records, storm_events, storm_want, storm_bad;
    char bad[200];
} Board;

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static _Noreturn void die(const char *what, const char *why)
{
    fprintf(stderr, "blocked-bench: %s: %s\n", what, why);
    exit(1);
}

static void start(Board *s, unsigned runs)
{
    g_autoptr(GError) err = NULL;
    s->b = tb_board_start(s->board, NULL, &err);
    if (!s->b) die(s->board, err->message);
    snprintf(s->sock, sizeof s->sock, "%s/bench.sock", tb_board_run_dir(s->b));
    char conf[400], tsock[320];
    snprintf(conf, sizeof conf, "platform board:%s", tb_board_run_dir(s->b));
    snprintf(tsock, sizeof tsock, "%s/bench-target.sock", tb_board_run_dir(s->b));
    s->svc = fork();
    if (s->svc == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 2); /* one log line per fault would drown the results */
        setenv("SMMU_HW_DIR", SMMU_BUILD_DIR, 1);
        /* the default fault-poll-ms (10): VT-d is polled, SMMUv3 interrupts */
        execl(SMMU_BUILD_DIR "/smmuman", "smmuman", "foreground", "smmu", s->type, "attach-socket", s->sock,
              "target-socket", tsock, conf, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 500 && !(s->conn = smmu_conn_open(s->sock, 0)); i++) usleep(10000);
    if (!s->conn) die(s->board, "smmuman did not answer within 5 s");
    s->obj = smmu_conn_obj_create(s->conn, 0);
    if (!s->obj || smmu_conn_device_add_pci(s->conn, s->obj, 0, 4, 0) < 0)
        die(s->board, "cannot create an object owning edu0 (0:4.0)");
    s->ok_page = tb_board_def(s->b)->ram_base + 0x4000000;
    s->blocked_page = s->ok_page + 0x100000;
    struct smmu_map_entry e = { .phys = s->ok_page, .len = 4096 };
    if (smmu_conn_mapping_add(s->conn, s->obj, SMF_READ | SMF_WRITE, getpid(), 1, &e, 0) < 0)
        die(s->board, "cannot map the allowed page");
    if (tb_agent_connect(tb_board_agent_path(s->b), 0, &s->ag, &err) < 0) die(s->board, err->message);
    s->storm_reply = g_new0(double, runs);
    s->storm_record = g_new0(double, runs);
    for (unsigned c = 0; c < NCASE; c++) {
        s->t_reply[c] = g_new0(double, runs);
        s->t_record[c] = g_new0(double, runs);
    }
}

/* The record a blocked DMA of len bytes at page must give: one, on that
 * page, a write, with the hardware's events folded, nothing dropped. */
static void check_record(Board *s, const struct smmu_status *st, unsigned len)
{
    unsigned want_repeat = strcmp(s->type, "smmuv3") == 0 ? len / 4 - 1 : 0;
    s->records++;
    if ((st->fault_addr & ~0xfffull) != s->blocked_page || !(st->flags & SSF_WRITE) ||
        SSF_REPEAT(st->flags) != want_repeat || (st->flags & SSF_DROPPED_FAULTS)) {
        if (!s->bad_records++)
            snprintf(s->bad, sizeof s->bad, "record at 0x%llx flags 0x%x (repeat %u, want %u)",
                     (unsigned long long)st->fault_addr, st->flags, SSF_REPEAT(st->flags), want_repeat);
    }
}

static void one(Board *s, unsigned c, unsigned run)
{
    g_autoptr(GError) err = NULL;
    TbReply r;
    uint64_t addr = cases[c].blocked ? s->blocked_page : s->ok_page;
    double t0 = now_us();
    if (tb_agent_do(s->ag, &r, &err, "dma edu0 write 0x%llx %u", (unsigned long long)addr, cases[c].len) < 0)
        die(s->board, err->message);
    double t1 = now_us();
    tb_reply_clear(&r);
    s->t_reply[c][run] = t1 - t0;
    s->t_record[c][run] = t1 - t0;
    if (!cases[c].blocked) return;
    s->blocked_dmas++;
    struct smmu_status st;
    for (;;) {
        int got = smmu_conn_xfer_status(s->conn, &st);
        if (got < 0) die(s->board, "smmu_xfer_status failed");
        if (got == 1) break;
        int left = (int)(t0 / 1000 + RECORD_TIMEOUT_MS - now_us() / 1000);
        if (left <= 0) die(s->board, "a blocked DMA's record did not reach the client within 5 s");
        struct pollfd p = { .fd = smmu_conn_xfer_fd(s->conn), .events = POLLIN };
        poll(&p, 1, left);
    }
    s->t_record[c][run] = now_us() - t0;
    check_record(s, &st, cases[c].len);
}

/* A storm of STORM_DMAS blocked 4 KiB writes, one request, each DMA on a
 * page of its own: time to the agent's reply and to the last record at
 * the client. SMMUv3 must account for every event (one per 4 bytes: the
 * records' repeat counts add up); VT-d's single fault recording register
 * keeps what it can, and the rest is the service's overflow count. */
#define STORM_DMAS 40
#define STORM_QUIET_MS 300

static void storm(Board *s, unsigned run)
{
    g_autoptr(GError) err = NULL;
    TbReply r;
    uint64_t base = s->blocked_page + 0x10000;
    bool smmuv3 = strcmp(s->type, "smmuv3") == 0;
    double t0 = now_us();
    if (tb_agent_do(s->ag, &r, &err, "storm edu0 write 0x%llx 4096 %u stride=4096", (unsigned long long)base,
                    STORM_DMAS) < 0)
        die(s->board, err->message);
    double t1 = now_us(), last = t1;
    tb_reply_clear(&r);
    unsigned long long events = 0, want = smmuv3 ? STORM_DMAS * 1024ull : STORM_DMAS;
    unsigned recs = 0;
    while (events < want) {
        struct smmu_status st;
        int got = smmu_conn_xfer_status(s->conn, &st);
        if (got < 0) die(s->board, "smmu_xfer_status failed");
        if (got == 1) {
            last = now_us();
            recs++;
            events += smmuv3 ? SSF_REPEAT(st.flags) + 1ull : 1;
            uint64_t page = st.fault_addr & ~0xfffull;
            if (page < base || page >= base + STORM_DMAS * 4096ull || (st.flags & SSF_DROPPED_FAULTS)) s->storm_bad++;
            continue;
        }
        int left = (int)(last / 1000 + STORM_QUIET_MS - now_us() / 1000);
        if (left <= 0) break;
        struct pollfd p = { .fd = smmu_conn_xfer_fd(s->conn), .events = POLLIN };
        poll(&p, 1, left);
    }
    s->storm_reply[run] = t1 - t0;
    s->storm_record[run] = last - t0;
    s->storm_records += recs;
    s->storm_events += events;
    s->storm_want += want;
}

static unsigned long long status_value(Board *s, const char *key)
{
    g_autofree char *text = smmu_conn_query_text_alloc(s->conn, SMMU_OP_STATUS);
    if (!text) die(s->board, "status query failed");
    g_autofree char *k = g_strdup_printf("\n%s=", key);
    const char *p = strstr(text, k);
    if (!p && strncmp(text, k + 1, strlen(k + 1)) == 0) p = text - 1;
    if (!p) die(s->board, "status has no such counter");
    return strtoull(p + strlen(k), NULL, 10);
}

static void stop(Board *s)
{
    tb_agent_close(s->ag);
    smmu_conn_close(s->conn);
    kill(s->svc, SIGTERM);
    waitpid(s->svc, NULL, 0);
    char f[400];
    snprintf(f, sizeof f, "%s/bench-target.sock", tb_board_run_dir(s->b));
    unlink(f);
    unlink(s->sock);
    tb_board_stop(s->b, NULL);
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* median and p99 (sorts v) */
static void stats(double *v, unsigned n, double *med, double *p99)
{
    qsort(v, n, sizeof *v, cmp);
    *med = v[n / 2];
    *p99 = v[n - 1 - n / 100];
}

/* One row of the contract (bench-json.h): row 5; a ratio row is named for
 * both boards and filed under virt-smmuv3, the board it is about. */
static void row(const char *name, const char *board, const char *unit, double med, double p99, double floor,
                double ratio, unsigned runs, const char *goal, const char *note)
{
    BenchRow r = { .name = name, .row = 5, .board = strchr(board, '/') ? "virt-smmuv3" : board, .unit = unit,
                   .median = med, .p99 = p99 >= 0 ? p99 : NAN, .floor = floor > 0 ? floor : NAN,
                   .ratio = ratio > 0 ? ratio : NAN, .runs = runs, .goal = goal, .note = note };
    bench_row(&r);
}

int main(int argc, char **argv)
{
    unsigned runs = 101;
    const char *json_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            fputs(usage, stdout);
            return 0;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("blocked-bench %s\n", SMMU_VERSION);
            return 0;
        } else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
            char *end;
            unsigned long v = strtoul(argv[++i], &end, 10);
            if (*end || v < 1 || v > MAX_RUNS) die("--runs", "expected 1..10000");
            runs = (unsigned)v;
        } else if (strcmp(argv[i], "--json") == 0 && i + 1 < argc) {
            json_path = argv[++i];
        } else if (strcmp(argv[i], "--quick") == 0) {
            runs = 21;
        } else {
            fputs(usage, stderr);
            return 2;
        }
    }
    bench_json_open("blocked-bench", json_path);
    Board boards[2] = { { .board = "q35-vtd", .type = "vtd" }, { .board = "virt-smmuv3", .type = "smmuv3" } };
    for (unsigned b = 0; b < 2; b++) start(&boards[b], runs);
    /* warm-up: one of each, not counted in the times (records still checked) */
    for (unsigned b = 0; b < 2; b++)
        for (unsigned c = 0; c < NBACK; c++) one(&boards[b], c, 0);
    for (unsigned r = 0; r < runs; r++)
        for (unsigned c = 0; c < NBACK; c++)
            for (unsigned k = 0; k < 2; k++) one(&boards[(r + k) % 2], c, r); /* boards alternate who goes first */
    unsigned iruns = runs / 10 < 3 ? 3 : runs / 10;
    for (unsigned r = 0; r < iruns; r++)
        for (unsigned c = I64; c <= I4K; c++) {
            usleep(ISOLATED_QUIET_MS * 1000);
            for (unsigned k = 0; k < 2; k++) one(&boards[(r + k) % 2], c, r);
        }
    unsigned long long seen[2], over[2];
    for (unsigned b = 0; b < 2; b++) {
        seen[b] = status_value(&boards[b], "faults.seen");
        over[b] = status_value(&boards[b], "faults.overflows");
    }
    unsigned sruns = runs / 10 < 3 ? 3 : runs / 10;
    for (unsigned r = 0; r < sruns; r++)
        for (unsigned k = 0; k < 2; k++) storm(&boards[(r + k) % 2], r);
    bool ok = true;
    double med4k[2] = { 0, 0 }, storm4k[2] = { 0, 0 }, iso4k[2] = { 0, 0 };
    for (unsigned b = 0; b < 2; b++) {
        Board *s = &boards[b];
        char acct[300];
        bool good = seen[b] == s->blocked_dmas && s->records == s->blocked_dmas && !s->bad_records && over[b] == 0;
        /* (status read before the storms: seen[] and over[] are the single DMAs') */
        ok = ok && good;
        snprintf(acct, sizeof acct, "%u blocked DMAs, %u records at the client, faults.seen=%llu, faults.overflows=%llu%s%s",
                 s->blocked_dmas, s->records, seen[b], over[b], s->bad_records ? "; wrong: " : "", s->bad);
        printf("%s: %s: %s\n", s->board, good ? "every record accounted for" : "RECORDS WRONG OR LOST", acct);
        double floor_reply[2] = { 0, 0 };
        for (unsigned c = 0; c < NCASE; c++) {
            double m1, p1, m2, p2;
            unsigned n = c < NBACK ? runs : iruns;
            stats(s->t_reply[c], n, &m1, &p1);
            stats(s->t_record[c], n, &m2, &p2);
            if (!cases[c].blocked) floor_reply[c == A4K] = m1;
            double fl = cases[c].blocked ? floor_reply[c == B4K || c == I4K] : 0;
            if (cases[c].blocked)
                printf("  %-14s reply median %8.0f us p99 %8.0f us; record at client median %8.0f us p99 %8.0f us "
                       "(%.1fx the allowed DMA)\n", cases[c].name, m1, p1, m2, p2, m2 / fl);
            else
                printf("  %-14s reply median %8.0f us p99 %8.0f us\n", cases[c].name, m1, p1);
            char name[80];
            snprintf(name, sizeof name, "dma %s, to reply", cases[c].name);
            row(name, s->board, "us", m1, p1, fl, fl > 0 ? m1 / fl : 0, n, NULL,
                cases[c].blocked ? "floor: the same DMA allowed" : "");
            if (cases[c].blocked) {
                snprintf(name, sizeof name, "dma %s, to record at client", cases[c].name);
                row(name, s->board, "us", m2, p2, fl, m2 / fl, n, NULL, acct);
                if (c == B4K) med4k[b] = m2;
                if (c == I4K) iso4k[b] = m2;
            }
        }
        /* the storms: SMMUv3 must account for every event; VT-d's hardware
         * drops what its one recording register cannot hold (counted) */
        unsigned long long seen2 = status_value(s, "faults.seen"), over2 = status_value(s, "faults.overflows");
        bool sgood = seen2 - seen[b] == s->storm_records && !s->storm_bad &&
                     (strcmp(s->type, "smmuv3") != 0 || (s->storm_events == s->storm_want && over2 == over[b]));
        if (strcmp(s->type, "smmuv3") == 0) ok = ok && sgood;
        char sacct[300];
        snprintf(sacct, sizeof sacct, "%u storms of %u: %llu records (faults.seen +%llu), %llu of %llu %s accounted for, "
                 "faults.overflows +%llu%s", sruns, STORM_DMAS, s->storm_records, seen2 - seen[b], s->storm_events,
                 s->storm_want, strcmp(s->type, "smmuv3") == 0 ? "events" : "DMAs", over2 - over[b],
                 s->storm_bad ? "; WRONG RECORDS" : "");
        double m1, p1, m2, p2;
        stats(s->storm_reply, sruns, &m1, &p1);
        stats(s->storm_record, sruns, &m2, &p2);
        storm4k[b] = m2;
        printf("  storm %u x blocked 4 KiB: reply median %8.0f us (%.0f us per DMA); last record at client median %8.0f us; %s\n",
               STORM_DMAS, m1, m1 / STORM_DMAS, m2, sacct);
        char name[80];
        snprintf(name, sizeof name, "storm of %u blocked 4 KiB dma, to reply", STORM_DMAS);
        row(name, s->board, "us", m1, p1, 0, 0, sruns, NULL, "");
        snprintf(name, sizeof name, "storm of %u blocked 4 KiB dma, to last record", STORM_DMAS);
        row(name, s->board, "us", m2, p2, 0, 0, sruns, NULL, sacct);
    }
    double ratio = med4k[1] / med4k[0], sratio = storm4k[1] / storm4k[0], iratio = iso4k[1] / iso4k[0];
    printf("blocked 4 KiB, record at client: virt-smmuv3 / q35-vtd = %.2f back to back, %.2f isolated, %.2f in "
           "storms of %u (goal <= 2)%s\n", ratio, iratio, sratio, STORM_DMAS, ok ? "" : "; RECORDS WRONG OR LOST");
    row("isolated blocked 4 KiB dma, virt-smmuv3 / q35-vtd", "virt-smmuv3/q35-vtd", "x", iratio, -1, 0, iratio, iruns,
        "ratio <= 2", ok ? "medians to the record at the client, each after 120 ms of quiet, same run, interleaved"
                   : "RECORDS WRONG OR LOST: see the rows above");
    row("blocked 4 KiB dma back to back, virt-smmuv3 / q35-vtd", "virt-smmuv3/q35-vtd", "x", ratio, -1, 0, ratio, runs, "ratio <= 2",
        ok ? "medians to the record at the client, same run, interleaved; every record accounted for"
           : "RECORDS WRONG OR LOST: see the rows above");
    row("storm of 40 blocked 4 KiB dma, virt-smmuv3 / q35-vtd", "virt-smmuv3/q35-vtd", "x", sratio, -1, 0, sratio,
        sruns, "ratio <= 2", ok ? "medians to the last record at the client, same run, interleaved; every SMMUv3 event accounted for"
                          : "RECORDS WRONG OR LOST: see the rows above");
    bench_json_close();
    for (unsigned b = 0; b < 2; b++) stop(&boards[b]);
    return ok ? 0 : 1;
}
