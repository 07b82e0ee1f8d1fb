/* Objects, devices and their mappings, with the contract's semantics:
 * an object is one set of regions shared by every device attached to it;
 * one owner per device; a client's objects die with its connection and
 * their devices go back to blocked (or to what the configuration gives
 * them). Every change either completes on every unit or is rolled back. */
#include <errno.h>
#include <string.h>

#include "service.h"

#define PAGE 4096ull

void devid_label(const union smmu_devid *id, char *buf, size_t len)
{
    if (id->type == SDT_PCI)
        snprintf(buf, len, "pci:%u:%u.%u", id->pci.bus, id->pci.dev, id->pci.func);
    else
        snprintf(buf, len, "mem:0x%llx", (unsigned long long)id->mmio.phys);
}

static unsigned perms_of(unsigned flags)
{
    /* a device fetching "instructions" still reads memory */
#ifdef SMMU_MUTATION_WRONG_PERMISSION
    if (flags & SMF_READ) flags |= SMF_WRITE;
#endif
    return (flags & (SMF_READ | SMF_EXEC) ? PT_READ : 0) | (flags & SMF_WRITE ? PT_WRITE : 0);
}

/* A hardware failure (timeout, lost registers) cannot be answered to one
 * client: the unit's state is unknown. */
static bool fatal(int rc) { return rc == -ETIMEDOUT || rc == -EIO || rc == -EPIPE || rc == -ECONNRESET; }

Device *dev_lookup(Service *s, const union smmu_devid *id, bool create, int *rc)
{
    char label[40];
    if (id->type == SDT_PCI) {
        if (id->pci.bus == SMMU_PCI_FIELD_ANY || id->pci.dev == SMMU_PCI_FIELD_ANY || id->pci.func == SMMU_PCI_FIELD_ANY ||
            id->pci.bus > 255 || id->pci.dev > 31 || id->pci.func > 7) {
            *rc = -EINVAL; /* wildcards: not supported (docs/api.md) */
            return NULL;
        }
    } else if (id->type != SDT_MMIO) {
        *rc = -EINVAL;
        return NULL;
    }
    devid_label(id, label, sizeof label);
    Device *d = g_hash_table_lookup(s->devices, label);
    if (d || !create) {
        *rc = d ? 0 : -ENOENT;
        return d;
    }
    /* Not in the configuration: PCI devices belong to the first unit with
     * StreamID = requester ID; an MMIO device needs a "device mem:... use". */
    if (id->type != SDT_PCI || s->n_units == 0) {
        *rc = -ENOENT;
        return NULL;
    }
    d = g_new0(Device, 1);
    d->id = *id;
    g_strlcpy(d->label, label, sizeof d->label);
    d->unit = 0;
    d->sid = id->pci.bus << 8 | id->pci.dev << 3 | id->pci.func;
    d->reserved = g_array_new(FALSE, FALSE, sizeof(Region));
    g_hash_table_insert(s->devices, d->label, d);
    *rc = 0;
    return d;
}

Device *dev_by_sid(Service *s, unsigned unit, uint32_t sid)
{
    GHashTableIter it;
    gpointer v;
    g_hash_table_iter_init(&it, s->devices);
    while (g_hash_table_iter_next(&it, NULL, &v)) {
        Device *d = v;
        if (d->unit == unit && d->sid == sid) return d;
    }
    return NULL;
}

/* Writes segments into every domain of the object. */
static int apply(Service *s, Object *o, GArray *segs, char *err, size_t errlen)
{
    for (unsigned u = 0; u < s->n_units; u++) {
        if (!o->domains[u]) continue;
        for (guint i = 0; i < segs->len; i++) {
            RegionSeg *g = &g_array_index(segs, RegionSeg, i);
            int rc = s->hw->map(s->units[u].hw, o->domains[u], g->iova, g->pa, g->len, g->perms, err, errlen);
            if (rc) return rc;
        }
    }
    return 0;
}

static void seg_span(GArray *segs, uint64_t *from, uint64_t *to)
{
    RegionSeg *a = &g_array_index(segs, RegionSeg, 0), *b = &g_array_index(segs, RegionSeg, segs->len - 1);
    *from = a->iova;
    *to = b->iova + b->len;
}

/* Changes the object's regions (add or remove) and its tables, all or
 * nothing: on a failure the old regions and tables come back. */
static int change(Service *s, Object *o, bool add, const Region *rs, size_t n, char *err, size_t errlen)
{
    g_autoptr(GArray) old = g_array_copy(o->regions.regions);
    g_autoptr(GArray) segs = g_array_new(FALSE, FALSE, sizeof(RegionSeg));
    int rc = add ? region_set_add(&o->regions, rs, n, segs) : region_set_remove(&o->regions, rs, n, segs);
    if (rc) {
        snprintf(err, errlen, rc == -EEXIST ? "a page would be reached through two different translations"
                                            : "invalid region (length 0, wraps, or target at another page offset)");
        return rc;
    }
    if (segs->len == 0) return 0;
    rc = apply(s, o, segs, err, errlen);
    if (!rc) return 0;
    if (fatal(rc)) svc_dss(s, "%s", err);
    /* roll back: old regions, and their mapping over the same span */
    uint64_t from, to;
    seg_span(segs, &from, &to);
    g_array_unref(o->regions.regions);
    o->regions.regions = g_array_ref(old);
    g_autoptr(GArray) back = g_array_new(FALSE, FALSE, sizeof(RegionSeg));
    region_set_segments(&o->regions, from, to, back);
    char why[200];
    int rb = apply(s, o, back, why, sizeof why);
    if (rb) svc_dss(s, "restoring mappings after a failed change: %s", why);
    return rc;
}

Object *obj_create(Service *s, Client *c, unsigned flags)
{
    Object *o = g_new0(Object, 1);
    o->id = ++s->next_object;
    o->client = c;
    o->flags = flags;
    region_set_init(&o->regions);
    o->devices = g_ptr_array_new();
    g_hash_table_insert(s->objects, &o->id, o);
    if (c) g_hash_table_insert(c->objects, &o->id, o);
    return o;
}

static int ensure_domain(Service *s, Object *o, unsigned unit, char *err, size_t errlen)
{
    if (o->domains[unit]) return 0;
    int rc = s->hw->domain_create(s->units[unit].hw, &o->domains[unit], err, errlen);
    if (rc) return rc;
    /* ours: the service replays the object's regions onto the new unit itself */
    g_autoptr(GArray) segs = g_array_new(FALSE, FALSE, sizeof(RegionSeg));
    region_set_mapped(&o->regions, segs);
    rc = apply(s, o, segs, err, errlen);
    if (rc) {
        if (fatal(rc)) svc_dss(s, "%s", err);
        s->hw->domain_destroy(s->units[unit].hw, o->domains[unit]);
        o->domains[unit] = NULL;
    }
    return rc;
}

static void reserved_regions(Service *s, Object *o, Device *d, bool add)
{
    if (o->flags & SOCF_RESERVED_MANUAL || d->reserved->len == 0) return;
    char err[200];
    if (add) {
        if (change(s, o, true, (Region *)(void *)d->reserved->data, d->reserved->len, err, sizeof err))
            svc_log(s, SMMU_LOG_WARN, "%s: reserved regions not mapped in object %llu: %s", d->label,
                    (unsigned long long)o->id, err);
        return;
    }
    for (guint i = 0; i < d->reserved->len; i++) {
        g_autoptr(GArray) segs = g_array_new(FALSE, FALSE, sizeof(RegionSeg));
        if (region_set_remove_exact(&o->regions, &g_array_index(d->reserved, Region, i), segs) == 0 &&
            apply(s, o, segs, err, sizeof err))
            svc_dss(s, "removing reserved regions of %s: %s", d->label, err);
    }
}

/* Points the device at o's tables (o == NULL: blocked). */
static int point(Service *s, Device *d, Object *o, char *err, size_t errlen)
{
    if (o) {
        int rc = ensure_domain(s, o, d->unit, err, errlen);
        if (rc) return rc;
    }
    int rc = s->hw->attach(s->units[d->unit].hw, o ? o->domains[d->unit] : NULL, d->sid, err, errlen);
    if (rc) svc_dss(s, "%s: %s", d->label, err); /* the device's state is unknown */
    if (d->owner) {
        g_ptr_array_remove(d->owner->devices, d);
        if (d->owner != d->home) reserved_regions(s, d->owner, d, false);
    }
    d->owner = o;
    if (o) g_ptr_array_add(o->devices, d);
    return 0;
}

/* The device leaves a client's object: back home, or blocked. */
static void release(Service *s, Device *d)
{
    char err[200];
    if (point(s, d, d->home, err, sizeof err)) {
        svc_log(s, SMMU_LOG_WARN, "%s: %s; blocking it instead", d->label, err);
        point(s, d, NULL, err, sizeof err);
    }
}

void obj_destroy(Service *s, Object *o)
{
    while (o->devices->len) release(s, g_ptr_array_index(o->devices, 0));
    for (unsigned u = 0; u < s->n_units; u++)
        if (o->domains[u]) s->hw->domain_destroy(s->units[u].hw, o->domains[u]);
    if (o->client) g_hash_table_remove(o->client->objects, &o->id);
    g_hash_table_remove(s->objects, &o->id);
    region_set_clear(&o->regions);
    g_ptr_array_unref(o->devices);
    g_free(o);
}

int obj_device_add(Service *s, Client *c, Object *o, const union smmu_devid *id, char *err, size_t errlen)
{
    int rc;
    Device *d = dev_lookup(s, id, true, &rc);
    if (!d) {
        snprintf(err, errlen, rc == -EINVAL ? "invalid device id" : "no unit controls this device");
        return rc;
    }
    Object *cur = d->owner;
    bool mine = cur && cur->client == c;
    if (cur && !mine && cur != d->home) {
        snprintf(err, errlen, "%s is owned by another client", d->label);
        return -EBUSY;
    }
    if (cur && cur == d->home && cur->origin[0]) { /* origin: a startup mapping */
        snprintf(err, errlen, "%s has a startup mapping (%s)", d->label, cur->origin);
        return -EBUSY;
    }
    if (!o) {
        if (!mine) {
            snprintf(err, errlen, "%s is not attached to an object of this client", d->label);
            return -ENOENT;
        }
        release(s, d);
        return 0;
    }
    if (o == cur) return 0;
    if ((rc = point(s, d, o, err, errlen))) return rc;
    reserved_regions(s, o, d, true);
    svc_log(s, SMMU_LOG_INFO, "%s attached to object %llu (client %u)", d->label, (unsigned long long)o->id,
            c ? c->id : 0);
    return 0;
}

/* No device may ever reach the IOMMU's own tables: one that could write
 * them could map itself anywhere. */
static int check_not_tables(Service *s, const Region *rs, size_t n, char *err, size_t errlen)
{
    uint64_t base, size;
    platform_pool(s->platform, &base, &size);
    for (size_t i = 0; i < n; i++) {
        /* whole pages count: a region reaches every page it touches */
        uint64_t a = rs[i].target & ~(PAGE - 1), b = (rs[i].target + rs[i].len - 1) | (PAGE - 1);
        if (a < base + size && base <= b) {
            snprintf(err, errlen, "0x%llx+0x%llx reaches the IOMMU's table memory 0x%llx+0x%llx",
                     (unsigned long long)rs[i].target, (unsigned long long)rs[i].len, (unsigned long long)base,
                     (unsigned long long)size);
            return -EPERM;
        }
    }
    return 0;
}

int obj_mapping(Service *s, Client *c, Object *o, unsigned flags, const struct smmu_map_entry *e, unsigned n,
                uint64_t target, char *err, size_t errlen)
{
    if ((flags & SMF_TARGET) && !(c && c->target)) {
        snprintf(err, errlen, "SMF_TARGET needs the target ability (the target socket)");
        return -EPERM;
    }
    unsigned perms = perms_of(flags);
    g_autofree Region *rs = g_new0(Region, n);
    uint64_t t = target;
    for (unsigned i = 0; i < n; i++) {
        rs[i] = (Region){ .start = e[i].phys, .len = e[i].len, .perms = perms, .target = e[i].phys };
        if (flags & SMF_TARGET) { /* entries lie back to back in the target space */
            rs[i].target = t;
            t += e[i].len;
        }
    }
    int rc = perms ? check_not_tables(s, rs, n, err, errlen) : 0;
    if (!rc) rc = change(s, o, perms != 0, rs, n, err, errlen);
    if (!rc)
        svc_log(s, SMMU_LOG_DEBUG, "object %llu: %s %u range(s) from 0x%llx", (unsigned long long)o->id,
                perms ? "mapped" : "unmapped", n, (unsigned long long)e[0].phys);
    return rc;
}

static const CfgAllow *find_allow(Service *s, const char *name)
{
    for (guint i = 0; i < s->cfg.allows->len; i++) {
        const CfgAllow *a = g_ptr_array_index(s->cfg.allows, i);
        if (strcmp(a->name, name) == 0) return a;
    }
    return NULL;
}

/* Startup mappings and reserved regions: objects owned by the configuration. */
int obj_apply_config(Service *s, char *err, size_t errlen)
{
    for (guint i = 0; i < s->cfg.devices->len; i++) {
        CfgDevice *cd = g_ptr_array_index(s->cfg.devices, i);
        char where[80];
        snprintf(where, sizeof where, "%s:%u", cd->where.file, cd->where.line);
        unsigned unit = 0;
        if (cd->use_unit) {
            for (unit = 0; unit < s->n_units && strcmp(s->units[unit].name, cd->use_unit); unit++) {}
            if (unit == s->n_units) {
                snprintf(err, errlen, "%s: unit '%s' is not in use", where, cd->use_unit);
                return -ENOENT;
            }
        }
        int rc;
        Device *d = dev_lookup(s, &cd->id, cd->id.type == SDT_PCI, &rc);
        if (!d) { /* an MMIO device exists only through its configuration */
            d = g_new0(Device, 1);
            d->id = cd->id;
            devid_label(&cd->id, d->label, sizeof d->label);
            d->reserved = g_array_new(FALSE, FALSE, sizeof(Region));
            g_hash_table_insert(s->devices, d->label, d);
            if (!cd->has_use_param) {
                snprintf(err, errlen, "%s: %s needs 'use UNIT STREAMID'", where, d->label);
                return -EINVAL;
            }
        }
        d->unit = unit;
        if (cd->has_use_param) d->sid = cd->use_param;
        for (guint k = 0; k < cd->reserved->len; k++) {
            CfgReserved *r = &g_array_index(cd->reserved, CfgReserved, k);
            Region rg = { r->start, r->len, perms_of(r->perms), r->start };
            char why[200];
            if (check_not_tables(s, &rg, 1, why, sizeof why)) {
                snprintf(err, errlen, "%s:%u: reserved %s", r->where.file, r->where.line, why);
                return -EPERM;
            }
            g_array_append_val(d->reserved, rg);
        }
        if (cd->allow->len == 0 && d->reserved->len == 0) continue;
        Object *o = obj_create(s, NULL, 0);
        if (cd->allow->len) g_strlcpy(o->origin, where, sizeof o->origin);
        for (guint k = 0; k < cd->allow->len; k++) {
            const CfgAllow *a = find_allow(s, g_ptr_array_index(cd->allow, k));
            Region rg = { a->start, a->len, perms_of(a->perms), a->start };
            char why[200];
            if (check_not_tables(s, &rg, 1, why, sizeof why)) {
                snprintf(err, errlen, "%s:%u: allow %s: %s", a->where.file, a->where.line, a->name, why);
                return -EPERM;
            }
            if ((rc = change(s, o, true, &rg, 1, err, errlen))) return rc;
        }
        d->home = o;
        if ((rc = point(s, d, o, err, errlen))) return rc;
        reserved_regions(s, o, d, true);
        svc_log(s, SMMU_LOG_INFO, "%s: %s from the configuration (%s)", d->label,
                cd->allow->len ? "startup mapping" : "reserved regions", where);
    }
    return 0;
}
