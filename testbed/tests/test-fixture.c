/* Unit tests: the board fixture's RAM pointers (no QEMU). The integration
 * tests reach the board's RAM through board_ram(); a range it lets through
 * is written with memset/memcmp, so a length that wraps its check must be
 * refused, not turned into a pointer past the mapping. */
#include <check.h>

#include "../../smmuman/tests/check-run.h"

#include <string.h>

#include "board-fixture.h"

#define RAM_BASE UINT64_C(0x40000000)
#define RAM_SIZE 65536u

/* A fixture as board_fixture_start() leaves it, minus the board: a plain
 * buffer stands in for the mapped RAM file. */
static BoardFixture fake(void)
{
    BoardFixture f;
    memset(&f, 0, sizeof f);
    f.inv.ram_base = RAM_BASE;
    f.inv.ram_size = RAM_SIZE;
    f.ram_size = RAM_SIZE;
    f.ram = g_malloc0(RAM_SIZE);
    return f;
}

START_TEST(inside_ram_gives_the_byte)
{
    BoardFixture f = fake();
    ck_assert_ptr_eq(board_ram_try(&f, RAM_BASE, RAM_SIZE), f.ram);
    ck_assert_ptr_eq(board_ram_try(&f, RAM_BASE + RAM_SIZE - 1, 1), f.ram + RAM_SIZE - 1);
    ck_assert_ptr_eq(board_ram(&f, RAM_BASE + 0x100, 16), f.ram + 0x100);
    g_free(f.ram);
}
END_TEST

START_TEST(outside_ram_is_refused)
{
    BoardFixture f = fake();
    /* The old check, addr - base + len <= size, took this one: 0x1000 +
     * (2^64 - 0x800) wraps to 0x800. */
    ck_assert_ptr_null(board_ram_try(&f, RAM_BASE + 0x1000, UINT64_MAX - 0x7ff));
    ck_assert_ptr_null(board_ram_try(&f, RAM_BASE + 16, UINT64_MAX));
    ck_assert_ptr_null(board_ram_try(&f, UINT64_MAX - 0xff, 0x200)); /* wraps 2^64 */
    ck_assert_ptr_null(board_ram_try(&f, RAM_BASE + RAM_SIZE - 16, 17)); /* one byte past the end */
    ck_assert_ptr_null(board_ram_try(&f, RAM_BASE - 1, 2));             /* one byte before */
    ck_assert_ptr_null(board_ram_try(&f, 0, 16));
    BoardFixture none = { 0 }; /* no RAM mapped (start failed): nothing is RAM */
    ck_assert_ptr_null(board_ram_try(&none, 0, 1));
    g_free(f.ram);
}
END_TEST

static Suite *fixture_suite(void)
{
    Suite *s = suite_create("fixture");
    TCase *tc = tcase_create("board_ram");
    tcase_add_test(tc, inside_ram_gives_the_byte);
    tcase_add_test(tc, outside_ram_is_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return check_run(fixture_suite()); }
