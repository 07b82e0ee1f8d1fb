/* Loading the support library named by "smmu" and opening its units; and
 * the DSS door's own way to the hardware, which works from any point of
 * start-up, whatever was or was not set up. */
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "service.h"


static int env_reg_read(void *ctx, uint64_t pa, unsigned size, uint64_t *val)
{
    HwCtx *h = ctx;
    h->s->reg_accesses++;
    int rc = platform_reg_read(h->platform, pa, size, val);
    if (rc) svc_log(h->s, SMMU_LOG_ERROR, "%s", platform_error(h->platform));
    return rc;
}

static int env_reg_write(void *ctx, uint64_t pa, unsigned size, uint64_t val)
{
    HwCtx *h = ctx;
    h->s->reg_accesses++;
    int rc = platform_reg_write(h->platform, pa, size, val);
    if (rc) svc_log(h->s, SMMU_LOG_ERROR, "%s", platform_error(h->platform));
    return rc;
}

static int env_pages(void *ctx, unsigned npages, bool digest, uint64_t *pa, void **va)
{
    HwCtx *h = ctx;
    int rc = pool_alloc_contig(h->pool, npages, pa, digest);
    if (!rc) *va = pool_va(h->pool, *pa);
    return rc;
}

static void env_log(void *ctx, SmmuLogLevel level, const char *fmt, ...)
{
    HwCtx *h = ctx;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    svc_log(h->s, level, "%s", msg);
}

static void env_dss(void *ctx, const char *reason)
{
    HwCtx *h = ctx;
    h->s->door(h->s, reason); /* the shell's door: it does not return */
    _exit(SMMU_EXIT_DSS);
}

/* Everything a library needs, bound to one platform and its pool. */
static SmmuHwEnv make_env(HwCtx *h)
{
    return (SmmuHwEnv){ .ctx = h, .reg_read = env_reg_read, .reg_write = env_reg_write, .mem = pool_pt_mem(h->pool),
                        .pages = env_pages, .log = env_log, .dss = env_dss };
}

/* dlopen()s smmu-KIND(-safety).so, in the order given, and checks its
 * interface. NULL with err set when none is usable. */
static const SmmuHwOps *open_library(const char *kind, bool safety_first, bool door, void **lib, char *err,
                                     size_t errlen)
{
    g_autofree char *tried = NULL;
    *lib = NULL;
    for (int k = 0; k < 4 && !*lib; k++) {
        bool safety = safety_first ? k % 2 == 0 : k % 2 == 1;
        const char *dir = platform_module_dir((unsigned)k / 2, door);
        if (!dir) break;
        g_autofree char *path = g_strdup_printf("%s/smmu-%s%s.so", dir, kind, safety ? "-safety" : "");
        *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (!*lib) {
            char *t = g_strdup_printf("%s%s%s", tried ? tried : "", tried ? "; " : "", dlerror());
            g_free(tried);
            tried = t;
        }
    }
    if (!*lib) {
        snprintf(err, errlen, "required hardware not present: no support library for '%s' (%s)", kind,
                 tried ? tried : "none tried");
        return NULL;
    }
    const SmmuHwOps *hw = dlsym(*lib, SMMU_HW_SYMBOL);
    if (!hw || hw->abi != SMMU_HW_ABI || strcmp(hw->type, kind) != 0) {
        snprintf(err, errlen, "support library for '%s' has the wrong interface (abi %u, want %u)", kind,
                 hw ? hw->abi : 0, SMMU_HW_ABI);
        dlclose(*lib);
        *lib = NULL;
        return NULL;
    }
    return hw;
}

/* smmu-TYPE-safety.so first for the safety variant, then smmu-TYPE.so. */
int svc_load_library(Service *s, char *err, size_t errlen)
{
    if (!s->cfg.smmu_type) {
        snprintf(err, errlen, "required hardware not present: no support library named (smmu option)");
        return -ENODEV;
    }
    void *lib;
    const SmmuHwOps *hw = open_library(s->cfg.smmu_type, s->safety_variant, false, &lib, err, errlen);
    if (!hw) return -ENODEV;
    if (s->safety_variant && !hw->safety) {
        if (s->cfg.safety == CFG_SAFETY_REQUIRED) {
            snprintf(err, errlen, "safety: support library smmu-%s.so is not a safety variant", s->cfg.smmu_type);
            dlclose(lib);
            return -EPERM;
        }
        if (s->cfg.safety == CFG_SAFETY_WARN)
            svc_log(s, SMMU_LOG_WARN, "safety: using smmu-%s.so, not a safety variant", s->cfg.smmu_type);
    }
    s->lib = lib;
    s->hw = hw;
    s->hw_family = strcmp(hw->type, "vtd") == 0 ? SSF_HW_VTD : strcmp(hw->type, "smmuv3") == 0 ? SSF_HW_SMMUV3 : 0;
    s->hwctx = (HwCtx){ s, s->platform, s->pool };
    s->env = make_env(&s->hwctx);
    return 0;
}

static int add_unit(Service *s, const char *name, uint64_t base, int evtq, int gerror, char *err, size_t errlen)
{
    if (core_units(s->core) == CORE_MAX_UNITS) {
        snprintf(err, errlen, "more than %d units", CORE_MAX_UNITS);
        return -E2BIG;
    }
    SmmuHwUnitCfg cfg = { .name = name, .base = base, .evtq_irq = evtq, .gerror_irq = gerror,
                          .fault_poll_ms = s->cfg.fault_poll_ms };
    char why[256] = "";
    SmmuHwUnit *hw;
    int rc = s->hw->unit_open(&s->env, &cfg, &hw, why, sizeof why);
    if (rc) {
        snprintf(err, errlen, "required hardware not present: unit %s at 0x%llx: %s", name, (unsigned long long)base,
                 why);
        return rc;
    }
    int i = core_add_unit(s->core, name, s->hw, hw, s->hw_family);
    char describe[200];
    s->hw->unit_describe(hw, describe, sizeof describe);
    svc_log(s, SMMU_LOG_INFO, "%s: blocking all DMA until mapped", describe);
    return i < 0 ? i : 0;
}

/* The interrupt lines a described unit names. */
static void described_irqs(const PlatformUnit *pu, int *evtq, int *gerror)
{
    *evtq = *gerror = -1;
    for (unsigned k = 0; k < pu->n_irqs; k++) {
        if (strcmp(pu->irq_names[k], "evtq") == 0) *evtq = (int)pu->irqs[k];
        if (strcmp(pu->irq_names[k], "gerror") == 0) *gerror = (int)pu->irqs[k];
    }
}

/* A configured unit must be one IOMMU of its own: two units at one base, or
 * one inside another's register window (SMMUv3's page 1 aliases page 0 in
 * QEMU, say), would be one unit driven twice, each undoing the other's
 * tables: refused at start, naming the lines, rather than a command-queue
 * error at the first device. The window is the firmware's; a unit it does
 * not describe is only checked against the bases of the others. */
static int unit_clash(Service *s, const CfgUnit *cu, guint index, char *err, size_t errlen)
{
    for (guint j = 0; j < index; j++) {
        const CfgUnit *o = g_ptr_array_index(s->cfg.units, j);
        if (o->paddr == cu->paddr) {
            snprintf(err, errlen, "%s:%u: unit %s at 0x%llx: unit %s (%s:%u) is at that address already", cu->where.file,
                     cu->where.line, cu->name, (unsigned long long)cu->paddr, o->name, o->where.file, o->where.line);
            return -EEXIST;
        }
    }
    const PlatformUnit *pu;
    unsigned n = s->platform ? platform_units(s->platform, &pu) : 0;
    for (unsigned k = 0; k < n; k++)
        if (cu->paddr > pu[k].base && cu->paddr - pu[k].base < pu[k].size) {
            snprintf(err, errlen,
                     "%s:%u: unit %s at 0x%llx lies inside the registers of %s (0x%llx, 0x%llx bytes, as firmware "
                     "describes it), not at their base: the same unit again",
                     cu->where.file, cu->where.line, cu->name, (unsigned long long)cu->paddr, pu[k].name,
                     (unsigned long long)pu[k].base, (unsigned long long)pu[k].size);
            return -EEXIST;
        }
    return 0;
}

/* Units from the configuration, or (require, or none configured) from the
 * firmware's description; "ignore" uses the configuration only. */
int svc_open_units(Service *s, char *err, size_t errlen)
{
    bool require = g_strcmp0(s->cfg.smmu_param, "require") == 0;
    bool ignore = g_strcmp0(s->cfg.smmu_param, "ignore") == 0;
    int rc = 0;
    if (!require)
        for (guint i = 0; i < s->cfg.units->len && !rc; i++) {
            CfgUnit *cu = g_ptr_array_index(s->cfg.units, i);
            if (!(rc = unit_clash(s, cu, i, err, errlen)))
                rc = add_unit(s, cu->name, cu->paddr, cu->evtq_irq, cu->gerror_irq, err, errlen);
        }
    if (!rc && !ignore && core_units(s->core) == 0) {
        const PlatformUnit *pu;
        unsigned n = platform_units(s->platform, &pu);
        for (unsigned i = 0; i < n && !rc; i++) {
            if (strcmp(pu[i].kind, s->cfg.smmu_type) != 0) continue;
            int evtq, gerror;
            described_irqs(&pu[i], &evtq, &gerror);
            rc = add_unit(s, pu[i].name, pu[i].base, evtq, gerror, err, errlen);
        }
    }
    if (!rc && core_units(s->core) == 0) {
        snprintf(err, errlen, "required hardware not present: no %s unit %s", s->cfg.smmu_type,
                 require ? "in the firmware's description" : "configured or described by firmware");
        rc = -ENODEV;
    }
    return rc;
}

/* ---- the door's way to the hardware --------------------------------------- */

/* The library for `kind`, for the door: the loaded one when it fits, else
 * any variant that loads. Blocking matters more now than which variant
 * does it, so a library refused by `safety` is good enough here. */
static const SmmuHwOps *door_library(Service *s, const char *kind)
{
    if (s->hw && strcmp(s->hw->type, kind) == 0) return s->hw;
    void *lib;
    char err[512];
    const SmmuHwOps *hw = open_library(kind, s->safety_variant, true, &lib, err, sizeof err);
    if (!hw) svc_log(s, SMMU_LOG_ERROR, "DSS: %s", err);
    return hw; /* kept loaded: the process ends soon */
}

/* Opens (which leaves blocking everything) one unit through platform h;
 * whether it did. */
static bool door_open_unit(Service *s, HwCtx *h, const char *kind, const char *name, uint64_t base, const int *irqs)
{
    const SmmuHwOps *hw = door_library(s, kind);
    if (!hw) return false;
    SmmuHwEnv *env = g_new(SmmuHwEnv, 1); /* the unit keeps a copy; the process ends soon */
    *env = make_env(h);
    SmmuHwUnitCfg cfg = { .name = name, .base = base, .evtq_irq = irqs[0], .gerror_irq = irqs[1] };
    SmmuHwUnit *u;
    char err[256] = "";
    if (hw->unit_open(env, &cfg, &u, err, sizeof err) == 0) {
        svc_log(s, SMMU_LOG_INFO, "%s at 0x%llx: opened for the DSS, blocking all DMA", name, (unsigned long long)base);
        return true;
    }
    svc_log(s, SMMU_LOG_ERROR, "DSS: %s at 0x%llx could not be opened as %s to block it: %s", name,
            (unsigned long long)base, kind, err);
    return false;
}

/* Every unit platform p describes, and (first platform only) every unit
 * the configuration named, opened to block. */
static void door_block_platform(Service *s, Platform *p, bool configured_units)
{
    HwCtx *h = g_new0(HwCtx, 1);
    h->s = s;
    h->platform = p;
    if (p == s->platform && s->pool) {
        h->pool = s->pool;
    } else {
        uint64_t base, size;
        platform_pool(p, &base, &size);
        if (!(h->pool = pool_new(base, size, platform_map(p, base, size)))) {
            svc_log(s, SMMU_LOG_ERROR, "DSS: table pool 0x%llx+0x%llx is not RAM: cannot block this platform's units",
                    (unsigned long long)base, (unsigned long long)size);
            return;
        }
    }
    GArray *done = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    if (configured_units && s->cfg.smmu_type && s->cfg.units)
        for (guint i = 0; i < s->cfg.units->len; i++) {
            const CfgUnit *cu = g_ptr_array_index(s->cfg.units, i);
            int irqs[2] = { cu->evtq_irq, cu->gerror_irq };
            /* a unit that did not open (named as the wrong kind, say) is
             * still tried as what the firmware says it is, below */
            if (door_open_unit(s, h, s->cfg.smmu_type, cu->name, cu->paddr, irqs)) g_array_append_val(done, cu->paddr);
        }
    const PlatformUnit *pu;
    unsigned n = platform_units(p, &pu);
    for (unsigned i = 0; i < n; i++) {
        bool seen = false;
        for (guint k = 0; k < done->len; k++) seen |= g_array_index(done, uint64_t, k) == pu[i].base;
        if (seen) continue;
        int irqs[2];
        described_irqs(&pu[i], &irqs[0], &irqs[1]);
        door_open_unit(s, h, pu[i].kind, pu[i].name, pu[i].base, irqs);
    }
    g_array_unref(done);
}

/* For a DSS before any unit of ours was open (a bad configuration, a
 * platform or library that failed, a unit at a wrong address): every
 * platform the service was told of (the configuration's, even when the
 * rest of it did not parse, and $SMMU_PLATFORM) has the units it describes
 * or the configuration names opened, which leaves each blocking
 * everything. Best effort: each failure is logged and the next tried. */
void svc_block_described_units(Service *s)
{
    const char *specs[2] = { s->cfg.platform, g_getenv("SMMU_PLATFORM") };
    bool first = true;
    for (unsigned i = 0; i < 2; i++) {
        if (!specs[i] || (i == 1 && g_strcmp0(specs[0], specs[1]) == 0)) continue;
        Platform *p = NULL;
        char err[512]; /* names up to two module paths tried */
        if (s->platform && g_strcmp0(s->platform_spec, specs[i]) == 0) p = s->platform;
        else if (platform_open_door(specs[i], &p, err, sizeof err)) {
            svc_log(s, SMMU_LOG_ERROR, "DSS: cannot reach %s to block its units: %s", specs[i], err);
            continue;
        }
        door_block_platform(s, p, first);
        first = false;
    }
}

/* ---- the configuration's devices ------------------------------------------ */

static const CfgAllow *find_allow(const SmmuConfig *cfg, const char *name)
{
    for (guint i = 0; i < cfg->allows->len; i++) {
        const CfgAllow *a = g_ptr_array_index(cfg->allows, i);
        if (strcmp(a->name, name) == 0) return a;
    }
    return NULL;
}

/* Startup mappings and reserved regions, each with the line it comes
 * from, in the core's terms (unit names become indexes). */
int svc_apply_config(Service *s, char *err, size_t errlen)
{
    for (guint i = 0; i < s->cfg.devices->len; i++) {
        const CfgDevice *cd = g_ptr_array_index(s->cfg.devices, i);
        g_autofree char *where = g_strdup_printf("%s:%u", cd->where.file, cd->where.line);
        unsigned unit = 0;
        if (cd->use_unit) {
            for (unit = 0; unit < core_units(s->core) && strcmp(core_unit_name(s->core, unit), cd->use_unit); unit++) {}
            if (unit == core_units(s->core)) {
                snprintf(err, errlen, "%s: unit '%s' is not in use", where, cd->use_unit);
                return -ENOENT;
            }
        }
        g_autoptr(GArray) allow = g_array_new(FALSE, FALSE, sizeof(Region));
        g_autoptr(GPtrArray) allow_where = g_ptr_array_new_with_free_func(g_free);
        for (guint k = 0; k < cd->allow->len; k++) {
            const CfgAllow *a = find_allow(&s->cfg, g_ptr_array_index(cd->allow, k));
            Region rg = { a->start, a->len, a->perms, a->start };
            g_array_append_val(allow, rg);
            g_ptr_array_add(allow_where, g_strdup_printf("%s:%u: allow %s", a->where.file, a->where.line, a->name));
        }
        g_autoptr(GArray) reserved = g_array_new(FALSE, FALSE, sizeof(Region));
        g_autoptr(GPtrArray) reserved_where = g_ptr_array_new_with_free_func(g_free);
        for (guint k = 0; k < cd->reserved->len; k++) {
            const CfgReserved *r = &g_array_index(cd->reserved, CfgReserved, k);
            Region rg = { r->start, r->len, r->perms, r->start };
            g_array_append_val(reserved, rg);
            g_ptr_array_add(reserved_where, g_strdup_printf("%s:%u", r->where.file, r->where.line));
        }
        CoreStartupDevice sd = {
            .id = cd->id, .where = where, .unit = unit, .has_sid = cd->has_use_param, .sid = cd->use_param,
            .allow = (const Region *)(void *)allow->data, .allow_where = (const char *const *)allow_where->pdata,
            .n_allow = allow->len, .reserved = (const Region *)(void *)reserved->data,
            .reserved_where = (const char *const *)reserved_where->pdata, .n_reserved = reserved->len,
        };
        int rc = core_startup_device(s->core, &sd, err, errlen);
        if (rc) return rc;
    }
    return 0;
}
