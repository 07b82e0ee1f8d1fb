/* The scenario runner's VMs and guests (runner-vm.c), for the runner's
 * top (runner.c) and nothing else (not installed): where a DMA lands, the
 * set-up of VMs and guests, and the steps that start, check and kill
 * them. */
#ifndef TB_RUNNER_VM_H
#define TB_RUNNER_VM_H

#include <stdbool.h>
#include <stdint.h>

#include "inventory.h"
#include "runner-base.h"
#include "vm-config.h"

/* Where a DMA by an engine lands, and whose its record is (docs/scenarios.md,
 * "VMs and guests"). An engine passed through to a VM that runs uses guest-physical
 * addresses: inside the VM's guest RAM they are translated to where the VM
 * backs it; anywhere else, or for any other engine, the address is the
 * host's. The record of a blocked DMA inside the guest RAM, while the
 * guest's service runs with its vdev-smmu, is also the guest's, with its
 * PCI address. */
typedef struct {
    RVm *vm;             /* the VM it is passed to (configuration read), or NULL */
    const VmPass *pass;
    bool in_guest;       /* [addr, addr + len) lies in that VM's guest RAM ... */
    uint64_t hpa;        /* ... backed from here */
    bool translated;     /* and the VM runs: the bytes go to hpa */
    RGuest *guest;       /* and its guest's service runs: the record is the guest's too */
    char host_dev[40], guest_dev[40];
} Landing;

bool rn_guest_alive(Run *r, RGuest *g);
bool rn_landing(Run *r, const TbInvDevice *d, uint64_t addr, uint64_t len, Landing *l);
void rn_vms_prepare(Run *r, const char *board);
bool rn_step_start(Run *r, char **w, char **expect);
bool rn_step_state(Run *r, char **w);
bool rn_kill_process(Run *r, const char *name, const char *signame);

#endif
