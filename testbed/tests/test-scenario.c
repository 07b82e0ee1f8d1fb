/* Unit tests: the scenario language's parser, and the range arithmetic the
 * runner and the board fixture turn numbers into pointers with (no QEMU). */
#include <check.h>

#include "../../smmuman/tests/check-run.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "expect-value.h"
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
    G_GNUC_UNUSED g_autofree char *inc = write_file("common.inc", "client a\na obj => ok 0   # a comment\n");
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
    { "expect-state tired\n", ":1: expect-state: expected [service] running | dss" },
    /* Numbers that would take the runner outside RAM, the engine's buffer or
     * the 64-bit space are refused before any board starts. */
    { "ram fill ram+0x1000 0xfffffffffffff800 0x5a\n", ":1: ram fill: ram+0x1000 + LEN 18446744073709549568 runs past the end of the 64-bit address space" },
    { "ram expect 0xffffffffffffff00 0x101 0\n", ":1: ram expect: 0xffffffffffffff00 + LEN 257 runs past the end of the 64-bit" },
    { "ram fill pool+0xffffffffffffffff 2 0\n", ":1: ram fill: pool+0xffffffffffffffff + LEN 2 runs past the end" },
    { "ram fill ram+0 16 256\n", ":1: ram fill: BYTE: expected 0..255, got '256'" },
    { "ram fill ram+0 lots 1\n", ":1: ram fill: LEN: expected a size, got 'lots'" },
    { "ram expect somewhere 16 1\n", ":1: ram expect: ADDR: expected N, ram+N, pool+N or gpa(VM)+N, got 'somewhere'" },
    { "ram fill ram+0x100000000000000000 1 1\n", ":1: ram fill: ADDR: expected N, ram+N, pool+N or gpa(VM)+N" },
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
    { "expect-fault edu0 nowhere write\n", ":1: expect-fault: ADDR: expected N, ram+N, pool+N or gpa(VM)+N, got 'nowhere'" },
    { "kill service STOP\n", ":1: kill: expected a client name or 'service|VM|GUEST [TERM|INT|HUP|KILL]'" },
    /* a record's fields and the service's counters (expect-value.h) */
    { "expect-fault edu0 ram+0 write repeat=\n", ":1: expect-fault: repeat=: an empty value" },
    { "expect-fault edu0 ram+0 write repeat=many\n", ":1: expect-fault: repeat=: 'many': expected N or LO..HI" },
    { "expect-fault edu0 ram+0 write repeat=9..3\n", ":1: expect-fault: repeat=: '9..3': expected N or LO..HI (LO <= HI)" },
    { "expect-fault edu0 ram+0 write repeat=vtd:0,smmuv3:\n", ":1: expect-fault: repeat=: 'smmuv3:': expected N or LO..HI" },
    { "expect-fault edu0 ram+0 write repeat=1 td:0\n", ":1: expect-fault: 'td:0': expected one of from=, repeat=, dropped=" },
    { "expect-fault edu0 ram+0 write reason-name=F/X\n", ":1: expect-fault: reason-name=: 'F/X': expected a name" },
    { "expect-fault edu0 ram+0 write :1=2\n", ":1: expect-fault: ':1=2': expected one of from=" },
    { "expect-fault edu0 ram+0 write repeat=1 repeat=2\n", ":1: expect-fault: repeat given twice" },
    { "expect-fault edu0 ram+0 write colour=red\n", ":1: expect-fault: 'colour=red': expected one of from=, repeat=, dropped=, reason=, reason-name=" },
    { "expect-fault edu0 ram+0 write from=nobody\n", ":1: expect-fault: from=nobody: not a host client declared before" },
    { "expect-counters\n", ":1: expect-counters: expected [CLIENT] KEY=VALUE ..." },
    { "client a\nexpect-counters a\n", ":2: expect-counters: expected [CLIENT] KEY=VALUE ..." },
    { "expect-counters nobody seen=1\n", ":1: expect-counters: 'nobody' is not a host client declared before" },
    { "expect-counters queued=1\n", ":1: expect-counters: 'queued=1': expected one of seen=, unowned=, overflows=" },
    { "expect-counters seen=-1\n", ":1: expect-counters: seen=: '-1': expected N or LO..HI" },
    { "expect-counters seen=1 seen=1\n", ":1: expect-counters: seen given twice" },
    { "qvm v1\nguest g1 vm=v1\nclient d guest=g1\nexpect-counters d seen=0\n", ":4: expect-counters: 'd' is not a host client" },
    /* VMs, guests and their clients (docs/scenarios.md, "Guests") */
    { "qvm\n", ":1: qvm: expected NAME [fixture=PATH]" },
    { "qvm v1 fixture=\n", ":1: qvm: expected NAME [fixture=PATH]" },
    { "qvm running\n", ":1: qvm: 'running' is not a name" },
    { "qvm dma\n", ":1: qvm: 'dma' is not a name" },
    { "qvm .v\n", ":1: qvm: '.v' is not a name" },
    { "client a\nqvm a\n", ":2: qvm: 'a' declared twice (VMs, guests and clients share one set of names)" },
    { "qvm-config v1 ram 0,4K=0\n", ":1: qvm-config: no VM 'v1' declared before" },
    { "qvm v1\nqvm-config v1\n", ":2: qvm-config: expected NAME and a configuration line" },
    { "qvm v1\nqvm-config v1 ram 0,4K=ram+zz\n", ":2: qvm-config: 'ram+zz': expected ram+N, pool+N" },
    { "qvm v1\nqvm-config v1 ram gpa(v1)+0,4K=0\n", ":2: qvm-config: 'gpa(v1)+0': a guest-physical address has no meaning here" },
    { "qvm v1 fixture=x.vm\nqvm-config v1 system v1\n", ":2: qvm-config: VM 'v1' takes its configuration from fixture=" },
    { "guest g1 vm=v1\n", ":1: guest: no VM 'v1' declared before (qvm NAME)" },
    { "qvm v1\nguest g1\n", ":2: guest: expected NAME vm=VM [smmuman|smmuman-safety] [vdev=none]" },
    { "qvm v1\nguest g1 vm=v1 smmuman-turbo\n", ":2: guest: expected NAME vm=VM [smmuman|smmuman-safety] [vdev=none], got 'smmuman-turbo'" },
    { "qvm v1\nguest g1 vm=v1\nguest g2 vm=v1\n", ":3: guest: VM 'v1' already has a guest service (vdev-smmu takes one)" },
    { "qvm v1\nguest g1 vm=v1\nguest-config g1 allow b gpa(v2)+0,4096\n", ":3: guest-config: gpa(v2): no VM 'v2' declared before" },
    { "guest-config g1 allow b 0,4096\n", ":1: guest-config: no guest 'g1' declared before" },
    { "config allow b gpa(v9)+0,4096\n", ":1: config: gpa(v9): no VM 'v9' declared before" },
    { "config allow b pool+,4096\n", ":1: config: 'pool+': expected ram+N, pool+N or gpa(VM)+N" },
    { "client d guest=g1\n", ":1: client: no guest 'g1' declared before (guest NAME vm=VM)" },
    { "client d guest\n", ":1: client: expected NAME [target] or NAME guest=GUEST" },
    { "start v1 => running\n", ":1: start: expected VM or GUEST (declared before)" },
    { "qvm v1\nstart v1 => dss\n", ":2: start v1: expected '=> running' or '=> refused [REASON TEXT]'" },
    { "qvm v1\nguest g1 vm=v1\nstart g1 => refused\n", ":3: start g1: expected '=> running' or '=> dss [REASON TEXT]'" },
    { "qvm v1\nstart v1 => running now\n", ":2: start v1: expected '=> running' or '=> refused" },
    { "qvm v1\nstart v1\n", ":2: start v1: a VM or guest starts at a step of its own: 'start v1 => running'" },
    { "qvm v1\nexpect-state v1 running now\n", ":2: expect-state: expected VM running | dss [TEXT] | refused [TEXT] | stopped [TEXT] | exited N" },
    { "qvm v1\nguest g1 vm=v1\nexpect-state g1 stopped\n", ":3: expect-state: expected GUEST running | dss [REASON TEXT] | exited N" },
    { "qvm v1\nexpect-state v1 exited 256\n", ":2: expect-state: expected VM running" },
    { "expect-state refused\n", ":1: expect-state: expected [service] running | dss [REASON TEXT] | exited N" },
    { "qvm v1\nkill v1 STOP\n", ":2: kill: expected a client name or 'service|VM|GUEST [TERM|INT|HUP|KILL]'" },
    { "dma edu0 write gpa(v1)+0 64 => blocked\n", ":1: dma: gpa(v1)+0: no VM 'v1' declared before" },
    { "qvm v1\nram fill gpa(v1) 16 0\n", ":2: ram fill: ADDR: expected N, ram+N, pool+N or gpa(VM)+N, got 'gpa(v1)'" },
    { "qvm v1\nexpect-fault edu0 gpa()+0 write\n", ":2: expect-fault: ADDR: expected N, ram+N, pool+N or gpa(VM)+N" },
    { "qvm v1\nguest g1 vm=v1\nclient d guest=g1\nd map 0 rw gpa(v2)+0 4096\n", ":4: d: gpa(v2)+0: no VM 'v2' declared before" },
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

/* Per-board values: the first alternative for the board (its name or its
 * IOMMU's kind) or without a qualifier; ranges inclusive; and what parses. */
START_TEST(expect_values)
{
    char alt[64], why[160];
    ck_assert(ev_for_board("vtd:0,smmuv3:1023", "virt-smmuv3", "smmuv3", alt, sizeof alt));
    ck_assert_str_eq(alt, "1023");
    ck_assert(ev_for_board("vtd:0,smmuv3:1023", "q35-vtd", "vtd", alt, sizeof alt));
    ck_assert_str_eq(alt, "0");
    ck_assert(ev_for_board("q35-vtd:7,3", "q35-vtd", "vtd", alt, sizeof alt));
    ck_assert_str_eq(alt, "7");
    ck_assert(ev_for_board("q35-vtd:7,3", "virt-smmuv3", "smmuv3", alt, sizeof alt));
    ck_assert_str_eq(alt, "3");
    ck_assert(!ev_for_board("vtd:0", "virt-smmuv3", "smmuv3", alt, sizeof alt));
    ck_assert(!ev_for_board("vtd:0", "q35-bare", NULL, alt, sizeof alt));
    ck_assert(ev_num_matches("1..64", 1) && ev_num_matches("1..64", 64) && !ev_num_matches("1..64", 65));
    ck_assert(!ev_num_matches("1..64", 0) && ev_num_matches("0x13", 19) && !ev_num_matches("19", 18));
    ck_assert(ev_name_matches("F_PERMISSION", "F_PERMISSION") && !ev_name_matches("F_PERMISSION", "F_TRANSLATION"));
    ck_assert(!ev_name_matches("F_PERMISSION", NULL));
    ck_assert(ev_valid("0..0xffffffffffffffff", true, why, sizeof why));
    ck_assert(!ev_valid("0..0x10000000000000000", true, why, sizeof why));
    ck_assert(!ev_valid("vtd:write-not-permitted", true, why, sizeof why));
    ck_assert(ev_valid("vtd:write-not-permitted,smmuv3:F_PERMISSION", false, why, sizeof why));
    g_autofree char *path = write_file("fields.scn",
                                       "client a\n"
                                       "expect-fault edu0 ram+0 write from=a repeat=vtd:0,smmuv3:1023 dropped=0 reason=0x13 "
                                       "reason-name=vtd:write-not-permitted,smmuv3:F_PERMISSION\n"
                                       "expect-counters seen=0..3 unowned=0 overflows=0\n"
                                       "expect-counters a queued=64 dropped=6 seen=70\n");
    GError *e = NULL;
    Scenario *s = scenario_load(path, &e);
    ck_assert_msg(s, "%s", e ? e->message : "");
    ck_assert_uint_eq(s->steps->len, 3);
    scenario_free(s);
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

/* The language of VMs and guests: declarations, their configuration
 * lines with their origins, guest clients, and the steps that start,
 * watch and kill them. */
START_TEST(parses_vms_and_guests)
{
    G_GNUC_UNUSED g_autofree char *inc = write_file("vm.inc", "qvm v1\nqvm-config v1 ram ram+0,32M=ram+0x4000000\n"
                                                "qvm-config v1 pass loc pci:0:2.0=pci:0:4.0\n");
    g_autofree char *path = write_file("g.scn", "include vm.inc\nqvm v2 fixture=../{board}-pair-b.vm\n"
                                                "guest g1 vm=v1 smmuman-safety\nguest g2 vm=v2 vdev=none\n"
                                                "guest-config g1 allow b gpa(v1)+0x300000,4096\nclient drv guest=g1\nclient a\n"
                                                "config allow h ram+0x10000000,4K\n"
                                                "start v1 => running\nstart v2 => refused startup mapping (x.scn:3)\n"
                                                "start g1 => dss safety: uncertified\nexpect-state v1 dss the guest's service\n"
                                                "expect-state v1 exited 3\nexpect-state g1 running\nexpect-state service exited 137\n"
                                                "kill g1 TERM\nkill v1\nkill drv\n"
                                                "dma edu0 write gpa(v1)+0x1000 64 => blocked\nram expect gpa(v2)+4K 16 0\n"
                                                "drv map 0 rw gpa(v1)+0x300000 4096\nexpect-fault edu0 gpa(v1)+0 read\n");
    GError *e = NULL;
    Scenario *s = scenario_load(path, &e);
    ck_assert_msg(s, "%s", e ? e->message : "");
    ck_assert_uint_eq(s->vms->len, 2);
    const ScnVm *v1 = scenario_vm(s, "v1"), *v2 = scenario_vm(s, "v2");
    ck_assert(v1 && v2 && !scenario_vm(s, "g1"));
    ck_assert_ptr_null(v1->fixture);
    ck_assert_uint_eq(v1->config->len, 2);
    ck_assert_str_eq(g_ptr_array_index(v1->config, 0), "ram ram+0,32M=ram+0x4000000");
    ck_assert(g_str_has_suffix(g_ptr_array_index(v1->origin, 1), "vm.inc:3"));
    ck_assert(g_str_has_suffix(v2->fixture, "/../{board}-pair-b.vm")); /* relative to the scenario's file */
    const ScnGuest *g1 = scenario_guest(s, "g1"), *g2 = scenario_guest(s, "g2");
    ck_assert_str_eq(g1->vm, "v1");
    ck_assert_str_eq(g1->service, "smmuman-safety");
    ck_assert(!g1->no_vdev && g2->no_vdev);
    ck_assert_str_eq(g2->service, "smmuman");
    ck_assert_str_eq(g_ptr_array_index(g1->config, 0), "allow b gpa(v1)+0x300000,4096");
    ck_assert(g_str_has_suffix(g_ptr_array_index(g1->origin, 0), "g.scn:5"));
    ck_assert_str_eq(scenario_client_guest(s, "drv"), "g1");
    ck_assert_ptr_null(scenario_client_guest(s, "a"));
    ck_assert(g_str_has_suffix(g_ptr_array_index(s->config_origin, 0), "g.scn:8"));
    ck_assert_uint_eq(s->steps->len, 14);
    ScnStep *st = g_ptr_array_index(s->steps, 1);
    ck_assert_str_eq(st->words[0], "start");
    ck_assert_str_eq(st->expect[0], "refused");
    scenario_free(s);
}
END_TEST

/* Address words inside configuration lines: each at a word's start or
 * after ',' or '=', resolved by the caller; the rest untouched. */
static bool fake_resolve(void *ctx, ScnBase base, const char *vm, uint64_t off, uint64_t *addr, GError **err)
{
    (void)ctx;
    if (base == SCN_GPA && strcmp(vm, "nope") == 0) {
        g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL, "no VM '%s'", vm);
        return false;
    }
    *addr = (base == SCN_RAM ? 0x40000000u : base == SCN_POOL ? 0x5f000000u : base == SCN_GPA ? 0x80000000u : 0) + off;
    return true;
}

START_TEST(config_address_words)
{
    GError *e = NULL;
    g_autofree char *a = scenario_subst_addrs("ram ram+0,32M=ram+0x4000000", false, fake_resolve, NULL, &e);
    ck_assert_str_eq(a, "ram 0x40000000,32M=0x44000000");
    g_autofree char *b = scenario_subst_addrs("allow b gpa(vm1)+0x300000,4K,st", true, fake_resolve, NULL, &e);
    ck_assert_str_eq(b, "allow b 0x80300000,4K,st");
    /* inside a word ("myram+1") it is no address word; a keyword "ram" is none either */
    g_autofree char *c = scenario_subst_addrs("allow myram+1 pool+4K,4096", true, fake_resolve, NULL, &e);
    ck_assert_str_eq(c, "allow myram+1 0x5f001000,4096");
    g_autofree char *d = scenario_subst_addrs("allow b ram+1,2", true, NULL, NULL, &e); /* checking only */
    ck_assert_str_eq(d, "allow b ram+1,2");
    ck_assert_ptr_null(scenario_subst_addrs("allow b gpa(nope)+0,1", true, fake_resolve, NULL, &e));
    ck_assert_str_eq(e->message, "no VM 'nope'");
    g_clear_error(&e);
    ck_assert_ptr_null(scenario_subst_addrs("allow b gpa(vm1)0,1", true, NULL, NULL, &e));
    ck_assert_ptr_nonnull(strstr(e->message, "'gpa(vm1)0': expected ram+N, pool+N or gpa(VM)+N"));
    g_clear_error(&e);
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
    char vm[SCN_NAME_MAX + 1];
    ck_assert_int_eq(scenario_parse_addr_vm("gpa(vm-a)+0x2000", &b, vm, sizeof vm, &off), 0);
    ck_assert(b == SCN_GPA && off == 0x2000);
    ck_assert_str_eq(vm, "vm-a");
    ck_assert_int_eq(scenario_parse_addr_vm("ram+1", &b, vm, sizeof vm, &off), 0);
    ck_assert_str_eq(vm, "");
    ck_assert_int_eq(scenario_parse_addr("gpa()+1", &b, &off), -EINVAL);
    ck_assert_int_eq(scenario_parse_addr("gpa(x)", &b, &off), -EINVAL);
    ck_assert_int_eq(scenario_parse_addr("gpa(x)+", &b, &off), -EINVAL);
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
    tcase_add_test(tc, expect_values);
    tcase_add_test(tc, parses_vms_and_guests);
    tcase_add_test(tc, config_address_words);
    tcase_add_test(tc, address_words);
    suite_add_tcase(su, tc);
    TCase *sp = tcase_create("spans");
    tcase_add_test(sp, spans);
    suite_add_tcase(su, sp);
    return su;
}

int main(void) { return check_run(scenario_suite()); }
