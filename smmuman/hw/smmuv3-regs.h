/* Arm SMMUv3 registers, fields and in-memory structures (SMMUv3
 * architecture, chapters 3-7), as a stage-2-only driver uses them. Named
 * once here; logic never carries a bare register number. */
#ifndef SMMU_SMMUV3_REGS_H
#define SMMU_SMMUV3_REGS_H

#include <stdint.h>

#define SMMU_FIELD(v, hi, lo) (((uint64_t)(v) >> (lo)) & ((1ull << ((hi) - (lo) + 1)) - 1))

/* ---- registers (page 0) ---- */
#define SMMU_REG_IDR0            0x00
#define SMMU_REG_IDR1            0x04
#define SMMU_REG_IDR5            0x14
#define SMMU_REG_AIDR            0x1c /* architecture revision: 0 = v3.0, 1 = v3.1, ... */
#define SMMU_REG_CR0             0x20
#define SMMU_REG_CR0ACK          0x24
#define SMMU_REG_CR1             0x28
#define SMMU_REG_CR2             0x2c
#define SMMU_REG_GBPA            0x44
#define SMMU_REG_IRQ_CTRL        0x50
#define SMMU_REG_IRQ_CTRL_ACK    0x54
#define SMMU_REG_GERROR          0x60
#define SMMU_REG_GERRORN         0x64
#define SMMU_REG_STRTAB_BASE     0x80 /* 64-bit */
#define SMMU_REG_STRTAB_BASE_CFG 0x88
#define SMMU_REG_CMDQ_BASE       0x90 /* 64-bit */
#define SMMU_REG_CMDQ_PROD       0x98
#define SMMU_REG_CMDQ_CONS       0x9c
#define SMMU_REG_EVENTQ_BASE     0xa0 /* 64-bit */
#define SMMU_REG_EVENTQ_PROD     0x100a8 /* page 1 */
#define SMMU_REG_EVENTQ_CONS     0x100ac /* page 1 */

#define SMMU_AIDR_MINOR(v) ((v) & 0xf)

/* IDR0 */
#define SMMU_IDR0_S2P            (1u << 0)
#define SMMU_IDR0_S1P            (1u << 1)
#define SMMU_IDR0_TTF_AA64       (1u << 3)  /* TTF 3:2, bit 3: AArch64 tables */
#define SMMU_IDR0_VMID16         (1u << 18)
#define SMMU_IDR0_ST_LEVEL(v)    SMMU_FIELD(v, 28, 27) /* 0: linear only, 1: 2-level too */
/* IDR1 */
#define SMMU_IDR1_SIDSIZE(v)     SMMU_FIELD(v, 5, 0)
#define SMMU_IDR1_EVENTQS(v)     SMMU_FIELD(v, 20, 16)
#define SMMU_IDR1_CMDQS(v)       SMMU_FIELD(v, 25, 21)
/* IDR5 */
#define SMMU_IDR5_OAS(v)         SMMU_FIELD(v, 2, 0) /* 0:32 1:36 2:40 3:42 4:44 5:48 6:52 bits */
#define SMMU_IDR5_GRAN4K         (1u << 4)

/* CR0 / CR0ACK */
#define SMMU_CR0_SMMUEN          (1u << 0)
#define SMMU_CR0_EVENTQEN        (1u << 2)
#define SMMU_CR0_CMDQEN          (1u << 3)
/* CR1: queues and tables inner/outer write-back, inner shareable */
#define SMMU_CR1_WB_ISH          ((1u << 0) | (1u << 2) | (3u << 4) | (1u << 6) | (1u << 8) | (3u << 10))
/* GBPA */
#define SMMU_GBPA_ABORT          (1u << 20)
#define SMMU_GBPA_UPDATE         (1u << 31)
/* IRQ_CTRL */
#define SMMU_IRQ_CTRL_GERROR     (1u << 0)
#define SMMU_IRQ_CTRL_EVENTQ     (1u << 2)
/* GERROR: an error is active while its GERROR and GERRORN bits differ */
#define SMMU_GERROR_CMDQ_ERR       (1u << 0)
#define SMMU_GERROR_EVENTQ_ABT_ERR (1u << 2)
#define SMMU_GERROR_SFM_ERR        (1u << 8) /* service failure mode */

/* STRTAB_BASE / _CFG */
#define SMMU_STRTAB_BASE_RA      (1ull << 62)
#define SMMU_STRTAB_ADDR_MASK    0x000fffffffffffc0ull /* 51:6 */
#define SMMU_STRTAB_CFG_FMT_LINEAR (0u << 16)
#define SMMU_STRTAB_CFG_LOG2SIZE(n) ((uint32_t)(n) & 0x3f)

/* Queues: BASE = address 51:5 | LOG2SIZE 4:0; PROD/CONS = index | wrap bit
 * just above it. */
#define SMMU_Q_BASE_RA           (1ull << 62)
#define SMMU_Q_ADDR_MASK         0x000fffffffffffe0ull
#define SMMU_Q_LOG2SIZE(n)       ((uint64_t)(n) & 0x1f)
#define SMMU_Q_IDX(v, lg)        ((uint32_t)(v) & ((1u << (lg)) - 1))
#define SMMU_Q_WRAP(v, lg)       (((uint32_t)(v) >> (lg)) & 1u)
#define SMMU_Q_OVF               (1u << 31) /* EVENTQ_PROD.OVFLG / CONS.OVACKFLG */
#define SMMU_CMDQ_CONS_ERR(v)    SMMU_FIELD(v, 30, 24)
#define SMMU_CMD_SIZE            16
#define SMMU_EVT_SIZE            32

/* Commands: opcode in bits 7:0 of the first qword */
#define SMMU_CMD_CFGI_STE        0x03ull /* SID 63:32; second qword bit 0: leaf */
#define SMMU_CMD_CFGI_ALL        0x04ull /* second qword: range 31 */
#define SMMU_CMD_TLBI_S12_VMALL  0x28ull /* VMID 47:32 */
#define SMMU_CMD_TLBI_NSNH_ALL   0x30ull
#define SMMU_CMD_SYNC            0x46ull /* CS 13:12 = 0: no signal, completion is CONS passing it */
#define SMMU_CMD_SID(s)          ((uint64_t)(s) << 32)
#define SMMU_CMD_VMID(v)         ((uint64_t)(v) << 32)
#define SMMU_CMD_CFGI_ALL_RANGE  31ull

/* Stream table entry: 64 bytes, 8 qwords */
#define SMMU_STE_QWORDS          8
#define SMMU_STE_V               (1ull << 0)
#define SMMU_STE_CONFIG_S2       (6ull << 1) /* 0b110: stage 2 only */
#define SMMU_STE_S2VMID(v)       ((uint64_t)(v) & 0xffff)
#define SMMU_STE_S2T0SZ(t)       ((uint64_t)(t) << 32)
#define SMMU_STE_S2SL0(s)        ((uint64_t)(s) << 38) /* 4 KiB granule: 0 start level 2, 1 level 1, 2 level 0 */
#define SMMU_STE_S2IR0_WB        (1ull << 40)
#define SMMU_STE_S2OR0_WB        (1ull << 42)
#define SMMU_STE_S2SH0_ISH       (3ull << 44)
#define SMMU_STE_S2TG_4K         (0ull << 46)
#define SMMU_STE_S2PS(p)         ((uint64_t)(p) << 48)
#define SMMU_STE_S2AA64          (1ull << 51) /* must be set: 0 with stage 2 aborts QEMU */
#define SMMU_STE_S2R             (1ull << 58) /* record faults: without it nothing is recorded */
#define SMMU_STE_S2TTB_MASK      0x000ffffffffffff0ull

/* Event records: 32 bytes, 8 x 32-bit words */
#define SMMU_EVT_TYPE(w0)        ((w0) & 0xff)
#define SMMU_EVT_SID_WORD        1
#define SMMU_EVT_RNW_WORD        3
#define SMMU_EVT_RNW_BIT         3 /* 1: read */
#define SMMU_EVT_ADDR_LO_WORD    4 /* input address, 64 bits */
#define SMMU_EVT_ADDR_HI_WORD    5
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
