/* The scenario runner's VMs and their guests' services (docs/scenarios.md,
 * "VMs and guests"): where a pass-through engine's DMA lands, and their
 * lives: their configurations written and read, started, watched, killed,
 * and their ends explained by the scenario's lines. It stands on
 * runner-base.c (which also finds them by name); the run itself and its
 * steps are runner.c's. */
#include "runner-vm.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "num.h"
#include "status-text.h"

/* A guest's service that goes takes its VM with it (the VM's DSS) and the
 * reverse: within this the other side has reacted, or it is not going to
 * (a guest that never reached its vdev-smmu leaves its VM running). */
#define REACT_MS 1000
/* Lines the runner writes at the top of a guest's configuration (start_guest). */
#define GUEST_CONF_HEADER 6

/* ---- VMs and guests: whose guest, and still running? -------------------- */

static RGuest *guest_of_vm(Run *r, const RVm *vm)
{
    for (guint i = 0; r->guests && i < r->guests->len; i++) {
        RGuest *g = g_ptr_array_index(r->guests, i);
        if (g->vm == vm) return g;
    }
    return NULL;
}

static void vm_exited(Run *r, RVm *vm);
static void guest_exited(Run *r, RGuest *g);

/* Still running? Its end, once seen, is taken care of at once (the host's
 * bookkeeping of its devices, the guest's DSS that follows). */
static bool vm_alive(Run *r, RVm *vm)
{
    if (!vm->running) return false;
    if (rn_reaped(vm->pid, &vm->running, &vm->exit_status)) vm_exited(r, vm);
    return vm->running;
}

bool rn_guest_alive(Run *r, RGuest *g)
{
    if (!g->running) return false;
    if (rn_reaped(g->pid, &g->running, &g->exit_status)) guest_exited(r, g);
    return g->running;
}

/* ---- VMs and guests: where a DMA lands --------------------------------- */

/* l: where a DMA of d at [addr, addr + len) lands (Landing,
 * runner-vm.h); false, the step failed, when it runs over an edge
 * of its VM's guest RAM. */
bool rn_landing(Run *r, const TbInvDevice *d, uint64_t addr, uint64_t len, Landing *l)
{
    memset(l, 0, sizeof *l);
    unsigned bus = d->rid >> 8, dv = (d->rid >> 3) & 31, fn = d->rid & 7;
    snprintf(l->host_dev, sizeof l->host_dev, "pci:%u:%u.%u", bus, dv, fn);
    for (guint i = 0; i < r->vms->len; i++) { /* a running VM first: two may name one device, one holds it */
        RVm *vm = g_ptr_array_index(r->vms, i);
        const VmPass *p = vm->have_cfg ? vm_pass_by_host(&vm->cfg, bus, dv, fn) : NULL;
        if (p && (!l->vm || (!vm_alive(r, l->vm) && vm_alive(r, vm)))) l->vm = vm, l->pass = p;
    }
    if (!l->vm) return true;
    snprintf(l->guest_dev, sizeof l->guest_dev, "pci:%u:%u.%u", l->pass->guest.bus, l->pass->guest.dev, l->pass->guest.func);
    VmPiece pc[2];
    unsigned n = 0;
    int rc = vm_translate(&l->vm->cfg, addr, len, pc, 2, &n);
    const char *name = l->vm->decl->name;
    if ((rc == 0 && n > 1) || rc == -E2BIG)
        return rn_failf(r, "0x%llx + %llu bytes crosses two ram ranges of VM %s backed apart: split it", (unsigned long long)addr,
                     (unsigned long long)len, name);
    if (rc == -ERANGE && (vm_gpa_is_ram(&l->vm->cfg, addr) || vm_gpa_is_ram(&l->vm->cfg, addr + len - 1)))
        return rn_failf(r, "0x%llx + %llu bytes runs over the edge of VM %s's guest RAM (%s is passed through to it): split it",
                     (unsigned long long)addr, (unsigned long long)len, name, d->name);
    if (rc == 0) {
        l->in_guest = true;
        l->hpa = pc[0].hpa;
    }
    l->translated = l->in_guest && vm_alive(r, l->vm);
    RGuest *g = l->translated ? guest_of_vm(r, l->vm) : NULL;
    if (g && g->with_vdev && g->monitor && rn_guest_alive(r, g)) l->guest = g;
    return true;
}

/* ---- VMs and guests: their lives ---------------------------------------- */

/* A reason a VM or a guest's service gives names lines of configurations
 * the runner wrote ("/tmp/.../smmu.conf:11"): they are given as the
 * scenario's lines they came from ("host-startup-mapping.scn:7"), so that
 * a scenario can expect them. A line the runner made itself stays as it is. */
typedef struct {
    const char *path;
    unsigned header;          /* lines the runner wrote before the scenario's */
    const GPtrArray *origin;  /* "FILE:LINE" of each scenario line */
} GenFile;

static void explain_one(GString *t, const GenFile *gf)
{
    if (!gf->path || !gf->origin) return;
    size_t pl = strlen(gf->path);
    for (char *p = strstr(t->str, gf->path); p; p = strstr(p + 1, gf->path)) {
        const char *q = p + pl;
        unsigned line, col;
        int used = 0, used2 = 0;
        if (*q != ':' || sscanf(q + 1, "%u%n", &line, &used) != 1) continue;
        size_t n = pl + 1 + (size_t)used;
        if (q[1 + used] == ':' && sscanf(q + 2 + used, "%u%n", &col, &used2) == 1) n += 1 + (size_t)used2;
        if (line <= gf->header || line - gf->header > gf->origin->len) continue;
        g_autofree char *base = g_path_get_basename(g_ptr_array_index(gf->origin, line - gf->header - 1));
        gsize at = (gsize)(p - t->str);
        g_string_erase(t, (gssize)at, (gssize)n);
        g_string_insert(t, (gssize)at, base);
        p = t->str + at;
    }
}

static char *explain(Run *r, const char *reason)
{
    GString *t = g_string_new(reason ? reason : "");
    GenFile host = { r->conf, r->conf_header, r->scn->config_origin };
    explain_one(t, &host);
    for (guint i = 0; i < r->vms->len; i++) {
        RVm *v = g_ptr_array_index(r->vms, i);
        GenFile f = { v->conf, 1, v->origin };
        explain_one(t, &f);
    }
    for (guint i = 0; i < r->guests->len; i++) {
        RGuest *g = g_ptr_array_index(r->guests, i);
        GenFile f = { g->conf, GUEST_CONF_HEADER, g->origin };
        explain_one(t, &f);
    }
    return g_string_free(t, FALSE);
}

static char *vm_reason(Run *r, RVm *vm)
{
    g_autofree char *why = status_file_value(vm->status, "reason");
    return explain(r, why);
}

static char *guest_reason(Run *r, RGuest *g)
{
    g_autofree char *why = status_file_value(g->status, "reason");
    return explain(r, why);
}

/* A VM ended: its devices are no longer its on the host (once the host
 * has destroyed its objects, which it says in its log), and a guest
 * service that used its vdev-smmu loses it: the guest's DSS follows. */
static void vm_exited(Run *r, RVm *vm)
{
    g_autofree char *state = status_file_value(vm->status, "state"), *why = vm_reason(r, vm);
    rn_logf(r, "VM %s ended: exit status %d, state=%s%s%s", vm->decl->name, vm->exit_status, state ? state : "?",
          why && *why ? ": " : "", why ? why : "");
    if (rn_svc_running(r)) rn_wait_gone(r->log, vm->pid);
    rn_release_all_owned_by(&r->host, vm->decl->name);
    RGuest *g = guest_of_vm(r, vm);
    if (g && g->running && g->with_vdev)
        for (int waited = 0; waited < REACT_MS && rn_guest_alive(r, g); waited += 5) g_usleep(5000);
}

/* A guest's service ended: its VM's DSS follows (if it had reached the
 * VM's vdev-smmu), which blocks the VM's devices before the VM exits. */
static void guest_exited(Run *r, RGuest *g)
{
    g_autofree char *state = status_file_value(g->status, "state"), *why = guest_reason(r, g);
    rn_logf(r, "guest %s's service ended: exit status %d, state=%s%s%s", g->decl->name, g->exit_status, state ? state : "?",
          why && *why ? ": " : "", why ? why : "");
    if (g->with_vdev && g->vm->running)
        for (int waited = 0; waited < REACT_MS && vm_alive(r, g->vm); waited += 5) g_usleep(5000);
}

/* Set-up: each VM's configuration written (inline lines, addresses
 * resolved) or found (a fixture), and read with smmu-qvm's parser: the
 * runner knows its guest RAM and pass-through devices before it starts,
 * for gpa(VM)+N and for where DMA lands. A configuration that does not
 * read is smmu-qvm's to refuse (start VM => refused ...). */
void rn_vms_prepare(Run *r, const char *board)
{
    const char *run = tb_board_run_dir(r->board);
    for (guint i = 0; i < r->scn->vms->len; i++) {
        const ScnVm *d = g_ptr_array_index(r->scn->vms, i);
        RVm *vm = g_new0(RVm, 1);
        vm->decl = d;
        g_ptr_array_add(r->vms, vm);
        vm->status = g_strdup_printf("%s/%s.status", run, d->name);
        vm->log = g_strdup_printf("%s/%s.log", run, d->name);
        g_ptr_array_add(r->files, g_strdup(vm->status));
        g_ptr_array_add(r->files, g_strdup_printf("%s.tmp", vm->status));
        g_ptr_array_add(r->files, g_strdup(vm->log));
        if (d->fixture) { /* "{board}": one scenario, each board's fixture */
            g_auto(GStrv) parts = g_strsplit(d->fixture, "{board}", -1);
            vm->conf = g_strjoinv(board, parts);
        } else {
            /* NAME.vm: the file's base name is the VM's name unless a
             * 'system' line says otherwise (docs/vm-config.md) */
            vm->conf = g_strdup_printf("%s/%s.vm", run, d->name);
            g_ptr_array_add(r->files, g_strdup(vm->conf));
            vm->origin = d->origin;
            GString *c = g_string_new(NULL);
            g_string_append_printf(c, "# VM %s of scenario %s (%s:%u)\n", d->name, r->scn->name, d->file, d->line);
            for (guint k = 0; k < d->config->len; k++) {
                GError *e = NULL;
                g_autofree char *l = scenario_subst_addrs(g_ptr_array_index(d->config, k), false, rn_subst_cb, r, &e);
                if (!l) {
                    rn_failf(r, "%s: qvm-config %s: %s", (char *)g_ptr_array_index(d->origin, k), d->name, e->message);
                    g_error_free(e);
                    l = g_strdup("# (not resolved)");
                }
                g_string_append_printf(c, "%s\n", l);
            }
            g_file_set_contents(vm->conf, c->str, -1, NULL);
            g_string_free(c, TRUE);
        }
        GError *e = NULL;
        if (vm_config_load(vm->conf, &vm->cfg, &e) == 0) {
            vm->have_cfg = true;
            if (vm->cfg.smmu >= 0) {
                const char *loc = vm->cfg.vdev[vm->cfg.smmu].loc;
                /* relative: from the run directory, which the runner gives smmu-qvm as --run-dir */
                vm->vdev = g_path_is_absolute(loc) ? g_strdup(loc) : g_build_filename(run, loc, NULL);
                g_ptr_array_add(r->files, g_strdup(vm->vdev));
            }
        } else { /* by the scenario's lines, as smmu-qvm's refusal will be */
            g_autofree char *why = explain(r, e->message);
            g_strlcpy(vm->cfg_error, why, sizeof vm->cfg_error);
            g_error_free(e);
        }
    }
    for (guint i = 0; i < r->scn->guests->len; i++) {
        const ScnGuest *d = g_ptr_array_index(r->scn->guests, i);
        RGuest *g = g_new0(RGuest, 1);
        g->decl = d;
        g->vm = rn_vm_named(r, d->vm);
        g->origin = d->origin;
        rn_owners_init(&g->own);
        g_ptr_array_add(r->guests, g);
        g->conf = g_strdup_printf("%s/%s.conf", run, d->name);
        g->sock = g_strdup_printf("%s/%s.sock", run, d->name);
        g->tsock = g_strdup_printf("%s/%s-target.sock", run, d->name);
        g->status = g_strdup_printf("%s/%s.status", run, d->name);
        g->log = g_strdup_printf("%s/%s.log", run, d->name);
        const char *mine[] = { g->conf, g->sock, g->tsock, g->status, g->log, NULL };
        for (unsigned k = 0; mine[k]; k++) g_ptr_array_add(r->files, g_strdup(mine[k]));
        g_ptr_array_add(r->files, g_strdup_printf("%s.tmp", g->status));
        g_ptr_array_add(r->files, g_strdup_printf("%s/%s.err", run, d->name));
    }
}

/* The report's picture of A: the VM's guest RAM and its pass-through
 * engines, once it runs. */
static void vm_report(Run *r, RVm *vm)
{
    if (vm->reported) return;
    vm->reported = true;
    for (unsigned i = 0; i < vm->cfg.n_ram; i++) {
        ReportVmRam a = { .gpa = vm->cfg.ram[i].gpa, .size = vm->cfg.ram[i].size, .hpa = vm->cfg.ram[i].hpa };
        g_strlcpy(a.vm, vm->decl->name, sizeof a.vm);
        g_array_append_val(r->rep->vm_ram, a);
    }
    for (unsigned i = 0; i < vm->cfg.n_pass; i++) {
        const VmPass *p = &vm->cfg.pass[i];
        ReportPass rp = { .engine = "" };
        g_strlcpy(rp.vm, vm->decl->name, sizeof rp.vm);
        snprintf(rp.host_dev, sizeof rp.host_dev, "pci:%u:%u.%u", p->host.bus, p->host.dev, p->host.func);
        snprintf(rp.guest_dev, sizeof rp.guest_dev, "pci:%u:%u.%u", p->guest.bus, p->guest.dev, p->guest.func);
        unsigned rid = p->host.bus << 8 | p->host.dev << 3 | p->host.func;
        for (unsigned k = 0; k < r->inv.n_devices; k++)
            if (r->inv.devices[k].is_edu && r->inv.devices[k].rid == rid) g_strlcpy(rp.engine, r->inv.devices[k].name, sizeof rp.engine);
        g_array_append_val(r->rep->passes, rp);
    }
}

/* Waits (bounded) for a process to leave a state: running (ready) or
 * gone. alive: the process's own check (which reaps it). */
static bool wait_up(Run *r, bool (*alive)(Run *, void *), void *obj, const char *status)
{
    for (int waited = 0; waited < STATE_TIMEOUT_MS; waited += 5) {
        if (!alive(r, obj)) return false;
        g_autofree char *state = status_file_value(status, "state");
        if (state && strcmp(state, "running") == 0) return true;
        g_usleep(5000);
    }
    return alive(r, obj);
}

static bool vm_alive_cb(Run *r, void *vm) { return vm_alive(r, vm); }
static bool guest_alive_cb(Run *r, void *g) { return rn_guest_alive(r, g); }

/* "=> TEXT" of a start step: the expected words after the state, with
 * addresses resolved as in expect-state. NULL: none given. */
static char *expected_text(Run *r, char **expect)
{
    if (!expect[0] || !expect[1]) return NULL;
    return rn_resolve_from(r, expect, 1, true);
}

static bool start_vm(Run *r, RVm *vm, char **expect)
{
    bool want_running = strcmp(expect[0], "running") == 0;
    g_autofree char *text = expected_text(r, expect);
    const char *name = vm->decl->name;
    if (vm->pid) return rn_failf(r, "start %s: a VM starts once in a scenario", name);
    if (!r->tsock) return rn_failf(r, "start %s: no host service", name);
    unlink(vm->status);
    const char *run = tb_board_run_dir(r->board);
    char *argv[] = { (char *)r->opt->qvm, (char *)"--host-socket", r->tsock, (char *)"--run-dir", (char *)run,
                     (char *)"--status-file", vm->status, vm->conf, NULL };
    GError *e = NULL;
    if (!g_spawn_async(NULL, argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, rn_child_setup, vm->log, &vm->pid, &e)) {
        rn_failf(r, "start %s: %s", name, e->message);
        g_error_free(e);
        return false;
    }
    vm->running = true;
    bool up = wait_up(r, vm_alive_cb, vm, vm->status);
    if (up) {
        if (!want_running) return rn_failf(r, "expected VM %s to refuse to start; it runs", name);
        if (!vm->have_cfg) return rn_failf(r, "VM %s runs, but the runner cannot read its configuration: %s", name, vm->cfg_error);
        for (unsigned i = 0; i < vm->cfg.n_pass; i++) {
            const VmBdf *h = &vm->cfg.pass[i].host;
            g_hash_table_insert(r->host.owner, g_strdup_printf("pci:%u:%u.%u", h->bus, h->dev, h->func), g_strdup(name));
        }
        vm_report(r, vm);
        g_autofree char *ram = vm_ram_text(&vm->cfg), *pass = vm_pass_text(&vm->cfg);
        rn_logf(r, "VM %s running (pid %d): guest RAM %s, pass-through %s, vdev-smmu %s", name, (int)vm->pid, ram, pass,
              vm->vdev ? vm->vdev : "none");
        return true;
    }
    if (vm->running) return rn_failf(r, "VM %s neither ran nor ended within %d ms", name, STATE_TIMEOUT_MS);
    g_autofree char *why = vm_reason(r, vm);
    if (want_running) return rn_failf(r, "expected VM %s running; it did not start (exit status %d): %s", name, vm->exit_status, why);
    if (vm->exit_status != 1)
        return rn_failf(r, "expected VM %s to refuse to start (exit status 1), it exited with %d: %s", name, vm->exit_status, why);
    if (text && !strstr(why, text)) return rn_failf(r, "expected VM %s to refuse for '%s', the reason was '%s'", name, text, why);
    rn_logf(r, "VM %s refused to start: %s", name, why);
    return true;
}

/* The startup mappings of a guest's configuration, for the report's
 * picture of B: "allow NAME START,LEN[,PERMS]" given to "device pci:...
 * NAME ..." (START hexadecimal, LEN decimal by default, as smmuman reads
 * them; the runner wrote every address word as 0x...). */
static bool conf_num(const char *w, bool hex, uint64_t *v)
{
    if (g_str_has_prefix(w, "0x") || g_str_has_prefix(w, "0X")) return tb_parse_size(w, v) == 0;
    if (g_str_has_prefix(w, "0d")) return tb_parse_size(w + 2, v) == 0;
    if (!hex) return tb_parse_size(w, v) == 0;
    g_autofree char *x = g_strconcat("0x", w, NULL);
    return tb_parse_size(x, v) == 0;
}

static void guest_startup_regions(Run *r, RGuest *g, GPtrArray *lines)
{
    g_autoptr(GHashTable) allow = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    for (guint i = 0; i < lines->len; i++) {
        g_auto(GStrv) w = g_strsplit_set(g_ptr_array_index(lines, i), " \t", -1);
        if (w[0] && strcmp(w[0], "allow") == 0 && w[1] && w[2]) g_hash_table_insert(allow, g_strdup(w[1]), g_strdup(w[2]));
        if (!w[0] || strcmp(w[0], "device") || !w[1] || !g_str_has_prefix(w[1], "pci:")) continue;
        for (unsigned k = 2; w[k] && strcmp(w[k], "use"); k++) {
            const char *spec = g_hash_table_lookup(allow, w[k]);
            g_auto(GStrv) f = spec ? g_strsplit(spec, ",", 3) : NULL;
            uint64_t start, len;
            if (!f || !f[0] || !f[1] || !conf_num(f[0], true, &start) || !conf_num(f[1], false, &len)) continue;
            ReportRegion rg = { .client = g_strdup("config"), .addr = start, .len = len, .vm = g_strdup(g->vm->decl->name),
                                .devices = g_strdup(w[1]) };
            bool s = f[2] && strchr(f[2], 's'), t = f[2] && strchr(f[2], 't');
            g_strlcpy(rg.perms, s == t ? "rw" : s ? "r" : "w", sizeof rg.perms);
            g_array_append_val(r->rep->regions, rg);
        }
    }
}

static bool start_guest(Run *r, RGuest *g, char **expect)
{
    bool want_running = strcmp(expect[0], "running") == 0;
    g_autofree char *text = expected_text(r, expect);
    const char *name = g->decl->name;
    if (g->pid) return rn_failf(r, "start %s: a guest's service starts once in a scenario", name);
    GString *c = g_string_new(NULL);
    g_string_append_printf(c, "# guest %s in VM %s of scenario %s\nforeground\nattach-socket %s\ntarget-socket %s\n"
                              "status-file %s\nlog-file %s\n",
                           name, g->vm->decl->name, r->scn->name, g->sock, g->tsock, g->status, g->log);
    g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func(g_free);
    for (guint k = 0; k < g->decl->config->len; k++) {
        GError *e = NULL;
        char *l = scenario_subst_addrs(g_ptr_array_index(g->decl->config, k), true, rn_subst_cb, r, &e);
        if (!l) {
            rn_failf(r, "%s: guest-config %s: %s", (char *)g_ptr_array_index(g->decl->origin, k), name, e->message);
            g_error_free(e);
            g_string_free(c, TRUE);
            return false;
        }
        g_string_append_printf(c, "%s\n", l);
        g_ptr_array_add(lines, l);
    }
    g_file_set_contents(g->conf, c->str, -1, NULL);
    g_string_free(c, TRUE);
    unlink(g->status);
    g_autofree char *exe = g_build_filename(r->opt->build_dir, g->decl->service, NULL);
    g_autofree char *at = g_strconcat("@", g->conf, NULL);
    g_autofree char *err_log = g_strdup_printf("%s/%s.err", tb_board_run_dir(r->board), name);
    char *argv[] = { exe, at, NULL };
    /* nothing of the host's: no platform, no socket; vdev-smmu only where the VM has one */
    char **envp = g_environ_unsetenv(g_get_environ(), "SMMU_PLATFORM");
    envp = g_environ_unsetenv(envp, "SMMU_SOCKET");
    envp = g_environ_unsetenv(envp, "SMMU_VDEV");
    envp = g_environ_setenv(envp, "SMMU_STATUS_FILE", g->status, TRUE);
    envp = g_environ_setenv(envp, "SMMU_HW_DIR", r->opt->build_dir, TRUE);
    g->with_vdev = g->vm->vdev && !g->decl->no_vdev;
    if (g->with_vdev) envp = g_environ_setenv(envp, "SMMU_VDEV", g->vm->vdev, TRUE);
    GError *e = NULL;
    bool spawned = g_spawn_async(NULL, argv, envp, G_SPAWN_DO_NOT_REAP_CHILD, rn_child_setup, err_log, &g->pid, &e);
    g_strfreev(envp);
    if (!spawned) {
        rn_failf(r, "start %s: %s", name, e->message);
        g_error_free(e);
        return false;
    }
    g->running = true;
    bool up = wait_up(r, guest_alive_cb, g, g->status);
    if (up) {
        if (!want_running) return rn_failf(r, "expected guest %s's service in DSS; it runs", name);
        rn_config_owners(&g->own, lines);
        guest_startup_regions(r, g, lines);
        rn_logf(r, "guest %s's service running (pid %d, %s) in VM %s, %s", name, (int)g->pid, g->decl->service,
              g->vm->decl->name, g->with_vdev ? "on its vdev-smmu" : "without SMMU_VDEV");
        /* the runner's monitor first: it sees every record the guest gets */
        g_autofree char *mon = g_strdup_printf("runner-monitor-of-%s", name);
        g->monitor = rn_proc_client(r, mon, false, g);
        g_autofree char *ok = rn_ask(r, g->monitor, "init");
        if (!ok || strcmp(ok, "ok")) return rn_failf(r, "the runner's monitor could not attach to guest %s: %s", name, ok ? ok : "gone");
        for (guint i = 0; i < r->scn->clients->len; i++) {
            g_auto(GStrv) cw = g_strsplit(g_ptr_array_index(r->scn->clients, i), " ", 2);
            if (!cw[1] || strcmp(cw[1] + (g_str_has_prefix(cw[1], "guest=") ? 6 : 0), name) || !g_str_has_prefix(cw[1], "guest="))
                continue;
            Proc *p = rn_proc_client(r, cw[0], false, g);
            g_ptr_array_add(r->clients, p);
            g_autofree char *rep = rn_ask(r, p, "init");
            if (!rep || strcmp(rep, "ok"))
                return rn_failf(r, "client %s could not attach to guest %s: %s", cw[0], name, rep ? rep : "gone");
        }
        return true;
    }
    if (g->running) return rn_failf(r, "guest %s's service neither ran nor ended within %d ms", name, STATE_TIMEOUT_MS);
    g_autofree char *why = guest_reason(r, g);
    if (want_running)
        return rn_failf(r, "expected guest %s's service running; it exited (%d): %s", name, g->exit_status, why);
    if (g->exit_status != 3)
        return rn_failf(r, "expected guest %s's service in DSS (exit status 3), it exited with %d (%s)", name, g->exit_status, why);
    if (text && !strstr(why, text)) return rn_failf(r, "expected guest %s's DSS for '%s', the reason was '%s'", name, text, why);
    rn_logf(r, "guest %s's service in DSS: %s", name, why);
    return true;
}

bool rn_step_start(Run *r, char **w, char **expect)
{
    RVm *vm = rn_vm_named(r, w[1]);
    if (vm) return start_vm(r, vm, expect);
    RGuest *g = rn_guest_named(r, w[1]);
    if (g) return start_guest(r, g, expect);
    return rn_failf(r, "start: no VM or guest '%s'", w[1]);
}

/* expect-state VM|GUEST STATE: waits (bounded) for the state, or for the
 * process to end when the state is an end. */
static bool state_of(Run *r, const char *kind, const char *name, bool alive, int exit_status, const char *status_file,
                     const char *why, char **w, const char *text)
{
    const char *want = w[0];
    g_autofree char *state = status_file_value(status_file, "state");
    if (strcmp(want, "running") == 0) {
        if (alive && state && strcmp(state, "running") == 0) return true;
        if (alive) return rn_failf(r, "expected %s %s running; its status says state=%s", kind, name, state ? state : "(none)");
        return rn_failf(r, "expected %s %s running; it ended (exit status %d, state=%s): %s", kind, name, exit_status,
                     state ? state : "?", why);
    }
    if (alive) return rn_failf(r, "expected %s %s %s within %d ms; it still runs", kind, name, want, STATE_TIMEOUT_MS);
    if (strcmp(want, "exited") == 0) {
        uint64_t code = 0;
        tb_parse_u64(w[1], &code);
        if ((uint64_t)exit_status != code)
            return rn_failf(r, "expected %s %s to exit with %llu, it exited with %d (%s)", kind, name, (unsigned long long)code,
                         exit_status, why);
        return true;
    }
    bool vm = kind[0] == 'V';
    /* a VM's DSS: exit 3 (its guest went) or 4 (its host went); a guest's: 3 */
    bool exit_ok = strcmp(want, "dss") == 0 ? exit_status == 3 || (vm && exit_status == 4)
                   : strcmp(want, "refused") == 0 ? exit_status == 1
                   : strcmp(want, "stopped") == 0 ? exit_status == 0 : false;
    const char *want_state = strcmp(want, "dss") == 0 ? "dss" : "stopped";
    if (!exit_ok || !state || strcmp(state, want_state))
        return rn_failf(r, "expected %s %s %s; it exited with %d, state=%s: %s", kind, name, want, exit_status, state ? state : "?",
                     why);
    if (text && !strstr(why, text)) return rn_failf(r, "expected %s %s %s for '%s', the reason was '%s'", kind, name, want, text, why);
    rn_logf(r, "%s %s %s: %s", kind, name, want, why);
    return true;
}

bool rn_step_state(Run *r, char **w)
{
    RVm *vm = rn_vm_named(r, w[1]);
    RGuest *g = vm ? NULL : rn_guest_named(r, w[1]);
    char **st = vm || g || strcmp(w[1], "service") == 0 ? w + 2 : w + 1;
    /* addresses in the expected reason may be written ram+N / pool+N */
    g_autofree char *why = st[0] && st[1] && strcmp(st[0], "exited") ? rn_resolve(r, st) : NULL;
    if (!vm && !g) {
        if (strcmp(st[0], "exited") == 0) {
            for (int i = 0; i < STATE_TIMEOUT_MS / 5 && rn_svc_running(r); i++) g_usleep(5000);
            uint64_t code = 0;
            tb_parse_u64(st[1], &code);
            if (rn_svc_running(r)) return rn_failf(r, "expected the service to exit within %d ms; it still runs", STATE_TIMEOUT_MS);
            if ((uint64_t)r->svc_status != code)
                return rn_failf(r, "expected the service to exit with %llu, it exited with %d", (unsigned long long)code, r->svc_status);
            return true;
        }
        return rn_wait_state(r, strcmp(st[0], "dss") == 0, why);
    }
    if (!(vm ? vm->pid : g->pid)) return rn_failf(r, "expect-state %s: it was never started", w[1]);
    bool running = strcmp(st[0], "running") == 0;
    for (int waited = 0; waited < STATE_TIMEOUT_MS; waited += 5) {
        bool alive = vm ? vm_alive(r, vm) : rn_guest_alive(r, g);
        g_autofree char *state = status_file_value(vm ? vm->status : g->status, "state");
        if (running ? !alive || (state && strcmp(state, "running") == 0) : !alive) break;
        g_usleep(5000);
    }
    bool alive = vm ? vm_alive(r, vm) : rn_guest_alive(r, g);
    g_autofree char *reason = vm ? vm_reason(r, vm) : guest_reason(r, g);
    return state_of(r, vm ? "VM" : "guest", w[1], alive, vm ? vm->exit_status : g->exit_status, vm ? vm->status : g->status,
                    reason, st, why);
}

/* kill VM|GUEST [SIG]: the signal, its end (bounded), and the other side's
 * reaction (a guest's DSS, a VM's DSS) before the next step. */
bool rn_kill_process(Run *r, const char *name, const char *signame)
{
    int sig = !signame || strcmp(signame, "KILL") == 0 ? SIGKILL
              : strcmp(signame, "TERM") == 0 ? SIGTERM
              : strcmp(signame, "INT") == 0 ? SIGINT
              : strcmp(signame, "HUP") == 0 ? SIGHUP : 0;
    if (!sig) return rn_failf(r, "kill %s: expected TERM, INT, HUP or KILL", name);
    RVm *vm = rn_vm_named(r, name);
    RGuest *g = vm ? NULL : rn_guest_named(r, name);
    bool alive = vm ? vm_alive(r, vm) : rn_guest_alive(r, g);
    if (!alive) return rn_failf(r, "kill %s: it is not running", name);
    kill(vm ? vm->pid : g->pid, sig);
    for (int i = 0; i < STATE_TIMEOUT_MS / 5 && (vm ? vm_alive(r, vm) : rn_guest_alive(r, g)); i++) g_usleep(5000);
    if (vm ? vm->running : g->running) return rn_failf(r, "%s %s did not exit within %d ms of signal %d", vm ? "VM" : "guest", name,
                                                    STATE_TIMEOUT_MS, sig);
    rn_logf(r, "%s %s sent signal %d: exit status %d", vm ? "VM" : "guest", name, sig, vm ? vm->exit_status : g->exit_status);
    return true;
}
