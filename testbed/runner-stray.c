/* Stray records, found without a fixed wait (runner-stray.h).
 *
 * The end-of-run check used to wait 30 ms for a record nobody expected:
 * the longest it takes a record to travel from the IOMMU through the
 * service to the runner's monitor client, with a margin, and two thirds
 * of a typical scenario's time. Instead the runner makes a record of its
 * own, after everything the steps did: a write by an engine that belongs
 * to nobody (no object, no configuration, no VM), which the IOMMU blocks
 * and records. The IOMMU records in order (VT-d's fault recording
 * registers, SMMUv3's event queue), the service drains them in order and
 * the monitor's queue is in order: once the sentinel's record is in, any
 * record made before it has come too. One more look (1 ms) covers records
 * the service read in the same batch as the sentinel's. The sentinel's
 * record is in no report: it is the runner's, not the scenario's. */
#include "runner-stray.h"

#include <stdio.h>
#include <string.h>

#include "status-text.h"

/* Beyond RAM on both boards: were the write to go through, nothing is hit. */
#define SENTINEL_ADDR 0x7fffff000ull
#define SENTINEL_WAIT_MS 1000

static const TbInvDevice *nobodys_engine(Run *r, char *devid, size_t n)
{
    for (unsigned i = 0; i < r->inv.n_devices; i++) {
        const TbInvDevice *d = &r->inv.devices[i];
        if (!d->is_edu) continue;
        snprintf(devid, n, "pci:%u:%u.%u", d->rid >> 8, (d->rid >> 3) & 31, d->rid & 7);
        const char *owner = g_hash_table_lookup(r->host.owner, devid);
        if ((!owner || strcmp(owner, "none") == 0) && !g_hash_table_lookup(r->host.home, devid)) return d;
    }
    return NULL;
}

static int stray(Run *r, const char *rec)
{
    ReportFault f = { 0 };
    if (report_fault_parse(rec, &f)) return rn_failf(r, "a fault no step expected: '%s'", rec), 0;
    g_autofree char *why = report_reason_text(&f);
    rn_failf(r, "a fault no step expected: %.*s %s at 0x%llx, %s", (int)strnlen(f.device, sizeof f.device), f.device,
             f.write ? "write" : "read", (unsigned long long)f.addr, why);
    return 0;
}

int rn_stray_records_sentinel(Run *r)
{
    if (!r->monitor || !rn_svc_running(r) || r->inv.n_units == 0) return -1;
    g_autofree char *state = status_file_value(r->status, "state");
    if (!state || strcmp(state, "running")) return -1; /* in DSS nothing is recorded */
    char devid[40];
    const TbInvDevice *d = nobodys_engine(r, devid, sizeof devid);
    if (!d) return -1;
    TbReply rep;
    GError *err = NULL;
    if (tb_agent_do(r->agent, &rep, &err, "dma %s write 0x%llx 64", d->name, SENTINEL_ADDR)) {
        g_error_free(err);
        return -1;
    }
    tb_reply_clear(&rep);
    g_autofree char *ask = g_strdup_printf("wait-fault %d", SENTINEL_WAIT_MS);
    for (;;) {
        g_autofree char *rec = rn_ask(r, r->monitor, ask);
        if (!rec) return rn_failf(r, "the runner's monitor client is gone"), 0;
        if (strcmp(rec, "none") == 0) return -1; /* no record for it: not blocked and recorded here after all */
        ReportFault f = { 0 };
        if (report_fault_parse(rec, &f) == 0 && strcmp(f.device, devid) == 0 && f.write &&
            (f.addr & ~0xfffull) == SENTINEL_ADDR) break;
        return stray(r, rec);
    }
    g_autofree char *rec = rn_ask(r, r->monitor, "wait-fault 1");
    if (rec && strcmp(rec, "none")) return stray(r, rec);
    rn_logf(r, "no fault record that no step expected: the runner's own (%s write 0x%llx) came, none before it",
            d->name, SENTINEL_ADDR);
    return 1;
}
