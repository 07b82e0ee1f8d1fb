/* Intel VT-d remapping-unit registers, fields and in-memory structures
 * (VT-d specification, chapters 9-11), as the legacy translation mode uses
 * them. Named once here; logic never carries a bare register number. */
#ifndef SMMU_VTD_REGS_H
#define SMMU_VTD_REGS_H

/* ---- registers (offsets from the unit's base) ---- */
#define VTD_REG_VER     0x000 /* version: major 7:4, minor 3:0 */
#define VTD_REG_CAP     0x008
#define VTD_REG_ECAP    0x010
#define VTD_REG_GCMD    0x018 /* global command (write only: reads as 0 on QEMU) */
#define VTD_REG_GSTS    0x01c /* global status */
#define VTD_REG_RTADDR  0x020 /* root table address */
#define VTD_REG_CCMD    0x028 /* context command (register-based invalidation) */
#define VTD_REG_FSTS    0x034 /* fault status */
#define VTD_REG_FECTL   0x038 /* fault event control */
#define VTD_REG_IQH     0x080 /* invalidation queue head */
#define VTD_REG_IQT     0x088 /* invalidation queue tail */
#define VTD_REG_IQA     0x090 /* invalidation queue address */
#define VTD_REG_ICS     0x09c /* invalidation completion status */

#define VTD_REG_FEADDR  0x040
#define VTD_REG_IRTA    0x0b8
#define VTD_REG_IVA     0x0f0
#define VTD_REG_IOTLB   0x0f8
#define VTD_REG_FRCD0   0x220
#define VTD_REG_WINDOW  0x230
/* Registers QEMU's model takes 8-byte accesses at; an 8-byte write to any
 * 32-bit one (FSTS, FECTL, ...) aborts QEMU on an assertion. */
#define VTD_REG_IS_64(off) \
    ((off) == VTD_REG_CAP || (off) == VTD_REG_ECAP || (off) == VTD_REG_RTADDR || (off) == VTD_REG_CCMD || \
     (off) == VTD_REG_FEADDR || (off) == VTD_REG_IQH || (off) == VTD_REG_IQT || (off) == VTD_REG_IQA ||   \
     (off) == VTD_REG_IRTA || (off) == VTD_REG_IVA || (off) == VTD_REG_IOTLB || (off) == VTD_REG_FRCD0 || \
     (off) == VTD_REG_FRCD0 + 8)

#define VTD_VER_MAJOR(v) (((v) >> 4) & 0xf)
#define VTD_VER_MINOR(v) ((v) & 0xf)

/* CAP */
#define VTD_CAP_ND(c)      ((unsigned)((c) & 0x7))          /* domain IDs: 2^(4+2*ND) */
#define VTD_CAP_CM         (1ull << 7)                      /* caching mode */
#define VTD_CAP_SAGAW(c)   ((unsigned)(((c) >> 8) & 0x1f))  /* bit 1: 39-bit 3-level, bit 2: 48-bit 4-level */
#define VTD_SAGAW_39       0x2u
#define VTD_SAGAW_48       0x4u
#define VTD_CAP_MGAW(c)    ((unsigned)(((c) >> 16) & 0x3f) + 1)
#define VTD_CAP_FRO(c)     ((unsigned)(((c) >> 24) & 0x3ff) * 16) /* fault-recording registers' offset */
#define VTD_CAP_SLLPS(c)   ((unsigned)(((c) >> 34) & 0xf))  /* bit 0: 2 MiB, bit 1: 1 GiB leaves */
#define VTD_CAP_NFR(c)     ((unsigned)(((c) >> 40) & 0xff) + 1)

/* ECAP */
#define VTD_ECAP_QI        (1ull << 1)
#define VTD_ECAP_IR        (1ull << 3)

/* GCMD / GSTS: the same bit positions; GSTS reports what GCMD asked. */
#define VTD_GCMD_TE        (1u << 31) /* translation enable */
#define VTD_GCMD_SRTP      (1u << 30) /* set root table pointer (one-shot) */
#define VTD_GCMD_QIE       (1u << 26) /* queued invalidation enable */
#define VTD_GCMD_IRE       (1u << 25)
#define VTD_GSTS_TES       VTD_GCMD_TE
#define VTD_GSTS_RTPS      VTD_GCMD_SRTP
#define VTD_GSTS_QIES      VTD_GCMD_QIE
#define VTD_GSTS_IRES      VTD_GCMD_IRE
/* Status bits that stay set and must be written back with every GCMD. */
#define VTD_GSTS_PERSISTENT (VTD_GSTS_TES | VTD_GSTS_QIES | VTD_GSTS_IRES)

/* RTADDR: TTM 11:10 = 00 legacy */
#define VTD_RTADDR_ADDR_MASK (~0xfffull)

/* FSTS (PFO, PPF... are write-1-to-clear where noted) */
#define VTD_FSTS_PFO       (1u << 0)  /* primary fault overflow (W1C) */
#define VTD_FSTS_PPF       (1u << 1)  /* primary pending fault (RO: some F bit set) */
#define VTD_FSTS_IQE       (1u << 4)  /* invalidation queue error (W1C) */
#define VTD_FSTS_ICE       (1u << 5)
#define VTD_FSTS_ITE       (1u << 6)
#define VTD_FSTS_FRI(f)    (((f) >> 8) & 0xff)

/* FECTL: the fault event is an MSI to the CPU; we poll instead */
#define VTD_FECTL_IM       (1u << 31)

/* Fault-recording register (128 bits at FRO + 16 * i) */
#define VTD_FRCD_LO_ADDR_MASK (~0xfffull)      /* low qword: page address */
#define VTD_FRCD_HI_SID(h)    ((uint32_t)((h) & 0xffff))
#define VTD_FRCD_HI_FR(h)     ((uint32_t)(((h) >> 32) & 0xff)) /* fault reason */
#define VTD_FRCD_HI_T         (1ull << 62)     /* 1: read request, 0: write */
#define VTD_FRCD_HI_F         (1ull << 63)     /* fault recorded (W1C) */
#define VTD_FRCD_SIZE         16

/* Fault reasons (legacy mode), VT-d spec table 23 */
#define VTD_FR_ROOT_NOT_PRESENT   0x1
#define VTD_FR_CONTEXT_NOT_PRESENT 0x2
#define VTD_FR_CONTEXT_INVALID    0x3
#define VTD_FR_ADDR_BEYOND_MGAW   0x4
#define VTD_FR_WRITE              0x5
#define VTD_FR_READ               0x6
#define VTD_FR_PAGING_ENTRY_INV   0x7
#define VTD_FR_ROOT_TABLE_INV     0x8  /* root table not readable */
#define VTD_FR_CONTEXT_TABLE_INV  0x9  /* context table not readable */
#define VTD_FR_ROOT_ENTRY_RSVD    0xa
#define VTD_FR_CONTEXT_ENTRY_RSVD 0xb
#define VTD_FR_PAGING_ENTRY_RSVD  0xc
#define VTD_FR_CONTEXT_ENTRY_TT   0xd  /* translation type not allowed */
#define VTD_FR_INTERRUPT_RANGE    0xe

/* IQA: base 63:12, DW bit 11 (256-bit descriptors), QS 2:0 (2^QS pages) */
#define VTD_IQA_QS(q)       ((uint64_t)(q) & 0x7)
#define VTD_IQ_DESC_SIZE    16
#define VTD_IQT_SHIFT       4   /* IQH/IQT hold the descriptor index in bits 18:4 */
#define VTD_IQT_MASK        0x7fff0ull

/* Invalidation descriptors (128-bit): low qword type 3:0 */
#define VTD_INV_CC          0x1ull /* context-cache invalidate */
#define VTD_INV_IOTLB       0x2ull
#define VTD_INV_WAIT        0x5ull
#define VTD_INV_G_GLOBAL    (1ull << 4) /* granularity 5:4 */
#define VTD_INV_G_DOMAIN    (2ull << 4)
#define VTD_INV_G_DEVICE    (3ull << 4) /* context cache: device; IOTLB: page */
#define VTD_INV_IOTLB_DR    (1ull << 7) /* drain reads */
#define VTD_INV_IOTLB_DW    (1ull << 6) /* drain writes */
#define VTD_INV_DID(d)      ((uint64_t)(d) << 16)
#define VTD_INV_CC_SID(s)   ((uint64_t)(s) << 32)
#define VTD_INV_WAIT_IF     (1ull << 4) /* interrupt: never with SW (that aborts QEMU) */
#define VTD_INV_WAIT_SW     (1ull << 5) /* status write */
#define VTD_INV_WAIT_FN     (1ull << 6) /* fence */
#define VTD_INV_WAIT_DATA(d) ((uint64_t)(d) << 32)

/* Root entry (128 bits): low P bit 0, context-table pointer 63:12; high 0 */
#define VTD_ROOT_P          1ull
/* Context entry (128 bits) */
#define VTD_CTX_LO_P        1ull
#define VTD_CTX_LO_FPD      (1ull << 1)  /* fault processing disable: never set, we want records */
#define VTD_CTX_LO_TT_SL    (0ull << 2)  /* translation type: second level only */
#define VTD_CTX_LO_ADDR_MASK (~0xfffull)
#define VTD_CTX_HI_AW_39    1ull         /* 3-level */
#define VTD_CTX_HI_AW_48    2ull         /* 4-level */
#define VTD_CTX_HI_DID(d)   ((uint64_t)(d) << 8)
#define VTD_ENTRY_SIZE      16           /* root and context entries */
#define VTD_ENTRIES         256          /* per root / context table */

#endif
