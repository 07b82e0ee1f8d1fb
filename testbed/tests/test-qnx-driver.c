/* A driver written from QNX's documented API only
 * (smmuman/tests/qnx-driver/qnx-driver.c), built against smmu.h as
 * installed and the shared libsmmu, runs against the real service on both
 * boards and gets what a user wants: its calls succeed, its device's DMA
 * reaches the buffer it mapped, and once it unmaps the buffer the device is
 * blocked and the driver is told. */
#include <check.h>

#include "../../smmuman/tests/check-run.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client-proc.h"
#include "service-fixture.h"
#include "smmu.h"

static const char *const boards[] = { "q35-vtd", "virt-smmuv3" };
static const char *const smmu_lines[] = { "smmu vtd", "smmu smmuv3" };

#define LEN 256

static void fill(Svc *s, uint64_t addr, uint8_t v) { memset(board_ram(&s->b, addr, LEN), v, LEN); }

static void check_ram(Svc *s, uint64_t addr, uint8_t v, const char *what)
{
    const uint8_t *p = board_ram(&s->b, addr, LEN);
    for (unsigned i = 0; i < LEN; i++)
        ck_assert_msg(p[i] == v, "%s: RAM 0x%llx+%u is 0x%02x, want 0x%02x", what, (unsigned long long)addr, i, p[i], v);
}

/* The driver's next line, which must be `want` (a prefix for the fault). */
static char *expect_line(Proc *d, const char *want)
{
    char *line = proc_line(d, 10000);
    if (!line) {
        proc_wait(d, 1000);
        ck_abort_msg("qnx-driver: no '%s' (%s %d, stderr: %s)", want, d->exited ? "exit" : "running", d->status,
                     d->ebuf->str);
    }
    ck_assert_msg(g_str_has_prefix(line, want), "qnx-driver: '%s', expected '%s'", line, want);
    return line;
}

START_TEST(qnx_driver_maps_a_buffer_and_is_told_of_a_transgression)
{
    Svc s;
    Proc d;
    svc_start(&s, boards[_i], "smmuman", smmu_lines[_i], true);
    uint64_t buf = board_addr(&s.b, 0x300000);
    g_autofree char *addr = g_strdup_printf("0x%llx", (unsigned long long)buf);
    char *argv[] = { QNX_DRIVER, "0", "4", "0", addr, "4096", NULL };
    proc_start(&d, &s, argv);
    g_free(expect_line(&d, "ability smmu/attach"));
    g_free(expect_line(&d, "safety no"));
    g_free(expect_line(&d, "reserved 0"));
    g_free(expect_line(&d, "mapped"));

    /* the device reads the buffer, then writes it back: both reach RAM */
    fill(&s, buf, 0x6b);
    g_free(board_ok(&s.b, "dma edu0 read 0x%llx %d", (unsigned long long)buf, LEN));
    fill(&s, buf, 0x00);
    g_free(board_ok(&s.b, "dma edu0 write 0x%llx %d", (unsigned long long)buf, LEN));
    check_ram(&s, buf, 0x6b, "the driver's mapped buffer");

    proc_send(&d, "unmap");
    g_free(expect_line(&d, "unmapped"));
    fill(&s, buf, 0x11);
    g_free(board_ok(&s.b, "dma edu0 write 0x%llx %d", (unsigned long long)buf, LEN));
    check_ram(&s, buf, 0x11, "the buffer after the driver unmapped it");
    g_autofree char *want = g_strdup_printf("fault 0:4.0 0x%llx hw=", (unsigned long long)buf);
    g_free(expect_line(&d, want));
    g_free(expect_line(&d, "done"));
    ck_assert_msg(proc_wait(&d, 5000), "qnx-driver did not exit");
    ck_assert_msg(d.status == 0, "qnx-driver: exit %d: %s", d.status, d.ebuf->str);
    ck_assert_str_eq(d.ebuf->str, "");
    proc_stop(&d);
    svc_stop(&s);
}
END_TEST

/* QNX: smmu_init()'s flags "Must be 0". Ours refuses any other value
 * rather than ignore a flag it does not know; with 0 it goes on to connect
 * (here to a socket that is not there). */
START_TEST(smmu_init_refuses_flags_it_does_not_know)
{
    setenv("SMMU_SOCKET", "/nonexistent/smmu.sock", 1);
    unsigned bad[] = { 1, 0x10, 0x80000000u };
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        errno = 0;
        ck_assert_int_eq(smmu_init(bad[i]), -1);
        ck_assert_int_eq(errno, EINVAL);
    }
    ck_assert_int_eq(smmu_init(0), -1);
    ck_assert_int_eq(errno, ENOENT);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("qnx-driver");
    TCase *tc = tcase_create("boards");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, qnx_driver_maps_a_buffer_and_is_told_of_a_transgression, 0, 2);
    tcase_add_test(tc, smmu_init_refuses_flags_it_does_not_know);
    suite_add_tcase(su, tc);
    return check_run(su);
}
