/* Unit tests of the page-table walker with the Arm SMMUv3 stage-2 format
 * (VMSAv8-64 stage 2, 4 KiB granule).
 *
 * The harness (pgtable-harness.h: table memory double, fixture, the tests
 * every format runs) is given this format as read here: a reference walk
 * written from the Arm architecture's descriptor bits (not pgtable.h's
 * decode, not arm-s2.h), doing what QEMU's SMMUv3 model does
 * (hw/arm/smmu-common.c, smmu_ptw_64_s2): bit 0 clear is invalid, 0b01 at
 * the last level is reserved, AF clear is an access fault, S2AP decides
 * reads and writes. Levels are pgtable.h's, from the leaf: Arm level =
 * 3 - level. */
#include <check.h>

#include "check-run.h"
#include "pgtable-harness.h"
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>

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

/* ---------------------------------------------------------------------- */
/* The architecture's reading of a descriptor, and the reference walk */

static unsigned spec_perms(uint64_t e)
{
    return (e & SPEC_S2AP_R ? PT_READ : 0) | (e & SPEC_S2AP_W ? PT_WRITE : 0);
}

/* What the hardware takes the descriptor for: invalid (bit 0 clear, or
 * reserved 0b01 at the last level, or a block at Arm level 0, which needs
 * 52-bit addresses), a table (0b11 above the last level), a page (0b11 at
 * the last level) or a block (0b01 at Arm levels 1 and 2). */
static PtEntryKind spec_kind(uint64_t e, unsigned level)
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

static uint64_t spec_addr(uint64_t e)
{
    return e & SPEC_ADDR;
}

/* An entry met scanning a table, at no iova in particular. */
static void spec_check_entry(uint64_t e, unsigned level)
{
    spec_check(e, level, UINT64_MAX);
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

/* ---------------------------------------------------------------------- */

static const RandomCfg random_cfgs[] = {
    { "4 levels", 4, 0, 0x7, 3000, 4, 10, 0xa4e52001 },
    { "3 levels", 3, 0, 0x7, 1500, 4, 10, 0xa4e52002 },
    { "no 1 GiB pages", 4, 0x3, 0x3, 1500, 4, 10, 0xa4e52003 },
    { "4 KiB pages only", 4, 0x1, 0x1, 800, 0, 25, 0xa4e52004 },
    { "3 levels, no 1 GiB pages", 3, 0x3, 0x3, 1000, 4, 10, 0xa4e52005 },
};

static const PghFormat arm_s2 = {
    .fmt = &pt_format_arm_s2,
    .min_levels = 3,
    .max_levels = 4,
    .pa_limit = SPEC_PA_LIMIT,
    .kind = spec_kind,
    .perms = spec_perms,
    .addr = spec_addr,
    .check = spec_check_entry,
    .walk = ref_walk,
    .random = random_cfgs,
    .nrandom = sizeof random_cfgs / sizeof random_cfgs[0],
};

static void add_arm_s2_tests(TCase *tc)
{
    tcase_add_test(tc, test_arm_format);
    tcase_add_test(tc, test_descriptors);
    tcase_add_test(tc, test_split_merge_types);
    tcase_add_test(tc, test_decode_refuses);
}

int main(void)
{
    return check_run(pgh_suite("pgtable-arm-s2", &arm_s2, add_arm_s2_tests));
}
