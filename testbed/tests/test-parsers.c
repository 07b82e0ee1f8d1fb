/* Unit tests: the agent's request grammar, strict numbers and board
 * definitions. Pure functions, no QEMU. */
#include <check.h>

#include "../../smmuman/tests/check-run.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../qemu-plugin/request.h"
#include "board-def.h"
#include "num.h"

static Request req;
static char err[200];

static int parse(const char *line) { return request_parse(line, strlen(line), &req, err, sizeof err); }

START_TEST(numbers_are_strict)
{
    uint64_t v;
    ck_assert_int_eq(tb_parse_u64("0x10", &v), 0);
    ck_assert_uint_eq(v, 16);
    ck_assert_int_eq(tb_parse_u64("18446744073709551615", &v), 0);
    ck_assert_uint_eq(v, UINT64_MAX);
    ck_assert_int_eq(tb_parse_u64("18446744073709551616", &v), -ERANGE);
    ck_assert_int_eq(tb_parse_u64("0x1ffffffffffffffff", &v), -ERANGE);
    const char *bad[] = { "", "0x", "-1", "+1", " 1", "1 ", "1k", "0x1g", "12a", NULL };
    for (unsigned i = 0; bad[i]; i++) ck_assert_msg(tb_parse_u64(bad[i], &v) == -EINVAL, "'%s'", bad[i]);
    ck_assert_int_eq(tb_parse_size("512M", &v), 0);
    ck_assert_uint_eq(v, 512ull << 20);
    ck_assert_int_eq(tb_parse_size("0x10k", &v), 0);
    ck_assert_uint_eq(v, 16384);
    ck_assert_int_eq(tb_parse_size("17179869184G", &v), -ERANGE);
    ck_assert_int_eq(tb_parse_size("M", &v), -EINVAL);
    unsigned bdf;
    ck_assert_int_eq(tb_parse_bdf("00:04.0", &bdf), 0);
    ck_assert_uint_eq(bdf, 0x20);
    ck_assert_int_eq(tb_parse_bdf("ff:1f.7", &bdf), 0);
    ck_assert_uint_eq(bdf, 0xffff);
    ck_assert_int_eq(tb_parse_bdf("00:20.0", &bdf), -ERANGE);
    ck_assert_int_eq(tb_parse_bdf("0:4.0", &bdf), -EINVAL);
    uint8_t b[4];
    size_t n;
    ck_assert_int_eq(tb_parse_hexbytes("deadBEEF", b, sizeof b, &n), 0);
    ck_assert_uint_eq(n, 4);
    ck_assert_uint_eq(b[3], 0xef);
    ck_assert_int_eq(tb_parse_hexbytes("deadbeef00", b, sizeof b, &n), -E2BIG);
    ck_assert_int_eq(tb_parse_hexbytes("abc", b, sizeof b, &n), -EINVAL);
}
END_TEST

START_TEST(valid_requests_parse)
{
    ck_assert_int_eq(parse("mmio write 0xfed90018 4 0x80000000"), 0);
    ck_assert_int_eq(req.kind, REQ_MMIO_WRITE);
    ck_assert_uint_eq(req.addr, 0xfed90018);
    ck_assert_uint_eq(req.size, 4);
    ck_assert_uint_eq(req.value, 0x80000000);
    ck_assert_int_eq(parse("dma edu1 write 0x100000 4096 pattern=a5b6"), 0);
    ck_assert_int_eq(req.kind, REQ_DMA);
    ck_assert(req.to_ram);
    ck_assert_str_eq(req.dev[0], "edu1");
    ck_assert_uint_eq(req.len, 4096);
    ck_assert(req.has_pattern);
    ck_assert_uint_eq(req.data_len, 2);
    ck_assert_int_eq(parse("dma 00:04.0 read 0x0 2048 offset=2048"), 0);
    ck_assert(!req.to_ram);
    ck_assert_uint_eq(req.offset, 2048);
    ck_assert_int_eq(parse("storm edu0,edu1  write\t0x1000 64 1000 stride=0x2000"), 0);
    ck_assert_uint_eq(req.ndev, 2);
    ck_assert_uint_eq(req.count, 1000);
    ck_assert_uint_eq(req.stride, 0x2000);
    ck_assert_int_eq(parse("pci read 00:04.0 0x4 2"), 0);
    ck_assert_uint_eq(req.bdf, 0x20);
    ck_assert_int_eq(parse("ram write 0x1000 00ff"), 0);
    ck_assert_uint_eq(req.len, 2);
    ck_assert_int_eq(parse("irq level 77"), 0);
    ck_assert_uint_eq(req.irq, 77);
    ck_assert_int_eq(parse("msi edu0 0xfee00000 0x4041"), 0);
    ck_assert_int_eq(parse("hello"), 0);
    ck_assert_int_eq(req.kind, REQ_HELLO);
}
END_TEST

/* Each must be refused, with the field named in the message. */
static const struct {
    const char *line;
    int rc;
    const char *names;
} refused[] = {
    { "", -EINVAL, "empty" },
    { "frobnicate", -ENOSYS, "unknown request" },
    { "hello there", -EINVAL, "takes no arguments" },
    { "mmio read 0x1000 3", -EINVAL, "SIZE" },
    { "mmio read 0xzz 4", -EINVAL, "ADDR" },
    { "mmio write 0x1000 1 0x100", -ERANGE, "VALUE" },
    { "mmio read 0xffffffffffffffff 8", -ERANGE, "wraps" },
    { "pci read 00:04.0 0x3 2", -ERANGE, "OFFSET" },
    { "pci read 00:04.0 0x1000 4", -ERANGE, "OFFSET" },
    { "pci read 00:04.0 0 8", -EINVAL, "SIZE" },
    { "pci read 4.0 0 4", -EINVAL, "BDF" },
    { "ram read 0x0 0", -ERANGE, "LEN" },
    { "ram read 0x0 4097", -ERANGE, "LEN" },
    { "ram write 0x0 abc", -EINVAL, "HEX" },
    { "dma edu0 write 0x0 4097", -ERANGE, "LEN" },
    { "dma edu0 write 0x0 16 offset=4090", -ERANGE, "buffer" },
    { "dma edu0 write 0x0 16 offset=18446744073709551615", -ERANGE, "buffer" },
    { "dma edu0 sideways 0x0 16", -EINVAL, "direction" },
    { "dma edu0 read 0x0 16 pattern=aa", -EINVAL, "pattern" },
    { "dma edu0 write 0x0 16 colour=red", -EINVAL, "unknown option" },
    { "dma edu0 write 0xfffffffffffffff8 16", -ERANGE, "wraps" },
    { "dma ed$u0 write 0x0 16", -EINVAL, "DEV" },
    { "storm edu0 write 0x0 16 0", -ERANGE, "COUNT" },
    { "storm edu0 write 0x0 16 100001", -ERANGE, "COUNT" },
    { "storm edu0 write 0xffffffffffff0000 16 1000", -ERANGE, "wraps" },
    { "storm a,b,c,d,e,f,g,h,i write 0x0 16 1", -E2BIG, "at most" },
    { "storm , write 0 16 1", -EINVAL, "DEV" },
    { "msi edu0 0xfee00002 1", -EINVAL, "aligned" },
    { "msi edu0 0xfee00000 0x10000", -ERANGE, "DATA" },
    { "irq level 1024", -ERANGE, "N" },
    { "irq subscribe now", -EINVAL, "usage" },
    { "a b c d e f g h i j k l m", -E2BIG, "too many" },
    { "hello\x01", -EINVAL, "control" },
    { "hello\xc3\xa9", -EINVAL, "non-ASCII" },
};

START_TEST(bad_requests_are_refused_and_named)
{
    ck_assert_msg(parse(refused[_i].line) == refused[_i].rc, "'%s': got %d (%s)", refused[_i].line,
                  parse(refused[_i].line), err);
    ck_assert_msg(strstr(err, refused[_i].names), "'%s': message '%s' should name '%s'", refused[_i].line, err,
                  refused[_i].names);
}
END_TEST

START_TEST(nul_and_overlong_lines)
{
    char line[] = "mmio read\0 0x0 4";
    ck_assert_int_eq(request_parse(line, sizeof line - 1, &req, err, sizeof err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "NUL byte at column 10"));
    char *big = g_malloc(REQ_MAX_LINE + 2);
    memset(big, 'a', REQ_MAX_LINE + 1);
    ck_assert_int_eq(request_parse(big, REQ_MAX_LINE + 1, &req, err, sizeof err), -E2BIG);
    g_free(big);
}
END_TEST

static const char good_board[] =
    "[board]\nname=t\narch=x86_64\nqemu=q\nmachine=m\nfirmware=f\nram-base=0\nram-size=256M\n"
    "pool-base=0xf000000\npool-size=16M\nstage-base=0xeffe000\nirq-controller=ioapic\npci-ecam=0xb0000000\n"
    "pci-ecam-enable=none\npci-mmio-window=0xe0000000,0x10000000\nedu-slots=4;5\n"
    "[unit u0]\nkind=smmuv3\nbase=0x9050000\nsize=0x20000\nirqs=evtq:74;gerror:77\n";

START_TEST(board_definition_parses)
{
    TbBoardDef d;
    GError *e = NULL;
    ck_assert_int_eq(tb_board_def_parse("t.board", good_board, sizeof good_board - 1, &d, &e), 0);
    ck_assert_uint_eq(d.ram_size, 256u << 20);
    ck_assert_uint_eq(d.n_edu, 2);
    ck_assert_uint_eq(d.edu_slots[1], 5);
    ck_assert_uint_eq(d.n_units, 1);
    ck_assert_str_eq(d.units[0].name, "u0");
    ck_assert_uint_eq(d.units[0].n_irqs, 2);
    ck_assert_str_eq(d.units[0].irq_names[1], "gerror");
    ck_assert_uint_eq(d.units[0].irqs[1], 77);
    tb_board_def_clear(&d);
}
END_TEST

/* Replace one line of the good board; the error must name that line. */
static const struct {
    const char *from, *to, *says;
} bad_boards[] = {
    { "ram-size=256M", "ram-size=256Q", ":8: ram-size: expected a number" },
    { "ram-size=256M", "ram-size=1M", ":8: ram-size: expected a multiple of 4 KiB, at least 64M" },
    { "pool-base=0xf000000", "pool-base=0x1f000000", ":9: pool-base: the table pool must" },
    { "stage-base=0xeffe000", "stage-base=0xf000000", ":11: stage-base: the staging page" },
    { "edu-slots=4;5", "edu-slots=4;4", ":16: edu-slots: slot listed twice" },
    { "edu-slots=4;5", "edu-slots=4;32", ":16: edu-slots: expected up to 8" },
    { "kind=smmuv3", "kind=amd", ":18: kind: expected vtd or smmuv3" },
    { "irqs=evtq:74;gerror:77", "irqs=evtq:74;gerror", ":21: irqs: expected NAME:NUMBER" },
    { "pci-mmio-window=0xe0000000,0x10000000", "pci-mmio-window=0xe0000000", ":15: pci-mmio-window: expected BASE,SIZE" },
    { "pci-ecam-enable=none", "pci-ecam-enable=maybe", ":14: pci-ecam-enable: expected" },
    { "name=t\n", "name t\n", ":2: expected 'key=value'" },
    { "[unit u0]", "[unit u0", ":17: expected '[section]'" },
    { "qemu=q\n", "", "[board] qemu: missing" },
};

START_TEST(bad_board_definitions_name_file_and_line)
{
    TbBoardDef d;
    GError *e = NULL;
    GString *s = g_string_new(good_board);
    char *at = strstr(s->str, bad_boards[_i].from);
    ck_assert_ptr_nonnull(at);
    gssize pos = at - s->str;
    g_string_erase(s, pos, (gssize)strlen(bad_boards[_i].from));
    g_string_insert(s, pos, bad_boards[_i].to);
    ck_assert_int_eq(tb_board_def_parse("t.board", s->str, s->len, &d, &e), -EINVAL);
    ck_assert_msg(strstr(e->message, bad_boards[_i].says), "'%s' should contain '%s'", e->message,
                  bad_boards[_i].says);
    ck_assert_msg(g_str_has_prefix(e->message, "t.board"), "%s", e->message);
    g_error_free(e);
    g_string_free(s, TRUE);
}
END_TEST

static Suite *parsers_suite(void)
{
    Suite *s = suite_create("parsers");
    TCase *tc = tcase_create("parsers");
    tcase_add_test(tc, numbers_are_strict);
    tcase_add_test(tc, valid_requests_parse);
    tcase_add_loop_test(tc, bad_requests_are_refused_and_named, 0, G_N_ELEMENTS(refused));
    tcase_add_test(tc, nul_and_overlong_lines);
    tcase_add_test(tc, board_definition_parses);
    tcase_add_loop_test(tc, bad_board_definitions_name_file_and_line, 0, G_N_ELEMENTS(bad_boards));
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return check_run(parsers_suite());
}
