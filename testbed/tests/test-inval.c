/* Integration test, on both IOMMU boards: one smmu_mapping_add of k
 * separate pages costs one invalidation per unit, whatever k, and the
 * translations are right afterwards.
 *
 * The cost is the service's own count of register accesses
 * (register.accesses in `smmuctl status`) across the call: one queue
 * submission is one IQT write on VT-d, one CMDQ_PROD write and one
 * CMDQ_CONS read on SMMUv3 (QEMU runs the queue as it is written; the
 * library then polls RAM or CONS once). It must be the same for k = 1 and
 * k = 16. A map where nothing was mapped needs none on either unit (VT-d
 * with CAP.CM=0 and SMMUv3 never cache an entry that is not present).
 *
 * Right afterwards means what the engine does, checked in RAM: both
 * boards' models cache translations until invalidated, and a cached
 * read-only translation refuses a write without looking at the tables
 * again. So each page is first read through the device (cached read-only)
 * and a write to it refused; once the call adds write permission the write
 * must land on every page, the pages between them staying blocked; once
 * the pages are unmapped, a write to any of them must be refused again. */
#include <check.h>

#include "../../smmuman/tests/check-run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "paths-service.h"
#include "service-fixture.h"

#define LEN   256
#define PG    4096ull
#define KMAX  16

static const char *const boards[] = { "q35-vtd", "virt-smmuv3" };
static const char *const types[] = { "vtd", "smmuv3" };
/* register accesses of one queue submission: VT-d the IQT write;
 * SMMUv3 the PROD write and one CONS read */
static const unsigned long one_submission[] = { 1, 2 };

static void fill(Svc *s, uint64_t addr, uint8_t v) { memset(board_ram(&s->b, addr, LEN), v, LEN); }

static void expect_ram(Svc *s, uint64_t addr, uint8_t v, const char *what)
{
    const uint8_t *p = board_ram(&s->b, addr, LEN);
    for (unsigned i = 0; i < LEN; i++)
        ck_assert_msg(p[i] == v, "%s: RAM 0x%llx+%u is 0x%02x, want 0x%02x", what, (unsigned long long)addr, i, p[i],
                      v);
}

static void dma(Svc *s, const char *dir, uint64_t addr)
{
    g_free(board_ok(&s->b, "dma edu0 %s 0x%llx %d", dir, (unsigned long long)addr, LEN));
}

static unsigned long accesses(Svc *s)
{
    g_autofree char *st = smmuctl(s, "status");
    const char *p = strstr(st, "register.accesses=");
    ck_assert_msg(p, "no register.accesses in status: %s", st);
    return strtoul(p + strlen("register.accesses="), NULL, 10);
}

/* The count once nothing else touches the unit: a blocked DMA's events are
 * drained on their interrupt (SMMUv3), which may still be running. */
static unsigned long quiet_accesses(Svc *s)
{
    unsigned long a = accesses(s), b;
    for (int i = 0; i < 200; i++) {
        g_usleep(20000);
        if ((b = accesses(s)) == a) return a;
        a = b;
    }
    ck_abort_msg("the service kept touching the unit: no quiet moment in 4 s");
    return 0;
}

/* `map 0 PERMS A1 4096 A2 4096 ...` (or unmap) for k pages 8 KiB apart
 * from base, in one call; returns the register accesses it cost. */
static unsigned long call(Svc *s, Cli *c, const char *verb, unsigned k, uint64_t base)
{
    GString *line = g_string_new(verb);
    for (unsigned i = 0; i < k; i++) g_string_append_printf(line, " 0x%llx 4096", (unsigned long long)(base + 2 * i * PG));
    unsigned long before = quiet_accesses(s);
    g_free(cli_ok(c, "%s", line->str));
    unsigned long cost = accesses(s) - before;
    g_string_free(line, TRUE);
    return cost;
}

/* Maps k pages read-only, makes them read-write, unmaps them, checking the
 * engine's view after each; the cost of each call into cost[3]. */
static void round_trip(Svc *s, Cli *c, unsigned k, uint64_t base, unsigned long cost[3])
{
    cost[0] = call(s, c, "map 0 r", k, base);
    for (unsigned i = 0; i < k; i++) {
        const uint64_t a = base + 2 * i * PG;
        fill(s, a, 0x5a);
        dma(s, "read", a); /* allowed: the engine holds 0x5a, the translation is cached read-only */
        fill(s, a, 0x00);
        dma(s, "write", a);
        expect_ram(s, a, 0x00, "write to a read-only page");
    }
    cost[1] = call(s, c, "map 0 w", k, base); /* read-write now: present entries change */
    for (unsigned i = 0; i < k; i++) {
        const uint64_t a = base + 2 * i * PG;
        dma(s, "write", a); /* only an invalidation lets the cached read-only translation go */
        expect_ram(s, a, 0x5a, "write after write permission was added");
        fill(s, a + PG, 0x77);
        dma(s, "write", a + PG); /* the page between: never mapped */
        expect_ram(s, a + PG, 0x77, "write between the mapped pages");
    }
    cost[2] = call(s, c, "unmap 0", k, base);
    for (unsigned i = 0; i < k; i++) {
        const uint64_t a = base + 2 * i * PG;
        fill(s, a, 0x11);
        dma(s, "write", a); /* the cached read-write translation must be gone */
        expect_ram(s, a, 0x11, "write after unmap");
    }
}

START_TEST(k_separate_pages_cost_one_invalidation)
{
    Svc s;
    Cli c;
    g_autofree char *conf = g_strdup_printf("smmu %s\nfault-poll-ms 60000", types[_i]);
    svc_start(&s, boards[_i], "smmuman", conf, true);
    cli_owning(&c, &s, 4);
    unsigned long one[3], many[3];
    round_trip(&s, &c, 1, board_addr(&s.b, 0x300000), one);
    round_trip(&s, &c, KMAX, board_addr(&s.b, 0x400000), many);
    static const char *const what[] = { "a map where nothing was", "adding write permission", "an unmap" };
    for (unsigned i = 0; i < 3; i++) {
        const unsigned long want = i == 0 ? 0 : one_submission[_i];
        ck_assert_msg(one[i] == want && many[i] == want,
                      "%s, %s: %lu register accesses for 1 page and %lu for %u separate pages, want %lu for both",
                      boards[_i], what[i], one[i], many[i], KMAX, want);
    }
    cli_stop(&c);
    svc_stop(&s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("inval");
    TCase *tc = tcase_create("boards");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, k_separate_pages_cost_one_invalidation, 0, 2);
    suite_add_tcase(s, tc);
    return check_run(s);
}
