/* Integration tests: real QEMU boards, the real agent plugin, real sockets.
 * Nothing is programmed in the IOMMUs here, so every board passes DMA
 * through (VT-d TE=0, SMMUv3 SMMUEN=0 with GBPA.ABORT clear). */
#include <check.h>

#include "../../smmuman/tests/check-run.h"
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "board-fixture.h"
#include "hw/smmuv3-regs.h"
#include "hw/vtd-regs.h"

#define EDU_REG_LIVENESS  0x04
#define EDU_REG_IRQ_RAISE 0x60
#define EDU_REG_IRQ_ACK   0x64
#define EDU_REG_DMA_CMD   0x98

/* ---- boot and inventory ------------------------------------------------- */

START_TEST(boots_with_expected_inventory)
{
    BoardFixture f;
    const char *name = all_boards[_i];
    board_fixture_start(&f, name);
    ck_assert_str_eq(f.inv.board, name);
    ck_assert_uint_eq(tb_inventory_count_edu(&f.inv), 3);
    for (unsigned i = 0; i < 3; i++) {
        char n[8];
        snprintf(n, sizeof n, "edu%u", i);
        const TbInvDevice *d = tb_inventory_device(&f.inv, n);
        ck_assert_msg(d, "%s missing", n);
        ck_assert_uint_eq(d->vendor, 0x1234);
        ck_assert_uint_eq(d->device, 0x11e8);
        ck_assert_uint_eq(d->rid, (4u + i) << 3); /* slots 4, 5, 6 on bus 0 */
        ck_assert_uint_eq(d->bar0_size, 0x100000);
        ck_assert_int_ge(d->intx, 0);
        /* the BAR really decodes: edu's identification register */
        g_autofree char *id = board_ok(&f, "mmio read 0x%llx 4", (unsigned long long)d->bar0);
        ck_assert_str_eq(id, "0x010000ed");
    }
    ck_assert(f.inv.pool_base >= f.inv.ram_base && f.inv.pool_base + f.inv.pool_size <= f.inv.ram_base + f.inv.ram_size);
    struct stat st;
    ck_assert_int_eq(stat(f.inv.ram_file, &st), 0);
    ck_assert_uint_eq((uint64_t)st.st_size, f.inv.ram_size);

    bool x86 = g_str_has_prefix(name, "q35");
    bool bare = g_str_has_suffix(name, "-bare");
    ck_assert_uint_eq(f.inv.n_units, bare ? 0 : 1);
    uint64_t unit_base = x86 ? 0xfed90000 : 0x09050000;
    if (!bare) {
        ck_assert_str_eq(f.inv.units[0].kind, x86 ? "vtd" : "smmuv3");
        ck_assert_uint_eq(f.inv.units[0].base, unit_base);
    }
    /* The unit answers (or, bare, nothing is there) at the register level. */
    g_autofree char *id = board_ok(&f, "mmio read 0x%llx 4",
                                   (unsigned long long)unit_base + (x86 ? VTD_REG_VER : SMMU_REG_IDR0));
    if (bare) ck_assert_str_eq(id, "0x00000000");
    else if (x86) ck_assert_str_eq(id, "0x00000010");
    else ck_assert_str_ne(id, "0x00000000");
    board_fixture_stop(&f);
}
END_TEST

/* ---- DMA in passthrough ------------------------------------------------- */

START_TEST(dma_write_puts_pattern_in_ram)
{
    BoardFixture f;
    board_fixture_start(&f, all_boards[_i]);
    uint64_t addr = board_addr(&f, 0x200000);
    uint8_t *ram = board_ram(&f, addr - 4096, 3 * 4096);
    memset(ram, 0x5a, 3 * 4096); /* guard pages around the target */
    g_free(board_ok(&f, "dma edu1 write 0x%llx 4096 pattern=c0ffee01", (unsigned long long)addr));
    const uint8_t pat[4] = { 0xc0, 0xff, 0xee, 0x01 };
    for (unsigned i = 0; i < 4096; i++) ck_assert_uint_eq(ram[4096 + i], pat[i % 4]);
    for (unsigned i = 0; i < 4096; i++) {
        ck_assert_uint_eq(ram[i], 0x5a);
        ck_assert_uint_eq(ram[2 * 4096 + i], 0x5a);
    }
    board_fixture_stop(&f);
}
END_TEST

START_TEST(dma_read_carries_ram_into_engine)
{
    BoardFixture f;
    board_fixture_start(&f, all_boards[_i]);
    uint64_t src = board_addr(&f, 0x300000), dst = board_addr(&f, 0x380000);
    uint8_t *s = board_ram(&f, src, 4096), *d = board_ram(&f, dst, 4096);
    GRand *rng = g_rand_new_with_seed(0x5eed + _i);
    for (unsigned i = 0; i < 4096; i++) s[i] = (uint8_t)g_rand_int(rng);
    g_rand_free(rng);
    memset(d, 0, 4096);
    /* RAM -> engine buffer, then engine buffer -> elsewhere in RAM: only a
     * real read can make the second copy match. Halves use buffer offsets. */
    g_free(board_ok(&f, "dma edu2 read 0x%llx 2048", (unsigned long long)src));
    g_free(board_ok(&f, "dma edu2 read 0x%llx 2048 offset=2048", (unsigned long long)src + 2048));
    g_free(board_ok(&f, "dma edu2 write 0x%llx 4096", (unsigned long long)dst));
    ck_assert_int_eq(memcmp(s, d, 4096), 0);
    /* and the agent's log recorded each injection */
    g_autofree char *log = NULL;
    ck_assert(g_file_get_contents(f.inv.dma_log, &log, NULL, NULL));
    g_auto(GStrv) lines = g_strsplit(g_strstrip(log), "\n", -1);
    ck_assert_uint_eq(g_strv_length(lines), 3);
    ck_assert_ptr_nonnull(strstr(lines[1], "\"device\":\"edu2\""));
    ck_assert_ptr_nonnull(strstr(lines[1], "\"dir\":\"read\""));
    ck_assert_ptr_nonnull(strstr(lines[1], "\"offset\":2048"));
    ck_assert_ptr_nonnull(strstr(lines[2], "\"status\":\"done\""));
    board_fixture_stop(&f);
}
END_TEST

START_TEST(storm_from_two_engines)
{
    BoardFixture f;
    board_fixture_start(&f, all_boards[_i]);
    uint64_t base = board_addr(&f, 0x1000000);
    memset(board_ram(&f, base, 64 * 4096), 0, 64 * 4096);
    g_free(board_ok(&f, "dma edu0 write 0x%llx 64 pattern=e0", (unsigned long long)base));
    g_free(board_ok(&f, "dma edu1 write 0x%llx 64 pattern=e1", (unsigned long long)base));
    g_autofree char *r = board_ok(&f, "storm edu0,edu1 write 0x%llx 64 64 stride=4096", (unsigned long long)base);
    ck_assert_str_eq(r, "done count=64");
    /* round robin: even pages from edu0, odd from edu1 */
    for (unsigned i = 0; i < 64; i++) {
        uint8_t *p = board_ram(&f, base + i * 4096ull, 64);
        for (unsigned k = 0; k < 64; k++) ck_assert_uint_eq(p[k], i % 2 ? 0xe1 : 0xe0);
        ck_assert_uint_eq(p[64], 0);
    }
    board_fixture_stop(&f);
}
END_TEST

START_TEST(forged_msi_is_a_device_write)
{
    BoardFixture f;
    board_fixture_start(&f, all_boards[_i]);
    uint64_t addr = board_addr(&f, 0x400000);
    uint8_t *p = board_ram(&f, addr, 8);
    memset(p, 0, 8);
    g_free(board_ok(&f, "msi edu0 0x%llx 0xbeef", (unsigned long long)addr));
    /* An MSI is a 4-byte little-endian write of its data through the
     * device's bus-master address space. */
    ck_assert_uint_eq(p[0], 0xef);
    ck_assert_uint_eq(p[1], 0xbe);
    ck_assert_uint_eq(p[2], 0);
    ck_assert_uint_eq(p[4], 0);
    board_fixture_stop(&f);
}
END_TEST

/* ---- clients ------------------------------------------------------------ */

START_TEST(two_clients_get_their_own_replies_and_events)
{
    BoardFixture f;
    g_autoptr(GError) err = NULL;
    board_fixture_start(&f, all_boards[_i]);
    TbAgent *a = f.agent, *b = NULL;
    ck_assert_int_eq(tb_agent_connect(tb_board_agent_path(f.board), 0, &b, &err), 0);
    uint64_t bar_a = tb_inventory_device(&f.inv, "edu0")->bar0;
    uint64_t bar_b = tb_inventory_device(&f.inv, "edu1")->bar0;
    enum { N = 50 };
    /* Pipeline both clients' requests, interleaved, before reading anything. */
    for (unsigned i = 0; i < N; i++) {
        char line[96];
        snprintf(line, sizeof line, "mmio write 0x%llx 4 0x%x", (unsigned long long)bar_a + EDU_REG_LIVENESS, 0x1000 + i);
        ck_assert_int_eq(tb_agent_send(a, line, &err), 0);
        snprintf(line, sizeof line, "mmio write 0x%llx 4 0x%x", (unsigned long long)bar_b + EDU_REG_LIVENESS, 0x2000 + i);
        ck_assert_int_eq(tb_agent_send(b, line, &err), 0);
        snprintf(line, sizeof line, "mmio read 0x%llx 4", (unsigned long long)bar_a + EDU_REG_LIVENESS);
        ck_assert_int_eq(tb_agent_send(a, line, &err), 0);
        snprintf(line, sizeof line, "mmio read 0x%llx 4", (unsigned long long)bar_b + EDU_REG_LIVENESS);
        ck_assert_int_eq(tb_agent_send(b, line, &err), 0);
    }
    for (unsigned i = 0; i < N; i++) {
        TbReply r;
        char want[16];
        for (unsigned k = 0; k < 2; k++) {
            TbAgent *c = k ? b : a;
            ck_assert_int_eq(tb_agent_recv(c, &r, &err), 0); /* the write */
            ck_assert(r.ok);
            tb_reply_clear(&r);
            ck_assert_int_eq(tb_agent_recv(c, &r, &err), 0); /* the read: ~written */
            snprintf(want, sizeof want, "0x%08x", ~(uint32_t)((k ? 0x2000 : 0x1000) + i));
            ck_assert_str_eq(r.text, want);
            tb_reply_clear(&r);
        }
    }
    /* Interrupt events go to subscribers only. */
    int intx = tb_inventory_device(&f.inv, "edu0")->intx;
    g_free(board_ok(&f, "irq subscribe"));
    TbReply r;
    ck_assert_int_eq(tb_agent_do(b, &r, &err, "mmio write 0x%llx 4 1", (unsigned long long)bar_a + EDU_REG_IRQ_RAISE), 0);
    tb_reply_clear(&r);
    g_autofree char *level = board_ok(&f, "irq level %d", intx);
    ck_assert_str_eq(level, "1");
    ck_assert_int_eq(tb_agent_do(b, &r, &err, "mmio write 0x%llx 4 1", (unsigned long long)bar_a + EDU_REG_IRQ_ACK), 0);
    tb_reply_clear(&r);
    g_autofree char *ev1 = tb_agent_next_event(a, 2000);
    g_autofree char *ev2 = tb_agent_next_event(a, 2000);
    g_autofree char *want1 = g_strdup_printf("irq %d raise", intx);
    g_autofree char *want2 = g_strdup_printf("irq %d lower", intx);
    ck_assert_str_eq(ev1, want1);
    ck_assert_str_eq(ev2, want2);
    char *none = tb_agent_next_event(b, 200);
    ck_assert_ptr_null(none);
    tb_agent_close(b);
    board_fixture_stop(&f);
}
END_TEST

static int raw_connect(const char *path);

/* ---- fairness ------------------------------------------------------------ */

/* The IOMMU's version register: what the service reads first. */
static uint64_t version_register(const BoardFixture *f, const char **want)
{
    ck_assert_uint_ge(f->inv.n_units, 1);
    bool vtd = strcmp(f->inv.units[0].kind, "vtd") == 0;
    *want = vtd ? "0x00000010" : "0x00000001"; /* VT-d VER 1.0; SMMUv3 AIDR 3.1 */
    return f->inv.units[0].base + (vtd ? VTD_REG_VER : SMMU_REG_AIDR);
}

/* Client A's storm of many thousands of DMAs must not hold up client B: a
 * register read B sends once the storm has visibly begun is answered while
 * the storm still runs, i.e. before A's reply, and the storm still does
 * every DMA. No clock is read: the order of the replies is the proof. (An
 * agent that runs a storm to completion answers A first.) */
START_TEST(storm_does_not_hold_up_other_clients)
{
    enum { COUNT = 20000 };
    BoardFixture f;
    g_autoptr(GError) err = NULL;
    board_fixture_start(&f, all_boards[_i]);
    TbAgent *a = f.agent, *b = NULL;
    ck_assert_int_eq(tb_agent_connect(tb_board_agent_path(f.board), 0, &b, &err), 0);
    const char *want;
    uint64_t reg = version_register(&f, &want);
    uint64_t base = board_addr(&f, 0x2000000);
    uint8_t *ram = board_ram(&f, base, (size_t)COUNT * 4096);
    memset(ram, 0, (size_t)COUNT * 4096);
    for (unsigned k = 0; k < 3; k++) /* every engine's buffer: 0xa5 */
        g_free(board_ok(&f, "dma edu%u write 0x%llx 4096 pattern=a5", k, (unsigned long long)board_addr(&f, 0x1000000)));
    char storm[128];
    snprintf(storm, sizeof storm, "storm edu0,edu1,edu2 write 0x%llx 4096 %u", (unsigned long long)base, COUNT);
    ck_assert_int_eq(tb_agent_send(a, storm, &err), 0);
    /* the storm has begun once its first page is written (bounded wait) */
    for (unsigned spins = 0; ram[0] != 0xa5; spins++) {
        ck_assert_msg(spins < 100000, "the storm never started");
        g_usleep(100);
    }
    TbReply r;
    ck_assert_int_eq(tb_agent_do(b, &r, &err, "mmio read 0x%llx 4", (unsigned long long)reg), 0);
    ck_assert_str_eq(r.text, want);
    tb_reply_clear(&r);
    struct pollfd p = { .fd = tb_agent_fd(a), .events = POLLIN };
    ck_assert_msg(poll(&p, 1, 0) == 0, "the storm's reply came before the other client's register read");
    ck_assert_uint_eq(ram[(size_t)(COUNT - 1) * 4096], 0); /* its last DMA is still to come */
    /* and the storm does all it was asked */
    ck_assert_int_eq(tb_agent_recv(a, &r, &err), 0);
    ck_assert_msg(r.ok, "storm: %s %s", r.error, r.text);
    ck_assert_str_eq(r.text, "done count=20000");
    tb_reply_clear(&r);
    for (size_t i = 0; i < COUNT; i++) ck_assert_msg(ram[i * 4096] == 0xa5 && ram[i * 4096 + 4095] == 0xa5, "page %zu", i);
    g_autofree char *log = NULL;
    ck_assert(g_file_get_contents(f.inv.dma_log, &log, NULL, NULL));
    unsigned storms = 0;
    for (const char *q = log; (q = strstr(q, "\"purpose\":\"storm\",\"status\":\"done\"")); q++) storms++;
    ck_assert_uint_eq(storms, COUNT);
    tb_agent_close(b);
    board_fixture_stop(&f);
}
END_TEST

/* A storm owns its engines until it is done: another client's dma on one
 * of them waits (and cannot load its pattern into a buffer the storm is
 * writing out), while a dma on another engine goes ahead. */
START_TEST(a_storm_keeps_its_engines)
{
    enum { COUNT = 5000 };
    BoardFixture f;
    g_autoptr(GError) err = NULL;
    board_fixture_start(&f, all_boards[_i]);
    TbAgent *a = f.agent, *b = NULL;
    ck_assert_int_eq(tb_agent_connect(tb_board_agent_path(f.board), 0, &b, &err), 0);
    uint64_t base = board_addr(&f, 0x2000000), x = board_addr(&f, 0x1800000), y = board_addr(&f, 0x1900000);
    uint8_t *ram = board_ram(&f, base, (size_t)COUNT * 4096);
    memset(ram, 0, (size_t)COUNT * 4096);
    memset(board_ram(&f, x, 64), 0, 64);
    memset(board_ram(&f, y, 64), 0, 64);
    for (unsigned k = 0; k < 2; k++)
        g_free(board_ok(&f, "dma edu%u write 0x%llx 4096 pattern=a5", k, (unsigned long long)board_addr(&f, 0x1000000)));
    char storm[128];
    snprintf(storm, sizeof storm, "storm edu0,edu1 write 0x%llx 4096 %u", (unsigned long long)base, COUNT);
    ck_assert_int_eq(tb_agent_send(a, storm, &err), 0);
    for (unsigned spins = 0; ram[0] != 0xa5; spins++) {
        ck_assert_msg(spins < 100000, "the storm never started");
        g_usleep(100);
    }
    struct pollfd p = { .fd = tb_agent_fd(a), .events = POLLIN };
    TbReply r;
    /* edu2 is free: its dma is done while the storm runs */
    ck_assert_int_eq(tb_agent_do(b, &r, &err, "dma edu2 write 0x%llx 64 pattern=11", (unsigned long long)x), 0);
    tb_reply_clear(&r);
    ck_assert_msg(poll(&p, 1, 0) == 0, "a dma on a free engine waited for the storm");
    ck_assert_uint_eq(board_ram(&f, x, 64)[63], 0x11);
    /* edu0 is the storm's: this dma runs after it, so its reply comes after the storm's */
    ck_assert_int_eq(tb_agent_do(b, &r, &err, "dma edu0 write 0x%llx 64 pattern=22", (unsigned long long)y), 0);
    tb_reply_clear(&r);
    ck_assert_msg(poll(&p, 1, 0) == 1, "a dma on the storm's engine ran before the storm ended");
    ck_assert_uint_eq(board_ram(&f, y, 64)[63], 0x22);
    ck_assert_int_eq(tb_agent_recv(a, &r, &err), 0);
    ck_assert_msg(r.ok, "storm: %s %s", r.error, r.text);
    ck_assert_str_eq(r.text, "done count=5000");
    tb_reply_clear(&r);
    for (size_t i = 0; i < COUNT; i++) ck_assert_msg(ram[i * 4096] == 0xa5 && ram[i * 4096 + 4095] == 0xa5, "page %zu", i);
    tb_agent_close(b);
    board_fixture_stop(&f);
}
END_TEST

/* A subscriber that does not read while an interrupt line pulses thousands
 * of times gets the flood collapsed, not lost: the events it then reads
 * alternate, start with "raise", and end with the line's true level. The
 * agent's end of the socket fills after a few hundred sends (each small
 * send costs about 1 KiB of net.core.wmem_default, 208 KiB on Debian), so
 * most of the 6,001 events wait in the agent, where they collapse. */
START_TEST(irq_flood_collapses_for_a_slow_subscriber)
{
    enum { PULSES = 3000 };
    BoardFixture f;
    g_autoptr(GError) err = NULL;
    board_fixture_start(&f, all_boards[_i]);
    const TbInvDevice *edu = tb_inventory_device(&f.inv, "edu0");
    ck_assert_int_ge(edu->intx, 0);
    int fd = raw_connect(tb_board_agent_path(f.board));
    ck_assert_int_eq(send(fd, "irq subscribe\n", 14, MSG_NOSIGNAL), 14);
    /* subscribed before the first pulse: read the greeting and the OK */
    GString *in = g_string_new(NULL);
    for (unsigned nl = 0; nl < 2;) {
        char c;
        ck_assert_int_eq(recv(fd, &c, 1, 0), 1);
        g_string_append_c(in, c);
        nl += c == '\n';
    }
    ck_assert_msg(g_str_has_prefix(in->str, "HELLO ") && g_str_has_suffix(in->str, "\nOK\n"), "'%s'", in->str);
    g_string_truncate(in, 0);
    /* Pulse edu0's INTx PULSES times, pipelined, then leave it raised;
     * the subscriber reads nothing meanwhile. */
    GString *lines = g_string_new(NULL);
    for (unsigned i = 0; i <= PULSES; i++) {
        g_string_append_printf(lines, "mmio write 0x%llx 4 1\n", (unsigned long long)edu->bar0 + EDU_REG_IRQ_RAISE);
        if (i < PULSES)
            g_string_append_printf(lines, "mmio write 0x%llx 4 1\n", (unsigned long long)edu->bar0 + EDU_REG_IRQ_ACK);
    }
    for (gsize off = 0; off < lines->len;) {
        g_autofree char *one = g_strndup(lines->str + off, (gsize)(strchr(lines->str + off, '\n') - lines->str - off));
        TbReply r;
        ck_assert_int_eq(tb_agent_do(f.agent, &r, &err, "%s", one), 0);
        tb_reply_clear(&r);
        off += strlen(one) + 1;
    }
    g_string_free(lines, TRUE);
    /* A request after the flood: its reply follows every event before it. */
    char level[32];
    int n = snprintf(level, sizeof level, "irq level %d\n", edu->intx);
    ck_assert_int_eq(send(fd, level, (size_t)n, MSG_NOSIGNAL), n);
    unsigned events = 0, raises = 0;
    bool last_raise = false, done = false;
    char want_raise[32], want_lower[32];
    snprintf(want_raise, sizeof want_raise, "! irq %d raise", edu->intx);
    snprintf(want_lower, sizeof want_lower, "! irq %d lower", edu->intx);
    while (!done) {
        char buf[65536];
        ssize_t k = recv(fd, buf, sizeof buf, 0);
        ck_assert_int_gt(k, 0);
        g_string_append_len(in, buf, k);
        char *nl;
        while ((nl = memchr(in->str, '\n', in->len))) {
            *nl = '\0';
            if (g_str_has_prefix(in->str, "! ")) {
                bool raise = strcmp(in->str, want_raise) == 0;
                ck_assert_msg(raise || strcmp(in->str, want_lower) == 0, "unexpected event '%s'", in->str);
                ck_assert_msg(raise != last_raise || events == 0, "event %u does not alternate: '%s'", events, in->str);
                ck_assert_msg(events > 0 || raise, "the first event is not a raise");
                last_raise = raise;
                raises += raise;
                events++;
            } else {
                ck_assert_str_eq(in->str, "OK 1");
                done = true;
            }
            g_string_erase(in, 0, nl - in->str + 1);
        }
    }
    g_string_free(in, TRUE);
    close(fd);
    ck_assert(last_raise); /* the line is left raised */
    ck_assert_uint_ge(raises, 1);
    ck_assert_msg(events < 2 * PULSES + 1, "%u events for %u pulses: nothing collapsed", events, PULSES);
    board_fixture_stop(&f);
}
END_TEST

/* ---- hostile input ------------------------------------------------------ */

static int raw_connect(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    g_strlcpy(sa.sun_path, path, sizeof sa.sun_path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    return fd;
}

/* One hostile request; every line it holds must be refused. */
static GString *hostile(GRand *rng, unsigned i, const BoardFixture *f)
{
    GString *s = g_string_new(NULL);
    unsigned long long bar = (unsigned long long)tb_inventory_device(&f->inv, "edu0")->bar0;
    unsigned long long ram_end = (unsigned long long)(f->inv.ram_base + f->inv.ram_size);
    switch (i % 16) {
    case 0: /* unknown verb */
        for (unsigned k = 0, n = 1 + g_rand_int_range(rng, 0, 12); k < n; k++)
            g_string_append_c(s, (char)g_rand_int_range(rng, 'a', 'z' + 1));
        g_string_append(s, "x1 2"); /* no verb takes this shape */
        break;
    case 1: g_string_printf(s, "mmio read 0x%xZ 4", g_rand_int(rng)); break;
    case 2: g_string_printf(s, "mmio read 99999999999999999999%u 4", g_rand_int(rng)); break;
    case 3: g_string_printf(s, "dma edu0 write 0x1000 %u", 4097 + g_rand_int_range(rng, 0, 1 << 30)); break;
    case 4: g_string_printf(s, "dma edu1 read 0x1000 %u offset=%u", 1 + g_rand_int_range(rng, 0, 4096), 4096 - g_rand_int_range(rng, 0, 1)); break;
    case 5: g_string_printf(s, "storm edu0 write 0x0 16 %u", 100001 + g_rand_int_range(rng, 0, 1000)); break;
    case 6: g_string_append(s, "mmio read"); g_string_append_c(s, '\0'); g_string_append(s, " 0x0 4"); break;
    case 7: g_string_printf(s, "ram read 0x%llx 16", ram_end + g_rand_int_range(rng, 0, 4096)); break;
    case 8: g_string_printf(s, "mmio write 0x%llx 8 0x1", bar + 0x80 + 8 * g_rand_int_range(rng, 0, 4)); break;
    case 9: g_string_printf(s, "dma edu%u write 0x1000 16", 3 + g_rand_int_range(rng, 0, 100)); break;
    case 10: g_string_printf(s, "pci write 00:04.0 0x%x 4 0xffffffff", 0x10 + 4 * g_rand_int_range(rng, 0, 6)); break;
    case 11: g_string_printf(s, "mmio read 0x1000 %u", 3 + 2 * g_rand_int_range(rng, 2, 100)); break;
    case 12: /* embedded newline: two lines, neither valid */
        g_string_printf(s, "dma edu0 write\nbogus %u", g_rand_int(rng)); break;
    case 13: /* bytes outside printable ASCII */
        for (unsigned k = 0, n = 1 + g_rand_int_range(rng, 0, 40); k < n; k++) {
            char c = (char)g_rand_int_range(rng, 1, 256);
            g_string_append_c(s, c == '\n' ? 'x' : c);
        }
        g_string_append_c(s, (char)0xff);
        break;
    case 14:
        if (g_str_has_prefix(f->inv.board, "q35-vtd")) /* FSTS is 32-bit: an 8-byte write would abort QEMU */
            g_string_printf(s, "mmio write 0x%x 8 0x%x", 0xfed90034, g_rand_int(rng));
        else
            g_string_printf(s, "ram write 0x%llx %s", (unsigned long long)f->inv.ram_base, "abc");
        break;
    case 15: /* over-long line */
        g_string_append(s, "ram write 0x0 ");
        for (unsigned k = 0; k < 17000; k++) g_string_append_c(s, 'a');
        break;
    }
    return s;
}

START_TEST(hostile_requests_get_errors_and_qemu_lives)
{
    BoardFixture f;
    board_fixture_start(&f, all_boards[_i]);
    int fd = raw_connect(tb_board_agent_path(f.board));
    GRand *rng = g_rand_new_with_seed(1000 + _i);
    GString *all = g_string_new(NULL);
    unsigned expected = 0;
    for (unsigned i = 0; i < 1000; i++) {
        GString *h = hostile(rng, i, &f);
        for (gsize k = 0; k < h->len; k++) expected += h->str[k] == '\n';
        expected++;
        g_string_append_len(all, h->str, (gssize)h->len);
        g_string_append_c(all, '\n');
        g_string_free(h, TRUE);
    }
    g_rand_free(rng);
    for (gsize off = 0; off < all->len;) {
        ssize_t n = send(fd, all->str + off, all->len - off, MSG_NOSIGNAL);
        ck_assert_int_gt(n, 0);
        off += (gsize)n;
    }
    ck_assert_int_eq(send(fd, "hello\n", 6, MSG_NOSIGNAL), 6);
    g_string_free(all, TRUE);
    /* Read the greeting, then expect exactly one ERR line per hostile line. */
    GString *in = g_string_new(NULL);
    unsigned errs = 0, lines = 0;
    bool hello = false;
    while (!hello) {
        char buf[65536];
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        ck_assert_msg(n > 0, "agent closed the connection after %u replies", lines);
        g_string_append_len(in, buf, n);
        char *nl;
        while ((nl = memchr(in->str, '\n', in->len))) {
            *nl = '\0';
            if (lines > 0 && g_str_has_prefix(in->str, "ERR ")) errs++;
            else if (g_str_has_prefix(in->str, "OK smmu-board-agent")) hello = true;
            else if (lines > 0) ck_abort_msg("reply %u is not an error: '%.80s'", lines, in->str);
            lines++;
            g_string_erase(in, 0, nl - in->str + 1);
        }
    }
    g_string_free(in, TRUE);
    close(fd);
    ck_assert_uint_eq(errs, expected);
    ck_assert(process_alive(tb_board_pid(f.board)));
    /* still fully working */
    uint64_t addr = board_addr(&f, 0x500000);
    g_free(board_ok(&f, "dma edu0 write 0x%llx 16 pattern=77", (unsigned long long)addr));
    ck_assert_uint_eq(board_ram(&f, addr, 16)[15], 0x77);
    board_fixture_stop(&f);
}
END_TEST

START_TEST(client_disconnecting_mid_request)
{
    BoardFixture f;
    board_fixture_start(&f, all_boards[_i]);
    uint64_t addr = board_addr(&f, 0x600000);
    for (unsigned k = 0; k < 3; k++) {
        int fd = raw_connect(tb_board_agent_path(f.board));
        char line[128];
        int n = snprintf(line, sizeof line, "storm edu0,edu1 write 0x%llx 4096 200\nhello\n", (unsigned long long)addr);
        ck_assert_int_eq(send(fd, line, (size_t)n, MSG_NOSIGNAL), n);
        if (k == 1) ck_assert_int_eq(send(fd, "dma edu0 wri", 12, MSG_NOSIGNAL), 12); /* half a line */
        close(fd); /* gone while the storm runs */
    }
    g_autofree char *hello = board_ok(&f, "hello");
    ck_assert_ptr_nonnull(strstr(hello, "protocol=1"));
    g_free(board_ok(&f, "dma edu0 write 0x%llx 8 pattern=42", (unsigned long long)addr));
    ck_assert_uint_eq(board_ram(&f, addr, 8)[7], 0x42);
    ck_assert(process_alive(tb_board_pid(f.board)));
    board_fixture_stop(&f);
}
END_TEST

START_TEST(launcher_survives_qemu_dying_mid_request)
{
    BoardFixture f;
    g_autoptr(GError) err = NULL;
    board_fixture_start(&f, "q35-vtd");
    char *run_dir = g_strdup(tb_board_run_dir(f.board));
    pid_t pid = tb_board_pid(f.board);
    ck_assert_int_eq(tb_agent_send(f.agent, "storm edu0,edu1,edu2 write 0x1000000 4096 20000", &err), 0);
    g_usleep(50000);
    kill(pid, SIGKILL);
    TbReply r;
    int rc = tb_agent_recv(f.agent, &r, &err);
    ck_assert_int_eq(rc, -ECONNRESET);
    ck_assert_ptr_nonnull(strstr(err->message, "connection closed"));
    g_clear_error(&err);
    /* a request on the dead connection fails cleanly: no SIGPIPE */
    ck_assert_int_lt(tb_agent_call(f.agent, &r, &err, "hello"), 0);
    board_fixture_stop(&f);
    ck_assert(!process_alive(pid));
    ck_assert(!g_file_test(run_dir, G_FILE_TEST_EXISTS));
    g_free(run_dir);
}
END_TEST

/* ---- stopping and bad boards -------------------------------------------- */

START_TEST(stop_leaves_nothing)
{
    g_autoptr(GError) err = NULL;
    /* A run directory the launcher makes goes away entirely... */
    TbBoard *b = tb_board_start(all_boards[_i], NULL, &err);
    ck_assert_msg(b, "%s", err ? err->message : "");
    char *dir = g_strdup(tb_board_run_dir(b));
    pid_t pid = tb_board_pid(b);
    ck_assert(process_alive(pid));
    ck_assert_int_eq(tb_board_stop(b, &err), 0);
    ck_assert(!process_alive(pid));
    ck_assert(!g_file_test(dir, G_FILE_TEST_EXISTS));
    g_free(dir);
    /* ...one the caller gave is left as it was found: empty. */
    g_autofree char *mine = g_build_filename(g_get_tmp_dir(), "smmu-test-XXXXXX", NULL);
    ck_assert(g_mkdtemp(mine));
    TbLaunchOptions opt = { .run_dir = mine };
    b = tb_board_start(all_boards[_i], &opt, &err);
    ck_assert_msg(b, "%s", err ? err->message : "");
    pid = tb_board_pid(b);
    ck_assert_int_eq(tb_board_stop(b, &err), 0);
    ck_assert(!process_alive(pid));
    GDir *d = g_dir_open(mine, 0, NULL);
    ck_assert_ptr_nonnull(d);
    const char *left = g_dir_read_name(d);
    ck_assert_msg(left == NULL, "left behind: %s", left);
    g_dir_close(d);
    rmdir(mine);
}
END_TEST

START_TEST(bad_board_definitions_are_named)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *dir = g_build_filename(g_get_tmp_dir(), "smmu-test-XXXXXX", NULL);
    ck_assert(g_mkdtemp(dir));
    g_autofree char *path = g_build_filename(dir, "broken.board", NULL);
    /* q35-vtd with one bad value: the message names its file and line */
    g_autofree char *good_path = tb_board_resolve("q35-vtd", &err);
    g_autofree char *good = NULL;
    ck_assert(g_file_get_contents(good_path, &good, NULL, NULL));
    char *at = strstr(good, "ram-size=512M");
    ck_assert_ptr_nonnull(at);
    unsigned line = 1;
    for (char *p = good; p < at; p++) line += *p == '\n';
    g_autofree char *bad = g_strdup(good);
    memcpy(bad + (at - good), "ram-size=lotsM", 13);
    ck_assert(g_file_set_contents(path, bad, -1, NULL));
    TbBoard *b = tb_board_start(path, NULL, &err);
    ck_assert_ptr_null(b);
    g_autofree char *want = g_strdup_printf("%s:%u: ram-size: expected a number", path, line);
    ck_assert_msg(strstr(err->message, want), "message: %s", err->message);
    g_clear_error(&err);
    b = tb_board_start("no-such-board", NULL, &err);
    ck_assert_ptr_null(b);
    ck_assert_msg(strstr(err->message, "q35-vtd"), "should list the boards: %s", err->message);
    unlink(path);
    rmdir(dir);
}
END_TEST

static Suite *board_suite(void)
{
    Suite *s = suite_create("board");
    TCase *tc = tcase_create("boards");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, boots_with_expected_inventory, 0, 4);
    tcase_add_loop_test(tc, dma_write_puts_pattern_in_ram, 0, 4);
    tcase_add_loop_test(tc, dma_read_carries_ram_into_engine, 0, 4);
    tcase_add_loop_test(tc, storm_from_two_engines, 0, 2);
    tcase_add_loop_test(tc, forged_msi_is_a_device_write, 0, 2);
    tcase_add_loop_test(tc, two_clients_get_their_own_replies_and_events, 0, 2);
    tcase_add_loop_test(tc, storm_does_not_hold_up_other_clients, 0, 2);
    tcase_add_loop_test(tc, a_storm_keeps_its_engines, 0, 2);
    tcase_add_loop_test(tc, irq_flood_collapses_for_a_slow_subscriber, 0, 2);
    tcase_add_loop_test(tc, hostile_requests_get_errors_and_qemu_lives, 0, 2);
    tcase_add_loop_test(tc, client_disconnecting_mid_request, 0, 2);
    tcase_add_test(tc, launcher_survives_qemu_dying_mid_request);
    tcase_add_loop_test(tc, stop_leaves_nothing, 0, 4);
    tcase_add_test(tc, bad_board_definitions_are_named);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return check_run(board_suite());
}
