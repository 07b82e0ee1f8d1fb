/* Unit tests of the page-table walker with the Arm SMMUv3 stage-2 format
 * (VMSAv8-64 stage 2, 4 KiB granule).
 *
 * Table memory is an arena of 4 KiB pages with fake physical addresses that
 * counts allocations, poisons freed pages, can fail the n-th allocation and
 * records every written() call with the page's contents at that moment.
 * The table is judged by a reference walk written here from the Arm
 * architecture's descriptor bits (not pgtable.h's decode, not arm-s2.h),
 * doing what QEMU's SMMUv3 model does (hw/arm/smmu-common.c,
 * smmu_ptw_64_s2): bit 0 clear is invalid, 0b01 at the last level is
 * reserved, AF clear is an access fault, S2AP decides reads and writes.
 * Levels are pgtable.h's, from the leaf: Arm level = 3 - level. */
#include <check.h>

#include "check-run.h"
#include <errno.h>
#include <glib.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../hw/pgtable/pgtable.h"
#include "../hw/pgtable/arm-s2.h"

/* The stage-2 descriptor layout, written again rather than taken from
 * arm-s2.h so that a wrong bit there fails here. */
#define SPEC_TYPE      0x3ull                /* bits 1:0 */
#define SPEC_VALID     0x1ull                /* bit 0 */
#define SPEC_T_TABLE   0x3ull                /* above the last level */
#define SPEC_T_BLOCK   0x1ull                /* above the last level */
#define SPEC_T_PAGE    0x3ull                /* at the last level */
#define SPEC_MEMATTR   0x3cull               /* bits 5:2 */
#define SPEC_S2AP_R    0x40ull               /* bit 6 */
#define SPEC_S2AP_W    0x80ull               /* bit 7 */
#define SPEC_SH        0x300ull              /* bits 9:8 */
#define SPEC_AF        0x400ull              /* bit 10 */
#define SPEC_XN        0x0060000000000000ull /* bits 54:53 */
#define SPEC_ADDR      0x0000fffffffff000ull /* bits 47:12 */
/* What every leaf must carry: AF, inner shareable, Normal write-back. */
#define SPEC_LEAF_ATTR (SPEC_AF | SPEC_SH | SPEC_MEMATTR)
#define SPEC_PA_LIMIT  (1ull << 48)

#define PG  PT_PAGE_SIZE
#define KiB 1024ull
#define MiB (1024ull * KiB)
#define GiB (1024ull * MiB)
#define RW  (PT_READ | PT_WRITE)

/* libcheck records where every passing assertion stood, a write to its pipe
 * each time: the hot paths test first and call it only to fail. */
#define REQUIRE(cond, ...)               \
    do {                                 \
        if (!(cond))                     \
            ck_abort_msg(__VA_ARGS__);   \
    } while (0)

static uint64_t level_size(unsigned level)
{
    return PG << (9 * level);
}

/* ---------------------------------------------------------------------- */
/* Table memory double */

#define ARENA_BASE 0xabc00000000ull /* far from every IOVA and pa mapped */

typedef void WrittenHook(void *ctx, uint64_t pa);

typedef struct {
    size_t cap;
    uint64_t (*page)[PT_ENTRIES];
    uint64_t (*shadow)[PT_ENTRIES];     /* contents when the current call began */
    uint64_t (*at_written)[PT_ENTRIES]; /* contents at the last written() */
    bool *used, *was_used;
    unsigned *written;
    size_t *fifo, head, nfree; /* free pages, oldest first: reuse is late */
    size_t in_use, allocs, frees;
    unsigned fail_in; /* n > 0: the n-th allocation from now fails */
    WrittenHook *hook;
    void *hook_ctx;
} Arena;

static void arena_init(Arena *a, size_t cap)
{
    memset(a, 0, sizeof *a);
    a->cap = cap;
    a->page = calloc(cap, sizeof *a->page);
    a->shadow = calloc(cap, sizeof *a->shadow);
    a->at_written = calloc(cap, sizeof *a->at_written);
    a->used = calloc(cap, sizeof *a->used);
    a->was_used = calloc(cap, sizeof *a->was_used);
    a->written = calloc(cap, sizeof *a->written);
    a->fifo = calloc(cap, sizeof *a->fifo);
    ck_assert(a->page && a->shadow && a->at_written && a->used && a->was_used && a->written && a->fifo);
    for (size_t i = 0; i < cap; i++)
        a->fifo[i] = i;
    a->nfree = cap;
}

static void arena_fini(Arena *a)
{
    free(a->page);
    free(a->shadow);
    free(a->at_written);
    free(a->used);
    free(a->was_used);
    free(a->written);
    free(a->fifo);
}

static size_t arena_index(const Arena *a, uint64_t pa)
{
    REQUIRE(pa >= ARENA_BASE && !(pa % PG) && (pa - ARENA_BASE) / PG < a->cap,
            "%#" PRIx64 " is no table page", pa);
    return (pa - ARENA_BASE) / PG;
}

static uint64_t *arena_page(const Arena *a, uint64_t pa)
{
    size_t i = arena_index(a, pa);
    REQUIRE(a->used[i], "table page %#" PRIx64 " used while free", pa);
    return a->page[i];
}

static int arena_alloc(void *ctx, uint64_t *pa)
{
    Arena *a = ctx;
    if (a->fail_in && --a->fail_in == 0)
        return -ENOMEM;
    REQUIRE(a->nfree > 0, "arena exhausted");
    size_t i = a->fifo[a->head];
    a->head = (a->head + 1) % a->cap;
    a->nfree--;
    REQUIRE(!a->used[i], "free list holds a page in use");
    memset(a->page[i], 0, PG);
    a->used[i] = true;
    a->in_use++;
    a->allocs++;
    *pa = ARENA_BASE + i * PG;
    return 0;
}

static void arena_free(void *ctx, uint64_t pa)
{
    Arena *a = ctx;
    size_t i = arena_index(a, pa);
    REQUIRE(a->used[i], "page %#" PRIx64 " freed twice", pa);
    /* Poison that reads as present entries to nowhere: a walk through a
     * freed page fails loudly. */
    memset(a->page[i], 0xa5, PG);
    a->used[i] = false;
    a->fifo[(a->head + a->nfree) % a->cap] = i;
    a->nfree++;
    a->in_use--;
    a->frees++;
}

static uint64_t *arena_va(void *ctx, uint64_t pa)
{
    return arena_page(ctx, pa);
}

static void arena_written(void *ctx, uint64_t pa)
{
    Arena *a = ctx;
    size_t i = arena_index(a, pa);
    REQUIRE(a->used[i], "written() on free page %#" PRIx64, pa);
    a->written[i]++;
    memcpy(a->at_written[i], a->page[i], PG);
    if (a->hook)
        a->hook(a->hook_ctx, pa);
}

static PtMem arena_mem(Arena *a)
{
    return (PtMem){ .ctx = a, .alloc = arena_alloc, .free = arena_free, .va = arena_va,
                    .written = arena_written };
}

static void arena_begin(Arena *a)
{
    for (size_t i = 0; i < a->cap; i++) {
        a->was_used[i] = a->used[i];
        if (a->used[i])
            memcpy(a->shadow[i], a->page[i], PG);
        a->written[i] = 0;
    }
}

static bool page_changed(const Arena *a, size_t i)
{
    return !a->was_used[i] || memcmp(a->shadow[i], a->page[i], PG) != 0;
}

/* After a call: written() came exactly once for each page whose entries
 * changed, after its last change, and never for others; no page was freed
 * (unlinked pages wait for pt_release). Returns whether any page changed. */
static bool arena_end(const Arena *a)
{
    bool any = false;
    for (size_t i = 0; i < a->cap; i++) {
        uint64_t pa = ARENA_BASE + i * PG;
        REQUIRE(!a->was_used[i] || a->used[i], "page %#" PRIx64 " freed during a call", pa);
        if (!a->used[i]) {
            REQUIRE(!a->written[i], "written() on page %#" PRIx64 " given back", pa);
            continue;
        }
        if (page_changed(a, i)) {
            any = true;
            REQUIRE(a->written[i] == 1, "page %#" PRIx64 " changed, written() %u times", pa,
                    a->written[i]);
            REQUIRE(!memcmp(a->at_written[i], a->page[i], PG),
                    "page %#" PRIx64 " changed after its written()", pa);
        } else {
            REQUIRE(!a->written[i], "page %#" PRIx64 " unchanged, written() %u times", pa,
                    a->written[i]);
        }
    }
    return any;
}

/* ---------------------------------------------------------------------- */
/* Reference walk and structure checks */

typedef struct {
    Arena a;
    PtTable t;
    unsigned levels, leaf_levels; /* leaf_levels: what the walker must use */
    int8_t *level_of;             /* per arena page: its level if linked, else -1 */
    bool *seen;
    size_t reachable;
} Fix;

static unsigned spec_perms(uint64_t e)
{
    return (e & SPEC_S2AP_R ? PT_READ : 0) | (e & SPEC_S2AP_W ? PT_WRITE : 0);
}

/* What the hardware takes the descriptor for: invalid (bit 0 clear, or
 * reserved 0b01 at the last level, or a block at Arm level 0, which needs
 * 52-bit addresses), a table (0b11 above the last level), a page (0b11 at
 * the last level) or a block (0b01 at Arm levels 1 and 2). */
static unsigned spec_kind(uint64_t e, unsigned level)
{
    const uint64_t type = e & SPEC_TYPE;
    if (!(e & SPEC_VALID))
        return PT_ENTRY_NONE;
    if (level == 0)
        return type == SPEC_T_PAGE ? PT_ENTRY_LEAF : PT_ENTRY_NONE;
    if (type == SPEC_T_TABLE)
        return PT_ENTRY_TABLE;
    return level == 3 ? PT_ENTRY_NONE : PT_ENTRY_LEAF;
}

static bool spec_leaf(uint64_t e, unsigned level)
{
    return spec_kind(e, level) == PT_ENTRY_LEAF;
}

/* Everything the walker must never write, whatever the hardware would make
 * of it: invalid descriptors other than 0, reserved types, attribute bits in
 * table descriptors, leaves without AF, with other attributes than Normal
 * write-back inner shareable, with no access, with XN or any other bit set,
 * or misaligned. */
static void spec_check(uint64_t e, unsigned level, uint64_t iova)
{
    if (!(e & SPEC_VALID)) {
        REQUIRE(e == 0, "iova %#" PRIx64 ": invalid descriptor %#" PRIx64 " not clear (level %u)", iova, e,
                level);
        return;
    }
    REQUIRE(spec_kind(e, level) != PT_ENTRY_NONE,
            "iova %#" PRIx64 ": reserved descriptor type in %#" PRIx64 " at level %u", iova, e, level);
    if (spec_kind(e, level) == PT_ENTRY_TABLE) {
        REQUIRE((e & ~SPEC_ADDR) == SPEC_T_TABLE, "iova %#" PRIx64 ": table descriptor %#" PRIx64
                " carries more than address and type (level %u)", iova, e, level);
        return;
    }
    const uint64_t stray = e & ~(SPEC_ADDR | SPEC_LEAF_ATTR | SPEC_S2AP_R | SPEC_S2AP_W | SPEC_TYPE);
    REQUIRE(!stray, "iova %#" PRIx64 ": stray bits (%#" PRIx64 ") in leaf %#" PRIx64 " (level %u)", iova,
            stray, e, level);
    REQUIRE(!(e & SPEC_XN), "iova %#" PRIx64 ": XN in leaf %#" PRIx64, iova, e);
    REQUIRE(e & SPEC_AF, "iova %#" PRIx64 ": leaf %#" PRIx64 " without AF (level %u)", iova, e, level);
    REQUIRE((e & SPEC_SH) == SPEC_SH, "iova %#" PRIx64 ": leaf %#" PRIx64 " not inner shareable", iova, e);
    REQUIRE((e & SPEC_MEMATTR) == SPEC_MEMATTR, "iova %#" PRIx64 ": leaf %#" PRIx64 " not Normal WB", iova,
            e);
    REQUIRE(e & (SPEC_S2AP_R | SPEC_S2AP_W), "iova %#" PRIx64 ": leaf %#" PRIx64 " with S2AP 0b00", iova, e);
    REQUIRE(!((e & SPEC_ADDR) % level_size(level)), "iova %#" PRIx64 ": misaligned leaf %#" PRIx64
            " (level %u)", iova, e, level);
}

/* What the hardware makes of iova (page aligned): pa | perms, or 0 when the
 * walk faults. *leaf_level: where the leaf stood. Stage 2 has no
 * hierarchical permissions: the leaf's S2AP alone decides. */
static uint64_t ref_walk(const Fix *f, uint64_t iova, int *leaf_level)
{
    uint64_t table = f->t.root;

    for (int l = (int)f->levels - 1; l >= 0; l--) {
        uint64_t e = arena_page(&f->a, table)[(iova >> (12 + 9 * l)) & 511];
        if (leaf_level)
            *leaf_level = -1;
        spec_check(e, (unsigned)l, iova);
        const unsigned kind = spec_kind(e, (unsigned)l);
        if (kind == PT_ENTRY_NONE)
            return 0; /* translation fault */
        uint64_t addr = e & SPEC_ADDR;
        if (kind == PT_ENTRY_LEAF) {
            uint64_t size = level_size((unsigned)l);
            if (leaf_level)
                *leaf_level = l;
            if (!(e & SPEC_AF))
                return 0; /* access fault */
            if (!spec_perms(e))
                return 0; /* permission fault, whatever the access */
            return (addr + (iova & (size - 1))) | spec_perms(e);
        }
        table = addr;
    }
    ck_abort_msg("walked below level 0");
    return 0;
}

static void scan_table(Fix *f, uint64_t pa, unsigned level, bool root)
{
    size_t idx = arena_index(&f->a, pa);
    const uint64_t *pg = arena_page(&f->a, pa);
    unsigned present = 0, leaves = 0;

    REQUIRE(f->level_of[idx] < 0, "table %#" PRIx64 " linked twice", pa);
    f->level_of[idx] = (int8_t)level;
    f->reachable++;
    for (unsigned j = 0; j < PT_ENTRIES; j++) {
        uint64_t e = pg[j];
        spec_check(e, level, UINT64_MAX);
        if (spec_kind(e, level) == PT_ENTRY_NONE)
            continue;
        present++;
        if (spec_leaf(e, level)) {
            leaves++;
            REQUIRE(f->leaf_levels & (1u << level), "leaf at level %u not allowed", level);
        } else {
            scan_table(f, e & SPEC_ADDR, level - 1, false);
        }
    }
    if (root)
        return;
    REQUIRE(present > 0, "empty table %#" PRIx64 " (level %u) left linked", pa, level);
    if (leaves == PT_ENTRIES && (f->leaf_levels & (1u << (level + 1)))) {
        uint64_t pa0 = pg[0] & SPEC_ADDR;
        bool uniform = !(pa0 % level_size(level + 1));
        for (unsigned j = 1; j < PT_ENTRIES && uniform; j++)
            uniform = (pg[j] & SPEC_ADDR) == pa0 + j * level_size(level) &&
                      spec_perms(pg[j]) == spec_perms(pg[0]);
        REQUIRE(!uniform, "table %#" PRIx64 " (level %u) should have merged", pa, level);
    }
}

/* The whole structure: invariants, pt_pages, deferred pages, no leak. */
static void fix_scan(Fix *f)
{
    uint64_t *pages;

    memset(f->level_of, -1, f->a.cap);
    memset(f->seen, 0, f->a.cap);
    f->reachable = 0;
    scan_table(f, f->t.root, f->levels - 1, true);

    size_t n = pt_pages(&f->t, &pages);
    REQUIRE(n == f->reachable, "pt_pages lists %zu pages, %zu linked", n, f->reachable);
    REQUIRE(pages[0] == f->t.root, "pt_pages does not start with the root");
    for (size_t k = 0; k < n; k++) {
        size_t i = arena_index(&f->a, pages[k]);
        REQUIRE(f->level_of[i] >= 0, "pt_pages lists %#" PRIx64 ", not linked", pages[k]);
        REQUIRE(!f->seen[i], "pt_pages lists %#" PRIx64 " twice", pages[k]);
        f->seen[i] = true;
    }
    free(pages);
    for (size_t k = 0; k < f->t.ndeferred; k++) {
        size_t i = arena_index(&f->a, f->t.deferred[k]);
        REQUIRE(f->a.used[i], "deferred page freed before pt_release");
        REQUIRE(f->level_of[i] < 0, "deferred page still linked");
        REQUIRE(!f->seen[i], "page deferred twice");
        f->seen[i] = true;
    }
    REQUIRE(f->a.in_use == f->reachable + f->t.ndeferred, "%zu pages in use, %zu linked, %zu deferred: leak",
            f->a.in_use, f->reachable, f->t.ndeferred);
}

/* From the pages' contents before (levels from the last scan) and now:
 * whether a non-leaf entry changed. Pages already unlinked must not change. */
static bool expect_tables_changed(const Fix *f)
{
    const Arena *a = &f->a;
    bool any = false;

    for (size_t i = 0; i < a->cap; i++) {
        if (!a->was_used[i] || !page_changed(a, i))
            continue;
        REQUIRE(f->level_of[i] >= 0, "unlinked page %#" PRIx64 " written", (uint64_t)(ARENA_BASE + i * PG));
        unsigned level = (unsigned)f->level_of[i];
        for (unsigned j = 0; j < PT_ENTRIES; j++) {
            uint64_t o = a->shadow[i][j], n = a->page[i][j];
            if (o == n)
                continue;
            unsigned ko = spec_kind(o, level), kn = spec_kind(n, level);
            if (ko == PT_ENTRY_TABLE || (ko == PT_ENTRY_LEAF && kn == PT_ENTRY_TABLE))
                any = true;
        }
    }
    return any;
}

/* Whether a table entry reachable from `table` points to target. */
static bool links_to(const Fix *f, uint64_t table, unsigned level, uint64_t target)
{
    const uint64_t *pg = arena_page(&f->a, table);
    for (unsigned j = 0; level > 0 && j < PT_ENTRIES; j++) {
        if (spec_kind(pg[j], level) != PT_ENTRY_TABLE)
            continue;
        if ((pg[j] & SPEC_ADDR) == target || links_to(f, pg[j] & SPEC_ADDR, level - 1, target))
            return true;
    }
    return false;
}

/* At written() of a table the call created: the hardware cannot reach it
 * yet (it is complete before it is linked). */
static void check_new_unlinked(const Fix *f, uint64_t pa)
{
    if (f->a.was_used[arena_index(&f->a, pa)])
        return;
    REQUIRE(!links_to(f, f->t.root, f->levels - 1, pa), "new table %#" PRIx64 " linked before written()", pa);
}

static void link_order_hook(void *ctx, uint64_t pa)
{
    check_new_unlinked(ctx, pa);
}

static void fix_init(Fix *f, unsigned levels, unsigned leaf_arg, unsigned expect_leaf, size_t cap)
{
    memset(f, 0, sizeof *f);
    arena_init(&f->a, cap);
    f->levels = levels;
    f->leaf_levels = expect_leaf;
    f->level_of = malloc(cap);
    f->seen = malloc(cap);
    ck_assert(f->level_of && f->seen);
    PtMem mem = arena_mem(&f->a);
    ck_assert_int_eq(pt_init(&f->t, &pt_format_arm_s2, levels, leaf_arg, &mem), 0);
    ck_assert_uint_eq(f->t.leaf_levels, expect_leaf);
    ck_assert_uint_eq(f->a.in_use, 1);
    fix_scan(f);
}

static void fix_fini(Fix *f)
{
    pt_fini(&f->t);
    ck_assert_uint_eq(f->a.in_use, 0);
    ck_assert_uint_eq(f->a.allocs, f->a.frees);
    arena_fini(&f->a);
    free(f->level_of);
    free(f->seen);
}

/* One call under full checking; returns its PtInval. */
static PtInval fix_op(Fix *f, bool unmap, uint64_t iova, uint64_t pa, uint64_t len, unsigned perms)
{
    PtInval inv;
    pt_inval_init(&inv);
    arena_begin(&f->a);
    const bool own_hook = !f->a.hook && f->reachable < 64;
    if (own_hook) {
        f->a.hook = link_order_hook;
        f->a.hook_ctx = f;
    }
    int ret = unmap ? pt_unmap(&f->t, iova, len, &inv) : pt_map(&f->t, iova, pa, len, perms, &inv);
    if (own_hook)
        f->a.hook = NULL;
    ck_assert_int_eq(ret, 0);
    arena_end(&f->a);
    ck_assert_int_eq(inv.tables_changed, expect_tables_changed(f));
    REQUIRE(inv.start == inv.end || (inv.start >= iova && inv.end <= iova + len),
            "inval [%#" PRIx64 ", %#" PRIx64 ") outside the call's range", inv.start, inv.end);
    fix_scan(f);
    return inv;
}

static PtInval fix_map(Fix *f, uint64_t iova, uint64_t pa, uint64_t len, unsigned perms)
{
    return fix_op(f, false, iova, pa, len, perms);
}

static PtInval fix_unmap(Fix *f, uint64_t iova, uint64_t len)
{
    return fix_op(f, true, iova, 0, len, 0);
}

/* iova translates to pa with perms through a leaf at `level` (both by the
 * reference walk and pt_lookup); perms 0: unmapped. */
static void expect_xlate(const Fix *f, uint64_t iova, uint64_t pa, unsigned perms, int level)
{
    int ref_level;
    uint64_t got = ref_walk(f, iova, &ref_level), want = perms ? pa | perms : 0;
    uint64_t lpa;
    unsigned lperms, llevel;
    int ret = pt_lookup(&f->t, iova, &lpa, &lperms, &llevel);

    REQUIRE(got == want, "iova %#" PRIx64 ": table maps %#" PRIx64 ", want %#" PRIx64, iova, got, want);
    if (!perms) {
        REQUIRE(ret == -ENOENT, "iova %#" PRIx64 ": pt_lookup %d on an unmapped page", iova, ret);
        return;
    }
    REQUIRE(ret == 0 && lpa == pa && lperms == perms,
            "iova %#" PRIx64 ": pt_lookup %d, %#" PRIx64 " perms %u", iova, ret, lpa, lperms);
    REQUIRE(ref_level == level && (int)llevel == level,
            "iova %#" PRIx64 ": leaf at level %d (pt_lookup %u), want %d", iova, ref_level, llevel, level);
}

/* Every page of [iova, iova+len) maps pa + offset through leaves at level. */
static void expect_range(const Fix *f, uint64_t iova, uint64_t pa, uint64_t len, unsigned perms, int level)
{
    uint64_t step = len / PG > 4096 ? 509 * PG : PG;
    for (uint64_t off = 0; off < len; off += step)
        expect_xlate(f, iova + off, pa + off, perms, level);
    expect_xlate(f, iova + len - PG, pa + len - PG, perms, level);
}

/* ---------------------------------------------------------------------- */
/* The format */

START_TEST(test_arm_format)
{
    const PtFormat *f = &pt_format_arm_s2;
    const uint64_t A = SPEC_LEAF_ATTR, R = SPEC_S2AP_R, W = SPEC_S2AP_W;
    uint64_t pa = 0;
    unsigned perms = 0;

    /* The header's names against the architecture's bits. */
    ck_assert_uint_eq(ARM_S2_TYPE_MASK, SPEC_TYPE);
    ck_assert_uint_eq(ARM_S2_VALID, SPEC_VALID);
    ck_assert_uint_eq(ARM_S2_TYPE_TABLE, SPEC_T_TABLE);
    ck_assert_uint_eq(ARM_S2_TYPE_BLOCK, SPEC_T_BLOCK);
    ck_assert_uint_eq(ARM_S2_TYPE_PAGE, SPEC_T_PAGE);
    ck_assert_uint_eq(ARM_S2_MEMATTR_MASK, SPEC_MEMATTR);
    ck_assert_uint_eq(ARM_S2_MEMATTR_NORMAL_WB, SPEC_MEMATTR);
    ck_assert_uint_eq(ARM_S2_S2AP_R, SPEC_S2AP_R);
    ck_assert_uint_eq(ARM_S2_S2AP_W, SPEC_S2AP_W);
    ck_assert_uint_eq(ARM_S2_S2AP_MASK, SPEC_S2AP_R | SPEC_S2AP_W);
    ck_assert_uint_eq(ARM_S2_SH_MASK, SPEC_SH);
    ck_assert_uint_eq(ARM_S2_SH_INNER, SPEC_SH);
    ck_assert_uint_eq(ARM_S2_AF, SPEC_AF);
    ck_assert_uint_eq(ARM_S2_XN_MASK, SPEC_XN);
    ck_assert_uint_eq(ARM_S2_ADDR_MASK, SPEC_ADDR);
    ck_assert_uint_eq(ARM_S2_LEAF_ATTRS, SPEC_LEAF_ATTR);
    ck_assert_str_eq(f->name, "arm-s2");
    ck_assert_uint_eq(f->min_levels, 3);
    ck_assert_uint_eq(f->max_levels, 4);
    ck_assert_uint_eq(f->leaf_levels, 0x7); /* never a leaf at level 3 */
    ck_assert(f->linear);

    /* Encoding, bit for bit: tables are address | 0b11 and nothing else;
     * leaves carry AF, SH 0b11, MemAttr 0b1111, S2AP, and 0b11 (page) at
     * level 0 or 0b01 (block) above. */
    ck_assert_uint_eq(f->table(0x123456000), 0x123456000 | SPEC_T_TABLE);
    ck_assert_uint_eq(f->table(SPEC_ADDR), SPEC_ADDR | SPEC_T_TABLE);
    ck_assert_uint_eq(f->leaf(0x5000, PT_READ, 0), 0x5000 | A | R | SPEC_T_PAGE);
    ck_assert_uint_eq(f->leaf(0x5000, PT_WRITE, 0), 0x5000 | A | W | SPEC_T_PAGE);
    ck_assert_uint_eq(f->leaf(0x5000, RW, 0), 0x5000 | A | R | W | SPEC_T_PAGE);
    ck_assert_uint_eq(f->leaf(0x200000, RW, 1), 0x200000 | A | R | W | SPEC_T_BLOCK);
    ck_assert_uint_eq(f->leaf(0x200000, PT_READ, 1), 0x200000 | A | R | SPEC_T_BLOCK);
    ck_assert_uint_eq(f->leaf(0x40000000, PT_WRITE, 2), 0x40000000 | A | W | SPEC_T_BLOCK);
    ck_assert_uint_eq(f->leaf(SPEC_PA_LIMIT - PG, PT_READ, 0), (SPEC_PA_LIMIT - PG) | A | R | SPEC_T_PAGE);
    ck_assert_uint_eq(A, 0x73cull); /* AF 10, SH 9:8, MemAttr 5:2 */

    /* Every leaf the format makes: AF, some access, the right type,
     * decodes back, and is linear in its address. */
    for (unsigned l = 0; l < 3; l++) {
        for (unsigned p = 1; p <= RW; p++) {
            const uint64_t lpa = 3 * GiB + 4 * level_size(l);
            const uint64_t e = f->leaf(lpa, p, l);
            ck_assert(e & SPEC_AF);
            ck_assert(e & (R | W));
            ck_assert_uint_eq(spec_perms(e), p);
            ck_assert_uint_eq(e & SPEC_TYPE, l ? SPEC_T_BLOCK : SPEC_T_PAGE);
            ck_assert_uint_eq(e & ~SPEC_ADDR, A | (p & PT_READ ? R : 0) | (p & PT_WRITE ? W : 0) |
                                                  (l ? SPEC_T_BLOCK : SPEC_T_PAGE));
            ck_assert_int_eq(spec_kind(e, l), PT_ENTRY_LEAF);
            ck_assert_int_eq(f->decode(e, l, &pa, &perms), PT_ENTRY_LEAF);
            ck_assert_uint_eq(pa, lpa);
            ck_assert_uint_eq(perms, p);
            ck_assert_int_eq(f->decode(e, l, NULL, NULL), PT_ENTRY_LEAF);
            const uint64_t ks[] = { 1, 2, 511, 4096 };
            for (size_t k = 0; k < sizeof ks / sizeof ks[0]; k++)
                ck_assert_uint_eq(f->leaf(lpa + ks[k] * level_size(l), p, l), e + ks[k] * level_size(l));
        }
    }
    for (unsigned l = 1; l < 4; l++) {
        ck_assert_int_eq(f->decode(f->table(0x7000), l, &pa, &perms), PT_ENTRY_TABLE);
        ck_assert_uint_eq(pa, 0x7000);
        ck_assert_int_eq(f->decode(0x7000 | SPEC_T_TABLE, l, &pa, &perms), PT_ENTRY_TABLE);
    }

    /* Invalid: bit 0 clear (0b00, 0b10) at every level, whatever else. */
    const uint64_t invalid[] = {
        0, 0x2, 0x5000, 0x5000 | 0x2, 0x5000 | A | R | W, 0x5000 | A | R | W | 0x2,
        0x40000000 | A | R | W | 0x2, SPEC_ADDR | 0x2, ~SPEC_VALID,
    };
    for (unsigned l = 0; l < 4; l++)
        for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++)
            REQUIRE(f->decode(invalid[i], l, &pa, &perms) == PT_ENTRY_NONE,
                    "%#" PRIx64 " at level %u not invalid", invalid[i], l);
    /* 0b01 is reserved at level 0 (Arm level 3) ... */
    ck_assert_int_eq(f->decode(0x5000 | A | R | W | SPEC_T_BLOCK, 0, &pa, &perms), PT_ENTRY_NONE);
    ck_assert_int_eq(f->decode(0x5000 | SPEC_T_BLOCK, 0, &pa, &perms), PT_ENTRY_NONE);
    ck_assert_int_eq(f->decode(f->leaf(0x200000, RW, 1), 0, &pa, &perms), PT_ENTRY_NONE);
    /* ... and a block at level 3 (Arm level 0) needs 52-bit addresses. */
    ck_assert_int_eq(f->decode(0x8000000000 | A | R | W | SPEC_T_BLOCK, 3, &pa, &perms), PT_ENTRY_NONE);
    /* 0b01 is a block at levels 1 and 2 whatever its attributes. */
    ck_assert_int_eq(f->decode(0x200000 | SPEC_T_BLOCK | R, 1, &pa, &perms), PT_ENTRY_LEAF);
    ck_assert_uint_eq(pa, 0x200000);
    ck_assert_uint_eq(perms, PT_READ);
    ck_assert_int_eq(f->decode(0x40000000 | SPEC_T_BLOCK | W, 2, &pa, &perms), PT_ENTRY_LEAF);
    ck_assert_uint_eq(pa, 0x40000000);
    ck_assert_uint_eq(perms, PT_WRITE);
    /* 0b11 at level 0 is a page: a table descriptor there would be one. */
    ck_assert_int_eq(f->decode(0x7000 | SPEC_T_PAGE | W, 0, &pa, &perms), PT_ENTRY_LEAF);
    ck_assert_uint_eq(perms, PT_WRITE);
    /* A valid leaf granting nothing (S2AP 0b00) or without AF is still a
     * leaf as far as the walker goes (so it gets replaced or cleared); the
     * format never makes one. */
    ck_assert_int_eq(f->decode(0x5000 | A | SPEC_T_PAGE, 0, &pa, &perms), PT_ENTRY_LEAF);
    ck_assert_uint_eq(perms, 0);
    ck_assert_int_eq(f->decode(0x5000 | R | SPEC_T_PAGE, 0, &pa, &perms), PT_ENTRY_LEAF);
    ck_assert_uint_eq(perms, PT_READ);
    /* Bits outside 47:12 are no part of the address. */
    ck_assert_int_eq(f->decode(0xfff0000000001003ull, 1, &pa, &perms), PT_ENTRY_TABLE);
    ck_assert_uint_eq(pa, 0x1000);
    ck_assert_int_eq(f->decode(0xffff000000001000ull | SPEC_XN | A | R | SPEC_T_PAGE, 0, &pa, &perms),
                     PT_ENTRY_LEAF);
    ck_assert_uint_eq(pa, 0x1000);
    ck_assert_uint_eq(perms, PT_READ);
    ck_assert_uint_eq(f->leaf(SPEC_PA_LIMIT, RW, 0) & SPEC_ADDR, 0);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* Arguments */

START_TEST(test_init_args)
{
    Arena a;
    PtTable t;
    PtMem mem;

    arena_init(&a, 8);
    mem = arena_mem(&a);
    ck_assert_int_eq(pt_init(&t, &pt_format_arm_s2, 2, 0, &mem), -EINVAL);
    ck_assert_int_eq(pt_init(&t, &pt_format_arm_s2, 5, 0, &mem), -EINVAL);
    ck_assert_int_eq(pt_init(&t, &pt_format_arm_s2, 0, 0, &mem), -EINVAL);
    ck_assert_int_eq(pt_init(&t, NULL, 4, 0, &mem), -EINVAL);
    ck_assert_int_eq(pt_init(&t, &pt_format_arm_s2, 4, 0, NULL), -EINVAL);
    /* No 4 KiB leaves: nothing could be mapped. */
    ck_assert_int_eq(pt_init(&t, &pt_format_arm_s2, 4, 0x6, &mem), -EINVAL);
    ck_assert_uint_eq(a.allocs, 0);
    pt_fini(&t); /* harmless after a failed init */

    a.fail_in = 1;
    ck_assert_int_eq(pt_init(&t, &pt_format_arm_s2, 4, 0, &mem), -ENOMEM);
    ck_assert_uint_eq(a.in_use, 0);

    struct { unsigned levels, arg, want; } cases[] = {
        { 4, 0, 0x7 }, { 3, 0, 0x7 }, { 4, 0x3, 0x3 }, { 4, 0x1, 0x1 },
        { 4, 0xff, 0x7 }, { 4, 0x5, 0x1 }, /* a gap: sizes above it dropped */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_assert_int_eq(pt_init(&t, &pt_format_arm_s2, cases[i].levels, cases[i].arg, &mem), 0);
        ck_assert_uint_eq(t.leaf_levels, cases[i].want);
        ck_assert_uint_eq(t.levels, cases[i].levels);
        ck_assert_uint_eq(pt_iova_limit(&t), 1ull << (12 + 9 * cases[i].levels));
        ck_assert_uint_eq(a.in_use, 1);
        pt_fini(&t);
        ck_assert_uint_eq(a.in_use, 0);
    }
    arena_fini(&a);
}
END_TEST

START_TEST(test_invalid_args)
{
    Fix f;
    PtInval inv;
    uint64_t pa;
    unsigned perms, level;

    fix_init(&f, 4, 0, 0x7, 16);
    const uint64_t lim = pt_iova_limit(&f.t);
    ck_assert_uint_eq(lim, 1ull << 48);

    struct { uint64_t iova, pa, len; unsigned perms; } maps[] = {
        { 0x800, 0, PG, RW },              /* iova unaligned */
        { 0, 0x800, PG, RW },              /* pa unaligned */
        { 0, 0, 0, RW },                   /* empty */
        { 0, 0, PG + 1, RW },              /* len unaligned */
        { 0, 0, PG, 0 },                   /* no permission */
        { 0, 0, PG, 0x4 },                 /* unknown permission */
        { 0, 0, PG, RW | 0x8 },
        { lim, 0, PG, RW },                /* beyond the IOVA space */
        { lim - PG, 0, 2 * PG, RW },       /* crossing its end */
        { lim - PG, 0, UINT64_MAX & ~(PG - 1), RW }, /* iova + len wraps */
        { 0, 0, lim + PG, RW },
        { 0, SPEC_PA_LIMIT, PG, RW },      /* pa beyond the address field */
        { 0, SPEC_PA_LIMIT - PG, 2 * PG, RW },
        { 0, 1ull << 52, PG, RW },
        { 0, UINT64_MAX & ~(PG - 1), 2 * PG, RW }, /* pa + len wraps */
    };
    for (size_t i = 0; i < sizeof maps / sizeof maps[0]; i++) {
        pt_inval_init(&inv);
        arena_begin(&f.a);
        REQUIRE(pt_map(&f.t, maps[i].iova, maps[i].pa, maps[i].len, maps[i].perms, &inv) == -EINVAL,
                "map case %zu accepted", i);
        ck_assert(!arena_end(&f.a));
        ck_assert(inv.start == inv.end && !inv.tables_changed);
    }
    struct { uint64_t iova, len; } unmaps[] = {
        { 0x800, PG }, { 0, 0 }, { 0, 0x1800 }, { lim, PG }, { lim - PG, 2 * PG },
        { PG, UINT64_MAX & ~(PG - 1) }, { 0, lim + PG },
    };
    for (size_t i = 0; i < sizeof unmaps / sizeof unmaps[0]; i++) {
        arena_begin(&f.a);
        REQUIRE(pt_unmap(&f.t, unmaps[i].iova, unmaps[i].len, &inv) == -EINVAL,
                "unmap case %zu accepted", i);
        ck_assert(!arena_end(&f.a));
    }
    ck_assert_int_eq(pt_lookup(&f.t, lim, &pa, &perms, &level), -EINVAL);
    ck_assert_int_eq(pt_lookup(&f.t, 0, &pa, &perms, &level), -ENOENT);
    ck_assert_uint_eq(f.a.in_use, 1);
    ck_assert_uint_eq(f.a.allocs, 1);

    /* The limits themselves are fine. */
    fix_map(&f, lim - PG, SPEC_PA_LIMIT - PG, PG, PT_READ);
    expect_xlate(&f, lim - PG, SPEC_PA_LIMIT - PG, PT_READ, 0);
    fix_unmap(&f, lim - PG, PG);
    expect_xlate(&f, lim - PG, 0, 0, 0);
    fix_fini(&f);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* Leaf sizes */

START_TEST(test_block_2m)
{
    Fix f;
    fix_init(&f, 4, 0, 0x7, 16);

    PtInval inv = fix_map(&f, GiB + 2 * MiB, 6 * GiB + 4 * MiB, 2 * MiB, RW);
    ck_assert_uint_eq(inv.start, GiB + 2 * MiB);
    ck_assert_uint_eq(inv.end, GiB + 4 * MiB);
    ck_assert(!inv.tables_changed);
    ck_assert_uint_eq(f.reachable, 3); /* root, one level-2 table, one level-1 table */
    expect_range(&f, GiB + 2 * MiB, 6 * GiB + 4 * MiB, 2 * MiB, RW, 1);
    expect_xlate(&f, GiB + 2 * MiB - PG, 0, 0, 0);
    expect_xlate(&f, GiB + 4 * MiB, 0, 0, 0);

    uint64_t pa;
    unsigned perms, level;
    ck_assert_int_eq(pt_lookup(&f.t, GiB + 2 * MiB + 0x12345, &pa, &perms, &level), 0);
    ck_assert_uint_eq(pa, 6 * GiB + 4 * MiB + 0x12345);
    ck_assert_uint_eq(level, 1);

    /* pa only 4 KiB aligned: 4 KiB leaves in one new table. */
    fix_map(&f, 8 * MiB, 0x7654321000, 2 * MiB, PT_READ);
    ck_assert_uint_eq(f.reachable, 5); /* another level-1 table, and the 4 KiB one */
    expect_range(&f, 8 * MiB, 0x7654321000, 2 * MiB, PT_READ, 0);
    /* iova not 2 MiB aligned, pa aligned like it: 4 KiB leaves both sides. */
    fix_map(&f, 12 * MiB + PG, 0x200001000, 2 * MiB, PT_WRITE);
    ck_assert_uint_eq(f.reachable, 7);
    expect_range(&f, 12 * MiB + PG, 0x200001000, 2 * MiB, PT_WRITE, 0);
    fix_fini(&f);
}
END_TEST

START_TEST(test_block_1g)
{
    Fix f;

    fix_init(&f, 4, 0, 0x7, 600);
    fix_map(&f, 3 * GiB, 7 * GiB, GiB, PT_READ);
    ck_assert_uint_eq(f.reachable, 2);
    expect_range(&f, 3 * GiB, 7 * GiB, GiB, PT_READ, 2);
    /* Every size where alignment and length allow: 4K, 2M, 1G, 2M, 4K. */
    uint64_t iova = 5 * GiB - 2 * MiB - PG, pa = iova + 11 * GiB;
    fix_map(&f, iova, pa, PG + 2 * MiB + GiB + 2 * MiB + PG, RW);
    expect_xlate(&f, iova, pa, RW, 0);
    expect_xlate(&f, iova + PG, pa + PG, RW, 1);
    expect_xlate(&f, 5 * GiB, pa + 2 * MiB + PG, RW, 2);
    expect_xlate(&f, 6 * GiB, pa + GiB + 2 * MiB + PG, RW, 1);
    expect_xlate(&f, 6 * GiB + 2 * MiB, pa + GiB + 4 * MiB + PG, RW, 0);
    expect_xlate(&f, 6 * GiB + 2 * MiB + PG, 0, 0, 0);
    fix_fini(&f);

    /* Hardware without 1 GiB pages. */
    fix_init(&f, 4, 0x3, 0x3, 600);
    fix_map(&f, 3 * GiB, 7 * GiB, GiB, PT_READ);
    ck_assert_uint_eq(f.reachable, 3);
    expect_range(&f, 3 * GiB, 7 * GiB, GiB, PT_READ, 1);
    fix_fini(&f);

    /* 4 KiB pages only. */
    fix_init(&f, 4, 0x1, 0x1, 600);
    fix_map(&f, 3 * GiB, 7 * GiB, GiB, PT_READ);
    ck_assert_uint_eq(f.reachable, 3 + 512);
    expect_range(&f, 3 * GiB, 7 * GiB, GiB, PT_READ, 0);
    fix_unmap(&f, 3 * GiB, GiB);
    pt_release(&f.t);
    ck_assert_uint_eq(f.a.in_use, 1);
    fix_fini(&f);

    /* Three levels: the root holds 1 GiB leaves. */
    fix_init(&f, 3, 0, 0x7, 16);
    fix_map(&f, 511 * GiB, GiB, GiB, RW);
    ck_assert_uint_eq(f.reachable, 1);
    expect_range(&f, 511 * GiB, GiB, GiB, RW, 2);
    fix_fini(&f);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* Split and merge */

typedef struct {
    Fix *f;
    uint64_t start, len, pa; /* every page of it must stay mapped as before */
    unsigned perms;
    uint64_t skip; /* except this one */
    unsigned calls;
} Hitless;

static void hitless_hook(void *ctx, uint64_t pa)
{
    Hitless *h = ctx;
    h->calls++;
    for (uint64_t off = 0; off < h->len; off += PG)
        if (h->start + off != h->skip)
            REQUIRE(ref_walk(h->f, h->start + off, NULL) == ((h->pa + off) | h->perms),
                    "iova %#" PRIx64 " not mapped as before mid-call", h->start + off);
}

START_TEST(test_split_merge_2m)
{
    Fix f;
    const uint64_t iova = 2 * MiB, pa = 6 * MiB, hole = iova + 5 * PG;

    fix_init(&f, 4, 0, 0x7, 16);
    fix_map(&f, iova, pa, 2 * MiB, RW);
    size_t before = f.a.in_use;

    /* Unmapping one page splits the leaf; the other 511 never stop being
     * mapped, not even between the stores. */
    Hitless h = { &f, iova, 2 * MiB, pa, RW, hole, 0 };
    f.a.hook = hitless_hook;
    f.a.hook_ctx = &h;
    PtInval inv = fix_unmap(&f, hole, PG);
    f.a.hook = NULL;
    ck_assert_uint_ge(h.calls, 2); /* the new table, then its parent */
    ck_assert_uint_eq(inv.start, hole);
    ck_assert_uint_eq(inv.end, hole + PG);
    ck_assert(inv.tables_changed);
    ck_assert_uint_eq(f.a.in_use, before + 1);
    ck_assert_uint_eq(f.t.ndeferred, 0);
    for (uint64_t off = 0; off < 2 * MiB; off += PG)
        expect_xlate(&f, iova + off, pa + off, iova + off == hole ? 0 : RW, 0);

    /* Mapping it back as it was merges the table into one leaf again. */
    size_t frees = f.a.frees;
    inv = fix_map(&f, hole, pa + 5 * PG, PG, RW);
    ck_assert_uint_eq(inv.start, hole);
    ck_assert_uint_eq(inv.end, hole + PG);
    ck_assert(inv.tables_changed);
    expect_range(&f, iova, pa, 2 * MiB, RW, 1);
    ck_assert_uint_eq(f.t.ndeferred, 1);
    ck_assert_uint_eq(f.a.frees, frees); /* not before pt_release */
    ck_assert_uint_eq(f.a.in_use, before + 1);
    pt_release(&f.t);
    ck_assert_uint_eq(f.a.frees, frees + 1);
    ck_assert_uint_eq(f.a.in_use, before);
    ck_assert_uint_eq(f.t.ndeferred, 0);
    fix_scan(&f);

    /* Mapping it elsewhere keeps the split. */
    fix_map(&f, hole, 0x99999000, PG, RW);
    expect_xlate(&f, hole, 0x99999000, RW, 0);
    expect_xlate(&f, hole + PG, pa + 6 * PG, RW, 0);
    fix_map(&f, hole, pa + 5 * PG, PG, RW);
    expect_range(&f, iova, pa, 2 * MiB, RW, 1);
    fix_fini(&f);
}
END_TEST

START_TEST(test_perms_part_of_block)
{
    Fix f;
    const uint64_t iova = 40 * GiB, pa = 3 * GiB;

    fix_init(&f, 4, 0, 0x7, 16);
    fix_map(&f, iova, pa, GiB, RW);
    ck_assert_uint_eq(f.reachable, 2);

    /* One 2 MiB part read-only: the 1 GiB leaf splits into 2 MiB leaves. */
    Hitless h = { &f, iova + 4 * MiB, 2 * MiB, pa + 4 * MiB, RW, UINT64_MAX, 0 }; /* a neighbour */
    f.a.hook = hitless_hook;
    f.a.hook_ctx = &h;
    PtInval inv = fix_map(&f, iova + 2 * MiB, pa + 2 * MiB, 2 * MiB, PT_READ);
    f.a.hook = NULL;
    ck_assert_uint_eq(inv.start, iova + 2 * MiB);
    ck_assert_uint_eq(inv.end, iova + 4 * MiB);
    ck_assert(inv.tables_changed);
    ck_assert_uint_eq(f.reachable, 3);
    expect_range(&f, iova, pa, 2 * MiB, RW, 1);
    expect_range(&f, iova + 2 * MiB, pa + 2 * MiB, 2 * MiB, PT_READ, 1);
    expect_range(&f, iova + 4 * MiB, pa + 4 * MiB, GiB - 4 * MiB, RW, 1);

    /* Four pages of it write-only: that 2 MiB leaf splits too. */
    inv = fix_map(&f, iova + 2 * MiB + 8 * PG, pa + 2 * MiB + 8 * PG, 4 * PG, PT_WRITE);
    ck_assert_uint_eq(inv.start, iova + 2 * MiB + 8 * PG);
    ck_assert_uint_eq(inv.end, iova + 2 * MiB + 12 * PG);
    ck_assert_uint_eq(f.reachable, 4);
    for (uint64_t off = 0; off < 2 * MiB; off += PG)
        expect_xlate(&f, iova + 2 * MiB + off, pa + 2 * MiB + off,
                     off >= 8 * PG && off < 12 * PG ? PT_WRITE : PT_READ, 0);

    /* Only permissions change; the same pages again: nothing to do. */
    arena_begin(&f.a);
    pt_inval_init(&inv);
    ck_assert_int_eq(pt_map(&f.t, iova + 2 * MiB + 9 * PG, pa + 2 * MiB + 9 * PG, PG, PT_WRITE, &inv), 0);
    ck_assert(!arena_end(&f.a));
    ck_assert(inv.start == inv.end && !inv.tables_changed);

    /* Everything back to read-write: merges cascade to one 1 GiB leaf. */
    inv = fix_map(&f, iova + 2 * MiB, pa + 2 * MiB, 2 * MiB, RW);
    ck_assert(inv.tables_changed);
    ck_assert_uint_eq(inv.start, iova + 2 * MiB);
    ck_assert_uint_eq(inv.end, iova + 4 * MiB);
    expect_range(&f, iova, pa, GiB, RW, 2);
    ck_assert_uint_eq(f.reachable, 2);
    ck_assert_uint_eq(f.t.ndeferred, 2);

    /* The same from 4 KiB: two merges in one call. */
    fix_map(&f, iova + 5 * MiB, pa + 5 * MiB, PG, PT_READ);
    ck_assert_uint_eq(f.reachable, 4);
    inv = fix_map(&f, iova + 5 * MiB, pa + 5 * MiB, PG, RW);
    ck_assert(inv.tables_changed);
    ck_assert_uint_eq(f.reachable, 2);
    ck_assert_uint_eq(f.t.ndeferred, 4);
    expect_range(&f, iova, pa, GiB, RW, 2);
    pt_release(&f.t);
    ck_assert_uint_eq(f.a.in_use, 2);

    /* No merge where the level above may not hold a leaf. */
    fix_fini(&f);
    fix_init(&f, 4, 0x1, 0x1, 16);
    fix_map(&f, 2 * MiB, 2 * MiB, PG, RW);
    fix_map(&f, 2 * MiB + PG, 2 * MiB + PG, 2 * MiB - PG, RW);
    ck_assert_uint_eq(f.reachable, 4);
    expect_range(&f, 2 * MiB, 2 * MiB, 2 * MiB, RW, 0);
    fix_fini(&f);
}
END_TEST

START_TEST(test_replace_tables)
{
    Fix f;

    fix_init(&f, 4, 0, 0x7, 32);
    /* 4 KiB leaves under 2 MiB and 1 GiB entries ... */
    fix_map(&f, GiB + 2 * MiB + 3 * PG, 0x5000, 7 * PG, PT_READ);
    fix_map(&f, GiB + 20 * MiB, 0x100000000, 2 * MiB + PG, PT_READ);
    ck_assert_uint_eq(f.reachable, 5);

    /* ... replaced by one 2 MiB leaf: the 4 KiB table goes. */
    PtInval inv = fix_map(&f, GiB + 2 * MiB, 0x40000000, 2 * MiB, RW);
    ck_assert(inv.tables_changed);
    ck_assert_uint_eq(inv.start, GiB + 2 * MiB);
    ck_assert_uint_eq(inv.end, GiB + 4 * MiB);
    ck_assert_uint_eq(f.t.ndeferred, 1);
    expect_range(&f, GiB + 2 * MiB, 0x40000000, 2 * MiB, RW, 1);

    /* ... replaced by a 1 GiB leaf: the whole subtree goes. */
    inv = fix_map(&f, GiB, 0x80000000, GiB, PT_WRITE);
    ck_assert(inv.tables_changed);
    ck_assert_uint_eq(inv.start, GiB);
    ck_assert_uint_eq(inv.end, 2 * GiB);
    ck_assert_uint_eq(f.t.ndeferred, 1 + 2);
    ck_assert_uint_eq(f.reachable, 2);
    expect_range(&f, GiB, 0x80000000, GiB, PT_WRITE, 2);

    /* Unmapping a subtree at once. */
    fix_map(&f, 3 * GiB + 4 * MiB + PG, 0x1000, PG, RW);
    fix_map(&f, 3 * GiB + 8 * MiB, 0x1000000, 2 * MiB, RW);
    ck_assert_uint_eq(f.reachable, 4);
    inv = fix_unmap(&f, 3 * GiB, GiB);
    ck_assert(inv.tables_changed);
    ck_assert_uint_eq(inv.start, 3 * GiB);
    ck_assert_uint_eq(inv.end, 4 * GiB);
    ck_assert_uint_eq(f.reachable, 2);
    ck_assert_uint_eq(f.t.ndeferred, 3 + 2);
    expect_xlate(&f, 3 * GiB + 4 * MiB + PG, 0, 0, 0);
    pt_release(&f.t);
    fix_scan(&f);
    fix_fini(&f);
}
END_TEST

START_TEST(test_unmap_all)
{
    Fix f;

    fix_init(&f, 4, 0, 0x7, 64);
    fix_map(&f, 0, 0, 5 * MiB + 3 * PG, RW);
    fix_map(&f, 7 * GiB, 9 * GiB, GiB + 4 * MiB, PT_READ);
    fix_map(&f, 300 * GiB + PG, 0x77000, 3 * MiB, PT_WRITE);
    fix_map(&f, (1ull << 48) - 3 * MiB, 0x1000000000, 3 * MiB, RW);
    fix_unmap(&f, 7 * GiB + 2 * MiB + 5 * PG, 40 * PG);
    ck_assert_uint_gt(f.reachable, 8);

    /* Nothing mapped: no change at all. */
    PtInval inv;
    pt_inval_init(&inv);
    arena_begin(&f.a);
    ck_assert_int_eq(pt_unmap(&f.t, 200 * GiB, 40 * GiB, &inv), 0);
    ck_assert(!arena_end(&f.a));
    ck_assert(inv.start == inv.end && !inv.tables_changed);

    /* Partly: tables that become empty go, up the levels. */
    size_t reachable = f.reachable;
    inv = fix_unmap(&f, 300 * GiB, MiB);
    ck_assert(!inv.tables_changed); /* the 4 KiB table still holds pages */
    ck_assert_uint_eq(f.reachable, reachable);
    inv = fix_unmap(&f, 300 * GiB + MiB, 3 * MiB);
    ck_assert(inv.tables_changed);
    ck_assert_uint_eq(f.reachable, reachable - 3);
    expect_xlate(&f, 300 * GiB + 3 * MiB, 0, 0, 0);

    inv = fix_unmap(&f, 0, pt_iova_limit(&f.t));
    ck_assert(inv.tables_changed);
    ck_assert_uint_eq(f.reachable, 1);
    pt_release(&f.t);
    ck_assert_uint_eq(f.a.in_use, 1);
    uint64_t *pages;
    ck_assert_uint_eq(pt_pages(&f.t, &pages), 1);
    ck_assert_uint_eq(pages[0], f.t.root);
    free(pages);
    const uint64_t *root = arena_page(&f.a, f.t.root);
    for (unsigned i = 0; i < PT_ENTRIES; i++)
        ck_assert_uint_eq(root[i], 0);
    fix_fini(&f);
}
END_TEST

/* The descriptor for iova at `level`, through the table descriptors above. */
static uint64_t raw_entry(const Fix *f, uint64_t iova, unsigned level)
{
    uint64_t table = f->t.root;
    for (unsigned l = f->levels - 1;; l--) {
        uint64_t e = arena_page(&f->a, table)[(iova >> (12 + 9 * l)) & 511];
        if (l == level)
            return e;
        REQUIRE(spec_kind(e, l) == PT_ENTRY_TABLE, "iova %#" PRIx64 ": no table at level %u", iova, l);
        table = e & SPEC_ADDR;
    }
}

static uint64_t s2ap(unsigned perms)
{
    return (perms & PT_READ ? SPEC_S2AP_R : 0) | (perms & PT_WRITE ? SPEC_S2AP_W : 0);
}

START_TEST(test_descriptors)
{
    Fix f;
    const uint64_t iova = 0x0000123456789000ull, pa = 0x9abcd000;
    const uint64_t A = SPEC_LEAF_ATTR;

    fix_init(&f, 4, 0, 0x7, 16);
    /* Pages (0b11 at level 0) under tables (0b11 above, nothing else). */
    fix_map(&f, iova, pa, PG, PT_READ);
    fix_map(&f, iova + PG, pa + 7 * PG, PG, PT_WRITE);
    fix_map(&f, iova + 2 * PG, pa + 3 * PG, PG, RW);
    uint64_t table = f.t.root;
    for (int l = 3; l > 0; l--) {
        uint64_t e = arena_page(&f.a, table)[(iova >> (12 + 9 * l)) & 511];
        ck_assert_uint_eq(e & ~SPEC_ADDR, SPEC_T_TABLE);
        table = e & SPEC_ADDR;
    }
    ck_assert_uint_eq(raw_entry(&f, iova, 0), pa | A | SPEC_S2AP_R | SPEC_T_PAGE);
    ck_assert_uint_eq(raw_entry(&f, iova + PG, 0), (pa + 7 * PG) | A | SPEC_S2AP_W | SPEC_T_PAGE);
    ck_assert_uint_eq(raw_entry(&f, iova + 2 * PG, 0),
                      (pa + 3 * PG) | A | SPEC_S2AP_R | SPEC_S2AP_W | SPEC_T_PAGE);
    expect_xlate(&f, iova, pa, PT_READ, 0);
    expect_xlate(&f, iova + PG, pa + 7 * PG, PT_WRITE, 0);
    expect_xlate(&f, iova + 2 * PG, pa + 3 * PG, RW, 0);

    /* Blocks (0b01) at 2 MiB and 1 GiB, each permission. */
    for (unsigned p = 1; p <= RW; p++) {
        const uint64_t bi = p * 8 * MiB, bpa = 64 * GiB + p * 2 * MiB;
        fix_map(&f, bi, bpa, 2 * MiB, p);
        ck_assert_uint_eq(raw_entry(&f, bi, 1), bpa | A | s2ap(p) | SPEC_T_BLOCK);
        ck_assert_uint_eq(raw_entry(&f, bi, 2) & ~SPEC_ADDR, SPEC_T_TABLE);
        ck_assert_uint_eq(raw_entry(&f, bi, 3) & ~SPEC_ADDR, SPEC_T_TABLE);
        expect_range(&f, bi, bpa, 2 * MiB, p, 1);

        const uint64_t gi = (p + 4) * GiB, gpa = 100 * GiB + p * GiB;
        fix_map(&f, gi, gpa, GiB, p);
        ck_assert_uint_eq(raw_entry(&f, gi, 2), gpa | A | s2ap(p) | SPEC_T_BLOCK);
        ck_assert_uint_eq(raw_entry(&f, gi, 3) & ~SPEC_ADDR, SPEC_T_TABLE);
        expect_range(&f, gi, gpa, GiB, p, 2);
    }
    fix_fini(&f);

    /* Three levels: the root is Arm level 1 and holds 1 GiB blocks. */
    fix_init(&f, 3, 0, 0x7, 16);
    fix_map(&f, 7 * GiB, 9 * GiB, GiB, PT_WRITE);
    ck_assert_uint_eq(arena_page(&f.a, f.t.root)[7], 9 * GiB | A | SPEC_S2AP_W | SPEC_T_BLOCK);
    fix_map(&f, 2 * MiB, 2 * MiB, PG, PT_READ);
    ck_assert_uint_eq(arena_page(&f.a, f.t.root)[0] & ~SPEC_ADDR, SPEC_T_TABLE);
    ck_assert_uint_eq(raw_entry(&f, 2 * MiB, 0), 2 * MiB | A | SPEC_S2AP_R | SPEC_T_PAGE);
    expect_xlate(&f, 7 * GiB + 5 * PG, 9 * GiB + 5 * PG, PT_WRITE, 2);
    expect_xlate(&f, 2 * MiB, 2 * MiB, PT_READ, 0);
    fix_fini(&f);
}
END_TEST

/* A 1 GiB block split down to 4 KiB pages by unmapping one page keeps every
 * other page translating throughout, with the right descriptor types at
 * each level; mapping the page back merges it all into the block again. */
START_TEST(test_split_merge_types)
{
    Fix f;
    const uint64_t iova = 2 * GiB, pa = 5 * GiB, hole = iova + 3 * MiB + 9 * PG;
    const uint64_t A = SPEC_LEAF_ATTR, RWAP = SPEC_S2AP_R | SPEC_S2AP_W;

    fix_init(&f, 4, 0, 0x7, 16);
    fix_map(&f, iova, pa, GiB, RW);
    const uint64_t block = raw_entry(&f, iova, 2);
    ck_assert_uint_eq(block, pa | A | RWAP | SPEC_T_BLOCK);

    /* Watch the 2 MiB around the hole and a far block, page by page. */
    Hitless h = { &f, hole & ~(2 * MiB - 1), 2 * MiB, pa + ((hole & ~(2 * MiB - 1)) - iova), RW, hole, 0 };
    f.a.hook = hitless_hook;
    f.a.hook_ctx = &h;
    PtInval inv = fix_unmap(&f, hole, PG);
    f.a.hook = NULL;
    ck_assert_uint_ge(h.calls, 3); /* two new tables, then the parent */
    ck_assert(inv.tables_changed);
    ck_assert_uint_eq(inv.start, hole);
    ck_assert_uint_eq(inv.end, hole + PG);

    ck_assert_uint_eq(raw_entry(&f, iova, 2) & ~SPEC_ADDR, SPEC_T_TABLE);
    ck_assert_uint_eq(raw_entry(&f, hole, 1) & ~SPEC_ADDR, SPEC_T_TABLE);
    for (uint64_t off = 0; off < GiB; off += 2 * MiB)
        if (off != ((hole - iova) & ~(2 * MiB - 1)))
            REQUIRE(raw_entry(&f, iova + off, 1) == ((pa + off) | A | RWAP | SPEC_T_BLOCK),
                    "2 MiB part %#" PRIx64 " of the split is %#" PRIx64, off, raw_entry(&f, iova + off, 1));
    const uint64_t t0 = hole & ~(2 * MiB - 1);
    for (uint64_t off = 0; off < 2 * MiB; off += PG) {
        const uint64_t want = t0 + off == hole ? 0 : (pa + (t0 - iova) + off) | A | RWAP | SPEC_T_PAGE;
        REQUIRE(raw_entry(&f, t0 + off, 0) == want, "page %#" PRIx64 " is %#" PRIx64, t0 + off,
                raw_entry(&f, t0 + off, 0));
        expect_xlate(&f, t0 + off, pa + (t0 - iova) + off, t0 + off == hole ? 0 : RW, 0);
    }
    expect_xlate(&f, iova, pa, RW, 1);
    expect_xlate(&f, iova + GiB - PG, pa + GiB - PG, RW, 1);

    /* Back as it was: one block again, both tables deferred. */
    inv = fix_map(&f, hole, pa + (hole - iova), PG, RW);
    ck_assert(inv.tables_changed);
    ck_assert_uint_eq(raw_entry(&f, iova, 2), block);
    ck_assert_uint_eq(f.t.ndeferred, 2);
    expect_range(&f, iova, pa, GiB, RW, 2);

    /* Part of it read-only: a split to 2 MiB; then back: merged. */
    fix_map(&f, iova + 4 * MiB, pa + 4 * MiB, 2 * MiB, PT_READ);
    ck_assert_uint_eq(raw_entry(&f, iova + 4 * MiB, 1), (pa + 4 * MiB) | A | SPEC_S2AP_R | SPEC_T_BLOCK);
    ck_assert_uint_eq(raw_entry(&f, iova + 6 * MiB, 1), (pa + 6 * MiB) | A | RWAP | SPEC_T_BLOCK);
    expect_xlate(&f, iova + 4 * MiB + PG, pa + 4 * MiB + PG, PT_READ, 1);
    fix_map(&f, iova + 4 * MiB, pa + 4 * MiB, 2 * MiB, RW);
    ck_assert_uint_eq(raw_entry(&f, iova, 2), block);
    pt_release(&f.t);
    fix_scan(&f);
    fix_fini(&f);
}
END_TEST

/* The walker takes whatever decode refuses for nothing: reserved and
 * invalid descriptors found in a table translate nothing and are written
 * over by a map. */
START_TEST(test_decode_refuses)
{
    Fix f;
    const uint64_t iova = 6 * GiB, A = SPEC_LEAF_ATTR, RWAP = SPEC_S2AP_R | SPEC_S2AP_W;
    uint64_t pa;
    unsigned perms, level;

    fix_init(&f, 4, 0, 0x7, 16);
    fix_map(&f, iova, 0x10000, PG, RW);
    uint64_t *l0 = arena_page(&f.a, raw_entry(&f, iova, 1) & SPEC_ADDR);
    uint64_t *l1 = arena_page(&f.a, raw_entry(&f, iova, 2) & SPEC_ADDR);
    uint64_t *root = arena_page(&f.a, f.t.root);

    /* 0b01 at level 0: reserved. */
    l0[1] = 0x20000 | A | RWAP | SPEC_T_BLOCK;
    ck_assert_int_eq(pt_lookup(&f.t, iova + PG, &pa, &perms, &level), -ENOENT);
    /* 0b10 and 0b00 with everything else set, at levels 0 and 1. */
    l0[2] = 0x30000 | A | RWAP | 0x2;
    ck_assert_int_eq(pt_lookup(&f.t, iova + 2 * PG, &pa, &perms, &level), -ENOENT);
    l1[1] = 0x40000000 | A | RWAP | 0x2;
    ck_assert_int_eq(pt_lookup(&f.t, iova + 2 * MiB, &pa, &perms, &level), -ENOENT);
    l1[2] = 0x40000000 | A | RWAP;
    ck_assert_int_eq(pt_lookup(&f.t, iova + 4 * MiB, &pa, &perms, &level), -ENOENT);
    /* 0b01 at level 3: a 512 GiB block does not exist with 48 bits. */
    root[1] = (1ull << 39) | A | RWAP | SPEC_T_BLOCK;
    ck_assert_int_eq(pt_lookup(&f.t, (1ull << 39) + PG, &pa, &perms, &level), -ENOENT);
    ck_assert_int_eq(pt_lookup(&f.t, iova, &pa, &perms, &level), 0);
    ck_assert_uint_eq(pa, 0x10000);

    /* A map writes a page over the reserved descriptor, a table over the
     * invalid one, and the other invalid ones go on an unmap of them. */
    root[1] = 0;
    l1[1] = 0;
    l1[2] = 0;
    l0[2] = 0;
    ck_assert_int_eq(pt_map(&f.t, iova + PG, 0x50000, PG, PT_READ, NULL), 0);
    ck_assert_uint_eq(l0[1], 0x50000 | A | SPEC_S2AP_R | SPEC_T_PAGE);
    fix_scan(&f);
    expect_xlate(&f, iova + PG, 0x50000, PT_READ, 0);
    l1[3] = 0x40000000 | A | RWAP | 0x2;
    ck_assert_int_eq(pt_map(&f.t, iova + 6 * MiB + PG, 0x60000, PG, PT_WRITE, NULL), 0);
    ck_assert_uint_eq(raw_entry(&f, iova + 6 * MiB, 1) & ~SPEC_ADDR, SPEC_T_TABLE);
    expect_xlate(&f, iova + 6 * MiB + PG, 0x60000, PT_WRITE, 0);
    l1[4] = 0x40000000 | A | RWAP | 0x2;
    ck_assert_int_eq(pt_unmap(&f.t, iova + 8 * MiB, 2 * MiB, NULL), 0);
    ck_assert_uint_eq(l1[4], 0);
    fix_scan(&f);
    fix_fini(&f);
}
END_TEST

START_TEST(test_inval)
{
    Fix f;
    PtInval inv;

    pt_inval_init(&inv);
    ck_assert_uint_eq(inv.start, inv.end);
    ck_assert(!inv.tables_changed);

    fix_init(&f, 4, 0, 0x7, 16);
    /* Building where nothing was changes no non-leaf entry the hardware
     * could hold; NULL: nothing to invalidate. */
    ck_assert_int_eq(pt_map(&f.t, 8 * MiB, 8 * MiB, 8 * MiB, RW, NULL), 0);
    ck_assert_int_eq(pt_map(&f.t, 30 * MiB, 8 * MiB, 2 * MiB, RW, &inv), 0);
    ck_assert_uint_eq(inv.start, 30 * MiB);
    ck_assert_uint_eq(inv.end, 32 * MiB);
    ck_assert(!inv.tables_changed);
    /* Accumulates over calls. */
    ck_assert_int_eq(pt_unmap(&f.t, 9 * MiB, PG, &inv), 0);
    ck_assert_uint_eq(inv.start, 9 * MiB);
    ck_assert_uint_eq(inv.end, 32 * MiB);
    ck_assert(inv.tables_changed);
    ck_assert_int_eq(pt_map(&f.t, 40 * MiB, 0, PG, PT_READ, &inv), 0);
    ck_assert_uint_eq(inv.start, 9 * MiB);
    ck_assert_uint_eq(inv.end, 40 * MiB + PG);
    ck_assert(inv.tables_changed);
    fix_scan(&f);
    fix_fini(&f);
}
END_TEST

START_TEST(test_deferred_and_pages)
{
    Fix f;
    uint64_t *pages;

    fix_init(&f, 4, 0, 0x7, 64);
    fix_map(&f, 2 * MiB, 2 * MiB, 4 * MiB, RW);
    fix_map(&f, 2 * MiB + PG, 2 * MiB + PG, PG, PT_READ);
    fix_map(&f, 4 * MiB + PG, 4 * MiB + PG, PG, PT_READ);
    fix_map(&f, 700 * GiB, 0, PG, PT_READ);
    ck_assert_uint_eq(f.reachable, 8);
    size_t n = pt_pages(&f.t, &pages);
    ck_assert_uint_eq(n, 8);
    ck_assert_uint_eq(pages[0], f.t.root);
    free(pages);

    fix_map(&f, 2 * MiB + PG, 2 * MiB + PG, PG, RW);
    fix_unmap(&f, 700 * GiB, PG);
    ck_assert_uint_eq(f.t.ndeferred, 1 + 3);
    ck_assert_uint_eq(f.reachable, 4);
    n = pt_pages(&f.t, &pages);
    ck_assert_uint_eq(n, 4); /* deferred pages are not in use */
    free(pages);
    /* Deferred across calls until pt_release. */
    fix_map(&f, 4 * MiB + PG, 4 * MiB + PG, PG, RW);
    ck_assert_uint_eq(f.t.ndeferred, 5);
    ck_assert_uint_eq(f.a.in_use, 3 + 5);
    size_t frees = f.a.frees;
    pt_release(&f.t);
    ck_assert_uint_eq(f.a.frees, frees + 5);
    pt_release(&f.t);
    ck_assert_uint_eq(f.a.frees, frees + 5);
    fix_scan(&f);

    /* pt_fini frees deferred pages too. */
    fix_unmap(&f, 0, GiB);
    ck_assert_uint_gt(f.t.ndeferred, 0);
    fix_fini(&f);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* Out of memory */

/* Runs the call with the k-th allocation failing, k = 1, 2, ...: until it
 * succeeds, it must fail with nothing changed and nothing leaked. It must
 * succeed exactly when `need` pages were available. */
static void enomem_sweep(Fix *f, bool unmap, uint64_t iova, uint64_t pa, uint64_t len, unsigned perms,
                         size_t need)
{
    for (unsigned k = 1;; k++) {
        PtInval inv;
        size_t in_use = f->a.in_use, allocs = f->a.allocs, frees = f->a.frees;
        size_t ndeferred = f->t.ndeferred;

        pt_inval_init(&inv);
        f->a.fail_in = k;
        arena_begin(&f->a);
        int ret = unmap ? pt_unmap(&f->t, iova, len, &inv) : pt_map(&f->t, iova, pa, len, perms, &inv);
        f->a.fail_in = 0;
        if (ret == -ENOMEM) {
            REQUIRE(!arena_end(&f->a), "k=%u: table changed on -ENOMEM", k);
            ck_assert_uint_eq(f->a.in_use, in_use);
            ck_assert_uint_eq(f->a.allocs - allocs, k - 1);
            ck_assert_uint_eq(f->a.frees - frees, k - 1);
            ck_assert_uint_eq(f->t.ndeferred, ndeferred);
            ck_assert(inv.start == inv.end && !inv.tables_changed);
            ck_assert_uint_le(k, need);
            continue;
        }
        ck_assert_int_eq(ret, 0);
        ck_assert_uint_eq(k, need + 1);
        ck_assert_uint_eq(f->a.allocs - allocs, need);
        arena_end(&f->a);
        ck_assert_int_eq(inv.tables_changed, expect_tables_changed(f));
        fix_scan(f);
        return;
    }
}

START_TEST(test_enomem_atomic)
{
    Fix f;

    fix_init(&f, 4, 0, 0x7, 64);
    fix_map(&f, 0, 8 * GiB, GiB, RW);
    fix_map(&f, 3 * MiB, 8 * GiB + 3 * MiB, PG, PT_READ);
    fix_map(&f, GiB + 2 * MiB, 20 * GiB + 2 * MiB, 2 * MiB, RW);
    ck_assert_uint_eq(f.reachable, 5);

    /* Splits both 2 MiB leaves around an existing 4 KiB table. */
    enomem_sweep(&f, false, 2 * MiB - 2 * PG, 0x123456000, 2 * MiB + 4 * PG, PT_WRITE, 2);
    expect_xlate(&f, 2 * MiB - 3 * PG, 8 * GiB + 2 * MiB - 3 * PG, RW, 0);
    expect_xlate(&f, 2 * MiB - 2 * PG, 0x123456000, PT_WRITE, 0);
    expect_xlate(&f, 4 * MiB + PG, 0x123456000 + 2 * MiB + 3 * PG, PT_WRITE, 0);
    expect_xlate(&f, 4 * MiB + 2 * PG, 8 * GiB + 4 * MiB + 2 * PG, RW, 0);
    expect_xlate(&f, 6 * MiB, 8 * GiB + 6 * MiB, RW, 1);

    /* One split. */
    enomem_sweep(&f, true, GiB + 2 * MiB + PG, 0, PG, 0, 1);
    expect_xlate(&f, GiB + 2 * MiB + PG, 0, 0, 0);
    expect_xlate(&f, GiB + 2 * MiB, 20 * GiB + 2 * MiB, RW, 0);

    /* New tables at every level on both sides of a 1 GiB boundary. */
    enomem_sweep(&f, false, 600 * GiB - PG, 600 * GiB - PG, 2 * MiB + 2 * PG, RW, 5);
    expect_xlate(&f, 600 * GiB - PG, 600 * GiB - PG, RW, 0);
    expect_xlate(&f, 600 * GiB, 600 * GiB, RW, 1);
    expect_xlate(&f, 600 * GiB + 2 * MiB, 600 * GiB + 2 * MiB, RW, 0);

    /* Unmapping the inside of two 1 GiB leaves splits each twice. */
    fix_map(&f, 2 * GiB, 2 * GiB, 2 * GiB, RW);
    enomem_sweep(&f, true, 2 * GiB + PG, 0, 2 * GiB - 2 * PG, 0, 4);
    expect_xlate(&f, 2 * GiB, 2 * GiB, RW, 0);
    expect_xlate(&f, 2 * GiB + PG, 0, 0, 0);
    expect_xlate(&f, 4 * GiB - PG, 4 * GiB - PG, RW, 0);
    expect_xlate(&f, 4 * GiB - 2 * PG, 0, 0, 0);

    /* Needs nothing: never fails. */
    enomem_sweep(&f, true, 0, 0, GiB, 0, 0);
    enomem_sweep(&f, false, 2 * GiB, 2 * GiB, 2 * GiB, PT_READ, 0);
    pt_release(&f.t);
    fix_scan(&f);
    fix_fini(&f);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* Random sequences against a model */

/* The model: what each page of two windows of IOVA space maps (pa | perms,
 * 0 unmapped); nothing outside them is ever mapped. */
typedef struct {
    uint64_t base, npages;
    uint64_t *e;
} Window;

typedef struct {
    Window w[2];
    size_t mapped;
} Model;

static uint64_t *model_slot(const Model *m, uint64_t iova)
{
    for (int i = 0; i < 2; i++)
        if (iova >= m->w[i].base && (iova - m->w[i].base) / PG < m->w[i].npages)
            return &m->w[i].e[(iova - m->w[i].base) / PG];
    return NULL;
}

static uint64_t model_get(const Model *m, uint64_t iova)
{
    const uint64_t *s = model_slot(m, iova);
    return s ? *s : 0;
}

typedef struct {
    const char *name;
    unsigned levels, leaf_arg, leaf_levels;
    unsigned steps;
    unsigned gig_pct;   /* operations on whole gigabytes */
    unsigned fault_pct; /* operations run first with an allocation failing */
    guint32 seed;
} RandomCfg;

static const RandomCfg random_cfgs[] = {
    { "4 levels", 4, 0, 0x7, 3000, 4, 10, 0xa4e52001 },
    { "3 levels", 3, 0, 0x7, 1500, 4, 10, 0xa4e52002 },
    { "no 1 GiB pages", 4, 0x3, 0x3, 1500, 4, 10, 0xa4e52003 },
    { "4 KiB pages only", 4, 0x1, 0x1, 800, 0, 25, 0xa4e52004 },
    { "3 levels, no 1 GiB pages", 3, 0x3, 0x3, 1000, 4, 10, 0xa4e52005 },
};

typedef struct {
    Fix f;
    Model m;
    GRand *rng;
    unsigned step;
    /* the operation in progress */
    bool unmap;
    uint64_t iova, len, pa;
    unsigned perms;
    uint64_t sample[64];
    unsigned nsample, hook_calls;
} Random;

static uint64_t rnd(Random *r, uint64_t n) /* [0, n) */
{
    return (uint64_t)(g_rand_double(r->rng) * (double)n) % n;
}

static uint64_t op_value(const Random *r, uint64_t iova)
{
    if (iova < r->iova || iova - r->iova >= r->len)
        return model_get(&r->m, iova);
    return r->unmap ? 0 : (r->pa + (iova - r->iova)) | r->perms;
}

/* At every written() of the call: each sampled page translates as before
 * or as after, never to a fault that neither has. */
static void random_hook(void *ctx, uint64_t pa)
{
    Random *r = ctx;
    r->hook_calls++;
    if (r->f.reachable < 128)
        check_new_unlinked(&r->f, pa);
    for (unsigned k = 0; k < r->nsample; k++) {
        uint64_t v = ref_walk(&r->f, r->sample[k], NULL);
        REQUIRE(v == model_get(&r->m, r->sample[k]) || v == op_value(r, r->sample[k]),
                "step %u: iova %#" PRIx64 " maps %#" PRIx64 " mid-call", r->step, r->sample[k], v);
    }
}

static void random_gen(Random *r, const RandomCfg *cfg)
{
    const uint64_t lim = pt_iova_limit(&r->f.t);
    unsigned kind = (unsigned)rnd(r, 100);

    r->unmap = rnd(r, 100) < 35;
    if (kind < cfg->gig_pct) {
        r->iova = rnd(r, 2) * GiB;
        r->len = r->iova == 0 && rnd(r, 3) == 0 ? 2 * GiB : GiB;
    } else {
        uint64_t zone = 32 * MiB, base;
        unsigned z = (unsigned)rnd(r, 100);
        base = z < 45 ? 0 : z < 85 ? GiB - 16 * MiB : lim - zone;
        unsigned sc = (unsigned)rnd(r, 100);
        if (sc < 45)
            r->len = (1 + rnd(r, 16)) * PG;
        else if (sc < 70)
            r->len = (1 + rnd(r, 3)) * 2 * MiB;
        else
            r->len = (1 + rnd(r, 1536)) * PG;
        r->iova = base + rnd(r, (zone - r->len) / PG + 1) * PG;
        if (rnd(r, 100) < 40 && (r->iova & ~(2 * MiB - 1)) >= base)
            r->iova &= ~(2 * MiB - 1);
    }
    unsigned d = (unsigned)rnd(r, 100);
    if (d < 30)
        r->pa = r->iova;
    else if (d < 55)
        r->pa = r->iova + (1 + rnd(r, 4)) * 2 * MiB;
    else if (d < 70)
        r->pa = r->iova + (1 + rnd(r, 3)) * GiB;
    else if (d < 90)
        r->pa = r->iova + (1 + rnd(r, 7)) * PG;
    else
        r->pa = rnd(r, 1ull << 19) * 2 * MiB;
    /* Output addresses have 48 bits (VT-d's 52): near the top of a 4-level
     * IOVA space, keep the offsets but move them down. */
    if (r->pa + r->len > SPEC_PA_LIMIT)
        r->pa -= SPEC_PA_LIMIT / 2;
    unsigned p = (unsigned)rnd(r, 4);
    r->perms = p < 2 ? RW : p == 2 ? PT_READ : PT_WRITE;

    /* Pages to watch mid-call: the edges, and around them within the
     * leaves a split could touch. */
    const uint64_t end = r->iova + r->len;
    const uint64_t around[] = { r->iova - PG, r->iova, end - PG, end,
                                (r->iova & ~(2 * MiB - 1)), (r->iova | (2 * MiB - 1)) - PG + 1,
                                ((end - 1) & ~(2 * MiB - 1)), ((end - 1) | (2 * MiB - 1)) - PG + 1 };
    r->nsample = 0;
    for (size_t k = 0; k < sizeof around / sizeof around[0]; k++)
        if (around[k] < lim)
            r->sample[r->nsample++] = around[k];
    while (r->nsample < 64) {
        uint64_t lo = r->iova & ~(GiB - 1), span = ((end - 1) | (GiB - 1)) - lo + 1;
        uint64_t v = lo + rnd(r, span / PG) * PG;
        if (r->nsample % 2)
            v = (r->iova & ~(2 * MiB - 1)) - 2 * MiB + rnd(r, (r->len + 6 * MiB) / PG) * PG;
        if (v < lim)
            r->sample[r->nsample++] = v;
    }
}

static void random_check_page(Random *r, uint64_t iova)
{
    int level;
    uint64_t want = model_get(&r->m, iova), got = ref_walk(&r->f, iova, &level);
    uint64_t pa;
    unsigned perms, llevel;

    REQUIRE(got == want, "step %u: iova %#" PRIx64 " maps %#" PRIx64 ", model %#" PRIx64,
            r->step, iova, got, want);
    int ret = pt_lookup(&r->f.t, iova, &pa, &perms, &llevel);
    if (!want) {
        REQUIRE(ret == -ENOENT, "step %u: iova %#" PRIx64 ": pt_lookup %d on an unmapped page", r->step, iova,
                ret);
        return;
    }
    REQUIRE(ret == 0 && (pa | perms) == want && (int)llevel == level,
            "step %u: iova %#" PRIx64 ": pt_lookup %d, %#" PRIx64 " perms %u level %u", r->step, iova, ret,
            pa, perms, llevel);
}

/* Every leaf in the table is in the model, and the model has no more. */
static void random_full_check(Random *r, uint64_t table, int level, uint64_t base, size_t *pages)
{
    const uint64_t *pg = arena_page(&r->f.a, table);
    const uint64_t size = level_size((unsigned)level);
    for (unsigned j = 0; j < PT_ENTRIES; j++) {
        uint64_t e = pg[j], iova = base + j * size;
        if (spec_kind(e, (unsigned)level) == PT_ENTRY_NONE)
            continue;
        if (!spec_leaf(e, (unsigned)level)) {
            random_full_check(r, e & SPEC_ADDR, level - 1, iova, pages);
            continue;
        }
        for (uint64_t off = 0; off < size; off += PG) {
            REQUIRE(model_get(&r->m, iova + off) == (((e & SPEC_ADDR) + off) | spec_perms(e)),
                    "step %u: iova %#" PRIx64 " mapped unlike the model", r->step, iova + off);
        }
        *pages += size / PG;
    }
}

static void random_full(Random *r)
{
    size_t pages = 0;
    random_full_check(r, r->f.t.root, (int)r->f.levels - 1, 0, &pages);
    ck_assert_uint_eq(pages, r->m.mapped);
}

START_TEST(test_random)
{
    const RandomCfg *cfg = &random_cfgs[_i];
    Random *r = calloc(1, sizeof *r);
    ck_assert(r);

    fix_init(&r->f, cfg->levels, cfg->leaf_arg, cfg->leaf_levels, 2048);
    const uint64_t lim = pt_iova_limit(&r->f.t);
    r->m.w[0] = (Window){ 0, 2 * GiB / PG, calloc(2 * GiB / PG, sizeof(uint64_t)) };
    r->m.w[1] = (Window){ lim - 32 * MiB, 32 * MiB / PG, calloc(32 * MiB / PG, sizeof(uint64_t)) };
    ck_assert(r->m.w[0].e && r->m.w[1].e);
    r->rng = g_rand_new_with_seed(cfg->seed);
    r->f.a.hook_ctx = r;

    size_t enomem = 0, tables_changed = 0, unlinked = 0, hooks = 0;
    for (r->step = 0; r->step < cfg->steps; r->step++) {
        PtInval inv;
        int ret;

        bool done = false;
        const size_t deferred_before = r->f.t.ndeferred;
        random_gen(r, cfg);
        if (rnd(r, 100) < cfg->fault_pct) {
            size_t in_use = r->f.a.in_use;
            r->f.a.fail_in = 1 + (unsigned)rnd(r, 4);
            pt_inval_init(&inv);
            arena_begin(&r->f.a);
            ret = r->unmap ? pt_unmap(&r->f.t, r->iova, r->len, &inv)
                           : pt_map(&r->f.t, r->iova, r->pa, r->len, r->perms, &inv);
            if (ret == -ENOMEM) {
                enomem++;
                ck_assert(!arena_end(&r->f.a));
                ck_assert_uint_eq(r->f.a.in_use, in_use);
                ck_assert(inv.start == inv.end && !inv.tables_changed);
                fix_scan(&r->f);
            } else {
                /* It needed fewer pages than the failure allowed. */
                ck_assert_int_eq(ret, 0);
                arena_end(&r->f.a);
                done = true;
            }
            r->f.a.fail_in = 0;
        }
        if (!done) {
            pt_inval_init(&inv);
            arena_begin(&r->f.a);
            r->f.a.hook = random_hook;
            r->hook_calls = 0;
            ret = r->unmap ? pt_unmap(&r->f.t, r->iova, r->len, &inv)
                           : pt_map(&r->f.t, r->iova, r->pa, r->len, r->perms, &inv);
            r->f.a.hook = NULL;
            hooks += r->hook_calls;
            ck_assert_int_eq(ret, 0);
            arena_end(&r->f.a);
        }
        bool tc = expect_tables_changed(&r->f);
        REQUIRE(inv.tables_changed == tc, "step %u: tables_changed %d, want %d", r->step,
                inv.tables_changed, tc);
        if (tc)
            tables_changed++;

        /* The model, and which translations changed. */
        uint64_t first = UINT64_MAX, last = 0;
        for (uint64_t off = 0; off < r->len; off += PG) {
            uint64_t *s = model_slot(&r->m, r->iova + off);
            REQUIRE(s, "step %u: outside the model", r->step);
            uint64_t v = r->unmap ? 0 : (r->pa + off) | r->perms;
            if (*s == v)
                continue;
            r->m.mapped += (v != 0) - (*s != 0);
            *s = v;
            if (first == UINT64_MAX)
                first = r->iova + off;
            last = r->iova + off;
        }
        if (first == UINT64_MAX) {
            REQUIRE(inv.start == inv.end, "step %u: nothing changed, inval not empty", r->step);
        } else {
            REQUIRE(inv.start <= first && inv.end >= last + PG,
                    "step %u: inval [%#" PRIx64 ", %#" PRIx64 ") misses [%#" PRIx64 ", %#" PRIx64 "]",
                    r->step, inv.start, inv.end, first, last);
            REQUIRE(inv.start >= r->iova && inv.end <= r->iova + r->len,
                    "step %u: inval beyond the call's range", r->step);
        }

        fix_scan(&r->f);
        if (r->f.t.ndeferred > deferred_before)
            unlinked++;

        /* The range (all of it, or spread over it when large), its
         * neighbours, the sampled pages and a few anywhere in the windows. */
        const uint64_t step = r->len / PG > 4096 ? 509 * PG : PG;
        for (uint64_t off = 0; off < r->len; off += step)
            random_check_page(r, r->iova + off);
        for (uint64_t k = 1; k <= 4; k++) {
            if (r->iova >= k * PG)
                random_check_page(r, r->iova - k * PG);
            if (r->iova + r->len + k * PG <= lim)
                random_check_page(r, r->iova + r->len + (k - 1) * PG);
        }
        for (unsigned k = 0; k < r->nsample; k++)
            random_check_page(r, r->sample[k]);
        for (unsigned k = 0; k < 8; k++) {
            const Window *w = &r->m.w[k % 2];
            random_check_page(r, w->base + rnd(r, w->npages) * PG);
        }
        if (r->step % 250 == 249)
            random_full(r);
        if (rnd(r, 100) < 75) {
            pt_release(&r->f.t);
            ck_assert_uint_eq(r->f.a.in_use, r->f.reachable);
        }
    }
    random_full(r);
    /* The sequences exercised what they are for. */
    ck_assert_uint_gt(r->m.mapped, 0);
    ck_assert_uint_gt(tables_changed, 50);
    ck_assert_uint_gt(unlinked, 50);
    ck_assert_uint_gt(hooks, cfg->steps);
    if (cfg->fault_pct)
        ck_assert_uint_gt(enomem, 10);

    pt_release(&r->f.t);
    ck_assert_int_eq(pt_unmap(&r->f.t, 0, lim, NULL), 0);
    pt_release(&r->f.t);
    ck_assert_uint_eq(r->f.a.in_use, 1);
    fix_fini(&r->f);
    g_rand_free(r->rng);
    free(r->m.w[0].e);
    free(r->m.w[1].e);
    free(r);
}
END_TEST

static Suite *pgtable_arm_suite(void)
{
    Suite *s = suite_create("pgtable-arm-s2");
    TCase *tc = tcase_create("walker");

    tcase_add_test(tc, test_arm_format);
    tcase_add_test(tc, test_init_args);
    tcase_add_test(tc, test_invalid_args);
    tcase_add_test(tc, test_block_2m);
    tcase_add_test(tc, test_block_1g);
    tcase_add_test(tc, test_split_merge_2m);
    tcase_add_test(tc, test_perms_part_of_block);
    tcase_add_test(tc, test_replace_tables);
    tcase_add_test(tc, test_unmap_all);
    tcase_add_test(tc, test_descriptors);
    tcase_add_test(tc, test_split_merge_types);
    tcase_add_test(tc, test_decode_refuses);
    tcase_add_test(tc, test_inval);
    tcase_add_test(tc, test_deferred_and_pages);
    tcase_add_test(tc, test_enomem_atomic);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);

    TCase *tr = tcase_create("random");
    tcase_add_loop_test(tr, test_random, 0, (int)(sizeof random_cfgs / sizeof random_cfgs[0]));
    tcase_set_timeout(tr, 60);
    suite_add_tcase(s, tr);
    return s;
}

int main(void)
{
    return check_run(pgtable_arm_suite());
}
