/* The page-table walker's tests every format runs alike: see
 * pgtable-harness.h. */
#include "pgtable-harness.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

const PghFormat *pgh;

/* ---------------------------------------------------------------------- */
/* Table memory double */

void arena_init(Arena *a, size_t cap)
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

void arena_fini(Arena *a)
{
    free(a->page);
    free(a->shadow);
    free(a->at_written);
    free(a->used);
    free(a->was_used);
    free(a->written);
    free(a->fifo);
}

size_t arena_index(const Arena *a, uint64_t pa)
{
    REQUIRE(pa >= ARENA_BASE && !(pa % PG) && (pa - ARENA_BASE) / PG < a->cap,
            "%#" PRIx64 " is no table page", pa);
    return (pa - ARENA_BASE) / PG;
}

uint64_t *arena_page(const Arena *a, uint64_t pa)
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

PtMem arena_mem(Arena *a)
{
    return (PtMem){ .ctx = a, .alloc = arena_alloc, .free = arena_free, .va = arena_va,
                    .written = arena_written };
}

void arena_begin(Arena *a)
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

bool arena_end(const Arena *a)
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
/* Structure checks */

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
        pgh->check(e, level);
        const PtEntryKind kind = pgh->kind(e, level);
        if (kind == PT_ENTRY_NONE)
            continue;
        present++;
        if (kind == PT_ENTRY_LEAF) {
            leaves++;
            REQUIRE(f->leaf_levels & (1u << level), "leaf at level %u not allowed", level);
        } else {
            scan_table(f, pgh->addr(e), level - 1, false);
        }
    }
    if (root)
        return;
    REQUIRE(present > 0, "empty table %#" PRIx64 " (level %u) left linked", pa, level);
    if (leaves == PT_ENTRIES && (f->leaf_levels & (1u << (level + 1)))) {
        uint64_t pa0 = pgh->addr(pg[0]);
        bool uniform = !(pa0 % level_size(level + 1));
        for (unsigned j = 1; j < PT_ENTRIES && uniform; j++)
            uniform = pgh->addr(pg[j]) == pa0 + j * level_size(level) &&
                      pgh->perms(pg[j]) == pgh->perms(pg[0]);
        REQUIRE(!uniform, "table %#" PRIx64 " (level %u) should have merged", pa, level);
    }
}

void fix_scan(Fix *f)
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
            unsigned ko = pgh->kind(o, level), kn = pgh->kind(n, level);
            if (ko == PT_ENTRY_TABLE || (ko == PT_ENTRY_LEAF && kn == PT_ENTRY_TABLE))
                any = true;
        }
    }
    return any;
}

/* Likewise: whether an entry that was not empty (zero: what the walker
 * writes for not present) changed. A table the call created starts empty,
 * so only pages linked before count. */
static bool expect_replaced(const Fix *f)
{
    const Arena *a = &f->a;

    for (size_t i = 0; i < a->cap; i++) {
        if (!a->was_used[i] || !page_changed(a, i))
            continue;
        for (unsigned j = 0; j < PT_ENTRIES; j++)
            if (a->shadow[i][j] != a->page[i][j] && a->shadow[i][j] != 0)
                return true;
    }
    return false;
}

/* Whether a table entry reachable from `table` points to target. */
static bool links_to(const Fix *f, uint64_t table, unsigned level, uint64_t target)
{
    const uint64_t *pg = arena_page(&f->a, table);
    for (unsigned j = 0; level > 0 && j < PT_ENTRIES; j++) {
        if (pgh->kind(pg[j], level) != PT_ENTRY_TABLE)
            continue;
        if (pgh->addr(pg[j]) == target || links_to(f, pgh->addr(pg[j]), level - 1, target))
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

void fix_init(Fix *f, unsigned levels, unsigned leaf_arg, unsigned expect_leaf, size_t cap)
{
    REQUIRE(pgh, "no format under test: pgh_suite() not called");
    memset(f, 0, sizeof *f);
    arena_init(&f->a, cap);
    f->levels = levels;
    f->leaf_levels = expect_leaf;
    f->level_of = malloc(cap);
    f->seen = malloc(cap);
    ck_assert(f->level_of && f->seen);
    PtMem mem = arena_mem(&f->a);
    ck_assert_int_eq(pt_init(&f->t, pgh->fmt, levels, leaf_arg, &mem), 0);
    ck_assert_uint_eq(f->t.leaf_levels, expect_leaf);
    ck_assert_uint_eq(f->a.in_use, 1);
    fix_scan(f);
}

void fix_fini(Fix *f)
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
    ck_assert_int_eq(inv.replaced, expect_replaced(f));
    REQUIRE(inv.start == inv.end || (inv.start >= iova && inv.end <= iova + len),
            "inval [%#" PRIx64 ", %#" PRIx64 ") outside the call's range", inv.start, inv.end);
    fix_scan(f);
    return inv;
}

PtInval fix_map(Fix *f, uint64_t iova, uint64_t pa, uint64_t len, unsigned perms)
{
    return fix_op(f, false, iova, pa, len, perms);
}

PtInval fix_unmap(Fix *f, uint64_t iova, uint64_t len)
{
    return fix_op(f, true, iova, 0, len, 0);
}

void expect_xlate(const Fix *f, uint64_t iova, uint64_t pa, unsigned perms, int level)
{
    int ref_level;
    uint64_t got = pgh->walk(f, iova, &ref_level), want = perms ? pa | perms : 0;
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

void expect_range(const Fix *f, uint64_t iova, uint64_t pa, uint64_t len, unsigned perms, int level)
{
    uint64_t step = len / PG > 4096 ? 509 * PG : PG;
    for (uint64_t off = 0; off < len; off += step)
        expect_xlate(f, iova + off, pa + off, perms, level);
    expect_xlate(f, iova + len - PG, pa + len - PG, perms, level);
}

/* ---------------------------------------------------------------------- */
/* Arguments */

START_TEST(test_init_args)
{
    Arena a;
    PtTable t;
    PtMem mem;

    arena_init(&a, 8);
    mem = arena_mem(&a);
    ck_assert_int_eq(pt_init(&t, pgh->fmt, pgh->min_levels - 1, 0, &mem), -EINVAL);
    ck_assert_int_eq(pt_init(&t, pgh->fmt, pgh->max_levels + 1, 0, &mem), -EINVAL);
    ck_assert_int_eq(pt_init(&t, pgh->fmt, 0, 0, &mem), -EINVAL);
    ck_assert_int_eq(pt_init(&t, NULL, 4, 0, &mem), -EINVAL);
    ck_assert_int_eq(pt_init(&t, pgh->fmt, 4, 0, NULL), -EINVAL);
    /* No 4 KiB leaves: nothing could be mapped. */
    ck_assert_int_eq(pt_init(&t, pgh->fmt, 4, 0x6, &mem), -EINVAL);
    ck_assert_uint_eq(a.allocs, 0);
    pt_fini(&t); /* harmless after a failed init */

    a.fail_in = 1;
    ck_assert_int_eq(pt_init(&t, pgh->fmt, 4, 0, &mem), -ENOMEM);
    ck_assert_uint_eq(a.in_use, 0);

    struct { unsigned levels, arg, want; } cases[] = {
        { 4, 0, 0x7 }, { 3, 0, 0x7 }, { 4, 0x3, 0x3 }, { 4, 0x1, 0x1 },
        { 4, 0xff, 0x7 }, { 4, 0x5, 0x1 }, /* a gap: sizes above it dropped */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_assert_int_eq(pt_init(&t, pgh->fmt, cases[i].levels, cases[i].arg, &mem), 0);
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
        { 0, pgh->pa_limit, PG, RW },      /* pa beyond the address field */
        { 0, pgh->pa_limit - PG, 2 * PG, RW },
        { 0, 1ull << 52, PG, RW },         /* beyond every format's */
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
    fix_map(&f, lim - PG, pgh->pa_limit - PG, PG, PT_READ);
    expect_xlate(&f, lim - PG, pgh->pa_limit - PG, PT_READ, 0);
    fix_unmap(&f, lim - PG, PG);
    expect_xlate(&f, lim - PG, 0, 0, 0);
    fix_fini(&f);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* Leaf sizes */

/* pt_cost() on tables that do not exist yet, and on one that does. */
START_TEST(test_cost)
{
    PtTable d;
    const unsigned levels = pgh->max_levels;
    ck_assert_int_eq(pt_describe(&d, pgh->fmt, levels, 0), 0);
    ck_assert_uint_eq(d.root, 0);
    /* one page: the root and a table at every level below it */
    PtChange c = { 0, 0x40000000, PG, false };
    ck_assert_uint_eq(pt_cost(&d, &c, 1), levels);
    /* an aligned 2 MiB leaf needs no level-0 table; misaligned, it does */
    c = (PtChange){ 2 * MiB, 0x40000000, 2 * MiB, false };
    ck_assert_uint_eq(pt_cost(&d, &c, 1), levels - 1);
    c.pa += PG;
    ck_assert_uint_eq(pt_cost(&d, &c, 1), levels);
    /* two pages in one 2 MiB block share its tables; apart, they do not */
    PtChange two[2] = { { 0, 0x40000000, PG, false }, { 8 * PG, 0x40008000, PG, false } };
    ck_assert_uint_eq(pt_cost(&d, two, 2), levels);
    two[1].iova = two[1].pa = 4 * MiB;
    ck_assert_uint_eq(pt_cost(&d, two, 2), levels + 1);
    /* an unmap of a whole 2 MiB block may split larger leaves above it,
     * never below */
    c = (PtChange){ 0, 0, 2 * MiB, true };
    ck_assert_uint_eq(pt_cost(&d, &c, 1), levels - 1);
    /* against a real table: what exists still counts (a bound, not a
     * prediction), and the call never takes more */
    Fix f;
    fix_init(&f, levels, 0, pgh->fmt->leaf_levels & ((1u << levels) - 1), 64);
    c = (PtChange){ 0, 0x40000000, PG, false };
    size_t cost = pt_cost(&f.t, &c, 1), allocs = f.a.allocs;
    ck_assert_uint_eq(cost, levels - 1);
    fix_map(&f, 0, 0x40000000, PG, RW);
    ck_assert_uint_eq(f.a.allocs - allocs, cost);
    fix_fini(&f);
}
END_TEST

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

void hitless_hook(void *ctx, uint64_t pa)
{
    Hitless *h = ctx;
    h->calls++;
    for (uint64_t off = 0; off < h->len; off += PG)
        if (h->start + off != h->skip)
            REQUIRE(pgh->walk(h->f, h->start + off, NULL) == ((h->pa + off) | h->perms),
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
    ck_assert(!inv.replaced); /* only empty entries were filled */
    /* Accumulates over calls. */
    ck_assert_int_eq(pt_unmap(&f.t, 9 * MiB, PG, &inv), 0);
    ck_assert_uint_eq(inv.start, 9 * MiB);
    ck_assert_uint_eq(inv.end, 32 * MiB);
    ck_assert(inv.tables_changed);
    ck_assert(inv.replaced);
    ck_assert_int_eq(pt_map(&f.t, 40 * MiB, 0, PG, PT_READ, &inv), 0);
    ck_assert_uint_eq(inv.start, 9 * MiB);
    ck_assert_uint_eq(inv.end, 40 * MiB + PG);
    ck_assert(inv.tables_changed);
    ck_assert(inv.replaced);
    /* A change of permission replaces; mapping what is there changes nothing. */
    pt_inval_init(&inv);
    ck_assert_int_eq(pt_map(&f.t, 40 * MiB, 0, PG, PT_READ, &inv), 0);
    ck_assert(inv.start == inv.end && !inv.replaced);
    ck_assert_int_eq(pt_map(&f.t, 40 * MiB, 0, PG, RW, &inv), 0);
    ck_assert(inv.start == 40 * MiB && inv.end == 40 * MiB + PG && inv.replaced && !inv.tables_changed);
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
    ck_assert_int_eq(inv.replaced, expect_replaced(f));
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
        uint64_t v = pgh->walk(&r->f, r->sample[k], NULL);
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
    /* Output addresses may have fewer bits than IOVAs (Arm stage 2: 48,
     * like a 4-level IOVA space): near the top, keep the offsets but move
     * them down. */
    if (r->pa + r->len > pgh->pa_limit)
        r->pa -= pgh->pa_limit / 2;
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
    uint64_t want = model_get(&r->m, iova), got = pgh->walk(&r->f, iova, &level);
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
        const PtEntryKind kind = pgh->kind(e, (unsigned)level);
        if (kind == PT_ENTRY_NONE)
            continue;
        if (kind != PT_ENTRY_LEAF) {
            random_full_check(r, pgh->addr(e), level - 1, iova, pages);
            continue;
        }
        for (uint64_t off = 0; off < size; off += PG) {
            REQUIRE(model_get(&r->m, iova + off) == ((pgh->addr(e) + off) | pgh->perms(e)),
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
    const RandomCfg *cfg = &pgh->random[_i];
    Random *r = calloc(1, sizeof *r);
    ck_assert(r);

    fix_init(&r->f, cfg->levels, cfg->leaf_arg, cfg->leaf_levels, 2048);
    const uint64_t lim = pt_iova_limit(&r->f.t);
    r->m.w[0] = (Window){ 0, 2 * GiB / PG, calloc(2 * GiB / PG, sizeof(uint64_t)) };
    r->m.w[1] = (Window){ lim - 32 * MiB, 32 * MiB / PG, calloc(32 * MiB / PG, sizeof(uint64_t)) };
    ck_assert(r->m.w[0].e && r->m.w[1].e);
    r->rng = g_rand_new_with_seed(cfg->seed);
    r->f.a.hook_ctx = r;

    size_t enomem = 0, tables_changed = 0, unlinked = 0, hooks = 0, costs_exact = 0;
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
            /* pt_cost() bounds what the call takes, before it is made */
            const PtChange ch = { r->iova, r->unmap ? r->iova : r->pa, r->len, r->unmap };
            const size_t cost = pt_cost(&r->f.t, &ch, 1), allocs = r->f.a.allocs;
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
            REQUIRE(r->f.a.allocs - allocs <= cost, "step %u: took %zu table pages, pt_cost said %zu", r->step,
                    r->f.a.allocs - allocs, cost);
            if (r->f.a.allocs - allocs == cost && cost)
                costs_exact++;
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
    ck_assert_uint_gt(costs_exact, 0); /* the bound is reached, not loose everywhere */

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

/* ---------------------------------------------------------------------- */

Suite *pgh_suite(const char *name, const PghFormat *fmt, void (*add_own)(TCase *walker))
{
    Suite *s = suite_create(name);
    TCase *walker = tcase_create("walker");
    TCase *random = tcase_create("random");

    pgh = fmt;
    add_own(walker);
    tcase_add_test(walker, test_init_args);
    tcase_add_test(walker, test_invalid_args);
    tcase_add_test(walker, test_cost);
    tcase_add_test(walker, test_block_2m);
    tcase_add_test(walker, test_block_1g);
    tcase_add_test(walker, test_split_merge_2m);
    tcase_add_test(walker, test_perms_part_of_block);
    tcase_add_test(walker, test_replace_tables);
    tcase_add_test(walker, test_unmap_all);
    tcase_add_test(walker, test_inval);
    tcase_add_test(walker, test_deferred_and_pages);
    tcase_add_test(walker, test_enomem_atomic);
    tcase_set_timeout(walker, 30);
    suite_add_tcase(s, walker);

    tcase_add_loop_test(random, test_random, 0, (int)fmt->nrandom);
    tcase_set_timeout(random, 60);
    suite_add_tcase(s, random);
    return s;
}
