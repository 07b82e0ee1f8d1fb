/* smmu-vtd.so: Intel VT-d in legacy translation mode (second-level tables).
 *
 * Deny by default: translation is turned on with an empty root table before
 * anything else, so every device is blocked (and its faults recorded) until a
 * mapping names it. Every invalidation is queued and followed by a wait
 * descriptor whose status write we poll for, bounded: a change returns only
 * once the hardware can no longer use what was there before. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw-util.h"
#include "hw/vtd-regs.h"
#include "pgtable/vtd-sl.h"
#include "smmu-hw.h"

#ifndef SMMU_HW_SAFETY
#define SMMU_HW_SAFETY 0
#endif

/* Bounds on hardware polls: a register round trip costs ~0.1 ms on the test
 * bed and microseconds on silicon; a unit slower than this is broken. */
#define VTD_POLL_TIMEOUT_US 200000
#define VTD_IQ_QS           0                     /* 2^0: one page */
#define VTD_IQ_ENTRIES      ((PT_PAGE_SIZE << VTD_IQ_QS) / VTD_INV_DESC_SIZE)
#define VTD_MAX_SID         (1u << (VTD_SID_BUS_LENGTH + VTD_SID_DEVFN_LENGTH))
#define VTD_MAX_DIDS        (1u << VTD_CTX_HI_DID_LENGTH)
/* Status bits that stay set and must be written back with every GCMD. */
#define VTD_GSTS_PERSISTENT (HW_MASK32(VTD_GSTS, TES) | HW_MASK32(VTD_GSTS, QIES) | HW_MASK32(VTD_GSTS, IRES))

struct SmmuHwUnit {
    SmmuHwEnv env;
    char name[32];
    uint64_t base, ver, cap, ecap;
    unsigned levels, leaf_levels, fro, nfr;
    unsigned pa_bits;            /* output addresses: MGAW */
    uint32_t ndids;
    uint32_t gsts_keep;          /* persistent status bits to write back with GCMD */
    uint64_t root_pa;
    uint64_t *root;
    uint64_t ctx_pa[VTD_ENTRIES];
    uint64_t *ctx[VTD_ENTRIES];
    uint64_t iq_pa;
    uint64_t *iq;
    unsigned iq_tail;
    uint64_t status_pa;
    volatile uint32_t *status;   /* written by the hardware (wait descriptors) */
    uint32_t wait_seq;
    uint8_t *did_used;           /* ndids bytes */
    uint16_t attached[VTD_MAX_SID]; /* DID a source-id points at, 0 = blocked */
    uint16_t bus_users[VTD_ENTRIES]; /* source-ids of the bus pointed at a domain: its context table's users */
};

struct SmmuHwDomain {
    uint16_t did;
    PtTable pt;
};


static int rd(SmmuHwUnit *u, unsigned reg, unsigned size, uint64_t *v) { return hw_rd(&u->env, u->base, reg, size, v); }
static int wr(SmmuHwUnit *u, unsigned reg, unsigned size, uint64_t v) { return hw_wr(&u->env, u->base, reg, size, v); }

/* GCMD is compared against GSTS: write the bits to keep plus the command,
 * then wait, bounded, for the status to follow. */
static int gcmd(SmmuHwUnit *u, uint32_t set, uint32_t clear, uint32_t wait_set, uint32_t wait_clear,
                char *err, size_t errlen)
{
    uint32_t cmd = (u->gsts_keep | set) & ~clear;
    int rc = wr(u, VTD_REG_GCMD, 4, cmd);
    int64_t deadline = hw_now_us() + VTD_POLL_TIMEOUT_US;
    for (uint64_t sts = 0; !rc;) {
        if ((rc = rd(u, VTD_REG_GSTS, 4, &sts))) break;
        if ((sts & wait_set) == wait_set && !(sts & wait_clear)) {
            u->gsts_keep = (uint32_t)sts & VTD_GSTS_PERSISTENT;
            return 0;
        }
        if (hw_now_us() > deadline) {
            snprintf(err, errlen, "%s: GSTS 0x%llx never showed GCMD 0x%x", u->name, (unsigned long long)sts, cmd);
            return -ETIMEDOUT;
        }
    }
    snprintf(err, errlen, "%s: register access failed", u->name);
    return rc;
}

/* Queues descriptors plus a wait descriptor, rings the tail and polls the
 * status word the wait writes: one register write per batch. */
static int qi_submit(SmmuHwUnit *u, const uint64_t (*desc)[2], unsigned n, char *err, size_t errlen)
{
    uint32_t seq = ++u->wait_seq;
    if (seq == 0) seq = ++u->wait_seq; /* 0 is what a fresh status word holds */
    for (unsigned i = 0; i <= n; i++) {
        uint64_t *slot = &u->iq[2 * u->iq_tail];
        if (i < n) {
            slot[0] = desc[i][0];
            slot[1] = desc[i][1];
        } else {
            slot[0] = HW_VAL64(VTD_INV, TYPE, VTD_INV_TYPE_WAIT) | HW_MASK64(VTD_INV_WAIT_LO, SW) |
                      HW_MASK64(VTD_INV_WAIT_LO, FN) | HW_VAL64(VTD_INV_WAIT_LO, SDATA, seq);
            slot[1] = u->status_pa & HW_MASK64(VTD_INV_WAIT_HI, SADDR);
        }
        u->iq_tail = (u->iq_tail + 1) % VTD_IQ_ENTRIES;
    }
    int rc = wr(u, VTD_REG_IQT, 8, HW_VAL64(VTD_IQT, QT, u->iq_tail));
    if (rc) {
        snprintf(err, errlen, "%s: IQT write failed", u->name);
        return rc;
    }
    int64_t deadline = hw_now_us() + VTD_POLL_TIMEOUT_US;
    while (*u->status != seq) {
        uint64_t fsts = 0;
        if (hw_now_us() > deadline || (rd(u, VTD_REG_FSTS, 4, &fsts) == 0 && HW_EX64(fsts, VTD_FSTS, IQE))) {
            snprintf(err, errlen, "%s: invalidation wait %u not completed (FSTS 0x%llx)", u->name, seq,
                     (unsigned long long)fsts);
            return -ETIMEDOUT;
        }
    }
    return 0;
}

/* Descriptors' first qwords. IOTLB invalidations drain reads and writes:
 * nothing the device issued under the old translation is still in flight
 * when the wait after them completes. */
static uint64_t desc_cc(unsigned g, uint16_t did, uint32_t sid)
{
    return HW_VAL64(VTD_INV, TYPE, VTD_INV_TYPE_CC) | HW_VAL64(VTD_INV_CC, G, g) | HW_VAL64(VTD_INV_CC, DID, did) |
           HW_VAL64(VTD_INV_CC, SID, sid);
}

static uint64_t desc_iotlb(unsigned g, uint16_t did)
{
    return HW_VAL64(VTD_INV, TYPE, VTD_INV_TYPE_IOTLB) | HW_VAL64(VTD_INV_IOTLB_LO, G, g) |
           HW_MASK64(VTD_INV_IOTLB_LO, DR) | HW_MASK64(VTD_INV_IOTLB_LO, DW) | HW_VAL64(VTD_INV_IOTLB_LO, DID, did);
}

static int inval_global(SmmuHwUnit *u, char *err, size_t errlen)
{
    const uint64_t d[2][2] = {
        { desc_cc(VTD_INV_CC_G_GLOBAL, 0, 0), 0 },
        { desc_iotlb(VTD_INV_IOTLB_G_GLOBAL, 0), 0 },
    };
    return qi_submit(u, d, 2, err, errlen);
}

static int inval_domain(SmmuHwUnit *u, uint16_t did, char *err, size_t errlen)
{
    const uint64_t d[1][2] = { { desc_iotlb(VTD_INV_IOTLB_G_DOMAIN, did), 0 } };
    return qi_submit(u, d, 1, err, errlen);
}

/* A device's context changed: its context-cache entry, then the IOTLB of
 * the domain it used, go. */
static int inval_device(SmmuHwUnit *u, uint32_t sid, uint16_t did, char *err, size_t errlen)
{
    const uint64_t d[2][2] = {
        { desc_cc(VTD_INV_CC_G_DEVICE, did, sid), 0 },
        { desc_iotlb(VTD_INV_IOTLB_G_DOMAIN, did), 0 },
    };
    return qi_submit(u, d, did ? 2 : 1, err, errlen);
}

/* What the unit's VER, CAP and ECAP (read already) say: refused if it
 * cannot do what we need, else its parameters. */
static int probe_caps(SmmuHwUnit *u, char *err, size_t errlen)
{
    if (u->ver == 0 || u->ver == UINT32_MAX || HW_EX64(u->ver, VTD_VER, MAX) < 1) {
        snprintf(err, errlen, "%s: no VT-d unit at 0x%llx (VER 0x%llx)", u->name, (unsigned long long)u->base,
                 (unsigned long long)u->ver);
        return -ENODEV;
    }
    if (!HW_EX64(u->ecap, VTD_ECAP, QI)) {
        snprintf(err, errlen, "%s: queued invalidation not supported (ECAP 0x%llx)", u->name, (unsigned long long)u->ecap);
        return -ENOTSUP;
    }
    unsigned sagaw = (unsigned)HW_EX64(u->cap, VTD_CAP, SAGAW);
    /* The fewest levels the unit walks: three reach 512 GiB, enough for any
     * RAM we map, and cost one walk step less than four. */
    u->levels = 0;
    for (unsigned l = VTD_SL_MIN_LEVELS; l <= VTD_SL_MAX_LEVELS && !u->levels; l++)
        if (sagaw & (1u << VTD_AW_FOR_LEVELS(l))) u->levels = l;
    if (!u->levels) {
        snprintf(err, errlen, "%s: no supported address width (SAGAW 0x%x)", u->name, sagaw);
        return -ENOTSUP;
    }
    /* SLLPS bit i: leaves at level i + 1 (2 MiB, 1 GiB); 4 KiB ones always */
    u->leaf_levels = 1u | (unsigned)HW_EX64(u->cap, VTD_CAP, SLLPS) << 1;
    u->ndids = VTD_CAP_ND_DOMAINS((unsigned)HW_EX64(u->cap, VTD_CAP, ND));
    if (u->ndids > VTD_MAX_DIDS) u->ndids = VTD_MAX_DIDS;
    u->pa_bits = (unsigned)HW_EX64(u->cap, VTD_CAP, MGAW) + 1;
    u->fro = (unsigned)HW_EX64(u->cap, VTD_CAP, FRO) * VTD_CAP_FRO_UNIT;
    u->nfr = (unsigned)HW_EX64(u->cap, VTD_CAP, NFR) + 1;
    return 0;
}

static int probe(SmmuHwUnit *u, char *err, size_t errlen)
{
    int rc = rd(u, VTD_REG_VER, 4, &u->ver);
    if (!rc) rc = rd(u, VTD_REG_CAP, 8, &u->cap);
    if (!rc) rc = rd(u, VTD_REG_ECAP, 8, &u->ecap);
    if (rc) {
        snprintf(err, errlen, "%s: registers at 0x%llx do not answer", u->name, (unsigned long long)u->base);
        return rc;
    }
    return probe_caps(u, err, errlen);
}

static int alloc_page(SmmuHwUnit *u, uint64_t *pa, uint64_t **va)
{
    int rc = u->env.mem.alloc(u->env.mem.ctx, pa);
    if (!rc) *va = u->env.mem.va(u->env.mem.ctx, *pa);
    return rc;
}

/* Takes the unit over in whatever state it is (a previous instance may have
 * left translation on) and leaves it translating through an empty root
 * table: everything blocked. */
static int take_over(SmmuHwUnit *u, char *err, size_t errlen)
{
    uint64_t sts;
    int rc = rd(u, VTD_REG_GSTS, 4, &sts);
    if (rc) return rc;
    u->gsts_keep = (uint32_t)sts & VTD_GSTS_PERSISTENT;
    void *sva, *iqva;
    /* The queue changes with every invalidation and the status word is
     * written by the hardware: neither can carry a digest for the scrub. */
    if ((rc = alloc_page(u, &u->root_pa, &u->root)) || (rc = u->env.pages(u->env.ctx, 1, false, &u->iq_pa, &iqva)) ||
        (rc = u->env.pages(u->env.ctx, 1, false, &u->status_pa, &sva))) {
        snprintf(err, errlen, "%s: no table memory", u->name);
        return rc;
    }
    u->iq = iqva;
    u->status = sva;
    /* Root first: if translation is already on, this blocks at once. */
    if ((rc = wr(u, VTD_REG_RTADDR, 8, u->root_pa & HW_MASK64(VTD_RTADDR, RTA))) || /* TTM 0: legacy */
        (rc = gcmd(u, HW_MASK32(VTD_GCMD, SRTP), 0, HW_MASK32(VTD_GSTS, RTPS), 0, err, errlen)))
        return rc;
    if (HW_EX32(u->gsts_keep, VTD_GSTS, QIES)) /* a queue we did not set up: stop it */
        if ((rc = gcmd(u, 0, HW_MASK32(VTD_GCMD, QIE), 0, HW_MASK32(VTD_GSTS, QIES), err, errlen))) return rc;
    if ((rc = wr(u, VTD_REG_IQT, 8, 0)) ||
        (rc = wr(u, VTD_REG_IQA, 8, (u->iq_pa & HW_MASK64(VTD_IQA, IQA)) | HW_VAL64(VTD_IQA, QS, VTD_IQ_QS))) ||
        (rc = gcmd(u, HW_MASK32(VTD_GCMD, QIE), 0, HW_MASK32(VTD_GSTS, QIES), 0, err, errlen)))
        return rc;
    u->iq_tail = 0;
    if ((rc = inval_global(u, err, errlen))) return rc;
    if ((rc = gcmd(u, HW_MASK32(VTD_GCMD, TE), 0, HW_MASK32(VTD_GSTS, TES), 0, err, errlen))) return rc;
    /* Fault events are MSIs to the CPU; we poll FSTS instead. */
    return wr(u, VTD_REG_FECTL, 4, HW_MASK32(VTD_FECTL, IM));
}

static int unit_open(const SmmuHwEnv *env, const SmmuHwUnitCfg *cfg, SmmuHwUnit **out, char *err, size_t errlen)
{
    SmmuHwUnit *u = calloc(1, sizeof *u);
    if (!u) return -ENOMEM;
    u->env = *env;
    u->base = cfg->base;
    snprintf(u->name, sizeof u->name, "%s", cfg->name);
    int rc = probe(u, err, errlen);
    if (!rc && !(u->did_used = calloc(u->ndids, 1))) rc = -ENOMEM;
    if (!rc) rc = take_over(u, err, errlen);
    if (rc) {
        free(u->did_used);
        free(u);
        return rc;
    }
    u->did_used[0] = 1; /* DID 0 is reserved when caching mode is on; never use it */
    *out = u;
    return 0;
}

static void unit_close(SmmuHwUnit *u)
{
    free(u->did_used);
    free(u);
}

static void unit_describe(SmmuHwUnit *u, char *buf, size_t len)
{
    snprintf(buf, len, "vtd %s base=0x%llx version=%u.%u levels=%u sllps=0x%x domains=%u fault-records=%u",
             u->name, (unsigned long long)u->base, (unsigned)HW_EX64(u->ver, VTD_VER, MAX),
             (unsigned)HW_EX64(u->ver, VTD_VER, MIN), u->levels, (unsigned)HW_EX64(u->cap, VTD_CAP, SLLPS), u->ndids,
             u->nfr);
}

static int domain_create(SmmuHwUnit *u, SmmuHwDomain **out, char *err, size_t errlen)
{
    SmmuHwDomain *d = calloc(1, sizeof *d);
    if (!d) return -ENOMEM;
    if (!(d->did = (uint16_t)hw_take_id(u->did_used, u->ndids))) {
        free(d);
        snprintf(err, errlen, "%s: all %u domain IDs in use", u->name, u->ndids);
        return -ENOSPC;
    }
    int rc = pt_init(&d->pt, &pt_format_vtd_sl, u->levels, u->leaf_levels, &u->env.mem);
    if (rc) {
        u->did_used[d->did] = 0;
        free(d);
        snprintf(err, errlen, "%s: no table memory for a domain", u->name);
        return rc;
    }
    *out = d;
    return 0;
}

static void domain_destroy(SmmuHwUnit *u, SmmuHwDomain *d)
{
    char err[128];
    /* Nothing points at it any more; drop what the IOTLB may still hold
     * before its pages go back to the pool. */
    if (inval_domain(u, d->did, err, sizeof err)) u->env.dss(u->env.ctx, err);
    pt_fini(&d->pt);
    u->did_used[d->did] = 0;
    free(d);
}

static int context_table(SmmuHwUnit *u, unsigned bus, char *err, size_t errlen)
{
    if (u->ctx[bus]) return 0;
    if (alloc_page(u, &u->ctx_pa[bus], &u->ctx[bus])) {
        snprintf(err, errlen, "%s: no table memory for bus %u", u->name, bus);
        return -ENOMEM;
    }
    u->root[VTD_ENTRY_QWORDS * bus + 1] = 0;
    u->root[VTD_ENTRY_QWORDS * bus] = (u->ctx_pa[bus] & HW_MASK64(VTD_ROOT_LO, CTP)) | HW_MASK64(VTD_ROOT_LO, P);
    u->env.mem.written(u->env.mem.ctx, u->root_pa);
    return 0;
}

/* The bus's last device left: its context table goes back to the pool, so
 * that devices a client names and drops cost nothing afterwards. */
static int context_table_drop(SmmuHwUnit *u, unsigned bus, char *err, size_t errlen)
{
    u->root[VTD_ENTRY_QWORDS * bus] = 0;
    u->env.mem.written(u->env.mem.ctx, u->root_pa);
    const uint64_t d[1][2] = { { desc_cc(VTD_INV_CC_G_GLOBAL, 0, 0), 0 } };
    int rc = qi_submit(u, d, 1, err, errlen);
    if (rc) return rc;
    u->env.mem.free(u->env.mem.ctx, u->ctx_pa[bus]);
    u->ctx[bus] = NULL;
    u->ctx_pa[bus] = 0;
    return 0;
}

static int attach(SmmuHwUnit *u, SmmuHwDomain *d, uint32_t sid, char *err, size_t errlen)
{
    if (sid >= VTD_MAX_SID) {
        snprintf(err, errlen, "%s: source-id 0x%x is beyond 16 bits", u->name, sid);
        return -EINVAL;
    }
    unsigned bus = (unsigned)HW_EX64(sid, VTD_SID, BUS), devfn = (unsigned)HW_EX64(sid, VTD_SID, DEVFN);
    uint16_t old = u->attached[sid];
    int rc;
    if (d && (rc = context_table(u, bus, err, errlen))) return rc; /* -ENOMEM: nothing changed */
    uint64_t *ce = u->ctx[bus] ? &u->ctx[bus][VTD_ENTRY_QWORDS * devfn] : NULL;
    if (old && ce) {
        /* Not present first: the hardware never sees a half-written entry. */
        ce[0] = 0;
        ce[1] = 0;
        u->env.mem.written(u->env.mem.ctx, u->ctx_pa[bus]);
        if ((rc = inval_device(u, sid, old, err, errlen))) return rc;
        u->attached[sid] = 0;
        u->bus_users[bus]--;
    }
    if (!d) return u->ctx[bus] && !u->bus_users[bus] ? context_table_drop(u, bus, err, errlen) : 0;
    ce[1] = HW_VAL64(VTD_CTX_HI, AW, VTD_AW_FOR_LEVELS(u->levels)) | HW_VAL64(VTD_CTX_HI, DID, d->did);
    ce[0] = (d->pt.root & HW_MASK64(VTD_CTX_LO, SLPTPTR)) | HW_VAL64(VTD_CTX_LO, TT, VTD_CTX_TT_SL) |
            HW_MASK64(VTD_CTX_LO, P);
    u->env.mem.written(u->env.mem.ctx, u->ctx_pa[bus]);
    /* A not-present entry may be cached when caching mode is on. */
    if ((rc = inval_device(u, sid, d->did, err, errlen))) return rc;
    u->attached[sid] = d->did;
    u->bus_users[bus]++;
    return 0;
}

static int attach_check(SmmuHwUnit *u, uint32_t sid, size_t *pages, char *err, size_t errlen)
{
    if (sid >= VTD_MAX_SID) {
        snprintf(err, errlen, "%s: source-id 0x%x is beyond 16 bits", u->name, sid);
        return -ENOENT;
    }
    *pages = u->ctx[HW_EX64(sid, VTD_SID, BUS)] ? 0 : 1;
    return 0;
}

static int map_check(SmmuHwUnit *u, const SmmuHwDomain *d, const SmmuHwSeg *segs, size_t n, size_t *pages, char *err,
                     size_t errlen)
{
    PtTable fresh;
    const PtTable *t = d ? &d->pt : &fresh;
    if (!d && pt_describe(&fresh, &pt_format_vtd_sl, u->levels, u->leaf_levels)) {
        snprintf(err, errlen, "%s: no table format for %u levels", u->name, u->levels);
        return -EINVAL;
    }
    return hw_map_check(u->name, t, PT_IOVA_BITS(u->levels), u->pa_bits, segs, n, pages, err, errlen);
}

/* [start, end) as naturally aligned blocks of 2^order pages (order at most
 * max_order), in address order, into addr[] and order[]: how many it takes,
 * or max + 1 once that is more than max. */
static unsigned aligned_blocks(uint64_t start, uint64_t end, unsigned max_order, uint64_t *addr, unsigned *order,
                               unsigned max)
{
    unsigned n = 0;
    while (start < end) {
        const uint64_t page = start >> PT_PAGE_SHIFT, pages = (end - start) >> PT_PAGE_SHIFT;
        unsigned o = page ? (unsigned)__builtin_ctzll(page) : max_order; /* what start's alignment allows */
        const unsigned fits = 63u - (unsigned)__builtin_clzll(pages);    /* what the rest of the range allows */
        if (o > fits) o = fits;
        if (o > max_order) o = max_order;
        if (n == max) return max + 1;
        addr[n] = start;
        order[n++] = o;
        start += PT_PAGE_SIZE << o;
    }
    return n;
}

/* One change's invalidation, one queue submission whatever the change's
 * size (docs/vtd.md): page-selective IOTLB descriptors covering the
 * gathered range exactly, each 2^AM pages aligned to their size (AM up to
 * CAP.MAMV), or, past VTD_PSI_MAX of them or without CAP.PSI, one
 * domain-selective descriptor. VTD_PSI_MAX: any range of up to 256 pages,
 * at any alignment, and any naturally aligned range up to 2^MAMV pages
 * takes at most 16; more means a large scattered change, for which
 * dropping the domain's IOTLB bounds the unit's work per call (and the
 * batch stays far inside the 256-entry queue). */
#define VTD_PSI_MAX 16

static int inval_change(SmmuHwUnit *u, const SmmuHwDomain *d, const PtInval *inv, char *err, size_t errlen)
{
    const bool cm = HW_EX64(u->cap, VTD_CAP, CM);
    if (inv->start == inv->end) return 0; /* nothing changed */
    /* Caching mode 0: the unit caches no not-present entry, at any level, so
     * a change that only filled empty entries (new tables linked into empty
     * ones included) left nothing stale. With caching mode 1 (a virtual
     * unit shadowing our tables) the empty entries may be cached: they go
     * like any other. */
    if (!inv->replaced && !cm) return 0;
    uint64_t desc[VTD_PSI_MAX][2], addr[VTD_PSI_MAX];
    unsigned order[VTD_PSI_MAX];
    unsigned n = HW_EX64(u->cap, VTD_CAP, PSI) ? aligned_blocks(inv->start, inv->end,
                                                                 (unsigned)HW_EX64(u->cap, VTD_CAP, MAMV), addr,
                                                                 order, VTD_PSI_MAX)
                                               : VTD_PSI_MAX + 1;
    if (n > VTD_PSI_MAX) return inval_domain(u, d->did, err, errlen);
    /* IH=0 drops the paging-structure caches' entries for the range too:
     * needed when a non-leaf entry changed (a table freed, split or merged),
     * and with caching mode 1, where an empty non-leaf entry a new table
     * replaced may be cached. Otherwise only leaves changed: IH=1. */
    const bool leaves_only = !inv->tables_changed && !cm;
    for (unsigned i = 0; i < n; i++) {
        desc[i][0] = desc_iotlb(VTD_INV_IOTLB_G_PAGE, d->did);
        desc[i][1] = (addr[i] & HW_MASK64(VTD_INV_IOTLB_HI, ADDR)) | HW_VAL64(VTD_INV_IOTLB_HI, AM, order[i]) |
                     HW_VAL64(VTD_INV_IOTLB_HI, IH, leaves_only);
    }
    return qi_submit(u, (const uint64_t(*)[2])desc, n, err, errlen);
}

static int map_segs(SmmuHwUnit *u, SmmuHwDomain *d, const SmmuHwSeg *segs, size_t n, char *err, size_t errlen)
{
    return hw_map_segs(u, d, u->name, &d->pt, inval_change, segs, n, err, errlen);
}

static int fault_poll(SmmuHwUnit *u, SmmuHwFaultFn fn, void *opaque, uint64_t *lost, char *err, size_t errlen)
{
    uint64_t fsts, lo, hi;
    int rc = rd(u, VTD_REG_FSTS, 4, &fsts), n = 0;
    if (rc) goto fail;
    if (HW_EX64(fsts, VTD_FSTS, IQE)) {
        snprintf(err, errlen, "%s: invalidation queue error (FSTS 0x%llx)", u->name, (unsigned long long)fsts);
        return -EIO;
    }
    for (unsigned i = 0; HW_EX64(fsts, VTD_FSTS, PPF) && i < u->nfr; i++) {
        unsigned reg = u->fro + i * VTD_FRCD_SIZE;
        if ((rc = rd(u, reg + VTD_FRCD_OFF_HI, 8, &hi))) goto fail;
        if (!HW_EX64(hi, VTD_FRCD_HI, F)) continue;
        if ((rc = rd(u, reg + VTD_FRCD_OFF_LO, 8, &lo))) goto fail;
        SmmuHwFault f = { .sid = (uint32_t)HW_EX64(hi, VTD_FRCD_HI, SID), .addr = lo & HW_MASK64(VTD_FRCD_LO, FI),
                          .write = !HW_EX64(hi, VTD_FRCD_HI, T), .reason = (uint32_t)HW_EX64(hi, VTD_FRCD_HI, FR),
                          .repeat = 1 };
        /* F is write-1-to-clear; a 4-byte write of the last dword clears it
         * alone (an 8-byte one would write the rest of the record too) */
        if ((rc = wr(u, reg + VTD_FRCD_OFF_DW3, 4, HW_MASK32(VTD_FRCD_DW3, F)))) goto fail;
        fn(opaque, &f);
        n++;
    }
    if (HW_EX64(fsts, VTD_FSTS, PFO)) {
        /* Faults were lost while the record was full; how many, the unit
         * does not say: count the overflow itself. */
        (*lost)++;
        if ((rc = wr(u, VTD_REG_FSTS, 4, HW_MASK32(VTD_FSTS, PFO)))) goto fail;
    }
    return n;
fail:
    snprintf(err, errlen, "%s: fault registers do not answer", u->name);
    return rc;
}

static int irq(SmmuHwUnit *u, unsigned line, SmmuHwFaultFn fn, void *opaque, uint64_t *lost, char *err, size_t errlen)
{
    (void)line; /* the fault event MSI is not wired to anything we see */
    return fault_poll(u, fn, opaque, lost, err, errlen);
}

static int block_all(SmmuHwUnit *u)
{
    char err[160];
    int rc = 0;
    /* Every root entry not present, then the caches: every device blocked
     * with translation left on. Keep going whatever fails. */
    if (u->root) {
        memset(u->root, 0, PT_PAGE_SIZE);
        u->env.mem.written(u->env.mem.ctx, u->root_pa);
    }
    if (inval_global(u, err, sizeof err)) rc = -EIO;
    /* Belt and braces: point the hardware at the (empty) root again, which
     * also resets its caches, and make sure translation is on. */
    if (u->root_pa && (wr(u, VTD_REG_RTADDR, 8, u->root_pa & HW_MASK64(VTD_RTADDR, RTA)) ||
                       gcmd(u, HW_MASK32(VTD_GCMD, SRTP), 0, HW_MASK32(VTD_GSTS, RTPS), 0, err, sizeof err)))
        rc = -EIO;
    if (gcmd(u, HW_MASK32(VTD_GCMD, TE), 0, HW_MASK32(VTD_GSTS, TES), 0, err, sizeof err)) rc = -EIO;
    memset(u->attached, 0, sizeof u->attached);
    memset(u->bus_users, 0, sizeof u->bus_users);
    return rc;
}

__attribute__((visibility("default"))) const SmmuHwOps smmu_hw_ops = {
    .abi = SMMU_HW_ABI,
    .type = "vtd",
    .safety = SMMU_HW_SAFETY,
    .unit_open = unit_open,
    .unit_close = unit_close,
    .unit_describe = unit_describe,
    .domain_create = domain_create,
    .domain_destroy = domain_destroy,
    .attach = attach,
    .map_segs = map_segs,
    .map_check = map_check,
    .attach_check = attach_check,
    .fault_poll = fault_poll,
    .irq = irq,
    .block_all = block_all,
};
