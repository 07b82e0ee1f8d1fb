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

/* Maps (perms != 0) or unmaps in a domain's table, widening *inv by what
 * the caller must invalidate before pt_release(). err names unit and range. */
static inline int hw_pt_change(const char *unit, PtTable *pt, uint64_t iova, uint64_t pa, uint64_t len, unsigned perms,
                               PtInval *inv, char *err, size_t errlen)
{
    int rc = perms ? pt_map(pt, iova, pa, len, perms, inv) : pt_unmap(pt, iova, len, inv);
    if (rc)
        snprintf(err, errlen, "%s: %s 0x%llx+0x%llx: %s", unit, perms ? "map" : "unmap", (unsigned long long)iova,
                 (unsigned long long)len, rc == -ENOMEM ? "no table memory" : "invalid range");
    return rc;
}

/* The table side of map_segs(): every change, in order, gathering into
 * *inv (initialised here) the one invalidation they all require. Stops at
 * the first refusal; *inv still covers what was changed before it, which
 * the caller must invalidate all the same. */
static inline int hw_pt_change_segs(const char *unit, PtTable *pt, const SmmuHwSeg *segs, size_t n, PtInval *inv,
                                    char *err, size_t errlen)
{
    pt_inval_init(inv);
    for (size_t i = 0; i < n; i++) {
        int rc = hw_pt_change(unit, pt, segs[i].iova, segs[i].pa, segs[i].len, segs[i].perms, inv, err, errlen);
        if (rc) return rc;
    }
    return 0;
}

/* A unit's invalidation of what a change touched (inv), strict: returns
 * once the hardware can no longer use the old translations. */
typedef int (*HwInvalFn)(SmmuHwUnit *u, const SmmuHwDomain *d, const PtInval *inv, char *err, size_t errlen);

/* map_segs() for a unit whose domain d has the table pt: all the table
 * changes first, then one invalidation covering them, and only then are
 * the pages they unlinked freed. A refusal part-way (the service's checks
 * should have seen it coming) still has what was changed before it
 * invalidated before the call returns. An invalidation that fails leaves
 * the unit's state unknown: its error is the call's (the caller's DSS). */
static inline int hw_map_segs(SmmuHwUnit *u, SmmuHwDomain *d, const char *name, PtTable *pt, HwInvalFn inval,
                              const SmmuHwSeg *segs, size_t n, char *err, size_t errlen)
{
    PtInval inv;
    int rc = hw_pt_change_segs(name, pt, segs, n, &inv, err, errlen);
#ifndef SMMU_MUTATION_NO_INVALIDATION
    char why[160] = "";
    int irc = inval(u, d, &inv, why, sizeof why);
    if (irc) {
        snprintf(err, errlen, "%s", why);
        return irc;
    }
#else
    (void)u, (void)d, (void)inval;
#endif
    pt_release(pt); /* only now can no walk still use the unlinked pages */
    return rc;
}

/* map_check() for a unit whose domains are tables like t (a real one, or
 * one from pt_describe()): device addresses below 2^iova_bits, output
 * addresses below 2^pa_bits. */
static inline int hw_map_check(const char *unit, const PtTable *t, unsigned iova_bits, unsigned pa_bits,
                               const SmmuHwSeg *segs, size_t n, size_t *pages, char *err, size_t errlen)
{
    const uint64_t iova_limit = 1ull << iova_bits, pa_limit = 1ull << pa_bits;
    PtChange one[64];
    *pages = 0;
    for (size_t i = 0; i < n; i++) {
        const SmmuHwSeg *g = &segs[i];
#ifdef SMMU_MUTATION_WIDTH_EDGE /* off by one: the input range's last page counts as beyond it */
        if (g->len == 0 || g->iova >= iova_limit || g->len >= iova_limit - g->iova) {
#else
        if (g->len == 0 || g->iova >= iova_limit || g->len > iova_limit - g->iova) {
#endif
            snprintf(err, errlen, "%s: device addresses 0x%llx+0x%llx reach beyond its %u-bit input address range",
                     unit, (unsigned long long)g->iova, (unsigned long long)g->len, iova_bits);
            return -ERANGE;
        }
        if (g->perms && (g->pa >= pa_limit || g->len > pa_limit - g->pa)) {
            snprintf(err, errlen, "%s: 0x%llx+0x%llx would land at 0x%llx, beyond its %u-bit output address range",
                     unit, (unsigned long long)g->iova, (unsigned long long)g->len, (unsigned long long)g->pa,
                     pa_bits);
            return -ERANGE;
        }
        if (!pt_range_ok(t, g->iova, g->perms ? g->pa : g->iova, g->len)) {
            snprintf(err, errlen, "%s: 0x%llx+0x%llx -> 0x%llx cannot be expressed in its tables", unit,
                     (unsigned long long)g->iova, (unsigned long long)g->len, (unsigned long long)g->pa);
            return -ERANGE;
        }
    }
    /* in batches on the stack: the bound of consecutive batches adds up,
     * counting a shared edge block twice at most once per batch */
    for (size_t i = 0; i < n; i += sizeof one / sizeof one[0]) {
        size_t k = 0;
        for (; k < sizeof one / sizeof one[0] && i + k < n; k++)
            one[k] = (PtChange){ segs[i + k].iova, segs[i + k].perms ? segs[i + k].pa : segs[i + k].iova,
                                 segs[i + k].len, !segs[i + k].perms };
        size_t p = pt_cost(t, one, k);
        /* the root of a new table is counted once, not per batch */
        if (!t->root && i) p--;
        *pages += p;
    }
    if (n == 0 && !t->root) *pages = 1;
    return 0;
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
