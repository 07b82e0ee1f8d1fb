/* The service's one way to hardware (ARCHITECTURE.md decision 1): map a
 * physical RAM range, read and write device registers of 1, 2, 4 or 8 bytes,
 * receive interrupts, take table memory from a physical pool, and read the
 * firmware's description of the IOMMU units.
 *
 * Implementations are run-time modules (platform-module.h), chosen by the
 * spec's prefix: "board" (smmu-platform-board.so: the QEMU test bed, through
 * the board agent and the shared RAM file). On a real host a module would sit
 * on /dev/mem and the kernel's interrupt plumbing. Nothing above this header
 * knows which one it runs on, and the service links none of them. */
#ifndef SMMU_PLATFORM_H
#define SMMU_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PLATFORM_MAX_UNITS 8
#define PLATFORM_MAX_IRQS  8

typedef struct Platform Platform;

/* One unit as firmware describes it (VT-d DMAR / Arm IORT equivalent). */
typedef struct {
    char name[32];
    char kind[16]; /* "vtd", "smmuv3" */
    uint64_t base, size;
    unsigned n_irqs;
    char irq_names[PLATFORM_MAX_IRQS][16];
    unsigned irqs[PLATFORM_MAX_IRQS];
} PlatformUnit;

typedef void (*PlatformIrqFn)(void *opaque, unsigned irq, bool raised);

/* spec: "TYPE:ARGUMENT" ("board:RUNDIR"): loads smmu-platform-TYPE.so from
 * $SMMU_HW_DIR, else from the directory the support libraries were installed
 * to, and opens ARGUMENT with it. Returns 0 or a negative errno with err
 * naming the spec (and, when the module is missing or has the wrong
 * interface, the paths tried): -EINVAL a malformed spec, -ENOENT no module
 * for TYPE, -ENOEXEC a module with the wrong ABI; else the module's error. */
int platform_open(const char *spec, Platform **out, char *err, size_t errlen);
/* The same for the DSS door: when $SMMU_HW_DIR lacks the module, the
 * installed directory is tried as well, so that a wrong $SMMU_HW_DIR cannot
 * keep the door from blocking the platform's units. */
int platform_open_door(const char *spec, Platform **out, char *err, size_t errlen);
void platform_close(Platform *p);

int platform_reg_read(Platform *p, uint64_t pa, unsigned size, uint64_t *val);
int platform_reg_write(Platform *p, uint64_t pa, unsigned size, uint64_t val);
/* RAM as the CPU sees it: NULL unless [pa, pa+len) is RAM. */
void *platform_map(Platform *p, uint64_t pa, uint64_t len);
/* The physical range set aside for IOMMU tables. */
void platform_pool(const Platform *p, uint64_t *base, uint64_t *size);
/* Units described by firmware. */
unsigned platform_units(const Platform *p, const PlatformUnit **units);

/* Interrupts: after subscribing, platform_irq_fd() polls readable when events
 * may be waiting; platform_irq_dispatch() delivers, without blocking, each
 * line that rose since the last call once (a handler drains everything its
 * line stands for, however often it pulsed), and takes a bounded number of
 * events per call. Events that arrived during register accesses are kept
 * until then, so call it after any batch of accesses as well. */
int platform_irq_subscribe(Platform *p, PlatformIrqFn fn, void *opaque);
int platform_irq_fd(const Platform *p);
int platform_irq_dispatch(Platform *p);
/* Whether events are waiting that the fd will not show (already read). */
bool platform_irq_pending(const Platform *p);

/* Where the service's modules (support libraries, platform modules) are
 * looked for, i-th place first: $SMMU_HW_DIR, else the installed directory;
 * with door (the DSS door), also the installed directory after a
 * $SMMU_HW_DIR that differs. NULL past the last place. */
const char *platform_module_dir(unsigned i, bool door);

/* The last error message (after a failed access). */
const char *platform_error(const Platform *p);

#endif
