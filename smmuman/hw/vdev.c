/* The guest's back end: SmmuHwOps on vdev-smmu (docs/vdev-smmu.md). No
 * registers, no table pool: a domain is an object of the VM, an attach is
 * a DEVICE_ADD of the guest PCI address, a change of translation is a few
 * MAPPING_ADD requests, and faults are the records the VM forwards. All of
 * it through a libsmmu connection to the VM's socket, so the guest's
 * service is, to its VM, a libsmmu client like any other.
 *
 * The VM (and behind it the host service) keeps an object's regions as a
 * union, while map_segs() sets a range to exactly what the core says. The
 * back end therefore keeps what it has asked for, per domain, as sorted
 * intervals: permissions that grow are added; permissions that shrink are
 * removed and what remains added again (for such pages, a short time with
 * less access: never more than either side allows). */
#include "vdev.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/libsmmu-tools.h"
#include "../lib/proto.h"
#include "pgtable/pgtable.h"

#define PAGE 4096ull
#define MAX_SIDS 65536

typedef struct {
    uint64_t start, end; /* [start, end) */
    unsigned perms;      /* PT_READ | PT_WRITE, never 0 */
} Span;

struct SmmuHwUnit {
    char name[32];
    char path[108];
    struct smmu_conn *conn;
    GHashTable *attached; /* sid -> SmmuHwDomain* */
};

struct SmmuHwDomain {
    struct smmu_object *obj;
    GArray *spans;        /* Span, sorted by start, disjoint: what the VM was asked for */
};

/* err gets the VM's own words when it gave some. */
static int vm_error(SmmuHwUnit *u, int rc, const char *what, char *err, size_t errlen)
{
    const char *why = smmu_conn_last_error(u->conn);
    const char *gone = smmu_conn_dss_reason(u->conn);
    if (gone)
        snprintf(err, errlen, "%s: lost vdev-smmu: %s", u->name, gone);
    else if (why && *why) /* the VM's words; the errno itself travels beside them */
        snprintf(err, errlen, "%s: %s: %s", u->name, what, why);
    else
        snprintf(err, errlen, "%s: %s: %s", u->name, what, g_strerror(-rc));
    return gone ? -EIO : rc;
}

int vdev_unit_open(const char *name, const char *path, SmmuHwUnit **out, char *err, size_t errlen)
{
    SmmuHwUnit *u = g_new0(SmmuHwUnit, 1);
    g_strlcpy(u->name, name, sizeof u->name);
    g_strlcpy(u->path, path, sizeof u->path);
    if (!(u->conn = smmu_conn_open(path, 0))) {
        int e = errno;
        snprintf(err, errlen, "vdev-smmu %s: %s", path, g_strerror(e));
        g_free(u);
        return -e;
    }
    u->attached = g_hash_table_new(NULL, NULL);
    *out = u;
    return 0;
}

char *vdev_status_text(SmmuHwUnit *u) { return smmu_conn_query_text_alloc(u->conn, SMMU_OP_STATUS); }
int vdev_fault_fd(SmmuHwUnit *u) { return smmu_conn_xfer_fd(u->conn); }

static int unit_open(const SmmuHwEnv *env, const SmmuHwUnitCfg *cfg, SmmuHwUnit **out, char *err, size_t errlen)
{
    snprintf(err, errlen, "vdev-smmu is opened by its path (vdev_unit_open)");
    return -ENOSYS;
}

static void unit_close(SmmuHwUnit *u)
{
    smmu_conn_close(u->conn);
    g_hash_table_unref(u->attached);
    g_free(u);
}

static void unit_describe(SmmuHwUnit *u, char *buf, size_t len)
{
    snprintf(buf, len, "vdev-smmu %s at %s", u->name, u->path);
}

static int domain_create(SmmuHwUnit *u, SmmuHwDomain **out, char *err, size_t errlen)
{
    struct smmu_object *obj = smmu_conn_obj_create(u->conn, SOCF_NONE);
    if (!obj) return vm_error(u, -errno, "object", err, errlen);
    SmmuHwDomain *d = g_new0(SmmuHwDomain, 1);
    d->obj = obj;
    d->spans = g_array_new(FALSE, FALSE, sizeof(Span));
    *out = d;
    return 0;
}

static void domain_destroy(SmmuHwUnit *u, SmmuHwDomain *d)
{
    smmu_conn_obj_destroy(u->conn, d->obj); /* the VM takes its mappings with it */
    g_array_unref(d->spans);
    g_free(d);
}

static int attach(SmmuHwUnit *u, SmmuHwDomain *d, uint32_t sid, char *err, size_t errlen)
{
    if (sid >= MAX_SIDS) {
        snprintf(err, errlen, "%s: requester ID 0x%x is beyond 16 bits", u->name, sid);
        return -EINVAL;
    }
    bool was = g_hash_table_contains(u->attached, GUINT_TO_POINTER(sid));
    if (!d && !was) return 0; /* the VM blocked it already */
    if (smmu_conn_device_add_pci(u->conn, d ? d->obj : NULL, sid >> 8, (sid >> 3) & 31, sid & 7) < 0)
        return vm_error(u, -errno, d ? "attach" : "detach", err, errlen);
    if (d) g_hash_table_insert(u->attached, GUINT_TO_POINTER(sid), d);
    else g_hash_table_remove(u->attached, GUINT_TO_POINTER(sid));
    return 0;
}

/* ---- a domain's spans --------------------------------------------------- */

/* Ranges to ask for, by what they need: removal, or one of three
 * permission sets. */
typedef struct {
    GArray *remove;   /* struct smmu_map_entry */
    GArray *add[4];   /* by perms: [PT_READ], [PT_WRITE], [PT_READ | PT_WRITE] */
} Plan;

static void plan_push(GArray *a, uint64_t start, uint64_t end)
{
    if (start >= end) return;
    if (a->len) {
        struct smmu_map_entry *last = &g_array_index(a, struct smmu_map_entry, a->len - 1);
        if (last->phys + last->len == start) {
            last->len += end - start;
            return;
        }
    }
    struct smmu_map_entry e = { .phys = start, .len = end - start };
    g_array_append_val(a, e);
}

/* What turning [a, b) to exactly perms p asks of the VM, given the spans. */
static void plan_seg(const GArray *spans, uint64_t a, uint64_t b, unsigned p, Plan *pl)
{
    uint64_t at = a;
    for (guint i = 0; i < spans->len && at < b; i++) {
        const Span *s = &g_array_index(spans, Span, i);
        if (s->end <= at) continue;
        if (s->start >= b) break;
        if (s->start > at) { /* a gap: nothing asked for there yet */
            if (p) plan_push(pl->add[p], at, s->start);
            at = s->start;
        }
        uint64_t x = at, y = MIN(s->end, b);
        if (s->perms & ~p) { /* shrinks: take it away, give back what stays */
            plan_push(pl->remove, x, y);
            if (p) plan_push(pl->add[p], x, y);
        } else if (p & ~s->perms) { /* grows: the union does it */
            plan_push(pl->add[p], x, y);
        }
        at = y;
    }
    if (at < b && p) plan_push(pl->add[p], at, b);
}

/* Records that [a, b) is now p (0: nothing). */
static void spans_set(GArray *spans, uint64_t a, uint64_t b, unsigned p)
{
    GArray *out = g_array_sized_new(FALSE, FALSE, sizeof(Span), spans->len + 2);
    bool placed = false;
    for (guint i = 0; i < spans->len; i++) {
        Span s = g_array_index(spans, Span, i);
        if (s.end <= a || s.start >= b) {
            if (!placed && s.start >= b && p) {
                Span n = { a, b, p };
                g_array_append_val(out, n);
                placed = true;
            }
            g_array_append_val(out, s);
            continue;
        }
        if (s.start < a) {
            Span l = { s.start, a, s.perms };
            g_array_append_val(out, l);
        }
        if (!placed && p) {
            Span n = { a, b, p };
            g_array_append_val(out, n);
            placed = true;
        }
        if (s.end > b) {
            Span r = { b, s.end, s.perms };
            g_array_append_val(out, r);
        }
    }
    if (!placed && p) {
        Span n = { a, b, p };
        g_array_append_val(out, n);
    }
    g_array_set_size(spans, 0);
    g_array_append_vals(spans, out->data, out->len);
    g_array_unref(out);
}

static unsigned flags_of(unsigned perms)
{
    return (perms & PT_READ ? SMF_READ : 0) | (perms & PT_WRITE ? SMF_WRITE : 0);
}

/* Asks the VM for one list of ranges (flags 0: removal), in messages of at
 * most SMMU_MAP_MAX_ENTRIES, and records each part in the spans once done. */
static int ask(SmmuHwUnit *u, SmmuHwDomain *d, unsigned perms, bool removal, GArray *list, char *err, size_t errlen)
{
    for (guint i = 0; i < list->len; i += SMMU_MAP_MAX_ENTRIES) {
        unsigned n = MIN(list->len - i, (guint)SMMU_MAP_MAX_ENTRIES);
        const struct smmu_map_entry *e = &g_array_index(list, struct smmu_map_entry, i);
        if (smmu_conn_mapping_add(u->conn, d->obj, removal ? 0 : flags_of(perms), 0, n, e, 0) < 0)
            return vm_error(u, -errno, removal ? "unmap" : "map", err, errlen);
        for (unsigned k = 0; k < n; k++) {
            /* a removal leaves nothing; an addition leaves the union, which
             * the plan made equal to perms */
            spans_set(d->spans, e[k].phys, e[k].phys + e[k].len, removal ? 0 : perms);
        }
    }
    return 0;
}

static int map_segs(SmmuHwUnit *u, SmmuHwDomain *d, const SmmuHwSeg *segs, size_t n, char *err, size_t errlen)
{
    Plan pl = { g_array_new(FALSE, FALSE, sizeof(struct smmu_map_entry)), { NULL } };
    for (unsigned p = 1; p < 4; p++) pl.add[p] = g_array_new(FALSE, FALSE, sizeof(struct smmu_map_entry));
    for (size_t i = 0; i < n; i++) plan_seg(d->spans, segs[i].iova, segs[i].iova + segs[i].len, segs[i].perms, &pl);
    int rc = ask(u, d, 0, true, pl.remove, err, errlen);
    for (unsigned p = 1; p < 4 && !rc; p++) rc = ask(u, d, p, false, pl.add[p], err, errlen);
    g_array_unref(pl.remove);
    for (unsigned p = 1; p < 4; p++) g_array_unref(pl.add[p]);
    return rc;
}

static int map_check(SmmuHwUnit *u, const SmmuHwDomain *d, const SmmuHwSeg *segs, size_t n, size_t *pages, char *err,
                     size_t errlen)
{
    *pages = 0; /* no table memory of ours: the host weighs its own */
    for (size_t i = 0; i < n; i++)
        if (segs[i].perms && segs[i].pa != segs[i].iova) {
            snprintf(err, errlen, "%s: 0x%llx+0x%llx: a translated mapping (SMF_TARGET) has no meaning in a guest",
                     u->name, (unsigned long long)segs[i].iova, (unsigned long long)segs[i].len);
            return -EPERM;
        }
    return 0;
}

static int attach_check(SmmuHwUnit *u, uint32_t sid, size_t *pages, char *err, size_t errlen)
{
    *pages = 0; /* which devices are the VM's, the VM says at the attach */
    if (sid >= MAX_SIDS) {
        snprintf(err, errlen, "%s: requester ID 0x%x is beyond 16 bits", u->name, sid);
        return -ENOENT;
    }
    return 0;
}

static int fault_poll(SmmuHwUnit *u, SmmuHwFaultFn fn, void *opaque, uint64_t *lost, char *err, size_t errlen)
{
    int n = 0;
    for (;;) {
        struct smmu_status st;
        int got = smmu_conn_xfer_status(u->conn, &st);
        if (got < 0) return vm_error(u, -errno, "fault records", err, errlen);
        if (got == 0) return n;
        if (st.flags & SSF_DROPPED_FAULTS) (*lost)++;
        if (st.devid.type != SDT_PCI) continue;
        SmmuHwFault f = { .sid = st.devid.pci.bus << 8 | st.devid.pci.dev << 3 | st.devid.pci.func,
                          .addr = st.fault_addr, .write = (st.flags & SSF_WRITE) != 0,
                          .reason = (uint32_t)st.hw_specific, .repeat = SSF_REPEAT(st.flags) + 1 };
        fn(opaque, &f);
        n++;
    }
}

static int irq(SmmuHwUnit *u, unsigned line, SmmuHwFaultFn fn, void *opaque, uint64_t *lost, char *err, size_t errlen)
{
    return 0; /* records come through the connection's descriptor: fault_poll */
}

/* The DSS: every device the guest attached is detached (blocked on the
 * host); the VM blocks the rest when the guest's connection closes. */
static int block_all(SmmuHwUnit *u)
{
    int rc = 0;
    GList *sids = g_hash_table_get_keys(u->attached);
    for (GList *l = sids; l; l = l->next) {
        uint32_t sid = GPOINTER_TO_UINT(l->data);
        if (smmu_conn_device_add_pci(u->conn, NULL, sid >> 8, (sid >> 3) & 31, sid & 7) < 0) rc = -EIO;
    }
    g_list_free(sids);
    g_hash_table_remove_all(u->attached);
    return rc;
}

const SmmuHwOps vdev_ops = {
    .abi = SMMU_HW_ABI,
    .type = "vdev-smmu",
    .safety = false,
    .unit_open = unit_open,
    .unit_close = unit_close,
    .unit_describe = unit_describe,
    .domain_create = domain_create,
    .domain_destroy = domain_destroy,
    .attach = attach,
    .map_segs = map_segs,
    .map_check = map_check,
    .attach_check = attach_check,
    .fault_poll = fault_poll,
    .irq = irq,
    .block_all = block_all,
};
