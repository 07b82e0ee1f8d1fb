/* Unit tests: the configuration grammar (docs/configuration.md). Files are
 * written into a private directory under g_get_tmp_dir(), removed after each
 * test. Error messages are compared whole: their location and wording are the
 * interface a user sees. */
#include <check.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check-run.h"
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../service/config.h"

#define KEYWORDS "smmu unit allow device reserved safety debug foreground platform " \
                 "attach-socket target-socket target-mode status-file log-file vdev-smmu fault-poll-ms scrub-ms client-pages client-objects client-devices client-regions max-clients"
#define UNKNOWN(w) "unknown keyword '" w "' (expected one of: " KEYWORDS " or @FILE)"
#define ADDR_RULES "hexadecimal unless prefixed 0d, optional K/M/G suffix"
#define LEN_RULES "decimal unless prefixed 0x, optional K/M/G suffix"
#define GUEST_NOTE "ignored in a guest: it only means something to the host service"

static char *tmpdir;
static SmmuConfig cfg;
static GError *error;

static void remove_tree(const char *path)
{
    GDir *d = g_dir_open(path, 0, NULL);
    if (d) {
        const char *name;
        while ((name = g_dir_read_name(d))) {
            char *sub = g_build_filename(path, name, NULL);
            remove_tree(sub);
            g_free(sub);
        }
        g_dir_close(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

/* The directory is made and removed by the runner's process (an unchecked
 * fixture): a failing test ends its forked child before any teardown there,
 * and must not leave files behind. Tests overwrite what they need. */
static void make_tmpdir(void)
{
    char *tmpl = g_build_filename(g_get_tmp_dir(), "test-config-XXXXXX", NULL);
    tmpdir = g_mkdtemp(tmpl);
    ck_assert_ptr_nonnull(tmpdir);
}

static void remove_tmpdir(void)
{
    remove_tree(tmpdir);
    g_free(tmpdir);
    tmpdir = NULL;
}

static void setup(void)
{
    memset(&cfg, 0, sizeof cfg);
    error = NULL;
}

static void teardown(void)
{
    smmu_config_clear(&cfg);
    g_clear_error(&error);
}

/* Writes len bytes (or the string, len < 0) to tmpdir/name; returns the path. */
static char *write_file_n(const char *name, const char *text, gssize len)
{
    char *path = g_build_filename(tmpdir, name, NULL);
    char *dir = g_path_get_dirname(path);
    ck_assert_int_eq(g_mkdir_with_parents(dir, 0700), 0);
    g_free(dir);
    ck_assert(g_file_set_contents(path, text, len, NULL));
    return path;
}

static char *write_file(const char *name, const char *text)
{
    return write_file_n(name, text, -1);
}

/* Parses the NULL-terminated words. */
static int parse_v(bool guest, const char *first, va_list ap)
{
    GPtrArray *argv = g_ptr_array_new();
    for (const char *w = first; w; w = va_arg(ap, const char *)) g_ptr_array_add(argv, (char *)w);
    smmu_config_clear(&cfg);
    g_clear_error(&error);
    int rc = smmu_config_parse((int)argv->len, (char *const *)argv->pdata, guest, &cfg, &error);
    g_ptr_array_free(argv, TRUE);
    if (rc == 0) ck_assert_ptr_null(error);
    else ck_assert_ptr_nonnull(error);
    return rc;
}

static int parse(const char *first, ...) G_GNUC_NULL_TERMINATED;
static int parse(const char *first, ...)
{
    va_list ap;
    va_start(ap, first);
    int rc = parse_v(false, first, ap);
    va_end(ap);
    return rc;
}

static int parse_guest(const char *first, ...) G_GNUC_NULL_TERMINATED;
static int parse_guest(const char *first, ...)
{
    va_list ap;
    va_start(ap, first);
    int rc = parse_v(true, first, ap);
    va_end(ap);
    return rc;
}

/* Parses the text as "@tmpdir/t.conf" (host). */
static int parse_text_n(const char *text, gssize len)
{
    char *path = write_file_n("t.conf", text, len);
    char *word = g_strconcat("@", path, NULL);
    int rc = parse(word, NULL);
    g_free(word);
    g_free(path);
    return rc;
}

static int parse_text(const char *text)
{
    return parse_text_n(text, -1);
}

/* "@F@" in a pattern stands for tmpdir. */
static char *expand(const char *pattern)
{
    GString *s = g_string_new(NULL);
    for (const char *c = pattern; *c;) {
        if (g_str_has_prefix(c, "@F@")) {
            g_string_append(s, tmpdir);
            c += 3;
        } else {
            g_string_append_c(s, *c++);
        }
    }
    return g_string_free(s, FALSE);
}

static bool cfg_is_cleared(const SmmuConfig *c)
{
    SmmuConfig zero;
    memset(&zero, 0, sizeof zero);
    return memcmp(c, &zero, sizeof zero) == 0;
}

static void assert_error(int rc, int want_rc, const char *pattern)
{
    char *want = expand(pattern);
    ck_assert_int_eq(rc, want_rc);
    ck_assert_ptr_nonnull(error);
    ck_assert_str_eq(error->message, want);
    ck_assert_int_eq(error->code, -want_rc);
    ck_assert_msg(cfg_is_cleared(&cfg), "cfg not cleared after an error");
    g_free(want);
}

static CfgUnit *unit_at(guint i) { return g_ptr_array_index(cfg.units, i); }
static CfgAllow *allow_at(guint i) { return g_ptr_array_index(cfg.allows, i); }
static CfgDevice *device_at(guint i) { return g_ptr_array_index(cfg.devices, i); }
static const char *notice_at(guint i) { return g_ptr_array_index(cfg.notices, i); }
static const char *device_allow(guint d, guint i) { return g_ptr_array_index(device_at(d)->allow, i); }
static CfgReserved *reserved_at(guint d, guint i)
{
    return &g_array_index(device_at(d)->reserved, CfgReserved, i);
}

static void assert_where(const CfgWhere *w, const char *file_pattern, unsigned line, unsigned col)
{
    char *want = expand(file_pattern);
    ck_assert_str_eq(w->file, want);
    ck_assert_uint_eq(w->line, line);
    ck_assert_uint_eq(w->col, col);
    g_free(want);
}

/* ---- numbers ------------------------------------------------------------- */

START_TEST(addresses_are_hex_by_default)
{
    static const struct { const char *s; uint64_t v; } ok[] = {
        { "fed90000", 0xfed90000 }, { "FED90000", 0xfed90000 }, { "10", 0x10 }, { "0", 0 },
        { "fed", 0xfed }, { "d", 0xd }, { "ad", 0xad }, { "0x10", 0x10 }, { "0X1f", 0x1f },
        { "0d10", 10 }, { "0D4096", 4096 }, { "1k", 0x400 }, { "1K", 0x400 }, { "2m", 0x200000 },
        { "2M", 0x200000 }, { "1g", 0x40000000 }, { "1G", 0x40000000 }, { "0x10K", 16384 },
        { "0d10M", 10ull << 20 }, { "fK", 15 * 1024 }, { "00d", 0xd }, { "0x0d", 0xd },
        { "ffffffffffffffff", UINT64_MAX }, { "3fffffffg", 0x3fffffffull << 30 },
        { "0d18446744073709551615", UINT64_MAX }, { "0b1", 0xb1 }, { "bd", 0xbd },
    };
    for (unsigned i = 0; i < G_N_ELEMENTS(ok); i++) {
        uint64_t v = 1234;
        ck_assert_msg(cfg_parse_address(ok[i].s, &v) == 0, "'%s'", ok[i].s);
        ck_assert_msg(v == ok[i].v, "'%s' -> %#" G_GINT64_MODIFIER "x", ok[i].s, v);
    }
    static const char *const range[] = { "10000000000000000", "0x1ffffffffffffffff", "400000000G",
                                         "0d18446744073709551616", "400000000000000k",
                                         "0x100000000000m" };
    for (unsigned i = 0; i < G_N_ELEMENTS(range); i++) {
        uint64_t v = 1234;
        ck_assert_msg(cfg_parse_address(range[i], &v) == -ERANGE, "'%s'", range[i]);
        ck_assert_uint_eq(v, 1234); /* untouched */
    }
    static const char *const bad[] = { "", "0x", "0X", "0d", "k", "0xk", "0dk", "-1", "+1", " 1",
                                       "1 ", "1kk", "g1", "0dff", "1.5", "12h", "0x-1", "1,2",
                                       "0o1", "ffffffffffffffffffffz", "1kb", "\t1" };
    for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++) {
        uint64_t v = 1234;
        ck_assert_msg(cfg_parse_address(bad[i], &v) == -EINVAL, "'%s'", bad[i]);
        ck_assert_uint_eq(v, 1234);
    }
    uint64_t v;
    ck_assert_int_eq(cfg_parse_address(NULL, &v), -EINVAL);
}
END_TEST

START_TEST(lengths_are_decimal_by_default)
{
    static const struct { const char *s; uint64_t v; } ok[] = {
        { "4096", 4096 }, { "10", 10 }, { "0", 0 }, { "010", 10 }, { "0x10", 16 }, { "0X10", 16 },
        { "0xfed", 0xfed }, { "0d10", 10 }, { "0D10", 10 }, { "4k", 4096 }, { "4K", 4096 },
        { "1m", 1 << 20 }, { "1M", 1 << 20 }, { "3g", 3ull << 30 }, { "3G", 3ull << 30 },
        { "0x10k", 16384 }, { "0d2M", 2 << 20 }, { "18446744073709551615", UINT64_MAX },
        { "17179869183G", 17179869183ull << 30 },
    };
    for (unsigned i = 0; i < G_N_ELEMENTS(ok); i++) {
        uint64_t v = 1234;
        ck_assert_msg(cfg_parse_length(ok[i].s, &v) == 0, "'%s'", ok[i].s);
        ck_assert_msg(v == ok[i].v, "'%s' -> %" G_GUINT64_FORMAT, ok[i].s, v);
    }
    static const char *const range[] = { "18446744073709551616", "17179869184G", "99999999999999999999",
                                         "0x10000000000000000", "18014398509481984k" };
    for (unsigned i = 0; i < G_N_ELEMENTS(range); i++) {
        uint64_t v;
        ck_assert_msg(cfg_parse_length(range[i], &v) == -ERANGE, "'%s'", range[i]);
    }
    static const char *const bad[] = { "", "ff", "fed90000", "1d", "0x", "0d", "M", "-4096",
                                       "+4096", "4096 ", " 4096", "4kk", "4KB", "1e3", "4_096",
                                       "0dx1", "0x1g0" };
    for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++) {
        uint64_t v;
        ck_assert_msg(cfg_parse_length(bad[i], &v) == -EINVAL, "'%s'", bad[i]);
    }
}
END_TEST

/* ---- what parses --------------------------------------------------------- */

START_TEST(defaults)
{
    ck_assert_int_eq(parse(NULL, NULL), 0);
    ck_assert_ptr_null(cfg.smmu_type);
    ck_assert_ptr_null(cfg.smmu_param);
    ck_assert_ptr_null(cfg.smmu_where.file);
    ck_assert_uint_eq(cfg.units->len, 0);
    ck_assert_uint_eq(cfg.allows->len, 0);
    ck_assert_uint_eq(cfg.devices->len, 0);
    ck_assert_uint_eq(cfg.notices->len, 0);
    ck_assert_int_eq(cfg.safety, CFG_SAFETY_NONE);
    ck_assert(!cfg.safety_given);
    ck_assert_uint_eq(cfg.debug, 0);
    ck_assert(!cfg.foreground);
    ck_assert_ptr_null(cfg.platform);
    ck_assert_str_eq(cfg.attach_socket, SMMU_DEFAULT_SOCKET);
    ck_assert_str_eq(cfg.target_socket, SMMU_DEFAULT_TARGET_SOCKET);
    ck_assert_uint_eq(cfg.target_mode, 0600);
    ck_assert_ptr_null(cfg.status_file);
    ck_assert_ptr_null(cfg.log_file);
    ck_assert_uint_eq(cfg.fault_poll_ms, 10);
    ck_assert_uint_eq(cfg.scrub_ms, 1000);
    /* blank lines and comments only: the same */
    ck_assert_int_eq(parse_text("\n# nothing\n   \n\t# indented comment\n"), 0);
    ck_assert_uint_eq(cfg.devices->len, 0);
    ck_assert_uint_eq(cfg.fault_poll_ms, 10);
    /* empty and blank command-line words are no words */
    ck_assert_int_eq(parse("", "  \t", NULL), 0);
}
END_TEST

static const char full_config[] =
    "# a host configuration using every keyword\n"
    "smmu vtd require\n"
    "unit dmar0 fed90000\n"
    "unit smmu0 0x9050000,74,77\n"
    "unit smmu1 9060000,80\n"
    "allow ring 0x100000,64k,s\n"
    "allow buf 200000,0x2000,t   # trailing comment\n"
    "allow both 300000,4096,ts\n"
    "allow all 400000,1M\n"
    "\n"
    "device pci:0:2.0 ring buf use dmar0\n"
    "  reserved e0000,64K,s\n"
    "\treserved f0000,4096\n"
    "device pci:255:31.7 use smmu0\n"
    "device mem:fe000000\n"
    "reserved 0d4096,0x1000,st\n"
    "device mem:0x1c000000,4k all\n"
    "safety warn\n"
    "debug 2\n"
    "foreground\n"
    "platform board:/run/boards/q35\n"
    "attach-socket /tmp/a.sock\n"
    "target-socket /tmp/t.sock\n"
    "target-mode 0660\n"
    "status-file /tmp/status\n"
    "log-file /tmp/log\n"
    "fault-poll-ms 25\n"
    "scrub-ms 5000\n"
    "client-pages 300\n"
    "client-objects 7\n"
    "client-devices 3\n"
    "client-regions 100\n"
    "max-clients 9\n";

START_TEST(every_keyword_from_a_file)
{
    ck_assert_int_eq(parse_text(full_config), 0);
    ck_assert_str_eq(cfg.smmu_type, "vtd");
    ck_assert_str_eq(cfg.smmu_param, "require");
    assert_where(&cfg.smmu_where, "@F@/t.conf", 2, 1);

    ck_assert_uint_eq(cfg.units->len, 3);
    ck_assert_str_eq(unit_at(0)->name, "dmar0");
    ck_assert_uint_eq(unit_at(0)->paddr, 0xfed90000);
    ck_assert_int_eq(unit_at(0)->evtq_irq, -1);
    ck_assert_int_eq(unit_at(0)->gerror_irq, -1);
    assert_where(&unit_at(0)->where, "@F@/t.conf", 3, 1);
    ck_assert_str_eq(unit_at(1)->name, "smmu0");
    ck_assert_uint_eq(unit_at(1)->paddr, 0x9050000);
    ck_assert_int_eq(unit_at(1)->evtq_irq, 74);
    ck_assert_int_eq(unit_at(1)->gerror_irq, 77);
    ck_assert_uint_eq(unit_at(2)->paddr, 0x9060000);
    ck_assert_int_eq(unit_at(2)->evtq_irq, 80);
    ck_assert_int_eq(unit_at(2)->gerror_irq, -1);

    ck_assert_uint_eq(cfg.allows->len, 4);
    ck_assert_str_eq(allow_at(0)->name, "ring");
    ck_assert_uint_eq(allow_at(0)->start, 0x100000);
    ck_assert_uint_eq(allow_at(0)->len, 65536);
    ck_assert_uint_eq(allow_at(0)->perms, SMF_READ);
    assert_where(&allow_at(0)->where, "@F@/t.conf", 6, 1);
    ck_assert_str_eq(allow_at(1)->name, "buf");
    ck_assert_uint_eq(allow_at(1)->start, 0x200000);
    ck_assert_uint_eq(allow_at(1)->len, 0x2000);
    ck_assert_uint_eq(allow_at(1)->perms, SMF_WRITE);
    ck_assert_uint_eq(allow_at(2)->perms, SMF_READ | SMF_WRITE);
    ck_assert_uint_eq(allow_at(3)->len, 1 << 20);
    ck_assert_uint_eq(allow_at(3)->perms, SMF_READ | SMF_WRITE);

    ck_assert_uint_eq(cfg.devices->len, 4);
    CfgDevice *d = device_at(0);
    ck_assert_uint_eq(d->id.type, SDT_PCI);
    ck_assert_uint_eq(d->id.pci.bus, 0);
    ck_assert_uint_eq(d->id.pci.dev, 2);
    ck_assert_uint_eq(d->id.pci.func, 0);
    ck_assert_uint_eq(d->allow->len, 2);
    ck_assert_str_eq(device_allow(0, 0), "ring");
    ck_assert_str_eq(device_allow(0, 1), "buf");
    ck_assert_str_eq(d->use_unit, "dmar0");
    ck_assert(!d->has_use_param);
    assert_where(&d->where, "@F@/t.conf", 11, 1);
    ck_assert_uint_eq(d->reserved->len, 2);
    ck_assert_uint_eq(reserved_at(0, 0)->start, 0xe0000);
    ck_assert_uint_eq(reserved_at(0, 0)->len, 65536);
    ck_assert_uint_eq(reserved_at(0, 0)->perms, SMF_READ);
    assert_where(&reserved_at(0, 0)->where, "@F@/t.conf", 12, 3);
    ck_assert_uint_eq(reserved_at(0, 1)->start, 0xf0000);
    ck_assert_uint_eq(reserved_at(0, 1)->len, 4096);
    ck_assert_uint_eq(reserved_at(0, 1)->perms, SMF_READ | SMF_WRITE);
    assert_where(&reserved_at(0, 1)->where, "@F@/t.conf", 13, 2);

    d = device_at(1);
    ck_assert_uint_eq(d->id.pci.bus, 255);
    ck_assert_uint_eq(d->id.pci.dev, 31);
    ck_assert_uint_eq(d->id.pci.func, 7);
    ck_assert_uint_eq(d->allow->len, 0);
    ck_assert_str_eq(d->use_unit, "smmu0");
    ck_assert(!d->has_use_param); /* VT-d: no PARAM (vtd_takes_no_use_param) */
    ck_assert_uint_eq(d->reserved->len, 0);

    d = device_at(2);
    ck_assert_uint_eq(d->id.type, SDT_MMIO);
    ck_assert_uint_eq(d->id.mmio.phys, 0xfe000000);
    ck_assert_uint_eq(d->id.mmio.length, 0);
    ck_assert_ptr_null(d->use_unit);
    ck_assert_uint_eq(d->reserved->len, 1);
    ck_assert_uint_eq(reserved_at(2, 0)->start, 4096);
    ck_assert_uint_eq(reserved_at(2, 0)->len, 4096);
    ck_assert_uint_eq(reserved_at(2, 0)->perms, SMF_READ | SMF_WRITE);

    d = device_at(3);
    ck_assert_uint_eq(d->id.mmio.phys, 0x1c000000);
    ck_assert_uint_eq(d->id.mmio.length, 4096);
    ck_assert_str_eq(device_allow(3, 0), "all");

    ck_assert_int_eq(cfg.safety, CFG_SAFETY_WARN);
    ck_assert(cfg.safety_given);
    ck_assert_uint_eq(cfg.debug, 2);
    ck_assert(cfg.foreground);
    ck_assert_str_eq(cfg.platform, "board:/run/boards/q35");
    ck_assert_str_eq(cfg.attach_socket, "/tmp/a.sock");
    ck_assert_str_eq(cfg.target_socket, "/tmp/t.sock");
    ck_assert_uint_eq(cfg.target_mode, 0660);
    ck_assert_str_eq(cfg.status_file, "/tmp/status");
    ck_assert_str_eq(cfg.log_file, "/tmp/log");
    ck_assert_uint_eq(cfg.fault_poll_ms, 25);
    ck_assert_uint_eq(cfg.scrub_ms, 5000);
    ck_assert_uint_eq(cfg.notices->len, 0);
}
END_TEST

START_TEST(command_line_words)
{
    /* options in separate words, several in one word, and a word with tabs */
    ck_assert_int_eq(parse("smmu", "smmuv3", "unit smmu0 9050000,74,77", "allow", "dma",
                           "0,16M", "device pci:0:3.1\tdma  use smmu0 24", "foreground",
                           "debug", "1", "safety required", "scrub-ms 10", "fault-poll-ms 60000",
                           "target-mode", "0", NULL), 0);
    ck_assert_str_eq(cfg.smmu_type, "smmuv3");
    ck_assert_ptr_null(cfg.smmu_param);
    assert_where(&cfg.smmu_where, "command line", 1, 1);
    ck_assert_uint_eq(cfg.units->len, 1);
    ck_assert_int_eq(unit_at(0)->evtq_irq, 74);
    ck_assert_int_eq(unit_at(0)->gerror_irq, 77);
    assert_where(&unit_at(0)->where, "command line", 3, 1);
    ck_assert_uint_eq(allow_at(0)->len, 16 << 20);
    assert_where(&allow_at(0)->where, "command line", 4, 1);
    ck_assert_uint_eq(device_at(0)->id.pci.dev, 3);
    ck_assert_uint_eq(device_at(0)->id.pci.func, 1);
    ck_assert_str_eq(device_allow(0, 0), "dma");
    ck_assert_str_eq(device_at(0)->use_unit, "smmu0");
    ck_assert_uint_eq(device_at(0)->use_param, 24);
    assert_where(&device_at(0)->where, "command line", 7, 1);
    ck_assert(cfg.foreground);
    ck_assert_uint_eq(cfg.debug, 1);
    ck_assert_int_eq(cfg.safety, CFG_SAFETY_REQUIRED);
    ck_assert_uint_eq(cfg.scrub_ms, 10);
    ck_assert_uint_eq(cfg.fault_poll_ms, 60000);
    ck_assert_uint_eq(cfg.target_mode, 0);

    /* '#' is no comment on the command line */
    ck_assert_int_eq(parse("status-file", "/tmp/a#b", NULL), 0);
    ck_assert_str_eq(cfg.status_file, "/tmp/a#b");
    /* nor on a file line's inside: a word ends there */
    ck_assert_int_eq(parse_text("smmu vtd#require\nsafety none#x"), 0);
    ck_assert_ptr_null(cfg.smmu_param);
    ck_assert_int_eq(cfg.safety, CFG_SAFETY_NONE);
    ck_assert(cfg.safety_given);
}
END_TEST

START_TEST(last_wins_and_accumulate)
{
    ck_assert_int_eq(parse_text("smmu vtd ignore\n"
                                "safety required\n"
                                "debug 2\n"
                                "platform board:a\n"
                                "attach-socket /a\n"
                                "target-socket /t\n"
                                "target-mode 0600\n"
                                "status-file /s\n"
                                "log-file /l\n"
                                "fault-poll-ms 1\n"
                                "scrub-ms 3600000\n"
                                "allow a 0,1\n"
                                "unit u0 1000\n"
                                "device pci:0:1.0\n"),
                     0);
    /* then the command line continues the same input */
    char *path = g_build_filename(tmpdir, "t.conf", NULL);
    char *word = g_strconcat("@", path, NULL);
    ck_assert_int_eq(parse(word, "smmu vtd", "safety none", "debug 1", "platform board:b",
                           "attach-socket /a2", "target-socket /t2", "target-mode 0777",
                           "status-file /s2", "log-file /l2", "fault-poll-ms 2", "scrub-ms 11",
                           "allow b 1,1", "unit u1 2000", "device pci:0:1.1", "smmu smmuv3",
                           NULL),
                     0);
    ck_assert_str_eq(cfg.smmu_type, "smmuv3");
    ck_assert_ptr_null(cfg.smmu_param); /* the last occurrence entirely, not merged */
    assert_where(&cfg.smmu_where, "command line", 16, 1);
    ck_assert_int_eq(cfg.safety, CFG_SAFETY_NONE);
    ck_assert(cfg.safety_given);
    ck_assert_uint_eq(cfg.debug, 1);
    ck_assert_str_eq(cfg.platform, "board:b");
    ck_assert_str_eq(cfg.attach_socket, "/a2");
    ck_assert_str_eq(cfg.target_socket, "/t2");
    ck_assert_uint_eq(cfg.target_mode, 0777);
    ck_assert_str_eq(cfg.status_file, "/s2");
    ck_assert_str_eq(cfg.log_file, "/l2");
    ck_assert_uint_eq(cfg.fault_poll_ms, 2);
    ck_assert_uint_eq(cfg.scrub_ms, 11);
    ck_assert_uint_eq(cfg.allows->len, 2);
    ck_assert_str_eq(allow_at(1)->name, "b");
    ck_assert_uint_eq(cfg.units->len, 2);
    ck_assert_str_eq(unit_at(1)->name, "u1");
    ck_assert_uint_eq(cfg.devices->len, 2);
    ck_assert_uint_eq(device_at(1)->id.pci.func, 1);
    assert_where(&device_at(0)->where, "@F@/t.conf", 14, 1);
    assert_where(&device_at(1)->where, "command line", 15, 1);

    /* vtd keeps its PARAM when vtd is named again with one */
    ck_assert_int_eq(parse("smmu smmuv3", "smmu vtd require", NULL), 0);
    ck_assert_str_eq(cfg.smmu_param, "require");
    /* any TYPE:ARGUMENT platform parses: whether its module exists is the
     * loader's to say at start-up, naming the path it tried */
    ck_assert_int_eq(parse("platform devmem:/dev/mem", NULL), 0);
    ck_assert_str_eq(cfg.platform, "devmem:/dev/mem");
    g_free(word);
    g_free(path);
}
END_TEST

START_TEST(device_specs)
{
    ck_assert_int_eq(parse("device pci:0:0.0", "device pci:00:01.2", "device pci:255:31.7",
                           "device mem:fed00000", "device mem:0x1000,4k", "device mem:0d8192,0x10",
                           "device mem:ffffffff,4294967295", "device pci:7:0.0", NULL),
                     0);
    ck_assert_uint_eq(cfg.devices->len, 8);
    ck_assert_uint_eq(device_at(1)->id.pci.dev, 1);
    ck_assert_uint_eq(device_at(1)->id.pci.func, 2);
    ck_assert_uint_eq(device_at(3)->id.mmio.phys, 0xfed00000);
    ck_assert_uint_eq(device_at(3)->id.mmio.length, 0);
    ck_assert_uint_eq(device_at(4)->id.mmio.phys, 0x1000);
    ck_assert_uint_eq(device_at(4)->id.mmio.length, 4096);
    ck_assert_uint_eq(device_at(5)->id.mmio.phys, 8192);
    ck_assert_uint_eq(device_at(5)->id.mmio.length, 16);
    ck_assert_uint_eq(device_at(6)->id.mmio.length, UINT32_MAX);
    ck_assert_uint_eq(device_at(7)->id.pci.bus, 7);
    for (guint i = 0; i < cfg.devices->len; i++) {
        ck_assert_uint_eq(device_at(i)->allow->len, 0);
        ck_assert_uint_eq(device_at(i)->reserved->len, 0);
        ck_assert_ptr_null(device_at(i)->use_unit);
    }
}
END_TEST

START_TEST(references_go_backwards)
{
    /* allow names and units must be defined before the device names them */
    ck_assert_int_eq(parse_text("unit dmar0 fed90000\n"
                                "unit dmar1 fed91000\n"
                                "allow a 0,4096\n"
                                "allow b 10000,4096,s\n"
                                "device pci:0:1.0 b a use dmar1\n"
                                "device pci:0:2.0 use dmar0 0\n"
                                "device pci:0:3.0 a\n"),
                     0);
    ck_assert_str_eq(device_allow(0, 0), "b");
    ck_assert_str_eq(device_allow(0, 1), "a");
    ck_assert_str_eq(device_at(0)->use_unit, "dmar1");
    ck_assert(device_at(1)->has_use_param);
    ck_assert_uint_eq(device_at(1)->use_param, 0);
    ck_assert_ptr_null(device_at(2)->use_unit);
    assert_error(parse_text("device pci:0:1.0 a\nallow a 0,4096\n"), -EINVAL,
                 "@F@/t.conf:1:18: device: expected the NAME of an allow range defined earlier, "
                 "or 'use' (got 'a')");
    assert_error(parse_text("device pci:0:1.0 use dmar0\nunit dmar0 fed90000\n"), -EINVAL,
                 "@F@/t.conf:1:22: device: expected the NAME of a unit defined earlier (got 'dmar0')");
    assert_error(parse("allow a 0,1", "device pci:0:1.0 a", "b", NULL), -EINVAL,
                 "command line:word 3: device: expected the NAME of an allow range defined earlier, "
                 "or 'use' (got 'b')");
}
END_TEST

START_TEST(reserved_belongs_to_the_device_above)
{
    ck_assert_int_eq(parse("device pci:0:1.0", "reserved 1000,4k", "device pci:0:2.0",
                           "reserved 2000,1,s", "reserved 3000,2,t", "allow a 0,1",
                           "reserved 4000,3", NULL),
                     0);
    ck_assert_uint_eq(device_at(0)->reserved->len, 1);
    ck_assert_uint_eq(reserved_at(0, 0)->start, 0x1000);
    ck_assert_uint_eq(reserved_at(0, 0)->len, 4096);
    assert_where(&reserved_at(0, 0)->where, "command line", 2, 1);
    /* other keywords in between do not end the current device */
    ck_assert_uint_eq(device_at(1)->reserved->len, 3);
    ck_assert_uint_eq(reserved_at(1, 0)->perms, SMF_READ);
    ck_assert_uint_eq(reserved_at(1, 1)->perms, SMF_WRITE);
    ck_assert_uint_eq(reserved_at(1, 2)->start, 0x4000);
    ck_assert_uint_eq(reserved_at(1, 2)->len, 3);
    assert_error(parse("foreground", "reserved 0,4096", "device pci:0:1.0", NULL), -EINVAL,
                 "command line:word 2: reserved: no device line before it (a reserved region "
                 "belongs to the device line above it)");
    assert_error(parse_text("\n  reserved 0,1\n"), -EINVAL,
                 "@F@/t.conf:2:3: reserved: no device line before it (a reserved region belongs "
                 "to the device line above it)");
}
END_TEST

/* ---- includes ------------------------------------------------------------ */

START_TEST(includes_are_relative_to_the_including_file)
{
    char *main_path = write_file("main.conf", "allow a 0,4096\n"
                                              "debug 1\n"
                                              "@sub/inc.conf\n"
                                              "device pci:0:1.0 a b c\n"
                                              "debug 2\n");
    g_free(write_file("sub/inc.conf", "allow b 1000,4k\n   @deeper/inc2.conf\ndebug 2\n"));
    g_free(write_file("sub/deeper/inc2.conf", "allow c 2000,8k # from two levels down\n"));
    char *word = g_strconcat("@", main_path, NULL);
    ck_assert_int_eq(parse(word, "foreground", NULL), 0);
    ck_assert_uint_eq(cfg.allows->len, 3);
    assert_where(&allow_at(0)->where, "@F@/main.conf", 1, 1);
    assert_where(&allow_at(1)->where, "@F@/sub/inc.conf", 1, 1);
    assert_where(&allow_at(2)->where, "@F@/sub/deeper/inc2.conf", 1, 1);
    ck_assert_uint_eq(allow_at(2)->len, 8192);
    ck_assert_uint_eq(device_at(0)->allow->len, 3);
    ck_assert_uint_eq(cfg.debug, 2);
    ck_assert(cfg.foreground);

    /* from the command line: relative to the working directory, kept as given */
    char *cwd = g_get_current_dir();
    ck_assert_int_eq(chdir(tmpdir), 0);
    ck_assert_int_eq(parse("@main.conf", NULL), 0);
    assert_where(&allow_at(0)->where, "main.conf", 1, 1);
    assert_where(&allow_at(1)->where, "sub/inc.conf", 1, 1);
    assert_where(&allow_at(2)->where, "sub/deeper/inc2.conf", 1, 1);
    ck_assert_int_eq(chdir(cwd), 0);
    g_free(cwd);

    /* an absolute include is taken as is */
    char *inc = g_build_filename(tmpdir, "sub", "inc.conf", NULL);
    char *text = g_strconcat("@", inc, "\n", NULL);
    ck_assert_int_eq(parse_text(text), 0);
    assert_where(&allow_at(0)->where, "@F@/sub/inc.conf", 1, 1);
    g_free(text);
    g_free(inc);
    g_free(word);
    g_free(main_path);
}
END_TEST

START_TEST(include_depth_is_limited)
{
    /* d1 .. d8 nest 8 deep: allowed; d9 is one too many */
    for (int i = 1; i <= 9; i++) {
        char *name = g_strdup_printf("d%d.conf", i);
        char *text = g_strdup_printf("allow r%d %d,1\n@d%d.conf\n", i, i, i + 1);
        g_free(write_file(name, i == 9 ? "foreground\n" : text));
        g_free(text);
        g_free(name);
    }
    g_free(write_file("d8.conf", "allow r8 8,1\n"));
    char *d1 = expand("@@F@/d1.conf");
    ck_assert_int_eq(parse(d1, NULL), 0);
    ck_assert_uint_eq(cfg.allows->len, 8);
    assert_where(&allow_at(7)->where, "@F@/d8.conf", 1, 1);

    g_free(write_file("d8.conf", "allow r8 8,1\n\n   @d9.conf\n"));
    assert_error(parse(d1, NULL), -ELOOP,
                 "@F@/d8.conf:3:4: @: files nested more than 8 deep (an include loop?) (got '@d9.conf')");

    g_free(write_file("loop.conf", "foreground\n@loop.conf\n"));
    char *loop = expand("@@F@/loop.conf");
    assert_error(parse(loop, NULL), -ELOOP,
                 "@F@/loop.conf:2:1: @: files nested more than 8 deep (an include loop?) (got '@loop.conf')");
    g_free(loop);
    g_free(d1);
}
END_TEST

START_TEST(unreadable_files)
{
    assert_error(parse("foreground", "@/nonexistent/x.conf", NULL),
                 -ENOENT, "command line:word 2: /nonexistent/x.conf: cannot read: No such file or directory");
    assert_error(parse_text("foreground\n@missing.conf\n"), -ENOENT,
                 "@F@/t.conf:2:1: @F@/missing.conf: cannot read: No such file or directory");
    g_free(write_file("sub/x.conf", "foreground\n"));
    assert_error(parse_text("@sub\n"), -EINVAL,
                 "@F@/t.conf:1:1: @F@/sub: not a regular file (a FIFO, device or directory is never read: it could "
                 "wait forever)");
    /* a FIFO nobody writes would hold start-up (and DMA open) forever */
    char *fifo = g_build_filename(tmpdir, "fifo", NULL);
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    char *word = g_strconcat("@", fifo, NULL);
    assert_error(parse(word, NULL), -EINVAL,
                 "command line:word 1: @F@/fifo: not a regular file (a FIFO, device or directory is never read: it "
                 "could wait forever)");
    g_free(word);
    unlink(fifo);
    g_free(fifo);
    assert_error(parse("@/dev/zero", NULL), -EINVAL,
                 "command line:word 1: /dev/zero: not a regular file (a FIFO, device or directory is never read: it "
                 "could wait forever)");
    assert_error(parse("@", NULL), -EINVAL, "command line:word 1: @: expected @FILE (got '@')");
    assert_error(parse_text("\n @\n"), -EINVAL, "@F@/t.conf:2:2: @: expected @FILE (got '@')");
    assert_error(parse_text("@sub/x.conf extra\n"), -EINVAL,
                 "@F@/t.conf:1:13: @: too many arguments; usage: @FILE (got 'extra')");
    char *x = expand("@@F@/sub/x.conf");
    assert_error(parse(x, "stray", NULL), -EINVAL,
                 "command line:word 2: @: too many arguments; usage: @FILE (got 'stray')");
    g_free(x);
    /* too big to be a configuration */
    char *big = g_malloc(1024 * 1024 + 1);
    memset(big, '\n', 1024 * 1024 + 1);
    assert_error(parse_text_n(big, 1024 * 1024 + 1), -EINVAL,
                 "command line:word 1: @F@/t.conf: cannot read: larger than 1048576 bytes");
    g_free(big);
}
END_TEST

/* ---- file text ----------------------------------------------------------- */

START_TEST(file_lines)
{
    /* CRLF, tabs, no newline at the end */
    ck_assert_int_eq(parse_text("debug 1\r\n\tallow\ta\t0,1\r\n\r\nforeground"), 0);
    ck_assert_uint_eq(cfg.debug, 1);
    assert_where(&allow_at(0)->where, "@F@/t.conf", 2, 2);
    ck_assert(cfg.foreground);

    /* 4096 bytes is the longest line */
    GString *s = g_string_new("status-file ");
    while (s->len < 4096) g_string_append_c(s, 'x');
    g_string_append(s, "\r\n");
    ck_assert_int_eq(parse_text(s->str), 0);
    ck_assert_uint_eq(strlen(cfg.status_file), 4096 - strlen("status-file "));
    g_string_truncate(s, 4096);
    g_string_append(s, "x\n");
    assert_error(parse_text(s->str), -EINVAL, "@F@/t.conf:1:4097: line longer than 4096 bytes");
    g_string_printf(s, "foreground\n#");
    while (s->len < 4096 + 11 + 1) g_string_append_c(s, '#');
    assert_error(parse_text(s->str), -EINVAL, "@F@/t.conf:2:4097: line longer than 4096 bytes");
    g_string_free(s, TRUE);

    assert_error(parse_text("foreground\nallow a\x01 0,1\n"), -EINVAL,
                 "@F@/t.conf:2:8: control character 0x01 (not allowed in a configuration file)");
    assert_error(parse_text_n("debug 1\0\n", 9), -EINVAL,
                 "@F@/t.conf:1:8: control character 0x00 (not allowed in a configuration file)");
    assert_error(parse_text("# a comment is no hiding place \x1b[2J\n"), -EINVAL,
                 "@F@/t.conf:1:32: control character 0x1b (not allowed in a configuration file)");
    assert_error(parse_text("debug 1\x7f\n"), -EINVAL,
                 "@F@/t.conf:1:8: control character 0x7f (not allowed in a configuration file)");
    assert_error(parse_text("foreground\r"), -EINVAL,
                 "@F@/t.conf:1:11: control character 0x0d (not allowed in a configuration file)");
    assert_error(parse_text("debug\r1\n"), -EINVAL,
                 "@F@/t.conf:1:6: control character 0x0d (not allowed in a configuration file)");
    assert_error(parse_text("debug\v1\n"), -EINVAL,
                 "@F@/t.conf:1:6: control character 0x0b (not allowed in a configuration file)");
}
END_TEST

/* ---- errors, each with its location ----------------------------------- */

static const struct {
    const char *text; /* a file */
    const char *says; /* after "PATH:" */
} bad_lines[] = {
    { "bogus 1\n", "1:1: " UNKNOWN("bogus") },
    { "\n\n   Smmu vtd\n", "3:4: " UNKNOWN("Smmu") },
    { "-debug 1", "1:1: " UNKNOWN("-debug") },
    { "use dmar0", "1:1: " UNKNOWN("use") },
    { "allow a 0,1\n  a 0,2", "2:3: " UNKNOWN("a") },
    { "smmu\n", "1:1: smmu: missing arguments; usage: smmu vtd [require|ignore] | smmu smmuv3" },
    { "smmu vtd require x\n", "1:18: smmu: too many arguments; usage: smmu vtd [require|ignore] | smmu smmuv3 (got 'x')" },
    { "smmu arm\n", "1:6: smmu: expected vtd or smmuv3 (got 'arm')" },
    { "smmu VTD\n", "1:6: smmu: expected vtd or smmuv3 (got 'VTD')" },
    { "smmu vtd maybe", "1:10: smmu: expected require or ignore after 'vtd' (got 'maybe')" },
    { "smmu smmuv3 require", "1:13: smmu: expected nothing after 'smmuv3' (got 'require')" },
    { "unit u0", "1:1: unit: missing arguments; usage: unit NAME PADDR[,EVTQ_IRQ[,GERROR_IRQ]]" },
    { "unit u0 1 2", "1:11: unit: too many arguments; usage: unit NAME PADDR[,EVTQ_IRQ[,GERROR_IRQ]] (got '2')" },
    { "unit device fed90000", "1:6: unit: expected a NAME that is not a keyword (got 'device')" },
    { "unit use fed90000", "1:6: unit: expected a NAME that is not a keyword (got 'use')" },
    { "unit u,0 fed90000", "1:6: unit: expected a NAME of letters, digits, '_', '-' and '.' (not first) (got 'u,0')" },
    { "unit -u fed90000", "1:6: unit: expected a NAME of letters, digits, '_', '-' and '.' (not first) (got '-u')" },
    { "unit u0 xyz", "1:9: unit: expected PADDR as an address (" ADDR_RULES ") (got 'xyz')" },
    { "unit u0 ,1", "1:9: unit: expected PADDR as an address (" ADDR_RULES ") (got ',1')" },
    { "unit u0 10000000000000000", "1:9: unit: expected PADDR that fits in 64 bits (got '10000000000000000')" },
    { "unit u0 1,2,3,4", "1:9: unit: expected PADDR[,EVTQ_IRQ[,GERROR_IRQ]] (got '1,2,3,4')" },
    { "unit u0 1,x", "1:9: unit: expected EVTQ_IRQ as a decimal IRQ number (0..2147483647) (got '1,x')" },
    { "unit u0 1,0x4", "1:9: unit: expected EVTQ_IRQ as a decimal IRQ number (0..2147483647) (got '1,0x4')" },
    { "unit u0 1,,2", "1:9: unit: expected EVTQ_IRQ as a decimal IRQ number (0..2147483647) (got '1,,2')" },
    { "unit u0 1,2,-3", "1:9: unit: expected GERROR_IRQ as a decimal IRQ number (0..2147483647) (got '1,2,-3')" },
    { "unit u0 1,2147483648", "1:9: unit: expected EVTQ_IRQ as a decimal IRQ number (0..2147483647) (got '1,2147483648')" },
    { "unit u0 1\n\nunit u0 2", "3:6: unit: unit 'u0' already defined at @F@/t.conf:1:1" },
    { "allow a", "1:1: allow: missing arguments; usage: allow NAME START,LEN[,PERMS]" },
    { "allow a 0,1 s", "1:13: allow: too many arguments; usage: allow NAME START,LEN[,PERMS] (got 's')" },
    { "allow allow 0,1", "1:7: allow: expected a NAME that is not a keyword (got 'allow')" },
    { "allow @a 0,1", "1:7: allow: expected a NAME of letters, digits, '_', '-' and '.' (not first) (got '@a')" },
    { "allow a 0", "1:9: allow: expected START,LEN[,PERMS] (got '0')" },
    { "allow a 0,1,s,t", "1:9: allow: expected START,LEN[,PERMS] (got '0,1,s,t')" },
    { "allow a x,1", "1:9: allow: expected START as an address (" ADDR_RULES ") (got 'x,1')" },
    { "allow a ,1", "1:9: allow: expected START as an address (" ADDR_RULES ") (got ',1')" },
    { "allow a 0,ff", "1:9: allow: expected LEN as a length (" LEN_RULES ") (got '0,ff')" },
    { "allow a 0,", "1:9: allow: expected LEN as a length (" LEN_RULES ") (got '0,')" },
    { "allow a 0,99999999999999999999", "1:9: allow: expected LEN that fits in 64 bits (got '0,99999999999999999999')" },
    { "allow a 0,0", "1:9: allow: expected LEN greater than 0 (got '0,0')" },
    { "allow a 0,0x0k", "1:9: allow: expected LEN greater than 0 (got '0,0x0k')" },
    { "allow a ffffffffffffffff,1", "1:9: allow: expected START+LEN that fits in 64 bits (got 'ffffffffffffffff,1')" },
    { "allow a fffffffffffff000,4k", "1:9: allow: expected START+LEN that fits in 64 bits (got 'fffffffffffff000,4k')" },
    { "allow a 0,1,", "1:9: allow: expected PERMS made of 's' (device reads) and 't' (device writes), each at most once (got '0,1,')" },
    { "allow a 0,1,ss", "1:9: allow: expected PERMS made of 's' (device reads) and 't' (device writes), each at most once (got '0,1,ss')" },
    { "allow a 0,1,S", "1:9: allow: expected PERMS made of 's' (device reads) and 't' (device writes), each at most once (got '0,1,S')" },
    { "allow a 0,1,rw", "1:9: allow: expected PERMS made of 's' (device reads) and 't' (device writes), each at most once (got '0,1,rw')" },
    { "allow a 0,1\nallow a 2,1", "2:7: allow: allow range 'a' already defined at @F@/t.conf:1:1" },
    { "device", "1:1: device: missing arguments; usage: device SPEC [ALLOW_NAME ...] [use UNIT [PARAM]]" },
    { "device usb:1", "1:8: device: expected pci:BUS:DEV.FUNC (decimal) or mem:PADDR[,LEN] (got 'usb:1')" },
    { "device PCI:0:1.0", "1:8: device: expected pci:BUS:DEV.FUNC (decimal) or mem:PADDR[,LEN] (got 'PCI:0:1.0')" },
    { "device pci:0:1", "1:8: device: expected pci:BUS:DEV.FUNC (decimal) or mem:PADDR[,LEN] (got 'pci:0:1')" },
    { "device pci:0.1:2", "1:8: device: expected pci:BUS:DEV.FUNC (decimal) or mem:PADDR[,LEN] (got 'pci:0.1:2')" },
    { "device pci:256:0.0", "1:8: device: expected BUS as a decimal number 0..255 (got 'pci:256:0.0')" },
    { "device pci:0x1:0.0", "1:8: device: expected BUS as a decimal number 0..255 (got 'pci:0x1:0.0')" },
    { "device pci::0.0", "1:8: device: expected BUS as a decimal number 0..255 (got 'pci::0.0')" },
    { "device pci:0:32.0", "1:8: device: expected DEV as a decimal number 0..31 (got 'pci:0:32.0')" },
    { "device pci:0:1:2.0", "1:8: device: expected DEV as a decimal number 0..31 (got 'pci:0:1:2.0')" },
    { "device pci:0:0.8", "1:8: device: expected FUNC as a decimal number 0..7 (got 'pci:0:0.8')" },
    { "device pci:0:0.1.0", "1:8: device: expected FUNC as a decimal number 0..7 (got 'pci:0:0.1.0')" },
    { "device pci:0:0.", "1:8: device: expected FUNC as a decimal number 0..7 (got 'pci:0:0.')" },
    { "device mem:", "1:8: device: expected PADDR as an address (" ADDR_RULES ") (got 'mem:')" },
    { "device mem:zz", "1:8: device: expected PADDR as an address (" ADDR_RULES ") (got 'mem:zz')" },
    { "device mem:1,2,3", "1:8: device: expected pci:BUS:DEV.FUNC (decimal) or mem:PADDR[,LEN] (got 'mem:1,2,3')" },
    { "device mem:1,x", "1:8: device: expected LEN as a length (" LEN_RULES ") (got 'mem:1,x')" },
    { "device mem:1,0", "1:8: device: expected LEN between 1 and 4294967295 (got 'mem:1,0')" },
    { "device mem:1,4294967296", "1:8: device: expected LEN between 1 and 4294967295 (got 'mem:1,4294967296')" },
    { "device mem:ffffffffffffffff,1", "1:8: device: expected PADDR+LEN that fits in 64 bits (got 'mem:ffffffffffffffff,1')" },
    { "device pci:0:1.0\ndevice pci:00:01.00", "2:8: device: device 'pci:00:01.00' already defined at @F@/t.conf:1:1" },
    { "device mem:1000,4096\ndevice mem:0x1000", "2:8: device: device 'mem:0x1000' already defined at @F@/t.conf:1:1" },
    { "allow a 0,1\ndevice pci:0:1.0 a a", "2:20: device: allow range 'a' named twice" },
    { "device pci:0:1.0 use", "1:18: device: 'use' needs a UNIT; usage: device SPEC [ALLOW_NAME ...] [use UNIT [PARAM]]" },
    { "unit u 1\ndevice pci:0:1.0 use u x", "2:24: device: expected PARAM as a decimal number 0..4294967295 (got 'x')" },
    { "unit u 1\ndevice pci:0:1.0 use u 4294967296", "2:24: device: expected PARAM as a decimal number 0..4294967295 (got '4294967296')" },
    { "unit u 1\ndevice pci:0:1.0 use u 1 2", "2:26: device: expected nothing after 'use UNIT [PARAM]' (got '2')" },
    { "unit u 1\ndevice pci:0:1.0 use u 1 use", "2:26: device: expected nothing after 'use UNIT [PARAM]' (got 'use')" },
    { "reserved", "1:1: reserved: missing arguments; usage: reserved START,LEN[,PERMS]" },
    { "device mem:0\nreserved 0,1 2", "2:14: reserved: too many arguments; usage: reserved START,LEN[,PERMS] (got '2')" },
    { "device mem:0\nreserved 0", "2:10: reserved: expected START,LEN[,PERMS] (got '0')" },
    { "device mem:0\nreserved 0,0", "2:10: reserved: expected LEN greater than 0 (got '0,0')" },
    { "device mem:0\nreserved 0,1,x", "2:10: reserved: expected PERMS made of 's' (device reads) and 't' (device writes), each at most once (got '0,1,x')" },
    { "safety", "1:1: safety: missing arguments; usage: safety none|warn|required" },
    { "safety maybe", "1:8: safety: expected none, warn or required (got 'maybe')" },
    { "safety none warn", "1:13: safety: too many arguments; usage: safety none|warn|required (got 'warn')" },
    { "debug 0", "1:7: debug: expected 1 or 2 (got '0')" },
    { "debug 3", "1:7: debug: expected 1 or 2 (got '3')" },
    { "debug x", "1:7: debug: expected 1 or 2 (got 'x')" },
    { "debug", "1:1: debug: missing arguments; usage: debug 1|2" },
    { "foreground yes", "1:12: foreground: too many arguments; usage: foreground (got 'yes')" },
    { "platform", "1:1: platform: missing arguments; usage: platform TYPE:ARGUMENT" },
    { "platform x", "1:10: platform: expected TYPE:ARGUMENT, e.g. board:RUNDIR (got 'x')" },
    { "platform board:", "1:10: platform: expected TYPE:ARGUMENT, e.g. board:RUNDIR (got 'board:')" },
    { "platform :x", "1:10: platform: expected TYPE:ARGUMENT, e.g. board:RUNDIR (got ':x')" },
    /* TYPE names a module file: nothing that could leave its directory */
    { "platform ../b:x", "1:10: platform: expected TYPE:ARGUMENT, e.g. board:RUNDIR (got '../b:x')" },
    { "platform Board:x", "1:10: platform: expected TYPE:ARGUMENT, e.g. board:RUNDIR (got 'Board:x')" },
    { "attach-socket", "1:1: attach-socket: missing arguments; usage: attach-socket PATH" },
    { "target-socket a b", "1:17: target-socket: too many arguments; usage: target-socket PATH (got 'b')" },
    { "status-file", "1:1: status-file: missing arguments; usage: status-file PATH" },
    { "log-file", "1:1: log-file: missing arguments; usage: log-file PATH" },
    { "target-mode 0778", "1:13: target-mode: expected OCTAL as an octal file mode 0..0777 (e.g. 0660) (got '0778')" },
    { "target-mode 1000", "1:13: target-mode: expected OCTAL as an octal file mode 0..0777 (e.g. 0660) (got '1000')" },
    { "target-mode 0x1ff", "1:13: target-mode: expected OCTAL as an octal file mode 0..0777 (e.g. 0660) (got '0x1ff')" },
    { "target-mode", "1:1: target-mode: missing arguments; usage: target-mode OCTAL" },
    { "fault-poll-ms 0", "1:15: fault-poll-ms: expected N as decimal milliseconds 1..60000 (got '0')" },
    { "fault-poll-ms 60001", "1:15: fault-poll-ms: expected N as decimal milliseconds 1..60000 (got '60001')" },
    { "fault-poll-ms 1s", "1:15: fault-poll-ms: expected N as decimal milliseconds 1..60000 (got '1s')" },
    { "scrub-ms 9", "1:10: scrub-ms: expected N as decimal milliseconds 10..3600000 (got '9')" },
    { "scrub-ms 3600001", "1:10: scrub-ms: expected N as decimal milliseconds 10..3600000 (got '3600001')" },
    { "scrub-ms", "1:1: scrub-ms: missing arguments; usage: scrub-ms N" },
    /* the first error is the one reported, even with more following */
    { "debug 1\nsmmu arm\nsafety maybe\n", "2:6: smmu: expected vtd or smmuv3 (got 'arm')" },
    /* long words are cut in the message */
    { "smmu aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
      "1:6: smmu: expected vtd or smmuv3 (got 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...')" },
};

START_TEST(bad_file_lines_name_file_line_column)
{
    /* a good start, so that everything before the error is built and must
     * be freed again (ASan watches) */
    char *text = g_strconcat("unit z0 1\nallow z 0,1\ndevice mem:99 z use z0\nreserved 0,1\n"
                             "platform board:x\nsmmu vtd\n@inc.conf\n",
                             bad_lines[_i].text, NULL);
    g_free(write_file("inc.conf", "status-file /s\n"));
    char *says = g_strconcat("@F@/t.conf:", bad_lines[_i].says, NULL);
    /* the prefix adds 7 lines */
    char *colon = strchr(says + strlen("@F@/t.conf:"), ':');
    unsigned line = (unsigned)strtoul(says + strlen("@F@/t.conf:"), NULL, 10);
    char *shifted = g_strdup_printf("@F@/t.conf:%u%s", line + 7, colon);
    /* "already defined at" names the first line, which moved too */
    char *at = strstr(shifted, "t.conf:1:1");
    if (at) at[7] = '8';
    assert_error(parse_text(text), -EINVAL, shifted);
    /* and alone */
    assert_error(parse_text(bad_lines[_i].text), -EINVAL, says);
    g_free(shifted);
    g_free(says);
    g_free(text);
}
END_TEST

static const struct {
    const char *argv[6];
    const char *says;
} bad_words[] = {
    { { "bogus" }, "command line:word 1: " UNKNOWN("bogus") },
    { { "foreground", "1" }, "command line:word 2: foreground: too many arguments; usage: foreground (got '1')" },
    { { "foreground", "debug" }, "command line:word 2: debug: missing arguments; usage: debug 1|2" },
    { { "debug 1 2" }, "command line:word 1: debug: too many arguments; usage: debug 1|2 (got '2')" },
    { { "unit dmar0 zz" }, "command line:word 1: unit: expected PADDR as an address (" ADDR_RULES ") (got 'zz')" },
    { { "debug 1", "unit", "dmar0", "zz" }, "command line:word 4: unit: expected PADDR as an address (" ADDR_RULES ") (got 'zz')" },
    /* a keyword cannot be a name: it starts the next option instead */
    { { "allow", "device", "0,1" }, "command line:word 1: allow: missing arguments; usage: allow NAME START,LEN[,PERMS]" },
    { { "allow", "use", "0,1" }, "command line:word 2: allow: expected a NAME that is not a keyword (got 'use')" },
    { { "unit u 1", "unit u 2" }, "command line:word 2: unit: unit 'u' already defined at command line:word 1" },
    { { "device pci:0:1.0", "device", "pci:0:1.0" }, "command line:word 3: device: device 'pci:0:1.0' already defined at command line:word 1" },
    { { "device pci:0:1.0 use", "foreground" }, "command line:word 1: device: 'use' needs a UNIT; usage: device SPEC [ALLOW_NAME ...] [use UNIT [PARAM]]" },
    { { "\x01" }, "command line:word 1: " UNKNOWN("\\x01") },
    { { "status-file", "/a\\b", "x\x7f" }, "command line:word 3: status-file: too many arguments; usage: status-file PATH (got 'x\\x7f')" },
    { { "debug\n1\n2" }, "command line:word 1: debug: too many arguments; usage: debug 1|2 (got '2')" },
    { { "smmu \xff\xfe" }, "command line:word 1: smmu: expected vtd or smmuv3 (got '\\xff\\xfe')" },
    { { "smmu a\\b" }, "command line:word 1: smmu: expected vtd or smmuv3 (got 'a\\x5cb')" },
    { { "smmu \xc3\xa9" }, "command line:word 1: smmu: expected vtd or smmuv3 (got '\xc3\xa9')" },
    { { "", "  ", "@" }, "command line:word 3: @: expected @FILE (got '@')" },
};

START_TEST(bad_words_name_the_word)
{
    const char *const *w = bad_words[_i].argv;
    int rc = parse(w[0], w[1], w[2], w[3], w[4], w[5], NULL);
    assert_error(rc, -EINVAL, bad_words[_i].says);
    ck_assert_ptr_null(strchr(error->message, '\n'));
}
END_TEST

START_TEST(errors_leave_nothing_behind)
{
    /* everything built, then an error: cfg is cleared and ASan sees no leak */
    char *text = g_strconcat(full_config, "debug 3\n", NULL);
    assert_error(parse_text(text), -EINVAL, "@F@/t.conf:34:7: debug: expected 1 or 2 (got '3')");
    g_free(text);
    /* a caller may clear again, or reuse cfg */
    smmu_config_clear(&cfg);
    smmu_config_clear(&cfg);
    ck_assert(cfg_is_cleared(&cfg));
    ck_assert_int_eq(parse("debug 2", NULL), 0);
    ck_assert_uint_eq(cfg.debug, 2);
    /* no GError asked for: still refused */
    SmmuConfig other;
    char *argv[] = { (char *)"debug", (char *)"9" };
    ck_assert_int_eq(smmu_config_parse(2, argv, false, &other, NULL), -EINVAL);
    ck_assert(cfg_is_cleared(&other));
    ck_assert_int_eq(smmu_config_parse(0, NULL, false, &other, NULL), 0);
    ck_assert_str_eq(other.attach_socket, SMMU_DEFAULT_SOCKET);
    smmu_config_clear(&other);
    smmu_config_clear(NULL);
}
END_TEST

/* ---- rules on the whole input ---------------------------------------------- */

/* QNX gives VT-d no PARAM: taking one handed one device's mappings to
 * another requester ID (issue 8, item 10). */
START_TEST(vtd_takes_no_use_param)
{
    const char *want = "@F@/t.conf:3:1: device: 'use UNIT PARAM': VT-d takes no PARAM (a PCI device's requester ID "
                       "is its bus:dev.func; PARAM is an SMMUv3 StreamID); write 'use UNIT'";
    assert_error(parse_text("smmu vtd\nunit dmar0 fed90000\ndevice pci:0:5.0 use dmar0 48\n"), -EINVAL, want);
    /* smmu may come after the device */
    assert_error(parse_text("unit dmar0 fed90000\nallow a 100000,4096\ndevice pci:0:5.0 a use dmar0 48\nsmmu vtd\n"),
                 -EINVAL, want);
    assert_error(parse("smmu", "vtd", "unit", "dmar0", "fed90000", "device", "pci:0:4.0", "use", "dmar0", "32", NULL),
                 -EINVAL,
                 "command line:word 6: device: 'use UNIT PARAM': VT-d takes no PARAM (a PCI device's requester ID "
                 "is its bus:dev.func; PARAM is an SMMUv3 StreamID); write 'use UNIT'");
    /* the StreamID form stays for SMMUv3, and VT-d without PARAM is fine */
    ck_assert_int_eq(parse_text("smmu smmuv3\nunit smmu0 9050000\ndevice pci:0:5.0 use smmu0 48\n"), 0);
    ck_assert(device_at(0)->has_use_param);
    ck_assert_uint_eq(device_at(0)->use_param, 48);
    ck_assert_int_eq(parse_text("smmu vtd\nunit dmar0 fed90000\ndevice pci:0:5.0 use dmar0\n"), 0);
}
END_TEST

/* Each client's share: positive decimal numbers. */
START_TEST(client_limits)
{
    ck_assert_int_eq(parse_text(full_config), 0);
    ck_assert_uint_eq(cfg.client_pages, 300);
    ck_assert_uint_eq(cfg.client_objects, 7);
    ck_assert_uint_eq(cfg.client_devices, 3);
    ck_assert_uint_eq(cfg.client_regions, 100);
    ck_assert_uint_eq(cfg.max_clients, 9);
    ck_assert_int_eq(parse("foreground", NULL), 0);
    ck_assert_uint_eq(cfg.client_pages, 0); /* 0: the service's default */
    assert_error(parse("client-pages", "0", NULL), -EINVAL,
                 "command line:word 2: client-pages: expected N as a decimal number 1..4294967295 (got '0')");
    assert_error(parse("max-clients", "70000", NULL), -EINVAL,
                 "command line:word 2: max-clients: expected N as a decimal number 1..65536 (got '70000')");
    assert_error(parse("client-objects", "0x10", NULL), -EINVAL,
                 "command line:word 2: client-objects: expected N as a decimal number 1..4294967295 (got '0x10')");
}
END_TEST

/* The DSS door reads what it needs from input that does not parse, from
 * before and after the error (issue 8, item 2). */
START_TEST(salvage_keeps_what_the_door_needs)
{
    char *inc = write_file("inc.conf", "status-file /tmp/st\nbogus words\nunit dmar9 fee00000\n");
    char *at = g_strconcat("@", inc, NULL);
    const char *words[] = { "fault-poll-ms", "0", "platform", "board:/run/b1", "smmu", "vtd", "unit", "dmar0",
                            "fed90000", "unit", "dmar1", "zz", at, "debug", "9", "@/nonexistent", NULL };
    ck_assert_int_ne(smmu_config_parse(G_N_ELEMENTS(words) - 1, (char *const *)words, false, &cfg, NULL), 0);
    smmu_config_salvage(G_N_ELEMENTS(words) - 1, (char *const *)words, &cfg);
    ck_assert_str_eq(cfg.platform, "board:/run/b1");
    ck_assert_str_eq(cfg.smmu_type, "vtd");
    ck_assert_str_eq(cfg.status_file, "/tmp/st");
    ck_assert_uint_eq(cfg.units->len, 2); /* the good units, the bad one left out */
    ck_assert_str_eq(unit_at(0)->name, "dmar0");
    ck_assert_str_eq(unit_at(1)->name, "dmar9");
    /* nothing else is taken from it */
    ck_assert_uint_eq(cfg.fault_poll_ms, 10);
    ck_assert_uint_eq(cfg.debug, 0);
    ck_assert_uint_eq(cfg.devices->len, 0);
    smmu_config_clear(&cfg);
    /* in a file too, with the error first */
    g_free(write_file("t.conf", "fault-poll-ms 0\nplatform board:/run/b2\n\x01\nsmmu smmuv3\n"));
    char *t = g_build_filename(tmpdir, "t.conf", NULL);
    char *tw = g_strconcat("@", t, NULL);
    char *one[] = { tw };
    smmu_config_salvage(1, one, &cfg);
    ck_assert_str_eq(cfg.platform, "board:/run/b2");
    ck_assert_str_eq(cfg.smmu_type, "smmuv3");
    g_free(tw);
    g_free(t);
    g_free(at);
    g_free(inc);
}
END_TEST

/* ---- guest ---------------------------------------------------------------- */

START_TEST(guest_ignores_host_options_with_a_notice)
{
    char *path = write_file("g.conf", "smmu vtd require\n"
                                      "unit dmar0 fed90000\n"
                                      "allow a 0,4096\n"
                                      "device pci:0:2.0 a use dmar0 5\n"
                                      "  reserved 0,4096\n"
                                      "smmu nonsense at all\n"
                                      "unit\n");
    char *word = g_strconcat("@", path, NULL);
    ck_assert_int_eq(parse_guest(word, "reserved 1,1", "device mem:1000 use", "safety warn", NULL), 0);
    ck_assert_ptr_null(cfg.smmu_type);
    ck_assert_ptr_null(cfg.smmu_where.file);
    ck_assert_uint_eq(cfg.units->len, 0);
    ck_assert_uint_eq(cfg.allows->len, 1);
    ck_assert_uint_eq(cfg.devices->len, 2);
    ck_assert_str_eq(device_allow(0, 0), "a");
    ck_assert_ptr_null(device_at(0)->use_unit);
    ck_assert(!device_at(0)->has_use_param);
    ck_assert_uint_eq(device_at(0)->reserved->len, 0);
    ck_assert_int_eq(cfg.safety, CFG_SAFETY_WARN);
    static const char *const want[] = {
        "@F@/g.conf:1:1: 'smmu' " GUEST_NOTE,
        "@F@/g.conf:2:1: 'unit' " GUEST_NOTE,
        "@F@/g.conf:4:20: 'use' " GUEST_NOTE,
        "@F@/g.conf:5:3: 'reserved' " GUEST_NOTE,
        "@F@/g.conf:6:1: 'smmu' " GUEST_NOTE,
        "@F@/g.conf:7:1: 'unit' " GUEST_NOTE,
        "command line:word 2: 'reserved' " GUEST_NOTE,
        "command line:word 3: 'use' " GUEST_NOTE,
    };
    ck_assert_uint_eq(cfg.notices->len, G_N_ELEMENTS(want));
    for (unsigned i = 0; i < G_N_ELEMENTS(want); i++) {
        char *w = expand(want[i]);
        ck_assert_str_eq(notice_at(i), w);
        g_free(w);
    }
    /* the same configuration on a host: no notices */
    ck_assert_int_eq(parse_text("smmu vtd\nunit dmar0 fed90000\ndevice pci:0:2.0 use dmar0\n"), 0);
    ck_assert_uint_eq(cfg.notices->len, 0);
    /* what a guest does keep is still checked */
    ck_assert_int_eq(parse_guest("device pci:0:2.0 nope", NULL), -EINVAL);
    ck_assert_str_eq(error->message, "command line:word 1: device: expected the NAME of an allow "
                                     "range defined earlier, or 'use' (got 'nope')");
    ck_assert(cfg_is_cleared(&cfg));
    ck_assert_int_eq(parse_guest("device pci:0:2.0", "device pci:0:2.0", NULL), -EINVAL);
    g_free(word);
    g_free(path);
}
END_TEST

static Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("config");
    tcase_add_unchecked_fixture(tc, make_tmpdir, remove_tmpdir);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, addresses_are_hex_by_default);
    tcase_add_test(tc, lengths_are_decimal_by_default);
    tcase_add_test(tc, defaults);
    tcase_add_test(tc, every_keyword_from_a_file);
    tcase_add_test(tc, command_line_words);
    tcase_add_test(tc, last_wins_and_accumulate);
    tcase_add_test(tc, device_specs);
    tcase_add_test(tc, references_go_backwards);
    tcase_add_test(tc, reserved_belongs_to_the_device_above);
    tcase_add_test(tc, includes_are_relative_to_the_including_file);
    tcase_add_test(tc, include_depth_is_limited);
    tcase_add_test(tc, unreadable_files);
    tcase_add_test(tc, file_lines);
    tcase_add_loop_test(tc, bad_file_lines_name_file_line_column, 0, G_N_ELEMENTS(bad_lines));
    tcase_add_loop_test(tc, bad_words_name_the_word, 0, G_N_ELEMENTS(bad_words));
    tcase_add_test(tc, errors_leave_nothing_behind);
    tcase_add_test(tc, vtd_takes_no_use_param);
    tcase_add_test(tc, client_limits);
    tcase_add_test(tc, salvage_keeps_what_the_door_needs);
    tcase_add_test(tc, guest_ignores_host_options_with_a_notice);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return check_run(config_suite());
}
