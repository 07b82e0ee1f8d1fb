/* Objects, devices and their mappings, with the contract's semantics:
 * an object is one set of regions shared by every device attached to it;
 * one owner per device; a client's objects die with its connection and
 * their devices go back to blocked (or to what the configuration gives
 * them).
 *
 * A request that cannot be carried out is refused before anything changes:
 * every range is checked against every unit the object uses (address
 * widths), the table pages a change takes are bounded beforehand and
 * weighed against the table memory and the client's share, and a device a
 * unit cannot translate is refused before it is touched. What still fails
 * after those checks is put back; what cannot be put back, or a unit in an
 * unknown state, is a DSS decision. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core-internal.h"

#define PAGE 4096ull

static unsigned perms_of(unsigned flags)
{
    /* a device fetching "instructions" still reads memory */
#ifdef SMMU_MUTATION_WRONG_PERMISSION
    if (flags & SMF_READ) flags |= SMF_WRITE;
#endif
#ifdef SMMU_MUTATION_EXEC_WITH_WRITE /* exec is read only when it comes alone: wx loses the read */
    return (flags & SMF_READ || (flags & (SMF_EXEC | SMF_WRITE)) == SMF_EXEC ? PT_READ : 0) | (flags & SMF_WRITE ? PT_WRITE : 0);
#endif
    return (flags & (SMF_READ | SMF_EXEC) ? PT_READ : 0) | (flags & SMF_WRITE ? PT_WRITE : 0);
}

/* The back end's refusals, made before anything changed (smmu-hw.h);
 * anything else leaves the unit in a state nobody knows. */
static bool refused(int rc)
{
    return rc == -EINVAL || rc == -ERANGE || rc == -ENOENT || rc == -ENOMEM || rc == -ENOSPC || rc == -EPERM ||
           rc == -EDQUOT || rc == -EBUSY || rc == -EEXIST;
}

static const SmmuHwOps *ops(const Core *c, unsigned u) { return c->units[u].ops; }
static SmmuHwUnit *hwu(const Core *c, unsigned u) { return c->units[u].hw; }

/* ---- table memory and each client's share ---------------------------------- */

static bool weighed(const Core *c) { return c->mem.pages_used && c->mem.pages_total; }
static size_t mem_used(const Core *c) { return weighed(c) ? c->mem.pages_used(c->mem.ctx) : 0; }
static size_t mem_free(const Core *c) { return weighed(c) ? c->mem.pages_total(c->mem.ctx) - mem_used(c) : 0; }

/* Whether `pages` more table pages can be taken for client cc (NULL: the
 * configuration). -EDQUOT past the client's share, -ENOMEM past the table
 * memory. */
static int budget(const Core *c, const CoreClient *cc, size_t pages, char *err, size_t errlen)
{
    if (!weighed(c)) return 0;
    if (cc && cc->pages + pages > c->limits.client_pages) {
        snprintf(err, errlen, "table memory: this needs up to %zu more pages; the client holds %zu of its share of %zu",
                 pages, cc->pages, c->limits.client_pages);
        return -EDQUOT;
    }
    if (pages > mem_free(c)) {
        snprintf(err, errlen, "table memory: this needs up to %zu pages; %zu of %zu are free", pages, mem_free(c),
                 c->mem.pages_total(c->mem.ctx));
        return -ENOMEM;
    }
    return 0;
}

/* What an object's own domains took or gave back, measured on the table
 * memory, charged to it and its client. */
static void charge(CoreObject *o, size_t before, size_t after)
{
    size_t up = after > before ? after - before : 0, down = before > after ? before - after : 0;
    if (down > o->pages) down = o->pages;
    o->pages += up;
    o->pages -= down;
    if (o->client) {
        o->client->pages += up;
        o->client->pages -= down <= o->client->pages ? down : o->client->pages;
    }
}

/* ---- checking and applying segments --------------------------------------------- */

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
static int check_unit(Core *c, CoreObject *o, unsigned u, GArray *segs, size_t *pages, char *err, size_t errlen)
{
    g_autoptr(GArray) h = hw_segs(segs);
    size_t p = 0;
    int rc = ops(c, u)->map_check(hwu(c, u), o->domains[u], (const SmmuHwSeg *)(void *)h->data, h->len, &p, err,
                                  errlen);
    if (!rc) *pages += p;
    return rc;
}

/* Checks a change of o's tables before it is made: every unit the object
 * uses (every unit while it uses none, so that a region no unit could ever
 * reach is refused at once), then table memory. */
static int check_change(Core *c, CoreObject *o, GArray *segs, char *err, size_t errlen)
{
    size_t pages = 0;
    bool any = false;
    for (unsigned u = 0; u < c->n_units; u++) any |= o->domains[u] != NULL;
    for (unsigned u = 0; u < c->n_units; u++) {
        if (any && !o->domains[u]) continue;
        size_t p = 0;
        int rc = check_unit(c, o, u, segs, &p, err, errlen);
        if (rc) return rc;
        if (o->domains[u]) pages += p;
    }
    return budget(c, o->client, pages, err, errlen);
}

static int apply_unit(Core *c, CoreObject *o, unsigned u, GArray *segs, char *err, size_t errlen)
{
    if (segs->len == 0) return 0;
    g_autoptr(GArray) h = hw_segs(segs);
    size_t before = mem_used(c);
    int rc = ops(c, u)->map_segs(hwu(c, u), o->domains[u], (const SmmuHwSeg *)(void *)h->data, h->len, err, errlen);
    charge(o, before, mem_used(c));
    return rc;
}

/* Writes segments into every domain of the object: one call per unit. */
static int apply(Core *c, CoreObject *o, GArray *segs, char *err, size_t errlen)
{
    int rc = 0;
    for (unsigned u = 0; u < c->n_units && !rc; u++)
        if (o->domains[u]) rc = apply_unit(c, o, u, segs, err, errlen);
    return rc;
}

static void set_regions(CoreObject *o, GArray *regions)
{
    size_t before = region_set_count(&o->regions);
    g_array_unref(o->regions.regions);
    o->regions.regions = g_array_ref(regions);
    if (o->client) o->client->n_regions = o->client->n_regions - before + region_set_count(&o->regions);
}

/* Changes the object's regions (add, remove, or remove exactly these) and
 * its tables, all or nothing. Everything a check can see is checked before
 * the first table changes; what fails after that is put back, and what
 * cannot be put back is a DSS. */
typedef enum { CHANGE_ADD, CHANGE_REMOVE, CHANGE_REMOVE_EXACT } ChangeKind;

static int change(Core *c, CoreObject *o, ChangeKind kind, const Region *rs, size_t n, char *err, size_t errlen)
{
    g_autoptr(GArray) old = g_array_copy(o->regions.regions);
    g_autoptr(GArray) segs = g_array_new(FALSE, FALSE, sizeof(RegionSeg));
    size_t count_before = region_set_count(&o->regions);
    int rc = 0;
    if (kind == CHANGE_ADD) {
        rc = region_set_add(&o->regions, rs, n, segs);
    } else if (kind == CHANGE_REMOVE) {
        rc = region_set_remove(&o->regions, rs, n, segs);
    } else {
        /* one sweep over the span of what went, so that the segments stay
         * sorted and disjoint */
        uint64_t from = UINT64_MAX, to = 0;
        g_autoptr(GArray) ignored = g_array_new(FALSE, FALSE, sizeof(RegionSeg));
        for (size_t i = 0; i < n && !rc; i++) {
            rc = region_set_remove_exact(&o->regions, &rs[i], ignored);
            if (rc == -ENOENT) { /* already gone (the client unmapped it): nothing to take out */
                rc = 0;
                continue;
            }
            uint64_t a = rs[i].start & ~(PAGE - 1), b = ((rs[i].start + rs[i].len - 1) & ~(PAGE - 1)) + PAGE;
            from = MIN(from, a);
            to = MAX(to, b);
        }
        if (!rc && from < to) region_set_segments(&o->regions, from, to, segs);
    }
    if (rc) {
        g_array_unref(o->regions.regions);
        o->regions.regions = g_array_ref(old);
        snprintf(err, errlen, rc == -EEXIST ? "a page would be reached through two different translations"
                                            : "invalid region (length 0, wraps, or target at another page offset)");
        return rc;
    }
    size_t count_after = region_set_count(&o->regions);
    if (o->client && count_after > count_before &&
        o->client->n_regions + (count_after - count_before) > c->limits.client_regions) {
        g_array_unref(o->regions.regions);
        o->regions.regions = g_array_ref(old);
        snprintf(err, errlen, "the client's regions would exceed its share of %zu", c->limits.client_regions);
        return -EDQUOT;
    }
    if (segs->len && (rc = check_change(c, o, segs, err, errlen))) {
        g_array_unref(o->regions.regions);
        o->regions.regions = g_array_ref(old);
        return rc;
    }
    if (o->client) o->client->n_regions = o->client->n_regions - count_before + count_after;
    if (segs->len == 0) return 0;
    rc = apply(c, o, segs, err, errlen);
    if (!rc) return 0;
    if (!refused(rc)) return core_dss(c, "%s", err);
    /* The checks above should have seen it coming: put back the old
     * regions and their mapping over the same span, on every unit. */
    RegionSeg *first = &g_array_index(segs, RegionSeg, 0), *last = &g_array_index(segs, RegionSeg, segs->len - 1);
    set_regions(o, old);
    g_autoptr(GArray) back = g_array_new(FALSE, FALSE, sizeof(RegionSeg));
    region_set_segments(&o->regions, first->iova, last->iova + last->len, back);
    char why[256];
    if (apply(c, o, back, why, sizeof why)) return core_dss(c, "restoring mappings after a failed change: %s", why);
    return rc;
}

/* ---- objects --------------------------------------------------------------------- */

CoreObject *obj_create(Core *c, CoreClient *cc, unsigned flags)
{
    CoreObject *o = g_new0(CoreObject, 1);
    o->id = ++c->next_object;
    o->client = cc;
    o->flags = flags;
    region_set_init(&o->regions);
    o->devices = g_ptr_array_new();
    g_hash_table_insert(c->objects, &o->id, o);
    if (cc) g_hash_table_insert(cc->objects, &o->id, o);
    return o;
}

static void domain_drop(Core *c, CoreObject *o, unsigned unit)
{
    size_t before = mem_used(c);
    ops(c, unit)->domain_destroy(hwu(c, unit), o->domains[unit]);
    o->domains[unit] = NULL;
    charge(o, before, mem_used(c));
}

/* A domain on `unit` for o, holding o's regions (ours: the core replays
 * them itself), checked before it is made. *created: it is new. */
static int ensure_domain(Core *c, CoreObject *o, unsigned unit, bool *created, char *err, size_t errlen)
{
    *created = false;
    if (o->domains[unit]) return 0;
    g_autoptr(GArray) segs = g_array_new(FALSE, FALSE, sizeof(RegionSeg));
    region_set_mapped(&o->regions, segs);
    size_t pages = 0;
    int rc = check_unit(c, o, unit, segs, &pages, err, errlen);
    if (!rc) rc = budget(c, o->client, pages, err, errlen);
    if (rc) return rc;
    size_t before = mem_used(c);
    rc = ops(c, unit)->domain_create(hwu(c, unit), &o->domains[unit], err, errlen);
    charge(o, before, mem_used(c));
    if (rc) {
        o->domains[unit] = NULL;
        return refused(rc) ? rc : core_dss(c, "%s", err);
    }
    rc = apply_unit(c, o, unit, segs, err, errlen);
    if (rc) {
        domain_drop(c, o, unit); /* no device points at it yet */
        return refused(rc) ? rc : core_dss(c, "%s", err);
    }
    *created = true;
    return 0;
}

/* The device's reserved regions in o (unless o manages them itself). */
static bool reserved_apply(const CoreObject *o, const Device *d)
{
    return !(o->flags & SOCF_RESERVED_MANUAL) && d->reserved->len > 0;
}

static int reserved_change(Core *c, CoreObject *o, Device *d, bool add, char *err, size_t errlen)
{
    if (!reserved_apply(o, d)) return 0;
    char why[256];
    int rc = change(c, o, add ? CHANGE_ADD : CHANGE_REMOVE_EXACT, (const Region *)(void *)d->reserved->data,
                    d->reserved->len, why, sizeof why);
    if (rc) snprintf(err, errlen, "%s's reserved regions %s object %llu: %s", d->label, add ? "in" : "out of",
                     (unsigned long long)o->id, why);
    return rc;
}

/* Points the device at o's tables (o == NULL: blocked) and moves it there.
 * old_dying: the old owner is being destroyed, leave its regions be. */
static int point(Core *c, Device *d, CoreObject *o, bool old_dying, char *err, size_t errlen)
{
    int rc = ops(c, d->unit)->attach(hwu(c, d->unit), o ? o->domains[d->unit] : NULL, d->sid, err, errlen);
    if (rc) /* refused: nothing changed; otherwise the device's state is unknown */
        return refused(rc) ? rc : core_dss(c, "%s: %s", d->label, err);
    CoreObject *old = d->owner;
    if (old) {
        g_ptr_array_remove(old->devices, d);
        if (old != d->home && !old_dying) {
            char why[256];
            /* checked by the caller; failing now is the memory shrinking under us */
            if (reserved_change(c, old, d, false, why, sizeof why)) core_log(c, SMMU_LOG_WARN, "%s", why);
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
static void release(Core *c, Device *d, bool old_dying)
{
    char err[200];
    if (point(c, d, d->home, old_dying, err, sizeof err) && !c->dss) {
        core_log(c, SMMU_LOG_WARN, "%s: %s; blocking it instead", d->label, err);
        if (point(c, d, NULL, old_dying, err, sizeof err)) core_dss(c, "%s: cannot block it: %s", d->label, err);
    }
    if (c->dss && d->owner) { /* the hardware is left as it is; the books are closed */
        g_ptr_array_remove(d->owner->devices, d);
        d->owner = NULL;
    }
    dev_forget_if_unused(c, d);
}

void obj_destroy(Core *c, CoreObject *o)
{
    /* the configuration's own objects die only with the core: their
     * devices have no home any more */
    GHashTableIter it;
    gpointer v;
    g_hash_table_iter_init(&it, c->devices);
    while (g_hash_table_iter_next(&it, NULL, &v))
        if (((Device *)v)->home == o) ((Device *)v)->home = NULL;
    while (o->devices->len) release(c, g_ptr_array_index(o->devices, 0), true);
    for (unsigned u = 0; u < c->n_units; u++)
        if (o->domains[u]) domain_drop(c, o, u);
    if (o->client) {
        size_t n = region_set_count(&o->regions);
        o->client->n_regions -= n <= o->client->n_regions ? n : o->client->n_regions;
        o->client->pages -= o->pages <= o->client->pages ? o->pages : o->client->pages;
        g_hash_table_remove(o->client->objects, &o->id);
    }
    g_hash_table_remove(c->objects, &o->id);
    region_set_clear(&o->regions);
    g_ptr_array_unref(o->devices);
    g_free(o);
}

/* Everything the core holds goes: clients first (their devices go home),
 * then the configuration's objects. */
void core_free(Core *c)
{
    if (!c) return;
    while (c->clients) core_client_free(c->clients->data);
    GList *objs = g_hash_table_get_values(c->objects);
    for (GList *l = objs; l; l = l->next) obj_destroy(c, l->data);
    g_list_free(objs);
    GHashTableIter it;
    gpointer v;
    g_hash_table_iter_init(&it, c->devices);
    while (g_hash_table_iter_next(&it, NULL, &v)) {
        Device *d = v;
        g_array_unref(d->reserved);
        g_free(d);
    }
    g_hash_table_unref(c->devices);
    g_hash_table_unref(c->objects);
    g_free(c);
}

/* Its objects die; their devices go home, or to blocked. */
void core_client_free(CoreClient *cc)
{
    Core *c = cc->core;
    GList *objs = g_hash_table_get_values(cc->objects);
    for (GList *l = objs; l; l = l->next) obj_destroy(c, l->data);
    g_list_free(objs);
    g_hash_table_unref(cc->objects);
    c->clients = g_list_remove(c->clients, cc);
    g_free(cc);
}

int core_obj_create(CoreClient *cc, unsigned flags, uint64_t *id, char *err, size_t errlen)
{
    Core *c = cc->core;
    if (c->dss) return -EIO;
    if (g_hash_table_size(cc->objects) >= c->limits.client_objects) {
        snprintf(err, errlen, "the client holds %u objects, its share", g_hash_table_size(cc->objects));
        return -EDQUOT;
    }
    *id = obj_create(c, cc, flags)->id;
    return 0;
}

int core_obj_destroy(CoreClient *cc, uint64_t id)
{
    if (cc->core->dss) return -EIO;
    CoreObject *o = g_hash_table_lookup(cc->objects, &id);
    if (!o) return -ENOENT;
    obj_destroy(cc->core, o);
    return cc->core->dss ? -EIO : 0;
}

/* Pages the device's leaving `from` takes: its reserved regions come out,
 * which may split a leaf. */
static int leave_cost(Core *c, Device *d, CoreObject *from, size_t *pages, char *err, size_t errlen)
{
    *pages = 0;
    if (!from || from == d->home || !reserved_apply(from, d)) return 0;
    RegionSet copy = { g_array_copy(from->regions.regions) };
    g_autoptr(GArray) segs = g_array_new(FALSE, FALSE, sizeof(RegionSeg));
    for (guint i = 0; i < d->reserved->len; i++)
        region_set_remove_exact(&copy, &g_array_index(d->reserved, Region, i), segs);
    region_set_clear(&copy);
    int rc = 0;
    for (unsigned u = 0; u < c->n_units && !rc && segs->len; u++)
        if (from->domains[u]) rc = check_unit(c, from, u, segs, pages, err, errlen);
    return rc;
}

int core_device_add(CoreClient *cc, uint64_t obj, const union smmu_devid *id, char *err, size_t errlen)
{
    Core *c = cc->core;
    if (c->dss) return -EIO;
    CoreObject *o = NULL;
    if (obj && !(o = g_hash_table_lookup(cc->objects, &obj))) {
        snprintf(err, errlen, "object %llu is not this client's", (unsigned long long)obj);
        return -ENOENT;
    }
    int rc;
    Device *d = dev_lookup(c, id, false, &rc);
    bool new_entry = !d;
    if (!d) {
        if (!o) {
            snprintf(err, errlen, "the device is not attached to an object of this client");
            return rc == -EINVAL ? rc : -ENOENT;
        }
        if (!(d = dev_lookup(c, id, true, &rc))) {
            snprintf(err, errlen, rc == -EINVAL ? "invalid device id" : "no unit controls this device");
            return rc;
        }
    }
    CoreObject *cur = d->owner;
    bool mine = cur && cur->client == cc;
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
        if ((rc = leave_cost(c, d, cur, &pages, err, errlen)) || (rc = budget(c, cc, pages, err, errlen))) return rc;
        release(c, d, false);
        return c->dss ? -EIO : 0;
    }
    if (o == cur) return 0;
    if (!mine && cc->n_devices >= c->limits.client_devices) {
        snprintf(err, errlen, "the client holds %u devices, its share", cc->n_devices);
        rc = -EDQUOT;
        goto undo_entry;
    }
    /* Everything is checked or reserved before the device moves. The
     * attach structures (a bus's context table) are the unit's, not the
     * client's; leaving the old object takes from the client's share. */
    size_t attach_pages = 0, leave_pages = 0;
    if ((rc = ops(c, d->unit)->attach_check(hwu(c, d->unit), d->sid, &attach_pages, err, errlen)) ||
        (rc = leave_cost(c, d, mine ? cur : NULL, &leave_pages, err, errlen)) ||
        (rc = budget(c, cc, leave_pages, err, errlen)) || (rc = budget(c, NULL, attach_pages + leave_pages, err, errlen)))
        goto undo_entry;
    bool created;
    if ((rc = ensure_domain(c, o, d->unit, &created, err, errlen))) goto undo_entry;
    if ((rc = reserved_change(c, o, d, true, err, errlen))) goto undo_domain;
    if ((rc = budget(c, NULL, attach_pages + leave_pages, err, errlen)) || (rc = point(c, d, o, false, err, errlen))) {
        char why[256];
        if (c->dss || reserved_change(c, o, d, false, why, sizeof why)) {
            rc = c->dss ? -EIO : core_dss(c, "undoing a refused attach: %s", why);
            goto undo_entry;
        }
        goto undo_domain;
    }
    core_log(c, SMMU_LOG_INFO, "%s attached to object %llu (client %u)", d->label, (unsigned long long)o->id, cc->id);
    return 0;
undo_domain:
    if (created) domain_drop(c, o, d->unit);
undo_entry:
    if (new_entry) dev_forget_if_unused(c, d);
    return rc;
}

/* No device may ever reach the IOMMU's own tables: one that could write
 * them could map itself anywhere. */
static int check_not_tables(const Core *c, const Region *rs, size_t n, char *err, size_t errlen)
{
    const uint64_t base = c->mem.protected_base, size = c->mem.protected_size;
    for (size_t i = 0; size && i < n; i++) {
        /* whole pages count: a region reaches every page it touches */
#ifdef SMMU_MUTATION_POOL_EDGE /* the end taken as the last byte: a range ending at the pool reaches it */
        uint64_t a = rs[i].target & ~(PAGE - 1), b = (rs[i].target + rs[i].len) | (PAGE - 1);
#else
        uint64_t a = rs[i].target & ~(PAGE - 1), b = (rs[i].target + rs[i].len - 1) | (PAGE - 1);
#endif
        if (a < base + size && base <= b) {
            snprintf(err, errlen, "0x%llx+0x%llx reaches the IOMMU's table memory 0x%llx+0x%llx",
                     (unsigned long long)rs[i].target, (unsigned long long)rs[i].len, (unsigned long long)base,
                     (unsigned long long)size);
            return -EPERM;
        }
    }
    return 0;
}

int core_mapping(CoreClient *cc, uint64_t obj, unsigned flags, const struct smmu_map_entry *e, unsigned n,
                 uint64_t target, char *err, size_t errlen)
{
    Core *c = cc->core;
    if (c->dss) return -EIO;
    CoreObject *o = g_hash_table_lookup(cc->objects, &obj);
    if (!o) {
        snprintf(err, errlen, "object %llu is not this client's", (unsigned long long)obj);
        return -ENOENT;
    }
    if ((flags & SMF_TARGET) && !cc->target) {
        snprintf(err, errlen, "SMF_TARGET needs the target ability (the target socket)");
        return -EPERM;
    }
    if (n == 0) {
        snprintf(err, errlen, "no entries");
        return -EINVAL;
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
#ifdef SMMU_MUTATION_TARGET_OFF_BY_PAGE
            /* deliberately broken (scripts/test-mutants): an entry after the
             * first lands one page past where back to back puts it */
            if (i > 0) rs[i].target += PAGE;
#endif
            t += e[i].len;
        }
    }
    int rc = perms ? check_not_tables(c, rs, n, err, errlen) : 0;
    if (!rc) rc = change(c, o, perms ? CHANGE_ADD : CHANGE_REMOVE, rs, n, err, errlen);
    if (!rc)
        core_log(c, SMMU_LOG_DEBUG, "object %llu: %s %u range(s) from 0x%llx", (unsigned long long)o->id,
                 perms ? "mapped" : "unmapped", n, (unsigned long long)e[0].phys);
    return rc;
}

/* ---- the configuration's devices ------------------------------------------------------ */

int core_startup_device(Core *c, const CoreStartupDevice *sd, char *err, size_t errlen)
{
    char why[256];
    if (c->dss) return -EIO;
    if (sd->unit >= c->n_units) {
        snprintf(err, errlen, "%s: no unit %u", sd->where, sd->unit);
        return -ENOENT;
    }
    int rc;
    Device *d = dev_lookup(c, &sd->id, sd->id.type == SDT_PCI, &rc);
    if (!d) { /* an MMIO device exists only through its configuration */
        if (rc == -EINVAL) {
            snprintf(err, errlen, "%s: invalid device", sd->where);
            return rc;
        }
        if (!sd->has_sid) {
            snprintf(err, errlen, "%s: mem:0x%llx needs 'use UNIT STREAMID'", sd->where,
                     (unsigned long long)sd->id.mmio.phys);
            return -EINVAL;
        }
        d = g_new0(Device, 1);
        d->id = sd->id;
        devid_label(&sd->id, d->label, sizeof d->label);
        d->reserved = g_array_new(FALSE, FALSE, sizeof(Region));
        g_hash_table_insert(c->devices, d->label, d);
    }
    d->configured = true;
    d->unit = sd->unit;
    if (sd->has_sid) d->sid = sd->sid;
    size_t pages;
    if ((rc = ops(c, sd->unit)->attach_check(hwu(c, sd->unit), d->sid, &pages, why, sizeof why))) {
        snprintf(err, errlen, "%s: %s", sd->where, why);
        return rc;
    }
    for (size_t k = 0; k < sd->n_reserved; k++) {
        Region rg = sd->reserved[k];
        rg.perms = perms_of(rg.perms);
        rg.target = rg.start;
        /* the unit must be able to translate it: said at its own line */
        SmmuHwSeg seg = { rg.start & ~(PAGE - 1), rg.start & ~(PAGE - 1),
                          ((rg.start + rg.len - 1) | (PAGE - 1)) - (rg.start & ~(PAGE - 1)) + 1, rg.perms };
        if ((rc = check_not_tables(c, &rg, 1, why, sizeof why)) ||
            (rc = ops(c, sd->unit)->map_check(hwu(c, sd->unit), NULL, &seg, 1, &pages, why, sizeof why))) {
            snprintf(err, errlen, "%s: reserved: %s", sd->reserved_where[k], why);
            return rc;
        }
        g_array_append_val(d->reserved, rg);
    }
    if (sd->n_allow == 0 && d->reserved->len == 0) return 0;
    CoreObject *o = obj_create(c, NULL, 0);
    if (sd->n_allow) g_strlcpy(o->origin, sd->where, sizeof o->origin);
    bool created;
    if ((rc = ensure_domain(c, o, sd->unit, &created, why, sizeof why))) {
        snprintf(err, errlen, "%s: %s", sd->where, why);
        return rc;
    }
    for (size_t k = 0; k < sd->n_allow; k++) {
        Region rg = sd->allow[k];
        rg.perms = perms_of(rg.perms);
        rg.target = rg.start;
        if ((rc = check_not_tables(c, &rg, 1, why, sizeof why)) ||
            (rc = change(c, o, CHANGE_ADD, &rg, 1, why, sizeof why))) {
            snprintf(err, errlen, "%s (for %s at %s): %s", sd->allow_where[k], d->label, sd->where, why);
            return rc;
        }
    }
    d->home = o;
    if ((rc = reserved_change(c, o, d, true, why, sizeof why)) || (rc = point(c, d, o, false, why, sizeof why))) {
        snprintf(err, errlen, "%s: %s", sd->where, why);
        return rc;
    }
    core_log(c, SMMU_LOG_INFO, "%s: %s from the configuration (%s)", d->label,
             sd->n_allow ? "startup mapping" : "reserved regions", sd->where);
    return 0;
}
