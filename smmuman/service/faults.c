/* The fault path: the library drains and decodes the unit's records, the
 * service attributes each to the device and its owner, logs it, and queues
 * it for every attached client (any client may monitor; the owner is named
 * in the log). Each client has SMMU_FAULT_QUEUE slots; when they are full,
 * new records are dropped and the next record read carries
 * SSF_DROPPED_FAULTS. */
#include <errno.h>
#include <string.h>

#include "../lib/proto.h"
#include "service.h"

typedef struct {
    Service *s;
    unsigned unit;
} PollCtx;

static void enqueue(Client *c, const struct smmu_status *rec)
{
    bool was_empty = c->q_len == 0;
    if (c->q_len == SMMU_FAULT_QUEUE) {
        c->dropped = true;
        c->n_dropped++;
        return;
    }
    c->queue[(c->q_head + c->q_len) % SMMU_FAULT_QUEUE] = *rec;
    c->q_len++;
    c->n_queued++;
    /* one-shot notification; the first record after empty also tells
     * libsmmu so that smmu_xfer_fd() turns readable */
    if (c->armed || was_empty) {
        client_send_event(c, SMMU_EV_FAULT, 0, c->q_len, NULL);
        c->armed = false;
    }
}

int client_take_record(Client *c, struct smmu_status *out)
{
    if (c->q_len == 0) return 0;
    *out = c->queue[c->q_head];
    c->q_head = (c->q_head + 1) % SMMU_FAULT_QUEUE;
    c->q_len--;
    if (c->dropped) {
        out->flags |= SSF_DROPPED_FAULTS;
        c->dropped = false;
    }
    return 1;
}

void fault_deliver(Service *s, const struct smmu_status *rec, const char *owner)
{
    char label[40];
    devid_label(&rec->devid, label, sizeof label);
    s->faults_seen++;
    svc_log(s, SMMU_LOG_WARN, "fault: device %s %s at 0x%llx reason 0x%llx (%s) owner %s", label,
            rec->flags & SSF_WRITE ? "write" : "read", (unsigned long long)rec->fault_addr,
            (unsigned long long)rec->hw_specific, smmu_fault_reason_name(rec), owner);
    for (GList *l = s->clients; l; l = l->next) enqueue(l->data, rec);
}

static void on_fault(void *opaque, const SmmuHwFault *f)
{
    PollCtx *p = opaque;
    Service *s = p->s;
    Device *d = dev_by_sid(s, p->unit, f->sid);
    struct smmu_status rec = { .hw_specific = f->reason, .fault_addr = f->addr,
                               .flags = (f->write ? SSF_WRITE : SSF_READ) | s->hw_family };
    char owner[128] = "none";
    if (d) {
        rec.devid = d->id;
#ifdef SMMU_MUTATION_WRONG_CLIENT
        if (d->owner && d->owner->client && s->clients)
            snprintf(owner, sizeof owner, "client %u (pid %d)", ((Client *)s->clients->data)->id,
                     (int)((Client *)s->clients->data)->pid);
        else
#endif
        if (d->owner && d->owner->client)
            snprintf(owner, sizeof owner, "client %u (pid %d)", d->owner->client->id, (int)d->owner->client->pid);
        else if (d->owner)
            snprintf(owner, sizeof owner, "configuration (%s)", d->owner->origin[0] ? d->owner->origin : "reserved");
    } else { /* a device nobody named: still a PCI requester on this unit */
        rec.devid.pci = (struct smmu_devid_pci){ SDT_PCI, f->sid >> 8, (f->sid >> 3) & 31, f->sid & 7 };
        s->faults_unowned++;
    }
    /* one record per fault, however many identical ones the hardware wrote */
    uint32_t more = f->repeat > 1 ? f->repeat - 1 : 0;
    if (more > SSF_REPEAT_MASK >> SSF_REPEAT_SHIFT) more = SSF_REPEAT_MASK >> SSF_REPEAT_SHIFT;
    rec.flags |= more << SSF_REPEAT_SHIFT;
    fault_deliver(s, &rec, owner);
}

static void lost_faults(Service *s, unsigned u, uint64_t lost)
{
    if (!lost) return;
    s->faults_lost += lost;
    svc_log(s, SMMU_LOG_WARN, "%s: fault recording overflowed: faults were lost (%llu overflow%s so far)",
            s->units[u].name, (unsigned long long)s->faults_lost, s->faults_lost == 1 ? "" : "s");
}

void svc_unit_irq(Service *s, unsigned irq)
{
    for (unsigned u = 0; u < s->n_units; u++) {
        char err[200] = "";
        PollCtx ctx = { s, u };
        uint64_t lost = 0;
        /* the library knows which lines are its unit's; others it ignores */
        if (s->hw->irq(s->units[u].hw, irq, on_fault, &ctx, &lost, err, sizeof err) < 0)
            svc_dss(s, "%s", err[0] ? err : "interrupt handling failed");
        lost_faults(s, u, lost);
    }
}

void svc_poll_faults(Service *s)
{
    for (unsigned u = 0; u < s->n_units; u++) {
        char err[200] = "";
        PollCtx ctx = { s, u };
        uint64_t lost = 0;
        int rc = s->hw->fault_poll(s->units[u].hw, on_fault, &ctx, &lost, err, sizeof err);
        if (rc < 0) svc_dss(s, "%s", err[0] ? err : "fault registers do not answer");
        lost_faults(s, u, lost);
    }
}
