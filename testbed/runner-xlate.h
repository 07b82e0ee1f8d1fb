/* The scenario runner's knowledge of each host device's translation
 * (runner-xlate.c), for runner.c: the reference model (refmodel.h), fed
 * with what the service accepted (the configuration's startup mappings,
 * the host clients' successful obj/add/map/unmap/destroy/fini/init, the
 * clients killed), asked where a DMA lands and which of a device's
 * mappings it can write through. Engines passed through to a VM are not
 * its business: the VM maps them (runner-vm.c, rn_landing). */
#ifndef TB_RUNNER_XLATE_H
#define TB_RUNNER_XLATE_H

#include <stdbool.h>
#include <stdint.h>

#include "refmodel.h"
#include "runner-base.h"

/* After the service started: the board's facts, the configuration, the
 * scenario's host clients. */
void rn_xlate_start(Run *r);
void rn_xlate_stop(Run *r);

/* A host client's command the service answered "ok" to; a client killed. */
void rn_xlate_command(Run *r, Proc *p, char **w, const char *reply);
void rn_xlate_kill(Run *r, Proc *p);

/* Where device rid's bytes [addr, addr + len) land when its mappings are
 * followed, whatever their permissions: XL_IDENTITY when every page is
 * mapped onto itself, or not all pages are mapped (nothing known: the
 * device address, as without a model); XL_TRANSLATED, *phys set, when the
 * pages land back to back elsewhere; XL_SPLIT when they land apart. */
typedef enum { XL_IDENTITY, XL_TRANSLATED, XL_SPLIT } XlLanding;
XlLanding rn_xlate_landing(Run *r, unsigned rid, uint64_t addr, uint64_t len, uint64_t *phys);

/* A device address the device may write len bytes at, landing back to back
 * at *phys: [addr, addr + len) itself when readable and writable, else the
 * first page of its mappings that is. false: none. */
bool rn_xlate_writable(Run *r, unsigned rid, uint64_t addr, uint64_t len, uint64_t *waddr, uint64_t *phys);

#endif
