#include "smmuv3-ste.h"

#include <string.h>

bool ste_same_config(const uint64_t *a, const uint64_t *b)
{
    bool va = HW_EX64(a[0], SMMU_STE0, V), vb = HW_EX64(b[0], SMMU_STE0, V);
    if (!va || !vb) return va == vb; /* invalid: nothing else is read */
    /* stage 2: qwords 0 up to the table base are read */
    for (unsigned i = 0; i <= SMMU_STE_QW_S2TTB; i++)
        if (a[i] != b[i]) return false;
    return true;
}

/* Stores the words that differ, in the given order, skipping equal ones. */
static void fill(uint64_t *ste, const uint64_t *next, unsigned from, unsigned to, const SteOps *ops)
{
    for (unsigned i = from; i < to; i++)
        if (ste[i] != next[i]) ops->store(ops->ctx, &ste[i], next[i]);
}

int ste_install(uint64_t *ste, const uint64_t *next, const SteOps *ops)
{
    bool was_valid = HW_EX64(ste[0], SMMU_STE0, V), valid = HW_EX64(next[0], SMMU_STE0, V);
    int rc;
    if (ste_same_config(ste, next)) { /* nothing the hardware reads changes */
        fill(ste, next, 0, SMMU_STE_QWORDS, ops);
        return 0;
    }
    if (was_valid) {
        /* one store takes the old configuration away (blocked meanwhile) */
        ops->store(ops->ctx, &ste[0], HW_DP64(ste[0], SMMU_STE0, V, 0));
        if ((rc = ops->sync(ops->ctx))) return rc;
    }
    /* with V=0 the hardware reads nothing else: fill freely, V last */
    fill(ste, next, 1, SMMU_STE_QWORDS, ops);
    if (valid) {
        ops->store(ops->ctx, &ste[0], next[0]);
        return ops->sync(ops->ctx);
    }
    if (ste[0] != next[0]) ops->store(ops->ctx, &ste[0], next[0]);
    return 0;
}
