/* The platform loader: platform.h for the service, on a module chosen by the
 * spec's prefix and loaded with dlopen (platform-module.h). The service
 * links only this; what a platform needs (the test bed's agent client, one
 * day /dev/mem) lives in its module. */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>

#include "platform-module.h"

#ifndef SMMU_HW_DIR
#define SMMU_HW_DIR "/usr/lib/smmuman"
#endif

struct Platform {
    const SmmuPlatformOps *ops;
    PlatformInst *inst;
};

/* A prefix names a file: letters, digits and '-' only, so that a spec can
 * never reach outside the module directory ("../x:y"). */
static bool type_ok(const char *t, size_t n)
{
    if (n == 0 || n > 32) return false;
    for (size_t i = 0; i < n; i++)
        if (!g_ascii_islower(t[i]) && !g_ascii_isdigit(t[i]) && t[i] != '-') return false;
    return true;
}

/* Where modules are looked for (platform.h): $SMMU_HW_DIR, else the
 * installed directory; for the DSS door also the installed one, so that a
 * wrong $SMMU_HW_DIR cannot keep the door from reaching the units. */
const char *platform_module_dir(unsigned i, bool door)
{
    const char *env = g_getenv("SMMU_HW_DIR");
    if (i == 0) return env ? env : SMMU_HW_DIR;
    return i == 1 && door && env && strcmp(env, SMMU_HW_DIR) != 0 ? SMMU_HW_DIR : NULL;
}

/* The module for spec's type, its interface checked; NULL with err naming
 * the spec and every path tried. */
static const SmmuPlatformOps *load_module(const char *spec, const char *type, bool door, int *rc, char *err,
                                          size_t errlen)
{
    g_autoptr(GString) tried = g_string_new(NULL);
    void *lib = NULL;
    g_autofree char *path = NULL;
    for (unsigned i = 0; i < 2 && !lib; i++) {
        const char *dir = platform_module_dir(i, door);
        if (!dir) break;
        g_autofree char *name = g_strdup_printf(SMMU_PLATFORM_MODULE_FMT, type);
        g_free(path);
        path = g_build_filename(dir, name, NULL);
        /* NODELETE: a module may leave GLib holding its static data (an
         * error quark's name), so it is never unmapped once loaded */
        lib = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
        if (!lib) g_string_append_printf(tried, "%s%s", tried->len ? "; " : "", dlerror());
    }
    if (!lib) {
        snprintf(err, errlen, "platform '%s': no module for platform type '%s' (%s)", spec, type,
                 tried->len ? tried->str : "no directory to look in");
        *rc = -ENOENT;
        return NULL;
    }
    const SmmuPlatformOps *ops = dlsym(lib, SMMU_PLATFORM_SYMBOL);
    if (!ops || ops->abi != SMMU_PLATFORM_ABI || !ops->type || strcmp(ops->type, type) != 0) {
        if (!ops)
            snprintf(err, errlen, "platform '%s': module %s does not export %s", spec, path, SMMU_PLATFORM_SYMBOL);
        else
            snprintf(err, errlen, "platform '%s': module %s has the wrong interface (type '%s' abi %u, want '%s' abi %u)",
                     spec, path, ops->type ? ops->type : "", ops->abi, type, SMMU_PLATFORM_ABI);
        dlclose(lib);
        *rc = -ENOEXEC;
        return NULL;
    }
    return ops; /* the handle stays open: the module is in use until the process ends */
}

static int open_spec(const char *spec, bool door, Platform **out, char *err, size_t errlen)
{
    *out = NULL;
    const char *colon = spec ? strchr(spec, ':') : NULL;
    if (!colon || !type_ok(spec, (size_t)(colon - spec)) || !colon[1]) {
        snprintf(err, errlen, "platform '%s': expected TYPE:ARGUMENT, e.g. board:RUNDIR", spec ? spec : "");
        return -EINVAL;
    }
    g_autofree char *type = g_strndup(spec, (gsize)(colon - spec));
    int rc = 0;
    const SmmuPlatformOps *ops = load_module(spec, type, door, &rc, err, errlen);
    if (!ops) return rc;
    Platform *p = g_new0(Platform, 1);
    p->ops = ops;
    rc = ops->open(spec, colon + 1, &p->inst, err, errlen);
    if (rc) {
        g_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

int platform_open(const char *spec, Platform **out, char *err, size_t errlen)
{
    return open_spec(spec, false, out, err, errlen);
}

int platform_open_door(const char *spec, Platform **out, char *err, size_t errlen)
{
    return open_spec(spec, true, out, err, errlen);
}

void platform_close(Platform *p)
{
    if (!p) return;
    p->ops->close(p->inst);
    g_free(p);
}

int platform_reg_read(Platform *p, uint64_t pa, unsigned size, uint64_t *val)
{
    return p->ops->reg_read(p->inst, pa, size, val);
}

int platform_reg_write(Platform *p, uint64_t pa, unsigned size, uint64_t val)
{
    return p->ops->reg_write(p->inst, pa, size, val);
}

void *platform_map(Platform *p, uint64_t pa, uint64_t len) { return p->ops->map(p->inst, pa, len); }
void platform_pool(const Platform *p, uint64_t *base, uint64_t *size) { p->ops->pool(p->inst, base, size); }
unsigned platform_units(const Platform *p, const PlatformUnit **units) { return p->ops->units(p->inst, units); }

int platform_irq_subscribe(Platform *p, PlatformIrqFn fn, void *opaque)
{
    return p->ops->irq_subscribe(p->inst, fn, opaque);
}

int platform_irq_fd(const Platform *p) { return p->ops->irq_fd(p->inst); }
int platform_irq_dispatch(Platform *p) { return p->ops->irq_dispatch(p->inst); }
bool platform_irq_pending(const Platform *p) { return p->ops->irq_pending(p->inst); }
const char *platform_error(const Platform *p) { return p->ops->error(p->inst); }
