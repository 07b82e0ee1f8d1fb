/* DMA injection on edu engines: program source, destination and count, start
 * the engine and look, bounded, until it has finished, one step at a time
 * (jobs, below). Every DMA is logged as a JSON line. The engine reports nothing about IOMMU faults (edu ignores DMA
 * errors): whether a DMA was blocked is for the IOMMU's records and RAM to say. */
#include <errno.h>
#include <stddef.h>
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

static uint64_t log_dma(Agent *a, const AgentDevice *d, bool to_ram, uint64_t addr, uint64_t len,
                        uint64_t offset, const char *purpose, const char *status, int64_t us)
{
    ++a->dma_seq;
    if (!a->log) return a->dma_seq;
    fprintf(a->log,
            "{\"seq\":%llu,\"client\":%u,\"device\":\"%s\",\"bdf\":\"%02x:%02x.%x\",\"dir\":\"%s\","
            "\"addr\":\"0x%llx\",\"len\":%llu,\"offset\":%llu,\"purpose\":\"%s\",\"status\":\"%s\","
            "\"wall_us\":%lld}\n",
            (unsigned long long)a->dma_seq, a->current_client, d->name, d->bdf >> 8,
            (d->bdf >> 3) & 31, d->bdf & 7, to_ram ? "write" : "read", (unsigned long long)addr,
            (unsigned long long)len, (unsigned long long)offset, purpose, status, (long long)us);
    return a->dma_seq;
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
    d->maybe_busy = true; /* until a look at the command register sees RUN clear */
    return qt_write_bytes(&a->qt, bar + EDU_REG_DMA_SRC, regs, sizeof regs);
}

/* One look at the command register: 0 = done, 1 = still running, or a
 * negative errno (-ETIMEDOUT once the deadline has passed). */
static int poll_idle(Agent *a, AgentDevice *d, int64_t deadline_us, char *err, size_t errlen)
{
    uint64_t cmd;
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
    return 1;
}

/* ---- jobs ----------------------------------------------------------------
 *
 * A dma or storm is a sequence of rounds: start one transfer on each engine
 * (a storm's engines round robin, one transfer per engine in flight), then
 * look at each engine until its transfer is done. Starting a round is one
 * step, each look at the engines still running is one more, so a step is at
 * most one qtest round trip per engine (about 50 us each) and never waits
 * for QEMU beyond one reply. Between steps the server serves the other
 * clients. While a step waits for its reply, QEMU's virtual clock moves on,
 * so the first look usually finds the round done, as before. */

static int edu_msi(Agent *a, const AgentDevice *d, uint64_t addr, uint16_t data, char *err, size_t errlen);

typedef enum { PH_STAGE, PH_START, PH_WAIT } Phase;

typedef struct {
    AgentDevice *dev;
    uint64_t addr;
    bool running;
} Xfer;

struct Job {
    Request r;         /* a copy: the client's next lines are not ours */
    unsigned client;
    AgentDevice *devs[REQ_MAX_DEVS];
    unsigned ndev;
    bool started, cancelled;
    Phase phase;
    bool staging;      /* dma with pattern=: this round loads the engine's buffer */
    uint64_t next;     /* storm: index of the next DMA to start */
    uint64_t done;     /* storm: transfers completed */
    uint64_t seq;      /* dma: log sequence number of the transfer itself */
    Xfer x[REQ_MAX_DEVS];
    unsigned nx;
    int64_t t0;        /* when the round started: its deadline and wall_us */
    int rc;            /* the first error; no new round starts after one */
    char err[200];
};

Job *job_new(Agent *a, const Request *r, unsigned client, GString *out)
{
    char err[200] = "";
    int rc = 0;
    AgentDevice *devs[REQ_MAX_DEVS];
    unsigned n = r->kind == REQ_STORM ? r->ndev : 1;
    for (unsigned i = 0; i < n && !rc; i++) {
        if (!(devs[i] = agent_engine(a, r->dev[i], err, sizeof err, &rc))) break;
        for (unsigned j = 0; j < i; j++)
            if (devs[j] == devs[i]) {
                snprintf(err, sizeof err, "DEV: %s listed twice", devs[i]->name);
                rc = -EINVAL;
            }
    }
    if (!rc && r->kind == REQ_MSI && !devs[0]->msi_cap) {
        snprintf(err, sizeof err, "%s has no MSI capability", devs[0]->name);
        rc = -ENOTSUP;
    }
    if (rc) {
        reply_error(out, rc, err);
        return NULL;
    }
    Job *j = g_new0(Job, 1);
    /* the header always, the data only as far as it is used (4 KiB otherwise) */
    memcpy(&j->r, r, offsetof(Request, data) + r->data_len);
    j->client = client;
    j->ndev = n;
    memcpy(j->devs, devs, n * sizeof devs[0]);
    j->phase = r->kind == REQ_DMA && r->has_pattern ? PH_STAGE : PH_START;
    return j;
}

unsigned job_engines(const Job *j, AgentDevice *const **devs)
{
    *devs = j->devs;
    return j->ndev;
}

void job_start(Job *j)
{
    for (unsigned i = 0; i < j->ndev; i++) j->devs[i]->held = true;
    j->started = true;
}

bool job_started(const Job *j) { return j->started; }
void job_cancel(Job *j) { j->cancelled = true; }

void job_free(Job *j)
{
    if (!j) return;
    if (j->started)
        for (unsigned i = 0; i < j->ndev; i++) j->devs[i]->held = false;
    g_free(j);
}

static void fail(Job *j, int rc, const char *err)
{
    if (j->rc) return; /* the first error is the one to report */
    j->rc = rc;
    snprintf(j->err, sizeof j->err, "%s", *err ? err : "qtest access failed");
}

/* Starts one round; false if nothing could be started. */
static bool start_round(Agent *a, Job *j)
{
    char err[200] = "";
    const Request *r = &j->r;
    j->nx = 0;
    j->t0 = now_us();
    if (r->kind == REQ_DMA) {
        j->x[0] = (Xfer){ j->devs[0], j->staging ? a->def.stage_base : r->addr, false };
        j->nx = 1;
    } else {
        for (unsigned k = 0; k < j->ndev && j->next < r->count; k++, j->next++)
            j->x[j->nx++] = (Xfer){ j->devs[k], r->addr + j->next * r->stride, false };
    }
    for (unsigned k = 0; k < j->nx; k++) {
        bool to_ram = j->staging ? false : r->to_ram;
        int rc = start(a, j->x[k].dev, to_ram, j->x[k].addr, r->len, r->offset, err, sizeof err);
        if (rc) { /* the ones started before it still run: wait for them */
            fail(j, rc, err);
            j->nx = k;
            break;
        }
        j->x[k].running = true;
    }
    return j->nx > 0;
}

/* Looks once at each engine still running; true when the round is over. */
static bool poll_round(Agent *a, Job *j)
{
    char err[200] = "";
    const Request *r = &j->r;
    bool over = true;
    for (unsigned k = 0; k < j->nx; k++) {
        Xfer *x = &j->x[k];
        if (!x->running) continue;
        err[0] = '\0';
        int w = poll_idle(a, x->dev, j->t0 + AGENT_DMA_TIMEOUT_MS * 1000ll, err, sizeof err);
        if (w == 1) {
            over = false;
            continue;
        }
        x->running = false;
        bool to_ram = j->staging ? false : r->to_ram;
        const char *purpose = r->kind == REQ_STORM ? "storm" : j->staging ? "stage" : "dma";
        uint64_t seq = log_dma(a, x->dev, to_ram, x->addr, r->len, r->offset, purpose,
                               w ? (w == -ETIMEDOUT ? "timeout" : "error") : "done", now_us() - j->t0);
        if (w) fail(j, w, err);
        else if (r->kind == REQ_STORM) j->done++;
        else if (!j->staging) j->seq = seq;
    }
    return over;
}

static void finish(Agent *a, Job *j, GString *out)
{
    if (a->log) fflush(a->log);
    if (j->rc) reply_error(out, j->rc, j->err);
    else if (j->cancelled) reply_error(out, -EIO, "cancelled: the client is gone"); /* read by nobody */
    else if (j->r.kind == REQ_STORM) g_string_append_printf(out, "OK done count=%llu\n", (unsigned long long)j->done);
    else if (j->r.kind == REQ_DMA) g_string_append_printf(out, "OK done seq=%llu\n", (unsigned long long)j->seq);
    else g_string_append(out, "OK\n");
}

bool job_step(Agent *a, Job *j, GString *out)
{
    char err[200] = "";
    const Request *r = &j->r;
    a->current_client = j->client;
    if (r->kind == REQ_MSI) { /* a dozen config accesses: one step */
        int rc = edu_msi(a, j->devs[0], r->addr, (uint16_t)r->value, err, sizeof err);
        if (rc) fail(j, rc, err);
        finish(a, j, out);
        return true;
    }
    switch (j->phase) {
    case PH_STAGE: { /* pattern=: stage it in RAM through the CPU view, then let the engine read it */
        uint8_t buf[EDU_BUF_SIZE];
        for (uint64_t i = 0; i < r->len; i++) buf[i] = r->data[i % r->data_len];
        int rc = j->cancelled ? 0 : qt_write_bytes(&a->qt, a->def.stage_base, buf, r->len);
        if (rc || j->cancelled) {
            if (rc) fail(j, rc, "");
            finish(a, j, out);
            return true;
        }
        j->staging = true;
        j->phase = PH_START;
        return false;
    }
    case PH_START:
        if (j->rc || j->cancelled || !start_round(a, j)) {
            finish(a, j, out);
            return true;
        }
        j->phase = PH_WAIT;
        return false;
    case PH_WAIT: {
        if (!poll_round(a, j)) return false; /* some still run: look again next turn */
        bool more;
        if (r->kind == REQ_DMA) {
            more = j->staging && !j->rc; /* the buffer is loaded: now the DMA itself */
            j->staging = false;
        } else {
            more = j->next < r->count;
        }
        j->phase = PH_START;
        if (!more || j->rc || j->cancelled) {
            finish(a, j, out);
            return true;
        }
        return false;
    }
    }
    return false;
}

/* Makes the engine send one MSI with the given address and data: a device
 * write that goes through the IOMMU like any other DMA. */
static int edu_msi(Agent *a, const AgentDevice *d, uint64_t addr, uint16_t data, char *err, size_t errlen)
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
