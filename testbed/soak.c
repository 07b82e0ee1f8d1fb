/* What the campaign's parts share (soak.h): random streams, findings,
 * the board (agent requests, RAM, DMA outcomes) and child processes. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "soak.h"
#include "status-text.h"

/* set by the signal handler: every wait gives up */
volatile sig_atomic_t soak_interrupted;

/* ---- random streams --------------------------------------------------------------- */

uint64_t rng_next(SoakRng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t rng_below(SoakRng *r, uint64_t n) { return n ? rng_next(r) % n : 0; }

bool rng_pct(SoakRng *r, unsigned percent) { return rng_below(r, 100) < percent; }

SoakRng rng_for(uint64_t seed, const char *part, uint64_t index)
{
    SoakRng r = { seed ^ (index * 0xd1342543de82ef95ull) };
    for (const char *p = part; *p; p++) r.s = (r.s ^ (uint8_t)*p) * 0x100000001b3ull; /* FNV-1a over the name */
    rng_next(&r);
    return r;
}

uint8_t soak_pattern(SoakRng *r)
{
    for (;;) {
        uint8_t b = (uint8_t)rng_next(r);
        if (b != 0 && b != SOAK_FILL && b != 0xc3) return b;
    }
}

/* ---- findings and progress ---------------------------------------------------------------- */

void soak_finding(Soak *S, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *text = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_string_append_printf(S->findings, "- %s: %s\n", S->board_name, text);
    fprintf(stderr, "soak: %s: FINDING: %s\n", S->board_name, text);
    if (S->repro) {
        fprintf(S->repro, "== finding: %s\n", text);
        fflush(S->repro);
    }
}

bool soak_finding_key(Soak *S, const char *key, const char *fmt, ...)
{
    gpointer n;
    if (g_hash_table_lookup_extended(S->seen, key, NULL, &n)) {
        g_hash_table_insert(S->seen, g_strdup(key), GUINT_TO_POINTER(GPOINTER_TO_UINT(n) + 1));
        return false;
    }
    g_hash_table_insert(S->seen, g_strdup(key), GUINT_TO_POINTER(0));
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *text = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    soak_finding(S, "%s", text);
    return true;
}

/* The counts behind soak_finding_key(), once the board is done. */
void findings_summary(Soak *S)
{
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, S->seen);
    while (g_hash_table_iter_next(&it, &k, &v))
        if (GPOINTER_TO_UINT(v))
            g_string_append_printf(S->findings, "- %s: ... and %u more like the first of '%s'\n", S->board_name,
                                   GPOINTER_TO_UINT(v), (const char *)k);
}

void soak_note(Soak *S, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *text = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    fprintf(stderr, "soak: %s: %s\n", S->board_name, text);
}

void harness_error_text(Soak *S, char *text)
{
    S->st.harness_error = true;
    g_string_append_printf(S->findings, "- %s: campaign error (not a finding about the service): %s\n",
                           S->board_name, text);
    fprintf(stderr, "soak: %s: CAMPAIGN ERROR: %s\n", S->board_name, text);
    g_free(text);
}

void harness_error(Soak *S, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    harness_error_text(S, g_strdup_vprintf(fmt, ap));
    va_end(ap);
}

/* ---- the board ----------------------------------------------------------------------------- */

char *soak_agent(Soak *S, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *line = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_autoptr(GError) err = NULL;
    TbReply r;
    if (tb_agent_do(S->agent, &r, &err, "%s", line) != 0) {
        harness_error(S, "agent '%s': %s", line, err ? err->message : "?");
        return NULL;
    }
    char *text = g_strdup(r.text ? r.text : "");
    tb_reply_clear(&r);
    return text;
}

uint8_t *soak_ram(Soak *S, uint64_t addr, size_t len)
{
    if (addr < S->inv.ram_base || addr - S->inv.ram_base + len > S->ram_size) {
        harness_error(S, "0x%llx+%zu is outside RAM", (unsigned long long)addr, len);
        return NULL;
    }
    return S->ram + (addr - S->inv.ram_base);
}

DmaOutcome soak_dma_write(Soak *S, const char *dev, uint64_t addr, size_t len, int pattern, uint8_t *landed)
{
    uint8_t *p = soak_ram(S, addr, len);
    if (!p) return DMA_ERROR;
    memset(p, SOAK_FILL, len);
    g_autofree char *r = pattern >= 0
                             ? soak_agent(S, "dma %s write 0x%llx %zu pattern=%02x", dev, (unsigned long long)addr, len,
                                          (unsigned)pattern)
                             : soak_agent(S, "dma %s write 0x%llx %zu", dev, (unsigned long long)addr, len);
    if (!r) return DMA_ERROR;
    S->st.dma_checks++;
    size_t fill = 0;
    for (size_t i = 0; i < len; i++) fill += p[i] == SOAK_FILL;
    if (fill == len) return DMA_BLOCKED;
    bool same = true;
    for (size_t i = 1; i < len && same; i++) same = p[i] == p[0];
    if (landed) *landed = p[0];
    return same ? DMA_LANDED : DMA_MIXED;
}

static uint64_t mmio_read(Soak *S, uint64_t addr, bool *ok)
{
    g_autofree char *r = soak_agent(S, "mmio read 0x%llx 4", (unsigned long long)addr);
    if (!r) {
        *ok = false;
        return 0;
    }
    return strtoull(r, NULL, 0);
}

/* VT-d: translation off (GCMD written with the status bits to keep, TE
 * not among them) passes DMA through. SMMUv3: GBPA not aborting and SMMUEN
 * off passes it through. Both are the units' reset state. */
bool soak_reopen_dma(Soak *S, uint64_t dst)
{
    if (S->inv.n_units == 0) {
        harness_error(S, "the board describes no IOMMU unit");
        return false;
    }
    const uint64_t base = S->inv.units[0].base;
    bool ok = true;
    gint64 deadline = g_get_monotonic_time() + 2 * G_USEC_PER_SEC;
    if (strcmp(S->kind, "vtd") == 0) {
        uint64_t gsts = mmio_read(S, base + 0x1c, &ok);
        g_free(ok ? soak_agent(S, "mmio write 0x%llx 4 0x%llx", (unsigned long long)(base + 0x18),
                               (unsigned long long)(gsts & 0x06000000)) /* QIES | IRES */
                  : NULL);
        while (ok && (mmio_read(S, base + 0x1c, &ok) & 0x80000000u) && g_get_monotonic_time() < deadline) {}
    } else {
        uint64_t gbpa = mmio_read(S, base + 0x44, &ok);
        g_free(ok ? soak_agent(S, "mmio write 0x%llx 4 0x%llx", (unsigned long long)(base + 0x44),
                               (unsigned long long)((gbpa & ~(1ull << 20)) | (1ull << 31)))
                  : NULL);
        while (ok && (mmio_read(S, base + 0x44, &ok) & (1u << 31)) && g_get_monotonic_time() < deadline) {}
        g_free(ok ? soak_agent(S, "mmio write 0x%llx 4 0", (unsigned long long)(base + 0x20)) : NULL);
        while (ok && (mmio_read(S, base + 0x24, &ok) & 1) && g_get_monotonic_time() < deadline) {}
    }
    if (!ok) return false;
    /* edu0 loads 0xc3 bytes while nothing translates; a write of them must now land */
    const uint64_t src = S->inv.ram_base + 0x300000;
    uint8_t *p = soak_ram(S, src, 256);
    if (!p) return false;
    memset(p, 0xc3, 256);
    g_autofree char *r = soak_agent(S, "dma edu0 read 0x%llx 256", (unsigned long long)src);
    uint8_t b = 0;
    if (!r || soak_dma_write(S, "edu0", dst, 256, -1, &b) != DMA_LANDED || b != 0xc3) {
        harness_error(S, "the IOMMU could not be put back to passing DMA through before a corpus case");
        return false;
    }
    return true;
}

/* ---- processes ------------------------------------------------------------------------------ */

/* Every process we start dies with us (SIGKILL when the campaign goes),
 * so an interrupted run leaves nothing behind. */
void soak_child_setup(gpointer data)
{
    (void)data;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
}

char *soak_file_field(const char *path, const char *key) { return status_file_value(path, key); }

bool soak_proc_spawn(Soak *S, SoakProc *p, char **argv, char **env)
{
    memset(p, 0, sizeof *p);
    p->err_fd = -1;
    g_autoptr(GError) e = NULL;
    if (!g_spawn_async_with_pipes(NULL, argv, env, G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL,
                                  soak_child_setup, NULL, &p->pid, NULL, NULL, &p->err_fd, &e)) {
        harness_error(S, "cannot start %s: %s", argv[0], e ? e->message : "?");
        return false;
    }
    fcntl(p->err_fd, F_SETFL, O_NONBLOCK);
    p->err = g_string_new(NULL);
    return true;
}

static void proc_drain(SoakProc *p)
{
    char buf[4096];
    ssize_t n;
    while (p->err_fd >= 0 && (n = read(p->err_fd, buf, sizeof buf)) > 0)
        if (p->err->len < (1u << 20)) g_string_append_len(p->err, buf, n);
}

static void proc_reaped(SoakProc *p, int st)
{
    p->exited = true;
    p->signalled = WIFSIGNALED(st);
    p->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    /* what it wrote last: the pipe is at its end once the process is */
    for (int i = 0; i < 100; i++) {
        struct pollfd pf = { .fd = p->err_fd, .events = POLLIN };
        if (p->err_fd < 0 || poll(&pf, 1, 10) <= 0) break;
        char buf[4096];
        ssize_t n = read(p->err_fd, buf, sizeof buf);
        if (n <= 0) break;
        if (p->err->len < (1u << 20)) g_string_append_len(p->err, buf, n);
    }
}

int soak_proc_wait(SoakProc *p, const char *status_path, int timeout_ms)
{
    gint64 deadline = g_get_monotonic_time() + timeout_ms * 1000ll;
    while (!p->exited) {
        proc_drain(p);
        int st;
        if (waitpid(p->pid, &st, WNOHANG) == p->pid) {
            proc_reaped(p, st);
            break;
        }
        if (status_path) {
            g_autofree char *state = soak_file_field(status_path, "state");
            if (state && strcmp(state, "running") == 0) return 0;
        }
        if (g_get_monotonic_time() > deadline || soak_interrupted) return -1;
        struct pollfd pf = { .fd = p->err_fd, .events = POLLIN };
        poll(&pf, 1, 5);
    }
    return 1;
}

void soak_proc_kill(SoakProc *p)
{
    if (p->pid && !p->exited) {
        kill(p->pid, SIGKILL);
        int st;
        if (waitpid(p->pid, &st, 0) == p->pid) proc_reaped(p, st);
    }
}

void soak_proc_free(SoakProc *p)
{
    soak_proc_kill(p);
    if (p->pid) g_spawn_close_pid(p->pid);
    if (p->err_fd >= 0) close(p->err_fd);
    if (p->err) g_string_free(p->err, TRUE);
    memset(p, 0, sizeof *p);
    p->err_fd = -1;
}

/* The environment a service gets: ours, without what would point it
 * elsewhere than we say, and with the libraries and platform modules of the
 * build under test. */
char **soak_clean_env(const Soak *S)
{
    char **env = g_get_environ();
    static const char *const drop[] = { "SMMU_PLATFORM", "SMMU_STATUS_FILE", "SMMU_SOCKET" };
    for (unsigned i = 0; i < G_N_ELEMENTS(drop); i++) env = g_environ_unsetenv(env, drop[i]);
    return g_environ_setenv(env, "SMMU_HW_DIR", S->build_dir, TRUE);
}

/* The reason after "entering Design Safe State: " on stderr, or NULL. */
char *soak_dss_reason(const char *err)
{
    const char *key = "entering Design Safe State: ";
    const char *p = err ? strstr(err, key) : NULL;
    if (!p) return NULL;
    p += strlen(key);
    const char *nl = strchr(p, '\n');
    return g_strndup(p, nl ? (gsize)(nl - p) : strlen(p));
}

