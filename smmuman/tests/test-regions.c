/* Unit tests: region-set semantics (union of live regions per page, exact
 * removal with splits, shared pages, translations), checked against a
 * page-by-page model written independently. */
#include <check.h>

#include "check-run.h"
#include <errno.h>
#include <stdlib.h>

#include "../core/regions.h"

#define PG REGION_PAGE_SIZE
#define R_ 0x1u
#define W_ 0x2u

static unsigned perms_at(GArray *segs, uint64_t page, uint64_t *pa)
{
    for (guint i = 0; i < segs->len; i++) {
        RegionSeg *s = &g_array_index(segs, RegionSeg, i);
        if (page >= s->iova && page < s->iova + s->len) {
            if (pa) *pa = s->pa + (page - s->iova);
            return s->perms;
        }
    }
    return 0;
}

START_TEST(shared_page_stays_until_both_removed)
{
    RegionSet s;
    region_set_init(&s);
    g_autoptr(GArray) segs = g_array_new(FALSE, FALSE, sizeof(RegionSeg));
    Region a = { 0x10000, 0x800, R_, 0x10000 }, b = { 0x10800, 0x1000, W_, 0x10800 };
    ck_assert_int_eq(region_set_add(&s, &a, 1, segs), 0);
    ck_assert_int_eq(region_set_add(&s, &b, 1, segs), 0);
    g_array_set_size(segs, 0);
    region_set_segments(&s, 0x10000, 0x12000, segs);
    ck_assert_uint_eq(perms_at(segs, 0x10000, NULL), R_ | W_); /* both touch page 0x10000 */
    ck_assert_uint_eq(perms_at(segs, 0x11000, NULL), W_);
    g_array_set_size(segs, 0);
    ck_assert_int_eq(region_set_remove(&s, &a, 1, segs), 0);
    ck_assert_uint_eq(perms_at(segs, 0x10000, NULL), W_); /* b still touches it */
    g_array_set_size(segs, 0);
    ck_assert_int_eq(region_set_remove(&s, &b, 1, segs), 0);
    ck_assert_uint_eq(perms_at(segs, 0x10000, NULL), 0);
    ck_assert_uint_eq(perms_at(segs, 0x11000, NULL), 0);
    ck_assert_uint_eq(region_set_count(&s), 0);
    region_set_clear(&s);
}
END_TEST

START_TEST(removal_splits_at_the_edges)
{
    RegionSet s;
    region_set_init(&s);
    g_autoptr(GArray) segs = g_array_new(FALSE, FALSE, sizeof(RegionSeg));
    Region a = { 0x100000, 16 * PG, R_ | W_, 0x100000 };
    ck_assert_int_eq(region_set_add(&s, &a, 1, segs), 0);
    Region hole = { 0x104000, 2 * PG, 0, 0 };
    g_array_set_size(segs, 0);
    ck_assert_int_eq(region_set_remove(&s, &hole, 1, segs), 0);
    ck_assert_uint_eq(region_set_count(&s), 2);
    ck_assert_uint_eq(perms_at(segs, 0x104000, NULL), 0);
    ck_assert_uint_eq(perms_at(segs, 0x105000, NULL), 0);
    g_array_set_size(segs, 0);
    region_set_segments(&s, 0x100000, 0x110000, segs);
    ck_assert_uint_eq(perms_at(segs, 0x103000, NULL), R_ | W_);
    ck_assert_uint_eq(perms_at(segs, 0x106000, NULL), R_ | W_);
    /* a removal inside a page keeps the page: the rest of the region touches it */
    Region bytes = { 0x100010, 0x10, 0, 0 };
    g_array_set_size(segs, 0);
    ck_assert_int_eq(region_set_remove(&s, &bytes, 1, segs), 0);
    ck_assert_uint_eq(perms_at(segs, 0x100000, NULL), R_ | W_);
    ck_assert_uint_eq(region_set_count(&s), 3);
    region_set_clear(&s);
}
END_TEST

START_TEST(page_rounding)
{
    RegionSet s;
    region_set_init(&s);
    g_autoptr(GArray) segs = g_array_new(FALSE, FALSE, sizeof(RegionSeg));
    /* 0x1ff0..0x2010 touches pages 0x1000 and 0x2000, not 0x3000 */
    Region a = { 0x1ff0, 0x20, R_, 0x1ff0 };
    ck_assert_int_eq(region_set_add(&s, &a, 1, segs), 0);
    ck_assert_uint_eq(segs->len, 1);
    RegionSeg *g = &g_array_index(segs, RegionSeg, 0);
    ck_assert_uint_eq(g->iova, 0x1000);
    ck_assert_uint_eq(g->len, 2 * PG);
    ck_assert_uint_eq(g->pa, 0x1000);
    region_set_clear(&s);
}
END_TEST

START_TEST(translations_and_conflicts)
{
    RegionSet s;
    region_set_init(&s);
    g_autoptr(GArray) segs = g_array_new(FALSE, FALSE, sizeof(RegionSeg));
    Region t = { 0x20000, 4 * PG, R_, 0x80020000 }; /* guest-physical -> host-physical */
    ck_assert_int_eq(region_set_add(&s, &t, 1, segs), 0);
    uint64_t pa;
    ck_assert_uint_eq(perms_at(segs, 0x22000, &pa), R_);
    ck_assert_uint_eq(pa, 0x80022000);
    /* the same page through another translation: refused, nothing changed */
    Region clash = { 0x23800, PG, W_, 0x90023800 };
    guint before = segs->len;
    ck_assert_int_eq(region_set_add(&s, &clash, 1, segs), -EEXIST);
    ck_assert_uint_eq(segs->len, before);
    ck_assert_uint_eq(region_set_count(&s), 1);
    /* same translation: fine, permissions union */
    Region same = { 0x23800, PG, W_, 0x80023800 };
    g_array_set_size(segs, 0);
    ck_assert_int_eq(region_set_add(&s, &same, 1, segs), 0);
    ck_assert_uint_eq(perms_at(segs, 0x23000, &pa), R_ | W_);
    ck_assert_uint_eq(pa, 0x80023000);
    /* removal of a middle part keeps the translation of what remains */
    Region mid = { 0x21000, PG, 0, 0 };
    g_array_set_size(segs, 0);
    ck_assert_int_eq(region_set_remove(&s, &mid, 1, segs), 0);
    g_array_set_size(segs, 0);
    region_set_segments(&s, 0x20000, 0x25000, segs);
    ck_assert_uint_eq(perms_at(segs, 0x22000, &pa), R_);
    ck_assert_uint_eq(pa, 0x80022000);
    ck_assert_uint_eq(perms_at(segs, 0x21000, NULL), 0);
    region_set_clear(&s);
}
END_TEST

START_TEST(invalid_regions)
{
    RegionSet s;
    region_set_init(&s);
    g_autoptr(GArray) segs = g_array_new(FALSE, FALSE, sizeof(RegionSeg));
    Region bad[] = {
        { 0x1000, 0, R_, 0x1000 },                 /* empty */
        { UINT64_MAX - 10, 100, R_, 0 },            /* wraps */
        { 0x1000, 0x1000, 0, 0x1000 },             /* no permission */
        { 0x1000, 0x1000, 0x8, 0x1000 },           /* unknown permission */
        { 0x1000, 0x1000, R_, 0x2800 },            /* target at another page offset */
        { UINT64_MAX - 0xfff, 0x10, R_, UINT64_MAX - 0xfff }, /* the top page */
    };
    for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++)
        ck_assert_msg(region_set_add(&s, &bad[i], 1, segs) == -EINVAL, "case %u", i);
    /* a batch with one bad region adds nothing */
    Region batch[] = { { 0x5000, PG, R_, 0x5000 }, bad[0] };
    ck_assert_int_eq(region_set_add(&s, batch, 2, segs), -EINVAL);
    ck_assert_uint_eq(region_set_count(&s), 0);
    region_set_clear(&s);
}
END_TEST

/* Random operations against a page-by-page model. */
#define SPACE_PAGES 64
START_TEST(random_against_model)
{
    GRand *rng = g_rand_new_with_seed(42 + _i);
    RegionSet s;
    region_set_init(&s);
    GArray *model = g_array_new(FALSE, TRUE, sizeof(Region)); /* live regions, as the model sees them */
    g_autoptr(GArray) segs = g_array_new(FALSE, FALSE, sizeof(RegionSeg));
    const uint64_t base = 0x400000;
    for (unsigned op = 0; op < 400; op++) {
        uint64_t start = base + g_rand_int_range(rng, 0, SPACE_PAGES * PG - 64);
        uint64_t len = 1 + g_rand_int_range(rng, 0, 6 * PG);
        if (start + len > base + SPACE_PAGES * PG) len = base + SPACE_PAGES * PG - start;
        g_array_set_size(segs, 0);
        if (g_rand_boolean(rng)) {
            Region r = { start, len, 1 + g_rand_int_range(rng, 0, 3), start };
            ck_assert_int_eq(region_set_add(&s, &r, 1, segs), 0);
            g_array_append_val(model, r);
        } else {
            Region r = { start, len, 0, 0 };
            ck_assert_int_eq(region_set_remove(&s, &r, 1, segs), 0);
            /* model: byte-exact cut, region by region */
            GArray *next = g_array_new(FALSE, TRUE, sizeof(Region));
            for (guint i = 0; i < model->len; i++) {
                Region m = g_array_index(model, Region, i);
                uint64_t e = m.start + m.len;
                if (e <= start || m.start >= start + len) {
                    g_array_append_val(next, m);
                    continue;
                }
                if (m.start < start) {
                    Region l = { m.start, start - m.start, m.perms, m.start };
                    g_array_append_val(next, l);
                }
                if (e > start + len) {
                    Region rr = { start + len, e - start - len, m.perms, start + len };
                    g_array_append_val(next, rr);
                }
            }
            g_array_unref(model);
            model = next;
        }
        /* every reported segment matches the model; untouched pages are not reported wrongly */
        g_autoptr(GArray) all = g_array_new(FALSE, FALSE, sizeof(RegionSeg));
        region_set_segments(&s, base, base + SPACE_PAGES * PG, all);
        for (uint64_t p = base; p < base + SPACE_PAGES * PG; p += PG) {
            unsigned want = 0;
            for (guint i = 0; i < model->len; i++) {
                Region m = g_array_index(model, Region, i);
                if (m.start < p + PG && m.start + m.len > p) want |= m.perms;
            }
            uint64_t pa = 0;
            ck_assert_msg(perms_at(all, p, &pa) == want, "op %u page 0x%llx: %u != %u", op,
                          (unsigned long long)p, perms_at(all, p, NULL), want);
            if (want) ck_assert_uint_eq(pa, p);
            /* the change's own segments agree wherever they speak */
            for (guint k = 0; k < segs->len; k++) {
                RegionSeg *g = &g_array_index(segs, RegionSeg, k);
                if (p >= g->iova && p < g->iova + g->len) ck_assert_uint_eq(g->perms, want);
            }
        }
    }
    g_array_unref(model);
    region_set_clear(&s);
    g_rand_free(rng);
}
END_TEST

static Suite *regions_suite(void)
{
    Suite *s = suite_create("regions");
    TCase *tc = tcase_create("regions");
    tcase_add_test(tc, shared_page_stays_until_both_removed);
    tcase_add_test(tc, removal_splits_at_the_edges);
    tcase_add_test(tc, page_rounding);
    tcase_add_test(tc, translations_and_conflicts);
    tcase_add_test(tc, invalid_regions);
    tcase_add_loop_test(tc, random_against_model, 0, 8);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return check_run(regions_suite());
}
