/* Unit test: stream table entries change hitlessly. Every 64-bit store
 * ste_install() makes is recorded, and after each one the entry, as the
 * SMMU would read it, must be the old configuration, the new one, or abort
 * (V=0) — never a mixture. Syncs (CFGI_STE) must follow the stores that
 * need them before any later store could be observed. */
#include <check.h>

#include "check-run.h"

#include <glib.h>
#include <string.h>

#include "../hw/smmuv3-ste.h"

typedef struct {
    uint64_t old[SMMU_STE_QWORDS], next[SMMU_STE_QWORDS];
    uint64_t *ste;
    unsigned stores, syncs, mixtures;
    bool synced_since_invalid; /* V went 1 -> 0 and a sync followed */
    bool pending_invalidate;   /* V cleared, not yet synced */
} Rec;

static void rec_store(void *ctx, uint64_t *slot, uint64_t v)
{
    Rec *r = ctx;
    bool was_valid = HW_EX64(r->ste[0], SMMU_STE0, V);
    *slot = v;
    r->stores++;
    bool is_valid = HW_EX64(r->ste[0], SMMU_STE0, V);
    if (was_valid && !is_valid) r->pending_invalidate = true;
    /* what the hardware reads now */
    bool abort_state = !is_valid;
    if (!abort_state && !ste_same_config(r->ste, r->old) && !ste_same_config(r->ste, r->next)) r->mixtures++;
    /* a valid entry may only be written while the SMMU cannot still hold
     * the old one, i.e. after the invalidation was synced */
    if (is_valid && !was_valid && r->pending_invalidate) r->mixtures++;
}

static int rec_sync(void *ctx)
{
    Rec *r = ctx;
    r->syncs++;
    r->pending_invalidate = false;
    return 0;
}

static void s2(uint64_t *e, uint16_t vmid, uint64_t ttb)
{
    memset(e, 0, SMMU_STE_QWORDS * sizeof *e);
    e[0] = HW_MASK64(SMMU_STE0, V) | HW_VAL64(SMMU_STE0, CONFIG, SMMU_STE_CONFIG_S2);
    e[SMMU_STE_QW_S2] = HW_VAL64(SMMU_STE2, S2VMID, vmid) | HW_VAL64(SMMU_STE2, S2T0SZ, 25) |
                        HW_VAL64(SMMU_STE2, S2SL0, 1) | HW_MASK64(SMMU_STE2, S2AA64) | HW_MASK64(SMMU_STE2, S2R);
    e[SMMU_STE_QW_S2TTB] = ttb;
}

static unsigned run(const uint64_t *old, const uint64_t *next, Rec *r)
{
    uint64_t ste[SMMU_STE_QWORDS];
    memcpy(ste, old, sizeof ste);
    memcpy(r->old, old, sizeof r->old);
    memcpy(r->next, next, sizeof r->next);
    r->ste = ste;
    SteOps ops = { r, rec_store, rec_sync };
    ck_assert_int_eq(ste_install(ste, next, &ops), 0);
    ck_assert_int_eq(memcmp(ste, next, sizeof ste), 0); /* it ends as asked */
    return r->mixtures;
}

START_TEST(blocked_to_domain_is_one_critical_store)
{
    uint64_t old[SMMU_STE_QWORDS] = { 0 }, next[SMMU_STE_QWORDS];
    s2(next, 5, 0x40001000);
    Rec r = { 0 };
    ck_assert_uint_eq(run(old, next, &r), 0);
    ck_assert_uint_eq(r.syncs, 1); /* after V is set */
}
END_TEST

START_TEST(domain_to_blocked_clears_v_first)
{
    uint64_t old[SMMU_STE_QWORDS], next[SMMU_STE_QWORDS] = { 0 };
    s2(old, 5, 0x40001000);
    Rec r = { 0 };
    ck_assert_uint_eq(run(old, next, &r), 0);
    ck_assert_uint_ge(r.syncs, 1);
}
END_TEST

START_TEST(domain_to_domain_passes_through_abort_only)
{
    uint64_t old[SMMU_STE_QWORDS], next[SMMU_STE_QWORDS];
    s2(old, 5, 0x40001000);
    s2(next, 6, 0x40002000); /* VMID (qword 2) and table (qword 3) both change */
    Rec r = { 0 };
    ck_assert_uint_eq(run(old, next, &r), 0);
    ck_assert_uint_eq(r.syncs, 2); /* the invalidation, then the new entry */
    /* a different table under the same VMID: one qword, still no mixture */
    s2(next, 5, 0x40003000);
    Rec r2 = { 0 };
    ck_assert_uint_eq(run(old, next, &r2), 0);
}
END_TEST

START_TEST(no_change_no_sync)
{
    uint64_t e[SMMU_STE_QWORDS];
    s2(e, 7, 0x40004000);
    Rec r = { 0 };
    ck_assert_uint_eq(run(e, e, &r), 0);
    ck_assert_uint_eq(r.stores, 0);
    ck_assert_uint_eq(r.syncs, 0);
}
END_TEST

/* The recorder itself must catch a naive update (qword by qword in order). */
START_TEST(the_check_catches_a_naive_update)
{
    uint64_t old[SMMU_STE_QWORDS], next[SMMU_STE_QWORDS], ste[SMMU_STE_QWORDS];
    s2(old, 5, 0x40001000);
    s2(next, 6, 0x40002000);
    Rec r = { 0 };
    memcpy(ste, old, sizeof ste);
    memcpy(r.old, old, sizeof old);
    memcpy(r.next, next, sizeof next);
    r.ste = ste;
    for (unsigned i = 0; i < SMMU_STE_QWORDS; i++)
        if (ste[i] != next[i]) rec_store(&r, &ste[i], next[i]);
    ck_assert_uint_gt(r.mixtures, 0);
}
END_TEST

START_TEST(random_transitions)
{
    GRand *rng = g_rand_new_with_seed(7);
    uint64_t cur[SMMU_STE_QWORDS] = { 0 };
    for (unsigned i = 0; i < 2000; i++) {
        uint64_t next[SMMU_STE_QWORDS] = { 0 };
        if (g_rand_int_range(rng, 0, 4)) s2(next, (uint16_t)g_rand_int_range(rng, 1, 4), 0x40000000ull + 0x1000ull * g_rand_int_range(rng, 0, 4));
        Rec r = { 0 };
        ck_assert_msg(run(cur, next, &r) == 0, "transition %u produced a mixture", i);
        memcpy(cur, next, sizeof cur);
    }
    g_rand_free(rng);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ste");
    TCase *tc = tcase_create("hitless");
    tcase_add_test(tc, blocked_to_domain_is_one_critical_store);
    tcase_add_test(tc, domain_to_blocked_clears_v_first);
    tcase_add_test(tc, domain_to_domain_passes_through_abort_only);
    tcase_add_test(tc, no_change_no_sync);
    tcase_add_test(tc, the_check_catches_a_naive_update);
    tcase_add_test(tc, random_transitions);
    suite_add_tcase(s, tc);
    return check_run(s);
}
