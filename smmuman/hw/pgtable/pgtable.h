/* Page tables: one walker, several formats.
 *
 * A format (VT-d second level, later Arm stage 2) only says how an entry is
 * encoded and decoded; the walker does everything else: allocation, mapping
 * with the largest leaves the alignment allows, splitting a leaf when part of
 * it changes, merging a full table of uniform leaves back into one, and
 * telling the caller what must be invalidated. Table memory comes from the
 * caller (the service's pool); every 64-bit entry is written with one store,
 * and a new table is complete before the entry pointing to it is written, so
 * hardware walking concurrently sees either the old or the new translation.
 *
 * Levels are numbered from the leaf: level 0 maps 4 KiB, 1 maps 2 MiB,
 * 2 maps 1 GiB, 3 maps 512 GiB. A table of `levels` levels translates
 * 12 + 9 * levels bits of address. */
#ifndef SMMU_PGTABLE_H
#define SMMU_PGTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PT_PAGE_SHIFT    12
#define PT_PAGE_SIZE     (1ull << PT_PAGE_SHIFT)
#define PT_LEVEL_BITS    9
#define PT_ENTRIES       (1u << PT_LEVEL_BITS)
#define PT_MAX_LEVELS    4
#define PT_LEVEL_SIZE(l) (PT_PAGE_SIZE << (PT_LEVEL_BITS * (l)))
/* Input address bits a table of `levels` levels translates. */
#define PT_IOVA_BITS(levels) (PT_PAGE_SHIFT + PT_LEVEL_BITS * (levels))

/* Format-independent permissions */
#define PT_READ  0x1u
#define PT_WRITE 0x2u

typedef enum { PT_ENTRY_NONE, PT_ENTRY_TABLE, PT_ENTRY_LEAF } PtEntryKind;

typedef struct PtFormat {
    const char *name;
    unsigned min_levels, max_levels;
    unsigned leaf_levels;                 /* bit L: a leaf may stand at level L */
    uint64_t (*table)(uint64_t table_pa); /* entry pointing to a next-level table */
    uint64_t (*leaf)(uint64_t pa, unsigned perms, unsigned level);
    PtEntryKind (*decode)(uint64_t entry, unsigned level, uint64_t *pa, unsigned *perms);
    /* The address sits in a leaf as a plain bit field, so the leaf for
     * pa + k is the leaf for pa plus k (k a multiple of the leaf size). The
     * walker then fills and compares runs of entries without a call each. */
    bool linear;
} PtFormat;

/* Table memory, provided by the caller. */
typedef struct {
    void *ctx;
    int (*alloc)(void *ctx, uint64_t *pa);   /* one zeroed 4 KiB page; 0 or -ENOMEM */
    void (*free)(void *ctx, uint64_t pa);
    uint64_t *(*va)(void *ctx, uint64_t pa); /* the page as the CPU writes it */
    void (*written)(void *ctx, uint64_t pa); /* entries of that page changed */
} PtMem;

/* What the hardware may still cache after a change. Successive calls with
 * the same PtInval gather: the range grows to cover them all. */
typedef struct {
    uint64_t start, end;  /* IOVA range whose translation changed; start == end: none */
    bool tables_changed;  /* a non-leaf entry changed: walk caches too */
    bool replaced;        /* an entry that was not empty changed or went. If not,
                           * only empty entries were filled (a new table linked
                           * into one included): hardware that never caches a
                           * not-present entry holds nothing to invalidate.
                           * Empty is zero: every format's not-present entry
                           * as the walker writes it; a non-zero entry counts
                           * as present, which can only over-invalidate. */
} PtInval;

typedef struct {
    const PtFormat *fmt;
    PtMem mem;
    unsigned levels;
    unsigned leaf_levels; /* format's, narrowed by what the hardware supports */
    uint64_t root;        /* physical address of the top table */
    /* pages unlinked by map/unmap, freed by pt_release() once invalidated */
    uint64_t *deferred;
    size_t ndeferred, cap_deferred;
} PtTable;

extern const PtFormat pt_format_vtd_sl; /* VT-d second-level (legacy mode) */
extern const PtFormat pt_format_arm_s2; /* Arm SMMUv3 stage 2, 4 KiB granule */

/* leaf_levels: 0 = all the format allows. Allocates the root. */
int pt_init(PtTable *t, const PtFormat *fmt, unsigned levels, unsigned leaf_levels, const PtMem *mem);
/* A change as pt_cost() sees it: [iova, iova+len) to [pa, pa+len), or an
 * unmap. Page aligned. */
typedef struct {
    uint64_t iova, pa, len;
    bool unmap;
} PtChange;

/* An upper bound on the table pages the changes would take if made one
 * after another with pt_map()/pt_unmap(), each followed by pt_release():
 * the number of distinct table positions below the root that they reach
 * and cannot fill with one leaf, plus the root when the table has none
 * yet (t from pt_describe()). Changes nothing and reads no table memory, so
 * the caller can refuse a change before anything is touched. The changes
 * must be sorted by iova and must not overlap. */
size_t pt_cost(const PtTable *t, const PtChange *c, size_t n);
/* What pt_init() would build, without allocating anything (root 0): for
 * pt_cost() of a table that does not exist yet. */
int pt_describe(PtTable *t, const PtFormat *fmt, unsigned levels, unsigned leaf_levels);
/* Whether the format and the table's reach can hold [iova, iova+len) ->
 * [pa, pa+len) (len 0 is refused). */
bool pt_range_ok(const PtTable *t, uint64_t iova, uint64_t pa, uint64_t len);

/* Frees every table page; the hardware must no longer use the table. */
void pt_fini(PtTable *t);
uint64_t pt_iova_limit(const PtTable *t);

void pt_inval_init(PtInval *inv);
/* Maps [iova, iova+len) to [pa, pa+len) with perms (non-zero), replacing
 * whatever was there. Page aligned. All table pages the call needs are
 * allocated before anything changes: -ENOMEM leaves the table as it was.
 * inv is widened to cover what changed. */
int pt_map(PtTable *t, uint64_t iova, uint64_t pa, uint64_t len, unsigned perms, PtInval *inv);
/* Unmaps [iova, iova+len), splitting leaves at the edges (which may need
 * table pages: -ENOMEM leaves the table as it was). */
int pt_unmap(PtTable *t, uint64_t iova, uint64_t len, PtInval *inv);
/* Translation of one address: 0, or -ENOENT when unmapped. */
int pt_lookup(const PtTable *t, uint64_t iova, uint64_t *pa, unsigned *perms, unsigned *level);
/* Frees the pages unlinked since the last call: only after the hardware's
 * caches were invalidated (they may still hold those pages). */
void pt_release(PtTable *t);
/* Every table page in use, root first (for the integrity scrub); caller frees. */
size_t pt_pages(const PtTable *t, uint64_t **pages);

#endif
