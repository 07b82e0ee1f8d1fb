/* Integration tests of smmuman on the virt-smmuv3 board: what is specific
 * to SMMUv3 (the host behaviours run on this board through the scenario
 * suites). Real QEMU, real service, real client processes. */
#include <check.h>

#include "../../smmuman/tests/check-run.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "paths-service.h"
#include "service-fixture.h"

#define EDU0 "pci:0:4.0"
#define LEN 256

static uint64_t ram_at(Svc *s, uint64_t off) { return s->b.inv.ram_base + off; }

static void fill(Svc *s, uint64_t addr, uint8_t v, size_t len) { memset(board_ram(&s->b, addr, len), v, len); }

static bool ram_is(Svc *s, uint64_t addr, uint8_t v, size_t len)
{
    const uint8_t *p = board_ram(&s->b, addr, len);
    for (size_t i = 0; i < len; i++)
        if (p[i] != v) return false;
    return true;
}

static unsigned long status_num(const char *text, const char *key)
{
    const char *p = strstr(text, key);
    ck_assert_msg(p, "no %s in status", key);
    return strtoul(p + strlen(key), NULL, 10);
}

/* 0: through the event-queue interrupt only (polling once a minute);
 * 1: through polling only (the unit is given without its interrupts). */
START_TEST(fault_through_interrupt_and_through_polling)
{
    Svc s;
    Cli c;
    svc_start(&s, "virt-smmuv3", "smmuman",
              _i == 0 ? "smmu smmuv3\nunit smmu0 9050000,74,77\nfault-poll-ms 60000"
                      : "smmu smmuv3\nunit smmu0 9050000\nfault-poll-ms 5", true);
    cli_start(&c, &s, false);
    uint64_t z = ram_at(&s, 0x280000);
    fill(&s, z, 0x31, LEN);
    g_free(board_ok(&s.b, "dma edu0 write 0x%llx %d", (unsigned long long)z, LEN));
    ck_assert(ram_is(&s, z, 0x31, LEN));
    expect_fault(&c, EDU0, z, true); /* within 3 s: not the minute-long poll */
    g_autofree char *st = smmuctl(&s, "status");
    ck_assert_msg(strstr(st, _i == 0 ? "irqs=74,77" : "irqs=-1,-1"), "%s", st);
    cli_stop(&c);
    svc_stop(&s);
}
END_TEST

START_TEST(storm_of_4k_dmas_one_record_per_page)
{
    Svc s;
    Cli idle, mon;
    svc_start(&s, "virt-smmuv3", "smmuman", "smmu smmuv3", true);
    cli_start(&idle, &s, false);
    cli_start(&mon, &s, false);
    enum { N = 20 };
    for (unsigned i = 0; i < N; i++) {
        uint64_t a = ram_at(&s, 0x800000 + i * 4096ull);
        g_free(board_ok(&s.b, "dma edu0 write 0x%llx 4096", (unsigned long long)a));
        /* QEMU writes one event per failed 4-byte access: 1024, folded into one */
        g_autofree char *r = cli(&mon, "wait-fault 3000");
        g_autofree char *want = g_strdup_printf("fault device=%s address=0x%llx access=write reason=16 dropped=0 repeat=1023"
                                                " reason-name=F_TRANSLATION",
                                                EDU0, (unsigned long long)a);
        ck_assert_str_eq(r, want);
    }
    unsigned recorded = 0;
    for (;;) {
        g_autofree char *r = cli(&idle, "status");
        if (strcmp(r, "none") == 0) break;
        recorded++;
    }
    g_autofree char *st = smmuctl(&s, "status");
    ck_assert_uint_eq(recorded, N);
    ck_assert_uint_eq(status_num(st, "faults.seen="), N);
    ck_assert_uint_eq(status_num(st, "faults.overflows="), 0);
    cli_stop(&idle);
    cli_stop(&mon);
    svc_stop(&s);
}
END_TEST

/* While a flood of records lasts, the service masks the event-queue
 * interrupt and its polls drain (smmuv3.c, moderation): a storm must still
 * give every event, folded into records whose repeat counts add up, with
 * nothing lost or dropped. */
START_TEST(storm_while_moderated_accounts_for_every_event)
{
    Svc s;
    Cli c;
    svc_start(&s, "virt-smmuv3", "smmuman", "smmu smmuv3", true); /* the fixture polls every 2 ms */
    cli_start(&c, &s, false);
    enum { N = 24 };
    const uint64_t base = ram_at(&s, 0x800000);
    for (unsigned round = 0; round < 2; round++) { /* the second begins with the interrupt on again, or masked */
        g_free(board_ok(&s.b, "storm edu0 write 0x%llx 4096 %d stride=4096", (unsigned long long)base, N));
        unsigned long long events = 0;
        while (events < N * 1024ull) {
            g_autofree char *r = cli(&c, "wait-fault 3000");
            ck_assert_msg(strcmp(r, "none") != 0, "round %u: records stopped at %llu of %d events", round, events,
                          N * 1024);
            const char *a = strstr(r, "address="), *rep = strstr(r, "repeat=");
            ck_assert_msg(a && rep && strstr(r, "dropped=0"), "%s", r);
            unsigned long long addr = strtoull(a + 8, NULL, 16);
            ck_assert_msg(addr >= base && addr < base + N * 4096ull, "a record outside the storm: %s", r);
            events += strtoull(rep + 7, NULL, 10) + 1;
        }
        ck_assert_uint_eq(events, N * 1024ull);
    }
    g_autofree char *st = smmuctl(&s, "status");
    ck_assert_uint_eq(status_num(st, "faults.overflows="), 0);
    cli_stop(&c);
    svc_stop(&s);
}
END_TEST

START_TEST(event_queue_overflow_is_reported_as_lost)
{
    Svc s;
    Cli c;
    svc_start(&s, "virt-smmuv3", "smmuman", "smmu smmuv3", true);
    cli_start(&c, &s, false);
    /* 40 blocked 4 KiB DMAs: 40960 events into a queue of 32768, while the
     * service is stopped and cannot drain (the agent serves it between the
     * storm's steps, so it would otherwise keep up). */
    ck_assert_int_eq(kill(s.pid, SIGSTOP), 0);
    g_free(board_ok(&s.b, "storm edu0 write 0x%llx 4096 40", (unsigned long long)ram_at(&s, 0x800000)));
    ck_assert_int_eq(kill(s.pid, SIGCONT), 0);
    unsigned records = 0;
    for (;;) {
        g_autofree char *r = cli(&c, "wait-fault 300");
        if (strcmp(r, "none") == 0) break;
        records++;
    }
    g_autofree char *st = smmuctl(&s, "status");
    unsigned long overflows = status_num(st, "faults.overflows=");
    ck_assert_msg(overflows >= 1, "the overflow was hidden: %s", st);
    ck_assert_msg(records >= 1 && records < 40, "%u records", records);
    /* and the unit records again afterwards */
    uint64_t z = ram_at(&s, 0x300000);
    g_free(board_ok(&s.b, "dma edu0 write 0x%llx %d", (unsigned long long)z, LEN));
    expect_fault(&c, EDU0, z, true);
    cli_stop(&c);
    svc_stop(&s);
}
END_TEST

START_TEST(corrupted_stream_entry_is_a_dss)
{
    Svc s;
    Cli c;
    svc_start(&s, "virt-smmuv3", "smmuman-safety", "smmu smmuv3\nscrub-ms 20", true);
    cli_owning(&c, &s, 4);
    uint64_t y = ram_at(&s, 0x180000);
    g_free(cli_ok(&c, "map 0 rw 0x%llx 4096", (unsigned long long)y));
    g_autofree char *safety = cli(&c, "safety");
    ck_assert_str_eq(safety, "ok 65535");
    /* honest changes through several scrub periods: still running */
    for (unsigned i = 0; i < 6; i++) g_free(cli_ok(&c, "map 0 %s 0x%llx 4096", i % 2 ? "none" : "rw", (unsigned long long)ram_at(&s, 0x280000)));
    g_usleep(100000);
    g_autofree char *still = svc_status_field(&s, "state");
    ck_assert_str_eq(still, "running");
    /* The stream table is the pool's first allocation: flip the VMID of
     * StreamID 0x20's entry (edu0) */
    uint8_t *ste = board_ram(&s.b, s.b.inv.pool_base + 0x20 * 64 + 16, 8);
    ste[1] ^= 0x40;
    ck_assert_int_eq(svc_wait_exit(&s, 5000), 3);
    g_autofree char *reason = svc_status_field(&s, "reason");
    g_autofree char *page = g_strdup_printf("integrity scrub: table memory at 0x%llx ", (unsigned long long)s.b.inv.pool_base);
    ck_assert_msg(strstr(reason, page), "%s", reason);
    fill(&s, y, 0x42, LEN);
    g_free(board_ok(&s.b, "dma edu0 write 0x%llx %d", (unsigned long long)y, LEN));
    ck_assert_msg(ram_is(&s, y, 0x42, LEN), "a mapped buffer was written after the DSS");
    cli_stop(&c);
    svc_stop(&s);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("smmuv3-service");
    TCase *tc = tcase_create("virt-smmuv3");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, fault_through_interrupt_and_through_polling, 0, 2);
    tcase_add_test(tc, storm_of_4k_dmas_one_record_per_page);
    tcase_add_test(tc, storm_while_moderated_accounts_for_every_event);
    tcase_add_test(tc, event_queue_overflow_is_reported_as_lost);
    tcase_add_test(tc, corrupted_stream_entry_is_a_dss);
    suite_add_tcase(su, tc);
    return check_run(su);
}
