/* Installing a stream table entry without the hardware ever seeing a
 * mixture of two configurations (docs/smmuv3.md, "hitless updates").
 *
 * The SMMU reads an STE 64 bits at a time and only the words its
 * configuration uses: with V=0 only V; for stage 2, qwords 0 (V, Config),
 * 1, 2 (VMID and the walk's parameters) and 3 (the table base). So:
 *   - blocked -> domain: fill qwords 1..7 while V=0, then write qword 0 once;
 *   - domain -> blocked: clear V (one store), then the rest;
 *   - domain A -> domain B: VMID (qword 2) and table base (qword 3) both
 *     change, which one store cannot do; a mixture would walk one domain's
 *     tables under the other's VMID, so the entry passes through V=0 (abort:
 *     the device is blocked, not mis-translated) for that moment.
 * Every state the hardware can observe is therefore the old configuration,
 * the new one, or abort. */
#ifndef SMMU_SMMUV3_STE_H
#define SMMU_SMMUV3_STE_H

#include <stdbool.h>
#include <stdint.h>

#include "hw/smmuv3-regs.h"

typedef struct {
    void *ctx;
    /* one 64-bit store into the entry (the table is in RAM the SMMU reads) */
    void (*store)(void *ctx, uint64_t *slot, uint64_t value);
    /* make the SMMU forget its cached copy: CFGI_STE + CMD_SYNC. 0 or -errno */
    int (*sync)(void *ctx);
} SteOps;

/* Replaces *ste (8 qwords) by next (V=0 in next: blocked). */
int ste_install(uint64_t *ste, const uint64_t *next, const SteOps *ops);

/* The part of an STE the hardware reads, for comparing states. */
bool ste_same_config(const uint64_t *a, const uint64_t *b);

#endif
