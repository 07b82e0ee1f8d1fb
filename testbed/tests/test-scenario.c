/* Unit tests: the scenario language's parser (no QEMU). */
#include <check.h>

#include "../../smmuman/tests/check-run.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

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

static Suite *scenario_suite(void)
{
    Suite *su = suite_create("scenario");
    TCase *tc = tcase_create("parser");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, parses_header_steps_and_includes);
    tcase_add_loop_test(tc, errors_name_file_and_line, 0, G_N_ELEMENTS(bad));
    suite_add_tcase(su, tc);
    return su;
}

int main(void) { return check_run(scenario_suite()); }
