/* The scenario runner's ground floor: what its other files (runner-vm.c,
 * runner.c) stand on, calling nothing of theirs. Failures and log lines,
 * the processes it starts and the clients it asks, the host service's
 * state, VMs and guests by name, addresses ("ram+N", "pool+N",
 * "gpa(VM)+N") and the bookkeeping of who owns which device. */
#include "runner-base.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "line-reader.h"
#include "num.h"
#include "status-text.h"
#include "tb-error.h"

/* ---- failures name FILE:LINE and what was expected ---------------------- */

bool rn_failf(Run *r, const char *fmt, ...)
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

void rn_logf(Run *r, const char *fmt, ...)
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

/* Every process the runner starts dies with the runner's thread that
 * started it (a runner killed by a timeout leaves no service, VM or client
 * behind; teardown kills them first in any other case). With a log, its
 * stderr goes there: a VM's and a guest service's say why they ended. */
void rn_child_setup(gpointer log)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (log) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (fd >= 0) dup2(fd, 2);
    }
}

/* Exited yet? Reaps it (once) and says how: exit status, or 128 + signal. */
bool rn_reaped(GPid pid, bool *running, int *status)
{
    int st;
    if (*running && pid && waitpid(pid, &st, WNOHANG) == pid) {
        *running = false;
        *status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
    return !*running;
}

/* SIGKILL and reap: for what is still there at the end, in teardown's order. */
void rn_kill_reap(GPid *pid, bool running)
{
    if (!*pid) return;
    if (running) {
        kill(*pid, SIGKILL);
        waitpid(*pid, NULL, 0);
    }
    g_spawn_close_pid(*pid);
    *pid = 0;
}

Proc *rn_proc_client(Run *r, const char *name, bool target, RGuest *guest)
{
    char *argv[] = { (char *)r->opt->client, NULL };
    char **envp = g_environ_setenv(g_get_environ(), "SMMU_SOCKET", guest ? guest->sock : target ? r->tsock : r->sock, TRUE);
    Proc *p = g_new0(Proc, 1);
    p->name = g_strdup(name);
    p->target = target;
    p->guest = guest;
    p->buf = g_string_new(NULL);
    p->objects = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_ptr_array_unref);
    GError *e = NULL;
    if (!g_spawn_async_with_pipes(NULL, argv, envp, G_SPAWN_DO_NOT_REAP_CHILD, rn_child_setup, NULL, &p->pid, &p->in, &p->out,
                                  NULL, &e)) {
        rn_failf(r, "client %s: %s", name, e->message);
        g_error_free(e);
        p->pid = 0;
    }
    g_strfreev(envp);
    return p;
}

/* Kills the client process (if still there) and closes its pipes. */
void rn_proc_kill(Proc *p)
{
    if (!p->pid) return;
    kill(p->pid, SIGKILL);
    waitpid(p->pid, NULL, 0);
    g_spawn_close_pid(p->pid);
    close(p->in);
    close(p->out);
    p->pid = 0;
}

void rn_proc_free(Proc *p)
{
    rn_proc_kill(p);
    g_free(p->name);
    g_string_free(p->buf, TRUE);
    g_hash_table_unref(p->objects);
    g_free(p);
}

/* One command, one reply line (caller frees); NULL if the client is gone
 * or was never there (no monitor when the service started in DSS). */
char *rn_ask(Run *r, Proc *p, const char *line)
{
    if (!p || !p->pid) return NULL;
    g_autofree char *msg = g_strconcat(line, "\n", NULL);
    if (write(p->in, msg, strlen(msg)) != (ssize_t)strlen(msg)) return NULL;
    bool timed_out;
    char *reply = tb_read_line(p->out, p->buf, REPLY_TIMEOUT_MS, &timed_out);
    if (timed_out) rn_failf(r, "client %s: no answer to '%s'", p->name, line);
    return reply;
}

Proc *rn_client(Run *r, const char *name)
{
    for (guint i = 0; i < r->clients->len; i++) {
        Proc *p = g_ptr_array_index(r->clients, i);
        if (strcmp(p->name, name) == 0) return p;
    }
    return NULL;
}

static char *status_field(Run *r, const char *key) { return status_file_value(r->status, key); }

/* Waits (bounded) for a line of a service's log: that a client has gone,
 * say, which the service writes once its objects are destroyed. */
static bool wait_log(const char *log, const char *needle, int ms)
{
    for (int waited = 0;; waited += 5) {
        g_autofree char *text = NULL;
        if (g_file_get_contents(log, &text, NULL, NULL) && strstr(text, needle)) return true;
        if (waited >= ms) return false;
        g_usleep(5000);
    }
}

/* After a client of a service (a VM of the host, a driver of a guest) went:
 * its service has destroyed its objects once it says so. Only if it ever
 * attached (a VM refused for its configuration never did). */
void rn_wait_gone(const char *log, GPid pid)
{
    g_autofree char *attached = g_strdup_printf("attached (pid %d ", (int)pid);
    g_autofree char *gone = g_strdup_printf("(pid %d) gone", (int)pid);
    if (wait_log(log, attached, 0)) wait_log(log, gone, STATE_TIMEOUT_MS);
}

/* ---- the host's service ------------------------------------------------- */

bool rn_svc_running(Run *r)
{
    int st;
    if (!r->svc_exited && r->svc && waitpid(r->svc, &st, WNOHANG) == r->svc) {
        r->svc_exited = true;
        r->svc_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
    return r->svc && !r->svc_exited;
}

bool rn_wait_state(Run *r, bool dss, const char *reason)
{
    /* looked at every millisecond: a service is up in ~10 ms, and every
     * scenario waits for it (a status file read costs microseconds) */
    gint64 deadline = g_get_monotonic_time() + STATE_TIMEOUT_MS * 1000ll;
    while (g_get_monotonic_time() < deadline) {
        bool up = rn_svc_running(r);
        g_autofree char *state = status_field(r, "state");
        if (!dss && up && state && strcmp(state, "running") == 0) return true;
        if (dss && !up) {
            g_autofree char *why = status_field(r, "reason");
            if (r->svc_status != 3)
                return rn_failf(r, "expected a DSS (exit status 3), the service exited with %d (%s)", r->svc_status,
                                why ? why : "no reason");
            if (reason && (!why || !strstr(why, reason)))
                return rn_failf(r, "expected a DSS for '%s', the reason was '%s'", reason, why ? why : "");
            rn_logf(r, "service in DSS: %s", why ? why : "");
            return true;
        }
        if (!dss && !up) {
            g_autofree char *why = status_field(r, "reason");
            return rn_failf(r, "expected the service running; it exited (%d): %s", r->svc_status, why ? why : "");
        }
        g_usleep(1000);
    }
    return rn_failf(r, "expected the service %s within %d ms", dss ? "in DSS" : "running", STATE_TIMEOUT_MS);
}

/* ---- VMs and guests: lookups --------------------------------------------- */

RVm *rn_vm_named(Run *r, const char *name)
{
    for (guint i = 0; r->vms && name && i < r->vms->len; i++) {
        RVm *v = g_ptr_array_index(r->vms, i);
        if (strcmp(v->decl->name, name) == 0) return v;
    }
    return NULL;
}

RGuest *rn_guest_named(Run *r, const char *name)
{
    for (guint i = 0; r->guests && name && i < r->guests->len; i++) {
        RGuest *g = g_ptr_array_index(r->guests, i);
        if (strcmp(g->decl->name, name) == 0) return g;
    }
    return NULL;
}

/* The guest RAM base of a VM: its lowest guest-physical address. */
static bool gpa_base(Run *r, const char *name, uint64_t *base, GError **err)
{
    RVm *vm = rn_vm_named(r, name);
    if (!vm) {
        g_set_error(err, TB_ERROR, ENOENT, "gpa(%s): no VM '%s'", name, name);
        return false;
    }
    if (!vm->have_cfg) {
        g_set_error(err, TB_ERROR, EINVAL, "gpa(%s): VM %s's configuration does not read: %s", name, name, vm->cfg_error);
        return false;
    }
    uint64_t lo = UINT64_MAX;
    for (unsigned i = 0; i < vm->cfg.n_ram; i++) lo = MIN(lo, vm->cfg.ram[i].gpa);
    *base = lo;
    return true;
}

/* ---- addresses: "ram+OFF", "pool+OFF", "gpa(VM)+OFF" or a number ---------- */

static bool base_plus(Run *r, ScnBase b, const char *vm, uint64_t off, uint64_t *out, GError **err)
{
    uint64_t base = b == SCN_RAM ? r->inv.ram_base : b == SCN_POOL ? r->inv.pool_base : 0;
    if (b == SCN_GPA && !gpa_base(r, vm, &base, err)) return false;
    /* the base plus N must still be an address, not wrap round to a small
     * one (which could be RAM) */
    if (off > UINT64_MAX - base) {
        g_set_error(err, TB_ERROR, ERANGE, "0x%llx + 0x%llx runs past the end of the 64-bit address space",
                    (unsigned long long)base, (unsigned long long)off);
        return false;
    }
    *out = base + off;
    return true;
}

bool rn_addr_of(Run *r, const char *w, uint64_t *out)
{
    ScnBase b;
    uint64_t off;
    char vm[SCN_NAME_MAX + 1];
    if (scenario_parse_addr_vm(w, &b, vm, sizeof vm, &off))
        return rn_failf(r, "'%s': expected an address (N, ram+N, pool+N or gpa(VM)+N)", w);
    GError *e = NULL;
    if (!base_plus(r, b, vm, off, out, &e)) {
        rn_failf(r, "'%s': %s", w, e->message);
        g_error_free(e);
        return false;
    }
    return true;
}

/* scenario_subst_addrs()'s resolver: configuration lines get the board's
 * (and a VM's) addresses. */
bool rn_subst_cb(void *ctx, ScnBase b, const char *vm, uint64_t off, uint64_t *addr, GError **err)
{
    return base_plus(ctx, b, vm, off, addr, err);
}

/* Client commands pass through with addresses resolved: "ram+N", "pool+N",
 * "gpa(VM)+N" (also after "key="), and, with sizes, lengths with K/M/G,
 * which smmu-client does not know (an expected reply's numbers stay as
 * written). Words from index first on; the result has them joined by
 * spaces. */
char *rn_resolve_from(Run *r, char **w, unsigned first, bool sizes)
{
    GString *s = g_string_new(NULL);
    for (unsigned i = first; w[i]; i++) {
        const char *word = w[i];
        const char *eq = strchr(word, '=');
        const char *val = eq ? eq + 1 : word;
        uint64_t v;
        if (i > first) g_string_append_c(s, ' ');
        g_string_append_len(s, word, val - word);
        size_t n = strlen(val);
        if (g_str_has_prefix(val, "ram+") || g_str_has_prefix(val, "pool+") || g_str_has_prefix(val, "gpa(")) {
            /* ADDR or ADDR,LEN (smmu-client's reserved regions): only the
             * address is the board's; what follows the comma stays */
            const char *comma = strchr(val, ',');
            g_autofree char *addr = comma ? g_strndup(val, (gsize)(comma - val)) : g_strdup(val);
            if (!rn_addr_of(r, addr, &v)) {
                g_string_free(s, TRUE);
                return NULL;
            }
            g_string_append_printf(s, "0x%llx%s", (unsigned long long)v, comma ? comma : "");
        } else if (sizes && n > 1 && strchr("kKmMgG", val[n - 1]) && !tb_parse_size(val, &v)) {
            g_string_append_printf(s, "%llu", (unsigned long long)v);
        } else {
            g_string_append(s, val);
        }
    }
    return g_string_free(s, FALSE);
}

char *rn_resolve(Run *r, char **w) { return rn_resolve_from(r, w, 1, true); }

/* ---- bookkeeping of what the clients did -------------------------------- */

/* The table a client's requests change: its service's. */
static Owners *owners_of(Run *r, const Proc *p) { return p->guest ? &p->guest->own : &r->host; }

/* A device a client let go goes back to what the configuration gives it. */
static void release(Owners *o, const char *devid)
{
    const char *home = g_hash_table_lookup(o->home, devid);
    g_hash_table_insert(o->owner, g_strdup(devid), g_strdup(home ? home : "none"));
}

void rn_release_all_owned_by(Owners *o, const char *name)
{
    g_autoptr(GPtrArray) mine = g_ptr_array_new_with_free_func(g_free);
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, o->owner);
    while (g_hash_table_iter_next(&it, &k, &v))
        if (strcmp(v, name) == 0) g_ptr_array_add(mine, g_strdup(k));
    for (guint i = 0; i < mine->len; i++) release(o, g_ptr_array_index(mine, i));
}

void rn_release_all_of(Run *r, Proc *p)
{
    rn_release_all_owned_by(owners_of(r, p), p->name);
    g_hash_table_remove_all(p->objects);
}

/* A guest's request, kept for the report's picture of B: its object's
 * devices as they are now; a device added later joins them (below). */
static void note_guest_devices(Run *r, Proc *p, const char *handle)
{
    GPtrArray *devs = g_hash_table_lookup(p->objects, handle);
    for (guint i = 0; i < r->rep->regions->len; i++) {
        ReportRegion *rg = &g_array_index(r->rep->regions, ReportRegion, i);
        if (!rg->vm || strcmp(rg->client, p->name) || rg->object != (unsigned)atoi(handle)) continue;
        for (guint k = 0; devs && k < devs->len; k++) {
            const char *d = g_ptr_array_index(devs, k);
            g_auto(GStrv) have = g_strsplit(rg->devices ? rg->devices : "", " ", -1);
            if (g_strv_contains((const char *const *)have, d)) continue;
            char *more = rg->devices && *rg->devices ? g_strconcat(rg->devices, " ", d, NULL) : g_strdup(d);
            g_free(rg->devices);
            rg->devices = more;
        }
    }
}

void rn_note_command(Run *r, Proc *p, char **w, const char *reply)
{
    if (!g_str_has_prefix(reply, "ok")) return;
    Owners *o = owners_of(r, p);
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
        while (g_hash_table_iter_next(&it, NULL, &v)) { /* moves: the device leaves its old object (by name, not pointer) */
            guint at;
            if (g_ptr_array_find_with_equal_func(v, bdf, g_str_equal, &at)) g_ptr_array_remove_index_fast(v, at);
        }
        GPtrArray *devs = g_hash_table_lookup(p->objects, w[2]);
        if (devs) g_ptr_array_add(devs, g_strdup(bdf));
        if (strcmp(w[2], "-") == 0) release(o, bdf);
        else g_hash_table_insert(o->owner, g_strdup(bdf), g_strdup(p->name));
        if (p->guest && devs) note_guest_devices(r, p, w[2]);
    } else if (strcmp(cmd, "destroy") == 0 && n == 3) {
        GPtrArray *devs = g_hash_table_lookup(p->objects, w[2]);
        for (guint i = 0; devs && i < devs->len; i++) release(o, g_ptr_array_index(devs, i));
        g_hash_table_remove(p->objects, w[2]);
    } else if (strcmp(cmd, "fini") == 0) { /* disconnected: the service cleans up */
        rn_release_all_of(r, p);
    } else if ((strcmp(cmd, "map") == 0 || strcmp(cmd, "unmap") == 0) && n >= 4) {
        bool unmap = cmd[0] == 'u';
        unsigned first = unmap ? 3 : 4;
        uint64_t target = 0;
        bool has_target = false;
        for (unsigned i = first; i < n; i++)
            if (g_str_has_prefix(w[i], "target=") && rn_addr_of(r, w[i] + 7, &target)) has_target = true;
        GPtrArray *devs = p->guest ? g_hash_table_lookup(p->objects, w[2]) : NULL;
        for (unsigned i = first; i + 1 < n; i += 2) {
            if (g_str_has_prefix(w[i], "target=")) break;
            ReportRegion rg = { .client = g_strdup(p->name), .object = (unsigned)atoi(w[2]), .removed = unmap ||
                                                                                                   strcmp(w[3], "none") == 0 };
            uint64_t len;
            if (!rn_addr_of(r, w[i], &rg.addr) || tb_parse_size(w[i + 1], &len)) {
                g_free(rg.client);
                return;
            }
            rg.len = len;
            if (!unmap) g_strlcpy(rg.perms, strcmp(w[3], "none") ? w[3] : "", sizeof rg.perms);
            rg.has_target = has_target;
            rg.target = target;
            if (p->guest) { /* B: guest-physical, for the devices of its object */
                rg.vm = g_strdup(p->guest->vm->decl->name);
                GString *d = g_string_new(NULL);
                for (guint k = 0; devs && k < devs->len; k++)
                    g_string_append_printf(d, "%s%s", k ? " " : "", (char *)g_ptr_array_index(devs, k));
                rg.devices = g_string_free(d, FALSE);
            }
            g_array_append_val(r->rep->regions, rg);
        }
    }
}

/* The owners a configuration gives: "device pci:B:D.F ..." lines. */
void rn_config_owners(Owners *o, const GPtrArray *config)
{
    for (guint i = 0; i < config->len; i++) {
        g_autofree char *line = g_strstrip(g_strdup(g_ptr_array_index(config, i)));
        g_auto(GStrv) w = g_strsplit(line, " ", -1);
        if (w[0] && strcmp(w[0], "device") == 0 && w[1] && g_str_has_prefix(w[1], "pci:")) {
            unsigned b, d, f;
            if (sscanf(w[1], "pci:%u:%u.%u", &b, &d, &f) == 3) {
                g_hash_table_insert(o->owner, g_strdup_printf("pci:%u:%u.%u", b, d, f), g_strdup("config"));
                g_hash_table_insert(o->home, g_strdup_printf("pci:%u:%u.%u", b, d, f), g_strdup("config"));
            }
        }
    }
}

void rn_owners_init(Owners *o)
{
    o->owner = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    o->home = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
}

void rn_owners_clear(Owners *o)
{
    if (o->owner) g_hash_table_unref(o->owner);
    if (o->home) g_hash_table_unref(o->home);
    o->owner = o->home = NULL;
}
