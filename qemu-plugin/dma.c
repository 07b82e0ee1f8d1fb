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
 * A dma or storm is a sequence of transfers: a storm's COUNT, taken round
 * robin by its engines (transfer i on engine i mod N, one per engine in
 * flight); a dma's one, after the pattern load if it has pattern=. A job
 * makes one step per turn of the server, in one of two ways:
 *
 * - Pipelined, while DMAs are cheap (as on every board in passthrough, and
 *   on q35-vtd even when blocked): look once at the oldest transfer in
 *   flight if no engine is free, then start the next. At most two qtest
 *   round trips (~50 us each). With N engines the oldest was started N-1
 *   steps earlier, so a look usually finds it done: storms keep the rate
 *   the old all-at-once rounds had.
 * - One at a time, once a DMA takes QEMU more than JOB_SLOW_DMA_US: start a
 *   transfer and look until it is done, in the same step. On virt-smmuv3 a
 *   blocked 4 KiB DMA whose faults the service drains costs QEMU's main
 *   loop ~7 ms (1,024 event records, each pulsing an interrupt that qtest
 *   reports in two lines); pipelined, it would run while the next client's
 *   register access waits behind it inside QEMU, every turn. Seen through,
 *   the cost is the storm's own step, and the server pauses a job whose
 *   steps are that long (server.c). A cheap DMA switches back.
 *
 * A dma is always seen through (its two transfers depend on each other). A
 * step stops after JOB_STEP_BUDGET_MS all the same and goes on next turn: an
 * engine that does not finish waits out its 5 s bound over many turns. */

#define JOB_STEP_BUDGET_MS 50
#define JOB_SLOW_DMA_US    3000

static int edu_msi(Agent *a, const AgentDevice *d, uint64_t addr, uint16_t data, char *err, size_t errlen);

struct Job {
    Request r;         /* a copy: the client's next lines are not ours */
    unsigned client;
    AgentDevice *devs[REQ_MAX_DEVS];
    unsigned ndev;
    bool started, cancelled;
    bool stage_pending; /* dma with pattern=: the staging page is not written yet */
    bool one_at_a_time; /* DMAs are slow for QEMU: see each through in its step */
    uint64_t total;    /* transfers: storm COUNT; dma 1, or 2 with the pattern load */
    uint64_t first;    /* transfers first..next-1 are in flight */
    uint64_t next;
    uint64_t done;     /* storm: transfers completed */
    uint64_t seq;      /* dma: log sequence number of the transfer itself */
    int64_t t0[REQ_MAX_DEVS]; /* start of the transfer in flight on each engine */
    int rc;            /* the first error; nothing new starts after one */
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
    j->stage_pending = r->kind == REQ_DMA && r->has_pattern;
    j->one_at_a_time = r->kind != REQ_STORM;
    j->total = r->kind == REQ_STORM ? r->count : r->kind == REQ_DMA ? (uint64_t)(r->has_pattern ? 2 : 1) : 0;
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

/* What transfer i of the job is. */
typedef struct {
    AgentDevice *dev;
    unsigned slot;     /* index into t0 */
    bool to_ram;
    uint64_t addr;
    const char *purpose;
} Xfer;

static Xfer xfer(Agent *a, const Job *j, uint64_t i)
{
    const Request *r = &j->r;
    if (r->kind == REQ_STORM)
        return (Xfer){ j->devs[i % j->ndev], (unsigned)(i % j->ndev), r->to_ram, r->addr + i * r->stride, "storm" };
    if (r->has_pattern && i == 0) /* the engine reads the staged pattern into its buffer */
        return (Xfer){ j->devs[0], 0, false, a->def.stage_base, "stage" };
    return (Xfer){ j->devs[0], 0, r->to_ram, r->addr, "dma" };
}

static bool more_to_start(const Job *j) { return !j->rc && !j->cancelled && j->next < j->total; }

static void start_next(Agent *a, Job *j)
{
    char err[200] = "";
    Xfer x = xfer(a, j, j->next);
    j->t0[x.slot] = now_us();
    int rc = start(a, x.dev, x.to_ram, x.addr, j->r.len, j->r.offset, err, sizeof err);
    if (rc) fail(j, rc, err); /* not started, not logged; those in flight still finish */
    else j->next++;
}

/* One look at the oldest transfer in flight: 1 while it runs, else it is
 * logged and retired (0 done, or its error). */
static int look_oldest(Agent *a, Job *j)
{
    char err[200] = "";
    const Request *r = &j->r;
    Xfer x = xfer(a, j, j->first);
    int w = poll_idle(a, x.dev, j->t0[x.slot] + AGENT_DMA_TIMEOUT_MS * 1000ll, err, sizeof err);
    if (w == 1) return 1;
    int64_t took = now_us() - j->t0[x.slot];
    uint64_t seq = log_dma(a, x.dev, x.to_ram, x.addr, r->len, r->offset, x.purpose,
                           w ? (w == -ETIMEDOUT ? "timeout" : "error") : "done", took);
    if (w) fail(j, w, err);
    else if (r->kind == REQ_STORM) j->done++;
    else j->seq = seq; /* a dma's reply names its last transfer */
    if (r->kind == REQ_STORM) j->one_at_a_time = took > JOB_SLOW_DMA_US;
    j->first++;
    return w;
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
    if (j->cancelled && j->first == j->next) { /* nothing in flight: nothing more to do */
        finish(a, j, out);
        return true;
    }
    if (r->kind == REQ_MSI) { /* a dozen config accesses: one step */
        int rc = edu_msi(a, j->devs[0], r->addr, (uint16_t)r->value, err, sizeof err);
        if (rc) fail(j, rc, err);
        finish(a, j, out);
        return true;
    }
    if (j->stage_pending && !j->cancelled) { /* pattern=: stage it in RAM through the CPU view */
        uint8_t buf[EDU_BUF_SIZE];
        for (uint64_t i = 0; i < r->len; i++) buf[i] = r->data[i % r->data_len];
        int rc = qt_write_bytes(&a->qt, a->def.stage_base, buf, r->len);
        if (rc) fail(j, rc, "");
    }
    j->stage_pending = false;
    uint64_t limit = r->kind == REQ_STORM ? j->ndev : 1; /* in flight at once */
    if (j->one_at_a_time) {
        /* the oldest in flight (left from pipelining), else a new one; seen through */
        if (j->first == j->next && more_to_start(j)) start_next(a, j);
        if (j->first < j->next) {
            int64_t budget_end = now_us() + JOB_STEP_BUDGET_MS * 1000ll;
            while (look_oldest(a, j) == 1)
                if (now_us() > budget_end) return false; /* still running: look again next turn */
        }
    } else {
        if (j->first < j->next && (j->next - j->first == limit || !more_to_start(j)) && look_oldest(a, j) == 1)
            return false; /* no engine free yet */
        if (more_to_start(j) && j->next - j->first < limit) start_next(a, j);
    }
    if (j->first == j->next && !more_to_start(j)) {
        finish(a, j, out);
        return true;
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
