/* DMA injection on edu engines: program source, destination and count, start
 * the engine and wait, bounded, for it to finish. Every DMA is logged as a
 * JSON line. The engine reports nothing about IOMMU faults (edu ignores DMA
 * errors): whether a DMA was blocked is for the IOMMU's records and RAM to say. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "edu.h"

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void log_dma(Agent *a, const AgentDevice *d, bool to_ram, uint64_t addr, uint64_t len,
                    uint64_t offset, const char *purpose, const char *status, int64_t us)
{
    if (!a->log) return;
    fprintf(a->log,
            "{\"seq\":%llu,\"client\":%u,\"device\":\"%s\",\"bdf\":\"%02x:%02x.%x\",\"dir\":\"%s\","
            "\"addr\":\"0x%llx\",\"len\":%llu,\"offset\":%llu,\"purpose\":\"%s\",\"status\":\"%s\","
            "\"wall_us\":%lld}\n",
            (unsigned long long)++a->dma_seq, a->current_client, d->name, d->bdf >> 8,
            (d->bdf >> 3) & 31, d->bdf & 7, to_ram ? "write" : "read", (unsigned long long)addr,
            (unsigned long long)len, (unsigned long long)offset, purpose, status, (long long)us);
}

static void put_le64(uint8_t *p, uint64_t v)
{
    for (unsigned i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* Starts one transfer. Source, destination, count and command are adjacent
 * 8-byte registers: one 32-byte qtest write reaches them as four ascending
 * 8-byte accesses, the last of which starts the engine. That is one round
 * trip instead of four, which is most of what a DMA costs. */
static int start(Agent *a, AgentDevice *d, bool to_ram, uint64_t bus_addr, uint64_t len,
                 uint64_t offset, char *err, size_t errlen)
{
    uint64_t bar = d->bar_base[0], cmd;
    if (d->maybe_busy) { /* only after a timeout: ask the engine */
        int rc = qt_read(&a->qt, bar + EDU_REG_DMA_CMD, 8, &cmd);
        if (rc) return rc;
        if (cmd & EDU_DMA_CMD_RUN) {
            /* edu ignores register writes while RUN is set */
            snprintf(err, errlen, "%s: engine still busy with an earlier transfer", d->name);
            return -EBUSY;
        }
        d->maybe_busy = false;
    }
    uint64_t buf = EDU_BUF_DEVADDR + offset;
    uint8_t regs[EDU_DMA_REGS_END - EDU_REG_DMA_SRC];
    put_le64(regs + (EDU_REG_DMA_SRC - EDU_REG_DMA_SRC), to_ram ? buf : bus_addr);
    put_le64(regs + (EDU_REG_DMA_DST - EDU_REG_DMA_SRC), to_ram ? bus_addr : buf);
    put_le64(regs + (EDU_REG_DMA_COUNT - EDU_REG_DMA_SRC), len);
    put_le64(regs + (EDU_REG_DMA_CMD - EDU_REG_DMA_SRC), EDU_DMA_CMD_RUN | (to_ram ? EDU_DMA_CMD_TO_RAM : 0));
    d->maybe_busy = true; /* until wait_idle sees RUN clear */
    return qt_write_bytes(&a->qt, bar + EDU_REG_DMA_SRC, regs, sizeof regs);
}

/* Polls until the engine is idle or the deadline passes. */
static int wait_idle(Agent *a, AgentDevice *d, int64_t deadline_us, char *err, size_t errlen)
{
    uint64_t cmd;
    for (;;) {
        int rc = qt_read(&a->qt, d->bar_base[0] + EDU_REG_DMA_CMD, 8, &cmd);
        if (rc) return rc;
        if (!(cmd & EDU_DMA_CMD_RUN)) {
            d->maybe_busy = false;
            return 0;
        }
        if (now_us() > deadline_us) {
            snprintf(err, errlen, "%s: DMA did not complete within %d ms", d->name, AGENT_DMA_TIMEOUT_MS);
            return -ETIMEDOUT;
        }
    }
}

int edu_dma(Agent *a, AgentDevice *d, bool to_ram, uint64_t bus_addr, uint64_t len,
            uint64_t offset, const char *purpose, char *err, size_t errlen)
{
    int64_t t0 = now_us();
    int rc = start(a, d, to_ram, bus_addr, len, offset, err, errlen);
    if (!rc) rc = wait_idle(a, d, t0 + AGENT_DMA_TIMEOUT_MS * 1000ll, err, errlen);
    log_dma(a, d, to_ram, bus_addr, len, offset, purpose,
            rc == 0 ? "done" : rc == -ETIMEDOUT ? "timeout" : "error", now_us() - t0);
    return rc;
}

int edu_storm(Agent *a, AgentDevice *const *devs, unsigned ndev, const Request *r,
              uint64_t *done, char *err, size_t errlen)
{
    int rc = 0;
    *done = 0;
    /* One transfer per engine in flight: their timers expire together, so a
     * round costs one virtual-time jump instead of one per engine. */
    for (uint64_t i = 0; i < r->count && !rc;) {
        unsigned started = 0;
        uint64_t first = i;
        int64_t t0 = now_us();
        for (; started < ndev && i < r->count; started++, i++)
            if ((rc = start(a, devs[started], r->to_ram, r->addr + i * r->stride, r->len, r->offset,
                            err, errlen)))
                break;
        for (unsigned k = 0; k < started; k++) {
            int w = wait_idle(a, devs[k], t0 + AGENT_DMA_TIMEOUT_MS * 1000ll, err, errlen);
            if (w && !rc) rc = w;
            log_dma(a, devs[k], r->to_ram, r->addr + (first + k) * r->stride, r->len, r->offset,
                    "storm", w ? (w == -ETIMEDOUT ? "timeout" : "error") : "done", now_us() - t0);
            if (!w) (*done)++;
        }
    }
    return rc;
}

/* Makes the engine send one MSI with the given address and data: a device
 * write that goes through the IOMMU like any other DMA. */
int edu_msi(Agent *a, const AgentDevice *d, uint64_t addr, uint16_t data, char *err, size_t errlen)
{
    if (!d->msi_cap) {
        snprintf(err, errlen, "%s has no MSI capability", d->name);
        return -ENOTSUP;
    }
    unsigned cap = d->msi_cap;
    uint64_t flags, lo, hi = 0, old_data;
    int rc = pci_cfg_read(a, d->bdf, cap + PCI_MSI_FLAGS, 2, &flags);
    if (rc) return rc;
    bool is64 = flags & PCI_MSI_FLAGS_64BIT;
    unsigned data_off = cap + (is64 ? PCI_MSI_DATA_64 : PCI_MSI_DATA_32);
    if (!is64 && addr >> 32) {
        snprintf(err, errlen, "%s: 32-bit MSI cannot reach 0x%llx", d->name, (unsigned long long)addr);
        return -ERANGE;
    }
    if ((rc = pci_cfg_read(a, d->bdf, cap + PCI_MSI_ADDRESS_LO, 4, &lo)) ||
        (is64 && (rc = pci_cfg_read(a, d->bdf, cap + PCI_MSI_ADDRESS_HI, 4, &hi))) ||
        (rc = pci_cfg_read(a, d->bdf, data_off, 2, &old_data)))
        return rc;
    /* Program, enable, raise, acknowledge (while MSI is still on, so INTx never
     * asserts), then put everything back as it was. */
    if ((rc = pci_cfg_write(a, d->bdf, cap + PCI_MSI_ADDRESS_LO, 4, addr & 0xffffffffu)) ||
        (is64 && (rc = pci_cfg_write(a, d->bdf, cap + PCI_MSI_ADDRESS_HI, 4, addr >> 32))) ||
        (rc = pci_cfg_write(a, d->bdf, data_off, 2, data)) ||
        (rc = pci_cfg_write(a, d->bdf, cap + PCI_MSI_FLAGS, 2, flags | PCI_MSI_FLAGS_ENABLE)) ||
        (rc = qt_write(&a->qt, d->bar_base[0] + EDU_REG_IRQ_RAISE, 4, EDU_IRQ_FORGE)) ||
        (rc = qt_write(&a->qt, d->bar_base[0] + EDU_REG_IRQ_ACK, 4, EDU_IRQ_FORGE)))
        return rc;
    if ((rc = pci_cfg_write(a, d->bdf, cap + PCI_MSI_FLAGS, 2, flags)) ||
        (rc = pci_cfg_write(a, d->bdf, cap + PCI_MSI_ADDRESS_LO, 4, lo)) ||
        (is64 && (rc = pci_cfg_write(a, d->bdf, cap + PCI_MSI_ADDRESS_HI, 4, hi))) ||
        (rc = pci_cfg_write(a, d->bdf, data_off, 2, old_data)))
        return rc;
    if (a->log)
        fprintf(a->log, "{\"seq\":%llu,\"client\":%u,\"device\":\"%s\",\"dir\":\"msi\",\"addr\":\"0x%llx\","
                "\"data\":\"0x%x\",\"status\":\"done\"}\n",
                (unsigned long long)++a->dma_seq, a->current_client, d->name, (unsigned long long)addr, data);
    return 0;
}
