/* The core's life, its units and clients, its voice (log, DSS) and what
 * it shows (status and objects texts). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core-internal.h"

Core *core_new(const CoreHooks *hooks, const CoreMemory *mem, const CoreLimits *limits)
{
    Core *c = g_new0(Core, 1);
    c->hooks = *hooks;
    if (mem) c->mem = *mem;
    c->limits = *limits;
    c->devices = g_hash_table_new(g_str_hash, g_str_equal);
    c->objects = g_hash_table_new(g_int64_hash, g_int64_equal);
    return c;
}

int core_add_unit(Core *c, const char *name, const SmmuHwOps *ops, SmmuHwUnit *hw, unsigned hw_family)
{
    if (c->n_units == CORE_MAX_UNITS) return -E2BIG;
    CoreUnit *u = &c->units[c->n_units];
    g_strlcpy(u->name, name, sizeof u->name);
    u->ops = ops;
    u->hw = hw;
    u->hw_family = hw_family;
    ops->unit_describe(hw, u->describe, sizeof u->describe);
    return (int)c->n_units++;
}

unsigned core_units(const Core *c) { return c->n_units; }
const char *core_unit_name(const Core *c, unsigned unit) { return c->units[unit].name; }
SmmuHwUnit *core_unit_hw(const Core *c, unsigned unit) { return c->units[unit].hw; }
const SmmuHwOps *core_unit_ops(const Core *c, unsigned unit) { return c->units[unit].ops; }
bool core_in_dss(const Core *c) { return c->dss; }

void core_log(Core *c, SmmuLogLevel level, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (c->hooks.log) c->hooks.log(c->hooks.ctx, level, msg);
}

int core_dss(Core *c, const char *fmt, ...)
{
    char reason[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    if (!c->dss) {
        c->dss = true;
        c->hooks.dss(c->hooks.ctx, reason);
    }
    return -EIO;
}

/* ---- clients ------------------------------------------------------------- */

CoreClient *core_client_new(Core *c, void *shell, bool target, pid_t pid, uid_t uid, gid_t gid)
{
    CoreClient *cc = g_new0(CoreClient, 1);
    cc->core = c;
    cc->shell = shell;
    cc->id = ++c->next_client;
    cc->target = target;
    cc->pid = pid;
    cc->uid = uid;
    cc->gid = gid;
    cc->objects = g_hash_table_new(g_int64_hash, g_int64_equal);
    c->clients = g_list_append(c->clients, cc);
    return cc;
}

unsigned core_report_reserved(Core *c, const union smmu_devid *id, unsigned offset, struct smmu_map_entry *out,
                              unsigned max, unsigned *total)
{
    int rc;
    Device *d = dev_lookup(c, id, false, &rc);
    unsigned n = 0;
    *total = d ? d->reserved->len : 0;
    for (unsigned i = offset; d && i < d->reserved->len && n < max; i++) {
        const Region *rg = &g_array_index(d->reserved, Region, i);
        out[n++] = (struct smmu_map_entry){ .phys = rg->start, .len = rg->len };
    }
    return n;
}

/* ---- what the shell shows ---------------------------------------------------- */

static size_t pages_used(const Core *c) { return c->mem.pages_used ? c->mem.pages_used(c->mem.ctx) : 0; }
static size_t pages_total(const Core *c) { return c->mem.pages_total ? c->mem.pages_total(c->mem.ctx) : 0; }

void core_status_text(Core *c, GString *out)
{
    g_string_append_printf(out, "units=%u\n", c->n_units);
    for (unsigned i = 0; i < c->n_units; i++) g_string_append_printf(out, "unit.%u=%s\n", i, c->units[i].describe);
    g_string_append_printf(out, "clients=%u\nobjects=%u\nfaults.seen=%llu\nfaults.unowned=%llu\nfaults.overflows=%llu\n"
                                "pool.pages.used=%zu\npool.pages.total=%zu\n",
                           g_list_length(c->clients), g_hash_table_size(c->objects), (unsigned long long)c->faults_seen,
                           (unsigned long long)c->faults_unowned, (unsigned long long)c->faults_lost, pages_used(c),
                           pages_total(c));
    g_string_append_printf(out, "limit.client.pages=%zu\nlimit.client.objects=%u\nlimit.client.devices=%u\n"
                                "limit.client.regions=%zu\n",
                           c->limits.client_pages, c->limits.client_objects, c->limits.client_devices,
                           c->limits.client_regions);
    for (GList *l = c->clients; l; l = l->next) {
        CoreClient *cc = l->data;
        g_string_append_printf(out,
                               "client.%u=pid:%d uid:%d target:%s objects:%u queued:%u dropped:%llu pages:%zu devices:%u "
                               "regions:%zu\n",
                               cc->id, (int)cc->pid, (int)cc->uid, cc->target ? "yes" : "no",
                               g_hash_table_size(cc->objects), cc->q_len, (unsigned long long)cc->n_dropped, cc->pages,
                               cc->n_devices, cc->n_regions);
    }
}

void core_objects_text(Core *c, GString *out)
{
    GHashTableIter it;
    gpointer v;
    g_hash_table_iter_init(&it, c->objects);
    while (g_hash_table_iter_next(&it, NULL, &v)) {
        CoreObject *o = v;
        g_string_append_printf(out, "object=%llu owner=%s flags=%u regions=%zu devices=", (unsigned long long)o->id,
                               o->client ? "client" : "configuration", o->flags, region_set_count(&o->regions));
        for (guint i = 0; i < o->devices->len; i++)
            g_string_append_printf(out, "%s%s", i ? "," : "", ((Device *)g_ptr_array_index(o->devices, i))->label);
        if (o->client) g_string_append_printf(out, " client=%u pid=%d", o->client->id, (int)o->client->pid);
        if (o->origin[0]) g_string_append_printf(out, " origin=%s", o->origin);
        g_string_append_c(out, '\n');
        for (size_t i = 0; i < region_set_count(&o->regions); i++) {
            const Region *r = region_set_at(&o->regions, i);
            g_string_append_printf(out, "region=%llu start=0x%llx len=0x%llx perms=%s%s target=0x%llx\n",
                                   (unsigned long long)o->id, (unsigned long long)r->start, (unsigned long long)r->len,
                                   r->perms & PT_READ ? "r" : "", r->perms & PT_WRITE ? "w" : "",
                                   (unsigned long long)r->target);
        }
    }
    g_hash_table_iter_init(&it, c->devices);
    while (g_hash_table_iter_next(&it, NULL, &v)) {
        Device *d = v;
        g_string_append_printf(out, "device=%s unit=%s sid=0x%x object=%llu\n", d->label, c->units[d->unit].name,
                               d->sid, d->owner ? (unsigned long long)d->owner->id : 0ull);
    }
}
