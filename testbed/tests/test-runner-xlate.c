/* Unit tests of the runner's translation bookkeeping (testbed/runner-xlate.c):
 * the reference model fed from a scenario's configuration lines and its host
 * clients' requests, as the runner sends them, and what the runner then
 * asks it: where a DMA lands, where a read can be written back. No QEMU:
 * the board is the virt-smmuv3 board's facts (RAM at 0x40000000). */
#include <check.h>

#include "../../smmuman/tests/check-run.h"

#include <string.h>

#include "runner-base.h"
#include "runner-xlate.h"

#define RAM 0x40000000ull
#define EDU0 ref_pci(0, 4, 0)
#define EDU1 ref_pci(0, 5, 0)
#define EDU2 ref_pci(0, 6, 0)

static char *dir;
static Scenario *scn;
static RunOptions opt;
static Run run;

/* A run of the scenario text (its header lines) on the board's facts, the
 * model started as the runner starts it. */
static void start(const char *text)
{
    dir = g_dir_make_tmp("xlate-test-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "x.scn", NULL);
    ck_assert(g_file_set_contents(path, text, -1, NULL));
    GError *e = NULL;
    scn = scenario_load(path, &e);
    ck_assert_msg(scn, "%s", e ? e->message : "");
    memset(&run, 0, sizeof run);
    run.scn = scn;
    run.opt = &opt;
    run.rep = report_scenario_new("x", path, "virt-smmuv3");
    run.vms = g_ptr_array_new();
    run.inv.ram_base = RAM, run.inv.ram_size = 512u << 20, run.inv.pool_base = RAM + 0x1f000000, run.inv.pool_size = 16u << 20;
    run.inv.n_units = 1;
    strcpy(run.inv.units[0].kind, "smmuv3");
    run.inv.n_devices = 3;
    run.inv.devices[0].rid = EDU0, run.inv.devices[1].rid = EDU1, run.inv.devices[2].rid = EDU2;
    rn_xlate_start(&run);
    ck_assert_ptr_nonnull(run.ref);
}

static void stop(void)
{
    rn_xlate_stop(&run);
    g_ptr_array_unref(run.vms);
    report_scenario_free(run.rep);
    scenario_free(scn);
    g_autofree char *path = g_build_filename(dir, "x.scn", NULL);
    unlink(path);
    rmdir(dir);
    g_free(dir);
}

/* One host client's request and the service's reply, as the runner feeds them. */
static void did(const char *client, const char *cmd, const char *reply)
{
    g_autofree char *line = g_strdup_printf("%s %s", client, cmd);
    g_auto(GStrv) w = g_strsplit(line, " ", -1);
    Proc p = { .name = (char *)client };
    rn_xlate_command(&run, &p, w, reply);
    ck_assert_msg(!run.failure[0], "%s", run.failure);
}

static XlLanding lands(unsigned rid, uint64_t addr, uint64_t len, uint64_t *phys)
{
    *phys = 0;
    return rn_xlate_landing(&run, rid, addr, len, phys);
}

/* Configuration numbers as the service reads them: addresses hexadecimal,
 * lengths decimal, without a prefix. */
START_TEST(configuration)
{
    start("config allow a 40300000,8K,st\n"
          "config allow b ram+0x310000,4096,s\n"
          "config allow c 0d1077018624,0x1000\n" /* 0x40320000 */
          "config allow d 40330000,4096,t\n"
          "config device pci:0:6.0 a b c d use smmu0\n");
    RefPage p = ref_translate(run.ref, EDU2, RAM + 0x301000);
    ck_assert_uint_eq(p.perms, REF_READ | REF_WRITE);
    ck_assert_uint_eq(ref_translate(run.ref, EDU2, RAM + 0x302000).perms, 0); /* 8K: two pages */
    ck_assert_uint_eq(ref_translate(run.ref, EDU2, RAM + 0x310000).perms, REF_READ);
    ck_assert_uint_eq(ref_translate(run.ref, EDU2, RAM + 0x320000).perms, REF_READ | REF_WRITE);
    ck_assert_uint_eq(ref_translate(run.ref, EDU0, RAM + 0x300000).perms, 0);
    uint64_t phys, w;
    ck_assert_int_eq(lands(EDU2, RAM + 0x300800, 4096, &phys), XL_IDENTITY);
    /* a read of the read-only range is written back through a page that is readable too */
    ck_assert(rn_xlate_writable(&run, EDU2, RAM + 0x310000, 64, &w, &phys));
    ck_assert_uint_eq(w, RAM + 0x300000);
    ck_assert_uint_eq(phys, RAM + 0x300000);
    /* nor through the read's own address when that is write-only (a
     * scenario expecting a read through it to go through is wrong, and
     * must not be "proven" by a write-only page) */
    ck_assert(rn_xlate_writable(&run, EDU2, RAM + 0x330000, 64, &w, &phys));
    ck_assert_uint_eq(w, RAM + 0x300000);
    ck_assert(rn_xlate_writable(&run, EDU2, RAM + 0x300100, 64, &w, &phys));
    ck_assert_uint_eq(w, RAM + 0x300100);
    ck_assert(!rn_xlate_writable(&run, EDU0, RAM + 0x310000, 64, &w, &phys));
    stop();
}
END_TEST

START_TEST(target_mappings)
{
    start("client vm target\nclient a\n");
    uint64_t phys, w;
    did("vm", "obj", "ok 0");
    did("vm", "add 0 pci 0 5 0", "ok");
    ck_assert_int_eq(lands(EDU1, RAM + 0x100000, 64, &phys), XL_IDENTITY); /* nothing mapped: the device address */
    did("vm", "map 0 rwt ram+0x100000 0x1000 ram+0x180000 8K target=ram+0x400000", "ok");
    ck_assert_int_eq(lands(EDU1, RAM + 0x100010, 64, &phys), XL_TRANSLATED);
    ck_assert_uint_eq(phys, RAM + 0x400010);
    /* entries back to back from the target */
    ck_assert_int_eq(lands(EDU1, RAM + 0x180800, 4096, &phys), XL_TRANSLATED);
    ck_assert_uint_eq(phys, RAM + 0x401800);
    /* across the first entry into the second: they land apart */
    ck_assert_int_eq(lands(EDU1, RAM + 0x100800, 4096, &phys), XL_IDENTITY); /* 0x101000 is not mapped */
    did("vm", "map 0 rwt ram+0x101000 4096 target=ram+0x600000", "ok");
    ck_assert_int_eq(lands(EDU1, RAM + 0x100800, 4096, &phys), XL_SPLIT);
    ck_assert(rn_xlate_writable(&run, EDU1, RAM + 0x181000, 4096, &w, &phys));
    ck_assert_uint_eq(w, RAM + 0x181000);
    ck_assert_uint_eq(phys, RAM + 0x402000);
    /* a request the service refused changes nothing */
    did("vm", "unmap 0 ram+0x180000 0x1000", "err EINVAL");
    ck_assert_int_eq(lands(EDU1, RAM + 0x180000, 64, &phys), XL_TRANSLATED);
    did("vm", "unmap 0 ram+0x180000 0x1000", "ok");
    ck_assert_int_eq(lands(EDU1, RAM + 0x180000, 64, &phys), XL_IDENTITY);
    ck_assert_int_eq(lands(EDU1, RAM + 0x181000, 64, &phys), XL_TRANSLATED);
    ck_assert_uint_eq(phys, RAM + 0x402000);
    /* another client's device is not this one's */
    did("a", "obj", "ok 0");
    did("a", "add 0 pci 0 4 0", "ok");
    did("a", "map 0 r ram+0x100000 4096", "ok");
    ck_assert_int_eq(lands(EDU0, RAM + 0x100000, 64, &phys), XL_IDENTITY);
    ck_assert(!rn_xlate_writable(&run, EDU0, RAM + 0x100000, 64, &w, &phys));
    /* the client dies: its device is blocked, its translation gone */
    Proc vm = { .name = "vm" };
    rn_xlate_kill(&run, &vm);
    ck_assert_int_eq(lands(EDU1, RAM + 0x181000, 64, &phys), XL_IDENTITY);
    ck_assert(!rn_xlate_writable(&run, EDU1, RAM + 0x181000, 64, &w, &phys));
    stop();
}
END_TEST

/* destroy and fini undo; a guest's client is not the host's model's */
START_TEST(undone)
{
    start("client vm target\n");
    uint64_t phys;
    did("vm", "obj", "ok 0");
    did("vm", "add 0 pci 0 5 0", "ok");
    did("vm", "map 0 rwt ram+0x100000 4096 target=ram+0x400000", "ok");
    did("vm", "destroy 0", "ok");
    ck_assert_int_eq(lands(EDU1, RAM + 0x100000, 64, &phys), XL_IDENTITY);
    did("vm", "obj", "ok 0");
    did("vm", "add 0 pci 0 5 0", "ok");
    did("vm", "map 0 rwt ram+0x100000 4096 target=ram+0x400000", "ok");
    ck_assert_int_eq(lands(EDU1, RAM + 0x100000, 64, &phys), XL_TRANSLATED);
    did("vm", "fini", "ok");
    ck_assert_int_eq(lands(EDU1, RAM + 0x100000, 64, &phys), XL_IDENTITY);
    stop();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("runner-xlate");
    TCase *tc = tcase_create("xlate");
    tcase_add_test(tc, configuration);
    tcase_add_test(tc, target_mappings);
    tcase_add_test(tc, undone);
    suite_add_tcase(s, tc);
    return check_run(s);
}
