/* What the board has, as found at bring-up: published by "info". Units named
 * by the board definition are listed only if their registers answer. */
#include <errno.h>
#include <string.h>

#include "agent.h"
#include "hw/smmuv3-regs.h"
#include "hw/vtd-regs.h"

int units_probe(Agent *a)
{
    for (unsigned i = 0; i < a->def.n_units; i++) {
        const TbUnitDef *u = &a->def.units[i];
        uint64_t v = 0, idr0 = 0;
        int rc;
        if (strcmp(u->kind, "vtd") == 0) {
            rc = qt_read(&a->qt, u->base + VTD_REG_VER, 4, &v);
            a->units[i].present = !rc && v != 0 && v != 0xffffffffu;
        } else {
            rc = qt_read(&a->qt, u->base + SMMU_REG_IDR0, 4, &idr0);
            if (!rc) rc = qt_read(&a->qt, u->base + SMMU_REG_AIDR, 4, &v);
            a->units[i].present = !rc && idr0 != 0 && idr0 != 0xffffffffu;
        }
        if (rc) return rc;
        a->units[i].id = v;
    }
    return 0;
}

static void unit_line(const Agent *a, unsigned i, GString *out)
{
    const TbUnitDef *u = &a->def.units[i];
    g_string_append_printf(out, "* unit name=%s kind=%s base=0x%llx size=0x%llx %s=0x%llx irqs=",
                           u->name, u->kind, (unsigned long long)u->base, (unsigned long long)u->size,
                           strcmp(u->kind, "vtd") == 0 ? "version" : "aidr",
                           (unsigned long long)a->units[i].id);
    if (u->n_irqs == 0) g_string_append(out, "-");
    for (unsigned k = 0; k < u->n_irqs; k++)
        g_string_append_printf(out, "%s%s:%u", k ? "," : "", u->irq_names[k], u->irqs[k]);
    g_string_append_c(out, '\n');
}

static void device_line(const AgentDevice *d, GString *out)
{
    g_string_append_printf(out, "* device name=%s bdf=%02x:%02x.%x vendor=0x%04x device=0x%04x class=0x%06x kind=%s",
                           d->name, d->bdf >> 8, (d->bdf >> 3) & 31, d->bdf & 7, d->vendor, d->device,
                           d->class_code, d->is_edu ? "edu" : "other");
    for (unsigned b = 0; b < PCI_NUM_BARS; b++)
        if (d->bar_size[b])
            g_string_append_printf(out, " bar%u=0x%llx,0x%llx", b, (unsigned long long)d->bar_base[b],
                                   (unsigned long long)d->bar_size[b]);
    /* Requester ID = StreamID on these boards: bus << 8 | devfn. */
    g_string_append_printf(out, " rid=0x%04x", d->bdf);
    if (d->intx != AGENT_NO_IRQ) g_string_append_printf(out, " intx=%d", d->intx);
    if (d->msi_cap) g_string_append(out, " msi=yes");
    if (d->is_edu)
        g_string_append_printf(out, " dma-buffer=0x%x,%u", EDU_BUF_DEVADDR, EDU_BUF_SIZE);
    g_string_append_c(out, '\n');
}

void inventory_write(const Agent *a, GString *out)
{
    const TbBoardDef *d = &a->def;
    g_string_append_printf(out, "* board name=%s arch=%s protocol=%d\n", d->name, d->arch,
                           AGENT_PROTOCOL_VERSION);
    g_string_append_printf(out, "* ram base=0x%llx size=0x%llx file=%s file-offset=0x0\n",
                           (unsigned long long)d->ram_base, (unsigned long long)d->ram_size,
                           d->run_ram ? d->run_ram : "-");
    g_string_append_printf(out, "* pool base=0x%llx size=0x%llx\n", (unsigned long long)d->pool_base,
                           (unsigned long long)d->pool_size);
    g_string_append_printf(out, "* stage base=0x%llx size=0x1000\n", (unsigned long long)d->stage_base);
    g_string_append_printf(out, "* irq-controller path=%s\n", d->irq_controller);
    g_string_append_printf(out, "* dma-log file=%s\n", d->run_log ? d->run_log : "-");
    for (unsigned i = 0; i < d->n_units; i++)
        if (a->units[i].present) unit_line(a, i, out);
    for (unsigned i = 0; i < a->ndev; i++) device_line(&a->devs[i], out);
}
