#include "board-fixture.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ram-span.h"

const char *const all_boards[4] = { "q35-vtd", "virt-smmuv3", "q35-bare", "virt-bare" };

void board_fixture_start(BoardFixture *f, const char *name)
{
    g_autoptr(GError) err = NULL;
    memset(f, 0, sizeof *f);
    f->board = tb_board_start(name, NULL, &err);
    ck_assert_msg(f->board, "start %s: %s", name, err ? err->message : "?");
    ck_assert_msg(tb_agent_connect(tb_board_agent_path(f->board), 0, &f->agent, &err) == 0, "connect: %s",
                  err->message);
    ck_assert_msg(tb_inventory_fetch(f->agent, &f->inv, &err) == 0, "info: %s", err->message);
    int fd = open(f->inv.ram_file, O_RDWR | O_CLOEXEC);
    ck_assert_msg(fd >= 0, "%s: %s", f->inv.ram_file, g_strerror(errno));
    f->ram_size = f->inv.ram_size;
    f->ram = mmap(NULL, f->ram_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    ck_assert(f->ram != MAP_FAILED);
}

void board_fixture_stop(BoardFixture *f)
{
    g_autoptr(GError) err = NULL;
    if (f->ram && f->ram != MAP_FAILED) munmap(f->ram, f->ram_size);
    tb_agent_close(f->agent);
    ck_assert_msg(tb_board_stop(f->board, &err) == 0, "stop: %s", err ? err->message : "?");
    memset(f, 0, sizeof *f);
}

uint8_t *board_ram_try(BoardFixture *f, uint64_t addr, uint64_t len)
{
    uint64_t off;
    if (!f->ram || tb_span(f->inv.ram_base, f->ram_size, addr, len, &off) != TB_SPAN_INSIDE) return NULL;
    return f->ram + off;
}

uint8_t *board_ram_at(BoardFixture *f, uint64_t addr, uint64_t len, const char *file, int line)
{
    uint8_t *p = board_ram_try(f, addr, len);
    ck_assert_msg(p, "%s:%d: board_ram: 0x%llx + %llu bytes %s (RAM is 0x%llx + 0x%zx)", file, line,
                  (unsigned long long)addr, (unsigned long long)len,
                  tb_span_wraps(addr, len) ? "runs past the end of the 64-bit address space" : "is not all RAM",
                  (unsigned long long)f->inv.ram_base, f->ram_size);
    return p;
}

char *board_ok(BoardFixture *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *line = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_autoptr(GError) err = NULL;
    TbReply r;
    ck_assert_msg(tb_agent_do(f->agent, &r, &err, "%s", line) == 0, "'%s': %s", line, err->message);
    char *text = g_strdup(r.text);
    tb_reply_clear(&r);
    return text;
}

uint64_t board_addr(const BoardFixture *f, uint64_t off)
{
    ck_assert(off < f->inv.stage_base - f->inv.ram_base);
    return f->inv.ram_base + off;
}

int process_alive(pid_t pid)
{
    return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}
