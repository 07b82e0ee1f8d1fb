/* Small helpers every support library uses: a monotonic clock for bounded
 * polls, and register access relative to a unit's base through the
 * service's environment. */
#ifndef SMMU_HW_UTIL_H
#define SMMU_HW_UTIL_H

#include <stdint.h>
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

#endif
