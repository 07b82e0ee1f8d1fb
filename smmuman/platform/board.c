/* Platform module "board" (smmu-platform-board.so, spec board:RUNDIR): the
 * QEMU test bed. Registers and interrupts go through the board agent's
 * socket; RAM is the board's shared RAM file, mapped, so tables are written
 * at memory speed exactly as on hardware.
 *
 * Test-bed code: it links the agent client (testbed/agent-client.c), never
 * the launcher, and is loaded by smmuman only when a board: spec names it
 * (platform-module.h), so the production binary holds none of it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "platform-module.h"

#include "agent-client.h"
#include "inventory.h"

typedef struct PlatformInst Board; /* this module's platform */

struct PlatformInst {
    TbAgent *agent;
    TbInventory inv;
    uint8_t *ram;
    size_t ram_size;
    PlatformUnit units[PLATFORM_MAX_UNITS];
    unsigned n_units;
    PlatformIrqFn irq_fn;
    void *irq_opaque;
    char error[256];
};

static int fail(Board *p, int rc, const char *what, GError *e)
{
    snprintf(p->error, sizeof p->error, "%s: %s", what, e ? e->message : g_strerror(-rc));
    if (e) g_error_free(e);
    return rc;
}

/* The agent's "info" names units by kind and base only; irqs come from the
 * board definition text it also reports. */
static void copy_units(Board *p)
{
    for (unsigned i = 0; i < p->inv.n_units && i < PLATFORM_MAX_UNITS; i++) {
        PlatformUnit *u = &p->units[p->n_units++];
        g_strlcpy(u->name, p->inv.units[i].name, sizeof u->name);
        g_strlcpy(u->kind, p->inv.units[i].kind, sizeof u->kind);
        u->base = p->inv.units[i].base;
        u->size = p->inv.units[i].size;
        u->n_irqs = p->inv.units[i].n_irqs;
        for (unsigned k = 0; k < u->n_irqs && k < PLATFORM_MAX_IRQS; k++) {
            g_strlcpy(u->irq_names[k], p->inv.units[i].irq_names[k], sizeof u->irq_names[k]);
            u->irqs[k] = p->inv.units[i].irqs[k];
        }
    }
}

static void board_close(Board *p);

/* arg: the run directory */
static int board_open(const char *spec, const char *arg, Board **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!*arg) { /* the loader never passes one; a module checks its own input */
        snprintf(err, errlen, "platform '%s': expected board:RUNDIR", spec);
        return -EINVAL;
    }
    Board *p = g_new0(Board, 1);
    g_autofree char *sock = tb_run_dir_agent_path(arg);
    GError *e = NULL;
    int rc = tb_agent_connect(sock, 0, &p->agent, &e);
    if (!rc) rc = tb_inventory_fetch(p->agent, &p->inv, &e);
    if (rc) {
        snprintf(err, errlen, "platform %s: %s", spec, e ? e->message : g_strerror(-rc));
        if (e) g_error_free(e);
        board_close(p);
        return rc;
    }
    int fd = open(p->inv.ram_file, O_RDWR | O_CLOEXEC);
    if (fd >= 0) {
        p->ram = mmap(NULL, p->inv.ram_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        close(fd);
    }
    if (fd < 0 || p->ram == MAP_FAILED) {
        rc = -errno;
        p->ram = NULL;
        snprintf(err, errlen, "platform %s: RAM file %s: %s", spec, p->inv.ram_file, g_strerror(-rc));
        board_close(p);
        return rc;
    }
    p->ram_size = p->inv.ram_size;
    copy_units(p);
    *out = p;
    return 0;
}

static void board_close(Board *p)
{
    if (!p) return;
    if (p->ram) munmap(p->ram, p->ram_size);
    tb_agent_close(p->agent);
    g_free(p);
}

static int board_reg_read(Board *p, uint64_t pa, unsigned size, uint64_t *val)
{
    TbReply r;
    GError *e = NULL;
    int rc = tb_agent_do(p->agent, &r, &e, "mmio read 0x%llx %u", (unsigned long long)pa, size);
    if (rc) return fail(p, rc, "register read", e);
    char *end;
    *val = strtoull(r.text, &end, 16);
    rc = end == r.text ? -EPROTO : 0;
    tb_reply_clear(&r);
    return rc;
}

static int board_reg_write(Board *p, uint64_t pa, unsigned size, uint64_t val)
{
    TbReply r;
    GError *e = NULL;
    int rc = tb_agent_do(p->agent, &r, &e, "mmio write 0x%llx %u 0x%llx", (unsigned long long)pa, size,
                         (unsigned long long)val);
    if (rc) return fail(p, rc, "register write", e);
    tb_reply_clear(&r);
    return 0;
}

static void *board_map(Board *p, uint64_t pa, uint64_t len)
{
    if (pa < p->inv.ram_base || len > p->ram_size || pa - p->inv.ram_base > p->ram_size - len) return NULL;
    return p->ram + (pa - p->inv.ram_base);
}

static void board_pool(const Board *p, uint64_t *base, uint64_t *size)
{
    *base = p->inv.pool_base;
    *size = p->inv.pool_size;
}

static unsigned board_units(const Board *p, const PlatformUnit **units)
{
    *units = p->units;
    return p->n_units;
}

static int board_irq_subscribe(Board *p, PlatformIrqFn fn, void *opaque)
{
    TbReply r;
    GError *e = NULL;
    p->irq_fn = fn;
    p->irq_opaque = opaque;
    int rc = tb_agent_do(p->agent, &r, &e, "irq subscribe");
    if (rc) return fail(p, rc, "irq subscribe", e);
    tb_reply_clear(&r);
    return 0;
}

static int board_irq_fd(const Board *p) { return tb_agent_fd(p->agent); }
static bool board_irq_pending(const Board *p) { return tb_agent_events_pending(p->agent); }

#define IRQ_BATCH 32 /* distinct lines delivered per dispatch */

static int board_irq_dispatch(Board *p)
{
    char *ev;
    int n = 0;
    /* A blocked 4 KiB DMA on SMMUv3 pulses the event-queue line up to 1024
     * times, and one drain serves them all: every line that rose is
     * delivered once per batch, however often it rose meanwhile. */
    unsigned raised[IRQ_BATCH], nraised = 0;
    /* timeout 0: take what is queued or already readable, never wait */
    /* bounded, so that a flood cannot keep the caller's loop from its
     * other work: the rest waits for the next call */
    while (n < 4096 && (ev = tb_agent_next_event(p->agent, 0))) {
        unsigned irq;
        char what[8];
        if (sscanf(ev, "irq %u %7s", &irq, what) == 2 && strcmp(what, "raise") == 0) {
            bool seen = false;
            for (unsigned i = 0; i < nraised && !seen; i++) seen = raised[i] == irq;
            if (!seen && nraised == IRQ_BATCH && p->irq_fn) { /* full: deliver what we have */
                for (unsigned i = 0; i < nraised; i++) p->irq_fn(p->irq_opaque, raised[i], true);
                nraised = 0;
            }
            if (!seen) raised[nraised++] = irq;
        }
        g_free(ev);
        n++;
    }
    for (unsigned i = 0; i < nraised && p->irq_fn; i++) p->irq_fn(p->irq_opaque, raised[i], true);
    return n;
}

static const char *board_error(const Board *p) { return p->error; }

/* The module's one exported symbol (platform-module.h). */
__attribute__((visibility("default"))) const SmmuPlatformOps smmu_platform_ops = {
    .abi = SMMU_PLATFORM_ABI,
    .type = "board",
    .open = board_open,
    .close = board_close,
    .reg_read = board_reg_read,
    .reg_write = board_reg_write,
    .map = board_map,
    .pool = board_pool,
    .units = board_units,
    .irq_subscribe = board_irq_subscribe,
    .irq_fd = board_irq_fd,
    .irq_dispatch = board_irq_dispatch,
    .irq_pending = board_irq_pending,
    .error = board_error,
};
