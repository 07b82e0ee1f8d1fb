/* Loading the support library named by "smmu" and opening its units. */
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "service.h"

#ifndef SMMU_HW_DIR
#define SMMU_HW_DIR "/usr/lib/smmuman"
#endif

static int env_reg_read(void *ctx, uint64_t pa, unsigned size, uint64_t *val)
{
    Service *s = ctx;
    s->reg_accesses++;
    int rc = platform_reg_read(s->platform, pa, size, val);
    if (rc) svc_log(s, SMMU_LOG_ERROR, "%s", platform_error(s->platform));
    return rc;
}

static int env_reg_write(void *ctx, uint64_t pa, unsigned size, uint64_t val)
{
    Service *s = ctx;
    s->reg_accesses++;
    int rc = platform_reg_write(s->platform, pa, size, val);
    if (rc) svc_log(s, SMMU_LOG_ERROR, "%s", platform_error(s->platform));
    return rc;
}

static int env_pages(void *ctx, unsigned npages, bool digest, uint64_t *pa, void **va)
{
    Service *s = ctx;
    int rc = pool_alloc_contig(s->pool, npages, pa, digest);
    if (!rc) *va = pool_va(s->pool, *pa);
    return rc;
}

static void env_log(void *ctx, SmmuLogLevel level, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    svc_log(ctx, level, "%s", msg);
}

static void env_dss(void *ctx, const char *reason) { svc_dss(ctx, "%s", reason); }

/* smmu-TYPE-safety.so first for the safety variant, then smmu-TYPE.so. */
int svc_load_library(Service *s, char *err, size_t errlen)
{
    if (!s->cfg.smmu_type) {
        snprintf(err, errlen, "required hardware not present: no support library named (smmu option)");
        return -ENODEV;
    }
    const char *dir = g_getenv("SMMU_HW_DIR") ? g_getenv("SMMU_HW_DIR") : SMMU_HW_DIR;
    g_autofree char *tried = NULL;
    for (int safety = s->safety_variant ? 1 : 0; safety >= 0 && !s->lib; safety--) {
        g_autofree char *path = g_strdup_printf("%s/smmu-%s%s.so", dir, s->cfg.smmu_type, safety ? "-safety" : "");
        s->lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (!s->lib) {
            char *t = g_strdup_printf("%s%s%s", tried ? tried : "", tried ? "; " : "", dlerror());
            g_free(tried);
            tried = t;
        }
    }
    if (!s->lib) {
        snprintf(err, errlen, "required hardware not present: no support library for '%s' (%s)", s->cfg.smmu_type,
                 tried);
        return -ENODEV;
    }
    s->hw = dlsym(s->lib, SMMU_HW_SYMBOL);
    if (!s->hw || s->hw->abi != SMMU_HW_ABI || strcmp(s->hw->type, s->cfg.smmu_type) != 0) {
        snprintf(err, errlen, "support library for '%s' has the wrong interface (abi %u, want %u)", s->cfg.smmu_type,
                 s->hw ? s->hw->abi : 0, SMMU_HW_ABI);
        return -ENOEXEC;
    }
    if (s->safety_variant && !s->hw->safety) {
        if (s->cfg.safety == CFG_SAFETY_REQUIRED) {
            snprintf(err, errlen, "safety: support library smmu-%s.so is not a safety variant", s->cfg.smmu_type);
            return -EPERM;
        }
        if (s->cfg.safety == CFG_SAFETY_WARN)
            svc_log(s, SMMU_LOG_WARN, "safety: using smmu-%s.so, not a safety variant", s->cfg.smmu_type);
    }
    s->hw_family = strcmp(s->hw->type, "vtd") == 0 ? SSF_HW_VTD : strcmp(s->hw->type, "smmuv3") == 0 ? SSF_HW_SMMUV3 : 0;
    s->env = (SmmuHwEnv){ .ctx = s, .reg_read = env_reg_read, .reg_write = env_reg_write, .mem = pool_pt_mem(s->pool),
                          .pages = env_pages, .log = env_log, .dss = env_dss };
    return 0;
}

static int add_unit(Service *s, const char *name, uint64_t base, int evtq, int gerror, char *err, size_t errlen)
{
    if (s->n_units == SMMU_MAX_UNITS) {
        snprintf(err, errlen, "more than %d units", SMMU_MAX_UNITS);
        return -E2BIG;
    }
    Unit *u = &s->units[s->n_units];
    g_strlcpy(u->name, name, sizeof u->name);
    u->base = base;
    SmmuHwUnitCfg cfg = { .name = u->name, .base = base, .evtq_irq = evtq, .gerror_irq = gerror };
    char why[256] = "";
    int rc = s->hw->unit_open(&s->env, &cfg, &u->hw, why, sizeof why);
    if (rc) {
        snprintf(err, errlen, "required hardware not present: unit %s at 0x%llx: %s", name, (unsigned long long)base,
                 why);
        return rc;
    }
    s->n_units++;
    s->hw->unit_describe(u->hw, u->describe, sizeof u->describe);
    svc_log(s, SMMU_LOG_INFO, "%s: blocking all DMA until mapped", u->describe);
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
            rc = add_unit(s, cu->name, cu->paddr, cu->evtq_irq, cu->gerror_irq, err, errlen);
        }
    if (!rc && !ignore && s->n_units == 0) {
        const PlatformUnit *pu;
        unsigned n = platform_units(s->platform, &pu);
        for (unsigned i = 0; i < n && !rc; i++) {
            if (strcmp(pu[i].kind, s->cfg.smmu_type) != 0) continue;
            int evtq = -1, gerror = -1;
            for (unsigned k = 0; k < pu[i].n_irqs; k++) {
                if (strcmp(pu[i].irq_names[k], "evtq") == 0) evtq = (int)pu[i].irqs[k];
                if (strcmp(pu[i].irq_names[k], "gerror") == 0) gerror = (int)pu[i].irqs[k];
            }
            rc = add_unit(s, pu[i].name, pu[i].base, evtq, gerror, err, errlen);
        }
    }
    if (!rc && s->n_units == 0) {
        snprintf(err, errlen, "required hardware not present: no %s unit %s", s->cfg.smmu_type,
                 require ? "in the firmware's description" : "configured or described by firmware");
        rc = -ENODEV;
    }
    return rc;
}

/* For the DSS when no configured unit could be opened (a bad configuration,
 * a unit at a wrong address): open whatever units the firmware describes,
 * which leaves each blocking everything. Best effort, never fails loudly. */
void svc_block_described_units(Service *s)
{
    char err[256];
    const char *spec = s->cfg.platform ? s->cfg.platform : g_getenv("SMMU_PLATFORM");
    if (!s->platform && (!spec || platform_open(spec, &s->platform, err, sizeof err))) return;
    if (!s->pool) {
        uint64_t base, size;
        platform_pool(s->platform, &base, &size);
        if (!(s->pool = pool_new(base, size, platform_map(s->platform, base, size)))) return;
    }
    /* blocking matters more now than which variant of the library does it */
    s->cfg.safety = CFG_SAFETY_NONE;
    const PlatformUnit *pu;
    unsigned n = platform_units(s->platform, &pu);
    for (unsigned i = 0; i < n; i++) {
        /* the configuration named a library for hardware this board does
         * not have: the described unit needs its own */
        if (s->hw && s->n_units == 0 && strcmp(s->hw->type, pu[i].kind) != 0) {
            dlclose(s->lib);
            s->lib = NULL;
            s->hw = NULL;
        }
        if (!s->hw) {
            g_free(s->cfg.smmu_type);
            s->cfg.smmu_type = g_strdup(pu[i].kind);
            if (svc_load_library(s, err, sizeof err)) continue;
        }
        if (strcmp(s->hw->type, pu[i].kind) == 0 && add_unit(s, pu[i].name, pu[i].base, -1, -1, err, sizeof err) == 0)
            svc_log(s, SMMU_LOG_INFO, "%s: opened for the DSS, blocking all DMA", pu[i].name);
    }
}
