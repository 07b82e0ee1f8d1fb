/* Unit tests of the random campaign's generator, renderer and shrinker
 * (testbed/campaign.h), on the two IOMMU boards' fixtures, without QEMU:
 * a seed gives one text, every generated scenario parses, and shrinking
 * keeps a failure while it drops what does not matter. */
#include <check.h>

#include "../../smmuman/tests/check-run.h"

#include <string.h>

#include "campaign.h"
#include "scenario.h"

static const char *const boards[] = { "q35-vtd", "virt-smmuv3" };
static const CgOptions opt = { .steps = 40 };

static char *text_of(const CgBoard *b, uint64_t seed, unsigned index)
{
    CgCase c;
    cg_generate(b, &opt, seed, index, &c);
    char *t = cg_render(&c, b, &opt, NULL, NULL, NULL);
    cg_case_clear(&c);
    return t;
}

START_TEST(same_seed_same_scenario)
{
    CgBoard b;
    GError *e = NULL;
    ck_assert_msg(cg_board_load(boards[_i], &b, &e) == 0, "%s", e ? e->message : "");
    g_autofree char *one = text_of(&b, 7, 3), *again = text_of(&b, 7, 3), *other = text_of(&b, 7, 4),
                    *seed = text_of(&b, 8, 3);
    ck_assert_str_eq(one, again);
    ck_assert_str_ne(one, other);
    ck_assert_str_ne(one, seed);
    ck_assert_ptr_nonnull(strstr(one, "scenario random/7-3\n"));
    g_autofree char *board_line = g_strdup_printf("\nboard %s\n", boards[_i]);
    ck_assert_ptr_nonnull(strstr(one, board_line));
    ck_assert_ptr_nonnull(strstr(one, "\nclient vm target\n"));
}
END_TEST

/* Every scenario of a campaign is valid language, with both outcomes of
 * DMA and refusals among them. */
START_TEST(every_scenario_parses)
{
    CgBoard b;
    ck_assert_int_eq(cg_board_load(boards[_i], &b, NULL), 0);
    unsigned ok = 0, blocked = 0, refused = 0;
    for (unsigned i = 0; i < 300; i++) {
        g_autofree char *t = text_of(&b, 1, i);
        g_autofree char *name = g_strdup_printf("gen-%u.scn", i);
        GError *e = NULL;
        Scenario *s = scenario_parse_text(t, name, &e);
        ck_assert_msg(s, "%s\n%s", e ? e->message : "", t);
        scenario_free(s);
        for (const char *p = t; (p = strstr(p, "=> ")); p += 3) {
            ok += strncmp(p, "=> ok\n", 6) == 0;
            blocked += strncmp(p, "=> blocked\n", 11) == 0;
            refused += strncmp(p, "=> err E", 8) == 0;
        }
        /* no DMA far beyond the input width (nothing records it on SMMUv3) */
        g_auto(GStrv) lines = g_strsplit(t, "\n", -1);
        for (unsigned k = 0; lines[k]; k++)
            if (g_str_has_prefix(lines[k], "dma ") || g_str_has_prefix(lines[k], "storm "))
                ck_assert_msg(!strstr(lines[k], " 0xffff"), "%s: far DMA kept", lines[k]);
    }
    ck_assert_uint_gt(ok, 300);
    ck_assert_uint_gt(blocked, 300);
    ck_assert_uint_gt(refused, 300);
}
END_TEST

/* A fake play: "fails" while the text still has an EPERM refusal. */
typedef struct {
    const CgBoard *b;
    unsigned plays;
} Fake;

static bool has_eperm(void *ctx, const CgCase *c, unsigned *fail_step)
{
    Fake *f = ctx;
    f->plays++;
    g_autoptr(GArray) ls = g_array_new(FALSE, FALSE, sizeof(unsigned));
    g_autofree char *t = cg_render(c, f->b, &opt, NULL, ls, NULL);
    g_auto(GStrv) lines = g_strsplit(t, "\n", -1);
    for (unsigned i = 0; lines[i]; i++)
        if (strstr(lines[i], "=> err EPERM")) {
            *fail_step = g_array_index(ls, unsigned, i);
            return true;
        }
    return false;
}

START_TEST(shrinking_keeps_the_failure)
{
    CgBoard b;
    ck_assert_int_eq(cg_board_load("q35-vtd", &b, NULL), 0);
    unsigned found = 0;
    for (unsigned i = 0; i < 60 && found < 5; i++) {
        CgCase c;
        cg_generate(&b, &opt, 5, i, &c);
        Fake f = { &b, 0 };
        unsigned fs = 0;
        if (!has_eperm(&f, &c, &fs)) {
            cg_case_clear(&c);
            continue;
        }
        found++;
        f.plays = 0;
        unsigned plays = cg_shrink(&c, fs, 100, has_eperm, &f);
        ck_assert_uint_eq(plays, f.plays);
        ck_assert_uint_le(plays, 100);
        ck_assert(has_eperm(&f, &c, &fs)); /* still fails */
        unsigned played;
        g_autofree char *t = cg_render(&c, &b, &opt, NULL, NULL, &played);
        ck_assert_msg(played <= 3, "%u steps left:\n%s", played, t); /* an object, perhaps a device, the map */
    }
    ck_assert_uint_gt(found, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("campaign");
    TCase *tc = tcase_create("campaign");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, same_seed_same_scenario, 0, 2);
    tcase_add_loop_test(tc, every_scenario_parses, 0, 2);
    tcase_add_test(tc, shrinking_keeps_the_failure);
    suite_add_tcase(s, tc);
    return check_run(s);
}
