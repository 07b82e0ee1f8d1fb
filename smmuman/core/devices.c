/* The device table: every DMA-capable device the core has heard of, from
 * the configuration or from a client, by its label. */
#include <errno.h>
#include <stdio.h>

#include "core-internal.h"

void devid_label(const union smmu_devid *id, char *buf, size_t len)
{
    if (id->type == SDT_PCI)
        snprintf(buf, len, "pci:%u:%u.%u", id->pci.bus, id->pci.dev, id->pci.func);
    else
        snprintf(buf, len, "mem:0x%llx", (unsigned long long)id->mmio.phys);
}

Device *dev_lookup(Core *c, const union smmu_devid *id, bool create, int *rc)
{
    char label[40];
    if (id->type == SDT_PCI) {
        if (id->pci.bus == SMMU_PCI_FIELD_ANY || id->pci.dev == SMMU_PCI_FIELD_ANY || id->pci.func == SMMU_PCI_FIELD_ANY ||
            id->pci.bus > 255 || id->pci.dev > 31 || id->pci.func > 7) {
            *rc = -EINVAL; /* wildcards: not supported (docs/api.md) */
            return NULL;
        }
    } else if (id->type != SDT_MMIO) {
        *rc = -EINVAL;
        return NULL;
    }
    devid_label(id, label, sizeof label);
    Device *d = g_hash_table_lookup(c->devices, label);
    if (d || !create) {
        *rc = d ? 0 : -ENOENT;
        return d;
    }
    /* Not in the configuration: PCI devices belong to the first unit with
     * StreamID = requester ID; an MMIO device needs a "device mem:... use". */
    if (id->type != SDT_PCI || c->n_units == 0) {
        *rc = -ENOENT;
        return NULL;
    }
    d = g_new0(Device, 1);
    d->id = *id;
    g_strlcpy(d->label, label, sizeof d->label);
    d->unit = 0;
    d->sid = id->pci.bus << 8 | id->pci.dev << 3 | id->pci.func;
    d->reserved = g_array_new(FALSE, FALSE, sizeof(Region));
    g_hash_table_insert(c->devices, d->label, d);
    *rc = 0;
    return d;
}

/* A device only a client named is forgotten once it is blocked again, so
 * that naming devices costs nothing that outlives them. */
void dev_forget_if_unused(Core *c, Device *d)
{
    if (d->configured || d->owner) return;
    g_hash_table_remove(c->devices, d->label);
    g_array_unref(d->reserved);
    g_free(d);
}

Device *dev_by_sid(Core *c, unsigned unit, uint32_t sid)
{
    GHashTableIter it;
    gpointer v;
    g_hash_table_iter_init(&it, c->devices);
    while (g_hash_table_iter_next(&it, NULL, &v)) {
        Device *d = v;
        if (d->unit == unit && d->sid == sid) return d;
    }
    return NULL;
}
