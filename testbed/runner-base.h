/* The scenario runner's ground floor (runner-base.c), shared by the
 * runner's other files (runner-vm.c, runner.c) and by nothing else (not
 * installed): what a run holds (the board, the service, the clients, the
 * VMs and their guests' services), the sizes and timeouts it plays by, and
 * what runner-base.c does for the files above it. runner.h is the
 * runner's interface. */
#ifndef TB_RUNNER_BASE_H
#define TB_RUNNER_BASE_H

#include <stdbool.h>
#include <stdint.h>

#include "agent-client.h"
#include "inventory.h"
#include "launcher.h"
#include "report.h"
#include "runner-options.h"
#include "scenario.h"
#include "vm-config.h"

#define EDU_BUF 4096
#define MAX_ENGINES 8
#define REPLY_TIMEOUT_MS 10000
#define FAULT_TIMEOUT_MS 3000
#define STATE_TIMEOUT_MS 5000
#define SETTLE_MS 30 /* a fault takes a poll interval (2 ms) to be drained */

typedef struct RGuest RGuest;

typedef struct {
    char *name;
    bool target;
    RGuest *guest;       /* the guest service it attaches to; NULL: the host's */
    GPid pid;
    int in, out;
    GString *buf;
    GHashTable *objects; /* handle (string) -> GPtrArray of bdf strings */
} Proc;

/* Who owns which device, as a service will name it in its log: the host's
 * table (host PCI addresses) or a guest's (guest PCI addresses). */
typedef struct {
    GHashTable *owner; /* "pci:B:D.F" -> client name, VM name, "config" */
    GHashTable *home;  /* "pci:B:D.F" -> "config" for configured devices */
} Owners;

/* A VM: a smmu-qvm process, started by a step. */
typedef struct {
    const ScnVm *decl;
    char *conf, *status, *log;
    char *vdev;              /* its vdev-smmu socket, from its configuration; NULL: none */
    GPtrArray *origin;       /* generated configuration line i+1 -> "FILE:LINE", NULL for a fixture */
    VmConfig cfg;            /* read with smmu-qvm's own parser */
    bool have_cfg;
    char cfg_error[512];
    GPid pid;
    bool running;            /* started, and not seen to exit */
    bool reported;           /* its A and pass-through devices are in the report */
    int exit_status;         /* once it exited: 128 + signal for a signal */
} RVm;

/* A guest's service: the same smmuman, in guest mode, in a VM. */
struct RGuest {
    const ScnGuest *decl;
    RVm *vm;
    char *conf, *sock, *tsock, *status, *log;
    GPtrArray *origin;
    bool with_vdev;          /* started with SMMU_VDEV: it reached (or tried) its VM's vdev-smmu */
    GPid pid;
    bool running;
    int exit_status;
    Proc *monitor;           /* the runner's client of this guest's service */
    Owners own;
};

typedef struct {
    const Scenario *scn;
    const RunOptions *opt;
    ReportScenario *rep;
    TbBoard *board;
    TbAgent *agent;
    TbInventory inv;
    uint8_t *ram;
    char *conf, *sock, *tsock, *status, *log;
    GPid svc;
    bool svc_exited;
    int svc_status;
    GPtrArray *clients;   /* Proc*: the scenario's, the host's and the guests' */
    Proc *monitor;        /* the runner's own client: receives every record */
    GPtrArray *vms;       /* RVm* */
    GPtrArray *guests;    /* RGuest* */
    GPtrArray *files;     /* char*: what the runner wrote in the run directory for VMs and guests */
    unsigned conf_header;  /* lines of smmu.conf before the scenario's own */
    uint8_t engine[MAX_ENGINES][EDU_BUF]; /* what each engine's buffer holds */
    /* Stands in for RAM when a blocked DMA aims beyond it (nothing there to
     * corrupt): the runner still writes and compares "the target". Per run:
     * with --jobs, a buffer shared between threads would let one run's
     * complement bytes show up as another's "RAM changed". */
    uint8_t nowhere[EDU_BUF];
    Owners host;          /* the host service's devices */
    struct RefModel *ref; /* where the host's devices' DMA lands (runner-xlate.c); NULL: no IOMMU */
    /* A DMA was injected since the last wait that found no record coming
     * (expect-no-fault): only a DMA makes the IOMMU record anything, so
     * without one the end-of-run wait for stray records is skipped. */
    bool dma_since_quiet;
    char failure[1024];
    const ScnStep *step;  /* the step being played, for messages */
} Run;

/* Failures name FILE:LINE and what was expected (the first one stays);
 * log lines are the report's step log. */
bool rn_failf(Run *r, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
void rn_logf(Run *r, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* Processes and the clients the runner asks */
void rn_child_setup(gpointer log);
bool rn_reaped(GPid pid, bool *running, int *status);
void rn_kill_reap(GPid *pid, bool running);
Proc *rn_proc_client(Run *r, const char *name, bool target, RGuest *guest);
void rn_proc_kill(Proc *p);
void rn_proc_free(Proc *p);
char *rn_ask(Run *r, Proc *p, const char *line);
Proc *rn_client(Run *r, const char *name);
void rn_wait_gone(const char *log, GPid pid);

/* The host's service */
bool rn_svc_running(Run *r);
bool rn_wait_state(Run *r, bool dss, const char *reason);

/* VMs and guests by name (NULL: none) */
RVm *rn_vm_named(Run *r, const char *name);
RGuest *rn_guest_named(Run *r, const char *name);

/* Addresses: "ram+N", "pool+N", "gpa(VM)+N" or a number */
bool rn_addr_of(Run *r, const char *w, uint64_t *out);
bool rn_subst_cb(void *ctx, ScnBase b, const char *vm, uint64_t off, uint64_t *addr, GError **err);
char *rn_resolve_from(Run *r, char **w, unsigned first, bool sizes);
char *rn_resolve(Run *r, char **w);

/* Bookkeeping of who owns which device, and of what the clients did */
void rn_release_all_owned_by(Owners *o, const char *name);
void rn_release_all_of(Run *r, Proc *p);
void rn_note_command(Run *r, Proc *p, char **w, const char *reply);
void rn_config_owners(Owners *o, const GPtrArray *config);
void rn_owners_init(Owners *o);
void rn_owners_clear(Owners *o);

#endif
