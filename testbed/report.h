/* What a scenario run produced, kept in memory by the runner and written out
 * as reports: JUnit XML (CI), and an HTML page with, per scenario and board,
 * a memory-map picture (granted regions, the table pool, every DMA as
 * allowed or blocked, the faults). TAP and the JSON-lines event log are
 * written live by the runner, each line as report_json_scenario() makes it. */
#ifndef TB_REPORT_H
#define TB_REPORT_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

typedef enum { RS_PASS, RS_FAIL, RS_SKIP } ReportStatus;

typedef struct {
    char *client;     /* scenario's client name, or "config" */
    unsigned object;  /* the client's object handle */
    uint64_t addr, len;
    char perms[4];    /* "r", "w", "rw", "" (removed) */
    bool removed;     /* an unmap: the range stopped being granted here */
    bool has_target;
    uint64_t target;
    char *vm;         /* a guest's request (B): addr is guest-physical in this VM; NULL: the host's */
    char *devices;    /* for a guest's: its object's guest PCI addresses ("pci:0:2.0 pci:0:3.0"), or NULL */
} ReportRegion;

/* Guest pass-through (docs/vm-config.md): a VM's guest RAM, one range of
 * A each (guest-physical gpa..+size, backed at host-physical hpa). */
typedef struct {
    char vm[65];
    uint64_t gpa, size, hpa;
} ReportVmRam;

/* A host DMA engine passed through to a VM's guest. */
typedef struct {
    char vm[65];
    char engine[16];     /* "edu0" */
    char host_dev[40];   /* "pci:0:4.0" */
    char guest_dev[40];  /* "pci:0:2.0" */
} ReportPass;

typedef struct {
    unsigned line;    /* in the scenario file */
    char device[16];  /* "edu0" */
    bool write;       /* device writes RAM */
    uint64_t addr, len;
    bool expected_ok; /* the scenario expected it to go through */
    bool went_through;/* what happened (RAM and records say) */
    /* For an engine passed through to a VM (vm non-empty): addr is the
     * device's address, guest-physical; translated when it lies inside
     * that VM's guest RAM while the VM runs, the bytes then landing (or,
     * blocked, kept from) hpa. guest_side: its record belonged to the
     * guest's service (docs/scenarios.md, "VMs and guests"). */
    char vm[65];
    bool translated;
    uint64_t hpa;
    bool guest_side;
} ReportDma;

typedef struct {
    char device[40];  /* "pci:0:4.0" */
    uint64_t addr;
    bool write;
    uint64_t reason;  /* the hardware's code: VT-d fault reason, SMMUv3 event type */
    char reason_name[40]; /* its name ("root-entry-not-present", "F_TRANSLATION"), "" if the record gave none */
    char owner[40];   /* client name, "config" or "none" */
    char seen_by[65]; /* "" the host service's record; else the guest whose service reported it
                       * (device: its guest PCI address, addr: guest-physical) */
} ReportFault;

enum { RP_PHASE_BOARD, RP_PHASE_SERVICE, RP_PHASE_CLIENTS, RP_PHASE_STEPS, RP_PHASE_TEARDOWN, RP_PHASES };

typedef struct {
    char *name, *file, *purpose, *board;
    ReportStatus status;
    char *message;    /* failure: "FILE:LINE: expected ..., got ..." */
    double seconds;
    /* where seconds went (RP_PHASE_*): measured, for smmu-scenario --timing */
    double phase[RP_PHASES];
    bool board_reused;  /* played on a kept board, reset after its last scenario */
    uint64_t ram_base, ram_size, pool_base, pool_size;
    GArray *regions;  /* ReportRegion, in the order they were requested */
    GArray *dmas;     /* ReportDma */
    GArray *faults;   /* ReportFault */
    GPtrArray *log;   /* char*: the steps as played, one line each */
    GArray *vm_ram;   /* ReportVmRam: each VM's A, once it ran */
    GArray *passes;   /* ReportPass: each pass-through engine, once its VM ran */
} ReportScenario;

ReportScenario *report_scenario_new(const char *name, const char *file, const char *board);
void report_scenario_free(ReportScenario *r);

/* A record line as smmu-client prints it ("fault device=pci:0:4.0
 * address=0x100000 access=write reason=1 dropped=0 repeat=0", and, from
 * clients that know it, " reason-name=NAME" after reason=). Fills device,
 * addr, write, reason and reason_name ("" when the line has none); owner
 * is left alone. 0, or -EINVAL for a line that is not a record. */
int report_fault_parse(const char *line, ReportFault *f);
/* "reason 0x1 (root-entry-not-present)", or "reason 0x1" when the record
 * gave no name: the code as the hardware wrote it, its name beside it.
 * Caller frees. */
char *report_reason_text(const ReportFault *f);
/* The --events line for one finished run: a JSON object and a newline,
 * with its records (device, address, access, reason and reason name,
 * owner). Caller frees. */
char *report_json_scenario(const ReportScenario *s);

/* Write the whole run; 0 or a negative errno with err set. */
int report_write_junit(const char *path, GPtrArray *scenarios, GError **err);
int report_write_html(const char *path, GPtrArray *scenarios, const char *title, GError **err);

#endif
