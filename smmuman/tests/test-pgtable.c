/* Unit tests of the page-table walker with the VT-d second-level format.
 *
 * The harness (pgtable-harness.h: table memory double, fixture, the tests
 * every format runs) is given this format as read here: a reference walk
 * written from the VT-d spec's bits (not pgtable.h's decode, not vtd-sl.h),
 * doing what QEMU's model does: permissions ANDed along the walk, reserved
 * bits fault. */
#include <check.h>

#include "check-run.h"
#include "pgtable-harness.h"
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>

#include "../hw/pgtable/pgtable.h"
#include "../hw/pgtable/vtd-sl.h"

/* The spec's second-level entry layout, written again rather than taken
 * from vtd-sl.h so that a wrong bit there fails here. */
#define SPEC_R    0x1ull                /* bit 0 */
#define SPEC_W    0x2ull                /* bit 1 */
#define SPEC_PS   0x80ull               /* bit 7, levels 1 and 2 only */
#define SPEC_ADDR 0x000ffffffffff000ull /* bits 51:12 */

/* ---------------------------------------------------------------------- */
/* The spec's reading of an entry, and the reference walk */

static unsigned spec_perms(uint64_t e)
{
    return (e & SPEC_R ? PT_READ : 0) | (e & SPEC_W ? PT_WRITE : 0);
}

static bool spec_leaf(uint64_t e, unsigned level)
{
    return level == 0 || ((level == 1 || level == 2) && (e & SPEC_PS));
}

static PtEntryKind spec_kind(uint64_t e, unsigned level)
{
    if (!(e & (SPEC_R | SPEC_W)))
        return PT_ENTRY_NONE;
    return spec_leaf(e, level) ? PT_ENTRY_LEAF : PT_ENTRY_TABLE;
}

static uint64_t spec_addr(uint64_t e)
{
    return e & SPEC_ADDR;
}

/* What an entry in a table must be: clear when not present, no reserved
 * bits, PS only where defined, leaves aligned, table entries granting R|W
 * (the walk ANDs them: they leave their leaves to decide). */
static void spec_check(uint64_t e, unsigned level)
{
    if (!(e & (SPEC_R | SPEC_W))) {
        REQUIRE(e == 0, "non-present entry %#" PRIx64 " not clear", e);
        return;
    }
    REQUIRE(!(e & ~(SPEC_R | SPEC_W | SPEC_PS | SPEC_ADDR)), "reserved bits in %#" PRIx64, e);
    REQUIRE(!(e & SPEC_PS) || level == 1 || level == 2, "PS at level %u", level);
    if (spec_leaf(e, level))
        REQUIRE(!((e & SPEC_ADDR) % level_size(level)), "misaligned leaf %#" PRIx64, e);
    else
        REQUIRE((e & (SPEC_R | SPEC_W)) == (SPEC_R | SPEC_W),
                "table entry %#" PRIx64 " at level %u lacks R|W", e, level);
}

/* What the hardware makes of iova (page aligned): pa | perms, or 0 when the
 * walk faults. *leaf_level: where the leaf stood. */
static uint64_t ref_walk(const Fix *f, uint64_t iova, int *leaf_level)
{
    uint64_t table = f->t.root, allowed = SPEC_R | SPEC_W;

    for (int l = (int)f->levels - 1; l >= 0; l--) {
        uint64_t e = arena_page(&f->a, table)[(iova >> (12 + 9 * l)) & 511];
        if (leaf_level)
            *leaf_level = -1;
        if (!(e & (SPEC_R | SPEC_W))) {
            REQUIRE(e == 0, "iova %#" PRIx64 ": non-present entry %#" PRIx64 " not clear", iova, e);
            return 0;
        }
        REQUIRE(!(e & ~(SPEC_R | SPEC_W | SPEC_PS | SPEC_ADDR)),
                "iova %#" PRIx64 ": reserved bits in %#" PRIx64 " (level %d)", iova, e, l);
        REQUIRE(!(e & SPEC_PS) || l == 1 || l == 2, "PS at level %d", l);
        allowed &= e;
        uint64_t addr = e & SPEC_ADDR;
        if (spec_leaf(e, (unsigned)l)) {
            uint64_t size = level_size((unsigned)l);
            REQUIRE(!(addr & (size - 1)), "large page %#" PRIx64 " misaligned", e);
            if (leaf_level)
                *leaf_level = l;
            if (!(allowed & (SPEC_R | SPEC_W)))
                return 0;
            return (addr + (iova & (size - 1))) | spec_perms(allowed);
        }
        table = addr;
    }
    ck_abort_msg("walked below level 0");
    return 0;
}

/* ---------------------------------------------------------------------- */
/* The format */

START_TEST(test_vtd_format)
{
    const PtFormat *f = &pt_format_vtd_sl;
    uint64_t pa = 0;
    unsigned perms = 0;

    ck_assert_uint_eq(VTD_SL_R, SPEC_R);
    ck_assert_uint_eq(VTD_SL_W, SPEC_W);
    ck_assert_uint_eq(VTD_SL_PS, SPEC_PS);
    ck_assert_uint_eq(VTD_SL_ADDR_MASK, SPEC_ADDR);
    ck_assert_uint_eq(f->min_levels, 3);
    ck_assert_uint_eq(f->max_levels, 4);
    ck_assert_uint_eq(f->leaf_levels, 0x7);

    ck_assert_uint_eq(f->table(0x123456000), 0x123456000 | SPEC_R | SPEC_W);
    ck_assert_uint_eq(f->leaf(0x5000, PT_READ, 0), 0x5000 | SPEC_R);
    ck_assert_uint_eq(f->leaf(0x5000, PT_WRITE, 0), 0x5000 | SPEC_W);
    ck_assert_uint_eq(f->leaf(0x200000, RW, 1), 0x200000 | SPEC_R | SPEC_W | SPEC_PS);
    ck_assert_uint_eq(f->leaf(0x40000000, PT_WRITE, 2), 0x40000000 | SPEC_W | SPEC_PS);
    ck_assert_uint_eq(f->leaf((1ull << 52) - PG, PT_READ, 0), ((1ull << 52) - PG) | SPEC_R);

    for (unsigned l = 0; l < 4; l++)
        ck_assert_int_eq(f->decode(0, l, &pa, &perms), PT_ENTRY_NONE);
    /* Bits other than R and W do not make an entry present. */
    ck_assert_int_eq(f->decode(0x5000 | SPEC_PS, 1, &pa, &perms), PT_ENTRY_NONE);
    ck_assert_int_eq(f->decode(0x5000 | SPEC_W, 0, &pa, &perms), PT_ENTRY_LEAF);
    ck_assert_uint_eq(pa, 0x5000);
    ck_assert_uint_eq(perms, PT_WRITE);
    ck_assert_int_eq(f->decode(0x7000 | SPEC_R | SPEC_W, 1, &pa, &perms), PT_ENTRY_TABLE);
    ck_assert_uint_eq(pa, 0x7000);
    ck_assert_int_eq(f->decode(0x200000 | SPEC_R | SPEC_PS, 1, &pa, &perms), PT_ENTRY_LEAF);
    ck_assert_uint_eq(perms, PT_READ);
    ck_assert_int_eq(f->decode(0x40000000 | SPEC_R | SPEC_PS, 2, &pa, &perms), PT_ENTRY_LEAF);
    ck_assert_int_eq(f->decode(0x7000 | SPEC_R | SPEC_W, 3, &pa, &perms), PT_ENTRY_TABLE);
    ck_assert_int_eq(f->decode(0xfff0000000001003ull, 1, &pa, &perms), PT_ENTRY_TABLE);
    ck_assert_uint_eq(pa, 0x1000);
}
END_TEST

START_TEST(test_table_entries_rw)
{
    Fix f;
    const uint64_t iova = 0x0000123456789000ull, pa = 0x9abcd000;

    fix_init(&f, 4, 0, 0x7, 16);
    fix_map(&f, iova, pa, PG, PT_READ);
    fix_map(&f, iova + 4 * GiB, pa, PG, PT_WRITE);
    uint64_t table = f.t.root;
    for (int l = 3; l > 0; l--) {
        uint64_t e = arena_page(&f.a, table)[(iova >> (12 + 9 * l)) & 511];
        ck_assert_uint_eq(e & (SPEC_R | SPEC_W | SPEC_PS), SPEC_R | SPEC_W);
        ck_assert_uint_eq(e & ~SPEC_ADDR, SPEC_R | SPEC_W);
        table = e & SPEC_ADDR;
    }
    ck_assert_uint_eq(arena_page(&f.a, table)[(iova >> 12) & 511], pa | SPEC_R);
    expect_xlate(&f, iova, pa, PT_READ, 0);
    expect_xlate(&f, iova + 4 * GiB, pa, PT_WRITE, 0);
    fix_fini(&f);
}
END_TEST

/* ---------------------------------------------------------------------- */

static const RandomCfg random_cfgs[] = {
    { "4 levels", 4, 0, 0x7, 3000, 4, 10, 0x5eed0001 },
    { "3 levels", 3, 0, 0x7, 1500, 4, 10, 0x5eed0002 },
    { "no 1 GiB pages", 4, 0x3, 0x3, 1500, 4, 10, 0x5eed0003 },
    { "4 KiB pages only", 4, 0x1, 0x1, 800, 0, 25, 0x5eed0004 },
};

static const PghFormat vtd = {
    .fmt = &pt_format_vtd_sl,
    .min_levels = 3,
    .max_levels = 4,
    .pa_limit = 1ull << 52, /* address bits 51:12 */
    .kind = spec_kind,
    .perms = spec_perms,
    .addr = spec_addr,
    .check = spec_check,
    .walk = ref_walk,
    .random = random_cfgs,
    .nrandom = sizeof random_cfgs / sizeof random_cfgs[0],
};

static void add_vtd_tests(TCase *tc)
{
    tcase_add_test(tc, test_vtd_format);
    tcase_add_test(tc, test_table_entries_rw);
}

int main(void)
{
    return check_run(pgh_suite("pgtable", &vtd, add_vtd_tests));
}
