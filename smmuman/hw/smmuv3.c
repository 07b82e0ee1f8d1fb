/* smmu-smmuv3.so: Arm SMMUv3, stage 2 only.
 *
 * Deny by default from the first register write: global bypass set to
 * abort, then the SMMU enabled with every stream table entry invalid (each
 * access aborts and is recorded). One stage-2 context (VMID) per object.
 * Commands are followed by CMD_SYNC and their consumption is awaited,
 * bounded; the event queue is drained on its interrupt and by polling, and
 * the hardware's record per failed 4-byte access is folded into one fault
 * per (stream, page, kind) with a repeat count. During a flood of records
 * the event-queue interrupt is masked and the polls drain (moderation,
 * below). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw-util.h"
#include "hw/smmuv3-regs.h"
#include "smmu-hw.h"
#include "smmuv3-ste.h"

#ifndef SMMU_HW_SAFETY
#define SMMU_HW_SAFETY 0
#endif

#define POLL_TIMEOUT_US    200000
#define STRTAB_LOG2        8      /* linear: StreamIDs of bus 0 (docs/smmuv3.md) */
#define STRTAB_PAGES       ((SMMU_STE_SIZE << STRTAB_LOG2) / PT_PAGE_SIZE)
#define CMDQ_LOG2          8      /* 256 x 16 bytes: one page */
#define EVTQ_LOG2_MAX      15     /* 32768 x 32 bytes (1 MiB): 32 blocked 4 KiB DMAs between drains */
/* Stage-2 tables of three levels of 4 KiB: a 39-bit IPA, the walk starting
 * at Arm level 1 with one start table (QEMU aliases concatenated ones). The
 * one fact; the STE's T0SZ and SL0 and map_check()'s limit follow from it. */
#define S2_LEVELS          3
#define IPA_BITS           PT_IOVA_BITS(S2_LEVELS)
#define MAX_FOLD           256    /* distinct (stream, page, kind) per drain */
/* Interrupt moderation. QEMU pulses the event-queue interrupt for every
 * record it writes, and a pulse costs far more than the record: QEMU sends
 * two qtest lines per pulse, so a blocked 4 KiB DMA (1,024 records) costs
 * it about 10x its CPU time without them, and the lines must be read and
 * forwarded (docs/performance.md, issue 12 row 5). A drain, on the
 * interrupt or a poll, that finds FLOOD_EVENTS records or more masks it;
 * the regular polls drain meanwhile, and a poll that finds the queue empty
 * UNMASK_IDLE_MS after the last records unmasks it (not the first empty
 * poll: the DMA that began the flood took, with its pulses, 7-12 ms, and the
 * board agent pauses a storm as long after such a step, so a storm stalls
 * for a poll or two after its first DMA). Only
 * when the polls come often enough that the queue cannot fill between two:
 * with the interrupt masked QEMU writes about one record a microsecond, and
 * polls 10 ms apart found up to 12,288 (hence the 32,768-record queue); a
 * poll that finds it more than half full unmasks it all the same, so that
 * the pulses' cost slows the flood down. Overflow is still detected and
 * counted (GERROR EVENTQ_ABT_ERR, whose interrupt stays on). A record that
 * arrives while masked waits for the next poll instead of the interrupt. */
#define FLOOD_EVENTS       256    /* a 1 KiB DMA's worth: 64 B DMAs never mask */
#define MODERATE_MAX_POLL_MS 10
#define UNMASK_IDLE_MS     50
#define MAX_CMDQ_ERRORS    3      /* refused commands the service survives before a DSS */
#define MIN_OAS_BITS       36     /* output sizes below: a 32-bit SMMU, not one we drive */
/* GBPA: abort what bypasses (written with UPDATE, which the SMMU clears when done) */
#define GBPA_ABORT         (HW_MASK32(SMMU_GBPA, UPDATE) | HW_MASK32(SMMU_GBPA, ABORT))
/* The two commands that forget everything cached, as both qwords. */
#define CMD_CFGI_ALL       HW_VAL64(SMMU_CMD0, OPCODE, SMMU_OP_CFGI_ALL), HW_VAL64(SMMU_CMD1, RANGE, SMMU_CFGI_ALL_RANGE)
#define CMD_TLBI_NSNH_ALL  HW_VAL64(SMMU_CMD0, OPCODE, SMMU_OP_TLBI_NSNH_ALL), 0

struct SmmuHwUnit {
    SmmuHwEnv env;
    char name[32];
    uint64_t base;
    int evtq_irq, gerror_irq;
    uint32_t idr0, idr1, idr3, idr5, aidr;
    unsigned oas;           /* IDR5.OAS encoding, for S2PS */
    unsigned nvmid;
    uint64_t strtab_pa;
    uint64_t *strtab;
    uint64_t cmdq_pa;
    uint64_t *cmdq;
    uint32_t cmdq_prod;     /* index | wrap */
    uint64_t evtq_pa;
    uint32_t *evtq;
    unsigned evtq_log2;
    uint32_t evtq_cons;
    bool evtq_moderate;     /* polled often enough to mask the interrupt during floods */
    bool evtq_masked;       /* EVENTQ_IRQEN is off: the polls drain */
    int64_t evtq_last_us;   /* when a drain last found records (hw_now_us) */
    uint32_t gerrorn;       /* errors acknowledged so far */
    uint8_t *vmid_used;
    uint32_t cfgi_sid;      /* the entry ste_install is changing */
    unsigned cmdq_errors;
    /* Deny by default: streams not in a domain translate through an empty
     * table with recording on, so every access they make is a translation
     * fault carrying its address and direction. (An invalid entry would
     * abort too, but QEMU's C_BAD_STE event says neither.) */
    SmmuHwDomain *blocking;
};

struct SmmuHwDomain {
    uint16_t vmid;
    PtTable pt;
};


static int rd(SmmuHwUnit *u, unsigned reg, unsigned size, uint64_t *v) { return hw_rd(&u->env, u->base, reg, size, v); }
static int wr(SmmuHwUnit *u, unsigned reg, unsigned size, uint64_t v) { return hw_wr(&u->env, u->base, reg, size, v); }

/* Writes a register and waits, bounded, for its acknowledge register. */
static int write_acked(SmmuHwUnit *u, unsigned reg, unsigned ack, uint32_t v, char *err, size_t errlen)
{
    int rc = wr(u, reg, 4, v);
    int64_t deadline = hw_now_us() + POLL_TIMEOUT_US;
    for (uint64_t got = 0; !rc;) {
        if ((rc = rd(u, ack, 4, &got))) break;
        if ((uint32_t)got == v) return 0;
        if (hw_now_us() > deadline) {
            snprintf(err, errlen, "%s: register 0x%x never acknowledged 0x%x (0x%x)", u->name, reg, v, (uint32_t)got);
            return -ETIMEDOUT;
        }
    }
    snprintf(err, errlen, "%s: registers do not answer", u->name);
    return rc;
}

/* ---- command queue ------------------------------------------------------ */

static int cmdq_error(SmmuHwUnit *u, uint64_t cons, char *err, size_t errlen)
{
    uint64_t gerror = 0;
    rd(u, SMMU_REG_GERROR, 4, &gerror);
    unsigned code = (unsigned)HW_EX64(cons, SMMU_CMDQ_CONS, ERR);
    /* QEMU's model: move CONS past the bad command first, then acknowledge
     * (the other order runs the bad command again) */
    uint32_t next = ((uint32_t)cons + 1) & ((2u << CMDQ_LOG2) - 1);
    wr(u, SMMU_REG_CMDQ_CONS, 4, next);
    u->gerrorn ^= HW_MASK32(SMMU_GERROR, CMDQ_ERR) & ((uint32_t)gerror ^ u->gerrorn); /* acknowledge it, after CONS */
    wr(u, SMMU_REG_GERRORN, 4, u->gerrorn);
    u->cmdq_errors++;
    snprintf(err, errlen, "%s: command queue error %u at entry %u", u->name, code, SMMU_Q_IDX(cons, CMDQ_LOG2));
    return -EIO;
}

static uint32_t q_mask(void) { return (2u << CMDQ_LOG2) - 1; }

/* Waits, bounded, until CONS reaches PROD; *cons gets the last value read.
 * 0, -EIO (a command was refused: GERROR.CMDQ_ERR is active) or -ETIMEDOUT.
 * CONS.ERR is not the signal: QEMU leaves the last error code there after
 * recovery, so only the index and wrap bit are compared. */
static int cmd_wait(SmmuHwUnit *u, uint64_t *cons, char *err, size_t errlen)
{
    int64_t deadline = hw_now_us() + POLL_TIMEOUT_US;
    for (;;) {
        uint64_t gerror = 0;
        if (rd(u, SMMU_REG_CMDQ_CONS, 4, cons)) {
            snprintf(err, errlen, "%s: command queue registers do not answer", u->name);
            return -EIO;
        }
        if (((uint32_t)*cons & q_mask()) == u->cmdq_prod) return 0;
        /* stalled short of PROD: refused, or (on hardware) still working */
        if (rd(u, SMMU_REG_GERROR, 4, &gerror) == 0 && HW_EX32((uint32_t)gerror ^ u->gerrorn, SMMU_GERROR, CMDQ_ERR))
            return -EIO;
        if (hw_now_us() > deadline) {
            snprintf(err, errlen, "%s: commands not consumed (CONS 0x%llx PROD 0x%x)", u->name,
                     (unsigned long long)*cons, u->cmdq_prod);
            return -ETIMEDOUT;
        }
    }
}

/* Queues the commands plus CMD_SYNC and waits until the SMMU consumed them
 * all: one PROD write and one CONS read on this model (it runs commands as
 * PROD is written). A refused command is skipped and the batch sent again
 * once: a skipped CFGI or TLBI would leave stale state behind. */
static int cmd_submit(SmmuHwUnit *u, const uint64_t (*cmds)[2], unsigned n, char *err, size_t errlen)
{
    for (unsigned attempt = 0; attempt < 2; attempt++) {
        for (unsigned i = 0; i <= n; i++) {
            uint64_t *slot = &u->cmdq[2 * SMMU_Q_IDX(u->cmdq_prod, CMDQ_LOG2)];
            slot[0] = i < n ? cmds[i][0] : HW_VAL64(SMMU_CMD0, OPCODE, SMMU_OP_CMD_SYNC); /* CS 0: CONS is the signal */
            slot[1] = i < n ? cmds[i][1] : 0;
            u->cmdq_prod = (u->cmdq_prod + 1) & q_mask();
        }
        uint64_t cons = 0;
        err[0] = '\0';
        int rc = wr(u, SMMU_REG_CMDQ_PROD, 4, u->cmdq_prod);
        if (!rc) rc = cmd_wait(u, &cons, err, errlen);
        if (rc != -EIO || err[0]) return rc; /* done, timed out, or registers gone */
        cmdq_error(u, cons, err, errlen);
        /* the commands after the bad one run now; wait for them too */
        char why[160] = "";
        if ((rc = cmd_wait(u, &cons, why, sizeof why))) return why[0] ? (snprintf(err, errlen, "%s", why), rc) : cmdq_error(u, cons, err, errlen);
    }
    return -EIO; /* refused twice: err says which */
}

static int sync_ste(void *ctx)
{
    SmmuHwUnit *u = ctx;
    char err[160];
    /* Leaf: only this entry changed, not a level-1 descriptor of a 2-level table */
    const uint64_t c[1][2] = { { HW_VAL64(SMMU_CMD0, OPCODE, SMMU_OP_CFGI_STE) | HW_VAL64(SMMU_CMD0, SID, u->cfgi_sid),
                                 HW_MASK64(SMMU_CMD1, LEAF) } };
    int rc = cmd_submit(u, c, 1, err, sizeof err);
    if (rc) u->env.log(u->env.ctx, SMMU_LOG_ERROR, "%s", err);
    return rc;
}

static void store_ste(void *ctx, uint64_t *slot, uint64_t v)
{
    SmmuHwUnit *u = ctx;
    __atomic_store_n(slot, v, __ATOMIC_RELEASE);
    /* the stream table is digested table memory: keep its digest true */
    uint64_t page = u->strtab_pa + (uint64_t)((uint8_t *)slot - (uint8_t *)u->strtab) / PT_PAGE_SIZE * PT_PAGE_SIZE;
    u->env.mem.written(u->env.mem.ctx, page);
}

/* ---- bring-up ----------------------------------------------------------- */

/* IDR5.OAS (and STE.S2PS) as bits: the architecture's table of encodings. */
static unsigned oas_bits(unsigned oas)
{
    static const unsigned bits[] = { 32, 36, 40, 42, 44, 48, 52 };
    return oas < sizeof bits / sizeof bits[0] ? bits[oas] : bits[0];
}

static int probe(SmmuHwUnit *u, char *err, size_t errlen)
{
    uint64_t v0, v1, v3, v5, a;
    if (rd(u, SMMU_REG_IDR0, 4, &v0) || rd(u, SMMU_REG_IDR1, 4, &v1) || rd(u, SMMU_REG_IDR3, 4, &v3) ||
        rd(u, SMMU_REG_IDR5, 4, &v5) || rd(u, SMMU_REG_AIDR, 4, &a)) {
        snprintf(err, errlen, "%s: registers at 0x%llx do not answer", u->name, (unsigned long long)u->base);
        return -EIO;
    }
    u->idr0 = (uint32_t)v0, u->idr1 = (uint32_t)v1, u->idr3 = (uint32_t)v3, u->idr5 = (uint32_t)v5,
    u->aidr = (uint32_t)a;
    if (u->idr0 == 0 || u->idr0 == UINT32_MAX) {
        snprintf(err, errlen, "%s: no SMMUv3 at 0x%llx (IDR0 0x%x)", u->name, (unsigned long long)u->base, u->idr0);
        return -ENODEV;
    }
    const char *missing = !HW_EX32(u->idr0, SMMU_IDR0, S2P)                      ? "stage 2 translation"
                          : !(HW_EX32(u->idr0, SMMU_IDR0, TTF) & SMMU_TTF_AA64)    ? "AArch64 translation tables"
                          : !HW_EX32(u->idr5, SMMU_IDR5, GRAN4K)                   ? "the 4 KiB granule"
                          : HW_EX32(u->idr1, SMMU_IDR1, SIDSIZE) < STRTAB_LOG2      ? "8-bit StreamIDs"
                          : oas_bits(HW_EX32(u->idr5, SMMU_IDR5, OAS)) < MIN_OAS_BITS ? "a 36-bit output size"
                          : HW_EX32(u->idr1, SMMU_IDR1, CMDQS) < CMDQ_LOG2          ? "a 256-entry command queue"
                                                                                   : NULL;
    if (missing) {
        snprintf(err, errlen, "%s: lacks %s (IDR0 0x%x IDR1 0x%x IDR5 0x%x)", u->name, missing, u->idr0, u->idr1, u->idr5);
        return -ENOTSUP;
    }
    u->oas = HW_EX32(u->idr5, SMMU_IDR5, OAS);
    u->nvmid = 1u << (HW_EX32(u->idr0, SMMU_IDR0, VMID16) ? SMMU_STE2_S2VMID_LENGTH : 8); /* else 8-bit VMIDs */
    u->evtq_log2 = HW_EX32(u->idr1, SMMU_IDR1, EVENTQS);
    if (u->evtq_log2 > EVTQ_LOG2_MAX) u->evtq_log2 = EVTQ_LOG2_MAX;
    return 0;
}

/* A queue's BASE register: its address and size. */
static uint64_t q_base(uint64_t pa, unsigned log2size)
{
    return (pa & HW_MASK64(SMMU_Q_BASE, ADDR)) | HW_VAL64(SMMU_Q_BASE, LOG2SIZE, log2size);
}

static int take_over(SmmuHwUnit *u, char *err, size_t errlen)
{
    uint64_t v;
    int rc;
    /* Abort whatever is not translated, from the very first write. */
    if ((rc = wr(u, SMMU_REG_GBPA, 4, GBPA_ABORT))) return rc;
    int64_t deadline = hw_now_us() + POLL_TIMEOUT_US;
    do {
        if ((rc = rd(u, SMMU_REG_GBPA, 4, &v))) return rc;
        if (hw_now_us() > deadline) {
            snprintf(err, errlen, "%s: GBPA update never completed", u->name);
            return -ETIMEDOUT;
        }
    } while (HW_EX64(v, SMMU_GBPA, UPDATE));
    /* A previous instance may have left it on: off (GBPA aborts) to reprogram. */
    if ((rc = write_acked(u, SMMU_REG_CR0, SMMU_REG_CR0ACK, 0, err, errlen))) return rc;
    void *va;
    unsigned evtq_pages = (unsigned)(((uint64_t)SMMU_EVT_SIZE << u->evtq_log2) / PT_PAGE_SIZE);
    if ((rc = u->env.pages(u->env.ctx, STRTAB_PAGES, true, &u->strtab_pa, &va))) goto nomem;
    u->strtab = va;
    if ((rc = u->env.pages(u->env.ctx, 1, false, &u->cmdq_pa, &va))) goto nomem;
    u->cmdq = va;
    if ((rc = u->env.pages(u->env.ctx, evtq_pages ? evtq_pages : 1, false, &u->evtq_pa, &va))) goto nomem;
    u->evtq = va;
    /* every entry V=0: every stream aborts, and is recorded */
    /* queues and tables: write-back cacheable, inner shareable */
    const uint32_t cr1 = HW_VAL32(SMMU_CR1, QUEUE_IC, SMMU_CACHE_WB) | HW_VAL32(SMMU_CR1, QUEUE_OC, SMMU_CACHE_WB) |
                         HW_VAL32(SMMU_CR1, QUEUE_SH, SMMU_SH_ISH) | HW_VAL32(SMMU_CR1, TABLE_IC, SMMU_CACHE_WB) |
                         HW_VAL32(SMMU_CR1, TABLE_OC, SMMU_CACHE_WB) | HW_VAL32(SMMU_CR1, TABLE_SH, SMMU_SH_ISH);
    if ((rc = wr(u, SMMU_REG_CR1, 4, cr1)) || (rc = wr(u, SMMU_REG_CR2, 4, 0)) ||
        (rc = wr(u, SMMU_REG_STRTAB_BASE, 8,
                 (u->strtab_pa & HW_MASK64(SMMU_STRTAB_BASE, ADDR)) | HW_MASK64(SMMU_STRTAB_BASE, RA))) ||
        (rc = wr(u, SMMU_REG_STRTAB_BASE_CFG, 4,
                 HW_VAL32(SMMU_STRTAB_BASE_CFG, FMT, SMMU_STRTAB_FMT_LINEAR) |
                     HW_VAL32(SMMU_STRTAB_BASE_CFG, LOG2SIZE, STRTAB_LOG2))) ||
        /* the queue size is latched when BASE is written: always write both BASEs */
        (rc = wr(u, SMMU_REG_CMDQ_BASE, 8, q_base(u->cmdq_pa, CMDQ_LOG2) | HW_MASK64(SMMU_Q_BASE, RA))) ||
        (rc = wr(u, SMMU_REG_CMDQ_PROD, 4, 0)) || (rc = wr(u, SMMU_REG_CMDQ_CONS, 4, 0)) ||
        (rc = wr(u, SMMU_REG_EVENTQ_BASE, 8, q_base(u->evtq_pa, u->evtq_log2))) ||
        (rc = wr(u, SMMU_REG_EVENTQ_PROD, 4, 0)) || (rc = wr(u, SMMU_REG_EVENTQ_CONS, 4, 0)))
        return rc;
    u->cmdq_prod = 0;
    u->evtq_cons = 0;
    const uint32_t queues_on = HW_MASK32(SMMU_CR0, CMDQEN) | HW_MASK32(SMMU_CR0, EVENTQEN);
    if ((rc = write_acked(u, SMMU_REG_CR0, SMMU_REG_CR0ACK, queues_on, err, errlen)) ||
        (rc = write_acked(u, SMMU_REG_IRQ_CTRL, SMMU_REG_IRQ_CTRL_ACK,
                          HW_MASK32(SMMU_IRQ_CTRL, GERROR_IRQEN) | HW_MASK32(SMMU_IRQ_CTRL, EVENTQ_IRQEN), err, errlen)))
        return rc;
    const uint64_t c[2][2] = { { CMD_CFGI_ALL }, { CMD_TLBI_NSNH_ALL } };
    if ((rc = cmd_submit(u, c, 2, err, errlen))) return rc;
    if ((rc = write_acked(u, SMMU_REG_CR0, SMMU_REG_CR0ACK, queues_on | HW_MASK32(SMMU_CR0, SMMUEN), err, errlen)))
        return rc;
    /* stale global errors from before us: acknowledge them */
    if ((rc = rd(u, SMMU_REG_GERROR, 4, &v))) return rc;
    u->gerrorn = (uint32_t)v;
    return wr(u, SMMU_REG_GERRORN, 4, u->gerrorn);
nomem:
    snprintf(err, errlen, "%s: no table memory", u->name);
    return rc;
}

static int domain_create(SmmuHwUnit *u, SmmuHwDomain **out, char *err, size_t errlen);
static int block_streams(SmmuHwUnit *u, char *err, size_t errlen);
static void ste_for(const SmmuHwUnit *u, const SmmuHwDomain *d, uint64_t *next);

static int unit_open(const SmmuHwEnv *env, const SmmuHwUnitCfg *cfg, SmmuHwUnit **out, char *err, size_t errlen)
{
    SmmuHwUnit *u = calloc(1, sizeof *u);
    if (!u) return -ENOMEM;
    u->env = *env;
    u->base = cfg->base;
    u->evtq_irq = cfg->evtq_irq;
    u->gerror_irq = cfg->gerror_irq;
    u->evtq_moderate = cfg->fault_poll_ms && cfg->fault_poll_ms <= MODERATE_MAX_POLL_MS && cfg->evtq_irq >= 0;
    snprintf(u->name, sizeof u->name, "%s", cfg->name);
    int rc = probe(u, err, errlen);
    if (!rc && !(u->vmid_used = calloc(u->nvmid, 1))) rc = -ENOMEM;
    if (!rc) u->vmid_used[0] = 1; /* VMID 0: never ours, so a stray one is never a domain's */
    if (!rc) rc = take_over(u, err, errlen);
    if (!rc) rc = domain_create(u, &u->blocking, err, errlen);
    if (!rc) rc = block_streams(u, err, errlen);
    if (rc) {
        free(u->vmid_used);
        free(u);
        return rc;
    }
    *out = u;
    return 0;
}

/* Every stream into the blocking domain: one store of qword 0 each, while
 * they are still invalid (SMMUEN is on; invalid entries abort meanwhile). */
static int block_streams(SmmuHwUnit *u, char *err, size_t errlen)
{
    uint64_t next[SMMU_STE_QWORDS];
    ste_for(u, u->blocking, next);
    for (uint32_t sid = 0; sid < (1u << STRTAB_LOG2); sid++) {
        uint64_t *ste = &u->strtab[(size_t)sid * SMMU_STE_QWORDS];
        for (int i = SMMU_STE_QWORDS - 1; i >= 0; i--) __atomic_store_n(&ste[i], next[i], __ATOMIC_RELEASE);
    }
    for (size_t p = 0; p < STRTAB_PAGES; p++) u->env.mem.written(u->env.mem.ctx, u->strtab_pa + p * PT_PAGE_SIZE);
    const uint64_t c[1][2] = { { CMD_CFGI_ALL } };
    return cmd_submit(u, c, 1, err, errlen);
}

static void unit_close(SmmuHwUnit *u)
{
    free(u->vmid_used);
    free(u);
}

static void unit_describe(SmmuHwUnit *u, char *buf, size_t len)
{
    snprintf(buf, len, "smmuv3 %s base=0x%llx version=3.%u stage2 vmids=%u streams=%u eventq=%u irqs=%d,%d", u->name,
             (unsigned long long)u->base, HW_EX32(u->aidr, SMMU_AIDR, ARCH_MINOR), u->nvmid, 1u << STRTAB_LOG2,
             1u << u->evtq_log2, u->evtq_irq, u->gerror_irq);
}

/* ---- domains ------------------------------------------------------------ */

static int domain_create(SmmuHwUnit *u, SmmuHwDomain **out, char *err, size_t errlen)
{
    SmmuHwDomain *d = calloc(1, sizeof *d);
    if (!d) return -ENOMEM;
    if (!(d->vmid = (uint16_t)hw_take_id(u->vmid_used, u->nvmid))) {
        free(d);
        snprintf(err, errlen, "%s: all %u VMIDs in use", u->name, u->nvmid);
        return -ENOSPC;
    }
    int rc = pt_init(&d->pt, &pt_format_arm_s2, S2_LEVELS, 0, &u->env.mem);
    if (rc) {
        u->vmid_used[d->vmid] = 0;
        free(d);
        snprintf(err, errlen, "%s: no table memory for a domain", u->name);
        return rc;
    }
    *out = d;
    return 0;
}

static int tlbi_vmid(SmmuHwUnit *u, uint16_t vmid, char *err, size_t errlen)
{
    const uint64_t c[1][2] = { { HW_VAL64(SMMU_CMD0, OPCODE, SMMU_OP_TLBI_S12_VMALL) | HW_VAL64(SMMU_CMD0, VMID, vmid), 0 } };
    return cmd_submit(u, c, 1, err, errlen);
}

static void domain_destroy(SmmuHwUnit *u, SmmuHwDomain *d)
{
    char err[160];
    if (tlbi_vmid(u, d->vmid, err, sizeof err)) u->env.dss(u->env.ctx, err);
    pt_fini(&d->pt);
    u->vmid_used[d->vmid] = 0;
    free(d);
}

/* The stage-2 entry for a domain. */
static void ste_for(const SmmuHwUnit *u, const SmmuHwDomain *d, uint64_t *next)
{
    memset(next, 0, SMMU_STE_QWORDS * sizeof *next);
    next[0] = HW_MASK64(SMMU_STE0, V) | HW_VAL64(SMMU_STE0, CONFIG, SMMU_STE_CONFIG_S2);
    /* the input size and the walk's start level, from S2_LEVELS */
    next[SMMU_STE_QW_S2] =
        HW_VAL64(SMMU_STE2, S2VMID, d->vmid) | HW_VAL64(SMMU_STE2, S2T0SZ, SMMU_T0SZ(IPA_BITS)) |
        HW_VAL64(SMMU_STE2, S2SL0, SMMU_S2SL0_4K(S2_LEVELS)) | HW_VAL64(SMMU_STE2, S2IR0, SMMU_CACHE_WB) |
        HW_VAL64(SMMU_STE2, S2OR0, SMMU_CACHE_WB) | HW_VAL64(SMMU_STE2, S2SH0, SMMU_SH_ISH) |
        HW_VAL64(SMMU_STE2, S2TG, SMMU_S2TG_4K) | HW_VAL64(SMMU_STE2, S2PS, u->oas) | HW_MASK64(SMMU_STE2, S2AA64) |
        HW_MASK64(SMMU_STE2, S2R);
    next[SMMU_STE_QW_S2TTB] = d->pt.root & HW_MASK64(SMMU_STE3, S2TTB);
}

static int attach(SmmuHwUnit *u, SmmuHwDomain *d, uint32_t sid, char *err, size_t errlen)
{
    if (sid >= (1u << STRTAB_LOG2)) {
        snprintf(err, errlen, "%s: StreamID 0x%x is beyond the stream table (%u entries)", u->name, sid, 1u << STRTAB_LOG2);
        return -ENOENT;
    }
    uint64_t next[SMMU_STE_QWORDS];
    uint64_t *ste = &u->strtab[(size_t)sid * SMMU_STE_QWORDS];
    uint16_t old_vmid = HW_EX64(ste[0], SMMU_STE0, V) ? (uint16_t)HW_EX64(ste[SMMU_STE_QW_S2], SMMU_STE2, S2VMID) : 0;
    ste_for(u, d ? d : u->blocking, next);
    u->cfgi_sid = sid;
    SteOps ops = { .ctx = u, .store = store_ste, .sync = sync_ste };
    int rc = ste_install(ste, next, &ops);
    /* what the old domain's TLB may hold for this device must go too */
    if (!rc && old_vmid && old_vmid != (d ? d : u->blocking)->vmid) rc = tlbi_vmid(u, old_vmid, err, errlen);
    if (rc && !*err) snprintf(err, errlen, "%s: updating the entry of StreamID 0x%x failed", u->name, sid);
    return rc;
}

static int attach_check(SmmuHwUnit *u, uint32_t sid, size_t *pages, char *err, size_t errlen)
{
    if (sid >= (1u << STRTAB_LOG2)) {
        snprintf(err, errlen, "%s: StreamID 0x%x is beyond the stream table (%u entries)", u->name, sid, 1u << STRTAB_LOG2);
        return -ENOENT;
    }
    *pages = 0; /* the linear stream table holds every entry already */
    return 0;
}

static int map_check(SmmuHwUnit *u, const SmmuHwDomain *d, const SmmuHwSeg *segs, size_t n, size_t *pages, char *err,
                     size_t errlen)
{
    PtTable fresh;
    const PtTable *t = d ? &d->pt : &fresh;
    if (!d && pt_describe(&fresh, &pt_format_arm_s2, S2_LEVELS, 0)) {
        snprintf(err, errlen, "%s: no stage-2 table format", u->name);
        return -EINVAL;
    }
    return hw_map_check(u->name, t, IPA_BITS, oas_bits(u->oas), segs, n, pages, err, errlen);
}

/* ---- invalidation of a change ------------------------------------------- */

/* TLBI_S2_IPA commands a change may take before one TLBI_S12_VMALL of its
 * VMID replaces them (docs/smmuv3.md). With range invalidation (IDR3.RIL)
 * any range of a 39-bit IPA takes at most six, so only an SMMU without it
 * ever reaches 16: one command per page, past 16 pages (64 KiB) the VMID's
 * whole TLB goes, which bounds the SMMU's work per call and keeps the batch
 * far inside the 256-entry queue. */
#define TLBI_MAX 16

/* TLBI_S2_IPA's first qword: the VMID, and for a range its size. */
static uint64_t tlbi_ipa0(uint16_t vmid, unsigned num, unsigned scale)
{
    return HW_VAL64(SMMU_CMD0, OPCODE, SMMU_OP_TLBI_S2_IPA) | HW_VAL64(SMMU_CMD0, VMID, vmid) |
           HW_VAL64(SMMU_CMD0, NUM, num) | HW_VAL64(SMMU_CMD0, SCALE, scale);
}

/* ...and its second: the first page, whether walk caches stay (Leaf), and
 * for a range its granule. TTL 0: the leaves' level is not promised (a
 * range may hold pages and blocks). */
static uint64_t tlbi_ipa1(uint64_t ipa, bool leaf, unsigned tg)
{
    return (ipa & HW_MASK64(SMMU_CMD1, ADDR)) | HW_VAL64(SMMU_CMD1, LEAF, leaf) | HW_VAL64(SMMU_CMD1, TG, tg);
}

/* The commands covering [start, end) into c[]: how many, or max + 1 once
 * that is more than max. A range command covers (NUM + 1) * 2^SCALE pages
 * from its address (which need not be aligned to them): each takes the
 * next five bits of the page count from its lowest set bit, as the
 * architecture's NUM and SCALE can express. Without RIL, one per page. */
static unsigned tlbi_cmds(const SmmuHwUnit *u, uint16_t vmid, uint64_t start, uint64_t end, bool leaf,
                          uint64_t (*c)[2], unsigned max)
{
    const bool ril = HW_EX32(u->idr3, SMMU_IDR3, RIL);
    uint64_t pages = (end - start) >> PT_PAGE_SHIFT;
    unsigned n = 0;
    while (pages) {
        uint64_t chunk = 1;
        unsigned num = 0, scale = 0;
        if (ril) {
            scale = (unsigned)__builtin_ctzll(pages);
            /* NUM + 1: odd (bit `scale` is set), 1..31 */
            num = (unsigned)((pages >> scale) & HW_ONES64(SMMU_CMD0_NUM_LENGTH));
            chunk = (uint64_t)num << scale;
        }
        if (n == max) return max + 1;
        c[n][0] = tlbi_ipa0(vmid, ril ? num - 1 : 0, scale);
        c[n][1] = tlbi_ipa1(start, leaf, ril ? SMMU_TG_4K : 0);
        n++;
        start += chunk << PT_PAGE_SHIFT;
        pages -= chunk;
    }
    return n;
}

/* One change's invalidation, one command batch (and CMD_SYNC) whatever the
 * change's size. */
static int inval_change(SmmuHwUnit *u, const SmmuHwDomain *d, const PtInval *inv, char *err, size_t errlen)
{
    /* The SMMU caches no translation table entry that faults (an invalid
     * one: VMSAv8-64's rule, which the SMMUv3 architecture keeps for its
     * TLBs and walk caches), so a change that only filled empty entries
     * (new tables linked into empty ones included) left nothing stale. */
    if (inv->start == inv->end || !inv->replaced) return 0;
    uint64_t c[TLBI_MAX][2];
    /* Leaf=0 when a table was freed, split or merged: walk caches that may
     * hold it go too */
    unsigned n = tlbi_cmds(u, d->vmid, inv->start, inv->end, !inv->tables_changed, c, TLBI_MAX);
    if (n > TLBI_MAX) return tlbi_vmid(u, d->vmid, err, errlen);
    return cmd_submit(u, (const uint64_t(*)[2])c, n, err, errlen);
}

static int map_segs(SmmuHwUnit *u, SmmuHwDomain *d, const SmmuHwSeg *segs, size_t n, char *err, size_t errlen)
{
    return hw_map_segs(u, d, u->name, &d->pt, inval_change, segs, n, err, errlen);
}

/* ---- faults ------------------------------------------------------------- */

typedef struct {
    SmmuHwFault f[MAX_FOLD];
    unsigned n;
} Fold;

static void fold(Fold *fo, const SmmuHwFault *f, SmmuHwFaultFn fn, void *opaque)
{
    for (unsigned i = 0; i < fo->n; i++) {
        SmmuHwFault *g = &fo->f[i];
        if (g->sid == f->sid && g->addr == f->addr && g->write == f->write && g->reason == f->reason) {
            g->repeat++;
            return;
        }
    }
    if (fo->n == MAX_FOLD) { /* full: hand the folded ones over and start again */
        for (unsigned i = 0; i < fo->n; i++) fn(opaque, &fo->f[i]);
        fo->n = 0;
    }
    fo->f[fo->n++] = *f;
}

static int drain_events(SmmuHwUnit *u, SmmuHwFaultFn fn, void *opaque, uint64_t *lost, char *err, size_t errlen)
{
    uint64_t prod;
    int rc = rd(u, SMMU_REG_EVENTQ_PROD, 4, &prod);
    if (rc) {
        snprintf(err, errlen, "%s: event queue registers do not answer", u->name);
        return rc;
    }
    uint32_t mask = (2u << u->evtq_log2) - 1;
    static Fold fo; /* one drain at a time: the service is single-threaded */
    fo.n = 0;
    unsigned n = 0;
    while ((u->evtq_cons & mask) != ((uint32_t)prod & mask)) {
        const uint32_t *e = &u->evtq[(size_t)SMMU_Q_IDX(u->evtq_cons, u->evtq_log2) * SMMU_EVT_WORDS];
        /* folded per page: QEMU records every failed 4-byte access */
        SmmuHwFault f = { .sid = e[SMMU_EVT_W_SID], .reason = HW_EX32(e[0], SMMU_EVT0, TYPE), .repeat = 1,
                          .write = !HW_EX32(e[SMMU_EVT_W_FLAGS], SMMU_EVT3, RNW),
                          .addr = ((uint64_t)e[SMMU_EVT_W_ADDR_HI] << 32 | e[SMMU_EVT_W_ADDR_LO]) & ~(PT_PAGE_SIZE - 1) };
        if (fn) fold(&fo, &f, fn, opaque);
        u->evtq_cons = (u->evtq_cons + 1) & mask;
        n++;
    }
    /* the queue overflowed: records were lost; acknowledge with the flag */
    uint32_t ack = u->evtq_cons | ((uint32_t)prod & HW_MASK32(SMMU_Q, OVF));
    if (HW_EX32(prod, SMMU_Q, OVF) != HW_EX32(u->evtq_cons, SMMU_Q, OVF)) (*lost)++;
    u->evtq_cons = ack;
    if (n || HW_EX32(prod, SMMU_Q, OVF)) wr(u, SMMU_REG_EVENTQ_CONS, 4, ack);
    for (unsigned i = 0; fn && i < fo.n; i++) fn(opaque, &fo.f[i]);
    return (int)n;
}

static int global_errors(SmmuHwUnit *u, uint64_t *lost, char *err, size_t errlen)
{
    uint64_t g;
    if (rd(u, SMMU_REG_GERROR, 4, &g)) {
        snprintf(err, errlen, "%s: GERROR does not answer", u->name);
        return -EIO;
    }
    uint32_t active = ((uint32_t)g ^ u->gerrorn);
    if (!active) return 0;
    if (HW_EX32(active, SMMU_GERROR, SFM_ERR)) {
        snprintf(err, errlen, "%s: service failure mode (GERROR 0x%llx)", u->name, (unsigned long long)g);
        return -EIO;
    }
    if (HW_EX32(active, SMMU_GERROR, EVENTQ_ABT_ERR)) (*lost)++; /* records dropped on a full queue */
    if (HW_EX32(active, SMMU_GERROR, CMDQ_ERR) && ++u->cmdq_errors > MAX_CMDQ_ERRORS) {
        snprintf(err, errlen, "%s: repeated command queue errors", u->name);
        return -EIO;
    }
    u->gerrorn ^= active;
    wr(u, SMMU_REG_GERRORN, 4, u->gerrorn);
    return 0;
}

static int set_evtq_irq(SmmuHwUnit *u, bool on, char *err, size_t errlen)
{
    uint32_t v = HW_MASK32(SMMU_IRQ_CTRL, GERROR_IRQEN) | (on ? HW_MASK32(SMMU_IRQ_CTRL, EVENTQ_IRQEN) : 0);
    int rc = write_acked(u, SMMU_REG_IRQ_CTRL, SMMU_REG_IRQ_CTRL_ACK, v, err, errlen);
    if (!rc) u->evtq_masked = !on;
    return rc;
}

/* After a drain that found n records: mask the event-queue interrupt when
 * they were a flood, whichever drain found them (a poll often comes first:
 * the pulses of one blocked 4 KiB DMA take QEMU longer than a poll
 * interval), unless they filled half the queue: then the polls do not keep
 * up and the pulses' cost must slow the flood down. */
static int moderate(SmmuHwUnit *u, int n, char *err, size_t errlen)
{
    unsigned half = (1u << u->evtq_log2) / 2;
    if (n >= FLOOD_EVENTS && (unsigned)n <= half && u->evtq_moderate && !u->evtq_masked) {
        u->evtq_last_us = hw_now_us();
        return set_evtq_irq(u, false, err, errlen);
    }
    return 0;
}

static int fault_poll(SmmuHwUnit *u, SmmuHwFaultFn fn, void *opaque, uint64_t *lost, char *err, size_t errlen)
{
    int rc = global_errors(u, lost, err, errlen);
    int n = rc ? rc : drain_events(u, fn, opaque, lost, err, errlen);
    if (n < 0) return n;
    if (!u->evtq_masked) return (rc = moderate(u, n, err, errlen)) ? rc : n;
    int64_t now = hw_now_us();
    if (n) u->evtq_last_us = now;
    /* the flood is over, or outruns the polls: back to the interrupt */
    if ((!n && now - u->evtq_last_us >= UNMASK_IDLE_MS * 1000ll) || (unsigned)n > (1u << u->evtq_log2) / 2) {
        if ((rc = set_evtq_irq(u, true, err, errlen))) return rc;
        /* records written before the unmask raised no interrupt */
        rc = drain_events(u, fn, opaque, lost, err, errlen);
        return rc < 0 ? rc : n + rc;
    }
    return n;
}

static int irq(SmmuHwUnit *u, unsigned line, SmmuHwFaultFn fn, void *opaque, uint64_t *lost, char *err, size_t errlen)
{
    if ((int)line == u->evtq_irq) {
        int n = drain_events(u, fn, opaque, lost, err, errlen), rc;
        return n < 0 ? n : (rc = moderate(u, n, err, errlen)) ? rc : n;
    }
    if ((int)line == u->gerror_irq) return global_errors(u, lost, err, errlen);
    return 0; /* not ours */
}

static int block_all(SmmuHwUnit *u)
{
    char err[160];
    int rc = 0;
    /* Abort whatever bypasses, then every entry invalid and the caches
     * dropped; if commands no longer work, turn translation off so GBPA
     * aborts everything. Keep going whatever fails. */
    wr(u, SMMU_REG_GBPA, 4, GBPA_ABORT);
    if (u->strtab) {
        for (size_t i = 0; i < ((size_t)1 << STRTAB_LOG2) * SMMU_STE_QWORDS; i += SMMU_STE_QWORDS)
            __atomic_store_n(&u->strtab[i], 0, __ATOMIC_RELEASE);
        for (size_t p = 0; p < STRTAB_PAGES; p++) u->env.mem.written(u->env.mem.ctx, u->strtab_pa + p * PT_PAGE_SIZE);
    }
    const uint64_t c[2][2] = { { CMD_CFGI_ALL }, { CMD_TLBI_NSNH_ALL } };
    if (!u->cmdq || cmd_submit(u, c, 2, err, sizeof err)) {
        rc = -EIO;
        wr(u, SMMU_REG_CR0, 4, 0);
    }
    return rc;
}

__attribute__((visibility("default"))) const SmmuHwOps smmu_hw_ops = {
    .abi = SMMU_HW_ABI,
    .type = "smmuv3",
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
