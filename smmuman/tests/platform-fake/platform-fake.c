/* Platform modules for the loader's unit test (test-platform.c), built
 * several times from this file:
 *   smmu-platform-fake.so     a working module: registers are a small array,
 *                             RAM a static buffer, one unit described
 *   smmu-platform-oldabi.so   FAKE_ABI=0: an interface the loader must refuse
 *   smmu-platform-nosym.so    FAKE_NO_OPS: exports no smmu_platform_ops
 *   smmu-platform-liar.so     FAKE_TYPE="fake": claims another type than its name */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../platform/platform-module.h"

#ifndef FAKE_ABI
#define FAKE_ABI SMMU_PLATFORM_ABI
#endif

struct PlatformInst {
    uint64_t regs[4];
    uint8_t ram[8192];
    PlatformUnit unit;
    PlatformIrqFn fn;
    void *opaque;
    char error[128];
};

#define FAKE_RAM_BASE 0x80000000ull
#define FAKE_REG_BASE 0xfee00000ull

static int fake_open(const char *spec, const char *arg, PlatformInst **out, char *err, size_t errlen)
{
    if (strcmp(arg, "refuse") == 0) { /* a module's own error reaches the caller as it said it */
        snprintf(err, errlen, "platform %s: refused as asked", spec);
        return -ENODEV;
    }
    PlatformInst *p = calloc(1, sizeof *p);
    if (!p) return -ENOMEM;
    snprintf(p->unit.name, sizeof p->unit.name, "%s", arg);
    snprintf(p->unit.kind, sizeof p->unit.kind, "vtd");
    p->unit.base = FAKE_REG_BASE;
    p->unit.size = sizeof p->regs;
    *out = p;
    return 0;
}

static void fake_close(PlatformInst *p) { free(p); }

static int reg_index(PlatformInst *p, uint64_t pa)
{
    if (pa < FAKE_REG_BASE || pa >= FAKE_REG_BASE + sizeof p->regs || pa % 8) {
        snprintf(p->error, sizeof p->error, "no register at 0x%llx", (unsigned long long)pa);
        return -1;
    }
    return (int)((pa - FAKE_REG_BASE) / 8);
}

static int fake_reg_read(PlatformInst *p, uint64_t pa, unsigned size, uint64_t *val)
{
    int i = reg_index(p, pa);
    if (i < 0) return -EIO;
    *val = p->regs[i];
    return 0;
}

static int fake_reg_write(PlatformInst *p, uint64_t pa, unsigned size, uint64_t val)
{
    int i = reg_index(p, pa);
    if (i < 0) return -EIO;
    p->regs[i] = val;
    if (p->fn) p->fn(p->opaque, 7, true); /* any write raises line 7 */
    return 0;
}

static void *fake_map(PlatformInst *p, uint64_t pa, uint64_t len)
{
    if (pa < FAKE_RAM_BASE || len > sizeof p->ram || pa - FAKE_RAM_BASE > sizeof p->ram - len) return NULL;
    return p->ram + (pa - FAKE_RAM_BASE);
}

static void fake_pool(const PlatformInst *p, uint64_t *base, uint64_t *size)
{
    *base = FAKE_RAM_BASE + 4096;
    *size = 4096;
}

static unsigned fake_units(const PlatformInst *p, const PlatformUnit **units)
{
    *units = &p->unit;
    return 1;
}

static int fake_irq_subscribe(PlatformInst *p, PlatformIrqFn fn, void *opaque)
{
    p->fn = fn;
    p->opaque = opaque;
    return 0;
}

static int fake_irq_fd(const PlatformInst *p) { return 42; }
static int fake_irq_dispatch(PlatformInst *p) { return 3; }
static bool fake_irq_pending(const PlatformInst *p) { return true; }
static const char *fake_error(const PlatformInst *p) { return p->error; }

#ifndef FAKE_NO_OPS
__attribute__((visibility("default"))) const SmmuPlatformOps smmu_platform_ops = {
    .abi = FAKE_ABI,
    .type = FAKE_TYPE,
    .open = fake_open,
    .close = fake_close,
    .reg_read = fake_reg_read,
    .reg_write = fake_reg_write,
    .map = fake_map,
    .pool = fake_pool,
    .units = fake_units,
    .irq_subscribe = fake_irq_subscribe,
    .irq_fd = fake_irq_fd,
    .irq_dispatch = fake_irq_dispatch,
    .irq_pending = fake_irq_pending,
    .error = fake_error,
};
#else
/* something else, so that the module is a valid shared object */
__attribute__((visibility("default"))) int smmu_platform_fake_nothing;
#endif
