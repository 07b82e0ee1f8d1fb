/* Small helpers every support library uses: a monotonic clock for bounded
 * polls, and register access relative to a unit's base through the
 * service's environment. */
#ifndef SMMU_HW_UTIL_H
#define SMMU_HW_UTIL_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "smmu-hw.h"

static inline int64_t hw_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static inline int hw_rd(const SmmuHwEnv *env, uint64_t base, unsigned reg, unsigned size, uint64_t *v)
{
    return env->reg_read(env->ctx, base + reg, size, v);
}

static inline int hw_wr(const SmmuHwEnv *env, uint64_t base, unsigned reg, unsigned size, uint64_t v)
{
    return env->reg_write(env->ctx, base + reg, size, v);
}

/* Maps (perms != 0) or unmaps in a domain's table; inv says what the
 * caller must invalidate before pt_release(). err names unit and range. */
static inline int hw_pt_change(const char *unit, PtTable *pt, uint64_t iova, uint64_t pa, uint64_t len, unsigned perms,
                               PtInval *inv, char *err, size_t errlen)
{
    pt_inval_init(inv);
    int rc = perms ? pt_map(pt, iova, pa, len, perms, inv) : pt_unmap(pt, iova, len, inv);
    if (rc)
        snprintf(err, errlen, "%s: %s 0x%llx+0x%llx: %s", unit, perms ? "map" : "unmap", (unsigned long long)iova,
                 (unsigned long long)len, rc == -ENOMEM ? "no table memory" : "invalid range");
    return rc;
}

/* The lowest free ID in 1..n-1 (0 is never handed out), marked used; 0 if none. */
static inline uint32_t hw_take_id(uint8_t *used, uint32_t n)
{
    for (uint32_t i = 1; i < n; i++)
        if (!used[i]) {
            used[i] = 1;
            return i;
        }
    return 0;
}

#endif
