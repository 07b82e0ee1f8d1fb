/* The fault path: the back end drains and decodes the unit's records, the
 * core attributes each to the device and its owner, logs it, and queues it
 * for every attached client (any client may monitor; the owner is named in
 * the log). Each client has CORE_FAULT_QUEUE slots; when they are full,
 * new records are dropped and the next record read carries
 * SSF_DROPPED_FAULTS. Who is told that records wait is the shell's notify
 * hook: the first record after an empty queue, or one a client asked to be
 * told of (one-shot). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core-internal.h"

typedef struct {
    Core *c;
    unsigned unit;
} PollCtx;

static void enqueue(Core *c, CoreClient *cc, const struct smmu_status *rec)
{
    bool was_empty = cc->q_len == 0;
    if (cc->q_len == CORE_FAULT_QUEUE) {
        cc->dropped = true;
        cc->n_dropped++;
        return;
    }
    cc->queue[(cc->q_head + cc->q_len) % CORE_FAULT_QUEUE] = *rec;
    cc->q_len++;
    cc->n_queued++;
    /* one-shot notification; the first record after empty also tells the
     * client so that its descriptor (smmu_xfer_fd) turns readable */
    if (cc->armed || was_empty) {
        cc->armed = false;
        if (c->hooks.notify) c->hooks.notify(c->hooks.ctx, cc, cc->q_len);
    }
}

unsigned core_notify_arm(CoreClient *cc)
{
    cc->armed = true;
    return cc->q_len;
}

bool core_take_armed(CoreClient *cc)
{
    if (!cc->armed || !cc->q_len) return false;
    cc->armed = false;
    return true;
}

int core_take_record(CoreClient *cc, struct smmu_status *out)
{
    if (cc->q_len == 0) return 0;
    *out = cc->queue[cc->q_head];
    cc->q_head = (cc->q_head + 1) % CORE_FAULT_QUEUE;
    cc->q_len--;
    if (cc->dropped) {
        out->flags |= SSF_DROPPED_FAULTS;
        cc->dropped = false;
    }
    return 1;
}

static void deliver(Core *c, const struct smmu_status *rec, const char *owner)
{
    char label[40];
    devid_label(&rec->devid, label, sizeof label);
    c->faults_seen++;
    core_log(c, SMMU_LOG_WARN, "fault: device %s %s at 0x%llx reason 0x%llx (%s) owner %s", label,
             rec->flags & SSF_WRITE ? "write" : "read", (unsigned long long)rec->fault_addr,
             (unsigned long long)rec->hw_specific, smmu_fault_reason_name(rec), owner);
    for (GList *l = c->clients; l; l = l->next) enqueue(c, l->data, rec);
}

static void on_fault(void *opaque, const SmmuHwFault *f)
{
    PollCtx *p = opaque;
    Core *c = p->c;
    Device *d = dev_by_sid(c, p->unit, f->sid);
    struct smmu_status rec = { .hw_specific = f->reason, .fault_addr = f->addr,
                               .flags = (f->write ? SSF_WRITE : SSF_READ) | c->units[p->unit].hw_family };
    char owner[128] = "none";
    if (d) {
        rec.devid = d->id;
#ifdef SMMU_MUTATION_WRONG_CLIENT
        if (d->owner && d->owner->client && c->clients)
            snprintf(owner, sizeof owner, "client %u (pid %d)", ((CoreClient *)c->clients->data)->id,
                     (int)((CoreClient *)c->clients->data)->pid);
        else
#endif
        if (d->owner && d->owner->client)
            snprintf(owner, sizeof owner, "client %u (pid %d)", d->owner->client->id, (int)d->owner->client->pid);
        else if (d->owner)
            snprintf(owner, sizeof owner, "configuration (%s)", d->owner->origin[0] ? d->owner->origin : "reserved");
    } else { /* a device nobody named: still a PCI requester on this unit */
        rec.devid.pci = (struct smmu_devid_pci){ SDT_PCI, f->sid >> 8, (f->sid >> 3) & 31, f->sid & 7 };
        c->faults_unowned++;
    }
    /* one record per fault, however many identical ones the hardware wrote */
    uint32_t more = f->repeat > 1 ? f->repeat - 1 : 0;
    if (more > SSF_REPEAT_MASK >> SSF_REPEAT_SHIFT) more = SSF_REPEAT_MASK >> SSF_REPEAT_SHIFT;
    rec.flags |= more << SSF_REPEAT_SHIFT;
    deliver(c, &rec, owner);
}

static void lost_faults(Core *c, unsigned u, uint64_t lost)
{
    if (!lost) return;
    c->faults_lost += lost;
    core_log(c, SMMU_LOG_WARN, "%s: fault recording overflowed: faults were lost (%llu overflow%s so far)",
             c->units[u].name, (unsigned long long)c->faults_lost, c->faults_lost == 1 ? "" : "s");
}

void core_irq(Core *c, unsigned irq)
{
    for (unsigned u = 0; u < c->n_units && !c->dss; u++) {
        char err[200] = "";
        PollCtx ctx = { c, u };
        uint64_t lost = 0;
        /* the back end knows which lines are its unit's; others it ignores */
        if (c->units[u].ops->irq(c->units[u].hw, irq, on_fault, &ctx, &lost, err, sizeof err) < 0) {
            core_dss(c, "%s", err[0] ? err : "interrupt handling failed");
            return;
        }
        lost_faults(c, u, lost);
    }
}

void core_poll_faults(Core *c)
{
    for (unsigned u = 0; u < c->n_units && !c->dss; u++) {
        char err[200] = "";
        PollCtx ctx = { c, u };
        uint64_t lost = 0;
        if (c->units[u].ops->fault_poll(c->units[u].hw, on_fault, &ctx, &lost, err, sizeof err) < 0) {
            core_dss(c, "%s", err[0] ? err : "fault registers do not answer");
            return;
        }
        lost_faults(c, u, lost);
    }
}
