/* The vdev-smmu socket of one VM: the ordinary smmuman wire protocol
 * (docs/protocol.md, lib/proto), served to one guest connection at a time
 * (docs/vdev-smmu.md). This file is the serving (socket, decoding, one reply
 * per request, backpressure, the guest's fault queue and its notices); what
 * a request means is the VM's (vm.c), through VdevOps.
 *
 * It behaves as the host service does (smmuman/service/server.c): a reply
 * the guest does not read is kept, in order, and no further request of it
 * is read until everything kept has gone out; one EV_FAULT waits at most; a
 * malformed message that has a header gets a reply with why; a packet
 * shorter than a header is hung up on. Ours for the VM: a second connection
 * is hung up on at once; requests before HELLO are refused (EPROTO), since
 * HELLO is what takes the devices out of the VM's object A. */
#ifndef TB_VDEV_SERVER_H
#define TB_VDEV_SERVER_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>

#include "../smmuman/lib/proto.h"

#define VDEV_FAULT_QUEUE 64    /* records per guest connection, as the host service keeps per client */
#define VDEV_TELL_END_US 200000 /* telling the guest the VM ends must not hold the end up */

typedef struct VdevServer VdevServer;

typedef struct {
    /* Every HELLO (the VM acts on the first of its life). 0, or -errno with err. */
    int (*hello)(void *ctx, char *err, size_t errlen);
    /* OBJ_CREATE, OBJ_DESTROY, DEVICE_ADD, REPORT_RESERVED, MAPPING_ADD,
     * SAFETY, STATUS, OBJECTS: fills r's body (its op and seq are set).
     * 0, or -errno with err (the failed reply's text). */
    int (*request)(void *ctx, const SmmuMsg *m, SmmuMsg *r, char *err, size_t errlen);
    /* The guest's service went away: its connection, after HELLO, closed or
     * was hung up on. */
    void (*gone)(void *ctx, const char *why);
    /* One line for the VM's log. */
    void (*log)(void *ctx, const char *msg);
} VdevOps;

/* Listens on path (SOCK_SEQPACKET, mode 0600). A socket file left by a
 * process that is gone is replaced; one that still answers is not. 0, or
 * -errno with err. */
int vdev_server_open(const char *path, const VdevOps *ops, void *ctx, VdevServer **out, char *err, size_t errlen);
/* A record for the guest (already translated to its view): queued, and the
 * guest told as the host service tells its clients. Dropped when no guest
 * is connected (faults that happen while a client is not attached are
 * never shown to it). */
void vdev_server_fault(VdevServer *s, const struct smmu_status *rec);
/* Records that may have been the guest's were lost before it could get
 * them: the next record it reads carries SSF_DROPPED_FAULTS. */
void vdev_server_lost_records(VdevServer *s);
/* EV_DSS with the reason to the guest, waiting for its socket at most
 * VDEV_TELL_END_US. */
void vdev_server_tell_end(VdevServer *s, int code, const char *reason);
/* Hangs up, stops listening and removes the socket file. NULL is fine. */
void vdev_server_close(VdevServer *s);

/* A STATUS/OBJECTS reply's page: the whole lines of text from line `first`
 * on that fit one reply, and the number of lines in all. */
void vdev_page_text(const char *text, uint32_t first, SmmuMsg *r);

#endif
