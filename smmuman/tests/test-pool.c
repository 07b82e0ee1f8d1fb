/* Unit tests: the table pool and its integrity digests. */
#include <check.h>

#include "check-run.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../core/pool.h"

#define NPAGES 8
static uint8_t mem[NPAGES * 4096] __attribute__((aligned(4096)));

START_TEST(allocates_zeroed_pages_until_full)
{
    memset(mem, 0xee, sizeof mem);
    Pool *p = pool_new(0x1000000, sizeof mem, mem);
    ck_assert_ptr_nonnull(p);
    uint64_t pa[NPAGES], extra;
    for (unsigned i = 0; i < NPAGES; i++) {
        ck_assert_int_eq(pool_alloc(p, &pa[i], true), 0);
        ck_assert(pa[i] >= 0x1000000 && pa[i] < 0x1000000 + sizeof mem && pa[i] % 4096 == 0);
        uint8_t *va = pool_va(p, pa[i]);
        for (unsigned k = 0; k < 4096; k++) ck_assert_uint_eq(va[k], 0);
        for (unsigned j = 0; j < i; j++) ck_assert_uint_ne(pa[i], pa[j]);
    }
    ck_assert_int_eq(pool_alloc(p, &extra, true), -ENOMEM);
    pool_release(p, pa[3]);
    ck_assert_int_eq(pool_alloc(p, &extra, false), 0);
    ck_assert_uint_eq(extra, pa[3]);
    ck_assert_uint_eq(pool_pages_used(p), NPAGES);
    ck_assert_ptr_null(pool_va(p, 0x1000000 + sizeof mem));
    pool_destroy(p);
}
END_TEST

START_TEST(contiguous_runs_skip_taken_pages)
{
    Pool *p = pool_new(0x3000000, sizeof mem, mem);
    uint64_t a, b, run, none;
    ck_assert_int_eq(pool_alloc(p, &a, true), 0);      /* page 0 */
    ck_assert_int_eq(pool_alloc(p, &b, true), 0);      /* page 1 */
    pool_release(p, a);                                /* page 0 free, page 1 taken */
    ck_assert_int_eq(pool_alloc_contig(p, 4, &run, false), 0);
    ck_assert_uint_eq(run, 0x3000000 + 2 * 4096);     /* not across the taken page */
    ck_assert_int_eq(pool_alloc_contig(p, 3, &none, false), -ENOMEM); /* pages 0, 6, 7 left: no run of 3 */
    ck_assert_int_eq(pool_alloc_contig(p, 2, &none, true), 0);
    ck_assert_uint_eq(none, 0x3000000 + 6 * 4096);
    ck_assert_uint_eq(pool_pages_used(p), 7);
    pool_destroy(p);
}
END_TEST

START_TEST(scrub_catches_changes_behind_its_back)
{
    Pool *p = pool_new(0x2000000, sizeof mem, mem);
    uint64_t a, b, hw, bad = 0;
    ck_assert_int_eq(pool_alloc(p, &a, true), 0);
    ck_assert_int_eq(pool_alloc(p, &b, true), 0);
    ck_assert_int_eq(pool_alloc(p, &hw, false), 0);
    uint64_t *va = pool_va(p, b);
    va[7] = 0x1234;           /* the service writes... */
    pool_written(p, b);       /* ...and says so */
    ((uint64_t *)pool_va(p, hw))[0] = 1; /* hardware-written pages are not digested */
    ck_assert_int_eq(pool_scrub(p, &bad), 0);
    va[7] ^= 1ull << 40;      /* one flipped bit, nobody told */
    ck_assert_int_eq(pool_scrub(p, &bad), -EBADMSG);
    ck_assert_uint_eq(bad, b);
    pool_destroy(p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pool");
    TCase *tc = tcase_create("pool");
    tcase_add_test(tc, allocates_zeroed_pages_until_full);
    tcase_add_test(tc, scrub_catches_changes_behind_its_back);
    tcase_add_test(tc, contiguous_runs_skip_taken_pages);
    suite_add_tcase(s, tc);
    return check_run(s);
}
