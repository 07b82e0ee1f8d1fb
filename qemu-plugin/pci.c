/* Firmware-style PCI bring-up through qtest: enable ECAM, enumerate bus 0,
 * size and place memory BARs in the board's window, enable Memory and Bus
 * Master, find MSI, and learn each engine's INTx line by raising it once. */
#include <errno.h>
#include <string.h>

#include "agent.h"
#include "edu.h"

int pci_cfg_read(Agent *a, unsigned bdf, unsigned off, unsigned size, uint64_t *val)
{
    return qt_read(&a->qt, a->def.ecam + PCI_ECAM_OFFSET(bdf, off), size, val);
}

int pci_cfg_write(Agent *a, unsigned bdf, unsigned off, unsigned size, uint64_t val)
{
    return qt_write(&a->qt, a->def.ecam + PCI_ECAM_OFFSET(bdf, off), size, val);
}

AgentDevice *agent_find_device(Agent *a, const char *name)
{
    for (unsigned i = 0; i < a->ndev; i++)
        if (strcmp(a->devs[i].name, name) == 0) return &a->devs[i];
    return NULL;
}

static int enable_ecam(Agent *a)
{
    if (strcmp(a->def.ecam_enable, "q35-pciexbar") != 0) return 0;
    /* ECAM is off at reset on q35; its MCH register is reachable through
     * the legacy 0xCF8/0xCFC mechanism only. */
    int rc = qt_out(&a->qt, PCI_CONF1_ADDRESS_PORT, 4, PCI_CONF1_ENABLE | (Q35_MCH_PCIEXBAR + 4));
    if (!rc) rc = qt_out(&a->qt, PCI_CONF1_DATA_PORT, 4, (uint32_t)(a->def.ecam >> 32));
    if (!rc) rc = qt_out(&a->qt, PCI_CONF1_ADDRESS_PORT, 4, PCI_CONF1_ENABLE | Q35_MCH_PCIEXBAR);
    if (!rc) rc = qt_out(&a->qt, PCI_CONF1_DATA_PORT, 4, (uint32_t)a->def.ecam | Q35_PCIEXBAR_ENABLE);
    return rc;
}

/* Sizes every BAR of a type-0 function and places memory BARs at *next. */
static int place_bars(Agent *a, AgentDevice *d, uint64_t *next, char *err, size_t errlen)
{
    uint64_t cmd, v, hi = 0;
    int rc = pci_cfg_read(a, d->bdf, PCI_COMMAND, 2, &cmd);
    /* Decoding off while the BARs hold all-ones. */
    if (!rc) rc = pci_cfg_write(a, d->bdf, PCI_COMMAND, 2, cmd & ~(uint64_t)(PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER));
    for (unsigned i = 0; i < PCI_NUM_BARS && !rc; i++) {
        unsigned off = PCI_BAR0 + 4 * i;
        uint64_t orig;
        if ((rc = pci_cfg_read(a, d->bdf, off, 4, &orig))) break;
        if ((rc = pci_cfg_write(a, d->bdf, off, 4, 0xffffffff)) || (rc = pci_cfg_read(a, d->bdf, off, 4, &v))) break;
        bool is64 = !(v & PCI_BAR_IO) && (v & PCI_BAR_MEM_TYPE_MASK) == PCI_BAR_MEM_TYPE_64;
        if (is64 && i + 1 < PCI_NUM_BARS) {
            if ((rc = pci_cfg_write(a, d->bdf, off + 4, 4, 0xffffffff)) ||
                (rc = pci_cfg_read(a, d->bdf, off + 4, 4, &hi)))
                break;
        }
        if (v == 0 || (v & PCI_BAR_IO)) { /* absent, or I/O: left unassigned */
            rc = pci_cfg_write(a, d->bdf, off, 4, orig);
            continue;
        }
        uint64_t mask = (v & PCI_BAR_MEM_MASK & 0xffffffffu) | (is64 ? hi << 32 : 0xffffffff00000000ull);
        uint64_t size = ~mask + 1;
        uint64_t base = (*next + size - 1) & ~(size - 1);
        if (size == 0 || base + size > a->def.mmio_base + a->def.mmio_size) {
            snprintf(err, errlen, "%s BAR%u (0x%llx bytes) does not fit the MMIO window", d->name, i,
                     (unsigned long long)size);
            return -ENOSPC;
        }
        rc = pci_cfg_write(a, d->bdf, off, 4, base & 0xffffffffu);
        if (!rc && is64) rc = pci_cfg_write(a, d->bdf, off + 4, 4, base >> 32);
        d->bar_base[i] = base;
        d->bar_size[i] = size;
        *next = base + size;
        if (is64) i++;
    }
    if (rc) return rc;
    bool any = false;
    for (unsigned i = 0; i < PCI_NUM_BARS; i++) any |= d->bar_size[i] != 0;
    if (any) cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
    return pci_cfg_write(a, d->bdf, PCI_COMMAND, 2, cmd);
}

static int find_msi(Agent *a, AgentDevice *d)
{
    uint64_t status, ptr, id;
    int rc = pci_cfg_read(a, d->bdf, PCI_STATUS, 2, &status);
    if (rc || !(status & PCI_STATUS_CAP_LIST)) return rc;
    if ((rc = pci_cfg_read(a, d->bdf, PCI_CAP_PTR, 1, &ptr))) return rc;
    for (unsigned hops = 0; ptr >= 0x40 && hops < 48; hops++) { /* bounded: no loops */
        ptr &= ~3ull;
        if ((rc = pci_cfg_read(a, d->bdf, (unsigned)ptr, 1, &id))) return rc;
        if (id == PCI_CAP_ID_MSI) {
            d->msi_cap = (uint8_t)ptr;
            return 0;
        }
        if ((rc = pci_cfg_read(a, d->bdf, (unsigned)ptr + 1, 1, &ptr))) return rc;
    }
    return 0;
}

/* Raise and lower the engine's interrupt once and see which input moved. */
static int probe_intx(Agent *a, AgentDevice *d)
{
    uint64_t bar = d->bar_base[0];
    a->last_raised = AGENT_NO_IRQ;
    int rc = qt_write(&a->qt, bar + EDU_REG_IRQ_RAISE, 4, EDU_IRQ_FORGE);
    if (!rc) rc = qt_write(&a->qt, bar + EDU_REG_IRQ_ACK, 4, EDU_IRQ_FORGE);
    if (!rc) rc = qt_pump(&a->qt);
    d->intx = a->last_raised;
    return rc;
}

static void name_device(Agent *a, AgentDevice *d)
{
    unsigned slot = (d->bdf >> 3) & 31;
    for (unsigned i = 0; i < a->def.n_edu; i++) {
        if (d->bdf >> 8 == 0 && (d->bdf & 7) == 0 && a->def.edu_slots[i] == slot &&
            d->vendor == EDU_VENDOR_ID && d->device == EDU_DEVICE_ID) {
            d->is_edu = true;
            snprintf(d->name, sizeof d->name, "edu%u", i);
            return;
        }
    }
    snprintf(d->name, sizeof d->name, "%02x:%02x.%x", d->bdf >> 8, (d->bdf >> 3) & 31, d->bdf & 7);
}

static int probe_function(Agent *a, unsigned bdf, uint64_t *next, bool *multi, char *err, size_t errlen)
{
    uint64_t id, cls, hdr;
    int rc = pci_cfg_read(a, bdf, PCI_VENDOR_ID, 4, &id);
    if (rc || (id & 0xffff) == 0xffff) return rc;
    if ((rc = pci_cfg_read(a, bdf, PCI_CLASS_REVISION, 4, &cls)) ||
        (rc = pci_cfg_read(a, bdf, PCI_HEADER_TYPE, 1, &hdr)))
        return rc;
    if (a->ndev == AGENT_MAX_DEVICES) {
        snprintf(err, errlen, "more than %d PCI functions", AGENT_MAX_DEVICES);
        return -ENOSPC;
    }
    AgentDevice *d = &a->devs[a->ndev++];
    memset(d, 0, sizeof *d);
    d->bdf = bdf;
    d->vendor = (uint16_t)id;
    d->device = (uint16_t)(id >> 16);
    d->class_code = (uint32_t)(cls >> 8);
    d->intx = AGENT_NO_IRQ;
    *multi = hdr & PCI_HEADER_MULTIFUNC;
    name_device(a, d);
    if ((hdr & PCI_HEADER_TYPE_MASK) != 0) return 0; /* bridges: not ours to place */
    if ((rc = place_bars(a, d, next, err, errlen)) || (rc = find_msi(a, d))) return rc;
    if (d->is_edu) rc = probe_intx(a, d);
    return rc;
}

int pci_bringup(Agent *a)
{
    char *err = a->bringup_error;
    size_t errlen = sizeof a->bringup_error;
    uint64_t next = a->def.mmio_base;
    int rc = enable_ecam(a);
    if (rc) {
        snprintf(err, errlen, "enabling ECAM failed (%d)", rc);
        return rc;
    }
    for (unsigned dev = 0; dev < 32; dev++) {
        bool multi = false;
        for (unsigned fn = 0; fn < 8; fn++) {
            if (fn > 0 && !multi) break;
            bool m = false;
            rc = probe_function(a, dev << 3 | fn, &next, &m, err, errlen);
            if (rc) {
                if (!*err) snprintf(err, errlen, "PCI bring-up of 00:%02x.%x failed (%d)", dev, fn, rc);
                return rc;
            }
            if (fn == 0) multi = m;
        }
    }
    for (unsigned i = 0; i < a->def.n_edu; i++) {
        char want[16];
        snprintf(want, sizeof want, "edu%u", i);
        if (!agent_find_device(a, want)) {
            snprintf(err, errlen, "no edu engine at 00:%02x.0 (edu-slots)", a->def.edu_slots[i]);
            return -ENODEV;
        }
    }
    return 0;
}
