/* Unit tests: the platform loader (platform/platform.c). A spec's prefix
 * picks the module smmu-platform-TYPE.so from $SMMU_HW_DIR (the DSS door
 * also from the compiled-in directory); every refusal names the spec and
 * the paths tried; a working module is called through its ops. The modules
 * are fakes built from platform-fake/platform-fake.c. Compiled with
 * SMMU_HW_DIR = the directory the fakes are built in (FAKE_DIR). */
#include <check.h>

#include "check-run.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../platform/platform.h"

static char err[1024];

/* err holds every piece */
static void assert_err_has(const char *a, const char *b, const char *c)
{
    ck_assert_msg(strstr(err, a), "'%s' lacks '%s'", err, a);
    if (b) ck_assert_msg(strstr(err, b), "'%s' lacks '%s'", err, b);
    if (c) ck_assert_msg(strstr(err, c), "'%s' lacks '%s'", err, c);
}

static void irq_seen(void *opaque, unsigned irq, bool raised) { *(unsigned *)opaque = raised ? irq : 0; }

START_TEST(a_module_is_called_through_its_ops)
{
    setenv("SMMU_HW_DIR", FAKE_DIR, 1);
    Platform *p = NULL;
    ck_assert_int_eq(platform_open("fake:unit7", &p, err, sizeof err), 0);
    ck_assert_ptr_nonnull(p);
    const PlatformUnit *u;
    ck_assert_uint_eq(platform_units(p, &u), 1);
    ck_assert_str_eq(u[0].name, "unit7"); /* the module got what follows "fake:" */
    unsigned irq = 0;
    ck_assert_int_eq(platform_irq_subscribe(p, irq_seen, &irq), 0);
    ck_assert_int_eq(platform_reg_write(p, 0xfee00008, 8, 0x1234), 0);
    ck_assert_uint_eq(irq, 7);
    uint64_t v = 0;
    ck_assert_int_eq(platform_reg_read(p, 0xfee00008, 8, &v), 0);
    ck_assert_uint_eq(v, 0x1234);
    ck_assert_int_eq(platform_reg_read(p, 0xfee00100, 8, &v), -EIO);
    ck_assert_str_eq(platform_error(p), "no register at 0xfee00100");
    uint64_t base, size;
    platform_pool(p, &base, &size);
    ck_assert_uint_eq(base, 0x80001000);
    ck_assert_ptr_nonnull(platform_map(p, base, size));
    ck_assert_ptr_null(platform_map(p, base, size + 4096));
    ck_assert_int_eq(platform_irq_fd(p), 42);
    ck_assert(platform_irq_pending(p));
    ck_assert_int_eq(platform_irq_dispatch(p), 3);
    platform_close(p);
    platform_close(NULL);
}
END_TEST

START_TEST(a_module_error_is_passed_on)
{
    setenv("SMMU_HW_DIR", FAKE_DIR, 1);
    Platform *p = (Platform *)&err; /* must be reset */
    ck_assert_int_eq(platform_open("fake:refuse", &p, err, sizeof err), -ENODEV);
    ck_assert_ptr_null(p);
    ck_assert_str_eq(err, "platform fake:refuse: refused as asked");
}
END_TEST

START_TEST(malformed_specs_are_refused)
{
    setenv("SMMU_HW_DIR", FAKE_DIR, 1);
    static const char *const bad[] = { "fake", "fake:", ":x", "../fake:x", "Fake:x", "a/b:x", "" };
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        Platform *p = NULL;
        ck_assert_int_eq(platform_open(bad[i], &p, err, sizeof err), -EINVAL);
        ck_assert_ptr_null(p);
        assert_err_has("platform '", bad[i], "expected TYPE:ARGUMENT");
    }
}
END_TEST

START_TEST(an_unknown_type_names_the_path_tried)
{
    setenv("SMMU_HW_DIR", FAKE_DIR, 1);
    Platform *p = NULL;
    ck_assert_int_eq(platform_open("devmem:/dev/mem", &p, err, sizeof err), -ENOENT);
    ck_assert_ptr_null(p);
    assert_err_has("platform 'devmem:/dev/mem': no module for platform type 'devmem'",
                   FAKE_DIR "/smmu-platform-devmem.so", NULL);
}
END_TEST

START_TEST(a_wrong_interface_is_refused)
{
    setenv("SMMU_HW_DIR", FAKE_DIR, 1);
    Platform *p = NULL;
    ck_assert_int_eq(platform_open("oldabi:x", &p, err, sizeof err), -ENOEXEC);
    assert_err_has("platform 'oldabi:x': module " FAKE_DIR "/smmu-platform-oldabi.so has the wrong interface",
                   "abi 0, want 'oldabi' abi 1", NULL);
    ck_assert_int_eq(platform_open("nosym:x", &p, err, sizeof err), -ENOEXEC);
    assert_err_has("platform 'nosym:x': module " FAKE_DIR "/smmu-platform-nosym.so does not export smmu_platform_ops",
                   NULL, NULL);
    /* a module serves the type it says, whatever its file is called */
    ck_assert_int_eq(platform_open("liar:x", &p, err, sizeof err), -ENOEXEC);
    assert_err_has("smmu-platform-liar.so has the wrong interface (type 'fake'", NULL, NULL);
    ck_assert_ptr_null(p);
}
END_TEST

/* $SMMU_HW_DIR wins; only the DSS door falls back to the compiled-in
 * directory, so that a wrong $SMMU_HW_DIR cannot keep it from blocking. */
START_TEST(only_the_door_falls_back_to_the_installed_directory)
{
    setenv("SMMU_HW_DIR", "/nonexistent-smmu-hw", 1);
    Platform *p = NULL;
    ck_assert_int_eq(platform_open("fake:x", &p, err, sizeof err), -ENOENT);
    assert_err_has("/nonexistent-smmu-hw/smmu-platform-fake.so", NULL, NULL);
    ck_assert_msg(!strstr(err, FAKE_DIR), "'%s': the service looked past $SMMU_HW_DIR", err);
    ck_assert_int_eq(platform_open_door("fake:x", &p, err, sizeof err), 0);
    platform_close(p);
    /* both paths named when neither has it */
    ck_assert_int_eq(platform_open_door("devmem:x", &p, err, sizeof err), -ENOENT);
    assert_err_has("/nonexistent-smmu-hw/smmu-platform-devmem.so", FAKE_DIR "/smmu-platform-devmem.so", NULL);
    /* unset: the compiled-in directory */
    unsetenv("SMMU_HW_DIR");
    ck_assert_int_eq(platform_open("fake:x", &p, err, sizeof err), 0);
    platform_close(p);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("platform");
    TCase *tc = tcase_create("loader");
    tcase_add_test(tc, a_module_is_called_through_its_ops);
    tcase_add_test(tc, a_module_error_is_passed_on);
    tcase_add_test(tc, malformed_specs_are_refused);
    tcase_add_test(tc, an_unknown_type_names_the_path_tried);
    tcase_add_test(tc, a_wrong_interface_is_refused);
    tcase_add_test(tc, only_the_door_falls_back_to_the_installed_directory);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return check_run(suite()); }
