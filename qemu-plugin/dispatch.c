/* Executes one parsed request. Checks that need the board (devices exist,
 * addresses inside RAM, nothing that would let edu copy past its buffer)
 * happen here, before anything reaches qtest. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "agent.h"
#include "edu.h"
#include "hw/vtd-regs.h"

#define ECAM_SIZE (256ull << 20)

static const char *errno_name(int e)
{
    switch (e) {
    case EINVAL: return "EINVAL";
    case ERANGE: return "ERANGE";
    case E2BIG: return "E2BIG";
    case ENOENT: return "ENOENT";
    case EPERM: return "EPERM";
    case EBUSY: return "EBUSY";
    case ETIMEDOUT: return "ETIMEDOUT";
    case ENOSYS: return "ENOSYS";
    case ENOTSUP: return "ENOTSUP";
    case ENODEV: return "ENODEV";
    case ENOSPC: return "ENOSPC";
    default: return "EIO";
    }
}

void reply_error(GString *out, int rc, const char *msg)
{
    g_string_append_printf(out, "ERR %s %s\n", errno_name(-rc), *msg ? msg : "failed");
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return a < b + blen && b < a + alen;
}

/* VT-d's model asserts on accesses of the wrong width: only 4-byte
 * accesses, and 8-byte ones at its 64-bit registers, reach it. */
static int check_unit_access(const Agent *a, uint64_t addr, unsigned size, char *err, size_t n)
{
    for (unsigned i = 0; i < a->def.n_units; i++) {
        const TbUnitDef *u = &a->def.units[i];
        if (strcmp(u->kind, "vtd") != 0 || !overlaps(addr, size, u->base, u->size)) continue;
        uint64_t off = addr - u->base;
        if (addr < u->base || (size != 4 && size != 8) || addr % size || (size == 8 && !VTD_REG_IS_64(off))) {
            snprintf(err, n, "ADDR/SIZE: VT-d register 0x%llx takes %s accesses", (unsigned long long)off,
                     VTD_REG_IS_64(off) ? "aligned 4- or 8-byte" : "aligned 4-byte");
            return -EPERM;
        }
    }
    return 0;
}

static int check_mmio_write(const Agent *a, uint64_t addr, unsigned size, char *err, size_t n)
{
    for (unsigned i = 0; i < a->ndev; i++) {
        const AgentDevice *d = &a->devs[i];
        if (d->is_edu && overlaps(addr, size, d->bar_base[0] + EDU_REG_DMA_SRC,
                                  EDU_DMA_REGS_END - EDU_REG_DMA_SRC)) {
            snprintf(err, n, "ADDR: %s DMA registers are driven by the 'dma' request only", d->name);
            return -EPERM;
        }
    }
    if (overlaps(addr, size, a->def.ecam, ECAM_SIZE)) {
        snprintf(err, n, "ADDR: inside the PCI ECAM window; use 'pci write'");
        return -EPERM;
    }
    return 0;
}

static int check_ram(const Agent *a, uint64_t addr, uint64_t len, char *err, size_t n)
{
    if (addr < a->def.ram_base || addr - a->def.ram_base > a->def.ram_size ||
        len > a->def.ram_size - (addr - a->def.ram_base)) {
        snprintf(err, n, "ADDR+LEN: outside RAM 0x%llx..0x%llx", (unsigned long long)a->def.ram_base,
                 (unsigned long long)(a->def.ram_base + a->def.ram_size - 1));
        return -ERANGE;
    }
    return 0;
}

static int check_pci_write(const Agent *a, const Request *r, char *err, size_t n)
{
    if (overlaps(r->addr, r->size, PCI_BAR0, PCI_BAR_END - PCI_BAR0)) {
        snprintf(err, n, "OFFSET: BARs are placed by the agent and stay where the inventory says");
        return -EPERM;
    }
    if (r->bdf == 0 && strcmp(a->def.ecam_enable, "q35-pciexbar") == 0 &&
        overlaps(r->addr, r->size, Q35_MCH_PCIEXBAR, 8)) {
        snprintf(err, n, "OFFSET: PCIEXBAR holds the ECAM window the agent uses");
        return -EPERM;
    }
    return 0;
}

AgentDevice *agent_engine(Agent *a, const char *name, char *err, size_t n, int *rc)
{
    AgentDevice *d = agent_find_device(a, name);
    if (!d) {
        for (unsigned i = 0; i < a->ndev && !d; i++) { /* also by BB:DD.F */
            char bdf[16];
            snprintf(bdf, sizeof bdf, "%02x:%02x.%x", a->devs[i].bdf >> 8, (a->devs[i].bdf >> 3) & 31,
                     a->devs[i].bdf & 7);
            if (strcmp(bdf, name) == 0) d = &a->devs[i];
        }
    }
    if (!d) {
        snprintf(err, n, "DEV: no device '%s' (see 'info')", name);
        *rc = -ENOENT;
    } else if (!d->is_edu) {
        snprintf(err, n, "DEV: %s is not a DMA engine", d->name);
        *rc = -ENOTSUP;
        d = NULL;
    }
    return d;
}

static void do_register(Agent *a, const Request *r, GString *out)
{
    char err[200] = "";
    uint64_t v = 0;
    int rc = 0;
    switch (r->kind) {
    case REQ_MMIO_READ:
        if (!(rc = check_unit_access(a, r->addr, r->size, err, sizeof err)))
            rc = qt_read(&a->qt, r->addr, r->size, &v);
        break;
    case REQ_MMIO_WRITE:
        if (!(rc = check_unit_access(a, r->addr, r->size, err, sizeof err)) &&
            !(rc = check_mmio_write(a, r->addr, r->size, err, sizeof err)))
            rc = qt_write(&a->qt, r->addr, r->size, r->value);
        break;
    case REQ_PCI_READ: rc = pci_cfg_read(a, r->bdf, (unsigned)r->addr, r->size, &v); break;
    case REQ_PCI_WRITE:
        if (!(rc = check_pci_write(a, r, err, sizeof err)))
            rc = pci_cfg_write(a, r->bdf, (unsigned)r->addr, r->size, r->value);
        break;
    default: break;
    }
    if (rc) {
        if (!*err) snprintf(err, sizeof err, "qtest access failed");
        reply_error(out, rc, err);
    } else if (r->kind == REQ_MMIO_READ || r->kind == REQ_PCI_READ) {
        g_string_append_printf(out, "OK 0x%0*llx\n", (int)r->size * 2, (unsigned long long)v);
    } else {
        g_string_append(out, "OK\n");
    }
}

static void do_ram(Agent *a, const Request *r, GString *out)
{
    char err[200] = "";
    uint8_t buf[EDU_BUF_SIZE];
    int rc = check_ram(a, r->addr, r->len, err, sizeof err);
    if (!rc && r->kind == REQ_RAM_WRITE) rc = qt_write_bytes(&a->qt, r->addr, r->data, r->data_len);
    if (!rc && r->kind == REQ_RAM_READ) rc = qt_read_bytes(&a->qt, r->addr, buf, r->len);
    if (rc) {
        if (!*err) snprintf(err, sizeof err, "qtest access failed");
        reply_error(out, rc, err);
        return;
    }
    if (r->kind == REQ_RAM_WRITE) {
        g_string_append(out, "OK\n");
        return;
    }
    g_string_append(out, "OK ");
    for (uint64_t i = 0; i < r->len; i++) g_string_append_printf(out, "%02x", buf[i]);
    g_string_append_c(out, '\n');
}

bool request_is_job(const Request *r)
{
    return r->kind == REQ_DMA || r->kind == REQ_STORM || r->kind == REQ_MSI;
}

bool dispatch_refused(const Agent *a, const Request *r, GString *out)
{
    if (a->bringup_error[0] && r->kind != REQ_HELP && r->kind != REQ_QUIT && r->kind != REQ_BRINGUP) {
        g_string_append_printf(out, "ERR EIO board bring-up failed: %s\n", a->bringup_error);
        return true;
    }
    if (a->qt.broken && r->kind != REQ_HELP && r->kind != REQ_QUIT && r->kind != REQ_HELLO) {
        g_string_append(out, "ERR EIO the qtest link to QEMU is lost\n");
        return true;
    }
    return false;
}

/* A reset machine (QMP system_reset, testbed/board-reset.c) has lost what
 * the firmware-style bring-up did: ECAM, BARs, Memory and Bus Master, MSI.
 * Redone from scratch, it places everything where the first one did (the
 * same walk of the same devices), so the inventory reads the same. Refused
 * while a job holds an engine: the job points into the device table. */
static void do_bringup(Agent *a, GString *out)
{
    for (unsigned i = 0; i < a->ndev; i++)
        if (a->devs[i].held || a->devs[i].maybe_busy) {
            g_string_append_printf(out, "ERR EBUSY %s: a transfer may still run\n", a->devs[i].name);
            return;
        }
    a->bringup_error[0] = '\0';
    a->ndev = 0;
    memset(a->irq_level, 0, sizeof a->irq_level);
    a->last_raised = AGENT_NO_IRQ;
    int rc = units_probe(a);
    if (rc) snprintf(a->bringup_error, sizeof a->bringup_error, "probing the IOMMU units failed: %s", strerror(-rc));
    else pci_bringup(a);
    if (a->bringup_error[0]) g_string_append_printf(out, "ERR EIO board bring-up failed: %s\n", a->bringup_error);
    else g_string_append(out, "OK\n");
}

void dispatch(Agent *a, const Request *r, GString *out, bool *subscribe_change, bool *subscribed)
{
    *subscribe_change = false;
    if (dispatch_refused(a, r, out)) return;
    switch (r->kind) {
    case REQ_HELLO:
        g_string_append_printf(out, "OK smmu-board-agent protocol=%d board=%s\n", AGENT_PROTOCOL_VERSION,
                               a->def.name);
        break;
    case REQ_HELP:
        for (unsigned i = 0; request_help[i][0]; i++) g_string_append_printf(out, "* %s\n", request_help[i]);
        g_string_append(out, "OK\n");
        break;
    case REQ_INFO:
        inventory_write(a, out);
        g_string_append(out, "OK\n");
        break;
    case REQ_QUIT: g_string_append(out, "OK bye\n"); break;
    case REQ_MMIO_READ: case REQ_MMIO_WRITE: case REQ_PCI_READ: case REQ_PCI_WRITE:
        do_register(a, r, out);
        break;
    case REQ_RAM_READ: case REQ_RAM_WRITE: do_ram(a, r, out); break;
    case REQ_IRQ_SUBSCRIBE: case REQ_IRQ_UNSUBSCRIBE:
        *subscribe_change = true;
        *subscribed = r->kind == REQ_IRQ_SUBSCRIBE;
        g_string_append(out, "OK\n");
        break;
    case REQ_IRQ_LEVEL: g_string_append_printf(out, "OK %u\n", a->irq_level[r->irq]); break;
    case REQ_BRINGUP: do_bringup(a, out); break;
    case REQ_DMA: case REQ_STORM: case REQ_MSI: /* jobs: the server runs them (dma.c) */
        g_string_append(out, "ERR EIO internal: an engine request reached dispatch\n");
        break;
    }
}
