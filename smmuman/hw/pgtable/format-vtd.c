/* VT-d second-level page-table format (legacy mode). */
#include "pgtable.h"
#include "vtd-sl.h"

static uint64_t vtd_table(uint64_t table_pa)
{
    /* The hardware ANDs permissions along the walk: a table entry grants
     * everything and leaves its leaves to decide. */
    return (table_pa & VTD_SL_ADDR_MASK) | VTD_SL_R | VTD_SL_W;
}

static uint64_t vtd_leaf(uint64_t pa, unsigned perms, unsigned level)
{
    uint64_t e = pa & VTD_SL_ADDR_MASK;

    if (perms & PT_READ)
        e |= VTD_SL_R;
    if (perms & PT_WRITE)
        e |= VTD_SL_W;
    if (VTD_SL_PS_LEVELS & (1u << level))
        e |= VTD_SL_PS;
    return e;
}

static PtEntryKind vtd_decode(uint64_t entry, unsigned level, uint64_t *pa, unsigned *perms)
{
    if (!(entry & (VTD_SL_R | VTD_SL_W)))
        return PT_ENTRY_NONE;
    if (pa)
        *pa = entry & VTD_SL_ADDR_MASK;
    if (perms)
        *perms = (entry & VTD_SL_R ? PT_READ : 0) | (entry & VTD_SL_W ? PT_WRITE : 0);
    /* PS is reserved where it is not defined (level 3): such an entry still
     * points to a table as far as its address goes. */
    if (level == 0 || ((VTD_SL_PS_LEVELS & (1u << level)) && (entry & VTD_SL_PS)))
        return PT_ENTRY_LEAF;
    return PT_ENTRY_TABLE;
}

const PtFormat pt_format_vtd_sl = {
    .name = "vtd-sl",
    .min_levels = VTD_SL_MIN_LEVELS,
    .max_levels = VTD_SL_MAX_LEVELS,
    .leaf_levels = VTD_SL_LEAF_LEVELS,
    .table = vtd_table,
    .leaf = vtd_leaf,
    .decode = vtd_decode,
    .linear = true, /* address bits 51:12 hold the address itself */
};
