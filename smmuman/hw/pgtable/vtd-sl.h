/* Intel VT-d second-level paging entries, legacy mode (VT-d spec, 9.8):
 * 512 eight-byte entries per 4 KiB table. Named once here; logic never
 * carries a bare bit number. */
#ifndef SMMU_VTD_SL_H
#define SMMU_VTD_SL_H

/* There is no present bit: an entry is present when R or W is set. The
 * remapping hardware checks R and W at every level of the walk, so an entry
 * pointing to a table must grant both for its leaves to decide. */
#define VTD_SL_R  (1ull << 0)
#define VTD_SL_W  (1ull << 1)
/* Page size: the entry is a leaf (large page). Defined at levels 1 (2 MiB)
 * and 2 (1 GiB); a level-0 entry is always a 4 KiB leaf. */
#define VTD_SL_PS (1ull << 7)

/* Bits 51:12: the next table's or the page's physical address. */
#define VTD_SL_ADDR_LO   12
#define VTD_SL_ADDR_HI   51
#define VTD_SL_ADDR_MASK (((1ull << (VTD_SL_ADDR_HI + 1)) - 1) & ~((1ull << VTD_SL_ADDR_LO) - 1))

/* Levels a leaf may stand at (bit L: level L), and where PS is defined. */
#define VTD_SL_LEAF_LEVELS 0x7u
#define VTD_SL_PS_LEVELS   0x6u

/* 3 levels translate 39 bits of IOVA, 4 levels 48 (SAGAW bits 1 and 2). */
#define VTD_SL_MIN_LEVELS 3u
#define VTD_SL_MAX_LEVELS 4u

#endif
