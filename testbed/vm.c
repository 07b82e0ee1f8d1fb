#include "vm.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../smmuman/lib/libsmmu-tools.h"
#include "../smmuman/lib/proto.h"
#include "smmu.h"
#include "status-text.h"

#define FAULT_LOG_PER_S 20 /* fault lines a second: a storm must not flood the log */

typedef struct {
    uint64_t gpa, len;
    unsigned perms; /* SMF_READ | SMF_WRITE | SMF_EXEC as the guest gave them */
} GRegion;

/* A guest object: an object of the VM on the host, with the regions the
 * guest gave it (guest-physical), as the host keeps them: what OBJECTS
 * shows, and what a failed change is put back to. */
typedef struct {
    uint64_t id;
    struct smmu_object *host;
    GArray *regions; /* GRegion */
} GuestObj;

struct Vm {
    const VmConfig *cfg;
    VmHooks hooks;
    char *host_socket;
    struct smmu_conn *host;
    struct smmu_object *a;    /* the whole guest RAM, until the guest's HELLO */
    struct smmu_object *park; /* holds the pass-through devices no guest object has: blocked, still the VM's */
    GuestObj *holder[VM_MAX_PASS]; /* which guest object each pass-through device is in (NULL: A or park) */
    GHashTable *objs;         /* id -> GuestObj */
    uint64_t next_id;
    VdevServer *srv;
    gint64 log_window_us;
    unsigned log_in_window, log_suppressed;
};

static void vm_log(Vm *vm, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void vm_log(Vm *vm, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    vm->hooks.log(vm->hooks.ctx, msg);
}

static unsigned pass_index(const Vm *vm, const VmPass *p) { return (unsigned)(p - vm->cfg->pass); }

static char *bdf_text(const VmBdf *b) { return g_strdup_printf("pci:%u:%u.%u", b->bus, b->dev, b->func); }

/* "WHAT: host service: STRERROR: ITS TEXT" into err; returns -errno. */
static int host_refused(Vm *vm, char *err, size_t errlen, const char *fmt, ...) G_GNUC_PRINTF(4, 5);
static int host_refused(Vm *vm, char *err, size_t errlen, const char *fmt, ...)
{
    int e = errno ? errno : EIO;
    const char *why = smmu_conn_last_error(vm->host);
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *what = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    snprintf(err, errlen, "%s: host service: %s%s%s", what, g_strerror(e), why && why[0] ? ": " : "", why ? why : "");
    return -e;
}

/* ---- start ----------------------------------------------------------------- */

int vm_start(const VmConfig *cfg, const char *host_socket, const VmHooks *hooks, Vm **out, char *err, size_t errlen)
{
    Vm *vm = g_new0(Vm, 1);
    vm->cfg = cfg;
    vm->hooks = *hooks;
    vm->host_socket = g_strdup(host_socket);
    vm->objs = g_hash_table_new(g_int64_hash, g_int64_equal);
    int rc = 0;
    if (!(vm->host = smmu_conn_open(host_socket, 0))) {
        rc = -errno;
        snprintf(err, errlen, "cannot reach the host service at %s: %s", host_socket, g_strerror(errno));
        goto out;
    }
    /* SMF_TARGET is what a VM is made of: without the ability nothing it
     * maps could mean guest-physical */
    if (!(smmu_conn_abilities(vm->host) & SMMU_CONN_TARGET)) {
        rc = -EPERM;
        snprintf(err, errlen,
                 "the host service at %s did not grant the target ability (HELLO flags 0): give the host's target "
                 "socket (its target-socket option), not its attach socket",
                 host_socket);
        goto out;
    }
    if (!(vm->a = smmu_conn_obj_create(vm->host, SOCF_NONE)) || !(vm->park = smmu_conn_obj_create(vm->host, SOCF_NONE))) {
        rc = host_refused(vm, err, errlen, "creating the VM's objects");
        goto out;
    }
    /* A: device-visible = guest-physical, landing at host-physical */
    for (unsigned k = 0; k < cfg->n_ram; k++) {
        const VmRam *r = &cfg->ram[k];
        struct smmu_map_entry e = { .phys = r->gpa, .len = r->size };
        if (smmu_conn_mapping_add(vm->host, vm->a, SMF_READ | SMF_WRITE | SMF_TARGET, getpid(), 1, &e, r->hpa)) {
            rc = host_refused(vm, err, errlen, "ram at %s (guest 0x%llx+0x%llx at host 0x%llx)", r->where,
                              (unsigned long long)r->gpa, (unsigned long long)r->size, (unsigned long long)r->hpa);
            goto out;
        }
    }
    for (unsigned k = 0; k < cfg->n_pass; k++) {
        const VmPass *p = &cfg->pass[k];
        if (smmu_conn_device_add_pci(vm->host, vm->a, p->host.bus, p->host.dev, p->host.func)) {
            g_autofree char *g = bdf_text(&p->guest), *h = bdf_text(&p->host);
            rc = host_refused(vm, err, errlen, "pass at %s (guest %s = host %s)", p->where, g, h);
            goto out;
        }
    }
out:
    if (rc) {
        if (vm->host) smmu_conn_close(vm->host); /* the host destroys what was made */
        vm->host = NULL;
        vm_free(vm);
        return rc;
    }
    *out = vm;
    return 0;
}

void vm_set_server(Vm *vm, VdevServer *srv) { vm->srv = srv; }

int vm_host_fd(Vm *vm) { return smmu_conn_xfer_fd(vm->host); }

static void guest_obj_free(gpointer p)
{
    GuestObj *o = p;
    g_array_free(o->regions, TRUE);
    g_free(o);
}

void vm_free(Vm *vm)
{
    if (!vm) return;
    if (vm->host) smmu_conn_close(vm->host);
    GHashTableIter it;
    gpointer v;
    g_hash_table_iter_init(&it, vm->objs);
    while (g_hash_table_iter_next(&it, NULL, &v)) guest_obj_free(v); /* their host objects went with the connection */
    g_hash_table_destroy(vm->objs);
    g_free(vm->host_socket);
    g_free(vm);
}

void vm_block_all(Vm *vm)
{
    for (unsigned k = 0; k < vm->cfg->n_pass; k++) {
        const VmPass *p = &vm->cfg->pass[k];
        if (smmu_conn_device_add_pci(vm->host, NULL, p->host.bus, p->host.dev, p->host.func)) {
            char err[512];
            g_autofree char *h = bdf_text(&p->host);
            host_refused(vm, err, sizeof err, "blocking %s", h);
            vm_log(vm, "%s (a host service that is gone has blocked it itself)", err);
        }
        vm->holder[k] = NULL;
    }
}

/* ---- faults ------------------------------------------------------------------ */

static void fault_log(Vm *vm, const struct smmu_status *st, const char *fate)
{
    gint64 now = g_get_monotonic_time();
    if (now - vm->log_window_us >= G_USEC_PER_SEC) {
        if (vm->log_suppressed) vm_log(vm, "%u more fault line(s) not shown", vm->log_suppressed);
        vm->log_window_us = now;
        vm->log_in_window = vm->log_suppressed = 0;
    }
    if (vm->log_in_window++ >= FAULT_LOG_PER_S) {
        vm->log_suppressed++;
        return;
    }
    char dev[64];
    if (st->devid.type == SDT_PCI)
        snprintf(dev, sizeof dev, "pci:%u:%u.%u", st->devid.pci.bus, st->devid.pci.dev, st->devid.pci.func);
    else snprintf(dev, sizeof dev, "mem:0x%llx", (unsigned long long)st->devid.mmio.phys);
    vm_log(vm, "fault: device %s %s at 0x%llx reason 0x%llx (%s): %s", dev, st->flags & SSF_WRITE ? "write" : "read",
           (unsigned long long)st->fault_addr, (unsigned long long)st->hw_specific, smmu_fault_reason_name(st), fate);
}

/* The guest sees the faults of its own devices at addresses inside its
 * RAM, as it names them (its PCI address; the address the device used is
 * guest-physical already); everything else is the host's business. */
static void on_record(Vm *vm, const struct smmu_status *st)
{
    /* the host dropped records for want of room in the VM's queue: some
     * may have been the guest's, and the guest must not believe it saw all */
    if ((st->flags & SSF_DROPPED_FAULTS) && vm->srv) vdev_server_lost_records(vm->srv);
    const VmPass *p = st->devid.type == SDT_PCI
                          ? vm_pass_by_host(vm->cfg, st->devid.pci.bus, st->devid.pci.dev, st->devid.pci.func)
                          : NULL;
    if (!p) {
        fault_log(vm, st, "kept on the host side (not a device of this VM)");
        return;
    }
    if (!vm_gpa_is_ram(vm->cfg, st->fault_addr)) {
        fault_log(vm, st, "kept on the host side (outside the guest's RAM)");
        return;
    }
    struct smmu_status g = *st;
    memset(&g.devid, 0, sizeof g.devid);
    g.devid.pci = (struct smmu_devid_pci){ SDT_PCI, p->guest.bus, p->guest.dev, p->guest.func };
    g.flags &= ~SSF_DROPPED_FAULTS; /* the guest's own queue says what the guest lost */
    if (vm->srv) vdev_server_fault(vm->srv, &g);
    g_autofree char *fate = vm->srv ? g_strdup_printf("the guest's (forwarded as its pci:%u:%u.%u)", p->guest.bus,
                                                      p->guest.dev, p->guest.func)
                                    : g_strdup("the guest's (the VM has no vdev-smmu)");
    fault_log(vm, st, fate);
}

void vm_drain_faults(Vm *vm)
{
    struct smmu_status st;
    int r;
    while ((r = smmu_conn_xfer_status(vm->host, &st)) == 1) on_record(vm, &st);
    const char *gone = smmu_conn_dss_reason(vm->host);
    if (r < 0 || gone) {
        char why[1024]; /* on the stack: the end is an exit() */
        snprintf(why, sizeof why, "host service gone: %s", gone ? gone : g_strerror(errno));
        vm->hooks.end(vm->hooks.ctx, VM_EXIT_HOST, "dss", why);
    }
}

/* ---- the guest's requests ------------------------------------------------------ */

static int hello(void *ctx, char *err, size_t errlen)
{
    Vm *vm = ctx;
    if (!vm->a) return 0; /* the devices left A at the first HELLO */
    /* deny by default in the guest too: each device reaches nothing until
     * the guest maps it; parked, not detached, so that the VM keeps it */
    for (unsigned k = 0; k < vm->cfg->n_pass; k++) {
        const VmPass *p = &vm->cfg->pass[k];
        if (smmu_conn_device_add_pci(vm->host, vm->park, p->host.bus, p->host.dev, p->host.func)) {
            g_autofree char *g = bdf_text(&p->guest);
            return host_refused(vm, err, errlen, "taking %s out of the VM's memory", g);
        }
    }
    smmu_conn_obj_destroy(vm->host, vm->a); /* nothing needs it any more: its tables go back to the pool */
    vm->a = NULL;
    vm_log(vm, "the guest's service said HELLO: every pass-through device is blocked until the guest maps it");
    return 0;
}

static GuestObj *lookup(Vm *vm, uint64_t id, char *err, size_t errlen)
{
    GuestObj *o = g_hash_table_lookup(vm->objs, &id);
    if (!o) snprintf(err, errlen, "object %llu is not this guest's", (unsigned long long)id);
    return o;
}

static int obj_create(Vm *vm, SmmuMsg *r, char *err, size_t errlen)
{
    /* SOCF_RESERVED_MANUAL concerns the guest's reserved regions, which are
     * none: either flag is the same object on the host */
    struct smmu_object *h = smmu_conn_obj_create(vm->host, SOCF_NONE);
    if (!h) return host_refused(vm, err, errlen, "creating an object");
    GuestObj *o = g_new0(GuestObj, 1);
    o->id = ++vm->next_id;
    o->host = h;
    o->regions = g_array_new(FALSE, FALSE, sizeof(GRegion));
    g_hash_table_insert(vm->objs, &o->id, o);
    r->obj = o->id;
    return 0;
}

static int park(Vm *vm, unsigned k, char *err, size_t errlen)
{
    const VmPass *p = &vm->cfg->pass[k];
    if (smmu_conn_device_add_pci(vm->host, vm->park, p->host.bus, p->host.dev, p->host.func)) {
        g_autofree char *g = bdf_text(&p->guest);
        return host_refused(vm, err, errlen, "blocking %s", g);
    }
    vm->holder[k] = NULL;
    return 0;
}

static int obj_destroy(Vm *vm, uint64_t id, char *err, size_t errlen)
{
    GuestObj *o = lookup(vm, id, err, errlen);
    if (!o) return -ENOENT;
    /* its devices are blocked, and stay the VM's (destroying the host
     * object alone would free them for any host client) */
    for (unsigned k = 0; k < vm->cfg->n_pass; k++) {
        int rc = vm->holder[k] == o ? park(vm, k, err, errlen) : 0;
        if (rc) return rc;
    }
    smmu_conn_obj_destroy(vm->host, o->host);
    g_hash_table_remove(vm->objs, &o->id);
    guest_obj_free(o);
    return 0;
}

static int device_add(Vm *vm, const SmmuMsg *m, char *err, size_t errlen)
{
    const union smmu_devid *d = &m->devid;
    g_autofree char *list = vm_pass_text(vm->cfg);
    if (d->type != SDT_PCI) {
        snprintf(err, errlen, "mem:0x%llx is not a pass-through device of VM %s (only PCI devices are passed "
                              "through; its pass-through devices: %s)",
                 (unsigned long long)d->mmio.phys, vm->cfg->name, list);
        return -ENOENT;
    }
    if (d->pci.bus == SMMU_PCI_FIELD_ANY || d->pci.dev == SMMU_PCI_FIELD_ANY || d->pci.func == SMMU_PCI_FIELD_ANY) {
        snprintf(err, errlen, "SMMU_PCI_FIELD_ANY wildcards are not supported: name one device");
        return -EINVAL;
    }
    const VmPass *p = vm_pass_by_guest(vm->cfg, d->pci.bus, d->pci.dev, d->pci.func);
    if (!p) {
        snprintf(err, errlen, "pci:%u:%u.%u is not a pass-through device of VM %s (its pass-through devices: %s)",
                 d->pci.bus, d->pci.dev, d->pci.func, vm->cfg->name, list);
        return -ENOENT;
    }
    unsigned k = pass_index(vm, p);
    g_autofree char *g = bdf_text(&p->guest);
    if (m->obj == 0) { /* detach: blocked on the host, not back to A */
        if (!vm->holder[k]) {
            snprintf(err, errlen, "%s is not attached to an object of this guest", g);
            return -ENOENT;
        }
        return park(vm, k, err, errlen);
    }
    GuestObj *o = lookup(vm, m->obj, err, errlen);
    if (!o) return -ENOENT;
    if (smmu_conn_device_add_pci(vm->host, o->host, p->host.bus, p->host.dev, p->host.func))
        return host_refused(vm, err, errlen, "attaching %s to object %llu", g, (unsigned long long)o->id);
    vm->holder[k] = o;
    return 0;
}

/* ---- MAPPING_ADD: check all, translate, forward, take back on failure ---- */

/* Host calls for pieces, one per run of pieces whose host ranges are back
 * to back (the host lays a call's entries back to back from its target).
 * flags 0 removes (device addresses only). 0, or -errno with err; *done:
 * pieces the host took (whole calls). */
static int host_calls(Vm *vm, GuestObj *o, unsigned flags, int32_t pid, const VmPiece *pc, unsigned n, unsigned *done,
                      char *err, size_t errlen)
{
    g_autofree struct smmu_map_entry *e = g_new(struct smmu_map_entry, n ? n : 1);
    *done = 0;
    for (unsigned i = 0; i < n;) {
        unsigned j = i + 1;
        /* a removal has no target: any pieces may go together */
        while (j < n && j - i < SMMU_MAP_MAX_ENTRIES && (!flags || pc[j - 1].hpa + pc[j - 1].len == pc[j].hpa)) j++;
        for (unsigned k = i; k < j; k++) e[k - i] = (struct smmu_map_entry){ .phys = pc[k].gpa, .len = pc[k].len };
        int rc = flags ? smmu_conn_mapping_add(vm->host, o->host, flags | SMF_TARGET, pid, j - i, e, pc[i].hpa)
                       : smmu_conn_mapping_add(vm->host, o->host, SMF_NONE, pid, j - i, e, 0);
        if (rc)
            return host_refused(vm, err, errlen, "guest 0x%llx+0x%llx (host 0x%llx)", (unsigned long long)pc[i].gpa,
                                (unsigned long long)pc[i].len, (unsigned long long)pc[i].hpa);
        *done = j;
        i = j;
    }
    return 0;
}

static void regions_remove(GArray *regions, uint64_t gpa, uint64_t len)
{
    GArray *kept = g_array_new(FALSE, FALSE, sizeof(GRegion));
    for (guint k = 0; k < regions->len; k++) {
        GRegion r = g_array_index(regions, GRegion, k);
        if (r.gpa + r.len <= gpa || gpa + len <= r.gpa) {
            g_array_append_val(kept, r);
            continue;
        }
        if (r.gpa < gpa) { /* the part before the removed range */
            GRegion left = { r.gpa, gpa - r.gpa, r.perms };
            g_array_append_val(kept, left);
        }
        if (r.gpa + r.len > gpa + len) { /* and after it */
            GRegion right = { gpa + len, r.gpa + r.len - (gpa + len), r.perms };
            g_array_append_val(kept, right);
        }
    }
    g_array_set_size(regions, 0);
    g_array_append_vals(regions, kept->data, kept->len);
    g_array_free(kept, TRUE);
}

/* Puts the host back as it was over the pieces the host took: removes
 * them, then adds again what the object held there before. */
static int undo(Vm *vm, GuestObj *o, int32_t pid, const VmPiece *pc, unsigned n, char *err, size_t errlen)
{
    unsigned done;
    int rc = host_calls(vm, o, 0, pid, pc, n, &done, err, errlen);
    for (guint k = 0; !rc && k < o->regions->len; k++) {
        const GRegion *r = &g_array_index(o->regions, GRegion, k);
        for (unsigned i = 0; !rc && i < n; i++) {
            uint64_t lo = MAX(r->gpa, pc[i].gpa), hi = MIN(r->gpa + r->len, pc[i].gpa + pc[i].len);
            if (lo >= hi) continue;
            VmPiece back = { lo, hi - lo, pc[i].hpa + (lo - pc[i].gpa) };
            rc = host_calls(vm, o, r->perms, pid, &back, 1, &done, err, errlen);
        }
    }
    return rc;
}

static int mapping_add(Vm *vm, const SmmuMsg *m, char *err, size_t errlen)
{
    GuestObj *o = lookup(vm, m->obj, err, errlen);
    if (!o) return -ENOENT;
    if (m->flags & SMF_TARGET) {
        snprintf(err, errlen, "SMF_TARGET is the hypervisor's: a guest maps guest-physical addresses, which the VM "
                              "translates");
        return -EPERM;
    }
    const unsigned perms = m->flags & (SMF_READ | SMF_WRITE | SMF_EXEC);
    /* every entry is checked and translated before the host is asked */
    g_autoptr(GArray) pieces = g_array_new(FALSE, FALSE, sizeof(VmPiece));
    VmPiece buf[VM_MAX_RAM];
    for (unsigned i = 0; i < m->n_entries; i++) {
        const struct smmu_map_entry *e = &m->entries[i];
        unsigned n;
        if (vm_translate(vm->cfg, e->phys, e->len, buf, VM_MAX_RAM, &n)) {
            g_autofree char *ram = vm_ram_text(vm->cfg);
            snprintf(err, errlen, "entries[%u]: 0x%llx+0x%llx is not all guest RAM (VM %s's RAM, guest-physical: %s)",
                     i, (unsigned long long)e->phys, (unsigned long long)e->len, vm->cfg->name, ram);
            return -ERANGE;
        }
        g_array_append_vals(pieces, buf, n);
    }
    const VmPiece *pc = (const VmPiece *)(void *)pieces->data;
    unsigned done;
    int rc;
    if (!perms) {
        /* a removal is one host call (device addresses, no target): the
         * host's own all-or-nothing is the request's */
        if ((rc = host_calls(vm, o, 0, m->pid, pc, pieces->len, &done, err, errlen))) return rc;
        for (unsigned i = 0; i < m->n_entries; i++) regions_remove(o->regions, m->entries[i].phys, m->entries[i].len);
        return 0;
    }
    rc = host_calls(vm, o, perms, m->pid, pc, pieces->len, &done, err, errlen);
    if (rc) {
        char why[512];
        if (done && undo(vm, o, m->pid, pc, done, why, sizeof why)) {
            /* the host keeps part of a request the guest was told failed,
             * and cannot be put back: the VM can no longer say what its
             * guest's devices reach */
            char reason[2048]; /* on the stack: the end is an exit() */
            snprintf(reason, sizeof reason, "could not take back a mapping the host took in part (%s): %s", err, why);
            vm->hooks.end(vm->hooks.ctx, smmu_conn_dss_reason(vm->host) ? VM_EXIT_HOST : VM_EXIT_DSS, "dss", reason);
        }
        return rc;
    }
    for (unsigned i = 0; i < m->n_entries; i++) {
        GRegion r = { m->entries[i].phys, m->entries[i].len, perms };
        g_array_append_val(o->regions, r);
    }
    return 0;
}

/* ---- certification: the VM's configuration and the host service's facts ---- */


typedef struct {
    bool host_smmuman, host_library, host_client;
    char *hardware, *state;
} HostFacts;

static int host_facts(Vm *vm, HostFacts *f, char *err, size_t errlen)
{
    memset(f, 0, sizeof *f);
    /* on the VM's own connection: the host answers it as it answers any */
    g_autofree char *text = smmu_conn_query_text_alloc(vm->host, SMMU_OP_STATUS);
    if (!text) {
        int e = errno;
        snprintf(err, errlen, "the host service's status: %s", g_strerror(e));
        return -EIO;
    }
    g_autofree char *variant = status_text_value(text, "variant");
    g_autofree char *library = status_text_value(text, "library");
    f->state = status_text_value(text, "state");
    f->host_smmuman = variant && strcmp(variant, "smmuman-safety") == 0;
    f->host_library = library && g_str_has_suffix(library, "-safety.so");
    /* "smmu-vtd-safety.so": the hardware is vtd */
    GString *hw = g_string_new(library ? library : "unknown");
    if (g_str_has_prefix(hw->str, "smmu-")) g_string_erase(hw, 0, 5);
    if (g_str_has_suffix(hw->str, ".so")) g_string_truncate(hw, hw->len - 3);
    if (g_str_has_suffix(hw->str, "-safety")) g_string_truncate(hw, hw->len - 7);
    f->hardware = g_string_free(hw, FALSE);
    f->host_client = !smmu_conn_dss_reason(vm->host) && (smmu_conn_abilities(vm->host) & SMMU_CONN_TARGET);
    return 0;
}

static const char *yn(bool b) { return b ? "yes" : "no"; }

static int status_text(Vm *vm, GString *out, bool *all_certified, char *err, size_t errlen)
{
    HostFacts f;
    int rc = host_facts(vm, &f, err, errlen);
    if (rc) return rc;
    const bool *c = vm->cfg->cert;
    g_string_append_printf(out, "vm=%s\nhost.service=%s\nhost.client=%s\nhost.hardware=%s\n", vm->cfg->name,
                           f.state ? f.state : "unknown", yn(f.host_client), f.hardware);
    g_string_append_printf(out,
                           "cert.host.kernel=%s\ncert.host.procnto=%s\ncert.host.smmuman=%s\ncert.host.libsmmu=%s\n"
                           "cert.host.support-library=%s\ncert.qvm=%s\n",
                           yn(c[VM_CERT_HOST_KERNEL]), yn(c[VM_CERT_HOST_PROCNTO]), yn(f.host_smmuman),
                           yn(c[VM_CERT_LIBSMMU]), yn(f.host_library), yn(c[VM_CERT_QVM]));
    bool all = f.host_smmuman && f.host_library && f.host_client;
    for (unsigned k = 0; k < VM_CERT_N; k++) all = all && c[k];
    for (unsigned k = 0; k < vm->cfg->n_vdev; k++) {
        g_string_append_printf(out, "cert.vdev.%s=%s\n", vm->cfg->vdev[k].name, yn(vm->cfg->vdev[k].cert));
        all = all && vm->cfg->vdev[k].cert;
    }
    *all_certified = all;
    g_free(f.hardware);
    g_free(f.state);
    return 0;
}

static void objects_text(Vm *vm, GString *out)
{
    g_autoptr(GList) ids = g_hash_table_get_keys(vm->objs);
    for (GList *l = ids; l; l = l->next) { /* in creation order: a text that reads the same twice */
        for (GList *m = l->next; m; m = m->next)
            if (*(uint64_t *)m->data < *(uint64_t *)l->data) {
                gpointer t = l->data;
                l->data = m->data;
                m->data = t;
            }
    }
    for (GList *l = ids; l; l = l->next) {
        const GuestObj *o = g_hash_table_lookup(vm->objs, l->data);
        g_string_append_printf(out, "object=%llu regions=%u devices=", (unsigned long long)o->id, o->regions->len);
        bool first = true;
        for (unsigned k = 0; k < vm->cfg->n_pass; k++)
            if (vm->holder[k] == o) {
                const VmBdf *b = &vm->cfg->pass[k].guest;
                g_string_append_printf(out, "%spci:%u:%u.%u", first ? "" : ",", b->bus, b->dev, b->func);
                first = false;
            }
        g_string_append_c(out, '\n');
        for (guint k = 0; k < o->regions->len; k++) {
            const GRegion *r = &g_array_index(o->regions, GRegion, k);
            g_string_append_printf(out, "region=%llu start=0x%llx len=0x%llx perms=%s%s%s\n", (unsigned long long)o->id,
                                   (unsigned long long)r->gpa, (unsigned long long)r->len,
                                   r->perms & SMF_READ ? "r" : "", r->perms & SMF_WRITE ? "w" : "",
                                   r->perms & SMF_EXEC ? "x" : "");
        }
    }
}

static int request(void *ctx, const SmmuMsg *m, SmmuMsg *r, char *err, size_t errlen)
{
    Vm *vm = ctx;
    switch (m->hdr.op) {
    case SMMU_OP_OBJ_CREATE:
        return obj_create(vm, r, err, errlen);
    case SMMU_OP_OBJ_DESTROY:
        return obj_destroy(vm, m->obj, err, errlen);
    case SMMU_OP_DEVICE_ADD:
        r->result = 0;
        return device_add(vm, m, err, errlen);
    case SMMU_OP_REPORT_RESERVED: /* the host's reserved regions are not the guest's */
        r->total = 0;
        r->n_entries = 0;
        r->entries = r->entry_buf;
        return 0;
    case SMMU_OP_MAPPING_ADD:
        return mapping_add(vm, m, err, errlen);
    case SMMU_OP_SAFETY:
    case SMMU_OP_STATUS: {
        g_autoptr(GString) t = g_string_new(NULL);
        bool all;
        int rc = status_text(vm, t, &all, err, errlen);
        if (rc) return rc;
        if (m->hdr.op == SMMU_OP_SAFETY) r->result = all ? SMMUMAN_SAFETY_YES : SMMUMAN_SAFETY_NO;
        else vdev_page_text(t->str, m->offset, r);
        return 0;
    }
    case SMMU_OP_OBJECTS: {
        g_autoptr(GString) t = g_string_new(NULL);
        objects_text(vm, t);
        vdev_page_text(t->str, m->offset, r);
        return 0;
    }
    default:
        snprintf(err, errlen, "%s is not served by vdev-smmu", smmu_op_name(m->hdr.op));
        return -ENOSYS;
    }
}

static void gone(void *ctx, const char *why)
{
    Vm *vm = ctx;
    char reason[512]; /* on the stack: the end is an exit() */
    snprintf(reason, sizeof reason, "the guest's service went away (%s)", why);
    vm->hooks.end(vm->hooks.ctx, VM_EXIT_DSS, "dss", reason);
}

static void server_log(void *ctx, const char *msg)
{
    Vm *vm = ctx;
    vm->hooks.log(vm->hooks.ctx, msg);
}

const VdevOps vm_vdev_ops = { .hello = hello, .request = request, .gone = gone, .log = server_log };
