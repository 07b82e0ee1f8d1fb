/* smmu-soak: the reliability campaign (docs/reliability.md, scripts/soak).
 *
 *   smmu-soak [--board NAME]... [--seconds N] [--seed N] [--out DIR] [--parts LIST] [--verbose]
 *   $SMMU_BUILD_DIR: where smmuman, the support libraries and platform modules are (default: this
 *   build's); smmu-client is always this build's (SMMU_CLIENT)
 *
 * Against live boards (q35-vtd and virt-smmuv3 by default), one after the
 * other, with the real service: (1) the bad-configuration corpus and
 * mutants of a good configuration, each checked for exit status 3, a
 * reason that names FILE:LINE, and DMA blocked afterwards; then one
 * long-running service with a victim client whose mapped DMA must keep
 * landing and whose unmapped DMA must stay blocked, while (2) many
 * connections fuzz the wire protocol, (3) clients are killed, (4) a client
 * never reads its replies, and (5) a fault storm runs while STATUS latency
 * is sampled; (6) the service's RSS before and after.
 *
 * Prints one table (a row per board), writes DIR/soak.json with the same
 * figures and DIR/repro-BOARD.txt with the bytes behind any finding.
 * Exit status: 0 nothing found, 1 a crash, a DSS caused by a client, DMA
 * left open, a lost reply or another failure, 2 bad usage or the campaign
 * could not run. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "line-reader.h"
#include "../smmuman/lib/proto.h"
#include "soak-msg.h"
#include "soak.h"

#ifndef SMMU_BUILD_DIR
#error "SMMU_BUILD_DIR: where smmuman and its support libraries are built"
#endif
#ifndef SMMU_CLIENT
#error "SMMU_CLIENT: the test bed's smmu-client"
#endif
#ifndef SOAK_CORPUS_DIR
#error "SOAK_CORPUS_DIR: fixtures/soak"
#endif

#define REPLY_TIMEOUT_MS 10000 /* a reply the service owes: beyond this it is lost */
#define START_TIMEOUT_MS 15000
#define STOP_TIMEOUT_MS 10000

static void on_signal(int sig) { soak_interrupted = sig; }

static double now_s(void) { return (double)g_get_monotonic_time() / 1e6; }

/* ---- raw protocol connections ---------------------------------------------------------------- */

static SmmuMsg rmsg; /* large; one decoded message at a time, on the main thread */
static uint8_t rbuf[SMMU_MSG_MAX + 1];

static int raw_connect(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    g_strlcpy(sa.sun_path, path, sizeof sa.sun_path);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) return fd;
    if (fd >= 0) close(fd);
    return -1;
}

/* Sends one packet, waiting (bounded) while the socket is full. */
static bool raw_send(int fd, const uint8_t *buf, size_t n, int timeout_ms)
{
    gint64 deadline = g_get_monotonic_time() + timeout_ms * 1000ll;
    for (;;) {
        ssize_t w = send(fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w == (ssize_t)n) return true;
        if (w >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) return false;
        gint64 left = (deadline - g_get_monotonic_time()) / 1000;
        if (left <= 0) return false;
        struct pollfd pf = { .fd = fd, .events = POLLOUT };
        poll(&pf, 1, (int)(left < 100 ? left : 100));
    }
}

static size_t encode_simple(uint16_t op, uint32_t seq, uint32_t offset, uint8_t *buf)
{
    memset(&rmsg, 0, offsetof(SmmuMsg, entry_buf));
    rmsg.hdr.op = op;
    rmsg.hdr.seq = seq;
    rmsg.offset = offset;
    if (op == SMMU_OP_HELLO) rmsg.client_version = SMMU_PROTO_VERSION;
    int n = smmu_msg_encode(&rmsg, false, buf, SMMU_MSG_MAX);
    return n > 0 ? (size_t)n : 0;
}

/* The next message into rmsg: 1, 0 on timeout, -1 hang-up, -2 undecodable
 * (err says why). Events are returned like replies; op tells them apart. */
static int raw_recv(int fd, int timeout_ms, char *err, size_t errlen)
{
    struct pollfd pf = { .fd = fd, .events = POLLIN };
    int pr = poll(&pf, 1, timeout_ms);
    if (pr <= 0) return 0;
    ssize_t n = recv(fd, rbuf, sizeof rbuf, MSG_DONTWAIT | MSG_TRUNC);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return 0;
    if (n <= 0) return -1;
    if (smmu_msg_decode(rbuf, (size_t)n, true, &rmsg, err, errlen) != 0) return -2;
    return 1;
}

/* The whole STATUS text through a raw connection (paged by line), or NULL
 * when the service does not answer within timeout_ms. */
static char *raw_status(int fd, uint32_t *seq, int timeout_ms)
{
    GString *text = g_string_new(NULL);
    uint32_t have = 0, total = 1;
    gint64 deadline = g_get_monotonic_time() + timeout_ms * 1000ll;
    uint8_t buf[64];
    while (have < total) {
        uint32_t want = ++*seq;
        size_t n = encode_simple(SMMU_OP_STATUS, want, have, buf);
        if (!raw_send(fd, buf, n, timeout_ms)) goto fail;
        for (;;) {
            gint64 left = (deadline - g_get_monotonic_time()) / 1000;
            char err[200];
            if (left <= 0) goto fail;
            int rc = raw_recv(fd, (int)left, err, sizeof err);
            if (rc < 0) goto fail;
            if (rc == 0) continue;
            if (smmu_op_is_event(rmsg.hdr.op) || rmsg.hdr.seq != want) continue;
            if (rmsg.hdr.status) goto fail;
            break;
        }
        total = rmsg.total;
        uint32_t lines = 0;
        for (uint32_t i = 0; i < rmsg.text_len; i++) lines += rmsg.text[i] == '\n';
        g_string_append_len(text, rmsg.text, rmsg.text_len);
        if (lines == 0) break; /* the text changed under us: what we have will do */
        have += lines;
    }
    return g_string_free(text, FALSE);
fail:
    g_string_free(text, TRUE);
    return NULL;
}

static long long status_num(const char *text, const char *key)
{
    const char *p = text ? strstr(text, key) : NULL;
    return p ? strtoll(p + strlen(key), NULL, 10) : -1;
}

/* ---- the long-running service ------------------------------------------------------------------- */

/* A field of /proc/PID/status in KiB ("VmRSS", "RssAnon"), or -1. */
static long proc_kb(GPid pid, const char *field)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/status", (int)pid);
    g_autofree char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL)) return -1;
    g_autofree char *key = g_strdup_printf("\n%s:", field);
    const char *p = strstr(text, key);
    return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

static long rss_kb(GPid pid) { return proc_kb(pid, "VmRSS"); }

/* VmRSS counts the table pool too: the service maps that part of the
 * board's RAM, and every table page it has ever used stays resident.
 * RssAnon is the service's own memory. */
static void rss_note(Soak *S, const char *when)
{
    if (S->svc_running)
        soak_note(S, "service memory %s: VmRSS %ld KiB (RssAnon %ld KiB, RssFile %ld KiB, RssShmem %ld KiB)", when,
                  rss_kb(S->svc), proc_kb(S->svc, "RssAnon"), proc_kb(S->svc, "RssFile"), proc_kb(S->svc, "RssShmem"));
}

static char *log_tail(const char *path, unsigned lines)
{
    g_autofree char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL)) return g_strdup("(no log)");
    size_t n = strlen(text);
    const char *p = text + n;
    for (unsigned k = 0; p > text && k <= lines; p--)
        if (p[-1] == '\n' && ++k > lines) break;
    return g_strdup(p);
}

static bool svc_start(Soak *S)
{
    /* Devices the configuration describes give the fuzzers more to break:
     * edu2 has a reserved region (its home object, which a client may take
     * over and must hand back), and a device that is not there has a
     * startup mapping (no client may take it). */
    const TbInvUnit *u = &S->inv.units[0];
    const unsigned long long ram = (unsigned long long)S->inv.ram_base;
    g_autofree char *text = g_strdup_printf(
        "# the soak's service\nforeground\nplatform %s\nsmmu %s\nunit %s %llx\n"
        "attach-socket %s\ntarget-socket %s\nstatus-file %s\nlog-file %s\n"
        "allow ring %llx,64k\ndevice pci:0:6.0 use %s\nreserved %llx,8k,s\ndevice pci:0:7.0 ring use %s\n",
        S->platform, S->kind, u->name, (unsigned long long)u->base, S->sock, S->tsock, S->status, S->log,
        ram + 0x600000, u->name, ram + 0x700000, u->name);
    if (!g_file_set_contents(S->conf, text, -1, NULL)) {
        harness_error(S, "cannot write %s", S->conf);
        return false;
    }
    unlink(S->status);
    g_autofree char *exe = g_build_filename(S->build_dir, "smmuman", NULL);
    g_autofree char *at = g_strconcat("@", S->conf, NULL);
    char *argv[] = { exe, at, NULL };
    char **env = soak_clean_env(S);
    g_autoptr(GError) e = NULL;
    bool ok = g_spawn_async(NULL, argv, env, G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDERR_TO_DEV_NULL |
                                                  G_SPAWN_STDOUT_TO_DEV_NULL,
                            soak_child_setup, NULL, &S->svc, &e);
    g_strfreev(env);
    if (!ok) {
        harness_error(S, "cannot start the service: %s", e ? e->message : "?");
        return false;
    }
    S->svc_running = true;
    S->svc_signalled = false;
    gint64 deadline = g_get_monotonic_time() + START_TIMEOUT_MS * 1000ll;
    while (g_get_monotonic_time() < deadline && !soak_interrupted) {
        g_autofree char *state = soak_file_field(S->status, "state");
        if (state && strcmp(state, "running") == 0) return true;
        int st;
        if (waitpid(S->svc, &st, WNOHANG) == S->svc) {
            S->svc_running = false;
            g_autofree char *reason = soak_file_field(S->status, "reason");
            harness_error(S, "the service did not start (status 0x%x): %s", st, reason ? reason : "?");
            return false;
        }
        g_usleep(5000);
    }
    harness_error(S, "the service did not become ready within %d ms", START_TIMEOUT_MS);
    return false;
}

/* Whether the service still runs; if it ended, what that was. `during`
 * names what was going on, for the finding. */
static bool svc_alive(Soak *S, const char *during)
{
    if (!S->svc_running) return false;
    int st;
    if (waitpid(S->svc, &st, WNOHANG) != S->svc) return true;
    S->svc_running = false;
    g_spawn_close_pid(S->svc);
    g_autofree char *reason = soak_file_field(S->status, "reason");
    g_autofree char *tail = log_tail(S->log, 12);
    if (WIFSIGNALED(st)) {
        S->st.crashes++;
        soak_finding(S, "the service crashed (signal %d, %s) during %s; log tail:\n%s", WTERMSIG(st),
                     strsignal(WTERMSIG(st)), during, tail);
    } else if (WEXITSTATUS(st) == 3 && !S->svc_signalled) {
        S->st.client_dss++;
        soak_finding(S, "the service moved to its DSS while only clients and devices acted (%s): %s", during,
                     reason ? reason : "?");
    } else if (!S->svc_signalled) {
        S->st.other_failures++;
        soak_finding(S, "the service exited %d during %s; log tail:\n%s", WEXITSTATUS(st), during, tail);
    }
    return false;
}

/* Stopping is a DSS by design: exit 3, and every device blocked after it. */
static void svc_stop(Soak *S)
{
    if (!S->svc_running) return;
    S->svc_signalled = true;
    kill(S->svc, SIGTERM);
    int st = 0;
    gint64 deadline = g_get_monotonic_time() + STOP_TIMEOUT_MS * 1000ll;
    pid_t w;
    while ((w = waitpid(S->svc, &st, WNOHANG)) == 0 && g_get_monotonic_time() < deadline) g_usleep(5000);
    if (w != S->svc) {
        kill(S->svc, SIGKILL);
        waitpid(S->svc, &st, 0);
        S->st.other_failures++;
        soak_finding(S, "the service did not stop within %d ms of SIGTERM", STOP_TIMEOUT_MS);
    } else if (WIFSIGNALED(st)) {
        S->st.crashes++;
        soak_finding(S, "the service crashed (signal %d) while stopping", WTERMSIG(st));
    } else if (WEXITSTATUS(st) != 3) {
        S->st.other_failures++;
        soak_finding(S, "the service exited %d on SIGTERM, want 3 (a stop is a DSS)", WEXITSTATUS(st));
    }
    S->svc_running = false;
    g_spawn_close_pid(S->svc);
}

/* ---- the victim ------------------------------------------------------------------------------ */

typedef struct {
    GPid pid;
    int in, out;
    GString *buf;
} Cli;

static bool cli_start(Soak *S, Cli *c, const char *sock)
{
    memset(c, 0, sizeof *c);
    char *argv[] = { (char *)SMMU_CLIENT, NULL };
    char **env = g_environ_setenv(soak_clean_env(S), "SMMU_SOCKET", sock, TRUE);
    g_autoptr(GError) e = NULL;
    bool ok = g_spawn_async_with_pipes(NULL, argv, env, G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDERR_TO_DEV_NULL,
                                       soak_child_setup, NULL, &c->pid, &c->in, &c->out, NULL, &e);
    g_strfreev(env);
    if (!ok) {
        harness_error(S, "cannot start smmu-client: %s", e ? e->message : "?");
        return false;
    }
    c->buf = g_string_new(NULL);
    return true;
}

static bool cli_send(Cli *c, const char *line)
{
    g_autofree char *msg = g_strconcat(line, "\n", NULL);
    return write(c->in, msg, strlen(msg)) == (ssize_t)strlen(msg);
}

/* The next reply line (caller frees), or NULL after timeout_ms or EOF. */
static char *cli_reply(Cli *c, int timeout_ms) { return tb_read_line(c->out, c->buf, timeout_ms, NULL); }

static char *cli_cmd(Cli *c, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static char *cli_cmd(Cli *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *line = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (!cli_send(c, line)) return NULL;
    return cli_reply(c, REPLY_TIMEOUT_MS);
}

static void cli_kill(Cli *c)
{
    if (!c->pid) return;
    kill(c->pid, SIGKILL);
    waitpid(c->pid, NULL, 0);
    g_spawn_close_pid(c->pid);
    close(c->in);
    close(c->out);
    g_string_free(c->buf, TRUE);
    memset(c, 0, sizeof *c);
}

static Cli victim;

/* edu0 is the victim's, with one page mapped for it to write and the
 * staging page to read (the agent loads a pattern through it). */
static bool victim_start(Soak *S)
{
    if (!cli_start(S, &victim, S->sock)) return false;
    S->victim_addr = S->inv.ram_base + 0x200000;
    const char *steps[] = { "init", "obj", "add 0 pci 0 4 0", NULL, NULL };
    g_autofree char *map = g_strdup_printf("map 0 rw 0x%llx 4096", (unsigned long long)S->victim_addr);
    g_autofree char *stage = g_strdup_printf("map 0 r 0x%llx 4096", (unsigned long long)S->inv.stage_base);
    steps[3] = map;
    steps[4] = stage;
    for (unsigned i = 0; i < G_N_ELEMENTS(steps); i++) {
        g_autofree char *r = cli_cmd(&victim, "%s", steps[i]);
        if (!r || !g_str_has_prefix(r, "ok")) {
            harness_error(S, "the victim's '%s' got '%s'", steps[i], r ? r : "(nothing)");
            return false;
        }
    }
    return true;
}

/* Pages edu0 must never reach: next to the victim's buffer, elsewhere in
 * RAM, low, and the page between the staging page and the table pool. */
static uint64_t victim_unmapped(Soak *S, SoakRng *r)
{
    const uint64_t b = S->inv.ram_base;
    uint64_t c[] = { S->victim_addr + 0x1000, S->victim_addr - 0x1000, b + 0x100000, b + 0x10000000, b + 0x7000,
                     S->inv.stage_base + 0x1000 };
    uint64_t a = c[rng_below(r, G_N_ELEMENTS(c))];
    return a + 0x1000 <= S->inv.pool_base ? a : b + 0x100000;
}

/* The victim's mapped DMA lands, byte for byte; its unmapped DMA does not. */
static void victim_check(Soak *S, SoakRng *r, const char *during)
{
    if (soak_interrupted) return;
    static const size_t lens[] = { 64, 256, 4096 };
    size_t len = lens[rng_below(r, G_N_ELEMENTS(lens))];
    uint8_t pat = soak_pattern(r), b = 0;
    DmaOutcome o = soak_dma_write(S, "edu0", S->victim_addr, len, pat, &b);
    if (o == DMA_ERROR) return;
    if (o != DMA_LANDED || b != pat) {
        S->st.mapped_missed++;
        soak_finding_key(S, "victim mapped DMA missed", "the victim's mapped DMA did not land during %s (edu0 write 0x%llx %zu pattern=%02x: %s)",
                     during, (unsigned long long)S->victim_addr, len, pat,
                     o == DMA_BLOCKED ? "blocked" : o == DMA_MIXED ? "partly" : "other bytes");
    }
    uint64_t u = victim_unmapped(S, r);
    o = soak_dma_write(S, "edu0", u, 256, -1, NULL);
    if (o == DMA_ERROR) return;
    if (o != DMA_BLOCKED) {
        S->st.dma_open++;
        soak_finding_key(S, "victim unmapped DMA open", "DMA left open during %s: edu0 wrote 0x%llx, which nobody mapped for it", during,
                     (unsigned long long)u);
    }
    /* a page the victim maps, uses and unmaps again: once unmapped it is
     * closed at once (a translation the IOMMU kept cached would not be) */
    const uint64_t churn = S->victim_addr + 0x3000;
    g_autofree char *m = cli_cmd(&victim, "map 0 rw 0x%llx 4096", (unsigned long long)churn);
    pat = soak_pattern(r);
    if (!m || !g_str_has_prefix(m, "ok")) {
        S->st.other_failures++;
        soak_finding_key(S, "victim map", "during %s the victim's 'map 0 rw 0x%llx 4096' got '%s'", during,
                         (unsigned long long)churn, m ? m : "(nothing)");
        return;
    }
    o = soak_dma_write(S, "edu0", churn, 64, pat, &b); /* lands, and leaves the translation cached */
    if (o == DMA_ERROR) return;
    if (o != DMA_LANDED || b != pat) {
        S->st.mapped_missed++;
        soak_finding_key(S, "victim fresh mapping missed", "the victim's freshly mapped page 0x%llx did not take edu0's DMA during %s",
                     (unsigned long long)churn, during);
    }
    g_autofree char *um = cli_cmd(&victim, "unmap 0 0x%llx 4096", (unsigned long long)churn);
    if (!um || !g_str_has_prefix(um, "ok")) {
        S->st.other_failures++;
        soak_finding_key(S, "victim unmap", "during %s the victim's 'unmap 0 0x%llx 4096' got '%s'", during,
                         (unsigned long long)churn, um ? um : "(nothing)");
        return;
    }
    o = soak_dma_write(S, "edu0", churn, 256, -1, NULL);
    if (o != DMA_BLOCKED && o != DMA_ERROR) {
        S->st.dma_open++;
        soak_finding_key(S, "victim DMA open after unmap", "DMA left open during %s: edu0 still wrote 0x%llx after the victim unmapped it", during,
                     (unsigned long long)churn);
    }
}

/* ---- part 2: wire-protocol fuzzing ------------------------------------------------------------ */

typedef struct {
    uint32_t seq;
    uint16_t op;
    uint64_t index; /* global message number, for the repro file */
    uint64_t obj;   /* OBJ_DESTROY: which object */
} Expect;

typedef struct {
    int fd;
    bool target;
    unsigned id, generation;
    SoakRng rng;
    GQueue *expect;
    uint64_t objs[16];
    unsigned n_objs;
    uint32_t next_seq;
    unsigned window;
    bool closing; /* sent a packet shorter than a header: the service hangs up */
    uint8_t *pending;
    size_t pending_len;
} Conn;

/* The last messages sent, whatever the connection: what a finding needs. */
#define RING 256
#define RING_BYTES 512
typedef struct {
    uint64_t index;
    unsigned conn;
    size_t len;
    SoakMsgKind kind;
    double t;
    uint8_t head[RING_BYTES];
} Sent;

static Sent ring[RING];
static uint64_t ring_n;

static void ring_add(unsigned conn, const uint8_t *buf, size_t len, SoakMsgKind kind)
{
    Sent *s = &ring[ring_n % RING];
    s->index = ring_n++;
    s->conn = conn;
    s->len = len;
    s->kind = kind;
    s->t = now_s();
    memcpy(s->head, buf, len < RING_BYTES ? len : RING_BYTES);
}

static void ring_dump(Soak *S, const char *why, unsigned last)
{
    if (!S->repro) return;
    fprintf(S->repro, "-- %s: the last %u messages sent (oldest first; conn, message number, kind, length, bytes)\n",
            why, last);
    uint64_t from = ring_n > last ? ring_n - last : 0;
    for (uint64_t i = from; i < ring_n; i++) {
        const Sent *s = &ring[i % RING];
        fprintf(S->repro, "conn %u #%llu %s %zu:", s->conn, (unsigned long long)s->index, soak_msg_kind_name[s->kind],
                s->len);
        for (size_t k = 0; k < s->len && k < RING_BYTES; k++) fprintf(S->repro, " %02x", s->head[k]);
        fprintf(S->repro, "%s\n", s->len > RING_BYTES ? " ..." : "");
    }
    fflush(S->repro);
}

static bool conn_open(Soak *S, Conn *c)
{
    c->fd = raw_connect(c->target ? S->tsock : S->sock);
    if (c->fd < 0) return false;
    c->rng = rng_for(S->seed, S->board_name, ((uint64_t)c->id << 32) | c->generation++);
    c->expect = g_queue_new();
    c->n_objs = 0;
    c->next_seq = 1;
    c->window = 1 + (unsigned)rng_below(&c->rng, 32);
    c->closing = false;
    c->pending_len = 0;
    return true;
}

/* Replies that never came are lost, whatever ended the connection. */
static void conn_close(Soak *S, Conn *c, const char *why)
{
    unsigned lost = g_queue_get_length(c->expect);
    if (lost) {
        S->st.replies_lost += lost;
        Expect *e = g_queue_peek_head(c->expect);
        if (soak_finding_key(S, "replies lost at a hang-up",
                             "%u repl%s lost on connection %u (%s): the first was seq %u (%s, message #%llu)", lost,
                             lost == 1 ? "y" : "ies", c->id, why, e->seq, smmu_op_name(e->op),
                             (unsigned long long)e->index))
            ring_dump(S, "replies lost", 64);
    }
    g_queue_free_full(c->expect, g_free);
    c->expect = NULL;
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
}

static void conn_obj_add(Conn *c, uint64_t obj)
{
    if (c->n_objs == G_N_ELEMENTS(c->objs)) memmove(c->objs, c->objs + 1, sizeof c->objs - sizeof c->objs[0]), c->n_objs--;
    c->objs[c->n_objs++] = obj;
}

static void conn_obj_del(Conn *c, uint64_t obj)
{
    for (unsigned i = 0; i < c->n_objs; i++)
        if (c->objs[i] == obj) {
            c->objs[i] = c->objs[--c->n_objs];
            return;
        }
}

/* One message from the service on c: a reply must be the next one owed
 * (replies come in the order of the requests), an event is counted. */
static void conn_reply(Soak *S, Conn *c, ssize_t n)
{
    char err[256];
    if (smmu_msg_decode(rbuf, (size_t)n, true, &rmsg, err, sizeof err) != 0) {
        S->st.replies_lost++;
        if (soak_finding_key(S, "undecodable reply", "connection %u: the service sent a message the protocol cannot decode: %s",
                             c->id, err))
            ring_dump(S, "an undecodable reply", 32);
        return;
    }
    if (smmu_op_is_event(rmsg.hdr.op)) {
        S->st.events++;
        return;
    }
    unsigned skipped = 0;
    for (GList *l = c->expect->head; l; l = l->next, skipped++) {
        Expect *e = l->data;
        if (e->seq != rmsg.hdr.seq || e->op != rmsg.hdr.op) continue;
        if (skipped) {
            S->st.replies_lost += skipped;
            Expect *first = c->expect->head->data;
            if (soak_finding_key(S, "replies skipped",
                                 "connection %u: %u repl%s skipped: seq %u (%s, message #%llu) was answered before it",
                                 c->id, skipped, skipped == 1 ? "y" : "ies", first->seq, smmu_op_name(first->op),
                                 (unsigned long long)first->index))
                ring_dump(S, "replies skipped", 64);
            for (unsigned k = 0; k < skipped; k++) g_free(g_queue_pop_head(c->expect));
        }
        g_queue_pop_head(c->expect);
        if (e->op < G_N_ELEMENTS(S->st.op_accepted)) (rmsg.hdr.status ? S->st.op_refused : S->st.op_accepted)[e->op]++;
        if (rmsg.hdr.status < 0 && rmsg.hdr.status > -4096) S->st.by_errno[-rmsg.hdr.status]++;
        if (rmsg.hdr.status == 0) {
            S->st.accepted++;
            if (e->op == SMMU_OP_OBJ_CREATE) conn_obj_add(c, rmsg.obj);
            if (e->op == SMMU_OP_OBJ_DESTROY) conn_obj_del(c, e->obj);
        } else {
            S->st.refused++;
        }
        g_free(e);
        return;
    }
    S->st.replies_lost++;
    if (soak_finding_key(S, "unasked reply", "connection %u: a reply nobody asked for (seq %u, %s, status %d)", c->id,
                         rmsg.hdr.seq, smmu_op_name(rmsg.hdr.op), rmsg.hdr.status))
        ring_dump(S, "a reply nobody asked for", 32);
}

/* Sends c's next message (made now, or kept from a full socket). false:
 * the connection is gone. */
static bool conn_send(Soak *S, Conn *c, const SoakMsgCtx *base)
{
    SoakMsgKind kind = SOAK_MSG_VALID;
    if (!c->pending_len) {
        SoakMsgCtx ctx = *base;
        ctx.target = c->target;
        ctx.objs = c->objs;
        ctx.n_objs = c->n_objs;
        /* a client says HELLO first, mostly */
        if (c->next_seq == 1 && rng_pct(&c->rng, 70)) {
            c->pending_len = encode_simple(SMMU_OP_HELLO, c->next_seq, 0, c->pending);
        } else {
            c->pending_len = soak_msg_gen(&c->rng, &ctx, rng_pct(&c->rng, 95) ? c->next_seq : (uint32_t)rng_next(&c->rng),
                                          c->pending, &kind);
        }
        c->next_seq++;
    }
    ssize_t w = send(c->fd, c->pending, c->pending_len, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return true;
    if (w != (ssize_t)c->pending_len) return false;
    S->st.messages++;
    ring_add(c->id, c->pending, c->pending_len, kind);
    if (c->pending_len >= SMMU_MSG_HDR_SIZE) {
        Expect *e = g_new0(Expect, 1);
        e->seq = soak_msg_seq(c->pending);
        e->op = soak_msg_reply_op(c->pending);
        e->index = ring_n - 1;
        if (e->op == SMMU_OP_OBJ_DESTROY && c->pending_len >= 24)
            for (int k = 7; k >= 0; k--) e->obj = e->obj << 8 | c->pending[16 + k];
        g_queue_push_tail(c->expect, e);
    } else {
        c->closing = true;
    }
    c->pending_len = 0;
    return true;
}

/* Reads everything waiting on c. false: the service hung up. */
static bool conn_read(Soak *S, Conn *c)
{
    for (;;) {
        ssize_t n = recv(c->fd, rbuf, sizeof rbuf, MSG_DONTWAIT | MSG_TRUNC);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return true;
        if (n <= 0) return false;
        conn_reply(S, c, n);
    }
}

#define N_ATTACH 16
#define N_TARGET 4

static void part_fuzz(Soak *S, double seconds)
{
    soak_note(S, "part 2: %u+%u connections fuzzing the protocol for %.0f s, the victim checked throughout", N_ATTACH,
              N_TARGET, seconds);
    Conn conns[N_ATTACH + N_TARGET];
    SoakMsgCtx base = { S->inv.ram_base, S->inv.ram_size, S->inv.pool_base, S->inv.pool_size, S->inv.stage_base,
                        S->victim_addr, false, NULL, 0 };
    SoakRng vr = rng_for(S->seed, "victim", 2);
    for (unsigned i = 0; i < G_N_ELEMENTS(conns); i++) {
        memset(&conns[i], 0, sizeof conns[i]);
        conns[i].id = i;
        conns[i].target = i >= N_ATTACH;
        conns[i].pending = g_malloc(SOAK_MSG_CAP);
        if (!conn_open(S, &conns[i])) {
            harness_error(S, "cannot connect to the service");
            conns[i].fd = -1;
        }
    }
    const double end = now_s() + seconds;
    double next_check = now_s() + 0.25;
    struct pollfd pf[G_N_ELEMENTS(conns)];
    while (now_s() < end && !soak_interrupted && svc_alive(S, "protocol fuzzing")) {
        for (unsigned i = 0; i < G_N_ELEMENTS(conns); i++) {
            Conn *c = &conns[i];
            pf[i].fd = c->fd;
            pf[i].events = POLLIN;
            if (c->fd >= 0 && !c->closing && (c->pending_len || g_queue_get_length(c->expect) < c->window))
                pf[i].events |= POLLOUT;
            pf[i].revents = 0;
        }
        poll(pf, G_N_ELEMENTS(conns), 20);
        for (unsigned i = 0; i < G_N_ELEMENTS(conns); i++) {
            Conn *c = &conns[i];
            if (c->fd < 0) continue;
            bool alive = true;
            if (pf[i].revents & (POLLIN | POLLHUP | POLLERR)) alive = conn_read(S, c);
            if (alive && (pf[i].revents & POLLOUT)) alive = conn_send(S, c, &base);
            if (!alive) {
                if (!c->closing && svc_alive(S, "protocol fuzzing")) {
                    S->st.other_failures++;
                    if (soak_finding_key(S, "unexplained hang-up",
                                         "the service hung up on connection %u, which had sent nothing shorter than a "
                                         "header", c->id))
                        ring_dump(S, "an unexplained hang-up", 32);
                }
                conn_close(S, c, c->closing ? "hung up after a short packet" : "hung up");
                if (!conn_open(S, c)) c->fd = -1;
            }
        }
        if (now_s() >= next_check) {
            victim_check(S, &vr, "protocol fuzzing");
            next_check = now_s() + 0.25;
        }
    }
    /* every request sent is owed its reply: wait for them, bounded */
    double drain_end = now_s() + REPLY_TIMEOUT_MS / 1000.0;
    for (bool waiting = true; waiting && now_s() < drain_end && svc_alive(S, "protocol fuzzing");) {
        waiting = false;
        for (unsigned i = 0; i < G_N_ELEMENTS(conns); i++) {
            Conn *c = &conns[i];
            pf[i].fd = c->fd >= 0 && !g_queue_is_empty(c->expect) ? c->fd : -1;
            pf[i].events = POLLIN;
            pf[i].revents = 0;
            waiting |= pf[i].fd >= 0;
        }
        if (!waiting) break;
        poll(pf, G_N_ELEMENTS(conns), 50);
        for (unsigned i = 0; i < G_N_ELEMENTS(conns); i++)
            if (pf[i].fd >= 0 && (pf[i].revents & (POLLIN | POLLHUP | POLLERR)) && !conn_read(S, &conns[i]))
                conn_close(S, &conns[i], "hung up while replies were owed");
    }
    for (unsigned i = 0; i < G_N_ELEMENTS(conns); i++) {
        if (conns[i].fd >= 0) conn_close(S, &conns[i], "the part ended first");
        g_free(conns[i].pending);
    }
    if (S->svc_running) victim_check(S, &vr, "after protocol fuzzing");
    soak_note(S, "part 2: %llu messages, %llu accepted, %llu refused, %llu events",
              (unsigned long long)S->st.messages, (unsigned long long)S->st.accepted,
              (unsigned long long)S->st.refused, (unsigned long long)S->st.events);
}

/* ---- part 3: clients killed ----------------------------------------------------------------------- */

/* Bounded wait until STATUS no longer lists the client pid. */
static bool wait_client_gone(Soak *S, int *probe, uint32_t *seq, pid_t pid)
{
    g_autofree char *needle = g_strdup_printf("pid:%d ", (int)pid);
    gint64 deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
    while (g_get_monotonic_time() < deadline) {
        g_autofree char *text = raw_status(*probe, seq, 2000);
        if (text && !strstr(text, needle)) return true;
        if (!text) { /* the probe itself may have been dropped: a fresh one */
            close(*probe);
            *probe = raw_connect(S->sock);
            if (*probe < 0) return false;
        }
        g_usleep(10000);
    }
    return false;
}

static void part_kills(Soak *S, double seconds)
{
    soak_note(S, "part 3: clients owning edu1/edu2 killed at random for %.0f s", seconds);
    int probe = raw_connect(S->sock);
    uint32_t seq = 0;
    SoakRng vr = rng_for(S->seed, "victim", 3);
    const double end = now_s() + seconds;
    for (unsigned i = 0; now_s() < end && !soak_interrupted && svc_alive(S, "client kills") && i < 2000; i++) {
        SoakRng r = rng_for(S->seed, "kill", i);
        unsigned slot = 5 + (unsigned)rng_below(&r, 2);
        char dev[8];
        snprintf(dev, sizeof dev, "edu%u", slot - 4);
        const uint64_t buf = S->inv.ram_base + 0x800000 + (i % 16) * 0x2000ull;
        Cli c;
        if (!cli_start(S, &c, S->sock)) break;
        g_autofree char *map = g_strdup_printf("map 0 rw 0x%llx 4096", (unsigned long long)buf);
        g_autofree char *stage = g_strdup_printf("map 0 r 0x%llx 4096", (unsigned long long)S->inv.stage_base);
        g_autofree char *add = g_strdup_printf("add 0 pci 0 %u 0", slot);
        const char *steps[] = { "init", "obj", add, map, stage };
        bool ready = true;
        for (unsigned k = 0; k < G_N_ELEMENTS(steps) && ready; k++) {
            g_autofree char *rep = cli_cmd(&c, "%s", steps[k]);
            if (!rep || !g_str_has_prefix(rep, "ok")) {
                S->st.other_failures++;
                soak_finding_key(S, "kill: setup refused", "kill %u: a fresh client's '%s' got '%s'", i, steps[k], rep ? rep : "(nothing)");
                ready = false;
            }
        }
        uint8_t pat = soak_pattern(&r), b = 0;
        if (ready && (soak_dma_write(S, dev, buf, 256, pat, &b) != DMA_LANDED || b != pat)) {
            S->st.mapped_missed++;
            soak_finding_key(S, "kill: mapped DMA missed", "kill %u: %s's DMA to its client's mapped buffer 0x%llx did not land", i, dev,
                         (unsigned long long)buf);
        }
        /* how it dies: at rest, in the middle of a burst of requests, or
         * waiting for a fault record that is on its way */
        uint64_t extra[8];
        unsigned n_extra = 0;
        unsigned mode = (unsigned)rng_below(&r, 3);
        if (mode == 1) {
            for (unsigned k = 1 + (unsigned)rng_below(&r, 24); k; k--) {
                uint64_t page = S->inv.ram_base + 0xa00000 + rng_below(&r, 256) * 0x1000ull;
                g_autofree char *line = NULL;
                switch (rng_below(&r, 6)) {
                case 0: case 1:
                    line = g_strdup_printf("map 0 rw 0x%llx 4096", (unsigned long long)page);
                    if (n_extra < G_N_ELEMENTS(extra)) extra[n_extra++] = page;
                    break;
                case 2: line = g_strdup_printf("unmap 0 0x%llx 4096", (unsigned long long)page); break;
                case 3: line = g_strdup("obj"); break;
                case 4: line = g_strdup_printf("add 1 pci 0 %u 0", slot); break;
                default: line = g_strdup("destroy 1"); break;
                }
                cli_send(&c, line);
            }
            g_usleep((gulong)rng_below(&r, 20000));
        } else if (mode == 2) {
            cli_send(&c, "wait-fault 2000");
            g_free(soak_agent(S, "dma %s write 0x%llx 64", dev, (unsigned long long)(buf + 0x1000)));
        }
        pid_t pid = c.pid;
        cli_kill(&c);
        S->st.kills++;
        if (probe < 0 || !wait_client_gone(S, &probe, &seq, pid)) {
            S->st.other_failures++;
            soak_finding_key(S, "kill: not noticed", "kill %u: the service still listed the killed client (pid %d) after 5 s", i, (int)pid);
        }
        if (soak_dma_write(S, dev, buf, 256, -1, NULL) != DMA_BLOCKED) {
            S->st.dma_open++;
            soak_finding_key(S, "kill: buffer open", "DMA left open after kill %u (mode %u): %s still wrote its dead client's buffer 0x%llx", i,
                         mode, dev, (unsigned long long)buf);
        }
        for (unsigned k = 0; k < n_extra; k++)
            if (soak_dma_write(S, dev, extra[k], 64, -1, NULL) != DMA_BLOCKED) {
                S->st.dma_open++;
                soak_finding_key(S, "kill: extra page open", "DMA left open after kill %u (mode %u): %s still wrote 0x%llx, mapped just before", i,
                             mode, dev, (unsigned long long)extra[k]);
            }
        if (i % 4 == 3) victim_check(S, &vr, "client kills");
    }
    if (probe >= 0) close(probe);
    soak_note(S, "part 3: %llu clients killed", (unsigned long long)S->st.kills);
}

/* ---- part 4: a client that never reads ------------------------------------------------------------- */

static void part_never_reads(Soak *S, double seconds)
{
    soak_note(S, "part 4: a client sending without reading for %.0f s, then reading", seconds);
    int fd = raw_connect(S->sock), probe = raw_connect(S->sock);
    uint32_t pseq = 1000000;
    SoakRng r = rng_for(S->seed, "never-reads", 0), vr = rng_for(S->seed, "victim", 4);
    if (fd < 0 || probe < 0) {
        harness_error(S, "cannot connect to the service");
        goto out;
    }
    uint8_t *buf = g_malloc(SMMU_MSG_MAX);
    char err[256];
    /* a client in good standing first: HELLO and an object of its own */
    size_t n = encode_simple(SMMU_OP_HELLO, 1, 0, buf);
    uint64_t obj = 0;
    if (raw_send(fd, buf, n, 2000) && raw_recv(fd, REPLY_TIMEOUT_MS, err, sizeof err) == 1) {
        n = encode_simple(SMMU_OP_OBJ_CREATE, 2, 0, buf);
        if (raw_send(fd, buf, n, 2000) && raw_recv(fd, REPLY_TIMEOUT_MS, err, sizeof err) == 1) obj = rmsg.obj;
    }
    if (!obj) {
        harness_error(S, "the never-reading client could not start");
        g_free(buf);
        goto out;
    }
    GArray *seqs = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    uint32_t seq = 3;
    const double end = now_s() + seconds;
    double next_probe = now_s(), next_check = now_s() + 1;
    unsigned stalled = 0;
    while (now_s() < end && !soak_interrupted && svc_alive(S, "a client that never reads")) {
        /* requests whose replies are large fill the socket soonest */
        switch (rng_below(&r, 6)) {
        case 0: case 1: n = encode_simple(SMMU_OP_OBJECTS, seq, 0, buf); break;
        case 2: n = encode_simple(SMMU_OP_STATUS, seq, 0, buf); break;
        case 3: n = encode_simple(SMMU_OP_XFER_STATUS, seq, 0, buf); break;
        case 4: {
            memset(&rmsg, 0, offsetof(SmmuMsg, entry_buf));
            rmsg.hdr.op = SMMU_OP_MAPPING_ADD;
            rmsg.hdr.seq = seq;
            rmsg.obj = obj;
            rmsg.flags = rng_pct(&r, 70) ? SMF_READ | SMF_WRITE : 0;
            struct smmu_map_entry e = { .phys = S->inv.ram_base + 0x1000000 + rng_below(&r, 64) * 0x1000ull, .len = 0x1000 };
            rmsg.n_entries = 1;
            rmsg.entries = &e;
            int k = smmu_msg_encode(&rmsg, false, buf, SMMU_MSG_MAX);
            n = k > 0 ? (size_t)k : 0;
            break;
        }
        default: /* a version nobody speaks: refused, and answered all the same */
            n = encode_simple(SMMU_OP_SAFETY, seq, 0, buf);
            buf[4] = 99;
            break;
        }
        ssize_t w = send(fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w == (ssize_t)n) {
            g_array_append_val(seqs, seq);
            seq++;
            S->st.neverread_requests++;
        } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            stalled++;
            struct pollfd pf = { .fd = fd, .events = POLLOUT };
            poll(&pf, 1, 50); /* the service stopped reading us: backpressure */
        } else {
            S->st.other_failures++;
            soak_finding(S, "the never-reading client's connection failed: %s", g_strerror(errno));
            break;
        }
        if (now_s() >= next_probe) { /* meanwhile another client is answered */
            double t0 = now_s();
            g_autofree char *text = raw_status(probe, &pseq, 2000);
            if (!text) {
                S->st.other_failures++;
                soak_finding(S, "while a client did not read, another client's STATUS got no answer within 2 s");
                close(probe);
                probe = raw_connect(S->sock);
                if (probe < 0) break;
            } else if (now_s() - t0 > 0.5) {
                soak_note(S, "part 4: another client's STATUS took %.0f ms", (now_s() - t0) * 1e3);
            }
            next_probe = now_s() + 0.25;
        }
        if (now_s() >= next_check) {
            victim_check(S, &vr, "a client that never reads");
            next_check = now_s() + 1;
        }
    }
    /* now it reads: every request has its reply, in order */
    unsigned got = 0, out_of_order = 0;
    gint64 deadline = g_get_monotonic_time() + 15 * G_USEC_PER_SEC;
    while (got < seqs->len && g_get_monotonic_time() < deadline) {
        int rc = raw_recv(fd, 1000, err, sizeof err);
        if (rc == 0) continue;
        if (rc < 0) {
            if (rc == -2) soak_finding(S, "the never-reading client got an undecodable message: %s", err);
            break;
        }
        if (smmu_op_is_event(rmsg.hdr.op)) continue;
        if (rmsg.hdr.seq != g_array_index(seqs, uint32_t, got)) out_of_order++;
        got++;
    }
    unsigned lost = seqs->len - got;
    S->st.replies_lost += lost + out_of_order;
    if (lost || out_of_order)
        soak_finding(S, "the client that did not read: %u requests sent, %u replies received, %u out of order",
                     seqs->len, got, out_of_order);
    soak_note(S, "part 4: %u requests sent without reading (%u times the socket was full), %u replies read back",
              seqs->len, stalled, got);
    g_array_unref(seqs);
    g_free(buf);
out:
    if (fd >= 0) close(fd);
    if (probe >= 0) close(probe);
}

/* ---- part 5: a fault storm while STATUS latency is sampled --------------------------------------- */

typedef struct {
    char *agent_path;
    uint64_t region, max_pages;
    double phase_seconds;
    uint64_t done[2];
    double took[2];
    char *error;
    atomic_bool finished;
} Storm;

/* The storm: blocked writes of 4 KiB, then of 64 B, each for
 * phase_seconds, on a connection of its own so that the main thread
 * samples the service meanwhile. Each phase is one storm request sized
 * from the rate measured so far, topped up by shorter ones until its time
 * is over (the board's rate is not known to better than a factor 2). */
static void *storm_thread(void *data)
{
    Storm *st = data;
    TbAgent *ag = NULL;
    g_autoptr(GError) err = NULL;
    if (tb_agent_connect(st->agent_path, 0, &ag, &err) != 0) {
        st->error = g_strdup(err ? err->message : "connect");
        atomic_store(&st->finished, true);
        return NULL;
    }
    tb_agent_set_timeout(ag, (int)(st->phase_seconds * 8 * 1000) + 60000);
    for (unsigned phase = 0; phase < 2 && !st->error && !soak_interrupted; phase++) {
        const double t0 = now_s(), end = t0 + st->phase_seconds;
        /* each phase opens with a short storm that measures this size's
         * rate under the load of the moment (two shared cores) */
        for (double now = t0, rate = 0; now < end - 0.05 && !soak_interrupted; now = now_s()) {
            uint64_t count = rate ? (uint64_t)(0.8 * rate * (end - now)) : 300;
            count = count < 20 ? 20 : count > 100000 ? 100000 : count;
            if (count > st->max_pages) count = st->max_pages;
            TbReply r;
            double t = now_s();
            if (tb_agent_do(ag, &r, &err, "storm edu2 write 0x%llx %u %llu", (unsigned long long)st->region,
                            phase == 0 ? 4096 : 64, (unsigned long long)count) != 0) {
                st->error = g_strdup(err ? err->message : "storm");
                break;
            }
            const char *c = r.text ? strstr(r.text, "count=") : NULL;
            uint64_t done = c ? strtoull(c + 6, NULL, 10) : 0;
            tb_reply_clear(&r);
            st->done[phase] += done;
            if (done) rate = done / fmax(now_s() - t, 1e-3);
        }
        st->took[phase] = now_s() - t0;
    }
    tb_agent_close(ag);
    atomic_store(&st->finished, true);
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double percentile(const double *sorted, size_t n, double p)
{
    if (!n) return NAN;
    size_t k = (size_t)ceil(p * (double)n) - 1;
    return sorted[k < n ? k : n - 1];
}

static void part_storm(Soak *S, double seconds)
{
    /* the storm's pages: 64 MiB up in RAM, below the staging page */
    const uint64_t region = S->inv.ram_base + 0x4000000;
    const uint64_t max_pages = (S->inv.stage_base - region) / 4096 - 16;
    /* 64 MiB of pages: one request covers a phase on both boards (about
     * 700 to 1700 DMA/s); a longer phase takes several */
    uint64_t count = max_pages < 16384 ? max_pages : 16384;
    soak_note(S, "part 5: a fault storm (edu2: blocked writes of 4 KiB, then 64 B) for ~%.0f s, STATUS sampled every "
              "50 ms", seconds);
    uint8_t *p = soak_ram(S, region, count * 4096);
    if (!p) return;
    memset(p, SOAK_FILL, count * 4096);
    /* Open loop: a STATUS goes out every 50 ms whether or not the last was
     * answered, each timed from its own sending; a stalled service thus
     * shows in every sample it delays, not in one. A socket holds a few
     * hundred unread requests: when one is full the next sample goes
     * through a fresh connection. */
    GArray *probes = g_array_new(FALSE, FALSE, sizeof(struct pollfd));
    GArray *lat = g_array_new(FALSE, FALSE, sizeof(double));
    GHashTable *sent = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
    uint32_t seq = 0;
    uint8_t buf[64];
    Storm st = { .agent_path = (char *)tb_board_agent_path(S->board), .region = region, .max_pages = count,
                 .phase_seconds = seconds / 2 };
    atomic_init(&st.finished, false);
    pthread_t th;
    bool running = pthread_create(&th, NULL, storm_thread, &st) == 0;
    if (!running) harness_error(S, "cannot start the storm thread");
    double next = now_s();
    for (bool storm_on = running; S->svc_running && !soak_interrupted;) {
        storm_on = storm_on && !atomic_load(&st.finished);
        if (!storm_on && (g_hash_table_size(sent) == 0 || now_s() > next + REPLY_TIMEOUT_MS / 1000.0)) break;
        if (storm_on && now_s() >= next) {
            size_t n = encode_simple(SMMU_OP_STATUS, ++seq, 0, buf);
            struct pollfd *last = probes->len ? &g_array_index(probes, struct pollfd, probes->len - 1) : NULL;
            if (!last || send(last->fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)n) {
                struct pollfd pf = { .fd = probes->len < 64 ? raw_connect(S->sock) : -1, .events = POLLIN };
                if (pf.fd < 0 || !raw_send(pf.fd, buf, n, 1000)) {
                    if (pf.fd >= 0) close(pf.fd);
                    soak_note(S, "part 5: no probe connection would take a request; sampling stops");
                    storm_on = false;
                    continue;
                }
                g_array_append_val(probes, pf);
            }
            double *t = g_new(double, 1);
            *t = now_s();
            g_hash_table_insert(sent, GUINT_TO_POINTER(seq), t);
            next += 0.05;
        }
        double wait = storm_on ? next - now_s() : 0.2;
        struct pollfd *pf = (struct pollfd *)(void *)probes->data;
        for (guint i = 0; i < probes->len; i++) pf[i].revents = 0;
        poll(pf, probes->len, wait > 0 ? (int)(wait * 1000) + 1 : 0);
        for (guint i = 0; i < probes->len; i++) {
            if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            char err[200];
            int rc;
            while ((rc = raw_recv(pf[i].fd, 0, err, sizeof err)) == 1) {
                if (smmu_op_is_event(rmsg.hdr.op)) continue;
                double *t = g_hash_table_lookup(sent, GUINT_TO_POINTER(rmsg.hdr.seq));
                if (t) {
                    double ms = (now_s() - *t) * 1e3;
                    g_array_append_val(lat, ms);
                    g_hash_table_remove(sent, GUINT_TO_POINTER(rmsg.hdr.seq));
                }
            }
            if (rc < 0) {
                soak_note(S, "part 5: a probe connection failed (%s)", rc == -2 ? err : "hang-up");
                close(pf[i].fd);
                pf[i].fd = -1; /* poll() skips it */
            }
        }
        if (!svc_alive(S, "a fault storm")) break;
    }
    if (running) pthread_join(th, NULL);
    if (st.error) {
        harness_error(S, "storm: %s", st.error);
        g_free(st.error);
    }
    S->st.storm_dmas += st.done[0] + st.done[1];
    soak_note(S, "part 5: %llu blocked 4 KiB writes in %.1f s, %llu blocked 64 B writes in %.1f s; %u STATUS sent "
              "through %u connections", (unsigned long long)st.done[0], st.took[0], (unsigned long long)st.done[1],
              st.took[1], seq, probes->len);
    if (g_hash_table_size(sent) && S->svc_running) {
        S->st.replies_lost += g_hash_table_size(sent);
        soak_finding(S, "%u STATUS requests sent during the storm were never answered", g_hash_table_size(sent));
    }
    for (guint i = 0; i < probes->len; i++)
        if (g_array_index(probes, struct pollfd, i).fd >= 0) close(g_array_index(probes, struct pollfd, i).fd);
    g_array_unref(probes);
    g_array_sort(lat, cmp_double);
    const double *v = (const double *)(void *)lat->data;
    S->st.samples = lat->len;
    S->st.p50_ms = percentile(v, lat->len, 0.50);
    S->st.p99_ms = percentile(v, lat->len, 0.99);
    S->st.max_ms = lat->len ? v[lat->len - 1] : NAN;
    g_array_unref(lat);
    g_hash_table_unref(sent);
    /* rogue DMA: not one page of the storm may have changed */
    unsigned changed = 0;
    for (uint64_t i = 0; i < count; i++)
        for (unsigned k = 0; k < 4096; k++)
            if (p[i * 4096 + k] != SOAK_FILL) {
                if (!changed) soak_finding(S, "DMA left open in the storm: page 0x%llx changed",
                                           (unsigned long long)(region + i * 4096));
                changed++;
                break;
            }
    S->st.dma_open += changed;
    uint32_t sseq = 1u << 30;
    int probe = S->svc_running ? raw_connect(S->sock) : -1;
    g_autofree char *text = probe >= 0 ? raw_status(probe, &sseq, REPLY_TIMEOUT_MS) : NULL;
    S->st.faults_seen = text ? (uint64_t)status_num(text, "faults.seen=") : 0;
    if (probe >= 0) close(probe);
    soak_note(S, "part 5: %llu storm DMAs, %u STATUS samples: p50 %.2f ms, p99 %.2f ms, max %.2f ms; faults seen %llu",
              (unsigned long long)S->st.storm_dmas, S->st.samples, S->st.p50_ms, S->st.p99_ms, S->st.max_ms,
              (unsigned long long)S->st.faults_seen);
}

/* ---- one board ------------------------------------------------------------------------------------- */

static bool want_part(const char *parts, const char *name)
{
    if (!parts) return true;
    g_auto(GStrv) v = g_strsplit(parts, ",", -1);
    for (unsigned i = 0; v[i]; i++)
        if (strcmp(v[i], name) == 0) return true;
    return false;
}

static void rm_rf(const char *path)
{
    GDir *d = g_dir_open(path, 0, NULL);
    if (d) {
        for (const char *n; (n = g_dir_read_name(d));) {
            g_autofree char *p = g_build_filename(path, n, NULL);
            struct stat st;
            if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) rm_rf(p);
            else unlink(p);
        }
        g_dir_close(d);
    }
    rmdir(path);
}

static void soak_board(Soak *S, const char *parts)
{
    const double t_start = now_s();
    S->scratch = g_dir_make_tmp("smmu-soak-XXXXXX", NULL);
    if (!S->scratch) {
        harness_error(S, "cannot make a scratch directory");
        return;
    }
    g_autofree char *run = g_build_filename(S->scratch, "board", NULL);
    TbLaunchOptions lo = { .run_dir = run };
    g_autoptr(GError) err = NULL;
    soak_note(S, "starting the board");
    S->board = tb_board_start(S->board_name, &lo, &err);
    if (!S->board) {
        harness_error(S, "cannot start the board: %s", err ? err->message : "?");
        goto out;
    }
    if (tb_agent_connect(tb_board_agent_path(S->board), 0, &S->agent, &err) != 0 ||
        tb_inventory_fetch(S->agent, &S->inv, &err) != 0) {
        harness_error(S, "agent: %s", err ? err->message : "?");
        goto out;
    }
    int fd = open(S->inv.ram_file, O_RDWR | O_CLOEXEC);
    if (fd >= 0) {
        S->ram_size = S->inv.ram_size;
        S->ram = mmap(NULL, S->ram_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        close(fd);
    }
    if (fd < 0 || S->ram == MAP_FAILED) {
        S->ram = NULL;
        harness_error(S, "cannot map the board's RAM %s", S->inv.ram_file);
        goto out;
    }
    S->platform = g_strdup_printf("board:%s", tb_board_run_dir(S->board));
    S->sock = g_build_filename(S->scratch, "attach.sock", NULL);
    S->tsock = g_build_filename(S->scratch, "target.sock", NULL);
    S->status = g_build_filename(S->scratch, "smmu.status", NULL);
    S->log = g_build_filename(S->scratch, "smmu.log", NULL);
    S->conf = g_build_filename(S->scratch, "smmu.conf", NULL);

    if (want_part(parts, "corpus") && !soak_interrupted) soak_part_corpus(S);

    bool live = want_part(parts, "fuzz") || want_part(parts, "kills") || want_part(parts, "never-reads") ||
                want_part(parts, "storm");
    if (live && !soak_interrupted && svc_start(S) && victim_start(S)) {
        uint32_t seq = 0;
        int probe = raw_connect(S->sock);
        g_autofree char *before = probe >= 0 ? raw_status(probe, &seq, REPLY_TIMEOUT_MS) : NULL;
        S->st.pool_used_before = before ? (uint64_t)status_num(before, "pool.pages.used=") : 0;
        S->st.rss_before_kb = rss_kb(S->svc);
        S->st.anon_before_kb = proc_kb(S->svc, "RssAnon");
        rss_note(S, "before part 2");
        double B = S->seconds;
        if (want_part(parts, "fuzz") && !soak_interrupted) part_fuzz(S, 0.40 * B);
        rss_note(S, "after part 2");
        if (want_part(parts, "kills") && !soak_interrupted && svc_alive(S, "client kills")) part_kills(S, fmax(3, 0.15 * B));
        rss_note(S, "after part 3");
        if (want_part(parts, "never-reads") && !soak_interrupted && svc_alive(S, "a client that never reads"))
            part_never_reads(S, fmax(3, 0.10 * B));
        rss_note(S, "after part 4");
        /* every client but the victim and this probe is gone: so is what they held */
        if (probe >= 0 && svc_alive(S, "clients leaving")) {
            /* the service learns of a hang-up when it next polls: a bounded wait */
            long long clients = -1;
            char *after = NULL;
            for (gint64 until = g_get_monotonic_time() + 3 * G_USEC_PER_SEC; g_get_monotonic_time() < until;) {
                g_free(after);
                after = raw_status(probe, &seq, REPLY_TIMEOUT_MS);
                S->st.pool_used_after = after ? (uint64_t)status_num(after, "pool.pages.used=") : 0;
                clients = status_num(after, "clients=");
                if (!after || (S->st.pool_used_after == S->st.pool_used_before && clients == 2)) break;
                g_usleep(50000);
            }
            if (after && (S->st.pool_used_after != S->st.pool_used_before || clients != 2)) {
                S->st.other_failures++;
                soak_finding(S, "after every other client left: table pages %llu (before: %llu), clients %lld (want 2: "
                                "the victim and the probe)",
                             (unsigned long long)S->st.pool_used_after, (unsigned long long)S->st.pool_used_before,
                             clients);
            }
            g_free(after);
        }
        if (want_part(parts, "storm") && !soak_interrupted && svc_alive(S, "a fault storm")) part_storm(S, fmax(6, 0.35 * B));
        if (svc_alive(S, "the end")) {
            S->st.rss_after_kb = rss_kb(S->svc);
            S->st.anon_after_kb = proc_kb(S->svc, "RssAnon");
            rss_note(S, "after part 5");
            SoakRng vr = rng_for(S->seed, "victim", 6);
            victim_check(S, &vr, "the end");
        }
        if (probe >= 0) close(probe);
        svc_stop(S);
        /* the stop is a DSS: the victim's own buffer is blocked now too */
        if (S->ram && soak_dma_write(S, "edu0", S->victim_addr, 256, -1, NULL) != DMA_BLOCKED) {
            S->st.dma_open++;
            soak_finding(S, "DMA left open after the service was stopped: edu0 still wrote the victim's buffer");
        }
    }
    if (S->svc_running) { /* only when start-up was cut short */
        kill(S->svc, SIGKILL);
        waitpid(S->svc, NULL, 0);
        S->svc_running = false;
    }
    cli_kill(&victim);
out:
    if (S->ram) munmap(S->ram, S->ram_size);
    S->ram = NULL;
    if (S->agent) tb_agent_close(S->agent);
    S->agent = NULL;
    if (S->board && tb_board_stop(S->board, &err) != 0)
        harness_error(S, "stopping the board: %s", err ? err->message : "?");
    S->board = NULL;
    if (S->scratch) rm_rf(S->scratch);
    S->st.seconds = now_s() - t_start;
}

/* ---- output ----------------------------------------------------------------------------------------- */

static uint64_t attempts(const SoakStats *s)
{
    return s->corpus_cases + s->mutants + s->messages + s->kills + s->neverread_requests + s->storm_dmas;
}

static unsigned failures(const SoakStats *s)
{
    return s->crashes + s->client_dss + s->dma_open + s->replies_lost + s->mapped_missed + s->other_failures;
}

static void fmt_ms(char *buf, size_t n, double v)
{
    if (isnan(v)) snprintf(buf, n, "-");
    else snprintf(buf, n, "%.1f ms", v);
}

static void fmt_mib(char *buf, size_t n, long kb)
{
    if (kb < 0) snprintf(buf, n, "-");
    else snprintf(buf, n, "%.1f MiB", kb / 1024.0);
}

static void print_table(Soak *boards, unsigned n, FILE *f)
{
    fprintf(f, "| board | attempts | crashes | DSS caused by a client | DMA left open | replies lost | "
               "service RSS before | service RSS after | status p50 | status p99 |\n");
    fprintf(f, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (unsigned i = 0; i < n; i++) {
        const SoakStats *s = &boards[i].st;
        char a[32], b[32], c[32], d[32];
        fmt_mib(a, sizeof a, s->rss_before_kb);
        fmt_mib(b, sizeof b, s->rss_after_kb);
        fmt_ms(c, sizeof c, s->p50_ms);
        fmt_ms(d, sizeof d, s->p99_ms);
        fprintf(f, "| %s | %llu | %u | %u | %u | %u | %s | %s | %s | %s |\n", boards[i].board_name,
                (unsigned long long)attempts(s), s->crashes, s->client_dss, s->dma_open, s->replies_lost, a, b, c, d);
    }
}

static const char *errno_name(unsigned e)
{
    switch (e) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EIO: return "EIO";
    case E2BIG: return "E2BIG";
    case ENOMEM: return "ENOMEM";
    case EBUSY: return "EBUSY";
    case EEXIST: return "EEXIST";
    case EINVAL: return "EINVAL";
    case ENOSPC: return "ENOSPC";
    case ERANGE: return "ERANGE";
    case ENOSYS: return "ENOSYS";
    case EPROTO: return "EPROTO";
    case EMSGSIZE: return "EMSGSIZE";
    case EDQUOT: return "EDQUOT";
    case ETIMEDOUT: return "ETIMEDOUT";
    default: {
        static char buf[16];
        snprintf(buf, sizeof buf, "%u", e);
        return buf;
    }
    }
}

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
        else if (*p < 0x20) fprintf(f, "\\u%04x", *p);
        else fputc(*p, f);
    }
    fputc('"', f);
}

static void json_num(FILE *f, const char *key, double v, bool last)
{
    if (isnan(v)) fprintf(f, "\"%s\": null%s", key, last ? "" : ", ");
    else fprintf(f, "\"%s\": %.3f%s", key, v, last ? "" : ", ");
}

static void write_json(Soak *boards, unsigned n, const char *path, uint64_t seed, double seconds)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "soak: cannot write %s: %s\n", path, g_strerror(errno));
        return;
    }
    g_autoptr(GDateTime) now = g_date_time_new_now_utc();
    g_autofree char *date = g_date_time_format_iso8601(now);
    fprintf(f, "{\n  \"date\": \"%s\", \"seed\": %llu, \"seconds\": %.0f, \"cores\": %ld,\n  \"boards\": [\n", date,
            (unsigned long long)seed, seconds, sysconf(_SC_NPROCESSORS_ONLN));
    for (unsigned i = 0; i < n; i++) {
        const SoakStats *s = &boards[i].st;
        fprintf(f, "    {\"board\": ");
        json_str(f, boards[i].board_name);
        fprintf(f, ", \"attempts\": %llu, \"crashes\": %u, \"dss_caused_by_a_client\": %u, \"dma_left_open\": %u, "
                   "\"replies_lost\": %u,\n     \"rss_before_kb\": %ld, \"rss_after_kb\": %ld, \"rss_anon_before_kb\": %ld, "
                   "\"rss_anon_after_kb\": %ld, ",
                (unsigned long long)attempts(s), s->crashes, s->client_dss, s->dma_open, s->replies_lost,
                s->rss_before_kb, s->rss_after_kb, s->anon_before_kb, s->anon_after_kb);
        json_num(f, "status_p50_ms", s->p50_ms, false);
        json_num(f, "status_p99_ms", s->p99_ms, false);
        json_num(f, "status_max_ms", s->max_ms, false);
        fprintf(f, "\"status_samples\": %u,\n     \"attempts_by_kind\": {\"corpus_cases\": %llu, \"mutants\": %llu, "
                   "\"messages\": %llu, \"kills\": %llu, \"never_read_requests\": %llu, \"storm_dmas\": %llu},\n"
                   "     \"dma_checks\": %llu, \"mapped_dma_missed\": %u, \"other_failures\": %u, \"accepted\": %llu, "
                   "\"refused\": %llu, \"events\": %llu, \"faults_seen\": %llu, \"pool_pages_before\": %llu, "
                   "\"pool_pages_after\": %llu, \"campaign_error\": %s, \"wall_seconds\": %.1f,%s\n",
                s->samples, (unsigned long long)s->corpus_cases, (unsigned long long)s->mutants,
                (unsigned long long)s->messages, (unsigned long long)s->kills,
                (unsigned long long)s->neverread_requests, (unsigned long long)s->storm_dmas,
                (unsigned long long)s->dma_checks, s->mapped_missed, s->other_failures,
                (unsigned long long)s->accepted, (unsigned long long)s->refused, (unsigned long long)s->events,
                (unsigned long long)s->faults_seen, (unsigned long long)s->pool_used_before,
                (unsigned long long)s->pool_used_after, s->harness_error ? "true" : "false", s->seconds,
                "");
        fprintf(f, "     \"fuzz_replies\": {");
        bool first = true;
        for (unsigned op = 1; op < G_N_ELEMENTS(s->op_accepted); op++) {
            fprintf(f, "%s\"%s\": {\"accepted\": %llu, \"refused\": %llu}", first ? "" : ", ", smmu_op_name((uint16_t)op),
                    (unsigned long long)s->op_accepted[op], (unsigned long long)s->op_refused[op]);
            first = false;
        }
        fprintf(f, "},\n     \"refusals_by_errno\": {");
        first = true;
        for (unsigned e = 1; e < G_N_ELEMENTS(s->by_errno); e++)
            if (s->by_errno[e]) {
                fprintf(f, "%s\"%s\": %llu", first ? "" : ", ", errno_name(e), (unsigned long long)s->by_errno[e]);
                first = false;
            }
        fprintf(f, "}}%s\n", i + 1 < n ? "," : "");
    }
    fprintf(f, "  ]\n}\n");
    fclose(f);
}

int main(int argc, char **argv)
{
    g_auto(GStrv) board_names = NULL;
    gint64 seed = 1;
    double seconds = 60;
    g_autofree char *out = NULL, *parts = NULL, *corpus = NULL;
    gboolean verbose = FALSE, version = FALSE;
    GOptionEntry entries[] = {
        { "board", 0, 0, G_OPTION_ARG_STRING_ARRAY, &board_names, "a board (repeatable; default q35-vtd and virt-smmuv3)", "NAME" },
        { "seconds", 0, 0, G_OPTION_ARG_DOUBLE, &seconds, "budget of the timed parts, per board (default 60)", "N" },
        { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, "the random stream (default 1)", "N" },
        { "out", 0, 0, G_OPTION_ARG_FILENAME, &out, "where soak.json and repro files go (default .)", "DIR" },
        { "parts", 0, 0, G_OPTION_ARG_STRING, &parts, "only these: corpus,fuzz,kills,never-reads,storm", "LIST" },
        { "corpus", 0, 0, G_OPTION_ARG_FILENAME, &corpus, "the corpus directory (default fixtures/soak)", "DIR" },
        { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "say more", NULL },
        { "version", 0, 0, G_OPTION_ARG_NONE, &version, "the version", NULL },
        { NULL, 0, 0, 0, NULL, NULL, NULL },
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new("- the smmuman reliability campaign on live boards");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_autoptr(GError) err = NULL;
    if (!g_option_context_parse(ctx, &argc, &argv, &err) || argc > 1) {
        fprintf(stderr, "smmu-soak: %s\n", err ? err->message : "unexpected arguments");
        return 2;
    }
    if (version) {
        printf("smmu-soak 0.1.0\n");
        return 0;
    }
    if (seconds < 5 || seconds > 3600) {
        fprintf(stderr, "smmu-soak: --seconds: 5..3600\n");
        return 2;
    }
    static const char *const default_boards[] = { "q35-vtd", "virt-smmuv3", NULL };
    const char *const *names = board_names ? (const char *const *)board_names : default_boards;
    unsigned n = g_strv_length((char **)names);
    if (!out) out = g_strdup(".");
    if (g_mkdir_with_parents(out, 0755) != 0) {
        fprintf(stderr, "smmu-soak: cannot make %s\n", out);
        return 2;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    Soak *boards = g_new0(Soak, n);
    int rc = 0;
    for (unsigned i = 0; i < n && !soak_interrupted; i++) {
        Soak *S = &boards[i];
        S->board_name = names[i];
        S->kind = g_str_has_prefix(names[i], "q35") ? "vtd" : "smmuv3";
        S->seed = (uint64_t)seed;
        S->seconds = seconds;
        /* as smmu-scenario: $SMMU_BUILD_DIR runs the campaign against another
         * build of the service (a mutant one, to see the campaign catch it) */
        S->build_dir = getenv("SMMU_BUILD_DIR") ? getenv("SMMU_BUILD_DIR") : SMMU_BUILD_DIR;
        S->st.p50_ms = S->st.p99_ms = S->st.max_ms = NAN; /* "-" when the storm did not run */
        S->st.rss_before_kb = S->st.rss_after_kb = S->st.anon_before_kb = S->st.anon_after_kb = -1;
        S->corpus_dir = corpus ? corpus : SOAK_CORPUS_DIR;
        S->verbose = verbose;
        S->findings = g_string_new(NULL);
        S->seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        S->svc = 0;
        S->repro_path = g_strdup_printf("%s/repro-%s.txt", out, names[i]);
        S->repro = fopen(S->repro_path, "w");
        if (S->repro) fprintf(S->repro, "smmu-soak --board %s --seed %lld --seconds %.0f\n", names[i], (long long)seed,
                              seconds);
        ring_n = 0;
        soak_board(S, parts);
        findings_summary(S);
        if (S->repro) fclose(S->repro);
        if (!S->findings->len) unlink(S->repro_path); /* nothing to reproduce */
        if (S->st.harness_error) rc = 2;
        else if (failures(&S->st) && rc == 0) rc = 1;
    }
    unsigned done = 0;
    while (done < n && boards[done].board_name) done++;
    printf("\nsmmu-soak, seed %lld, %.0f s per board:\n\n", (long long)seed, seconds);
    print_table(boards, done, stdout);
    bool any = false;
    for (unsigned i = 0; i < done; i++) any |= boards[i].findings->len > 0;
    if (any) {
        printf("\nFindings:\n");
        for (unsigned i = 0; i < done; i++) fputs(boards[i].findings->str, stdout);
    }
    for (unsigned i = 0; i < done; i++) {
        const SoakStats *s = &boards[i].st;
        char max[32];
        fmt_ms(max, sizeof max, s->max_ms);
        printf("%s: %llu corpus cases, %llu mutants, %llu messages (%llu accepted, %llu refused), %llu kills, "
               "%llu unread requests, %llu storm DMAs, %llu DMA checks, %u mapped DMA missed, %u other failures, "
               "%u STATUS samples (max %s), %.0f s\n",
               boards[i].board_name, (unsigned long long)s->corpus_cases, (unsigned long long)s->mutants,
               (unsigned long long)s->messages, (unsigned long long)s->accepted, (unsigned long long)s->refused,
               (unsigned long long)s->kills, (unsigned long long)s->neverread_requests,
               (unsigned long long)s->storm_dmas, (unsigned long long)s->dma_checks, s->mapped_missed,
               s->other_failures, s->samples, max, s->seconds);
    }
    g_autofree char *json = g_build_filename(out, "soak.json", NULL);
    write_json(boards, done, json, (uint64_t)seed, seconds);
    printf("figures: %s\n", json);
    for (unsigned i = 0; i < done; i++)
        if (boards[i].findings->len) printf("reproduction details: %s\n", boards[i].repro_path);
    if (soak_interrupted) {
        fprintf(stderr, "smmu-soak: soak_interrupted\n");
        rc = 2;
    }
    for (unsigned i = 0; i < n; i++) {
        if (boards[i].findings) g_string_free(boards[i].findings, TRUE);
        if (boards[i].seen) g_hash_table_unref(boards[i].seen);
        g_free(boards[i].repro_path);
        g_free(boards[i].platform);
        g_free(boards[i].sock);
        g_free(boards[i].tsock);
        g_free(boards[i].status);
        g_free(boards[i].log);
        g_free(boards[i].conf);
        g_free(boards[i].scratch);
    }
    g_free(boards);
    return rc;
}
