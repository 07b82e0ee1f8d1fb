/* The scenario runner (runner.h), its top: the steps, played and checked
 * against RAM and the records, and a run's set-up and tear-down. It stands
 * on runner-vm.c (VMs and their guests' services) and runner-base.c
 * (failures, processes, addresses, the bookkeeping of who owns what),
 * through their headers. */
#include "runner.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent-client.h"
#include "board-def.h"
#include "board-reset.h"
#include "inventory.h"
#include "launcher.h"
#include "num.h"
#include "ram-span.h"
#include "runner-base.h"
#include "runner-expect.h"
#include "runner-stray.h"
#include "runner-xlate.h"
#include "runner-vm.h"
#include "vm-config.h"

/* A guest's monitor is asked this long for a record that must not come: the
 * VM forwards within a poll of the host's (2 ms) and a read of its socket. */
#define GUEST_QUIET_MS 30

/* ---- the board's RAM, mapped -------------------------------------------- */

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
        rn_failf(r, "%s: 0x%llx + %llu bytes runs past the end of the 64-bit address space", what,
              (unsigned long long)a, (unsigned long long)len);
    else
        rn_failf(r, "%s: 0x%llx + %llu bytes %s RAM (0x%llx..0x%llx)", what, (unsigned long long)a,
              (unsigned long long)len, sp == TB_SPAN_STRADDLES ? "runs past the edge of" : "is not",
              (unsigned long long)r->inv.ram_base, (unsigned long long)(r->inv.ram_base + r->inv.ram_size - 1));
    return NULL;
}

/* ---- steps -------------------------------------------------------------- */

static const TbInvDevice *engine(Run *r, const char *name, unsigned *index)
{
    const TbInvDevice *d = tb_inventory_device(&r->inv, name);
    if (!d || !d->is_edu || sscanf(name, "edu%u", index) != 1 || *index >= MAX_ENGINES) {
        rn_failf(r, "'%s' is not a DMA engine of this board", name);
        return NULL;
    }
    return d;
}

static char *devid_of(const TbInvDevice *d)
{
    unsigned bus = d->rid >> 8, dev = (d->rid >> 3) & 31, fn = d->rid & 7;
    return g_strdup_printf("pci:%u:%u.%u", bus, dev, fn);
}

/* The owner a service (the host's, or a guest's: log) logged for its latest
 * fault of this device, by the scenario's names: a client, a VM (the
 * host's owner of a pass-through device), a monitor, "config". */
static char *logged_owner(Run *r, const char *log, const char *devid)
{
    g_autofree char *text = NULL;
    if (!g_file_get_contents(log, &text, NULL, NULL)) return NULL;
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
        for (guint i = 0; i < r->vms->len; i++) {
            RVm *v = g_ptr_array_index(r->vms, i);
            if (v->pid == pid) return g_strdup(v->decl->name);
        }
        for (guint i = 0; i < r->guests->len; i++) {
            RGuest *g = g_ptr_array_index(r->guests, i);
            if (g->monitor && g->monitor->pid == pid) return g_strdup_printf("the runner's monitor client of %s", g->decl->name);
        }
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

/* A record at a monitor (the host's, or guest g's; or from, a client of
 * the host's): device, page and access as expected, and the host's record's
 * fields (expect-fault's FIELD=VALUE words; NULL: none). */
static bool check_record_on(Run *r, RGuest *g, Proc *from, const char *devid, uint64_t addr, bool write, char **fields,
                            ReportFault *f)
{
    Proc *mon = from ? from : g ? g->monitor : r->monitor;
    g_autofree char *who = from ? g_strdup_printf("client %s's queue", from->name)
                           : g ? g_strdup_printf("guest %s's service (its monitor client)", g->decl->name) : NULL;
    if (!mon) {
        if (g) return rn_failf(r, "no record can come from %s: it has no monitor client", who);
        return rn_failf(r, "no record can come: the service started in DSS, so the runner has no monitor client");
    }
    g_autofree char *rec = rn_ask(r, mon, "wait-fault 3000");
    if (!rec) return from ? rn_failf(r, "client %s is gone", from->name)
                  : g ? rn_failf(r, "the runner's monitor client of guest %s is gone", g->decl->name)
                       : rn_failf(r, "the runner's monitor client is gone");
    if (strcmp(rec, "none") == 0 || !g_str_has_prefix(rec, "fault "))
        return rn_failf(r, "expected a fault record for %s %s at 0x%llx%s%s; %s", devid, write ? "write" : "read",
                     (unsigned long long)addr, who ? " from " : "", who ? who : "",
                     strcmp(rec, "none") == 0 ? "none came" : rec);
    if (report_fault_parse(rec, f)) return rn_failf(r, "unreadable record '%s'", rec);
    if (g) g_strlcpy(f->seen_by, g->decl->name, sizeof f->seen_by);
    if (strcmp(f->device, devid) || (f->addr & ~0xfffull) != (addr & ~0xfffull) || f->write != write) {
        g_autofree char *got = record_text(f);
        return rn_failf(r, "expected a record for %s %s at page 0x%llx%s%s, got %s", devid, write ? "write" : "read",
                     (unsigned long long)(addr & ~0xfffull), who ? " from " : "", who ? who : "", got);
    }
    return g || rn_check_fields(r, rec, fields);
}

static bool check_record(Run *r, const char *devid, uint64_t addr, bool write, char **fields, ReportFault *f)
{
    return check_record_on(r, NULL, NULL, devid, addr, write, fields, f);
}

/* A running guest's service must not have shown its monitor a record: a
 * fault of another VM's device, of the host's, or outside its RAM. */
static bool guest_quiet(Run *r, RGuest *g, unsigned ms, const char *what)
{
    if (!g->monitor || !rn_guest_alive(r, g)) return true;
    g_autofree char *q = g_strdup_printf("wait-fault %u", ms);
    g_autofree char *rec = rn_ask(r, g->monitor, q);
    if (!rec || !g_str_has_prefix(rec, "fault ")) return true; /* none, or its service just went */
    g_autofree char *got = unexpected_record(rec);
    return rn_failf(r, "guest %s was shown %s: %s", g->decl->name, what, got);
}

static bool guests_quiet(Run *r, RGuest *except, unsigned ms, const char *what)
{
    for (guint i = 0; i < r->guests->len; i++) {
        RGuest *g = g_ptr_array_index(r->guests, i);
        if (g != except && !guest_quiet(r, g, ms, what)) return false;
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
        return rn_failf(r, "'=> interrupt' needs 0x%llx + %llu bytes inside 0xfee00000..0xfeefffff",
                     (unsigned long long)addr, (unsigned long long)len);
    TbReply rep;
    GError *err = NULL;
    r->dma_since_quiet = true;
    if (tb_agent_do(r->agent, &rep, &err, "dma %s write 0x%llx %llu", dev, (unsigned long long)addr,
                    (unsigned long long)len)) {
        rn_failf(r, "DMA not injected: %s", err->message);
        g_error_free(err);
        return false;
    }
    tb_reply_clear(&rep);
    g_autofree char *rec = rn_ask(r, r->monitor, "wait-fault 50");
    if (!rec || strcmp(rec, "none")) return rn_failf(r, "a write into the interrupt window raised a DMA fault: '%s'", rec ? rec : "?");
    rn_logf(r, "%s write 0x%llx %llu: an interrupt, not DMA: no fault", dev, (unsigned long long)addr, (unsigned long long)len);
    return true;
}

/* After an "=> ok" DMA that did not go through: the record the IOMMU
 * made of it, as "; the IOMMU recorded ..." for the failure message (and
 * kept with the run's faults), or "" if none came. */
static char *blocked_because(Run *r)
{
    if (!r->monitor || !rn_svc_running(r)) return g_strdup("");
    g_autofree char *rec = rn_ask(r, r->monitor, "wait-fault 200");
    ReportFault f = { 0 };
    if (!rec || report_fault_parse(rec, &f)) return g_strdup("");
    g_array_append_val(r->rep->faults, f);
    g_autofree char *text = record_text(&f);
    return g_strdup_printf("; the IOMMU recorded %s", text);
}

/* The attribution of a record, as its service logged it, against the
 * runner's bookkeeping. */
static bool check_owner(Run *r, RGuest *g, const char *devid, ReportFault *f)
{
    Owners *o = g ? &g->own : &r->host;
    g_autofree char *want = g_strdup(g_hash_table_lookup(o->owner, devid));
    g_autofree char *got = logged_owner(r, g ? g->log : r->log, devid);
    g_strlcpy(f->owner, got ? got : "?", sizeof f->owner);
    if (!want) want = g_strdup("none");
    if (got && strcmp(want, got) == 0) return true;
    if (g)
        return rn_failf(r, "guest %s: the fault of %s was attributed to '%s', expected '%s'", g->decl->name, devid,
                     got ? got : "nobody", want);
    return rn_failf(r, "the fault of %s was attributed to '%s', expected '%s'", devid, got ? got : "nobody", want);
}

static void log_record(Run *r, const ReportFault *f, bool attribution, const char *tail)
{
    if (!attribution) { /* expect-fault: the record alone */
        g_autofree char *rec = record_text(f);
        rn_logf(r, "recorded: %s%s", rec, tail);
        return;
    }
    g_autofree char *why = report_reason_text(f);
    rn_logf(r, "recorded: %.*s %s at page 0x%llx, %s, attributed to %.*s%s", (int)strnlen(f->device, sizeof f->device),
          f->device, f->write ? "write" : "read", (unsigned long long)f->addr, why, (int)strnlen(f->owner, sizeof f->owner),
          f->owner, tail);
}

/* A blocked DMA's records, on the side they belong to (and only there):
 * the guest's (guest PCI address, guest-physical address, its driver as
 * the owner) when it is the guest's, and always the host's (host PCI
 * address, the device address, the VM as the owner of a pass-through
 * device). attribution: the owners are checked too (a blocked DMA's third
 * proof; expect-fault checks the records only). */
static bool expect_records(Run *r, const Landing *l, uint64_t addr, bool write, bool attribution, char **fields)
{
    if (l->guest) {
        ReportFault f = { 0 };
        if (!check_record_on(r, l->guest, NULL, l->guest_dev, addr, write, NULL, &f)) return false;
        bool ok = !attribution || check_owner(r, l->guest, l->guest_dev, &f);
        g_array_append_val(r->rep->faults, f);
        g_autofree char *tail = g_strdup_printf(", by guest %s's service (its device, guest-physical)", l->guest->decl->name);
        log_record(r, &f, attribution, tail);
        if (!ok) return false;
    }
    ReportFault f = { 0 };
    if (!check_record(r, l->host_dev, addr, write, fields, &f)) return false;
    bool ok = !attribution || check_owner(r, NULL, l->host_dev, &f);
    g_array_append_val(r->rep->faults, f);
    const char *vm = l->vm ? l->vm->decl->name : NULL;
    g_autofree char *tail = !vm ? g_strdup("")
                            : l->guest ? g_strdup_printf(", by the host service (VM %s forwarded it)", vm)
                            : !l->vm->running ? g_strdup_printf(l->vm->reported ? ", by the host service (VM %s, whose device it was, is gone)"
                                                                                : ", by the host service (VM %s never ran)", vm)
                                              : g_strdup_printf(", by the host service (%s of VM %s; %s)", l->guest_dev, vm,
                                                                l->in_guest ? "no guest service to tell" : "outside its guest RAM");
    log_record(r, &f, attribution, tail);
    return ok && guests_quiet(r, l->guest, GUEST_QUIET_MS, "a record that is not its own");
}

/* A running VM's engines reach its whole guest RAM (A) until its guest's
 * service says HELLO on vdev-smmu (docs/vm-config.md): none started with
 * its vdev-smmu yet. */
static bool vm_in_a(Run *r, RVm *vm)
{
    for (guint i = 0; i < r->guests->len; i++) {
        RGuest *g = g_ptr_array_index(r->guests, i);
        if (g->vm == vm && g->with_vdev && g->pid) return false;
    }
    return true;
}

/* One DMA by engine dev, injected through the board agent. */
static bool inject(Run *r, const char *dev, bool write, uint64_t addr, uint64_t len, uint64_t offset)
{
    TbReply rep;
    GError *err = NULL;
    r->dma_since_quiet = true;
    if (tb_agent_do(r->agent, &rep, &err, "dma %s %s 0x%llx %llu offset=%llu", dev, write ? "write" : "read",
                    (unsigned long long)addr, (unsigned long long)len, (unsigned long long)offset)) {
        rn_failf(r, "DMA not injected: %s", err->message);
        g_error_free(err);
        return false;
    }
    tb_reply_clear(&rep);
    return true;
}

/* Bytes no RAM holds by chance: a different sequence for every read the
 * runner checks, and every byte's value depends on its position, so that
 * bytes read a page (or a byte) off never match. */
static void unique_bytes(uint8_t *p, uint64_t len)
{
    static gint seq;
    uint64_t x = 0x9e3779b97f4a7c15ull * (uint64_t)(g_atomic_int_add(&seq, 1) + 1);
    for (uint64_t i = 0; i < len; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
        p[i] = (uint8_t)(x >> 24);
    }
}

/* An allowed read, compared directly (docs/scenarios.md, "What a DMA step
 * checks"): edu's buffer has no window the CPU can read, so the engine
 * writes what it read back out through a writable mapping of its own
 * (waddr, landing at wphys), and that must be the bytes that were at the
 * physical source (src, host-physical land) when it read. The source held
 * unique bytes during the read, the place written back the complement of
 * them: a read from anywhere else, or a write-back that went nowhere,
 * shows. Both places get their bytes back, and the engine reads the source
 * again, so that the scenario goes on with what it would have read. */
static bool read_direct(Run *r, const char *dev, uint64_t addr, uint64_t len, uint64_t offset, uint8_t *src, uint64_t land,
                        uint64_t waddr, uint64_t wphys)
{
    uint8_t *dst = ram_or_fail(r, "the write-back of a read", wphys, len);
    if (!dst) return false;
    g_autofree uint8_t *orig = g_memdup2(src, len), *mark = g_malloc(len);
    unique_bytes(mark, len);
    memcpy(src, mark, len);
    bool injected = inject(r, dev, false, addr, len, offset);
    memcpy(src, orig, len);
    if (!injected) return false;
    g_autofree uint8_t *dst_orig = g_memdup2(dst, len);
    for (uint64_t i = 0; i < len; i++) dst[i] = (uint8_t)~mark[i];
    if (!inject(r, dev, true, waddr, len, offset)) return false;
    uint64_t bad = 0;
    while (bad < len && dst[bad] == mark[bad]) bad++;
    bool nothing = true; /* every byte still the complement: the write-back went nowhere */
    for (uint64_t i = 0; i < len && nothing; i++) nothing = (dst[i] ^ mark[i]) == 0xff;
    memcpy(dst, dst_orig, len);
    if (bad < len) {
        g_autofree char *why = blocked_because(r);
        const char *mapped = land != addr ? " (its mapping)" : "";
        if (nothing) /* the device reached other memory than its mapping says, for the write-back at least */
            return rn_failf(r, "%s read 0x%llx %llu should have read host-physical 0x%llx%s; written back through "
                               "0x%llx, nothing arrived at host-physical 0x%llx, where that mapping lands%s",
                            dev, (unsigned long long)addr, (unsigned long long)len, (unsigned long long)land, mapped,
                            (unsigned long long)waddr, (unsigned long long)wphys, why);
        return rn_failf(r, "%s read 0x%llx %llu should have read host-physical 0x%llx%s; written back through "
                           "0x%llx (host-physical 0x%llx), byte %llu differs from what was there%s",
                        dev, (unsigned long long)addr, (unsigned long long)len, (unsigned long long)land, mapped,
                        (unsigned long long)waddr, (unsigned long long)wphys, (unsigned long long)bad, why);
    }
    rn_logf(r, "%s read 0x%llx %llu: read host-physical 0x%llx, compared directly: written back through 0x%llx (host-physical 0x%llx)",
            dev, (unsigned long long)addr, (unsigned long long)len, (unsigned long long)land, (unsigned long long)waddr,
            (unsigned long long)wphys);
    return true;
}

static bool one_dma(Run *r, const char *dev, bool write, uint64_t addr, uint64_t len, uint64_t offset, bool expect_ok)
{
    unsigned e;
    const TbInvDevice *d = engine(r, dev, &e);
    if (!d) return false;
    /* Both index the engine's buffer model below (the parser checked them
     * too; a second check costs nothing next to a DMA). */
    if (len == 0 || len > EDU_BUF || offset > EDU_BUF - len)
        return rn_failf(r, "offset=%llu with LEN %llu runs past the engine's %d-byte buffer", (unsigned long long)offset,
                     (unsigned long long)len, EDU_BUF);
    if (tb_span_wraps(addr, len))
        return rn_failf(r, "0x%llx + %llu bytes runs past the end of the 64-bit address space", (unsigned long long)addr,
                     (unsigned long long)len);
    Landing l;
    if (!rn_landing(r, d, addr, len, &l)) return false;
    /* A host device's own mappings (SMF_TARGET: a device address onto
     * another physical one), as the reference model knows them: the bytes
     * land, or would land, there; the device address is watched too. */
    if (!l.vm) {
        uint64_t phys = 0;
        XlLanding x = rn_xlate_landing(r, d->rid, addr, len, &phys);
        if (x == XL_SPLIT && expect_ok)
            return rn_failf(r, "0x%llx + %llu bytes of %s land apart in physical memory (its mappings): split it",
                            (unsigned long long)addr, (unsigned long long)len, dev);
        if (x == XL_TRANSLATED) l.translated = l.in_guest = true, l.hpa = phys;
    }
    uint64_t land = l.translated ? l.hpa : addr;
    g_autofree char *as = !l.translated ? g_strdup("")
                          : l.vm ? g_strdup_printf(" (VM %s's guest-physical, backed at 0x%llx)", l.vm->decl->name,
                                                   (unsigned long long)land)
                                 : g_strdup_printf(" (mapped onto host-physical 0x%llx)", (unsigned long long)land);
    uint8_t *mem;
    TbSpan sp = ram_span(r, land, len, &mem);
    if (sp == TB_SPAN_WRAPS)
        return rn_failf(r, "0x%llx + %llu bytes runs past the end of the 64-bit address space", (unsigned long long)land,
                     (unsigned long long)len);
    /* Part RAM, part not: the RAM part could change unseen. */
    if (sp == TB_SPAN_STRADDLES)
        return rn_failf(r, "0x%llx + %llu bytes%s runs past the edge of RAM (0x%llx..0x%llx): split it in two",
                     (unsigned long long)land, (unsigned long long)len, as, (unsigned long long)r->inv.ram_base,
                     (unsigned long long)(r->inv.ram_base + r->inv.ram_size - 1));
    /* Beyond RAM (beyond the address width, say) there is nothing to
     * corrupt or leak: a blocked DMA is then proven by its record alone. */
    bool in_ram = sp == TB_SPAN_INSIDE;
    if (!in_ram && expect_ok) return rn_failf(r, "0x%llx+%llu%s is not RAM: '=> ok' cannot be checked", (unsigned long long)land, (unsigned long long)len, as);
    if (!in_ram) mem = r->nowhere;
    /* The other place the bytes of a pass-through device could reach: the
     * untranslated address when translated, the VM's backing when not (its
     * VM gone, say). A blocked write must reach neither; an allowed one
     * that lands there instead is named in the failure. */
    uint8_t *alt = NULL;
    uint64_t alt_addr = l.translated ? addr : l.hpa;
    if (l.in_guest && alt_addr != land && (alt_addr + len <= land || land + len <= alt_addr) &&
        ram_span(r, alt_addr, len, &alt) != TB_SPAN_INSIDE)
        alt = NULL;
    /* A write can only be seen if the target differs from what the engine
     * holds: make it the complement. */
    if (write)
        for (uint64_t i = 0; i < len; i++) {
            mem[i] = (uint8_t)~r->engine[e][offset + i];
            if (alt && !expect_ok) alt[i] = mem[i];
        }
    g_autofree uint8_t *before = g_memdup2(mem, len);
    g_autofree uint8_t *alt_before = alt ? g_memdup2(alt, len) : NULL;
    /* An allowed read of a host device is compared directly when the device
     * can write what it read back out; else through later writes alone. */
    uint64_t waddr = 0, wphys = 0;
    bool direct = false;
    if (!write && expect_ok && !l.vm) direct = rn_xlate_writable(r, d->rid, addr, len, &waddr, &wphys);
    /* A VM's engine inside its guest RAM before its guest's service took
     * over (A: the whole guest RAM, readable and writable): back through
     * the read's own address. After, the guest's mappings are the guest's
     * service's, which the runner does not model. */
    else if (!write && expect_ok && l.translated && vm_in_a(r, l.vm)) direct = true, waddr = addr, wphys = land;
    direct = direct && ram_span(r, wphys, len, NULL) == TB_SPAN_INSIDE;
    if (direct && !read_direct(r, dev, addr, len, offset, mem, land, waddr, wphys)) return false;
    if (!write && expect_ok && !direct)
        rn_logf(r, "%s read 0x%llx %llu: %s, so what it read is checked through later writes only", dev,
                (unsigned long long)addr, (unsigned long long)len,
                l.vm ? "a VM's engine whose guest's mappings the runner does not model"
                : r->ref ? "no readable and writable page in RAM to write it back through" : "no IOMMU");
    if (!inject(r, dev, write, addr, len, offset)) return false;
    bool crossed = write && memcmp(mem, r->engine[e] + offset, len) == 0;
    bool untouched = !write || memcmp(mem, before, len) == 0;
    bool alt_untouched = !alt || !write || memcmp(alt, alt_before, len) == 0;
    ReportDma rd = { .line = r->step->line, .write = write, .addr = addr, .len = len, .expected_ok = expect_ok,
                     .translated = l.translated, .hpa = l.in_guest ? l.hpa : addr, .guest_side = l.guest != NULL };
    g_strlcpy(rd.device, dev, sizeof rd.device);
    if (l.vm) g_strlcpy(rd.vm, l.vm->decl->name, sizeof rd.vm);
    bool ok = true;
    if (expect_ok) {
        if (write && !crossed) {
            /* The IOMMU's record, if it made one, says why: fetch it for the message. */
            g_autofree char *why = blocked_because(r);
            g_autofree char *astray = alt_untouched ? g_strdup("")
                                                    : g_strdup_printf("; the bytes reached 0x%llx instead", (unsigned long long)alt_addr);
            g_autofree char *hpa = l.translated ? g_strdup_printf(" (host-physical 0x%llx)", (unsigned long long)land) : g_strdup("");
            ok = rn_failf(r, "%s write to 0x%llx%s should have gone through; RAM shows %s%s%s", dev, (unsigned long long)addr,
                       hpa, untouched ? "nothing written" : "a partial write", astray, why);
        }
        if (!write) memcpy(r->engine[e] + offset, mem, len);
        rd.went_through = ok;
    } else {
        if (!untouched || !alt_untouched)
            ok = rn_failf(r, "%s write to 0x%llx%s should have been blocked; RAM changed at 0x%llx", dev, (unsigned long long)addr,
                       as, (unsigned long long)(untouched ? alt_addr : land));
        if (!write) memset(r->engine[e] + offset, 0, len); /* edu keeps nothing of a blocked read */
        rd.went_through = !untouched || !alt_untouched;
        rn_logf(r, "%s %s 0x%llx %llu%s: %s", dev, write ? "write" : "read", (unsigned long long)addr,
              (unsigned long long)len, as, rd.went_through ? "WENT THROUGH" : "blocked, RAM untouched");
        if (ok && rn_svc_running(r)) ok = expect_records(r, &l, addr, write, true, NULL);
    }
    g_array_append_val(r->rep->dmas, rd);
    if (expect_ok) {
        g_autofree char *where = !l.translated || !rd.went_through ? g_strdup("")
                                 : l.vm ? g_strdup_printf(", at host-physical 0x%llx (VM %s's guest RAM)", (unsigned long long)land,
                                                          l.vm->decl->name)
                                        : g_strdup_printf(", at host-physical 0x%llx (its mapping)", (unsigned long long)land);
        rn_logf(r, "%s %s 0x%llx %llu: %s%s", dev, write ? "write" : "read", (unsigned long long)addr,
              (unsigned long long)len, rd.went_through ? "went through" : "BLOCKED", where);
    }
    return ok;
}

static bool step_dma(Run *r, char **w, char **expect, bool storm)
{
    uint64_t addr, len, count = 1, stride = 4096, offset = 0;
    if (!rn_addr_of(r, w[3], &addr)) return false;
    if (tb_parse_size(w[4], &len) || len == 0 || len > EDU_BUF) return rn_failf(r, "LEN: expected 1..4096");
    unsigned opt = 5;
    if (storm && (tb_parse_u64(w[5], &count) || count == 0 || count > SCN_STORM_MAX)) return rn_failf(r, "COUNT: expected 1..100000");
    if (storm) opt = 6;
    for (unsigned i = opt; w[i]; i++) {
        if (g_str_has_prefix(w[i], "stride=") && !tb_parse_size(w[i] + 7, &stride)) continue;
        if (g_str_has_prefix(w[i], "offset=") && !tb_parse_size(w[i] + 7, &offset)) continue;
        return rn_failf(r, "unknown option '%s'", w[i]);
    }
    /* The parser saw N; only here is the board's base added: the last
     * transfer must still end below 2^64. */
    if ((count > 1 && stride > (UINT64_MAX - addr) / (count - 1)) || tb_span_wraps(addr + (count - 1) * stride, len)) {
        if (count == 1)
            return rn_failf(r, "0x%llx + %llu bytes runs past the end of the 64-bit address space", (unsigned long long)addr,
                         (unsigned long long)len);
        return rn_failf(r, "0x%llx + (COUNT-1) * %llu + %llu bytes runs past the end of the 64-bit address space",
                     (unsigned long long)addr, (unsigned long long)stride, (unsigned long long)len);
    }
    if (strcmp(expect[0], "interrupt") == 0) {
        if (strcmp(w[2], "write")) return rn_failf(r, "'=> interrupt' is for writes");
        for (uint64_t i = 0; i < count; i++)
            if (!interrupt_dma(r, w[1], addr + i * stride, len)) return false;
        return true;
    }
    bool ok = strcmp(expect[0], "ok") == 0;
    for (uint64_t i = 0; i < count; i++)
        if (!one_dma(r, w[1], strcmp(w[2], "write") == 0, addr + i * stride, len, offset, ok)) return false;
    return true;
}

/* One host-physical piece of a ram step. */
static bool ram_piece(Run *r, const char *what, bool fill, uint64_t addr, uint64_t len, uint8_t byte, const char *as)
{
    uint8_t *m = ram_or_fail(r, what, addr, len);
    if (!m) return false;
    if (fill) {
        memset(m, byte, len);
        return true;
    }
    for (uint64_t i = 0; i < len; i++)
        if (m[i] != byte)
            return rn_failf(r, "RAM 0x%llx%s holds 0x%02x, expected 0x%02x", (unsigned long long)(addr + i), as, m[i], (unsigned)byte);
    return true;
}

static bool step_ram(Run *r, char **w)
{
    uint64_t addr, len, byte;
    if (!rn_addr_of(r, w[2], &addr)) return false;
    if (tb_parse_size(w[3], &len) || tb_parse_u64(w[4], &byte) || byte > 255) return rn_failf(r, "expected LEN and a BYTE");
    g_autofree char *what = g_strdup_printf("ram %s", w[1]);
    bool fill = strcmp(w[1], "fill") == 0;
    ScnBase b;
    char name[SCN_NAME_MAX + 1];
    scenario_parse_addr_vm(w[2], &b, name, sizeof name, &(uint64_t){ 0 });
    if (b != SCN_GPA || len == 0) return ram_piece(r, what, fill, addr, len, (uint8_t)byte, "");
    /* guest-physical: the RAM where the VM backs it, piece by piece */
    RVm *vm = rn_vm_named(r, name);
    VmPiece pc[VM_MAX_RAM];
    unsigned n = 0;
    if (vm_translate(&vm->cfg, addr, len, pc, VM_MAX_RAM, &n))
        return rn_failf(r, "%s: 0x%llx + %llu bytes is not all guest RAM of VM %s", what, (unsigned long long)addr,
                     (unsigned long long)len, name);
    for (unsigned i = 0; i < n; i++) {
        g_autofree char *as = g_strdup_printf(" (guest-physical 0x%llx of VM %s)",
                                              (unsigned long long)pc[i].gpa, name);
        if (!ram_piece(r, what, fill, pc[i].hpa, pc[i].len, (uint8_t)byte, as)) return false;
    }
    return true;
}

static bool step_client(Run *r, char **w, char **expect)
{
    Proc *p = rn_client(r, w[0]);
    g_autofree char *line = rn_resolve(r, w);
    if (!line) return false;
    g_autofree char *reply = rn_ask(r, p, line);
    if (!reply) return rn_failf(r, "client %s: gone (asked '%s')", w[0], line);
    /* an expected reply may name addresses too ("fault device=pci:0:2.0
     * address=gpa(vm1)+0x100000"); its numbers stay as written */
    g_autofree char *want = expect && expect[0] ? rn_resolve_from(r, expect, 0, false) : g_strdup("ok");
    if (!want) return false;
    rn_logf(r, "%s: %s -> %s", w[0], line, reply);
    if (!g_str_has_prefix(reply, want)) return rn_failf(r, "%s: '%s' should answer '%s', got '%s'", w[0], line, want, reply);
    rn_note_command(r, p, w, reply);
    rn_xlate_command(r, p, w, reply);
    return true;
}

static bool step_kill(Run *r, char **w)
{
    if (strcmp(w[1], "service") == 0) {
        int sig = !w[2] || strcmp(w[2], "KILL") == 0 ? SIGKILL
                  : strcmp(w[2], "TERM") == 0 ? SIGTERM
                  : strcmp(w[2], "INT") == 0 ? SIGINT
                  : strcmp(w[2], "HUP") == 0 ? SIGHUP : 0;
        if (!sig) return rn_failf(r, "kill service: expected TERM, INT, HUP or KILL");
        if (rn_svc_running(r)) kill(r->svc, sig);
        for (int i = 0; i < STATE_TIMEOUT_MS / 5 && rn_svc_running(r); i++) g_usleep(5000);
        rn_logf(r, "service sent signal %d", sig);
        return rn_svc_running(r) ? rn_failf(r, "the service did not exit") : true;
    }
    if (rn_vm_named(r, w[1]) || rn_guest_named(r, w[1])) return rn_kill_process(r, w[1], w[2]);
    Proc *p = rn_client(r, w[1]);
    if (!p) return rn_failf(r, "kill: no client '%s' was started", w[1]);
    GPid pid = p->pid;
    rn_proc_kill(p);
    rn_release_all_of(r, p);
    rn_xlate_kill(r, p);
    /* a guest's driver: its service undoes its objects through the VM,
     * and says so when done */
    if (p->guest && rn_guest_alive(r, p->guest)) rn_wait_gone(p->guest->log, pid);
    g_usleep(SETTLE_MS * 1000); /* the service notices the hang-up */
    rn_logf(r, "client %s killed", p->name);
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
        if (tb_parse_u64(w[1], &ms) || ms > SCN_WAIT_MAX_MS) return rn_failf(r, "wait: expected 0..%u ms", SCN_WAIT_MAX_MS);
        g_usleep((gulong)ms * 1000);
        return true;
    }
    if (strcmp(v, "expect-state") == 0) return rn_step_state(r, w);
    if (strcmp(v, "expect-counters") == 0) return rn_step_counters(r, w);
    if (strcmp(v, "start") == 0) return rn_step_start(r, w, st->expect);
    if (strcmp(v, "corrupt-table") == 0) {
        /* a reserved word of the first pool page (a root table on VT-d) */
        if (r->inv.pool_size < 4096) return rn_failf(r, "corrupt-table: this board has no table pool");
        uint8_t *p = ram_or_fail(r, "corrupt-table: the pool's first page", r->inv.pool_base, 4096);
        if (!p) return false;
        p[255 * 16 + 12] ^= 0x10;
        rn_logf(r, "flipped a bit of table memory at 0x%llx", (unsigned long long)r->inv.pool_base + 255 * 16 + 12);
        return true;
    }
    if (strcmp(v, "expect-fault") == 0) {
        unsigned e;
        uint64_t addr;
        const TbInvDevice *d = engine(r, w[1], &e);
        if (!d || !rn_addr_of(r, w[2], &addr)) return false;
        bool write = strcmp(w[3], "write") == 0;
        const char *from = rn_fault_from(w + 4);
        if (from) { /* a client's own queue: the host's record, as that client reads it */
            Proc *p = rn_client(r, from);
            ReportFault f = { 0 };
            g_autofree char *devid = devid_of(d);
            if (!p) return rn_failf(r, "expect-fault: no client '%s' was started", from);
            return check_record_on(r, NULL, p, devid, addr, write, w + 4, &f);
        }
        Landing l; /* whose record it is: the guest's and the host's, or the host's alone */
        return rn_landing(r, d, addr, 1, &l) && expect_records(r, &l, addr, write, false, w + 4);
    }
    if (strcmp(v, "expect-no-fault") == 0) {
        uint64_t ms = 50; /* the parser bounds it well inside REPLY_TIMEOUT_MS */
        if (w[1] && (tb_parse_u64(w[1], &ms) || ms > SCN_NO_FAULT_MAX_MS))
            return rn_failf(r, "expect-no-fault: expected 0..%u ms", SCN_NO_FAULT_MAX_MS);
        g_autofree char *q = g_strdup_printf("wait-fault %llu", (unsigned long long)ms);
        if (!r->monitor) return true; /* the service started in DSS: nothing can record */
        g_autofree char *rec = rn_ask(r, r->monitor, q);
        if (!rec || strcmp(rec, "none")) {
            g_autofree char *got = unexpected_record(rec);
            return rn_failf(r, "expected no fault record, got %s", got);
        }
        if (!guests_quiet(r, NULL, (unsigned)ms, "a record where none was expected")) return false;
        r->dma_since_quiet = false;
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
    r->conf_header = 8;
    bool has_smmu = false;
    for (guint i = 0; i < r->scn->config->len; i++) has_smmu |= g_str_has_prefix(g_ptr_array_index(r->scn->config, i), "smmu ");
    if (!has_smmu && board_kind) {
        g_string_append_printf(c, "smmu %s\n", board_kind);
        r->conf_header++;
    }
    for (guint i = 0; i < r->scn->config->len; i++) {
        /* addresses written ram+N, pool+N, gpa(VM)+N: this board's */
        GError *e = NULL;
        g_autofree char *l = scenario_subst_addrs(g_ptr_array_index(r->scn->config, i), true, rn_subst_cb, r, &e);
        if (!l) {
            rn_failf(r, "%s: config: %s", (char *)g_ptr_array_index(r->scn->config_origin, i), e->message);
            g_error_free(e);
            g_string_free(c, TRUE);
            return false;
        }
        g_string_append_printf(c, "%s\n", l);
    }
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
    bool ok = g_spawn_async(NULL, argv, envp, G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDERR_TO_DEV_NULL, rn_child_setup, NULL,
                            &r->svc, &e);
    g_strfreev(envp);
    if (!ok) {
        rn_failf(r, "cannot start %s: %s", r->scn->service, e->message);
        g_error_free(e);
    }
    return ok;
}

/* Everything the scenario started goes, also after a failure, from the
 * guests' side down: guest drivers, guest monitors, guest services, VMs,
 * host clients, the host's monitor, the host service, the board. Each is
 * SIGKILLed and rn_reaped before the next. */
static void teardown(Run *r, bool keep_board)
{
    for (guint i = 0; r->clients && i < r->clients->len; i++) {
        Proc *p = g_ptr_array_index(r->clients, i);
        if (p->guest) rn_proc_kill(p);
    }
    for (guint i = 0; r->guests && i < r->guests->len; i++) {
        RGuest *g = g_ptr_array_index(r->guests, i);
        if (g->monitor) rn_proc_free(g->monitor);
        g->monitor = NULL;
    }
    for (guint i = 0; r->guests && i < r->guests->len; i++) {
        RGuest *g = g_ptr_array_index(r->guests, i);
        rn_kill_reap(&g->pid, g->running);
    }
    for (guint i = 0; r->vms && i < r->vms->len; i++) {
        RVm *v = g_ptr_array_index(r->vms, i);
        rn_kill_reap(&v->pid, v->running);
    }
    if (r->clients) g_ptr_array_unref(r->clients);
    if (r->monitor) rn_proc_free(r->monitor);
    if (r->svc) {
        if (rn_svc_running(r)) kill(r->svc, SIGKILL), waitpid(r->svc, NULL, 0);
        g_spawn_close_pid(r->svc);
    }
    /* --keep leaves the service's configuration, status and log for debugging */
    const char *files[] = { r->sock, r->tsock, r->opt->keep ? NULL : r->conf, r->status, r->log, NULL };
    for (unsigned i = 0; i < 2 || (!r->opt->keep && files[i]); i++) if (files[i]) unlink(files[i]);
    if (r->status) {
        g_autofree char *tmp = g_strconcat(r->status, ".tmp", NULL);
        unlink(tmp);
    }
    /* the VMs' and guests' files likewise: sockets always, the rest unless kept */
    for (guint i = 0; r->files && i < r->files->len; i++) {
        const char *f = g_ptr_array_index(r->files, i);
        if (!r->opt->keep || g_str_has_suffix(f, ".sock") || g_str_has_suffix(f, ".tmp")) unlink(f);
    }
    /* A status written write-then-rename by a process killed meanwhile
     * (teardown's SIGKILL can land there) leaves "NAME.status.tmp.XXXXXX",
     * GLib's own temporary: the board's run directory would not go. The
     * directory is this run's alone. */
    GDir *d = r->board ? g_dir_open(tb_board_run_dir(r->board), 0, NULL) : NULL;
    for (const char *n; d && (n = g_dir_read_name(d));) {
        if (!strstr(n, ".status.tmp.")) continue;
        g_autofree char *p = g_build_filename(tb_board_run_dir(r->board), n, NULL);
        unlink(p);
    }
    if (d) g_dir_close(d);
    if (r->ram) munmap(r->ram, r->inv.ram_size);
    tb_agent_close(r->agent);
    if (r->board && !keep_board) {
        /* QEMU always stops; with keep the launcher leaves the run directory's logs */
        if (r->opt->keep) g_ptr_array_add(r->rep->log, g_strdup_printf("kept: %s", tb_board_run_dir(r->board)));
        tb_board_stop(r->board, NULL);
    }
    g_free(r->conf);
    g_free(r->sock);
    g_free(r->tsock);
    g_free(r->status);
    g_free(r->log);
    rn_owners_clear(&r->host);
    rn_xlate_stop(r);
    for (guint i = 0; r->vms && i < r->vms->len; i++) {
        RVm *v = g_ptr_array_index(r->vms, i);
        if (v->have_cfg) vm_config_clear(&v->cfg);
        g_free(v->conf);
        g_free(v->status);
        g_free(v->log);
        g_free(v->vdev);
        g_free(v);
    }
    for (guint i = 0; r->guests && i < r->guests->len; i++) {
        RGuest *g = g_ptr_array_index(r->guests, i);
        rn_owners_clear(&g->own);
        g_free(g->conf);
        g_free(g->sock);
        g_free(g->tsock);
        g_free(g->status);
        g_free(g->log);
        g_free(g);
    }
    if (r->vms) g_ptr_array_unref(r->vms);
    if (r->guests) g_ptr_array_unref(r->guests);
    if (r->files) g_ptr_array_unref(r->files);
}

static bool library_built(const RunOptions *opt, const char *kind)
{
    g_autofree char *lib = g_strdup_printf("%s/smmu-%s.so", opt->build_dir, kind);
    return g_file_test(lib, G_FILE_TEST_EXISTS);
}

/* ---- boards kept between scenarios (runner.h) -------------------------- */

typedef struct {
    char *name;
    TbBoard *board;
    char *inventory;     /* at start: a reset board must read the same */
    GThread *resetting;  /* the reset after its last scenario, while the thread plays on */
    gint reset_over;     /* atomic: the reset thread is done */
    GError *reset_error; /* what it said */
} Kept;

/* Boards of one name a thread keeps: two, so that one resets while the
 * other plays; the reset is then off the scenarios' path. */
#define KEPT_PER_NAME 2

/* The calling thread's: a board belongs to the thread that started it (it
 * dies with that thread: PDEATHSIG). */
static _Thread_local GPtrArray *kept_boards;

static void *reset_thread(void *arg)
{
    Kept *k = arg;
    tb_board_reset(k->board, k->inventory, &k->reset_error);
    g_atomic_int_set(&k->reset_over, 1);
    return NULL;
}

/* Waits for the board's reset; false (and the reason in *err) if it failed. */
static bool reset_done(Kept *k, GError **err)
{
    if (k->resetting) g_thread_join(k->resetting);
    k->resetting = NULL;
    if (!k->reset_error) return true;
    g_propagate_error(err, k->reset_error);
    k->reset_error = NULL;
    return false;
}

static void kept_free(Kept *k)
{
    reset_done(k, NULL);
    if (k->board) tb_board_stop(k->board, NULL);
    g_free(k->name);
    g_free(k->inventory);
    g_free(k);
}

void runner_release_boards(void)
{
    if (kept_boards) g_ptr_array_unref(kept_boards);
    kept_boards = NULL;
}

static bool reusing(const RunOptions *opt) { return opt->reuse_boards && !opt->keep; }

/* Of the thread's kept boards of that name: one whose reset is over, else
 * the oldest (to wait for) once there are KEPT_PER_NAME, else none (a new
 * board is started: it becomes the second). */
static int kept_pick(const char *name)
{
    int oldest = -1, n = 0;
    for (guint i = 0; i < kept_boards->len; i++) {
        Kept *c = g_ptr_array_index(kept_boards, i);
        if (strcmp(c->name, name)) continue;
        if (g_atomic_int_get(&c->reset_over)) return (int)i;
        if (oldest < 0) oldest = (int)i;
        n++;
    }
    return n >= KEPT_PER_NAME ? oldest : -1;
}

/* The board to play on: a kept one of that name once its reset is done
 * (taken out of the list while it plays), or a new one. *k: what keeps
 * it, or NULL; *reused: it is a kept one. A reset that failed is said in
 * the report's log, and a new board started. */
static TbBoard *board_get(Run *r, const char *name, const Scenario *s, const RunOptions *opt, Kept **k, bool *reused,
                          GError **err)
{
    *k = NULL;
    *reused = false;
    if (reusing(opt)) {
        if (!kept_boards) kept_boards = g_ptr_array_new_with_free_func((GDestroyNotify)kept_free);
        if (s->board_fresh) /* a new one; the kept ones of that name go */
            for (guint i = kept_boards->len; i-- > 0;)
                if (strcmp(((Kept *)g_ptr_array_index(kept_boards, i))->name, name) == 0) g_ptr_array_remove_index_fast(kept_boards, i);
        int i = kept_pick(name);
        if (i >= 0) {
            Kept *c = g_ptr_array_steal_index_fast(kept_boards, (guint)i);
            GError *e = NULL;
            if (reset_done(c, &e)) {
                *k = c;
                *reused = true;
                return c->board;
            }
            g_ptr_array_add(r->rep->log, g_strdup_printf("a new board: the kept one's reset failed: %s", e->message));
            g_error_free(e);
            kept_free(c);
        }
    }
    TbLaunchOptions lo = { .keep = opt->keep };
    TbBoard *b = tb_board_start(name, &lo, err);
    if (!b || !reusing(opt)) return b;
    char *inv = tb_board_inventory_text(b, err);
    if (!inv) {
        tb_board_stop(b, NULL);
        return NULL;
    }
    *k = g_new0(Kept, 1);
    (*k)->name = g_strdup(name);
    (*k)->board = b;
    (*k)->inventory = inv;
    return b;
}

/* After the run: a board whose scenario passed is kept, and reset on a
 * thread of its own while this one goes on to its next scenario (on the
 * other board of that name, or another name's); any other board is stopped
 * (a failed scenario may have left anything behind, and the next one
 * should not pay for finding out). */
static void board_put(Kept *k, bool passed)
{
    if (!k) return;
    if (!passed) {
        kept_free(k);
        return;
    }
    g_atomic_int_set(&k->reset_over, 0);
    k->resetting = g_thread_new("board-reset", reset_thread, k);
    g_ptr_array_add(kept_boards, k);
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
    rn_owners_init(&r.host);
    r.vms = g_ptr_array_new();
    r.guests = g_ptr_array_new();
    r.files = g_ptr_array_new_with_free_func(g_free);
    gint64 t0 = g_get_monotonic_time(), tp = t0;
#define PHASE(i) (r.rep->phase[i] += (double)(g_get_monotonic_time() - tp) / 1e6, tp = g_get_monotonic_time())
    GError *e = NULL;
    Kept *k = NULL;
    r.board = board_get(&r, board, s, opt, &k, &r.rep->board_reused, &e);
    if (!r.board) {
        rn_failf(&r, "board %s: %s", board, e->message);
        g_error_free(e);
    } else if (tb_agent_connect(tb_board_agent_path(r.board), 0, &r.agent, &e) ||
               tb_inventory_fetch(r.agent, &r.inv, &e)) {
        rn_failf(&r, "board %s: %s", board, e->message);
        g_error_free(e);
    } else {
        int fd = open(r.inv.ram_file, O_RDWR | O_CLOEXEC);
        r.ram = fd >= 0 ? mmap(NULL, r.inv.ram_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) : MAP_FAILED;
        if (fd >= 0) close(fd);
        if (r.ram == MAP_FAILED) r.ram = NULL, rn_failf(&r, "cannot map the board's RAM");
        r.rep->ram_base = r.inv.ram_base;
        r.rep->ram_size = r.inv.ram_size;
        r.rep->pool_base = r.inv.pool_base;
        r.rep->pool_size = r.inv.pool_size;
    }
    r.clients = g_ptr_array_new_with_free_func((GDestroyNotify)rn_proc_free);
    if (!r.failure[0]) rn_vms_prepare(&r, board);
    rn_config_owners(&r.host, s->config);
    if (opt->narrate) printf("\n== %s on %s\n   %s\n", s->name, board, s->purpose ? s->purpose : "");
    const char *kind = r.inv.n_units ? r.inv.units[0].kind : NULL;
    PHASE(RP_PHASE_BOARD);
    if (!r.failure[0] && start_service(&r, kind) && rn_wait_state(&r, s->start_dss, s->start_reason)) {
        PHASE(RP_PHASE_SERVICE);
        if (!s->start_dss) { /* the runner's monitor first: it sees every record */
            r.monitor = rn_proc_client(&r, "runner-monitor", false, NULL);
            g_autofree char *ok = rn_ask(&r, r.monitor, "init");
            if (!ok || strcmp(ok, "ok")) rn_failf(&r, "the runner's monitor could not attach: %s", ok ? ok : "gone");
        }
        for (guint i = 0; i < s->clients->len && !r.failure[0]; i++) {
            g_auto(GStrv) cw = g_strsplit(g_ptr_array_index(s->clients, i), " ", 2);
            if (cw[1] && g_str_has_prefix(cw[1], "guest=")) continue; /* attached when their guest's service starts */
            Proc *p = rn_proc_client(&r, cw[0], cw[1] != NULL, NULL);
            g_ptr_array_add(r.clients, p);
            if (!s->start_dss) {
                g_autofree char *ok = rn_ask(&r, p, "init");
                if (!ok || strcmp(ok, "ok")) rn_failf(&r, "client %s could not attach: %s", cw[0], ok ? ok : "gone");
            }
        }
        if (!r.failure[0] && !s->start_dss) rn_xlate_start(&r);
        PHASE(RP_PHASE_CLIENTS);
        for (guint i = 0; i < s->steps->len && !r.failure[0]; i++) {
            const ScnStep *st = g_ptr_array_index(s->steps, i);
            g_ptr_array_add(r.rep->log, g_strdup_printf("%s:%u: %s", st->file, st->line, st->text));
            if (opt->narrate) printf("> %s\n", st->text);
            play_step(&r, st);
        }
        r.step = NULL;
        bool quiet = !r.dma_since_quiet; /* no DMA since a wait found none: no record can come */
        if (quiet && r.monitor) rn_logf(&r, "no DMA since the last wait for records: none can come, none waited for");
        /* nothing left unexplained: the runner's own record shows none is on its way (runner-stray.c);
         * where it cannot make one, a fixed wait */
        if (!quiet && !r.failure[0] && r.guests->len == 0 && rn_stray_records_sentinel(&r) >= 0) quiet = true;
        if (!quiet && !r.failure[0] && r.monitor && rn_svc_running(&r)) {
            g_autofree char *rec = rn_ask(&r, r.monitor, "wait-fault 30");
            if (rec && strcmp(rec, "none")) {
                g_autofree char *got = unexpected_record(rec);
                rn_failf(&r, "a fault no step expected: %s", got);
            }
        }
        if (!quiet && !r.failure[0]) guests_quiet(&r, NULL, GUEST_QUIET_MS, "a fault no step expected");
        PHASE(RP_PHASE_STEPS);
    }
    r.rep->status = r.failure[0] ? RS_FAIL : RS_PASS;
    r.rep->message = r.failure[0] ? g_strdup(r.failure) : NULL;
    teardown(&r, k != NULL);
    board_put(k, !r.failure[0]);
    PHASE(RP_PHASE_TEARDOWN);
#undef PHASE
    r.rep->seconds = (double)(g_get_monotonic_time() - t0) / 1e6;
    return r.rep;
}
