/* The VM configuration parser (testbed/vm-config.c, docs/vm-config.md):
 * every fixture of fixtures/vms reads and keeps its promises (RAM inside its
 * board's RAM and off the table pool, a pair's backing and devices
 * disjoint), each error names FILE:LINE:COL and what was expected, and a
 * guest-physical range is translated (split where the backing is not
 * contiguous, refused where the guest has no RAM). No board needed. */
#include <check.h>

#include "../../smmuman/tests/check-run.h"

#include <errno.h>
#include <string.h>

#include "vm-config.h"

#ifndef VM_FIXTURES_DIR
#error "VM_FIXTURES_DIR: the build passes fixtures/vms"
#endif

static int parse(const char *text, VmConfig *c, char **msg)
{
    GError *err = NULL;
    int rc = vm_config_parse("t.vm", text, strlen(text), c, &err);
    *msg = err ? g_strdup(err->message) : NULL;
    if (err) g_error_free(err);
    return rc;
}

static void parses(const char *text, VmConfig *c)
{
    char *msg;
    int rc = parse(text, c, &msg);
    ck_assert_msg(rc == 0, "'%s': %s", text, msg ? msg : "?");
    g_free(msg);
}

/* ---- the fixtures ---------------------------------------------------------- */

typedef struct {
    const char *prefix;
    uint64_t ram_base, pool_base; /* the board's RAM starts at ram_base; the table pool ends it */
} Board;

static const Board boards[] = { { "q35-vtd", 0x0, 0x1f000000 }, { "virt-smmuv3", 0x40000000, 0x5f000000 } };

static void load(const char *name, VmConfig *c)
{
    g_autofree char *path = g_build_filename(VM_FIXTURES_DIR, name, NULL);
    GError *err = NULL;
    ck_assert_msg(vm_config_load(path, c, &err) == 0, "%s", err ? err->message : "?");
}

START_TEST(every_fixture_fits_its_board)
{
    GDir *d = g_dir_open(VM_FIXTURES_DIR, 0, NULL);
    ck_assert(d);
    unsigned seen = 0;
    for (const char *f; (f = g_dir_read_name(d));) {
        if (!g_str_has_suffix(f, ".vm")) continue;
        const Board *b = NULL;
        for (unsigned k = 0; k < G_N_ELEMENTS(boards); k++)
            if (g_str_has_prefix(f, boards[k].prefix)) b = &boards[k];
        ck_assert_msg(b, "%s: named after no IOMMU board", f);
        VmConfig c;
        load(f, &c);
        ck_assert_msg(c.n_pass > 0 && c.smmu >= 0, "%s: a fixture passes a device through and has a vdev smmu", f);
        for (unsigned k = 0; k < c.n_ram; k++)
            ck_assert_msg(c.ram[k].hpa >= b->ram_base && c.ram[k].hpa + c.ram[k].size <= b->pool_base,
                          "%s: ram at %s is backed outside %s's RAM or on its table pool", f, c.ram[k].where,
                          b->prefix);
        vm_config_clear(&c);
        seen++;
    }
    g_dir_close(d);
    ck_assert_uint_ge(seen, 6);
}
END_TEST

/* Two VMs of a pair share nothing on the host: no backing, no device. */
START_TEST(pairs_are_disjoint)
{
    const Board *b = &boards[_i];
    g_autofree char *fa = g_strdup_printf("%s-pair-a.vm", b->prefix), *fb = g_strdup_printf("%s-pair-b.vm", b->prefix);
    VmConfig a, z;
    load(fa, &a);
    load(fb, &z);
    for (unsigned i = 0; i < a.n_ram; i++)
        for (unsigned k = 0; k < z.n_ram; k++)
            ck_assert_msg(a.ram[i].hpa + a.ram[i].size <= z.ram[k].hpa || z.ram[k].hpa + z.ram[k].size <= a.ram[i].hpa,
                          "%s and %s share host memory", fa, fb);
    for (unsigned i = 0; i < a.n_pass; i++)
        ck_assert_msg(!vm_pass_by_host(&z, a.pass[i].host.bus, a.pass[i].host.dev, a.pass[i].host.func),
                      "%s and %s share a host device", fa, fb);
    ck_assert_str_ne(a.name, z.name);
    ck_assert_str_ne(a.vdev[a.smmu].loc, z.vdev[z.smmu].loc);
    vm_config_clear(&a);
    vm_config_clear(&z);
}
END_TEST

START_TEST(single_fixture_reads_as_written)
{
    VmConfig c;
    load("q35-vtd.vm", &c);
    ck_assert_str_eq(c.name, "vm1");
    ck_assert_uint_eq(c.n_ram, 2);
    ck_assert_uint_eq(c.ram[1].gpa, 0x2000000);
    ck_assert_uint_eq(c.ram[1].size, 32u << 20);
    ck_assert_uint_eq(c.ram[1].hpa, 0x8000000);
    ck_assert_uint_eq(c.n_pass, 2);
    ck_assert_uint_eq(c.pass[0].guest.dev, 2);
    ck_assert_uint_eq(c.pass[0].host.dev, 4);
    ck_assert_str_eq(c.vdev[c.smmu].loc, "vdev-smmu.sock");
    ck_assert_str_eq(c.vdev[c.smmu].name, "smmu");
    ck_assert(c.vdev[c.smmu].cert);
    for (unsigned k = 0; k < VM_CERT_N; k++) ck_assert(c.cert[k]);
    g_autofree char *ram = vm_ram_text(&c), *pass = vm_pass_text(&c);
    ck_assert_str_eq(ram, "0x0-0x1ffffff, 0x2000000-0x3ffffff");
    ck_assert_str_eq(pass, "pci:0:2.0, pci:0:3.0");
    vm_config_clear(&c);
}
END_TEST

/* ---- the grammar ------------------------------------------------------------- */

START_TEST(line_breaks_carry_no_meaning)
{
    VmConfig c;
    /* as for qvm: an option is its keyword and its words, wherever they stand */
    parses("ram\n  0x0,4K=0x1000 pass\nloc pci:0:1.0=pci:0:4.0 # a comment: ram x\n", &c);
    ck_assert_uint_eq(c.n_ram, 1);
    ck_assert_uint_eq(c.n_pass, 1);
    ck_assert_str_eq(c.name, "t"); /* no system: the file's name */
    ck_assert_int_eq(c.smmu, -1);   /* no vdev smmu: the VM has none */
    ck_assert(!c.cert[VM_CERT_QVM]); /* unstated: not certified */
    vm_config_clear(&c);
    parses("ram 0x0,4K=0x1000\r\nvdev smmu loc a.sock loc b.sock name s2 cert vdev:s2 yes\r\n", &c);
    ck_assert_str_eq(c.vdev[c.smmu].loc, "b.sock"); /* in a context the last instance wins (qvm) */
    ck_assert_str_eq(c.vdev[c.smmu].name, "s2");
    ck_assert(c.vdev[c.smmu].cert);
    vm_config_clear(&c);
    parses("ram 0x40000000,1G=0x100000000\nvdev ser8250 vdev smmu loc /run/x.sock cert vdev:ser8250 yes", &c);
    ck_assert_uint_eq(c.ram[0].size, 1ull << 30);
    ck_assert_uint_eq(c.n_vdev, 2);
    ck_assert(c.vdev[0].cert && !c.vdev[1].cert);
    ck_assert_int_eq(c.smmu, 1);
    vm_config_clear(&c);
    GError *err = NULL;
    ck_assert_int_eq(vm_config_parse("/etc/vms/my-vm.conf", "ram 0x0,4K=0x0", 14, &c, &err), 0);
    ck_assert_str_eq(c.name, "my-vm");
    vm_config_clear(&c);
}
END_TEST

typedef struct {
    const char *text, *msg;
} Bad;

static const Bad bad[] = {
    { "", "t.vm:1:1: expected at least one 'ram GPA,SIZE=HPA' (a VM has guest RAM)" },
    { "system vm1\n# nothing else\n", "t.vm:1:11: expected at least one 'ram GPA,SIZE=HPA' (a VM has guest RAM)" },
    { "ram 64M\n",
      "t.vm:1:5: ram: expected GPA,SIZE=HPA: the guest-physical start, the size and the host-physical backing "
      "(qvm's ram [GPA,]SIZE picks the backing itself; this model is told it) (got '64M')" },
    { "ram 0x0,0=0x1000", "t.vm:1:5: ram: expected SIZE greater than 0 (got '0x0,0=0x1000')" },
    { "ram 0x100,4K=0x0",
      "t.vm:1:5: ram: expected GPA, SIZE and HPA that are multiples of 4 KiB (the IOMMU's page) (got '0x100,4K=0x0')" },
    { "ram 0x0,zz=0x0",
      "t.vm:1:5: ram: expected SIZE as a number (0x hexadecimal or decimal, optional K/M/G suffix) (got '0x0,zz=0x0')" },
    { "ram 0xfffffffffffff000,8K=0x0", "t.vm:1:5: ram: expected GPA+SIZE that fits in 64 bits (got "
                                       "'0xfffffffffffff000,8K=0x0')" },
    { "ram 0x0,8K=0x10000\nram 0x1000,4K=0x20000",
      "t.vm:2:5: ram: guest-physical 0x1000-0x1fff overlaps the ram at t.vm:1:5" },
    { "ram 0x0,8K=0x10000\n  ram 0x4000,8K=0x11000",
      "t.vm:2:7: ram: host-physical 0x11000-0x12fff overlaps the backing of the ram at t.vm:1:5" },
    { "system a system b", "t.vm:1:10: system: the VM is already named at t.vm:1:1" },
    { "ram 0x0,4K=0x0\nsystem a",
      "t.vm:2:1: system: must come first (it names the VM before anything else, as for qvm)" },
    { "system -a", "t.vm:1:8: system: expected a NAME of letters, digits, '_', '-' and '.' (not first), at most 64 "
                   "(got '-a')" },
    { "pass loc pci:0:2.0=pci:0:4.0",
      "t.vm:1:1: pass: no ram before it (memory must be allocated before anything that refers to it)" },
    { "ram 0x0,4K=0x0 pass pci:0:2.0=pci:0:4.0 x",
      "t.vm:1:21: pass: expected 'loc' (pass loc SPEC, as for qvm) (got 'pci:0:2.0=pci:0:4.0')" },
    { "ram 0x0,4K=0x0 pass loc mem:0x2000,r=0x1000",
      "t.vm:1:25: pass: expected pci:GUEST_BDF=pci:HOST_BDF (memory pass-through, mem:, is not part of this model) "
      "(got 'mem:0x2000,r=0x1000')" },
    { "ram 0x0,4K=0x0 pass loc pci:0:32.0=pci:0:4.0",
      "t.vm:1:25: pass: expected the guest address as DEV as a decimal number 0..31 (guest=host) (got "
      "'pci:0:32.0=pci:0:4.0')" },
    { "ram 0x0,4K=0x0 pass loc pci:0:2.0=0:4.0",
      "t.vm:1:25: pass: expected the host address as pci:BUS:DEV.FUNC (guest=host) (got 'pci:0:2.0=0:4.0')" },
    { "ram 0x0,4K=0x0 pass loc pci:0:2.0",
      "t.vm:1:25: pass: expected pci:GUEST_BUS:DEV.FUNC=pci:HOST_BUS:DEV.FUNC (guest = host, decimal) (got "
      "'pci:0:2.0')" },
    { "ram 0x0,4K=0x0\npass loc pci:0:2.0=pci:0:4.0\npass loc pci:0:2.0=pci:0:5.0",
      "t.vm:3:10: pass: guest pci:0:2.0 is already taken at t.vm:2:10" },
    { "ram 0x0,4K=0x0\npass loc pci:0:2.0=pci:0:4.0\npass loc pci:0:3.0=pci:0:4.0",
      "t.vm:3:10: pass: host pci:0:4.0 is already passed through at t.vm:2:10" },
    { "ram 0x0,4K=0x0\nvdev smmu\n",
      "t.vm:2:1: vdev: smmu has no 'loc PATH' in its context (the socket its guest's smmuman connects to)" },
    { "ram 0x0,4K=0x0\nvdev smmu loc a cert qvm yes loc b",
      "t.vm:2:30: loc: only in a vdev context (after 'vdev TYPE', before the next option that is not the vdev's); "
      "usage: loc PATH (in a vdev context)" },
    { "ram 0x0,4K=0x0\nvdev smmu loc a\nvdev smmu loc b",
      "t.vm:3:6: vdev: a VM has one vdev smmu; one is already defined at t.vm:2:1" },
    { "ram 0x0,4K=0x0\nvdev foo\nvdev foo\nsystem x", "t.vm:3:1: vdev: name 'foo' is already used by the vdev at "
                                                      "t.vm:2:1 (give one a 'name NAME')" },
    { "ram 0x0,4K=0x0\ncpu 1", "t.vm:2:1: unknown keyword 'cpu' (expected one of: system ram pass vdev cert)" },
    { "ram 0x0,4K=0x0\nvdev smmu intr 5",
      "t.vm:2:11: unknown keyword 'intr' (expected one of: system ram pass vdev cert loc name)" },
    { "ram 0x0,4K=0x0\ncert smmuman yes",
      "t.vm:2:6: cert: 'smmuman': the host service reports its own certification (its variant and support library); "
      "a VM's configuration cannot state it" },
    { "ram 0x0,4K=0x0\ncert vdev:smmu yes",
      "t.vm:2:6: cert: expected COMPONENT: host-kernel, host-procnto, libsmmu, qvm, or vdev:NAME of a vdev defined "
      "before (got 'vdev:smmu')" },
    { "ram 0x0,4K=0x0\ncert qvm maybe", "t.vm:2:10: cert: expected yes or no (got 'maybe')" },
    { "ram 0x0,4K=0x0\ncert qvm yes\ncert qvm no", "t.vm:3:6: cert: 'qvm' is already stated at t.vm:2:1" },
    { "ram 0x0,4K=0x0\nram", "t.vm:2:1: ram: missing argument; usage: ram GPA,SIZE=HPA" },
    { "ram 0x0,4K=0x0 cert qvm", "t.vm:1:16: cert: missing arguments; usage: cert COMPONENT yes|no" },
    { "ram \x01", "t.vm:1:5: control character 0x01 (only spaces, tabs and line breaks separate words)" },
    { "ram 0x0,4K=0x0\nsystem \xff", "t.vm:2:8: not valid UTF-8" },
};

START_TEST(errors_name_where_and_what)
{
    const Bad *b = &bad[_i];
    VmConfig c;
    char *msg;
    int rc = parse(b->text, &c, &msg);
    ck_assert_msg(rc == -EINVAL, "'%s': rc %d, want -EINVAL (%s)", b->text, rc, msg ? msg : "no message");
    ck_assert_msg(msg && strcmp(msg, b->msg) == 0, "'%s':\n got  %s\n want %s", b->text, msg ? msg : "(none)", b->msg);
    /* a refused file leaves nothing */
    ck_assert_uint_eq(c.n_ram + c.n_pass + c.n_vdev, 0);
    ck_assert_ptr_null(c.name);
    g_free(msg);
}
END_TEST

START_TEST(limits)
{
    VmConfig c;
    char *msg;
    GString *s = g_string_new("ram 0x0,4K=0x0\n# ");
    for (unsigned i = 0; i < VM_MAX_LINE; i++) g_string_append_c(s, 'x');
    ck_assert_int_eq(parse(s->str, &c, &msg), -EINVAL);
    ck_assert_str_eq(msg, "t.vm:2:4097: line longer than 4096 bytes");
    g_free(msg);
    g_string_assign(s, "");
    for (unsigned i = 0; i <= VM_MAX_RAM; i++) g_string_append_printf(s, "ram 0x%x,4K=0x%x\n", i * 0x1000, i * 0x1000);
    ck_assert_int_eq(parse(s->str, &c, &msg), -EINVAL);
    ck_assert_str_eq(msg, "t.vm:65:1: ram: more than 64 ram ranges");
    g_free(msg);
    g_string_free(s, TRUE);
    GError *err = NULL;
    ck_assert_int_eq(vm_config_load("/nonexistent/vm.vm", &c, &err), -ENOENT);
    ck_assert_str_eq(err->message, "/nonexistent/vm.vm: No such file or directory");
    g_clear_error(&err);
    ck_assert_int_eq(vm_config_load("/dev/null", &c, &err), -EINVAL);
    ck_assert_str_eq(err->message, "/dev/null: not a regular file");
    g_clear_error(&err);
}
END_TEST

/* ---- translation ------------------------------------------------------------ */

START_TEST(translate_splits_and_refuses)
{
    VmConfig c;
    /* 0..8K at host 0x100000; 8K..12K at host 0x200000 (contiguous in the
     * guest, not in the host); 12K..16K at 0x201000 (back to back with the
     * one before in the host too); a hole; 64K..68K */
    parses("ram 0x0,8K=0x100000 ram 0x2000,4K=0x200000 ram 0x3000,4K=0x201000 ram 0x10000,4K=0x300000", &c);
    VmPiece p[8];
    unsigned n;
    ck_assert_int_eq(vm_translate(&c, 0x1800, 0x2000, p, 8, &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(p[0].gpa, 0x1800);
    ck_assert_uint_eq(p[0].len, 0x800);
    ck_assert_uint_eq(p[0].hpa, 0x101800);
    ck_assert_uint_eq(p[1].gpa, 0x2000);
    ck_assert_uint_eq(p[1].len, 0x1800); /* 0x2000-0x37ff: two ranges, one host run */
    ck_assert_uint_eq(p[1].hpa, 0x200000);
    ck_assert_int_eq(vm_translate(&c, 0x3000, 0x2000, p, 8, &n), -ERANGE); /* runs into the hole */
    ck_assert_int_eq(vm_translate(&c, 0x8000, 0x10, p, 8, &n), -ERANGE);   /* in the hole */
    ck_assert_int_eq(vm_translate(&c, 0x10fff, 2, p, 8, &n), -ERANGE);     /* past the end */
    ck_assert_int_eq(vm_translate(&c, 0x10000, 0x1000, p, 8, &n), 0);
    ck_assert_uint_eq(p[0].hpa, 0x300000);
    ck_assert_int_eq(vm_translate(&c, 0x0, 0x4000, p, 1, &n), -E2BIG);
    ck_assert_int_eq(vm_translate(&c, 0x0, 0, p, 8, &n), -EINVAL);
    ck_assert(vm_gpa_is_ram(&c, 0x3fff) && !vm_gpa_is_ram(&c, 0x4000) && !vm_gpa_is_ram(&c, UINT64_MAX));
    vm_config_clear(&c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("vm-config");
    TCase *tc = tcase_create("parser");
    tcase_add_test(tc, every_fixture_fits_its_board);
    tcase_add_loop_test(tc, pairs_are_disjoint, 0, G_N_ELEMENTS(boards));
    tcase_add_test(tc, single_fixture_reads_as_written);
    tcase_add_test(tc, line_breaks_carry_no_meaning);
    tcase_add_loop_test(tc, errors_name_where_and_what, 0, G_N_ELEMENTS(bad));
    tcase_add_test(tc, limits);
    tcase_add_test(tc, translate_splits_and_refuses);
    suite_add_tcase(s, tc);
    return check_run(s);
}
