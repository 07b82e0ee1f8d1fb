#include "runner.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent-client.h"
#include "line-reader.h"
#include "board-def.h"
#include "inventory.h"
#include "launcher.h"
#include "num.h"
#include "ram-span.h"

#define EDU_BUF 4096
#define MAX_ENGINES 8
#define REPLY_TIMEOUT_MS 10000
#define FAULT_TIMEOUT_MS 3000
#define STATE_TIMEOUT_MS 5000
#define SETTLE_MS 30 /* a fault takes a poll interval (2 ms) to be drained */

typedef struct {
    char *name;
    bool target;
    GPid pid;
    int in, out;
    GString *buf;
    GHashTable *objects; /* handle (string) -> GPtrArray of bdf strings */
} Proc;

typedef struct {
    const Scenario *scn;
    const RunOptions *opt;
    ReportScenario *rep;
    TbBoard *board;
    TbAgent *agent;
    TbInventory inv;
    uint8_t *ram;
    char *conf, *sock, *tsock, *status, *log;
    GPid svc;
    bool svc_exited;
    int svc_status;
    GPtrArray *clients;   /* Proc* */
    Proc *monitor;        /* the runner's own client: receives every record */
    uint8_t engine[MAX_ENGINES][EDU_BUF]; /* what each engine's buffer holds */
    /* Stands in for RAM when a blocked DMA aims beyond it (nothing there to
     * corrupt): the runner still writes and compares "the target". Per run:
     * with --jobs, a buffer shared between threads would let one run's
     * complement bytes show up as another's "RAM changed". */
    uint8_t nowhere[EDU_BUF];
    GHashTable *owner;    /* "pci:B:D.F" -> client name / "config" */
    GHashTable *home;     /* "pci:B:D.F" -> "config" for configured devices */
    char failure[1024];
    const ScnStep *step;  /* the step being played, for messages */
} Run;

/* ---- failures name FILE:LINE and what was expected ---------------------- */

static bool failf(Run *r, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static bool failf(Run *r, const char *fmt, ...)
{
    if (r->failure[0]) return false;
    char msg[800];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (r->step) snprintf(r->failure, sizeof r->failure, "%s:%u: %s", r->step->file, r->step->line, msg);
    else snprintf(r->failure, sizeof r->failure, "%s: %s", r->scn->file, msg);
    return false;
}

static void logf_(Run *r, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void logf_(Run *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *line = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_ptr_array_add(r->rep->log, line);
    if (r->opt->narrate) {
        printf("  %s\n", line);
        fflush(stdout);
    }
}

/* ---- processes ---------------------------------------------------------- */

static Proc *proc_client(Run *r, const char *name, bool target)
{
    char *argv[] = { (char *)r->opt->client, NULL };
    char **envp = g_environ_setenv(g_get_environ(), "SMMU_SOCKET", target ? r->tsock : r->sock, TRUE);
    Proc *p = g_new0(Proc, 1);
    p->name = g_strdup(name);
    p->target = target;
    p->buf = g_string_new(NULL);
    p->objects = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_ptr_array_unref);
    GError *e = NULL;
    if (!g_spawn_async_with_pipes(NULL, argv, envp, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &p->pid, &p->in, &p->out, NULL, &e)) {
        failf(r, "client %s: %s", name, e->message);
        g_error_free(e);
        p->pid = 0;
    }
    g_strfreev(envp);
    return p;
}

/* Kills the client process (if still there) and closes its pipes. */
static void proc_kill(Proc *p)
{
    if (!p->pid) return;
    kill(p->pid, SIGKILL);
    waitpid(p->pid, NULL, 0);
    g_spawn_close_pid(p->pid);
    close(p->in);
    close(p->out);
    p->pid = 0;
}

static void proc_free(Proc *p)
{
    proc_kill(p);
    g_free(p->name);
    g_string_free(p->buf, TRUE);
    g_hash_table_unref(p->objects);
    g_free(p);
}

/* One command, one reply line (caller frees); NULL if the client is gone
 * or was never there (no monitor when the service started in DSS). */
static char *ask(Run *r, Proc *p, const char *line)
{
    if (!p || !p->pid) return NULL;
    g_autofree char *msg = g_strconcat(line, "\n", NULL);
    if (write(p->in, msg, strlen(msg)) != (ssize_t)strlen(msg)) return NULL;
    bool timed_out;
    char *reply = tb_read_line(p->out, p->buf, REPLY_TIMEOUT_MS, &timed_out);
    if (timed_out) failf(r, "client %s: no answer to '%s'", p->name, line);
    return reply;
}

static Proc *client(Run *r, const char *name)
{
    for (guint i = 0; i < r->clients->len; i++) {
        Proc *p = g_ptr_array_index(r->clients, i);
        if (strcmp(p->name, name) == 0) return p;
    }
    return NULL;
}

static char *status_field(Run *r, const char *key)
{
    g_autofree char *text = NULL;
    if (!g_file_get_contents(r->status, &text, NULL, NULL)) return NULL;
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    size_t n = strlen(key);
    for (unsigned i = 0; lines[i]; i++)
        if (strncmp(lines[i], key, n) == 0 && lines[i][n] == '=') return g_strdup(lines[i] + n + 1);
    return NULL;
}

static bool svc_running(Run *r)
{
    int st;
    if (!r->svc_exited && r->svc && waitpid(r->svc, &st, WNOHANG) == r->svc) {
        r->svc_exited = true;
        r->svc_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
    return r->svc && !r->svc_exited;
}

static bool wait_state(Run *r, bool dss, const char *reason)
{
    for (int waited = 0; waited < STATE_TIMEOUT_MS; waited += 5) {
        bool up = svc_running(r);
        g_autofree char *state = status_field(r, "state");
        if (!dss && up && state && strcmp(state, "running") == 0) return true;
        if (dss && !up) {
            g_autofree char *why = status_field(r, "reason");
            if (r->svc_status != 3)
                return failf(r, "expected a DSS (exit status 3), the service exited with %d (%s)", r->svc_status, why ? why : "no reason");
            if (reason && (!why || !strstr(why, reason)))
                return failf(r, "expected a DSS for '%s', the reason was '%s'", reason, why ? why : "");
            logf_(r, "service in DSS: %s", why ? why : "");
            return true;
        }
        if (!dss && !up) {
            g_autofree char *why = status_field(r, "reason");
            return failf(r, "expected the service running; it exited (%d): %s", r->svc_status, why ? why : "");
        }
        g_usleep(5000);
    }
    return failf(r, "expected the service %s within %d ms", dss ? "in DSS" : "running", STATE_TIMEOUT_MS);
}

/* ---- addresses: "ram+OFF", "pool+OFF" or a number ------------------------ */

static bool addr_of(Run *r, const char *w, uint64_t *out)
{
    ScnBase b;
    uint64_t off;
    if (scenario_parse_addr(w, &b, &off)) return failf(r, "'%s': expected an address (N, ram+N or pool+N)", w);
    uint64_t base = b == SCN_RAM ? r->inv.ram_base : b == SCN_POOL ? r->inv.pool_base : 0;
    /* the board's base plus N must still be an address, not wrap round to a
     * small one (which could be RAM) */
    if (off > UINT64_MAX - base)
        return failf(r, "'%s': 0x%llx + 0x%llx runs past the end of the 64-bit address space", w,
                     (unsigned long long)base, (unsigned long long)off);
    *out = base + off;
    return true;
}

/* Client commands pass through with addresses resolved: "ram+N", "pool+N"
 * (also after "key="), and lengths with K/M/G, which smmu-client does not
 * know. Words from index 1 on; the result has them joined by spaces. */
static char *resolve(Run *r, char **w)
{
    GString *s = g_string_new(NULL);
    for (unsigned i = 1; w[i]; i++) {
        const char *word = w[i];
        const char *eq = strchr(word, '=');
        const char *val = eq ? eq + 1 : word;
        uint64_t v;
        if (i > 1) g_string_append_c(s, ' ');
        g_string_append_len(s, word, val - word);
        size_t n = strlen(val);
        if (g_str_has_prefix(val, "ram+") || g_str_has_prefix(val, "pool+")) {
            if (!addr_of(r, val, &v)) {
                g_string_free(s, TRUE);
                return NULL;
            }
            g_string_append_printf(s, "0x%llx", (unsigned long long)v);
        } else if (n > 1 && strchr("kKmMgG", val[n - 1]) && !tb_parse_size(val, &v)) {
            g_string_append_printf(s, "%llu", (unsigned long long)v);
        } else {
            g_string_append(s, val);
        }
    }
    return g_string_free(s, FALSE);
}

/* Where [a, a + len) is in the mapped RAM file: *p set when wholly inside.
 * The only place scenario numbers become pointers into RAM. */
static TbSpan ram_span(Run *r, uint64_t a, uint64_t len, uint8_t **p)
{
    uint64_t off = 0;
    TbSpan sp = r->ram ? tb_span(r->inv.ram_base, r->inv.ram_size, a, len, &off)
                       : TB_SPAN_OUTSIDE; /* no RAM mapped: nothing is RAM */
    if (p) *p = sp == TB_SPAN_INSIDE ? r->ram + off : NULL;
    return sp;
}

/* Fails the step unless [a, a + len) is RAM, saying what is wrong with it. */
static uint8_t *ram_or_fail(Run *r, const char *what, uint64_t a, uint64_t len)
{
    uint8_t *p;
    TbSpan sp = ram_span(r, a, len, &p);
    if (sp == TB_SPAN_INSIDE) return p;
    if (sp == TB_SPAN_WRAPS)
        failf(r, "%s: 0x%llx + %llu bytes runs past the end of the 64-bit address space", what,
              (unsigned long long)a, (unsigned long long)len);
    else
        failf(r, "%s: 0x%llx + %llu bytes %s RAM (0x%llx..0x%llx)", what, (unsigned long long)a,
              (unsigned long long)len, sp == TB_SPAN_STRADDLES ? "runs past the edge of" : "is not",
              (unsigned long long)r->inv.ram_base, (unsigned long long)(r->inv.ram_base + r->inv.ram_size - 1));
    return NULL;
}

/* ---- bookkeeping of what the clients did -------------------------------- */

/* A device a client let go goes back to what the configuration gives it. */
static void release(Run *r, const char *devid)
{
    const char *home = g_hash_table_lookup(r->home, devid);
    g_hash_table_insert(r->owner, g_strdup(devid), g_strdup(home ? home : "none"));
}

static void release_all_of(Run *r, Proc *p)
{
    g_autoptr(GPtrArray) mine = g_ptr_array_new_with_free_func(g_free);
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, r->owner);
    while (g_hash_table_iter_next(&it, &k, &v))
        if (strcmp(v, p->name) == 0) g_ptr_array_add(mine, g_strdup(k));
    for (guint i = 0; i < mine->len; i++) release(r, g_ptr_array_index(mine, i));
    g_hash_table_remove_all(p->objects);
}

static void note_command(Run *r, Proc *p, char **w, const char *reply)
{
    if (!g_str_has_prefix(reply, "ok")) return;
    const char *cmd = w[1];
    unsigned n = g_strv_length(w);
    if (strcmp(cmd, "obj") == 0) {
        /* "ok HANDLE"; a bare "ok" has no handle (and nothing after its NUL) */
        const char *h = reply + 2;
        h += strspn(h, " ");
        g_hash_table_insert(p->objects, g_strdup(h), g_ptr_array_new_with_free_func(g_free));
    } else if (strcmp(cmd, "add") == 0 && n == 7 && strcmp(w[3], "pci") == 0) {
        g_autofree char *bdf = g_strdup_printf("pci:%s:%s.%s", w[4], w[5], w[6]);
        GHashTableIter it;
        gpointer v;
        g_hash_table_iter_init(&it, p->objects);
        while (g_hash_table_iter_next(&it, NULL, &v)) g_ptr_array_remove_fast(v, bdf); /* moves */
        GPtrArray *devs = g_hash_table_lookup(p->objects, w[2]);
        if (devs) g_ptr_array_add(devs, g_strdup(bdf));
        if (strcmp(w[2], "-") == 0) release(r, bdf);
        else g_hash_table_insert(r->owner, g_strdup(bdf), g_strdup(p->name));
    } else if (strcmp(cmd, "destroy") == 0 && n == 3) {
        GPtrArray *devs = g_hash_table_lookup(p->objects, w[2]);
        for (guint i = 0; devs && i < devs->len; i++) release(r, g_ptr_array_index(devs, i));
        g_hash_table_remove(p->objects, w[2]);
    } else if (strcmp(cmd, "fini") == 0) { /* disconnected: the service cleans up */
        release_all_of(r, p);
    } else if ((strcmp(cmd, "map") == 0 || strcmp(cmd, "unmap") == 0) && n >= 4) {
        bool unmap = cmd[0] == 'u';
        unsigned first = unmap ? 3 : 4;
        uint64_t target = 0;
        bool has_target = false;
        for (unsigned i = first; i < n; i++)
            if (g_str_has_prefix(w[i], "target=") && addr_of(r, w[i] + 7, &target)) has_target = true;
        for (unsigned i = first; i + 1 < n; i += 2) {
            if (g_str_has_prefix(w[i], "target=")) break;
            ReportRegion rg = { .client = g_strdup(p->name), .object = (unsigned)atoi(w[2]), .removed = unmap ||
                                                                                                   strcmp(w[3], "none") == 0 };
            uint64_t len;
            if (!addr_of(r, w[i], &rg.addr) || tb_parse_size(w[i + 1], &len)) {
                g_free(rg.client);
                return;
            }
            rg.len = len;
            if (!unmap) g_strlcpy(rg.perms, strcmp(w[3], "none") ? w[3] : "", sizeof rg.perms);
            rg.has_target = has_target;
            rg.target = target;
            g_array_append_val(r->rep->regions, rg);
        }
    }
}

/* The owners the configuration gives: "device pci:B:D.F ..." lines. */
static void config_owners(Run *r)
{
    for (guint i = 0; i < r->scn->config->len; i++) {
        g_autofree char *line = g_strstrip(g_strdup(g_ptr_array_index(r->scn->config, i)));
        g_auto(GStrv) w = g_strsplit(line, " ", -1);
        if (w[0] && strcmp(w[0], "device") == 0 && w[1] && g_str_has_prefix(w[1], "pci:")) {
            unsigned b, d, f;
            if (sscanf(w[1], "pci:%u:%u.%u", &b, &d, &f) == 3) {
                g_hash_table_insert(r->owner, g_strdup_printf("pci:%u:%u.%u", b, d, f), g_strdup("config"));
                g_hash_table_insert(r->home, g_strdup_printf("pci:%u:%u.%u", b, d, f), g_strdup("config"));
            }
        }
    }
}

/* ---- steps -------------------------------------------------------------- */

static const TbInvDevice *engine(Run *r, const char *name, unsigned *index)
{
    const TbInvDevice *d = tb_inventory_device(&r->inv, name);
    if (!d || !d->is_edu || sscanf(name, "edu%u", index) != 1 || *index >= MAX_ENGINES) {
        failf(r, "'%s' is not a DMA engine of this board", name);
        return NULL;
    }
    return d;
}

static char *devid_of(const TbInvDevice *d)
{
    unsigned bus = d->rid >> 8, dev = (d->rid >> 3) & 31, fn = d->rid & 7;
    return g_strdup_printf("pci:%u:%u.%u", bus, dev, fn);
}

/* The owner the service logged for its latest fault of this device. */
static char *logged_owner(Run *r, const char *devid)
{
    g_autofree char *text = NULL;
    if (!g_file_get_contents(r->log, &text, NULL, NULL)) return NULL;
    g_autofree char *needle = g_strdup_printf(" fault: device %s ", devid);
    char *last = NULL;
    for (char *p = text; (p = strstr(p, needle)); p++) last = p;
    if (!last) return NULL;
    char *owner = strstr(last, " owner ");
    char *eol = owner ? strchr(owner, '\n') : NULL;
    if (!owner) return NULL;
    g_autofree char *o = g_strndup(owner + 7, eol ? (gsize)(eol - owner - 7) : strlen(owner + 7));
    int pid;
    if (sscanf(o, "client %*u (pid %d)", &pid) == 1) {
        for (guint i = 0; i < r->clients->len; i++) {
            Proc *p = g_ptr_array_index(r->clients, i);
            if (p->pid == pid) return g_strdup(p->name);
        }
        if (r->monitor && r->monitor->pid == pid) return g_strdup("the runner's monitor client");
        return g_strdup_printf("pid %d", pid);
    }
    if (g_str_has_prefix(o, "configuration")) return g_strdup("config");
    return g_strdup(o);
}

/* A record as a person reads it: "pci:0:4.0 write at 0x100000, reason 0x1
 * (root-entry-not-present)"; the name is there when smmu-client gave it. */
static char *record_text(const ReportFault *f)
{
    g_autofree char *why = report_reason_text(f);
    return g_strdup_printf("%.*s %s at 0x%llx, %s", (int)strnlen(f->device, sizeof f->device), f->device,
                           f->write ? "write" : "read", (unsigned long long)f->addr, why);
}

/* A record nobody expected, for a failure message: readable if it parses,
 * as the client said it otherwise. */
static char *unexpected_record(const char *rec)
{
    ReportFault f = { 0 };
    if (!rec) return g_strdup("nothing (the runner's monitor client is gone)");
    if (report_fault_parse(rec, &f)) return g_strdup_printf("'%s'", rec);
    return record_text(&f);
}

/* A record at the monitor: device, page and access as expected. */
static bool check_record(Run *r, const char *devid, uint64_t addr, bool write, ReportFault *f)
{
    if (!r->monitor) return failf(r, "no record can come: the service started in DSS, so the runner has no monitor client");
    g_autofree char *rec = ask(r, r->monitor, "wait-fault 3000");
    if (!rec) return failf(r, "the runner's monitor client is gone");
    if (strcmp(rec, "none") == 0)
        return failf(r, "expected a fault record for %s %s at 0x%llx; none came", devid, write ? "write" : "read",
                     (unsigned long long)addr);
    if (report_fault_parse(rec, f)) return failf(r, "unreadable record '%s'", rec);
    if (strcmp(f->device, devid) || (f->addr & ~0xfffull) != (addr & ~0xfffull) || f->write != write) {
        g_autofree char *got = record_text(f);
        return failf(r, "expected a record for %s %s at page 0x%llx, got %s", devid, write ? "write" : "read",
                     (unsigned long long)(addr & ~0xfffull), got);
    }
    return true;
}

/* x86's interrupt window: device writes there are interrupts, never DMA. */
#define MSI_WINDOW_BASE 0xfee00000ull
#define MSI_WINDOW_SIZE 0x100000ull

/* "=> interrupt": a device write into the interrupt window is delivered as
 * an interrupt: no DMA translation, no DMA fault, nothing in RAM. What
 * stops a forged interrupt is interrupt remapping, which is not this
 * service's (docs/scenarios.md). */
static bool interrupt_dma(Run *r, const char *dev, uint64_t addr, uint64_t len)
{
    unsigned e;
    if (!engine(r, dev, &e)) return false;
    if (tb_span(MSI_WINDOW_BASE, MSI_WINDOW_SIZE, addr, len, NULL) != TB_SPAN_INSIDE)
        return failf(r, "'=> interrupt' needs 0x%llx + %llu bytes inside 0xfee00000..0xfeefffff",
                     (unsigned long long)addr, (unsigned long long)len);
    TbReply rep;
    GError *err = NULL;
    if (tb_agent_do(r->agent, &rep, &err, "dma %s write 0x%llx %llu", dev, (unsigned long long)addr,
                    (unsigned long long)len)) {
        failf(r, "DMA not injected: %s", err->message);
        g_error_free(err);
        return false;
    }
    tb_reply_clear(&rep);
    g_autofree char *rec = ask(r, r->monitor, "wait-fault 50");
    if (!rec || strcmp(rec, "none")) return failf(r, "a write into the interrupt window raised a DMA fault: '%s'", rec ? rec : "?");
    logf_(r, "%s write 0x%llx %llu: an interrupt, not DMA: no fault", dev, (unsigned long long)addr, (unsigned long long)len);
    return true;
}

/* After an "=> ok" DMA that did not go through: the record the IOMMU
 * made of it, as "; the IOMMU recorded ..." for the failure message (and
 * kept with the run's faults), or "" if none came. */
static char *blocked_because(Run *r)
{
    if (!r->monitor || !svc_running(r)) return g_strdup("");
    g_autofree char *rec = ask(r, r->monitor, "wait-fault 200");
    ReportFault f = { 0 };
    if (!rec || report_fault_parse(rec, &f)) return g_strdup("");
    g_array_append_val(r->rep->faults, f);
    g_autofree char *text = record_text(&f);
    return g_strdup_printf("; the IOMMU recorded %s", text);
}

static bool one_dma(Run *r, const char *dev, bool write, uint64_t addr, uint64_t len, uint64_t offset, bool expect_ok)
{
    unsigned e;
    const TbInvDevice *d = engine(r, dev, &e);
    if (!d) return false;
    /* Both index the engine's buffer model below (the parser checked them
     * too; a second check costs nothing next to a DMA). */
    if (len == 0 || len > EDU_BUF || offset > EDU_BUF - len)
        return failf(r, "offset=%llu with LEN %llu runs past the engine's %d-byte buffer", (unsigned long long)offset,
                     (unsigned long long)len, EDU_BUF);
    uint8_t *mem;
    TbSpan sp = ram_span(r, addr, len, &mem);
    if (sp == TB_SPAN_WRAPS)
        return failf(r, "0x%llx + %llu bytes runs past the end of the 64-bit address space", (unsigned long long)addr,
                     (unsigned long long)len);
    /* Part RAM, part not: the RAM part could change unseen. */
    if (sp == TB_SPAN_STRADDLES)
        return failf(r, "0x%llx + %llu bytes runs past the edge of RAM (0x%llx..0x%llx): split it in two",
                     (unsigned long long)addr, (unsigned long long)len, (unsigned long long)r->inv.ram_base,
                     (unsigned long long)(r->inv.ram_base + r->inv.ram_size - 1));
    /* Beyond RAM (beyond the address width, say) there is nothing to
     * corrupt or leak: a blocked DMA is then proven by its record alone. */
    bool in_ram = sp == TB_SPAN_INSIDE;
    if (!in_ram && expect_ok) return failf(r, "0x%llx+%llu is not RAM: '=> ok' cannot be checked", (unsigned long long)addr, (unsigned long long)len);
    if (!in_ram) mem = r->nowhere;
    /* A write can only be seen if the target differs from what the engine
     * holds: make it the complement. */
    if (write)
        for (uint64_t i = 0; i < len; i++) mem[i] = (uint8_t)~r->engine[e][offset + i];
    g_autofree uint8_t *before = g_memdup2(mem, len);
    TbReply rep;
    GError *err = NULL;
    if (tb_agent_do(r->agent, &rep, &err, "dma %s %s 0x%llx %llu offset=%llu", dev, write ? "write" : "read",
                    (unsigned long long)addr, (unsigned long long)len, (unsigned long long)offset)) {
        failf(r, "DMA not injected: %s", err->message);
        g_error_free(err);
        return false;
    }
    tb_reply_clear(&rep);
    bool crossed = write && memcmp(mem, r->engine[e] + offset, len) == 0;
    bool untouched = !write || memcmp(mem, before, len) == 0;
    ReportDma rd = { .line = r->step->line, .write = write, .addr = addr, .len = len, .expected_ok = expect_ok };
    g_strlcpy(rd.device, dev, sizeof rd.device);
    g_autofree char *devid = devid_of(d);
    bool ok = true;
    if (expect_ok) {
        if (write && !crossed) {
            /* The IOMMU's record, if it made one, says why: fetch it for the message. */
            g_autofree char *why = blocked_because(r);
            ok = failf(r, "%s write to 0x%llx should have gone through; RAM shows %s%s", dev, (unsigned long long)addr,
                       untouched ? "nothing written" : "a partial write", why);
        }
        if (!write) memcpy(r->engine[e] + offset, mem, len);
        rd.went_through = ok;
    } else {
        if (!untouched)
            ok = failf(r, "%s write to 0x%llx should have been blocked; RAM changed", dev, (unsigned long long)addr);
        if (!write) memset(r->engine[e] + offset, 0, len); /* edu keeps nothing of a blocked read */
        rd.went_through = !untouched;
        logf_(r, "%s %s 0x%llx %llu: %s", dev, write ? "write" : "read", (unsigned long long)addr,
              (unsigned long long)len, rd.went_through ? "WENT THROUGH" : "blocked, RAM untouched");
        if (ok && svc_running(r)) {
            ReportFault f = { 0 };
            ok = check_record(r, devid, addr, write, &f);
            if (ok) {
                g_autofree char *want = g_strdup(g_hash_table_lookup(r->owner, devid));
                g_autofree char *got = logged_owner(r, devid);
                g_strlcpy(f.owner, got ? got : "?", sizeof f.owner);
                if (!want) want = g_strdup("none");
                if (!got || strcmp(want, got))
                    ok = failf(r, "the fault of %s was attributed to '%s', expected '%s'", devid, got ? got : "nobody", want);
                g_array_append_val(r->rep->faults, f);
                g_autofree char *why = report_reason_text(&f);
                logf_(r, "recorded: %s %s at page 0x%llx, %s, attributed to %s", f.device, f.write ? "write" : "read",
                      (unsigned long long)f.addr, why, f.owner);
            }
        }
    }
    g_array_append_val(r->rep->dmas, rd);
    if (expect_ok)
        logf_(r, "%s %s 0x%llx %llu: %s", dev, write ? "write" : "read", (unsigned long long)addr,
              (unsigned long long)len, rd.went_through ? "went through" : "BLOCKED");
    return ok;
}

static bool step_dma(Run *r, char **w, char **expect, bool storm)
{
    uint64_t addr, len, count = 1, stride = 4096, offset = 0;
    if (!addr_of(r, w[3], &addr)) return false;
    if (tb_parse_size(w[4], &len) || len == 0 || len > EDU_BUF) return failf(r, "LEN: expected 1..4096");
    unsigned opt = 5;
    if (storm && (tb_parse_u64(w[5], &count) || count == 0 || count > SCN_STORM_MAX)) return failf(r, "COUNT: expected 1..100000");
    if (storm) opt = 6;
    for (unsigned i = opt; w[i]; i++) {
        if (g_str_has_prefix(w[i], "stride=") && !tb_parse_size(w[i] + 7, &stride)) continue;
        if (g_str_has_prefix(w[i], "offset=") && !tb_parse_size(w[i] + 7, &offset)) continue;
        return failf(r, "unknown option '%s'", w[i]);
    }
    /* The parser saw N; only here is the board's base added: the last
     * transfer must still end below 2^64. */
    if ((count > 1 && stride > (UINT64_MAX - addr) / (count - 1)) || tb_span_wraps(addr + (count - 1) * stride, len)) {
        if (count == 1)
            return failf(r, "0x%llx + %llu bytes runs past the end of the 64-bit address space", (unsigned long long)addr,
                         (unsigned long long)len);
        return failf(r, "0x%llx + (COUNT-1) * %llu + %llu bytes runs past the end of the 64-bit address space",
                     (unsigned long long)addr, (unsigned long long)stride, (unsigned long long)len);
    }
    if (strcmp(expect[0], "interrupt") == 0) {
        if (strcmp(w[2], "write")) return failf(r, "'=> interrupt' is for writes");
        for (uint64_t i = 0; i < count; i++)
            if (!interrupt_dma(r, w[1], addr + i * stride, len)) return false;
        return true;
    }
    bool ok = strcmp(expect[0], "ok") == 0;
    for (uint64_t i = 0; i < count; i++)
        if (!one_dma(r, w[1], strcmp(w[2], "write") == 0, addr + i * stride, len, offset, ok)) return false;
    return true;
}

static bool step_ram(Run *r, char **w)
{
    uint64_t addr, len, byte;
    if (!addr_of(r, w[2], &addr)) return false;
    if (tb_parse_size(w[3], &len) || tb_parse_u64(w[4], &byte) || byte > 255) return failf(r, "expected LEN and a BYTE");
    g_autofree char *what = g_strdup_printf("ram %s", w[1]);
    uint8_t *m = ram_or_fail(r, what, addr, len);
    if (!m) return false;
    if (strcmp(w[1], "fill") == 0) {
        memset(m, (int)byte, len);
        return true;
    }
    for (uint64_t i = 0; i < len; i++)
        if (m[i] != byte)
            return failf(r, "RAM 0x%llx holds 0x%02x, expected 0x%02x", (unsigned long long)(addr + i), m[i], (unsigned)byte);
    return true;
}

static bool step_client(Run *r, char **w, char **expect)
{
    Proc *p = client(r, w[0]);
    g_autofree char *line = resolve(r, w);
    if (!line) return false;
    g_autofree char *reply = ask(r, p, line);
    if (!reply) return failf(r, "client %s: gone (asked '%s')", w[0], line);
    g_autofree char *want = expect && expect[0] ? g_strjoinv(" ", expect) : g_strdup("ok");
    logf_(r, "%s: %s -> %s", w[0], line, reply);
    if (!g_str_has_prefix(reply, want)) return failf(r, "%s: '%s' should answer '%s', got '%s'", w[0], line, want, reply);
    note_command(r, p, w, reply);
    return true;
}

static bool step_kill(Run *r, char **w)
{
    if (strcmp(w[1], "service") == 0) {
        int sig = !w[2] || strcmp(w[2], "KILL") == 0 ? SIGKILL
                  : strcmp(w[2], "TERM") == 0 ? SIGTERM
                  : strcmp(w[2], "INT") == 0 ? SIGINT
                  : strcmp(w[2], "HUP") == 0 ? SIGHUP : 0;
        if (!sig) return failf(r, "kill service: expected TERM, INT, HUP or KILL");
        if (svc_running(r)) kill(r->svc, sig);
        for (int i = 0; i < STATE_TIMEOUT_MS / 5 && svc_running(r); i++) g_usleep(5000);
        logf_(r, "service sent signal %d", sig);
        return svc_running(r) ? failf(r, "the service did not exit") : true;
    }
    Proc *p = client(r, w[1]);
    if (!p) return failf(r, "kill: no client '%s' was started", w[1]);
    proc_kill(p);
    release_all_of(r, p);
    g_usleep(SETTLE_MS * 1000); /* the service notices the hang-up */
    logf_(r, "client %s killed", p->name);
    return true;
}

static bool play_step(Run *r, const ScnStep *st)
{
    char **w = st->words;
    const char *v = w[0];
    r->step = st;
    if (strcmp(v, "dma") == 0 || strcmp(v, "storm") == 0) return step_dma(r, w, st->expect, v[0] == 's');
    if (strcmp(v, "ram") == 0) return step_ram(r, w);
    if (strcmp(v, "kill") == 0) return step_kill(r, w);
    if (strcmp(v, "wait") == 0) {
        uint64_t ms; /* the parser bounds it (SCN_WAIT_MAX_MS) */
        if (tb_parse_u64(w[1], &ms) || ms > SCN_WAIT_MAX_MS) return failf(r, "wait: expected 0..%u ms", SCN_WAIT_MAX_MS);
        g_usleep((gulong)ms * 1000);
        return true;
    }
    if (strcmp(v, "expect-state") == 0) {
        /* addresses in the expected reason may be written ram+N / pool+N */
        g_autofree char *why = w[2] ? resolve(r, w + 1) : NULL;
        return wait_state(r, strcmp(w[1], "dss") == 0, why);
    }
    if (strcmp(v, "corrupt-table") == 0) {
        /* a reserved word of the first pool page (a root table on VT-d) */
        if (r->inv.pool_size < 4096) return failf(r, "corrupt-table: this board has no table pool");
        uint8_t *p = ram_or_fail(r, "corrupt-table: the pool's first page", r->inv.pool_base, 4096);
        if (!p) return false;
        p[255 * 16 + 12] ^= 0x10;
        logf_(r, "flipped a bit of table memory at 0x%llx", (unsigned long long)r->inv.pool_base + 255 * 16 + 12);
        return true;
    }
    if (strcmp(v, "expect-fault") == 0) {
        unsigned e;
        uint64_t addr;
        const TbInvDevice *d = engine(r, w[1], &e);
        if (!d || !addr_of(r, w[2], &addr)) return false;
        g_autofree char *devid = devid_of(d);
        ReportFault f = { 0 };
        if (!check_record(r, devid, addr, strcmp(w[3], "write") == 0, &f)) return false;
        g_array_append_val(r->rep->faults, f);
        g_autofree char *rec = record_text(&f);
        logf_(r, "recorded: %s", rec);
        return true;
    }
    if (strcmp(v, "expect-no-fault") == 0) {
        uint64_t ms = 50; /* the parser bounds it well inside REPLY_TIMEOUT_MS */
        if (w[1] && (tb_parse_u64(w[1], &ms) || ms > SCN_NO_FAULT_MAX_MS))
            return failf(r, "expect-no-fault: expected 0..%u ms", SCN_NO_FAULT_MAX_MS);
        g_autofree char *q = g_strdup_printf("wait-fault %llu", (unsigned long long)ms);
        if (!r->monitor) return true; /* the service started in DSS: nothing can record */
        g_autofree char *rec = ask(r, r->monitor, q);
        if (!rec || strcmp(rec, "none")) {
            g_autofree char *got = unexpected_record(rec);
            return failf(r, "expected no fault record, got %s", got);
        }
        return true;
    }
    return step_client(r, w, st->expect);
}

/* ---- set-up and tear-down ----------------------------------------------- */

static bool start_service(Run *r, const char *board_kind)
{
    const char *run = tb_board_run_dir(r->board);
    r->conf = g_build_filename(run, "smmu.conf", NULL);
    r->sock = g_build_filename(run, "smmu.sock", NULL);
    r->tsock = g_build_filename(run, "smmu-target.sock", NULL);
    r->status = g_build_filename(run, "smmu.status", NULL);
    r->log = g_build_filename(run, "smmu.log", NULL);
    GString *c = g_string_new(NULL);
    g_string_append_printf(c, "# scenario %s\nforeground\nplatform board:%s\nattach-socket %s\ntarget-socket %s\n"
                              "status-file %s\nlog-file %s\nfault-poll-ms 2\n",
                           r->scn->name, run, r->sock, r->tsock, r->status, r->log);
    bool has_smmu = false;
    for (guint i = 0; i < r->scn->config->len; i++) has_smmu |= g_str_has_prefix(g_ptr_array_index(r->scn->config, i), "smmu ");
    if (!has_smmu && board_kind) g_string_append_printf(c, "smmu %s\n", board_kind);
    for (guint i = 0; i < r->scn->config->len; i++) g_string_append_printf(c, "%s\n", (char *)g_ptr_array_index(r->scn->config, i));
    g_file_set_contents(r->conf, c->str, -1, NULL);
    g_string_free(c, TRUE);
    g_autofree char *exe = g_build_filename(r->opt->build_dir, r->scn->service, NULL);
    g_autofree char *at = g_strconcat("@", r->conf, NULL);
    char *argv[] = { exe, at, NULL };
    g_autofree char *platform = g_strdup_printf("board:%s", run);
    char **envp = g_environ_setenv(g_get_environ(), "SMMU_PLATFORM", platform, TRUE);
    envp = g_environ_setenv(envp, "SMMU_STATUS_FILE", r->status, TRUE);
    /* the libraries and platform modules of the build whose service this is,
     * not those of an installed smmuman */
    envp = g_environ_setenv(envp, "SMMU_HW_DIR", r->opt->build_dir, TRUE);
    GError *e = NULL;
    bool ok = g_spawn_async(NULL, argv, envp, G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &r->svc, &e);
    g_strfreev(envp);
    if (!ok) {
        failf(r, "cannot start %s: %s", r->scn->service, e->message);
        g_error_free(e);
    }
    return ok;
}

static void teardown(Run *r)
{
    if (r->clients) g_ptr_array_unref(r->clients);
    if (r->monitor) proc_free(r->monitor);
    if (r->svc) {
        if (svc_running(r)) kill(r->svc, SIGKILL), waitpid(r->svc, NULL, 0);
        g_spawn_close_pid(r->svc);
    }
    /* --keep leaves the service's configuration, status and log for debugging */
    const char *files[] = { r->sock, r->tsock, r->opt->keep ? NULL : r->conf, r->status, r->log, NULL };
    for (unsigned i = 0; i < 2 || (!r->opt->keep && files[i]); i++) if (files[i]) unlink(files[i]);
    if (r->status) {
        g_autofree char *tmp = g_strconcat(r->status, ".tmp", NULL);
        unlink(tmp);
    }
    if (r->ram) munmap(r->ram, r->inv.ram_size);
    tb_agent_close(r->agent);
    if (r->board) {
        /* QEMU always stops; with keep the launcher leaves the run directory's logs */
        if (r->opt->keep) g_ptr_array_add(r->rep->log, g_strdup_printf("kept: %s", tb_board_run_dir(r->board)));
        tb_board_stop(r->board, NULL);
    }
    g_free(r->conf);
    g_free(r->sock);
    g_free(r->tsock);
    g_free(r->status);
    g_free(r->log);
    g_hash_table_unref(r->owner);
    g_hash_table_unref(r->home);
}

static bool library_built(const RunOptions *opt, const char *kind)
{
    g_autofree char *lib = g_strdup_printf("%s/smmu-%s.so", opt->build_dir, kind);
    return g_file_test(lib, G_FILE_TEST_EXISTS);
}

char **runner_boards_for(const Scenario *s, const RunOptions *opt)
{
    if (strcmp(s->boards[0], "any") != 0) return g_strdupv(s->boards);
    GPtrArray *out = g_ptr_array_new();
    g_auto(GStrv) all = tb_board_list();
    for (unsigned i = 0; all[i]; i++) {
        g_autofree char *path = tb_board_resolve(all[i], NULL);
        TbBoardDef def;
        if (!path || tb_board_def_load(path, &def, NULL)) continue;
        if (def.n_units > 0 && library_built(opt, def.units[0].kind)) g_ptr_array_add(out, g_strdup(all[i]));
        tb_board_def_clear(&def);
    }
    g_ptr_array_add(out, NULL);
    return (char **)g_ptr_array_free(out, FALSE);
}

ReportScenario *runner_play(const Scenario *s, const char *board, const RunOptions *opt)
{
    Run r = { .scn = s, .opt = opt };
    r.rep = report_scenario_new(s->name, s->file, board);
    r.rep->purpose = g_strdup(s->purpose ? s->purpose : "");
    r.owner = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    r.home = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    gint64 t0 = g_get_monotonic_time();
    GError *e = NULL;
    TbLaunchOptions lo = { .keep = opt->keep };
    r.board = tb_board_start(board, &lo, &e);
    if (!r.board) {
        failf(&r, "board %s: %s", board, e->message);
        g_error_free(e);
    } else if (tb_agent_connect(tb_board_agent_path(r.board), 0, &r.agent, &e) ||
               tb_inventory_fetch(r.agent, &r.inv, &e)) {
        failf(&r, "board %s: %s", board, e->message);
        g_error_free(e);
    } else {
        int fd = open(r.inv.ram_file, O_RDWR | O_CLOEXEC);
        r.ram = fd >= 0 ? mmap(NULL, r.inv.ram_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) : MAP_FAILED;
        if (fd >= 0) close(fd);
        if (r.ram == MAP_FAILED) r.ram = NULL, failf(&r, "cannot map the board's RAM");
        r.rep->ram_base = r.inv.ram_base;
        r.rep->ram_size = r.inv.ram_size;
        r.rep->pool_base = r.inv.pool_base;
        r.rep->pool_size = r.inv.pool_size;
    }
    r.clients = g_ptr_array_new_with_free_func((GDestroyNotify)proc_free);
    config_owners(&r);
    if (opt->narrate) printf("\n== %s on %s\n   %s\n", s->name, board, s->purpose ? s->purpose : "");
    const char *kind = r.inv.n_units ? r.inv.units[0].kind : NULL;
    if (!r.failure[0] && start_service(&r, kind) && wait_state(&r, s->start_dss, s->start_reason)) {
        if (!s->start_dss) { /* the runner's monitor first: it sees every record */
            r.monitor = proc_client(&r, "runner-monitor", false);
            g_autofree char *ok = ask(&r, r.monitor, "init");
            if (!ok || strcmp(ok, "ok")) failf(&r, "the runner's monitor could not attach: %s", ok ? ok : "gone");
        }
        for (guint i = 0; i < s->clients->len && !r.failure[0]; i++) {
            g_auto(GStrv) cw = g_strsplit(g_ptr_array_index(s->clients, i), " ", 2);
            Proc *p = proc_client(&r, cw[0], cw[1] != NULL);
            g_ptr_array_add(r.clients, p);
            if (!s->start_dss) {
                g_autofree char *ok = ask(&r, p, "init");
                if (!ok || strcmp(ok, "ok")) failf(&r, "client %s could not attach: %s", cw[0], ok ? ok : "gone");
            }
        }
        for (guint i = 0; i < s->steps->len && !r.failure[0]; i++) {
            const ScnStep *st = g_ptr_array_index(s->steps, i);
            g_ptr_array_add(r.rep->log, g_strdup_printf("%s:%u: %s", st->file, st->line, st->text));
            if (opt->narrate) printf("> %s\n", st->text);
            play_step(&r, st);
        }
        r.step = NULL;
        if (!r.failure[0] && r.monitor && svc_running(&r)) { /* nothing left unexplained */
            g_autofree char *rec = ask(&r, r.monitor, "wait-fault 30");
            if (rec && strcmp(rec, "none")) {
                g_autofree char *got = unexpected_record(rec);
                failf(&r, "a fault no step expected: %s", got);
            }
        }
    }
    r.rep->status = r.failure[0] ? RS_FAIL : RS_PASS;
    r.rep->message = r.failure[0] ? g_strdup(r.failure) : NULL;
    teardown(&r);
    r.rep->seconds = (double)(g_get_monotonic_time() - t0) / 1e6;
    return r.rep;
}
