/* Intel VT-d remapping-unit registers, fields and in-memory structures
 * (VT-d specification, chapters 6, 9 and 11), as the legacy translation
 * mode uses them. Each register and field is named once here (regfield.h);
 * logic never carries a bare register or bit number.
 *
 * Shared by the support library (smmuman/hw/vtd.c) and the board agent
 * (qemu-plugin/), which knows the unit's registers to describe the board. */
#ifndef SMMU_HW_VTD_REGS_H
#define SMMU_HW_VTD_REGS_H

#include "regfield.h"

/* ---- registers (offsets from the unit's base) ---- */
HW_REG(VTD, VER,    0x000)
HW_FIELD(VTD_VER, MIN, 0, 4)
HW_FIELD(VTD_VER, MAX, 4, 4)

HW_REG(VTD, CAP,    0x008)
HW_FIELD(VTD_CAP, ND,    0, 3)   /* domain IDs: 2^(4 + 2 * ND) */
HW_FIELD(VTD_CAP, CM,    7, 1)   /* caching mode: not-present entries may be cached */
HW_FIELD(VTD_CAP, SAGAW, 8, 5)   /* bit AW: that address width is supported (VTD_CTX_HI AW) */
HW_FIELD(VTD_CAP, MGAW,  16, 6)  /* maximum guest address width - 1 */
HW_FIELD(VTD_CAP, FRO,   24, 10) /* fault-recording registers' offset / 16 */
HW_FIELD(VTD_CAP, SLLPS, 34, 4)  /* bit 0: 2 MiB, bit 1: 1 GiB second-level leaves */
HW_FIELD(VTD_CAP, PSI,   39, 1)  /* page-selective IOTLB invalidation */
HW_FIELD(VTD_CAP, NFR,   40, 8)  /* fault-recording registers - 1 */
HW_FIELD(VTD_CAP, MAMV,  48, 6)  /* largest address mask (AM) a page-selective invalidation takes */
#define VTD_CAP_ND_DOMAINS(nd) (1u << (4 + 2 * (nd)))
enum { VTD_CAP_FRO_UNIT = 16 /* FRO counts 16-byte units */ };

HW_REG(VTD, ECAP,   0x010)
HW_FIELD(VTD_ECAP, QI, 1, 1)     /* queued invalidation */
HW_FIELD(VTD_ECAP, IR, 3, 1)     /* interrupt remapping */

/* GCMD is write only (reads as 0 on QEMU); GSTS reports, at the same bit
 * positions, what GCMD asked. */
HW_REG(VTD, GCMD,   0x018)
HW_FIELD(VTD_GCMD, IRE,  25, 1)
HW_FIELD(VTD_GCMD, QIE,  26, 1)  /* queued invalidation enable */
HW_FIELD(VTD_GCMD, SRTP, 30, 1)  /* set root table pointer (one-shot) */
HW_FIELD(VTD_GCMD, TE,   31, 1)  /* translation enable */
HW_REG(VTD, GSTS,   0x01c)
HW_FIELD(VTD_GSTS, IRES, 25, 1)
HW_FIELD(VTD_GSTS, QIES, 26, 1)
HW_FIELD(VTD_GSTS, RTPS, 30, 1)
HW_FIELD(VTD_GSTS, TES,  31, 1)

HW_REG(VTD, RTADDR, 0x020)       /* root table address */
HW_FIELD(VTD_RTADDR, TTM, 10, 2) /* translation table mode: 0 legacy */
HW_FIELD(VTD_RTADDR, RTA, 12, 52)

HW_REG(VTD, CCMD,   0x028)       /* context command (register-based invalidation) */

HW_REG(VTD, FSTS,   0x034)       /* fault status */
HW_FIELD(VTD_FSTS, PFO, 0, 1)    /* primary fault overflow (write 1 to clear) */
HW_FIELD(VTD_FSTS, PPF, 1, 1)    /* primary pending fault (read only: some F bit set) */
HW_FIELD(VTD_FSTS, IQE, 4, 1)    /* invalidation queue error (write 1 to clear) */
HW_FIELD(VTD_FSTS, ICE, 5, 1)
HW_FIELD(VTD_FSTS, ITE, 6, 1)
HW_FIELD(VTD_FSTS, FRI, 8, 8)

HW_REG(VTD, FECTL,  0x038)       /* fault event control: the event is an MSI to the CPU */
HW_FIELD(VTD_FECTL, IM, 31, 1)   /* interrupt mask */

HW_REG(VTD, FEADDR, 0x040)
HW_REG(VTD, IQH,    0x080)       /* invalidation queue head */
HW_REG(VTD, IQT,    0x088)       /* invalidation queue tail */
HW_FIELD(VTD_IQT, QT, 4, 15)     /* IQH and IQT: descriptor index */
HW_REG(VTD, IQA,    0x090)       /* invalidation queue address */
HW_FIELD(VTD_IQA, QS, 0, 3)      /* 2^QS pages */
HW_FIELD(VTD_IQA, DW, 11, 1)     /* 256-bit descriptors: never (legacy mode takes 128) */
HW_FIELD(VTD_IQA, IQA, 12, 52)
HW_REG(VTD, ICS,    0x09c)       /* invalidation completion status */
HW_REG(VTD, IRTA,   0x0b8)
HW_REG(VTD, IVA,    0x0f0)
HW_REG(VTD, IOTLB,  0x0f8)
HW_REG(VTD, FRCD0,  0x220)       /* QEMU's CAP.FRO: its one fault-recording register */
HW_REG(VTD, WINDOW, 0x230)       /* the register window's size */

/* Registers QEMU's model takes 8-byte accesses at; an 8-byte write to any
 * 32-bit one (FSTS, FECTL, ...) aborts QEMU on an assertion. */
#define VTD_REG_IS_64(off) \
    ((off) == VTD_REG_CAP || (off) == VTD_REG_ECAP || (off) == VTD_REG_RTADDR || (off) == VTD_REG_CCMD || \
     (off) == VTD_REG_FEADDR || (off) == VTD_REG_IQH || (off) == VTD_REG_IQT || (off) == VTD_REG_IQA ||   \
     (off) == VTD_REG_IRTA || (off) == VTD_REG_IVA || (off) == VTD_REG_IOTLB || (off) == VTD_REG_FRCD0 || \
     (off) == VTD_REG_FRCD0 + VTD_FRCD_OFF_HI)

/* ---- fault-recording register: 128 bits at FRO + 16 * i ---- */
enum {
    VTD_FRCD_OFF_LO = 0,  /* low qword: the faulting page */
    VTD_FRCD_OFF_HI = 8,  /* high qword: source, reason, kind, F */
    VTD_FRCD_OFF_DW3 = 12, /* high qword's upper dword: F is cleared there alone */
    VTD_FRCD_SIZE = 16,
};
HW_FIELD(VTD_FRCD_LO, FI, 12, 52)  /* fault information: page address 63:12 */
HW_FIELD(VTD_FRCD_HI, SID, 0, 16)  /* source-id */
HW_FIELD(VTD_FRCD_HI, FR, 32, 8)   /* fault reason */
HW_FIELD(VTD_FRCD_HI, T, 62, 1)    /* 1: read request, 0: write */
HW_FIELD(VTD_FRCD_HI, F, 63, 1)    /* fault recorded (write 1 to clear) */
HW_FIELD(VTD_FRCD_DW3, F, 31, 1)   /* the same F, as bit 31 of the record's last dword */

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

/* ---- invalidation queue descriptors: 128 bits, two qwords (LO, HI) ---- */
enum { VTD_INV_DESC_SIZE = 16 };
HW_FIELD(VTD_INV, TYPE, 0, 4)        /* every descriptor: its type */
enum { VTD_INV_TYPE_CC = 1, VTD_INV_TYPE_IOTLB = 2, VTD_INV_TYPE_WAIT = 5 };

/* context-cache invalidate */
HW_FIELD(VTD_INV_CC, G, 4, 2)        /* granularity */
HW_FIELD(VTD_INV_CC, DID, 16, 16)
HW_FIELD(VTD_INV_CC, SID, 32, 16)
HW_FIELD(VTD_INV_CC, FM, 48, 2)      /* function mask */
enum { VTD_INV_CC_G_GLOBAL = 1, VTD_INV_CC_G_DOMAIN = 2, VTD_INV_CC_G_DEVICE = 3 };

/* IOTLB invalidate */
HW_FIELD(VTD_INV_IOTLB_LO, G, 4, 2)  /* granularity */
HW_FIELD(VTD_INV_IOTLB_LO, DW, 6, 1) /* drain writes */
HW_FIELD(VTD_INV_IOTLB_LO, DR, 7, 1) /* drain reads */
HW_FIELD(VTD_INV_IOTLB_LO, DID, 16, 16)
HW_FIELD(VTD_INV_IOTLB_HI, AM, 0, 6) /* page-selective: 2^AM pages, ADDR aligned to them */
HW_FIELD(VTD_INV_IOTLB_HI, IH, 6, 1) /* 1: only leaves changed, paging-structure caches may stay */
HW_FIELD(VTD_INV_IOTLB_HI, ADDR, 12, 52) /* page-selective: the first page's address 63:12 */
enum { VTD_INV_IOTLB_G_GLOBAL = 1, VTD_INV_IOTLB_G_DOMAIN = 2, VTD_INV_IOTLB_G_PAGE = 3 };

/* invalidation wait */
HW_FIELD(VTD_INV_WAIT_LO, IF, 4, 1)  /* interrupt: never with SW (that aborts QEMU) */
HW_FIELD(VTD_INV_WAIT_LO, SW, 5, 1)  /* status write */
HW_FIELD(VTD_INV_WAIT_LO, FN, 6, 1)  /* fence: later descriptors wait for this one */
HW_FIELD(VTD_INV_WAIT_LO, SDATA, 32, 32) /* the status word written */
HW_FIELD(VTD_INV_WAIT_HI, SADDR, 2, 62)  /* where: address 63:2 */

/* ---- root and context entries: 128 bits, two qwords (LO, HI) ---- */
enum { VTD_ENTRY_QWORDS = 2, VTD_ENTRIES = 256 /* per root / context table: buses, devfns */ };
HW_FIELD(VTD_ROOT_LO, P, 0, 1)       /* high qword: 0 in legacy mode */
HW_FIELD(VTD_ROOT_LO, CTP, 12, 52)   /* context-table pointer */
HW_FIELD(VTD_CTX_LO, P, 0, 1)
HW_FIELD(VTD_CTX_LO, FPD, 1, 1)      /* fault processing disable: never set, we want records */
HW_FIELD(VTD_CTX_LO, TT, 2, 2)       /* translation type */
HW_FIELD(VTD_CTX_LO, SLPTPTR, 12, 52) /* second-level table pointer */
HW_FIELD(VTD_CTX_HI, AW, 0, 3)       /* address width: levels - 2 (1: 39-bit, 2: 48-bit) */
HW_FIELD(VTD_CTX_HI, DID, 8, 16)
enum { VTD_CTX_TT_SL = 0 /* untranslated requests through the second level */ };
/* A table of `levels` levels is AW levels - 2, and SAGAW bit AW says the unit walks it. */
#define VTD_AW_FOR_LEVELS(levels) ((levels) - 2u)

/* source-id: PCI requester ID */
HW_FIELD(VTD_SID, DEVFN, 0, 8)
HW_FIELD(VTD_SID, BUS, 8, 8)

#endif
