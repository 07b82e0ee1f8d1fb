/* Arm SMMUv3 stage-2 translation table format (VMSAv8-64, 4 KiB granule). */
#include "pgtable.h"
#include "arm-s2.h"

static uint64_t arm_s2_table(uint64_t table_pa)
{
    /* Stage 2 has no hierarchical attributes: the leaves decide. */
    return (table_pa & ARM_S2_ADDR_MASK) | ARM_S2_TYPE_TABLE;
}

static uint64_t arm_s2_leaf(uint64_t pa, unsigned perms, unsigned level)
{
    uint64_t e = (pa & ARM_S2_ADDR_MASK) | ARM_S2_LEAF_ATTRS;

    /* The walker never asks for a leaf without permissions (pt_map refuses
     * perms 0), so no "no access" leaf is written. */
    if (perms & PT_READ)
        e |= ARM_S2_S2AP_R;
    if (perms & PT_WRITE)
        e |= ARM_S2_S2AP_W;
    e |= level == 0 ? ARM_S2_TYPE_PAGE : ARM_S2_TYPE_BLOCK;
    return e;
}

static PtEntryKind arm_s2_kind(uint64_t entry, unsigned level)
{
    const uint64_t type = entry & ARM_S2_TYPE_MASK;

    if (!(entry & ARM_S2_VALID))
        return PT_ENTRY_NONE;
    if (level == 0)
        return type == ARM_S2_TYPE_PAGE ? PT_ENTRY_LEAF : PT_ENTRY_NONE; /* 0b01 reserved */
    if (type == ARM_S2_TYPE_TABLE)
        return PT_ENTRY_TABLE;
    if (type == ARM_S2_TYPE_BLOCK && (ARM_S2_BLOCK_LEVELS & (1u << level)))
        return PT_ENTRY_LEAF;
    return PT_ENTRY_NONE;
}

static PtEntryKind arm_s2_decode(uint64_t entry, unsigned level, uint64_t *pa, unsigned *perms)
{
    const PtEntryKind kind = arm_s2_kind(entry, level);

    if (kind == PT_ENTRY_NONE)
        return kind;
    if (pa)
        *pa = entry & ARM_S2_ADDR_MASK;
    if (perms)
        *perms = kind != PT_ENTRY_LEAF ? 0
                 : (entry & ARM_S2_S2AP_R ? PT_READ : 0) | (entry & ARM_S2_S2AP_W ? PT_WRITE : 0);
    return kind;
}

const PtFormat pt_format_arm_s2 = {
    .name = "arm-s2",
    .min_levels = ARM_S2_MIN_LEVELS,
    .max_levels = ARM_S2_MAX_LEVELS,
    .leaf_levels = ARM_S2_LEAF_LEVELS,
    .table = arm_s2_table,
    .leaf = arm_s2_leaf,
    .decode = arm_s2_decode,
    .linear = true, /* address bits 47:12 hold the address itself */
};
