/* Arm SMMUv3 stage-2 translation table descriptors: AArch64 VMSAv8-64
 * stage 2, 4 KiB granule (Arm ARM D8.3; SMMUv3 spec 3.4). 512 eight-byte
 * descriptors per 4 KiB table. Named once here; logic never carries a bare
 * bit number.
 *
 * Arm numbers the lookup levels from the root (level 3 holds 4 KiB pages);
 * pgtable.h numbers them from the leaf. Here "level" is always pgtable.h's:
 * level 0 = Arm level 3, level 3 = Arm level 0. */
#ifndef SMMU_ARM_S2_H
#define SMMU_ARM_S2_H

/* Descriptor type, bits 1:0. Bit 0 clear (0b00, 0b10): invalid at every
 * level. Above level 0, 0b11 points to a table and 0b01 is a block; at
 * level 0, 0b11 is a page and 0b01 is reserved (faults like invalid). */
#define ARM_S2_TYPE_MASK  (3ull << 0)
#define ARM_S2_VALID      (1ull << 0)
#define ARM_S2_TYPE_TABLE (3ull << 0) /* levels 1..3 */
#define ARM_S2_TYPE_BLOCK (1ull << 0) /* levels 1 and 2 (2 MiB, 1 GiB) */
#define ARM_S2_TYPE_PAGE  (3ull << 0) /* level 0 */

/* Lower attributes of a block or page (ignored in a table descriptor). */
/* MemAttr, bits 5:2: [3:2] outer, [1:0] inner; 0b11 each = Normal memory,
 * write-back cacheable. */
#define ARM_S2_MEMATTR_MASK      (0xfull << 2)
#define ARM_S2_MEMATTR_NORMAL_WB (0xfull << 2)
/* S2AP, bits 7:6: bit 6 grants reads, bit 7 writes; 0b00 is no access. */
#define ARM_S2_S2AP_MASK (3ull << 6)
#define ARM_S2_S2AP_R    (1ull << 6)
#define ARM_S2_S2AP_W    (1ull << 7)
/* SH, bits 9:8: shareability; 0b11 = inner shareable. */
#define ARM_S2_SH_MASK  (3ull << 8)
#define ARM_S2_SH_INNER (3ull << 8)
/* AF, bit 10: access flag. Clear, the first access faults (unless the
 * stream table entry sets S2AFFD), so every leaf is written with it set. */
#define ARM_S2_AF (1ull << 10)
/* Upper attributes: XN, bits 54:53, left 0 (execution allowed). */
#define ARM_S2_XN_MASK (3ull << 53)

/* What every leaf carries besides type, S2AP and address. */
#define ARM_S2_LEAF_ATTRS (ARM_S2_AF | ARM_S2_SH_INNER | ARM_S2_MEMATTR_NORMAL_WB)

/* Bits 47:12: the next table's, the page's or the block's output address
 * (a block's address has its low bits, below its size, zero). */
#define ARM_S2_ADDR_LO   12
#define ARM_S2_ADDR_HI   47
#define ARM_S2_ADDR_MASK (((1ull << (ARM_S2_ADDR_HI + 1)) - 1) & ~((1ull << ARM_S2_ADDR_LO) - 1))

/* Levels a leaf may stand at (bit L: level L), and where it is a block. A
 * block at level 3 (Arm level 0) exists only with 52-bit addresses. */
#define ARM_S2_LEAF_LEVELS  0x7u
#define ARM_S2_BLOCK_LEVELS 0x6u

/* 3 levels translate 39 bits of input address (starting at Arm level 1),
 * 4 levels 48 (starting at Arm level 0). */
#define ARM_S2_MIN_LEVELS 3u
#define ARM_S2_MAX_LEVELS 4u

#endif
