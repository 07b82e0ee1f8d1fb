/* The interface between smmuman's platform loader (platform.c) and a
 * platform module, loaded with dlopen: "board" (the QEMU test bed,
 * smmu-platform-board.so) today, "devmem" one day.
 *
 * A spec "TYPE:ARGUMENT" names the module smmu-platform-TYPE.so in the
 * support-library directory ($SMMU_HW_DIR, else the directory smmuman was
 * installed with). The module exports one symbol, `smmu_platform_ops`
 * (SmmuPlatformOps), and nothing else: whatever it links (the test bed's
 * agent client, say) stays inside it, so the production binary carries no
 * test-bed code. Each function below is the platform.h function of the same
 * name, on the module's own state; platform.h says what each does. Calls
 * come from the service's single event-loop thread. Errors are negative
 * errno with a message (open: in err; later: platform_error). */
#ifndef SMMU_PLATFORM_MODULE_H
#define SMMU_PLATFORM_MODULE_H

#include "platform.h"

/* 1: the first. PlatformUnit, PlatformIrqFn and the PLATFORM_MAX_* limits
 * (platform.h) are part of this interface: changing them changes the ABI. */
#define SMMU_PLATFORM_ABI 1
#define SMMU_PLATFORM_SYMBOL "smmu_platform_ops"
#define SMMU_PLATFORM_MODULE_FMT "smmu-platform-%s.so" /* the TYPE of a spec */

/* One opened platform, as the module keeps it: the module defines it. */
typedef struct PlatformInst PlatformInst;

typedef struct {
    uint32_t abi;     /* SMMU_PLATFORM_ABI */
    const char *type; /* the spec prefix it serves: "board" */
    /* spec: the whole spec, for messages; arg: what follows "TYPE:", never
     * empty. Returns 0 or a negative errno with err naming spec. */
    int (*open)(const char *spec, const char *arg, PlatformInst **out, char *err, size_t errlen);
    void (*close)(PlatformInst *p);
    int (*reg_read)(PlatformInst *p, uint64_t pa, unsigned size, uint64_t *val);
    int (*reg_write)(PlatformInst *p, uint64_t pa, unsigned size, uint64_t val);
    void *(*map)(PlatformInst *p, uint64_t pa, uint64_t len);
    void (*pool)(const PlatformInst *p, uint64_t *base, uint64_t *size);
    unsigned (*units)(const PlatformInst *p, const PlatformUnit **units);
    int (*irq_subscribe)(PlatformInst *p, PlatformIrqFn fn, void *opaque);
    int (*irq_fd)(const PlatformInst *p);
    int (*irq_dispatch)(PlatformInst *p);
    bool (*irq_pending)(const PlatformInst *p);
    const char *(*error)(const PlatformInst *p);
} SmmuPlatformOps;

#endif
