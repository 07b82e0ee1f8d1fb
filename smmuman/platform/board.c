/* Platform "board": the QEMU test bed. Registers and interrupts go through
 * the board agent's socket; RAM is the board's shared RAM file, mapped, so
 * tables are written at memory speed exactly as on hardware. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "platform.h"

#include "agent-client.h"
#include "inventory.h"

struct Platform {
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

static int fail(Platform *p, int rc, const char *what, GError *e)
{
    snprintf(p->error, sizeof p->error, "%s: %s", what, e ? e->message : g_strerror(-rc));
    if (e) g_error_free(e);
    return rc;
}

/* The agent's "info" names units by kind and base only; irqs come from the
 * board definition text it also reports. */
static void copy_units(Platform *p)
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

int platform_open(const char *spec, Platform **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!g_str_has_prefix(spec, "board:") || !spec[6]) {
        snprintf(err, errlen, "platform '%s': expected board:RUNDIR", spec);
        return -EINVAL;
    }
    Platform *p = g_new0(Platform, 1);
    g_autofree char *sock = tb_run_dir_agent_path(spec + 6);
    GError *e = NULL;
    int rc = tb_agent_connect(sock, 0, &p->agent, &e);
    if (!rc) rc = tb_inventory_fetch(p->agent, &p->inv, &e);
    if (rc) {
        snprintf(err, errlen, "platform %s: %s", spec, e ? e->message : g_strerror(-rc));
        if (e) g_error_free(e);
        platform_close(p);
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
        platform_close(p);
        return rc;
    }
    p->ram_size = p->inv.ram_size;
    copy_units(p);
    *out = p;
    return 0;
}

void platform_close(Platform *p)
{
    if (!p) return;
    if (p->ram) munmap(p->ram, p->ram_size);
    tb_agent_close(p->agent);
    g_free(p);
}

int platform_reg_read(Platform *p, uint64_t pa, unsigned size, uint64_t *val)
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

int platform_reg_write(Platform *p, uint64_t pa, unsigned size, uint64_t val)
{
    TbReply r;
    GError *e = NULL;
    int rc = tb_agent_do(p->agent, &r, &e, "mmio write 0x%llx %u 0x%llx", (unsigned long long)pa, size,
                         (unsigned long long)val);
    if (rc) return fail(p, rc, "register write", e);
    tb_reply_clear(&r);
    return 0;
}

void *platform_map(Platform *p, uint64_t pa, uint64_t len)
{
    if (pa < p->inv.ram_base || len > p->ram_size || pa - p->inv.ram_base > p->ram_size - len) return NULL;
    return p->ram + (pa - p->inv.ram_base);
}

void platform_pool(const Platform *p, uint64_t *base, uint64_t *size)
{
    *base = p->inv.pool_base;
    *size = p->inv.pool_size;
}

unsigned platform_units(const Platform *p, const PlatformUnit **units)
{
    *units = p->units;
    return p->n_units;
}

int platform_irq_subscribe(Platform *p, PlatformIrqFn fn, void *opaque)
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

int platform_irq_fd(const Platform *p) { return tb_agent_fd(p->agent); }
bool platform_irq_pending(const Platform *p) { return tb_agent_events_pending(p->agent); }

#define IRQ_BATCH 32 /* distinct lines delivered per dispatch */

int platform_irq_dispatch(Platform *p)
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

const char *platform_error(const Platform *p) { return p->error; }
