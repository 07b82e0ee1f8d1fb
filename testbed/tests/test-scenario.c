/* Unit tests: the scenario language's parser, and the range arithmetic the
 * runner and the board fixture turn numbers into pointers with (no QEMU). */
#include <check.h>

#include "../../smmuman/tests/check-run.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "ram-span.h"
#include "scenario.h"

static char *dir;

static char *write_file(const char *name, const char *text)
{
    char *path = g_build_filename(dir, name, NULL);
    ck_assert(g_file_set_contents(path, text, -1, NULL));
    return path;
}

static void setup(void)
{
    dir = g_dir_make_tmp("scn-test-XXXXXX", NULL);
    ck_assert_ptr_nonnull(dir);
}

static void teardown(void)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    for (const char *n; d && (n = g_dir_read_name(d));) {
        g_autofree char *p = g_build_filename(dir, n, NULL);
        unlink(p);
    }
    if (d) g_dir_close(d);
    rmdir(dir);
    g_free(dir);
}

START_TEST(parses_header_steps_and_includes)
{
    g_autofree char *inc = write_file("common.inc", "client a\na obj => ok 0   # a comment\n");
    g_autofree char *path = write_file("x.scn", "scenario host/x\npurpose  Says   what\nboard q35-vtd virt-smmuv3\n"
                                                "service smmuman-safety\nconfig  allow buf 1000,4096\n"
                                                "start dss bad configuration\ninclude common.inc\nclient vm target\n"
                                                "dma edu0 write ram+0x1000 64 => blocked\nvm map 0 rwt ram+0 4096 target=ram+0x400000\n");
    GError *e = NULL;
    Scenario *s = scenario_load(path, &e);
    ck_assert_msg(s, "%s", e ? e->message : "");
    ck_assert_str_eq(s->name, "host/x");
    ck_assert_str_eq(s->purpose, "Says   what");
    ck_assert_uint_eq(g_strv_length(s->boards), 2);
    ck_assert_str_eq(s->service, "smmuman-safety");
    ck_assert_str_eq(g_ptr_array_index(s->config, 0), "allow buf 1000,4096"); /* no leading space */
    ck_assert(s->start_dss);
    ck_assert_str_eq(s->start_reason, "bad configuration");
    ck_assert(scenario_has_client(s, "a") && scenario_has_client(s, "vm") && !scenario_has_client(s, "v"));
    ck_assert_uint_eq(s->steps->len, 3);
    ScnStep *st = g_ptr_array_index(s->steps, 0);
    ck_assert_uint_eq(st->line, 2); /* from the include, with its own file and line */
    ck_assert(g_str_has_suffix(st->file, "common.inc"));
    ck_assert_str_eq(st->expect[0], "ok");
    st = g_ptr_array_index(s->steps, 1);
    ck_assert_str_eq(st->words[0], "dma");
    ck_assert_str_eq(st->expect[0], "blocked");
    scenario_free(s);
}
END_TEST

static const struct {
    const char *text, *says;
} bad[] = {
    { "client a\ndma edu0 sideways 0 1 => ok\n", ":2: dma: expected DEV read|write" },
    { "dma edu0 write 0 1\n", ":1: dma: expected '=> ok', '=> blocked' or '=> interrupt'" },
    { "frobnicate\n", ":1: unknown statement 'frobnicate'" },
    { "client a\nclient a\n", ":2: client: 'a' declared twice" },
    { "client dma\n", ":1: client: expected NAME [target]" },
    { "service other\n", ":1: service: expected smmuman or smmuman-safety" },
    { "start maybe\n", ":1: start: expected 'running' or 'dss" },
    { "client a\n=> ok\n", ":2: '=>' without a statement" },
    { "board => ok\n", ":1: board takes no '=>'" },
    { "include missing.inc\n", "missing.inc" },
    { "include self.scn\n", "nested deeper than 8" },
    { "ram poke 0 1 2\n", ":1: ram: expected fill|expect ADDR LEN BYTE" },
    { "kill nobody\n", ":1: kill: expected a client name" },
    { "expect-state tired\n", ":1: expect-state: expected running | dss" },
    /* Numbers that would take the runner outside RAM, the engine's buffer or
     * the 64-bit space are refused before any board starts. */
    { "ram fill ram+0x1000 0xfffffffffffff800 0x5a\n", ":1: ram fill: ram+0x1000 + LEN 18446744073709549568 runs past the end of the 64-bit address space" },
    { "ram expect 0xffffffffffffff00 0x101 0\n", ":1: ram expect: 0xffffffffffffff00 + LEN 257 runs past the end of the 64-bit" },
    { "ram fill pool+0xffffffffffffffff 2 0\n", ":1: ram fill: pool+0xffffffffffffffff + LEN 2 runs past the end" },
    { "ram fill ram+0 16 256\n", ":1: ram fill: BYTE: expected 0..255, got '256'" },
    { "ram fill ram+0 lots 1\n", ":1: ram fill: LEN: expected a size, got 'lots'" },
    { "ram expect somewhere 16 1\n", ":1: ram expect: ADDR: expected N, ram+N or pool+N, got 'somewhere'" },
    { "ram fill ram+0x100000000000000000 1 1\n", ":1: ram fill: ADDR: expected N, ram+N or pool+N" },
    { "dma edu0 write ram+0 4097 => ok\n", ":1: dma: LEN: expected 1..4096 (the engine's buffer), got '4097'" },
    { "dma edu0 write ram+0 0 => ok\n", ":1: dma: LEN: expected 1..4096" },
    { "dma edu0 read ram+0 64 offset=4033 => ok\n", ":1: dma: offset=4033 with LEN 64 runs past the engine's 4096-byte buffer" },
    { "dma edu0 read ram+0 64 offset=0xffffffffffffffc0 => ok\n", ":1: dma: offset=18446744073709551552 with LEN 64 runs past" },
    { "dma edu0 write 0xfffffffffffff800 4096 => blocked\n", ":1: dma: ADDR 0xfffffffffffff800 + LEN 4096 runs past the end of the 64-bit" },
    { "dma edu0 write ram+0 64 speed=9 => ok\n", ":1: dma: unknown option or bad number 'speed=9'" },
    { "dma edu0 write ram+0 64 offset=-1 => ok\n", ":1: dma: unknown option or bad number 'offset=-1'" },
    { "storm edu0 write ram+0 64 3 stride=0x8000000000000000 => blocked\n",
      ":1: storm: ADDR ram+0 + (COUNT-1) * stride + LEN 64 runs past the end of the 64-bit" },
    { "storm edu0 write 0xffffffffffff0000 64 17 => blocked\n", ":1: storm: ADDR 0xffffffffffff0000 + (COUNT-1) * stride" },
    { "storm edu0 write ram+0 64 0 => blocked\n", ":1: storm: COUNT: expected 1..100000, got '0'" },
    { "storm edu0 write ram+0 64 100001 => blocked\n", ":1: storm: COUNT: expected 1..100000, got '100001'" },
    { "wait -5\n", ":1: wait: expected milliseconds 0..60000, got '-5'" },
    { "wait 60001\n", ":1: wait: expected milliseconds 0..60000, got '60001'" },
    { "expect-no-fault 5001\n", ":1: expect-no-fault: expected milliseconds 0..5000, got '5001'" },
    { "expect-no-fault 1 2\n", ":1: expect-no-fault: expected [MS]" },
    { "expect-fault edu0 nowhere write\n", ":1: expect-fault: ADDR: expected N, ram+N or pool+N, got 'nowhere'" },
    { "kill service STOP\n", ":1: kill: expected a client name or 'service [TERM|INT|HUP|KILL]'" },
};

START_TEST(errors_name_file_and_line)
{
    g_autofree char *path = write_file("self.scn", bad[_i].text);
    GError *e = NULL;
    Scenario *s = scenario_load(path, &e);
    ck_assert_ptr_null(s);
    ck_assert_msg(strstr(e->message, bad[_i].says), "'%s' should contain '%s'", e->message, bad[_i].says);
    ck_assert_msg(strstr(e->message, "self.scn") || strstr(e->message, "missing.inc"), "%s", e->message);
    g_error_free(e);
}
END_TEST

/* The largest numbers the limits allow still parse: the checks above
 * refuse only what is out of range. */
START_TEST(limits_are_inclusive)
{
    g_autofree char *path = write_file("edge.scn",
                                       "client a\n"
                                       "dma edu0 read ram+0 64 offset=4032 => ok\n"
                                       "dma edu0 write 0xfffffffffffff000 4096 => blocked\n" /* ends at 2^64 exactly */
                                       "storm edu0 write ram+0 4K 100000 stride=0 => blocked\n"
                                       "ram fill 0xffffffffffffff00 0x100 255\n"
                                       "ram expect ram+0 0 0\n"
                                       "wait 60000\nexpect-no-fault 5000\nexpect-no-fault\n"
                                       "expect-fault edu0 pool+4K read\nkill service HUP\nkill a\n");
    GError *e = NULL;
    Scenario *s = scenario_load(path, &e);
    ck_assert_msg(s, "%s", e ? e->message : "");
    ck_assert_uint_eq(s->steps->len, 11);
    scenario_free(s);
}
END_TEST

START_TEST(address_words)
{
    ScnBase b;
    uint64_t off;
    ck_assert_int_eq(scenario_parse_addr("ram+0x1000", &b, &off), 0);
    ck_assert(b == SCN_RAM && off == 0x1000);
    ck_assert_int_eq(scenario_parse_addr("pool+4K", &b, &off), 0);
    ck_assert(b == SCN_POOL && off == 4096);
    ck_assert_int_eq(scenario_parse_addr("0xfee00000", &b, &off), 0);
    ck_assert(b == SCN_ABS && off == 0xfee00000);
    ck_assert_int_eq(scenario_parse_addr("ram+", &b, &off), -EINVAL);
    ck_assert_int_eq(scenario_parse_addr("rom+1", &b, &off), -EINVAL);
    ck_assert_int_eq(scenario_parse_addr("ram+0x10000000000000000", &b, &off), -ERANGE);
    ck_assert_int_eq(scenario_parse_addr(NULL, &b, &off), -EINVAL);
}
END_TEST

/* ram-span.h: where a range lies in a window, never by an addition that
 * can wrap. The old check, addr - base + len > size, let each "wraps" case
 * below through as inside and handed out a pointer far outside the map. */
START_TEST(spans)
{
    const uint64_t base = 0x40000000, size = 512u << 20;
    uint64_t off = 77;
    ck_assert_int_eq(tb_span(base, size, base, size, &off), TB_SPAN_INSIDE);
    ck_assert_uint_eq(off, 0);
    ck_assert_int_eq(tb_span(base, size, base + size - 16, 16, &off), TB_SPAN_INSIDE);
    ck_assert_uint_eq(off, size - 16);
    ck_assert_int_eq(tb_span(base, size, base + size, 0, &off), TB_SPAN_INSIDE); /* empty, at the end */
    /* past the end, below, straddling either edge */
    ck_assert_int_eq(tb_span(base, size, base + size - 16, 17, NULL), TB_SPAN_STRADDLES);
    ck_assert_int_eq(tb_span(base, size, base - 1, 2, NULL), TB_SPAN_STRADDLES);
    ck_assert_int_eq(tb_span(base, size, base - 1, size + 2, NULL), TB_SPAN_STRADDLES);
    ck_assert_int_eq(tb_span(base, size, base + size, 1, NULL), TB_SPAN_OUTSIDE);
    ck_assert_int_eq(tb_span(base, size, base - 4096, 4096, NULL), TB_SPAN_OUTSIDE);
    ck_assert_int_eq(tb_span(base, size, 0x8000000000, 64, NULL), TB_SPAN_OUTSIDE);
    /* lengths that wrap the old sum back inside the window */
    ck_assert_int_eq(tb_span(base, size, base + 0x1000, UINT64_MAX - 0x7ff, NULL), TB_SPAN_WRAPS);
    ck_assert_int_eq(tb_span(0, size, UINT64_MAX - 0xfff, 0x2000, NULL), TB_SPAN_WRAPS);
    ck_assert_int_eq(tb_span(base, size, base + 16, UINT64_MAX, NULL), TB_SPAN_WRAPS);
    /* a range ending exactly at 2^64 exists; a window at the top compares */
    ck_assert(!tb_span_wraps(UINT64_MAX - 0xfff, 0x1000));
    ck_assert(tb_span_wraps(UINT64_MAX - 0xfff, 0x1001));
    ck_assert(!tb_span_wraps(UINT64_MAX, 0));
    ck_assert_int_eq(tb_span(UINT64_MAX - 0xfff, 0x1000, UINT64_MAX - 0xff, 0x100, &off), TB_SPAN_INSIDE);
    ck_assert_uint_eq(off, 0xf00);
    ck_assert_int_eq(tb_span(UINT64_MAX - 0xfff, 0x1000, UINT64_MAX - 0x1fff, 0x1001, NULL), TB_SPAN_STRADDLES);
    /* an empty window holds nothing but the empty range at its base */
    ck_assert_int_eq(tb_span(base, 0, base, 1, NULL), TB_SPAN_OUTSIDE);
    ck_assert_int_eq(tb_span(base, 0, base, 0, NULL), TB_SPAN_INSIDE);
}
END_TEST

static Suite *scenario_suite(void)
{
    Suite *su = suite_create("scenario");
    TCase *tc = tcase_create("parser");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, parses_header_steps_and_includes);
    tcase_add_loop_test(tc, errors_name_file_and_line, 0, G_N_ELEMENTS(bad));
    tcase_add_test(tc, limits_are_inclusive);
    tcase_add_test(tc, address_words);
    suite_add_tcase(su, tc);
    TCase *sp = tcase_create("spans");
    tcase_add_test(sp, spans);
    suite_add_tcase(su, sp);
    return su;
}

int main(void) { return check_run(scenario_suite()); }
