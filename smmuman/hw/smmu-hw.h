/* The interface between smmuman and a support library (smmu-vtd.so,
 * smmu-smmuv3.so, and their -safety variants), loaded with dlopen.
 *
 * A library exports one symbol, `smmu_hw_ops` (SmmuHwOps). It sees hardware
 * only through the SmmuHwEnv the service hands it (registers, table memory,
 * log, and the one door into DSS), so it neither links the platform nor knows
 * it is emulated. Every library call is made from the service's single event
 * loop thread. Errors are negative errno with a message in err. */
#ifndef SMMU_HW_H
#define SMMU_HW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pgtable/pgtable.h"

#define SMMU_HW_ABI 3 /* 2: map_check, attach_check; 3: map_segs replaces map */
#define SMMU_HW_SYMBOL "smmu_hw_ops"

typedef struct SmmuHwUnit SmmuHwUnit;
typedef struct SmmuHwDomain SmmuHwDomain;

typedef enum { SMMU_LOG_ERROR, SMMU_LOG_WARN, SMMU_LOG_INFO, SMMU_LOG_DEBUG } SmmuLogLevel;

typedef struct {
    void *ctx;
    int (*reg_read)(void *ctx, uint64_t pa, unsigned size, uint64_t *val);
    int (*reg_write)(void *ctx, uint64_t pa, unsigned size, uint64_t val);
    /* Table memory from the board's pool. Pages taken with `mem` are covered
     * by the integrity scrub; pages(digest=false) are not (the hardware writes
     * them, or that change all the time: queues, status words). */
    PtMem mem;
    /* npages contiguous zeroed pages; digest: covered by the scrub (the
     * service writes them and says so through mem.written) */
    int (*pages)(void *ctx, unsigned npages, bool digest, uint64_t *pa, void **va);
    void (*log)(void *ctx, SmmuLogLevel level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
    /* Unrecoverable: blocks every unit, tells clients, exits. Never returns. */
    void (*dss)(void *ctx, const char *reason); /* does not return */
} SmmuHwEnv;

typedef struct {
    const char *name;
    uint64_t base;
    int evtq_irq, gerror_irq; /* -1: none (SMMUv3 only) */
    unsigned fault_poll_ms;   /* how often fault_poll() runs; 0: not at all */
} SmmuHwUnitCfg;

/* One fault as the hardware reported it, decoded. */
typedef struct {
    uint32_t sid;        /* requester ID (VT-d source-id) or StreamID */
    uint64_t addr;       /* faulting address, as precise as the hardware gives */
    bool write;          /* the access was a write */
    uint32_t reason;     /* raw hardware code: VT-d fault reason, SMMUv3 event type */
    uint32_t repeat;     /* identical records folded into this one, >= 1 */
} SmmuHwFault;

typedef void (*SmmuHwFaultFn)(void *opaque, const SmmuHwFault *fault);

/* One change of a domain's translation: [iova, iova+len) to [pa, pa+len)
 * with perms (PT_READ | PT_WRITE), or an unmap (perms 0). Page aligned. */
typedef struct {
    uint64_t iova, pa, len;
    unsigned perms;
} SmmuHwSeg;

typedef struct {
    uint32_t abi;        /* SMMU_HW_ABI */
    const char *type;    /* "vtd", "smmuv3" */
    bool safety;         /* a -safety build */
    /* Probes the unit and leaves it blocking all DMA (deny by default). */
    int (*unit_open)(const SmmuHwEnv *env, const SmmuHwUnitCfg *cfg, SmmuHwUnit **out, char *err, size_t errlen);
    void (*unit_close)(SmmuHwUnit *u);
    /* One line describing the unit (version, features) for status output. */
    void (*unit_describe)(SmmuHwUnit *u, char *buf, size_t len);
    /* A translation context (VT-d domain, SMMUv3 VMID) for one object. */
    int (*domain_create)(SmmuHwUnit *u, SmmuHwDomain **out, char *err, size_t errlen);
    void (*domain_destroy)(SmmuHwUnit *u, SmmuHwDomain *d); /* no device attached any more */
    /* Refusals: attach() and map_segs() return -EINVAL, -ERANGE, -ENOENT,
     * -ENOMEM, -ENOSPC, -EPERM, -EDQUOT, -EBUSY or -EEXIST only for what
     * they did not do (a back end that forwards, such as vdev-smmu's, passes
     * on what the other side refused); any other error means the unit's
     * state is unknown (the service goes to DSS). The checks below let the
     * service refuse a request before it starts. */
    /* Points device sid at domain d, or blocks it (d == NULL; what the unit
     * kept only for sid, such as a bus's context table, goes back). Returns
     * after the hardware's caches were invalidated. */
    int (*attach)(SmmuHwUnit *u, SmmuHwDomain *d, uint32_t sid, char *err, size_t errlen);
    /* Makes the changes (sorted by iova, disjoint; perms 0 = unmap) in order
     * and returns after the invalidation covering them completed (strict).
     * A refusal part-way leaves the changes before it made: the caller puts
     * them back (map_check() lets it refuse before starting). */
    int (*map_segs)(SmmuHwUnit *u, SmmuHwDomain *d, const SmmuHwSeg *segs, size_t n, char *err, size_t errlen);
    /* Changing nothing: whether every change (sorted by iova, disjoint) can
     * be made in d (NULL: in a new domain of this unit), i.e. each device
     * address is below the unit's input limit and each output address below
     * its output limit. 0 with *pages = an upper bound on the table pages
     * they take, a new domain's own included; -ERANGE with err naming the
     * range and the limit. */
    int (*map_check)(SmmuHwUnit *u, const SmmuHwDomain *d, const SmmuHwSeg *segs, size_t n, size_t *pages,
                     char *err, size_t errlen);
    /* Changing nothing: 0 with *pages = the table pages attach() needs to
     * point sid at a domain, or -ENOENT when this unit cannot translate sid. */
    int (*attach_check)(SmmuHwUnit *u, uint32_t sid, size_t *pages, char *err, size_t errlen);
    /* Drains fault records; *lost grows by faults the hardware lost or
     * flagged as overflowed (count 1 per overflow when unknown). */
    int (*fault_poll)(SmmuHwUnit *u, SmmuHwFaultFn fn, void *opaque, uint64_t *lost, char *err, size_t errlen);
    /* An interrupt of this unit (SMMUv3 event queue, global error) fired. */
    int (*irq)(SmmuHwUnit *u, unsigned irq, SmmuHwFaultFn fn, void *opaque, uint64_t *lost, char *err, size_t errlen);
    /* DSS: every device blocked; best effort, never returns early on error. */
    int (*block_all)(SmmuHwUnit *u);
    /* Table pages the unit uses besides domains' page tables (root/context
     * tables, stream table): the scrub covers them through env->mem. */
} SmmuHwOps;

#endif
