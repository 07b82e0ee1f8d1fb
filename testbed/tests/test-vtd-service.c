/* Integration tests of smmuman on the q35-vtd board: the real service, the
 * real VT-d model, real client processes (smmu-client) and rogue DMA from
 * the board agent. A blocked DMA counts as blocked only if RAM shows
 * nothing crossed AND the client received the record with the right
 * device, address and access.
 *
 * QEMU's VT-d model drops a second fault from a device silently while its
 * first is still pending, and an access that hits a cached translation
 * lacking its permission fails without any record: rogue DMAs here wait
 * for each record, and touch a page with the forbidden access first. */
#include <check.h>

#include "../../smmuman/tests/check-run.h"
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "paths-service.h"
#include "service-fixture.h"

#define EDU0 "pci:0:4.0"
#define EDU1 "pci:0:5.0"
#define EDU2 "pci:0:6.0"
#define X 0x100000ull   /* read-only buffer */
#define Y 0x180000ull   /* read-write scratch */
#define W 0x200000ull   /* write-only buffer */
#define Z 0x280000ull   /* never mapped: the secret */
#define LEN 256

static void fill(Svc *s, uint64_t addr, uint8_t v) { memset(board_ram(&s->b, addr, LEN), v, LEN); }

static void check_ram(Svc *s, uint64_t addr, uint8_t v, const char *what)
{
    const uint8_t *p = board_ram(&s->b, addr, LEN);
    for (unsigned i = 0; i < LEN; i++)
        ck_assert_msg(p[i] == v, "%s: RAM 0x%llx+%u is 0x%02x, want 0x%02x", what, (unsigned long long)addr, i, p[i], v);
}

static void dma(Svc *s, const char *dev, const char *dir, uint64_t addr)
{
    g_free(board_ok(&s->b, "dma %s %s 0x%llx %d", dev, dir, (unsigned long long)addr, LEN));
}

START_TEST(mapped_regions_have_exactly_their_permissions)
{
    Svc s;
    Cli c;
    svc_start(&s, "q35-vtd", "smmuman", NULL, true);
    cli_owning(&c, &s, 4);
    g_free(cli_ok(&c, "map 0 r 0x%llx 4096", X));
    g_free(cli_ok(&c, "map 0 rw 0x%llx 4096", Y));
    g_free(cli_ok(&c, "map 0 w 0x%llx 4096", W));
    fill(&s, X, 0xa1);
    fill(&s, Y, 0x00);
    fill(&s, W, 0x00);
    fill(&s, Z, 0x5e);

    /* read-only: a write is blocked and recorded (first touch of X) */
    dma(&s, "edu0", "write", X);
    check_ram(&s, X, 0xa1, "write into read-only X");
    expect_fault(&c, EDU0, X, true);
    /* ...a read goes through: carry X into Y to see it */
    dma(&s, "edu0", "read", X);
    dma(&s, "edu0", "write", Y);
    check_ram(&s, Y, 0xa1, "X read through the device into Y");
    /* write-only: a read is blocked and recorded; the engine got nothing */
    dma(&s, "edu0", "read", W);
    expect_fault(&c, EDU0, W, false);
    dma(&s, "edu0", "write", W);
    check_ram(&s, W, 0x00, "a blocked read carries zeros"); /* the engine's buffer was cleared */
    /* never mapped: both directions blocked, the secret stays put */
    dma(&s, "edu0", "read", Z);
    expect_fault(&c, EDU0, Z, false);
    dma(&s, "edu0", "write", Y);
    check_ram(&s, Y, 0x00, "the secret did not reach the device");
    fill(&s, Y, 0x77);
    dma(&s, "edu0", "read", Y); /* engine now holds 0x77 */
    dma(&s, "edu0", "write", Z);
    check_ram(&s, Z, 0x5e, "write into unmapped Z");
    expect_fault(&c, EDU0, Z, true);
    expect_no_fault(&c, 50);
    cli_stop(&c);
    svc_stop(&s);
}
END_TEST

START_TEST(dma_after_unmap_is_blocked)
{
    Svc s;
    Cli c;
    svc_start(&s, "q35-vtd", "smmuman", NULL, true);
    cli_owning(&c, &s, 5);
    g_free(cli_ok(&c, "map 0 rw 0x%llx 4096", Y));
    fill(&s, Y, 0x33);
    dma(&s, "edu1", "read", Y);
    fill(&s, Y, 0x00);
    dma(&s, "edu1", "write", Y); /* allowed, and now cached by the IOTLB */
    check_ram(&s, Y, 0x33, "mapped write");
    g_free(cli_ok(&c, "unmap 0 0x%llx 4096", Y));
    fill(&s, Y, 0x44);
    dma(&s, "edu1", "write", Y); /* only an invalidation stops the cached translation */
    check_ram(&s, Y, 0x44, "write after unmap");
    expect_fault(&c, EDU1, Y, true);
    cli_stop(&c);
    svc_stop(&s);
}
END_TEST

START_TEST(buffers_sharing_a_page)
{
    Svc s;
    Cli c;
    svc_start(&s, "q35-vtd", "smmuman", NULL, true);
    cli_owning(&c, &s, 4);
    g_free(cli_ok(&c, "map 0 rw 0x%llx 0x800", Y));         /* A: first half of the page */
    g_free(cli_ok(&c, "map 0 rw 0x%llx 0x800", Y + 0x800)); /* B: second half */
    fill(&s, Y, 0x11);
    dma(&s, "edu0", "read", Y);
    g_free(cli_ok(&c, "unmap 0 0x%llx 0x800", Y)); /* A gone; B keeps the page */
    fill(&s, Y, 0x00);
    dma(&s, "edu0", "write", Y);
    check_ram(&s, Y, 0x11, "page still reachable through B");
    expect_no_fault(&c, 30);
    g_free(cli_ok(&c, "unmap 0 0x%llx 0x800", Y + 0x800));
    fill(&s, Y, 0x22);
    dma(&s, "edu0", "write", Y);
    check_ram(&s, Y, 0x22, "page gone with B");
    expect_fault(&c, EDU0, Y, true);
    cli_stop(&c);
    svc_stop(&s);
}
END_TEST

START_TEST(one_owner_per_device_and_cleanup_on_disconnect)
{
    Svc s;
    Cli a, b;
    svc_start(&s, "q35-vtd", "smmuman", NULL, true);
    cli_start(&a, &s, false);
    cli_start(&b, &s, false);
    g_free(cli_ok(&a, "obj"));
    g_free(cli_ok(&a, "add 0 pci 0 4 0"));
    g_free(cli_ok(&b, "obj"));
    g_autofree char *busy = cli(&b, "add 0 pci 0 4 0");
    ck_assert_msg(g_str_has_prefix(busy, "err EBUSY"), "%s", busy);
    g_autofree char *noent = cli(&b, "add 0 mem 0x10000000 4096"); /* no unit controls it */
    ck_assert_msg(g_str_has_prefix(noent, "err ENOENT"), "%s", noent);
    /* moving between one's own objects is fine */
    g_free(cli_ok(&a, "obj"));
    g_free(cli_ok(&a, "add 1 pci 0 4 0"));
    /* b owns edu1 and maps Y; then b disconnects */
    g_free(cli_ok(&b, "add 0 pci 0 5 0"));
    g_free(cli_ok(&b, "map 0 rw 0x%llx 4096", Y));
    fill(&s, Y, 0x66);
    dma(&s, "edu1", "read", Y);
    cli_stop(&b);
    g_usleep(50000);
    fill(&s, Y, 0x00);
    dma(&s, "edu1", "write", Y);
    check_ram(&s, Y, 0x00, "write by a device whose owner is gone");
    expect_fault(&a, EDU1, Y, true); /* any attached client sees it */
    cli_stop(&a);
    svc_stop(&s);
}
END_TEST

START_TEST(startup_mapping_from_the_configuration)
{
    Svc s;
    Cli c;
    svc_start(&s, "q35-vtd", "smmuman",
              "smmu vtd\nallow buf 300000,4096\ndevice pci:0:6.0 buf", true);
    /* load the engine from the mapped buffer itself (the agent's staging
     * page is not mapped for this device), then write back */
    fill(&s, 0x300000, 0x9c);
    dma(&s, "edu2", "read", 0x300000);
    fill(&s, 0x300000, 0x00);
    dma(&s, "edu2", "write", 0x300000);
    check_ram(&s, 0x300000, 0x9c, "startup mapping");
    cli_start(&c, &s, false);
    g_free(cli_ok(&c, "obj"));
    g_autofree char *busy = cli(&c, "add 0 pci 0 6 0");
    ck_assert_msg(g_str_has_prefix(busy, "err EBUSY"), "%s", busy);
    fill(&s, 0x301000, 0x00);
    dma(&s, "edu2", "write", 0x301000);
    check_ram(&s, 0x301000, 0x00, "outside the startup mapping");
    expect_fault(&c, EDU2, 0x301000, true);
    cli_stop(&c);
    svc_stop(&s);
}
END_TEST

START_TEST(thousand_rogue_dmas_add_up)
{
    Svc s;
    Cli idle, mon;
    svc_start(&s, "q35-vtd", "smmuman", NULL, true);
    cli_start(&idle, &s, false); /* never reads during the storm: its queue fills */
    cli_start(&mon, &s, false);  /* reads every record */
    enum { N = 1000 };
    for (unsigned i = 0; i < N; i++) {
        const char *dev = i % 2 ? "edu2" : "edu0";
        uint64_t addr = Z + (i % 32) * 4096ull;
        g_free(board_ok(&s.b, "dma %s write 0x%llx 64", dev, (unsigned long long)addr));
        /* one at a time: QEMU drops a device's second fault while its first is pending */
        expect_fault(&mon, i % 2 ? EDU2 : EDU0, addr, true);
    }
    unsigned recorded = 0, flagged = 0;
    for (;;) {
        g_autofree char *r = cli(&idle, "status");
        if (strcmp(r, "none") == 0) break;
        recorded++;
        flagged += strstr(r, "dropped=1") != NULL;
    }
    g_autofree char *st = cli(&mon, "safety"); /* still responsive */
    ck_assert_str_eq(st, "ok 0");
    ck_assert_uint_eq(recorded, 64);
    ck_assert_uint_eq(flagged, 1); /* the flag rides on the next record read after drops */
    /* recorded + dropped + lost to hardware overflow = injected, from the
     * service's own counters as smmuctl shows them (the idle client is client 1) */
    g_autofree char *out = smmuctl(&s, "status");
    unsigned long dropped = 0, overflows = 99, seen = 0;
    char *p = strstr(out, "client.1=");
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(sscanf(strstr(p, "dropped:"), "dropped:%lu", &dropped), 1);
    ck_assert_int_eq(sscanf(strstr(out, "faults.overflows="), "faults.overflows=%lu", &overflows), 1);
    ck_assert_int_eq(sscanf(strstr(out, "faults.seen="), "faults.seen=%lu", &seen), 1);
    ck_assert_uint_eq(recorded + dropped + overflows, N);
    ck_assert_uint_eq(seen, N);
    cli_stop(&idle);
    cli_stop(&mon);
    svc_stop(&s);
}
END_TEST

START_TEST(hardware_overflow_is_counted_not_hidden)
{
    Svc s;
    Cli c;
    svc_start(&s, "q35-vtd", "smmuman", "smmu vtd\nfault-poll-ms 1000", true);
    cli_start(&c, &s, false);
    /* Two devices fault before the service drains: VT-d keeps the first and
     * flags the second as overflow (PFO); the second cannot be shown. */
    g_free(board_ok(&s.b, "storm edu0,edu1 write 0x%llx 64 2", (unsigned long long)Z));
    expect_fault(&c, EDU0, Z, true);
    expect_no_fault(&c, 100);
    g_autofree char *status = smmuctl(&s, "status");
    ck_assert_msg(strstr(status, "faults.overflows=1\n"), "%s", status);
    /* recording works again once the overflow was acknowledged */
    dma(&s, "edu1", "write", Z + 4096);
    expect_fault(&c, EDU1, Z + 4096, true);
    cli_stop(&c);
    svc_stop(&s);
}
END_TEST

START_TEST(reserved_regions_from_the_configuration)
{
    Svc s;
    Cli c;
    svc_start(&s, "q35-vtd", "smmuman", "smmu vtd\ndevice pci:0:5.0\nreserved 380000,4096", true);
    /* reachable from start-up, identity mapped, with no client at all */
    fill(&s, 0x380000, 0x4d);
    dma(&s, "edu1", "read", 0x380000);
    fill(&s, 0x380000, 0x00);
    dma(&s, "edu1", "write", 0x380000);
    check_ram(&s, 0x380000, 0x4d, "reserved region");
    cli_start(&c, &s, false);
    g_autofree char *rep = cli_ok(&c, "reserved pci 0 5 0");
    ck_assert_str_eq(rep, "ok 1 0x380000,0x1000");
    /* a client may take the device; its reserved region comes along... */
    g_free(cli_ok(&c, "obj"));
    g_free(cli_ok(&c, "add 0 pci 0 5 0"));
    fill(&s, 0x380000, 0x00);
    dma(&s, "edu1", "write", 0x380000);
    check_ram(&s, 0x380000, 0x4d, "reserved region in a client's object");
    /* ...unless the client manages reserved regions itself */
    g_free(cli_ok(&c, "obj manual"));
    g_free(cli_ok(&c, "add 1 pci 0 5 0"));
    fill(&s, 0x380000, 0x00);
    dma(&s, "edu1", "write", 0x380000);
    check_ram(&s, 0x380000, 0x00, "SOCF_RESERVED_MANUAL object");
    expect_fault(&c, EDU1, 0x380000, true);
    cli_stop(&c);
    svc_stop(&s);
}
END_TEST

START_TEST(dss_required_hardware_not_present)
{
    Svc s;
    svc_start(&s, "q35-bare", "smmuman", NULL, false);
    ck_assert_int_eq(svc_wait_exit(&s, 10000), 3);
    g_autofree char *state = svc_status_field(&s, "state");
    g_autofree char *reason = svc_status_field(&s, "reason");
    ck_assert_str_eq(state, "dss");
    ck_assert_msg(strstr(reason, "required hardware not present"), "%s", reason);
    svc_stop(&s);
}
END_TEST

START_TEST(dss_bad_configuration_blocks_dma)
{
    Svc s;
    svc_start(&s, "q35-vtd", "smmuman", "smmu vtd\nallow buf zz,4096", false);
    ck_assert_int_eq(svc_wait_exit(&s, 10000), 3);
    g_autofree char *reason = svc_status_field(&s, "reason");
    g_autofree char *where = g_strdup_printf("%s:10:", s.conf); /* the bad line, with its column */
    ck_assert_msg(strstr(reason, "bad configuration") && strstr(reason, where), "%s", reason);
    fill(&s, Y, 0x12);
    g_free(board_ok(&s.b, "dma edu0 write 0x%llx %d", (unsigned long long)Y, LEN));
    check_ram(&s, Y, 0x12, "DMA after a DSS for a bad configuration");
    svc_stop(&s);
}
END_TEST

START_TEST(dss_on_corrupted_table_memory)
{
    Svc s;
    Cli c;
    svc_start(&s, "q35-vtd", "smmuman-safety", "smmu vtd\nscrub-ms 20", true);
    cli_owning(&c, &s, 4);
    g_free(cli_ok(&c, "map 0 rw 0x%llx 4096", Y));
    g_autofree char *safety = cli(&c, "safety");
    ck_assert_str_eq(safety, "ok 65535"); /* SMMUMAN_SAFETY_YES: safety service and library */
    /* several scrub periods with honest changes (maps, invalidations): no DSS */
    for (unsigned i = 0; i < 10; i++) g_free(cli_ok(&c, "map 0 %s 0x%llx 4096", i % 2 ? "none" : "rw", Z));
    g_usleep(100000);
    g_autofree char *still = svc_status_field(&s, "state");
    ck_assert_str_eq(still, "running");
    /* one bit of a reserved word of the root table (the pool's first page) */
    uint8_t *root = board_ram(&s.b, s.b.inv.pool_base, 4096);
    root[255 * 16 + 12] ^= 0x10;
    ck_assert_int_eq(svc_wait_exit(&s, 5000), 3);
    g_autofree char *reason = svc_status_field(&s, "reason");
    g_autofree char *page = g_strdup_printf("integrity scrub: table memory at 0x%llx ", (unsigned long long)s.b.inv.pool_base);
    ck_assert_msg(strstr(reason, page), "%s", reason); /* the page we changed, not any other */
    fill(&s, Y, 0x21);
    g_free(board_ok(&s.b, "dma edu0 write 0x%llx %d", (unsigned long long)Y, LEN));
    check_ram(&s, Y, 0x21, "mapped buffer after the DSS");
    cli_stop(&c);
    svc_stop(&s);
}
END_TEST

START_TEST(stopping_or_killing_the_service_leaves_dma_blocked)
{
    Svc s;
    Cli c;
    svc_start(&s, "q35-vtd", "smmuman", NULL, true);
    cli_owning(&c, &s, 4);
    g_free(cli_ok(&c, "map 0 rw 0x%llx 4096", Y));
    if (_i == 0) {
        /* SIGKILL: nothing runs; the tables stay as they were */
        kill(s.pid, SIGKILL);
        ck_assert_int_eq(svc_wait_exit(&s, 5000), 128 + SIGKILL);
        fill(&s, Z, 0x31);
        dma(&s, "edu0", "write", Z);
        check_ram(&s, Z, 0x31, "unmapped memory after SIGKILL");
    } else {
        /* SIGTERM: never stop the service; doing so is a DSS */
        kill(s.pid, SIGTERM);
        ck_assert_int_eq(svc_wait_exit(&s, 5000), 3);
        g_autofree char *reason = svc_status_field(&s, "reason");
        ck_assert_msg(strstr(reason, "stopped by a signal"), "%s", reason);
        ck_assert(!g_file_test(s.sock, G_FILE_TEST_EXISTS)); /* no stale socket */
        g_autofree char *after = cli(&c, "safety"); /* the client was told */
        ck_assert_str_eq(after, "ok -1");
        fill(&s, Y, 0x32);
        dma(&s, "edu0", "write", Y);
        check_ram(&s, Y, 0x32, "even mapped memory after a DSS");
    }
    cli_stop(&c);
    svc_stop(&s);
}
END_TEST

START_TEST(notification_is_one_shot)
{
    Svc s;
    Cli c;
    svc_start(&s, "q35-vtd", "smmuman", NULL, true);
    cli_start(&c, &s, false);
    g_free(cli_ok(&c, _i ? "notify thread" : "notify signal"));
    dma(&s, "edu0", "write", Z);
    g_autofree char *n1 = cli_ok(&c, "notified 2000");
    ck_assert_str_eq(n1, "ok 1");
    expect_fault(&c, EDU0, Z, true);
    dma(&s, "edu0", "write", Z + 4096); /* not registered again: no second notification */
    expect_fault(&c, EDU0, Z + 4096, true);
    g_autofree char *n2 = cli_ok(&c, "notified 100");
    ck_assert_str_eq(n2, "ok 1");
    cli_stop(&c);
    svc_stop(&s);
}
END_TEST

START_TEST(target_mappings_need_the_target_socket)
{
    Svc s;
    Cli plain, vm;
    svc_start(&s, "q35-vtd", "smmuman", NULL, true);
    cli_start(&plain, &s, false);
    cli_start(&vm, &s, true);
    g_free(cli_ok(&plain, "obj"));
    g_autofree char *perm = cli(&plain, "map 0 rwt 0x100000 4096 target=0x400000");
    ck_assert_msg(g_str_has_prefix(perm, "err EPERM"), "%s", perm);
    /* guest-physical 0x100000 lands at host-physical 0x400000 */
    g_free(cli_ok(&vm, "obj"));
    g_free(cli_ok(&vm, "add 0 pci 0 5 0"));
    g_free(cli_ok(&vm, "map 0 rwt 0x100000 4096 target=0x400000"));
    fill(&s, 0x100000, 0x00);
    fill(&s, 0x400000, 0x7a);
    dma(&s, "edu1", "read", 0x100000); /* reads host-physical 0x400000 */
    fill(&s, 0x400000, 0x00);
    dma(&s, "edu1", "write", 0x100000);
    check_ram(&s, 0x400000, 0x7a, "translated write");
    check_ram(&s, 0x100000, 0x00, "untranslated address untouched");
    cli_stop(&plain);
    cli_stop(&vm);
    svc_stop(&s);
}
END_TEST

START_TEST(smmuctl_shows_objects_devices_and_regions)
{
    Svc s;
    Cli c;
    svc_start(&s, "q35-vtd", "smmuman", NULL, true);
    cli_owning(&c, &s, 4);
    g_free(cli_ok(&c, "map 0 r 0x%llx 0x1800", X));
    g_autofree char *human = smmuctl(&s, "objects");
    ck_assert_msg(strstr(human, "devices=pci:0:4.0") && strstr(human, "start=0x100000 len=0x1800 perms=r "),
                  "%s", human);
    g_autofree char *json = smmuctl(&s, "--json objects");
    ck_assert_msg(strstr(json, "{\"kind\":\"region\"") && strstr(json, "\"len\":\"0x1800\"") &&
                  strstr(json, "\"perms\":\"r\"") && strstr(json, "\"device\":\"pci:0:4.0\""), "%s", json);
    g_autofree char *status = smmuctl(&s, "--json status");
    ck_assert_msg(g_str_has_prefix(status, "{\"state\":\"running\"") && strstr(status, "\"units\":\"1\""), "%s", status);
    g_autofree char *safety = smmuctl(&s, "safety");
    ck_assert_str_eq(safety, "safety: no\n");
    cli_stop(&c);
    svc_stop(&s);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("vtd-service");
    TCase *tc = tcase_create("q35-vtd");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, mapped_regions_have_exactly_their_permissions);
    tcase_add_test(tc, dma_after_unmap_is_blocked);
    tcase_add_test(tc, buffers_sharing_a_page);
    tcase_add_test(tc, one_owner_per_device_and_cleanup_on_disconnect);
    tcase_add_test(tc, startup_mapping_from_the_configuration);
    tcase_add_test(tc, thousand_rogue_dmas_add_up);
    tcase_add_test(tc, hardware_overflow_is_counted_not_hidden);
    tcase_add_test(tc, reserved_regions_from_the_configuration);
    tcase_add_test(tc, dss_required_hardware_not_present);
    tcase_add_test(tc, dss_bad_configuration_blocks_dma);
    tcase_add_test(tc, dss_on_corrupted_table_memory);
    tcase_add_loop_test(tc, stopping_or_killing_the_service_leaves_dma_blocked, 0, 2);
    tcase_add_loop_test(tc, notification_is_one_shot, 0, 2);
    tcase_add_test(tc, target_mappings_need_the_target_socket);
    tcase_add_test(tc, smmuctl_shows_objects_devices_and_regions);
    suite_add_tcase(su, tc);
    return check_run(su);
}
