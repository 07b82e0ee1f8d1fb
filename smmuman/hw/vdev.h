/* The guest's back end on vdev-smmu (docs/vdev-smmu.md): SmmuHwOps whose
 * unit is a connection to the VM's socket. Linked into the service (not a
 * support library): a guest has no library to load. */
#ifndef SMMU_VDEV_H
#define SMMU_VDEV_H

#include <glib.h>

#include "../include/smmu.h"
#include "smmu-hw.h"

extern const SmmuHwOps vdev_ops;

/* Connects to the VM's vdev-smmu at path (its HELLO takes the guest's
 * devices out of the VM's whole memory: deny by default). */
int vdev_unit_open(const char *name, const char *path, SmmuHwUnit **out, char *err, size_t errlen);
/* The VM's answer to the certification query (docs/vdev-smmu.md, STATUS);
 * the caller frees; NULL with errno. */
char *vdev_status_text(SmmuHwUnit *u);
/* Polls readable while records may wait, and for good once the VM is gone. */
int vdev_fault_fd(SmmuHwUnit *u);

#endif
