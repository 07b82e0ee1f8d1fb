/* Registers and fields, each named once, read and written by name.
 *
 * The shape is QEMU's REG32/FIELD (written for this project, not taken from
 * it): a register is an offset, a field a shift and a length, and code says
 * which field of which register it means instead of carrying bit numbers.
 *
 *   HW_REG(VTD, GSTS, 0x01c)           offset          VTD_REG_GSTS
 *   HW_FIELD(VTD_GSTS, TES, 31, 1)     shift, length   VTD_GSTS_TES_SHIFT, VTD_GSTS_TES_LENGTH
 *
 *   HW_EX64(v, VTD_GSTS, TES)          the field's value in v
 *   HW_DP64(v, VTD_GSTS, TES, x)       v with the field replaced by x
 *   HW_VAL64(VTD_GSTS, TES, x)         x in the field, every other bit 0
 *   HW_MASK64(VTD_GSTS, TES)           the field's bits in place
 *
 * In-memory structures (queue entries, table entries, records) are named
 * the same way, per 64-bit word (or 32-bit word where the hardware
 * defines them so): HW_FIELD(SMMU_CMD0, OPCODE, 0, 8) is bits 7:0 of a
 * command's first qword. The names are enumeration constants, so they are
 * usable in any expression (not in #if) and a value wider than its field
 * is cut to the field's width, never spilled into its neighbour. */
#ifndef SMMU_HW_REGFIELD_H
#define SMMU_HW_REGFIELD_H

#include <stdint.h>

#define HW_REG(unit, reg, off) enum { unit##_REG_##reg = (off) };
#define HW_FIELD(reg, field, shift, length) \
    enum { reg##_##field##_SHIFT = (shift), reg##_##field##_LENGTH = (length) };

/* `length` low bits set (1..64) */
#define HW_ONES64(length) (~0ull >> (64 - (length)))

#define HW_MASK64(reg, field) (HW_ONES64(reg##_##field##_LENGTH) << reg##_##field##_SHIFT)
#define HW_EX64(v, reg, field) (((uint64_t)(v) >> reg##_##field##_SHIFT) & HW_ONES64(reg##_##field##_LENGTH))
#define HW_VAL64(reg, field, x) (((uint64_t)(x) & HW_ONES64(reg##_##field##_LENGTH)) << reg##_##field##_SHIFT)
#define HW_DP64(v, reg, field, x) (((uint64_t)(v) & ~HW_MASK64(reg, field)) | HW_VAL64(reg, field, x))

/* The same for 32-bit registers (fields below bit 32). */
#define HW_MASK32(reg, field) ((uint32_t)HW_MASK64(reg, field))
#define HW_EX32(v, reg, field) ((uint32_t)HW_EX64((uint32_t)(v), reg, field))
#define HW_VAL32(reg, field, x) ((uint32_t)HW_VAL64(reg, field, x))
#define HW_DP32(v, reg, field, x) ((uint32_t)HW_DP64((uint32_t)(v), reg, field, x))

#endif
