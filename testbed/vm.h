/* The VM model's host side and the meaning of its guest's requests
 * (docs/vdev-smmu.md): one libsmmu connection to the host service's target
 * socket; object A holding the whole guest RAM (guest-physical translated
 * to host-physical) for every pass-through device until the guest's
 * service says HELLO; then the guest's objects, each an object of the VM
 * on the host, with every guest-physical range checked against the guest's
 * RAM and translated; the host's fault records filtered and translated for
 * the guest. */
#ifndef TB_VM_H
#define TB_VM_H

#include <stddef.h>

#include "vdev-server.h"
#include "vm-config.h"

/* How a VM ends (docs/vm-config.md, "Ends"): the process's exit status. */
#define VM_EXIT_STOPPED 0   /* SIGTERM/SIGINT: an orderly stop, devices blocked */
#define VM_EXIT_REFUSED 1   /* did not start (configuration, host refusal, ...): nothing left behind */
#define VM_EXIT_USAGE   2   /* the command line */
#define VM_EXIT_DSS     3   /* the VM's DSS: its guest's service went away (or the VM could not keep its word) */
#define VM_EXIT_HOST    4   /* the host service went away (its DSS, or killed): the VM cannot protect anything */

typedef struct Vm Vm;

typedef struct {
    void *ctx;
    void (*log)(void *ctx, const char *msg);
    /* The VM must end: exit status, state for the status file, reason. Does
     * not return. */
    void (*end)(void *ctx, int exit_status, const char *state, const char *reason);
} VmHooks;

/* Connects to the host service at host_socket (it must grant the target
 * ability), creates A with every ram range and attaches every pass-through
 * device to it. 0, or -errno with err naming what and where (the host's
 * own words when it refused): the VM then refuses to start, and the host
 * service undoes what was done when the connection closes. */
int vm_start(const VmConfig *cfg, const char *host_socket, const VmHooks *hooks, Vm **out, char *err, size_t errlen);
/* The vdev-smmu server the guest's records go to (NULL: none). */
void vm_set_server(Vm *vm, VdevServer *srv);
/* What vm serves its guest: pass vm as the server's ctx. */
extern const VdevOps vm_vdev_ops;
/* Readable when host records are pending, and for good once the host
 * service is gone. */
int vm_host_fd(Vm *vm);
/* Takes every pending host record: the guest's go to the server, the rest
 * are logged. Ends the VM (hooks.end) when the host service is gone. */
void vm_drain_faults(Vm *vm);
/* Detaches every pass-through device on the host (blocked there, not back
 * to A). What fails is logged: a host that is gone has blocked them itself. */
void vm_block_all(Vm *vm);
/* Closes the host connection (the host destroys the VM's objects) and frees. */
void vm_free(Vm *vm);

#endif
