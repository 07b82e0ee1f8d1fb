/* Objects, devices and their mappings, with the contract's semantics:
 * an object is one set of regions shared by every device attached to it;
 * one owner per device; a client's objects die with its connection and
 * their devices go back to blocked (or to what the configuration gives
 * them).
 *
 * A request that cannot be carried out is refused before anything changes:
 * every range is checked against every unit the object uses (address
 * widths), the table pages a change takes are bounded beforehand and
 * weighed against the pool and the client's share, and a device a unit
 * cannot translate is refused before it is touched. What still fails after
 * those checks is the hardware (a DSS), never the client. */
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

/* The support library's refusals, made before anything changed (smmu-hw.h);
 * anything else leaves the unit in a state nobody knows. */
static bool refused(int rc)
{
    return rc == -EINVAL || rc == -ERANGE || rc == -ENOENT || rc == -ENOMEM || rc == -ENOSPC;
}

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

/* A device only a client named is forgotten once it is blocked again, so
 * that naming devices costs nothing that outlives them. */
static void dev_forget_if_unused(Service *s, Device *d)
{
    if (d->configured || d->owner) return;
    g_hash_table_remove(s->devices, d->label);
    g_array_unref(d->reserved);
    g_free(d);
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

/* ---- table memory: the pool and each client's share ---------------------- */

static size_t pool_free(const Service *s) { return pool_pages_total(s->pool) - pool_pages_used(s->pool); }

/* Whether `pages` more table pages can be taken for client c (NULL: the
 * configuration). -EDQUOT past the client's share, -ENOMEM past the pool. */
static int budget(Service *s, const Client *c, size_t pages, char *err, size_t errlen)
{
    if (c && c->pages + pages > s->limits.client_pages) {
        snprintf(err, errlen, "table memory: this needs up to %zu more pages; the client holds %zu of its share of %zu",
                 pages, c->pages, s->limits.client_pages);
        return -EDQUOT;
    }
    if (pages > pool_free(s)) {
        snprintf(err, errlen, "table memory: this needs up to %zu pages; %zu of %zu are free", pages, pool_free(s),
                 pool_pages_total(s->pool));
        return -ENOMEM;
    }
    return 0;
}

/* What an object's own domains took or gave back, measured on the pool. */
static void charge(Object *o, size_t before, size_t after)
{
    size_t delta_up = after > before ? after - before : 0, delta_down = before > after ? before - after : 0;
    if (delta_down > o->pages) delta_down = o->pages;
    o->pages += delta_up;
    o->pages -= delta_down;
    if (o->client) {
        o->client->pages += delta_up;
        o->client->pages -= delta_down <= o->client->pages ? delta_down : o->client->pages;
    }
}

/* ---- applying segments ------------------------------------------------------ */

static GArray *hw_segs(GArray *segs)
{
    GArray *h = g_array_sized_new(FALSE, FALSE, sizeof(SmmuHwSeg), segs->len);
    for (guint i = 0; i < segs->len; i++) {
        const RegionSeg *g = &g_array_index(segs, RegionSeg, i);
        SmmuHwSeg x = { g->iova, g->pa, g->len, g->perms };
        g_array_append_val(h, x);
    }
    return h;
}

/* Checks segs against unit u for object o's domain there (or a new one),
 * adding the table pages they take to *pages. */
static int check_unit(Service *s, Object *o, unsigned u, GArray *segs, size_t *pages, char *err, size_t errlen)
{
    g_autoptr(GArray) h = hw_segs(segs);
    size_t p = 0;
    int rc = s->hw->map_check(s->units[u].hw, o->domains[u], (const SmmuHwSeg *)(void *)h->data, h->len, &p, err, errlen);
    if (!rc) *pages += p;
    return rc;
}

/* Checks a change of o's tables before it is made: every unit the object
 * uses (every unit while it uses none, so that a region no unit could ever
 * reach is refused at once), then table memory. */
static int check_change(Service *s, Object *o, GArray *segs, char *err, size_t errlen)
{
    size_t pages = 0;
    bool any = false;
    for (unsigned u = 0; u < s->n_units; u++) any |= o->domains[u] != NULL;
    for (unsigned u = 0; u < s->n_units; u++) {
        if (any && !o->domains[u]) continue;
        size_t p = 0;
        int rc = check_unit(s, o, u, segs, &p, err, errlen);
        if (rc) return rc;
        if (o->domains[u]) pages += p;
    }
    return budget(s, o->client, pages, err, errlen);
}

static int apply_unit(Service *s, Object *o, unsigned u, GArray *segs, char *err, size_t errlen)
{
    if (segs->len == 0) return 0;
    g_autoptr(GArray) h = hw_segs(segs);
    return s->hw->map_segs(s->units[u].hw, o->domains[u], (const SmmuHwSeg *)(void *)h->data, h->len, err, errlen);
}

/* Writes segments into every domain of the object. */
static int apply(Service *s, Object *o, GArray *segs, char *err, size_t errlen)
{
    size_t before = pool_pages_used(s->pool);
    int rc = 0;
    for (unsigned u = 0; u < s->n_units && !rc; u++)
        if (o->domains[u]) rc = apply_unit(s, o, u, segs, err, errlen);
    charge(o, before, pool_pages_used(s->pool));
    return rc;
}

static void seg_span(GArray *segs, uint64_t *from, uint64_t *to)
{
    RegionSeg *a = &g_array_index(segs, RegionSeg, 0), *b = &g_array_index(segs, RegionSeg, segs->len - 1);
    *from = a->iova;
    *to = b->iova + b->len;
}

static void set_regions(Object *o, GArray *regions)
{
    size_t before = region_set_count(&o->regions);
    g_array_unref(o->regions.regions);
    o->regions.regions = g_array_ref(regions);
    if (o->client) o->client->n_regions = o->client->n_regions - before + region_set_count(&o->regions);
}

/* Changes the object's regions (add, remove, or remove exactly these) and
 * its tables, all or nothing. Everything a check can see is checked before
 * the first table changes; what fails after that is the hardware. */
typedef enum { CHANGE_ADD, CHANGE_REMOVE, CHANGE_REMOVE_EXACT } ChangeKind;

static int change(Service *s, Object *o, ChangeKind kind, const Region *rs, size_t n, char *err, size_t errlen)
{
    g_autoptr(GArray) old = g_array_copy(o->regions.regions);
    g_autoptr(GArray) segs = g_array_new(FALSE, FALSE, sizeof(RegionSeg));
    size_t count_before = region_set_count(&o->regions);
    int rc = 0;
    if (kind == CHANGE_ADD) rc = region_set_add(&o->regions, rs, n, segs);
    else if (kind == CHANGE_REMOVE) rc = region_set_remove(&o->regions, rs, n, segs);
    else
        for (size_t i = 0; i < n && !rc; i++) {
            rc = region_set_remove_exact(&o->regions, &rs[i], segs);
            if (rc == -ENOENT) rc = 0; /* already gone (the client unmapped it): nothing to take out */
        }
    if (rc) {
        g_array_unref(o->regions.regions);
        o->regions.regions = g_array_ref(old);
        snprintf(err, errlen, rc == -EEXIST ? "a page would be reached through two different translations"
                              : rc == -ENOENT ? "no such region"
                                              : "invalid region (length 0, wraps, or target at another page offset)");
        return rc;
    }
    size_t count_after = region_set_count(&o->regions);
    if (o->client && count_after > count_before &&
        o->client->n_regions + (count_after - count_before) > s->limits.client_regions) {
        g_array_unref(o->regions.regions);
        o->regions.regions = g_array_ref(old);
        snprintf(err, errlen, "the client's regions would exceed its share of %zu", s->limits.client_regions);
        return -EDQUOT;
    }
    if (segs->len && (rc = check_change(s, o, segs, err, errlen))) {
        g_array_unref(o->regions.regions);
        o->regions.regions = g_array_ref(old);
        return rc;
    }
    if (o->client) o->client->n_regions = o->client->n_regions - count_before + count_after;
    if (segs->len == 0) return 0;
    rc = apply(s, o, segs, err, errlen);
    if (!rc) return 0;
    if (!refused(rc)) svc_dss(s, "%s", err);
    /* The checks above should have seen it coming: put back the old
     * regions and their mapping over the same span. */
    uint64_t from, to;
    seg_span(segs, &from, &to);
    set_regions(o, old);
    g_autoptr(GArray) back = g_array_new(FALSE, FALSE, sizeof(RegionSeg));
    region_set_segments(&o->regions, from, to, back);
    char why[200];
    if (apply(s, o, back, why, sizeof why)) svc_dss(s, "restoring mappings after a failed change: %s", why);
    return rc;
}

/* ---- objects and devices -------------------------------------------------- */

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

static void domain_drop(Service *s, Object *o, unsigned unit)
{
    size_t before = pool_pages_used(s->pool);
    s->hw->domain_destroy(s->units[unit].hw, o->domains[unit]);
    o->domains[unit] = NULL;
    charge(o, before, pool_pages_used(s->pool));
}

/* A domain on `unit` for o, holding o's regions (ours: the service replays
 * them itself), checked before it is made. *created: it is new. */
static int ensure_domain(Service *s, Object *o, unsigned unit, bool *created, char *err, size_t errlen)
{
    *created = false;
    if (o->domains[unit]) return 0;
    g_autoptr(GArray) segs = g_array_new(FALSE, FALSE, sizeof(RegionSeg));
    region_set_mapped(&o->regions, segs);
    size_t pages = 0;
    int rc = check_unit(s, o, unit, segs, &pages, err, errlen);
    if (!rc) rc = budget(s, o->client, pages, err, errlen);
    if (rc) return rc;
    size_t before = pool_pages_used(s->pool);
    rc = s->hw->domain_create(s->units[unit].hw, &o->domains[unit], err, errlen);
    charge(o, before, pool_pages_used(s->pool));
    if (rc) return rc;
    before = pool_pages_used(s->pool);
    rc = apply_unit(s, o, unit, segs, err, errlen);
    charge(o, before, pool_pages_used(s->pool));
    if (rc) {
        if (!refused(rc)) svc_dss(s, "%s", err);
        domain_drop(s, o, unit); /* no device points at it yet */
        return rc;
    }
    *created = true;
    return 0;
}

/* The device's reserved regions in o (unless o manages them itself). */
static bool reserved_apply(const Object *o, const Device *d)
{
    return !(o->flags & SOCF_RESERVED_MANUAL) && d->reserved->len > 0;
}

static int reserved_change(Service *s, Object *o, Device *d, bool add, char *err, size_t errlen)
{
    if (!reserved_apply(o, d)) return 0;
    char why[256];
    int rc = change(s, o, add ? CHANGE_ADD : CHANGE_REMOVE_EXACT, (const Region *)(void *)d->reserved->data,
                    d->reserved->len, why, sizeof why);
    if (rc) snprintf(err, errlen, "%s's reserved regions %s object %llu: %s", d->label, add ? "in" : "out of",
                     (unsigned long long)o->id, why);
    return rc;
}

/* Points the device at o's tables (o == NULL: blocked) and moves it there.
 * `keep_reserved_in_old`: the old owner is dying, leave its regions be. */
static int point(Service *s, Device *d, Object *o, bool old_dying, char *err, size_t errlen)
{
    int rc = s->hw->attach(s->units[d->unit].hw, o ? o->domains[d->unit] : NULL, d->sid, err, errlen);
    if (rc && !refused(rc)) svc_dss(s, "%s: %s", d->label, err); /* the device's state is unknown */
    if (rc) return rc;
    Object *old = d->owner;
    if (old) {
        g_ptr_array_remove(old->devices, d);
        if (old != d->home && !old_dying) {
            char why[256];
            /* checked by the caller; failing now is the pool shrinking under us */
            if (reserved_change(s, old, d, false, why, sizeof why))
                svc_log(s, SMMU_LOG_WARN, "%s", why);
        }
        if (old->client && (!o || o->client != old->client) && old->client->n_devices) old->client->n_devices--;
    }
    if (o && o->client && (!old || old->client != o->client)) o->client->n_devices++;
    d->owner = o;
    if (o) g_ptr_array_add(o->devices, d);
    return 0;
}

/* The device leaves a client's object: back home, or blocked. Going home
 * needs nothing new: the home's domain exists and the device's bus is in
 * use by the device itself. */
static void release(Service *s, Device *d, bool old_dying)
{
    char err[200];
    if (point(s, d, d->home, old_dying, err, sizeof err)) {
        svc_log(s, SMMU_LOG_WARN, "%s: %s; blocking it instead", d->label, err);
        if (point(s, d, NULL, old_dying, err, sizeof err))
            svc_dss(s, "%s: cannot block it: %s", d->label, err);
    }
    dev_forget_if_unused(s, d);
}

void obj_destroy(Service *s, Object *o)
{
    while (o->devices->len) release(s, g_ptr_array_index(o->devices, 0), true);
    for (unsigned u = 0; u < s->n_units; u++)
        if (o->domains[u]) domain_drop(s, o, u);
    if (o->client) {
        o->client->n_regions -= region_set_count(&o->regions) <= o->client->n_regions ? region_set_count(&o->regions)
                                                                                        : o->client->n_regions;
        o->client->pages -= o->pages <= o->client->pages ? o->pages : o->client->pages;
        g_hash_table_remove(o->client->objects, &o->id);
    }
    g_hash_table_remove(s->objects, &o->id);
    region_set_clear(&o->regions);
    g_ptr_array_unref(o->devices);
    g_free(o);
}

/* Pages the device's leaving `from` takes: its reserved regions come out,
 * which may split a leaf. */
static int leave_cost(Service *s, Device *d, Object *from, size_t *pages, char *err, size_t errlen)
{
    *pages = 0;
    if (!from || from == d->home || !reserved_apply(from, d)) return 0;
    RegionSet copy = { g_array_copy(from->regions.regions) };
    g_autoptr(GArray) segs = g_array_new(FALSE, FALSE, sizeof(RegionSeg));
    for (guint i = 0; i < d->reserved->len; i++)
        region_set_remove_exact(&copy, &g_array_index(d->reserved, Region, i), segs);
    region_set_clear(&copy);
    int rc = 0;
    for (unsigned u = 0; u < s->n_units && !rc && segs->len; u++)
        if (from->domains[u]) rc = check_unit(s, from, u, segs, pages, err, errlen);
    return rc;
}

int obj_device_add(Service *s, Client *c, Object *o, const union smmu_devid *id, char *err, size_t errlen)
{
    int rc;
    Device *d = dev_lookup(s, id, false, &rc);
    bool new_entry = !d;
    if (!d) {
        if (!o) {
            snprintf(err, errlen, "the device is not attached to an object of this client");
            return rc == -EINVAL ? rc : -ENOENT;
        }
        if (!(d = dev_lookup(s, id, true, &rc))) {
            snprintf(err, errlen, rc == -EINVAL ? "invalid device id" : "no unit controls this device");
            return rc;
        }
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
        size_t pages;
        if ((rc = leave_cost(s, d, cur, &pages, err, errlen)) || (rc = budget(s, c, pages, err, errlen))) return rc;
        release(s, d, false);
        return 0;
    }
    if (o == cur) return 0;
    if (!mine && c && c->n_devices >= s->limits.client_devices) {
        snprintf(err, errlen, "the client holds %u devices, its share", c->n_devices);
        rc = -EDQUOT;
        goto undo_entry;
    }
    /* Everything is checked or reserved before the device moves. */
    size_t attach_pages = 0, leave_pages = 0;
    /* the attach structures (a bus's context table) are the unit's, not
     * the client's; leaving the old object takes from the client's share */
    if ((rc = s->hw->attach_check(s->units[d->unit].hw, d->sid, &attach_pages, err, errlen)) ||
        (rc = leave_cost(s, d, mine ? cur : NULL, &leave_pages, err, errlen)) ||
        (rc = budget(s, c, leave_pages, err, errlen)) || (rc = budget(s, NULL, attach_pages + leave_pages, err, errlen)))
        goto undo_entry;
    bool created;
    if ((rc = ensure_domain(s, o, d->unit, &created, err, errlen))) goto undo_entry;
    if ((rc = reserved_change(s, o, d, true, err, errlen))) goto undo_domain;
    if ((rc = budget(s, NULL, attach_pages + leave_pages, err, errlen)) ||
        (rc = point(s, d, o, false, err, errlen))) {
        char why[256];
        if (reserved_change(s, o, d, false, why, sizeof why)) svc_dss(s, "undoing a refused attach: %s", why);
        goto undo_domain;
    }
    svc_log(s, SMMU_LOG_INFO, "%s attached to object %llu (client %u)", d->label, (unsigned long long)o->id,
            c ? c->id : 0);
    return 0;
undo_domain:
    if (created) domain_drop(s, o, d->unit);
undo_entry:
    if (new_entry) dev_forget_if_unused(s, d);
    return rc;
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
            if (e[i].len > UINT64_MAX - t) {
                snprintf(err, errlen, "entries[%u]: the target range runs past 2^64", i);
                return -ERANGE;
            }
            rs[i].target = t;
            t += e[i].len;
        }
    }
    int rc = perms ? check_not_tables(s, rs, n, err, errlen) : 0;
    if (!rc) rc = change(s, o, perms ? CHANGE_ADD : CHANGE_REMOVE, rs, n, err, errlen);
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

/* Startup mappings and reserved regions: objects owned by the configuration.
 * Every message names the configuration line it comes from. */
int obj_apply_config(Service *s, char *err, size_t errlen)
{
    char why[256];
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
            if (!cd->has_use_param) {
                snprintf(err, errlen, "%s: mem:0x%llx needs 'use UNIT STREAMID'", where,
                         (unsigned long long)cd->id.mmio.phys);
                return -EINVAL;
            }
            d = g_new0(Device, 1);
            d->id = cd->id;
            devid_label(&cd->id, d->label, sizeof d->label);
            d->reserved = g_array_new(FALSE, FALSE, sizeof(Region));
            g_hash_table_insert(s->devices, d->label, d);
        }
        d->configured = true;
        d->unit = unit;
        if (cd->has_use_param) d->sid = cd->use_param;
        size_t pages;
        if ((rc = s->hw->attach_check(s->units[unit].hw, d->sid, &pages, why, sizeof why))) {
            snprintf(err, errlen, "%s: %s", where, why);
            return rc;
        }
        for (guint k = 0; k < cd->reserved->len; k++) {
            CfgReserved *r = &g_array_index(cd->reserved, CfgReserved, k);
            Region rg = { r->start, r->len, perms_of(r->perms), r->start };
            /* the unit must be able to translate it: said at its own line */
            SmmuHwSeg seg = { rg.start & ~(PAGE - 1), rg.start & ~(PAGE - 1),
                              ((rg.start + rg.len - 1) | (PAGE - 1)) - (rg.start & ~(PAGE - 1)) + 1, rg.perms };
            if ((rc = check_not_tables(s, &rg, 1, why, sizeof why)) ||
                (rc = s->hw->map_check(s->units[unit].hw, NULL, &seg, 1, &pages, why, sizeof why))) {
                snprintf(err, errlen, "%s:%u: reserved: %s", r->where.file, r->where.line, why);
                return rc;
            }
            g_array_append_val(d->reserved, rg);
        }
        if (cd->allow->len == 0 && d->reserved->len == 0) continue;
        Object *o = obj_create(s, NULL, 0);
        if (cd->allow->len) g_strlcpy(o->origin, where, sizeof o->origin);
        bool created;
        if ((rc = ensure_domain(s, o, unit, &created, why, sizeof why))) {
            snprintf(err, errlen, "%s: %s", where, why);
            return rc;
        }
        for (guint k = 0; k < cd->allow->len; k++) {
            const CfgAllow *a = find_allow(s, g_ptr_array_index(cd->allow, k));
            Region rg = { a->start, a->len, perms_of(a->perms), a->start };
            if ((rc = check_not_tables(s, &rg, 1, why, sizeof why)) ||
                (rc = change(s, o, CHANGE_ADD, &rg, 1, why, sizeof why))) {
                snprintf(err, errlen, "%s:%u: allow %s (for %s at %s): %s", a->where.file, a->where.line, a->name,
                         d->label, where, why);
                return rc;
            }
        }
        d->home = o;
        if ((rc = reserved_change(s, o, d, true, why, sizeof why)) || (rc = point(s, d, o, false, why, sizeof why))) {
            snprintf(err, errlen, "%s: %s", where, why);
            return rc;
        }
        svc_log(s, SMMU_LOG_INFO, "%s: %s from the configuration (%s)", d->label,
                cd->allow->len ? "startup mapping" : "reserved regions", where);
    }
    return 0;
}
