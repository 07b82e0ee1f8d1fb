/* Arm SMMUv3 registers, fields and in-memory structures (SMMUv3
 * architecture, chapters 3-7), as a stage-2-only driver uses them. Each
 * register and field is named once here (regfield.h); logic never carries
 * a bare register or bit number.
 *
 * Shared by the support library (smmuman/hw/smmuv3.c, smmuv3-ste.c) and
 * the board agent (qemu-plugin/), which knows the unit's registers to
 * describe the board. */
#ifndef SMMU_HW_SMMUV3_REGS_H
#define SMMU_HW_SMMUV3_REGS_H

#include "regfield.h"

/* ---- registers (page 0; page 1 at +0x10000) ---- */
HW_REG(SMMU, IDR0, 0x00)
HW_FIELD(SMMU_IDR0, S2P, 0, 1)       /* stage 2 */
HW_FIELD(SMMU_IDR0, S1P, 1, 1)
HW_FIELD(SMMU_IDR0, TTF, 2, 2)       /* table formats: SMMU_TTF_* bits */
HW_FIELD(SMMU_IDR0, VMID16, 18, 1)
HW_FIELD(SMMU_IDR0, ST_LEVEL, 27, 2) /* 0: linear stream table only, 1: 2-level too */
enum { SMMU_TTF_AA64 = 2 /* AArch64 tables (with or without AArch32) */ };

HW_REG(SMMU, IDR1, 0x04)
HW_FIELD(SMMU_IDR1, SIDSIZE, 0, 6)
HW_FIELD(SMMU_IDR1, EVENTQS, 16, 5)  /* log2 of the largest event queue */
HW_FIELD(SMMU_IDR1, CMDQS, 21, 5)    /* log2 of the largest command queue */

HW_REG(SMMU, IDR3, 0x0c)
HW_FIELD(SMMU_IDR3, RIL, 10, 1)      /* range invalidation: TLBI's TG, NUM, SCALE */

HW_REG(SMMU, IDR5, 0x14)
HW_FIELD(SMMU_IDR5, OAS, 0, 3)       /* output size: 0:32 1:36 2:40 3:42 4:44 5:48 6:52 bits */
HW_FIELD(SMMU_IDR5, GRAN4K, 4, 1)

HW_REG(SMMU, AIDR, 0x1c)             /* architecture revision: 3.ARCH_MINOR */
HW_FIELD(SMMU_AIDR, ARCH_MINOR, 0, 4)

HW_REG(SMMU, CR0, 0x20)
HW_REG(SMMU, CR0ACK, 0x24)           /* CR0's fields: the state CR0 asked for, once reached */
HW_FIELD(SMMU_CR0, SMMUEN, 0, 1)
HW_FIELD(SMMU_CR0, EVENTQEN, 2, 1)
HW_FIELD(SMMU_CR0, CMDQEN, 3, 1)

HW_REG(SMMU, CR1, 0x28)              /* how the SMMU reads its queues and tables */
HW_FIELD(SMMU_CR1, QUEUE_IC, 0, 2)
HW_FIELD(SMMU_CR1, QUEUE_OC, 2, 2)
HW_FIELD(SMMU_CR1, QUEUE_SH, 4, 2)
HW_FIELD(SMMU_CR1, TABLE_IC, 6, 2)
HW_FIELD(SMMU_CR1, TABLE_OC, 8, 2)
HW_FIELD(SMMU_CR1, TABLE_SH, 10, 2)
enum { SMMU_CACHE_WB = 1 /* IC, OC: write-back */, SMMU_SH_ISH = 3 /* SH: inner shareable */ };

HW_REG(SMMU, CR2, 0x2c)

HW_REG(SMMU, GBPA, 0x44)             /* global bypass attribute: what SMMUEN=0 does */
HW_FIELD(SMMU_GBPA, ABORT, 20, 1)
HW_FIELD(SMMU_GBPA, UPDATE, 31, 1)   /* write with it; the SMMU clears it when done */

HW_REG(SMMU, IRQ_CTRL, 0x50)
HW_REG(SMMU, IRQ_CTRL_ACK, 0x54)
HW_FIELD(SMMU_IRQ_CTRL, GERROR_IRQEN, 0, 1)
HW_FIELD(SMMU_IRQ_CTRL, EVENTQ_IRQEN, 2, 1)

/* GERROR / GERRORN: an error is active while its two bits differ */
HW_REG(SMMU, GERROR, 0x60)
HW_REG(SMMU, GERRORN, 0x64)
HW_FIELD(SMMU_GERROR, CMDQ_ERR, 0, 1)
HW_FIELD(SMMU_GERROR, EVENTQ_ABT_ERR, 2, 1)
HW_FIELD(SMMU_GERROR, SFM_ERR, 8, 1) /* service failure mode */

HW_REG(SMMU, STRTAB_BASE, 0x80)      /* 64-bit */
HW_FIELD(SMMU_STRTAB_BASE, ADDR, 6, 46)
HW_FIELD(SMMU_STRTAB_BASE, RA, 62, 1) /* read allocate */
HW_REG(SMMU, STRTAB_BASE_CFG, 0x88)
HW_FIELD(SMMU_STRTAB_BASE_CFG, LOG2SIZE, 0, 6)
HW_FIELD(SMMU_STRTAB_BASE_CFG, FMT, 16, 2)
enum { SMMU_STRTAB_FMT_LINEAR = 0 };

/* Queues: CMDQ_BASE and EVENTQ_BASE share one layout; PROD and CONS are an
 * index of LOG2SIZE bits with the wrap bit just above it. */
HW_REG(SMMU, CMDQ_BASE, 0x90)        /* 64-bit */
HW_REG(SMMU, CMDQ_PROD, 0x98)
HW_REG(SMMU, CMDQ_CONS, 0x9c)
HW_REG(SMMU, EVENTQ_BASE, 0xa0)      /* 64-bit */
HW_REG(SMMU, EVENTQ_PROD, 0x100a8)   /* page 1 */
HW_REG(SMMU, EVENTQ_CONS, 0x100ac)   /* page 1 */
HW_FIELD(SMMU_Q_BASE, LOG2SIZE, 0, 5)
HW_FIELD(SMMU_Q_BASE, ADDR, 5, 47)
HW_FIELD(SMMU_Q_BASE, RA, 62, 1)
HW_FIELD(SMMU_CMDQ_CONS, ERR, 24, 7) /* why the command at CONS was refused */
HW_FIELD(SMMU_Q, OVF, 31, 1)         /* EVENTQ_PROD.OVFLG / EVENTQ_CONS.OVACKFLG */
#define SMMU_Q_IDX(v, lg)  ((uint32_t)(v) & ((1u << (lg)) - 1))
#define SMMU_Q_WRAP(v, lg) (((uint32_t)(v) >> (lg)) & 1u)

/* ---- commands: 16 bytes, two qwords (CMD0, CMD1) ---- */
enum { SMMU_CMD_SIZE = 16 };
HW_FIELD(SMMU_CMD0, OPCODE, 0, 8)
HW_FIELD(SMMU_CMD0, NUM, 12, 5)      /* TLBI range: (NUM + 1) * 2^SCALE granules */
HW_FIELD(SMMU_CMD0, SCALE, 20, 5)
HW_FIELD(SMMU_CMD0, SYNC_CS, 12, 2)  /* CMD_SYNC completion signal: 0 none (CONS passing it is the signal) */
HW_FIELD(SMMU_CMD0, VMID, 32, 16)    /* TLBI_S12_VMALL, TLBI_S2_IPA */
HW_FIELD(SMMU_CMD0, SID, 32, 32)     /* CFGI_STE */
HW_FIELD(SMMU_CMD1, LEAF, 0, 1)      /* CFGI_STE, TLBI: only the leaf changed (walk caches may stay) */
HW_FIELD(SMMU_CMD1, RANGE, 0, 5)     /* CFGI_ALL (CFGI_STE_RANGE): 2^(RANGE+1) StreamIDs */
HW_FIELD(SMMU_CMD1, TTL, 8, 2)       /* TLBI: level of the leaves (0: any) */
HW_FIELD(SMMU_CMD1, TG, 10, 2)       /* TLBI range granule: 0 a single address (no range), SMMU_TG_* */
HW_FIELD(SMMU_CMD1, ADDR, 12, 52)    /* TLBI_S2_IPA: IPA 63:12 */
enum {
    SMMU_OP_CFGI_STE = 0x03,
    SMMU_OP_CFGI_ALL = 0x04,
    SMMU_OP_TLBI_S12_VMALL = 0x28,
    SMMU_OP_TLBI_S2_IPA = 0x2a,
    SMMU_OP_TLBI_NSNH_ALL = 0x30,
    SMMU_OP_CMD_SYNC = 0x46,
};
enum { SMMU_CFGI_ALL_RANGE = 31 /* every StreamID */, SMMU_TG_4K = 1 };

/* ---- stream table entry: 64 bytes, 8 qwords (STE0 ... STE7) ---- */
enum {
    SMMU_STE_SIZE = 64,
    SMMU_STE_QWORDS = 8,
    SMMU_STE_QW_S2 = 2,    /* VMID and the stage-2 walk's parameters */
    SMMU_STE_QW_S2TTB = 3, /* the stage-2 table base: the last qword stage 2 reads */
};
HW_FIELD(SMMU_STE0, V, 0, 1)
HW_FIELD(SMMU_STE0, CONFIG, 1, 3)
enum { SMMU_STE_CONFIG_S2 = 6 /* 0b110: stage 2 only */ };
HW_FIELD(SMMU_STE2, S2VMID, 0, 16)
HW_FIELD(SMMU_STE2, S2T0SZ, 32, 6)   /* input size: 64 - IPA bits */
HW_FIELD(SMMU_STE2, S2SL0, 38, 2)    /* start level, SMMU_S2SL0_4K() */
HW_FIELD(SMMU_STE2, S2IR0, 40, 2)    /* table walk: inner cacheability */
HW_FIELD(SMMU_STE2, S2OR0, 42, 2)    /* outer */
HW_FIELD(SMMU_STE2, S2SH0, 44, 2)    /* shareability */
HW_FIELD(SMMU_STE2, S2TG, 46, 2)     /* granule: SMMU_S2TG_4K */
HW_FIELD(SMMU_STE2, S2PS, 48, 3)     /* output size, IDR5.OAS's encoding */
HW_FIELD(SMMU_STE2, S2AA64, 51, 1)   /* must be set: 0 with stage 2 aborts QEMU */
HW_FIELD(SMMU_STE2, S2R, 58, 1)      /* record faults: without it nothing is recorded */
HW_FIELD(SMMU_STE3, S2TTB, 4, 48)    /* table base 51:4 */
enum { SMMU_S2TG_4K = 0 };
/* With the 4 KiB granule a walk of `levels` levels starts at Arm level
 * 4 - levels, which S2SL0 encodes as levels - 2 (0: level 2, 1: level 1, 2: level 0). */
#define SMMU_S2SL0_4K(levels) ((levels) - 2u)
/* T0SZ: the input address is 64 - T0SZ bits wide */
#define SMMU_T0SZ(bits) (64u - (bits))

/* ---- event records: 32 bytes, eight 32-bit words (EVT0 ... EVT7) ---- */
enum {
    SMMU_EVT_SIZE = 32,
    SMMU_EVT_WORDS = 8,
    SMMU_EVT_W_SID = 1,     /* StreamID, the whole word */
    SMMU_EVT_W_FLAGS = 3,   /* RnW among others */
    SMMU_EVT_W_ADDR_LO = 4, /* input address, 64 bits over two words */
    SMMU_EVT_W_ADDR_HI = 5,
};
HW_FIELD(SMMU_EVT0, TYPE, 0, 8)
HW_FIELD(SMMU_EVT3, RNW, 3, 1)       /* 1: read */
/* Event types (SMMUv3 architecture, "Event records") */
#define SMMU_EVT_F_UUT           0x01
#define SMMU_EVT_C_BAD_STREAMID  0x02
#define SMMU_EVT_F_STE_FETCH     0x03
#define SMMU_EVT_C_BAD_STE       0x04
#define SMMU_EVT_F_BAD_ATS_TREQ  0x05
#define SMMU_EVT_F_STREAM_DISABLED 0x06
#define SMMU_EVT_F_TRANSL_FORBIDDEN 0x07
#define SMMU_EVT_C_BAD_SUBSTREAMID 0x08
#define SMMU_EVT_F_CD_FETCH      0x09
#define SMMU_EVT_C_BAD_CD        0x0a
#define SMMU_EVT_F_WALK_EABT     0x0b
#define SMMU_EVT_F_TRANSLATION   0x10
#define SMMU_EVT_F_ADDR_SIZE     0x11
#define SMMU_EVT_F_ACCESS        0x12
#define SMMU_EVT_F_PERMISSION    0x13
#define SMMU_EVT_F_TLB_CONFLICT  0x20
#define SMMU_EVT_F_CFG_CONFLICT  0x21
#define SMMU_EVT_E_PAGE_REQUEST  0x24
#define SMMU_EVT_F_VMS_FETCH     0x25

#endif
