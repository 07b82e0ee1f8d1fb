/* Writes an example report from made-up runs, to look at the HTML page and
 * the JUnit file without QEMU: report-example OUT.html OUT.xml */
#include <stdio.h>
#include <string.h>

#include "report.h"

typedef struct {
    const char *name;
    uint64_t ram_base, pool_base;
} Board;

static const Board boards[] = {
    { "virt-smmuv3", 0x40000000, 0x5f000000 },
    { "q35-vtd", 0x0, 0x1f000000 },
};

static ReportScenario *run_of(const Board *b, const char *name, const char *file, const char *purpose, double secs)
{
    ReportScenario *r = report_scenario_new(name, file, b->name);
    r->purpose = g_strdup(purpose);
    r->seconds = secs;
    r->ram_base = b->ram_base;
    r->ram_size = 512u << 20;
    r->pool_base = b->pool_base;
    r->pool_size = 16u << 20;
    return r;
}

static void map(ReportScenario *r, const char *client, unsigned obj, const char *perms, uint64_t off, uint64_t len)
{
    ReportRegion rg = { .client = g_strdup(client), .object = obj, .addr = r->ram_base + off, .len = len,
                        .removed = perms == NULL };
    g_strlcpy(rg.perms, perms ? perms : "", sizeof rg.perms);
    g_array_append_val(r->regions, rg);
}

static void dma(ReportScenario *r, unsigned line, const char *dev, bool write, uint64_t addr, uint64_t len, bool expect,
                bool happened)
{
    ReportDma d = { .line = line, .write = write, .addr = addr, .len = len, .expected_ok = expect, .went_through = happened };
    g_strlcpy(d.device, dev, sizeof d.device);
    g_array_append_val(r->dmas, d);
    g_ptr_array_add(r->log, g_strdup_printf("%s:%u: dma %s %s 0x%" G_GINT64_MODIFIER "x %" G_GUINT64_FORMAT " => %s%s",
                                            r->file, line, dev, write ? "write" : "read", addr, len,
                                            expect ? "ok" : "blocked", expect == happened ? "" : "   <-- FAILED"));
}

static void fault(ReportScenario *r, const char *dev, uint64_t addr, bool write, const char *owner)
{
    /* what each IOMMU reports for an unmapped page, with the name smmu-client gives it */
    bool vtd = strcmp(r->board, "q35-vtd") == 0;
    ReportFault f = { .addr = addr, .write = write, .reason = vtd ? (write ? 0x5 : 0x6) : 0x10 };
    g_strlcpy(f.reason_name, vtd ? (write ? "write-not-permitted" : "read-not-permitted") : "F_TRANSLATION",
              sizeof f.reason_name);
    g_strlcpy(f.device, dev, sizeof f.device);
    g_strlcpy(f.owner, owner, sizeof f.owner);
    g_array_append_val(r->faults, f);
}

static void steps(ReportScenario *r, const char *const *lines)
{
    for (unsigned i = 0; lines[i]; i++) g_ptr_array_add(r->log, g_strdup_printf("%s:%u: %s", r->file, i + 3, lines[i]));
}

static void rogue(GPtrArray *run, const Board *b)
{
    ReportScenario *r = run_of(b, "demo/03-rogue-device", "scenarios/demo/03-rogue-device.scn",
                               "A second driver's device goes rogue: it cannot touch the first driver's buffers, and the "
                               "fault names its owner.", 4.82);
    static const char *const set_up[] = { "client alice", "client bob", "alice obj", "alice add 0 pci 0 4 0",
                                          "alice map 0 rw ram+0x100000 4096", "bob obj", "bob add 0 pci 0 5 0",
                                          "bob map 0 rw ram+0x300000 4096", NULL };
    steps(r, set_up);
    map(r, "alice", 0, "rw", 0x100000, 4096);
    map(r, "bob", 0, "rw", 0x300000, 4096);
    dma(r, 11, "edu1", true, r->ram_base + 0x300000, 256, true, true);
    dma(r, 12, "edu1", true, r->ram_base + 0x100000, 256, false, false);
    fault(r, "pci:0:5.0", r->ram_base + 0x100000, true, "bob");
    dma(r, 13, "edu1", false, r->ram_base + 0x100000, 256, false, false);
    fault(r, "pci:0:5.0", r->ram_base + 0x100000, false, "bob");
    dma(r, 14, "edu1", true, r->pool_base, 256, false, false);
    fault(r, "pci:0:5.0", r->pool_base, true, "bob");
    dma(r, 15, "edu0", false, r->ram_base + 0x100000, 4096, true, true);
    g_ptr_array_add(run, r);
}

static void partial_unmap(GPtrArray *run, const Board *b, bool fail)
{
    ReportScenario *r = run_of(b, "host/partial-unmap", "scenarios/host/partial-unmap.scn",
                               "Removing part of a region splits it: the removed page is blocked, the rest stays; "
                               "removing a few bytes keeps their page.", 2.17);
    uint64_t base = r->ram_base + 0x1b0000;
    map(r, "a", 0, "rw", 0x1b0000, 12288);
    dma(r, 7, "edu0", true, base, 4096, true, true);
    dma(r, 8, "edu0", true, base + 0x1000, 4096, true, true);
    dma(r, 9, "edu0", true, base + 0x2000, 4096, true, true);
    map(r, "a", 0, NULL, 0x1b1000, 4096);
    dma(r, 11, "edu0", true, base + 0x1000, 64, false, fail);
    if (!fail) fault(r, "pci:0:4.0", base + 0x1000, true, "a");
    dma(r, 12, "edu0", true, base, 4096, true, true);
    dma(r, 13, "edu0", true, base + 0x2000, 4096, true, true);
    map(r, "a", 0, NULL, 0x1b0100, 16);
    dma(r, 16, "edu0", true, base, 4096, true, true);
    map(r, "a", 0, NULL, 0x1b0000, 0x100);
    map(r, "a", 0, NULL, 0x1b0110, 0xef0);
    dma(r, 20, "edu0", true, base, 64, false, false);
    fault(r, "pci:0:4.0", base, true, "a");
    dma(r, 21, "edu0", true, base + 0x2000, 4096, true, true);
    if (fail) {
        r->status = RS_FAIL;
        r->message = g_strdup_printf("scenarios/host/partial-unmap.scn:11: edu0 write to 0x%" G_GINT64_MODIFIER
                                     "x should have been blocked; RAM changed <\"page\" & 'rounding'>",
                                     base + 0x1000);
    }
    g_ptr_array_add(run, r);
}

static void storm(GPtrArray *run, const Board *b)
{
    ReportScenario *r = run_of(b, "stress/storm-2000", "scenarios/stress/storm.scn",
                               "2000 DMAs from two engines over 16 MiB, half of it granted: nothing crosses outside "
                               "the grant, and the service keeps up.", 38.4);
    map(r, "alice", 0, "rw", 0x1000000, 8u << 20);
    map(r, "alice", 1, "r", 0x2000000, 64u << 10);
    for (unsigned i = 0; i < 2000; i++) {
        uint64_t a = r->ram_base + 0x1000000 + (uint64_t)i * 0x2000;
        bool in = a < r->ram_base + 0x1000000 + (8u << 20);
        ReportDma d = { .line = 9, .write = i % 3 != 0, .addr = a, .len = 4096, .expected_ok = in, .went_through = in };
        g_strlcpy(d.device, i & 1 ? "edu1" : "edu0", sizeof d.device);
        g_array_append_val(r->dmas, d);
        if (!in) fault(r, i & 1 ? "pci:0:5.0" : "pci:0:4.0", a, d.write, "none");
    }
    /* The same page over and over. */
    for (unsigned i = 0; i < 500; i++) dma(r, 12, "edu2", false, r->ram_base + 0x2000000, 64, true, true);
    g_ptr_array_add(run, r);
}

static void many_grants(GPtrArray *run, const Board *b)
{
    ReportScenario *r = run_of(b, "stress/many-grants", "scenarios/stress/many-grants.scn",
                               "Three clients map 60 buffers of mixed sizes and permissions; each device reaches its own "
                               "and nothing else.", 6.3);
    static const char *const perms[] = { "rw", "r", "w" };
    static const char *const who[] = { "alice", "bob", "carol" };
    for (unsigned i = 0; i < 60; i++) {
        uint64_t off = 0x800000 + (uint64_t)i * 0x21000;
        map(r, who[i % 3], i / 3, perms[i % 3], off, 4096u << (i % 4));
        dma(r, 70 + i, i % 3 == 0 ? "edu0" : i % 3 == 1 ? "edu1" : "edu2", i % 3 != 1, r->ram_base + off, 4096, true, true);
    }
    for (unsigned i = 0; i < 10; i++) map(r, who[i % 3], i, NULL, 0x800000 + (uint64_t)i * 0x63000, 4096);
    dma(r, 140, "edu1", true, r->ram_base + 0x800000, 4096, false, false);
    fault(r, "pci:0:5.0", r->ram_base + 0x800000, true, "bob");
    g_ptr_array_add(run, r);
}

static void odd_addresses(GPtrArray *run, const Board *b)
{
    ReportScenario *r = run_of(b, "rogue/outside-ram", "scenarios/rogue/outside-ram.scn",
                               "DMA at addresses no RAM backs (below it, at the MSI window) is blocked and recorded.",
                               1.02);
    map(r, "config", 0, "r", 0x0, 0x10000);
    ReportRegion t = { .client = g_strdup("alice"), .addr = r->ram_base + 0x400000, .len = 0x4000, .has_target = true,
                       .target = 0x80000000 };
    g_strlcpy(t.perms, "w", sizeof t.perms);
    g_array_append_val(r->regions, t);
    dma(r, 5, "edu0", true, 0xfee00000, 4, false, false);
    fault(r, "pci:0:4.0", 0xfee00000, true, "none");
    dma(r, 6, "edu0", false, r->ram_base + 0x400000, 4096, true, true);
    if (r->ram_base) {
        dma(r, 7, "edu0", false, 0x1000, 4096, false, false);
        fault(r, "pci:0:4.0", 0x1000, false, "none");
    }
    g_ptr_array_add(run, r);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s OUT.html OUT.xml\n", argv[0]);
        return 2;
    }
    g_autoptr(GPtrArray) run = g_ptr_array_new_with_free_func((GDestroyNotify)report_scenario_free);
    for (unsigned i = 0; i < G_N_ELEMENTS(boards); i++) {
        rogue(run, &boards[i]);
        partial_unmap(run, &boards[i], i == 1);
        storm(run, &boards[i]);
        if (i == 0) many_grants(run, &boards[i]);
        odd_addresses(run, &boards[i]);
    }
    ReportScenario *skip = run_of(&boards[1], "dss/table-corruption", "scenarios/dss/table-corruption.scn",
                                  "A flipped bit in table memory sends the service to DSS.", 0);
    skip->status = RS_SKIP;
    skip->message = g_strdup("board q35-vtd: no ECC model, skipped");
    g_ptr_array_add(run, skip);

    GError *e = NULL;
    if (report_write_html(argv[1], run, "smmuman scenario report (example)", &e) ||
        report_write_junit(argv[2], run, &e)) {
        fprintf(stderr, "report-example: %s\n", e->message);
        g_error_free(e);
        return 1;
    }
    return 0;
}
