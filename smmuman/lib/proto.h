/* The wire protocol between libsmmu and smmuman (docs/protocol.md).
 *
 * Unix SOCK_SEQPACKET: one message per packet. Every message starts with a
 * 16-byte header: size (of the whole message), version, operation, sequence
 * number, status. Fields are little-endian and encoded one by one (never a
 * struct copied raw), and a decoder checks every field and every length
 * before anything is used. Requests carry status 0; a reply repeats the
 * request's op and seq with status 0 or a negative errno. Events (EV_*) go
 * from the service to a client at any time, with seq 0. */
#ifndef SMMU_PROTO_H
#define SMMU_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../include/smmu.h"

#define SMMU_PROTO_VERSION 3 /* 2: STATUS/OBJECTS are paged by line; 3: a failed reply says why */
#define SMMU_MSG_HDR_SIZE  16
#define SMMU_MSG_MAX       65536 /* bytes, header included */
/* text of a STATUS/OBJECTS reply (after total, text_len) or an EV_DSS (after
 * code, text_len) */
#define SMMU_TEXT_MAX      (SMMU_MSG_MAX - SMMU_MSG_HDR_SIZE - 8)
/* why a request failed: the text of a failed reply */
#define SMMU_ERROR_TEXT_MAX 1024
/* entries that fit one MAPPING_ADD request (16 bytes each after 32 bytes of
 * fields: obj, flags, pid, target, n, pad) */
#define SMMU_MAP_MAX_ENTRIES ((SMMU_MSG_MAX - SMMU_MSG_HDR_SIZE - 32) / 16)
/* entries that fit one REPORT_RESERVED reply (after total, n) */
#define SMMU_RESERVED_MAX_ENTRIES ((SMMU_MSG_MAX - SMMU_MSG_HDR_SIZE - 8) / 16)

typedef enum {
    SMMU_OP_HELLO = 1,        /* req: client_version, flags      rep: server_version, flags (SMMU_HELLO_*) */
    SMMU_OP_OBJ_CREATE,       /* req: flags                      rep: obj */
    SMMU_OP_OBJ_DESTROY,      /* req: obj                        rep: - */
    SMMU_OP_DEVICE_ADD,       /* req: obj (0 = detach), devid    rep: result */
    SMMU_OP_REPORT_RESERVED,  /* req: devid, offset, max         rep: total, entries[] */
    SMMU_OP_MAPPING_ADD,      /* req: obj, flags, pid, target, entries[]   rep: - */
    SMMU_OP_XFER_NOTIFY,      /* req: -                          rep: pending */
    SMMU_OP_XFER_STATUS,      /* req: -                          rep: have, record */
    SMMU_OP_SAFETY,           /* req: -                          rep: result */
    SMMU_OP_STATUS,           /* req: offset (first line)        rep: total (lines), text (key=value lines) */
    SMMU_OP_OBJECTS,          /* req: offset (first line)        rep: total (lines), text (key=value lines) */
    SMMU_OP_LAST_REQUEST = SMMU_OP_OBJECTS,
    SMMU_EV_FAULT = 0x100,    /* event: pending (records queued for this client) */
    SMMU_EV_DSS,              /* event: code, text (reason); the service is going away */
} SmmuOp;

#define SMMU_HELLO_TARGET 0x1u /* server: this connection has the target ability */

typedef struct {
    uint32_t size;
    uint16_t version;
    uint16_t op;
    uint32_t seq;
    int32_t status;
} SmmuMsgHdr;

/* A decoded message: hdr plus the fields of its op (unused ones zero).
 * For decoded messages, entries/text point into this SmmuMsg's own storage. */
typedef struct {
    SmmuMsgHdr hdr;
    uint32_t flags;           /* HELLO, OBJ_CREATE, MAPPING_ADD */
    uint32_t client_version;  /* HELLO request; server_version in the reply */
    uint64_t obj;             /* OBJ_*, DEVICE_ADD, MAPPING_ADD */
    union smmu_devid devid;   /* DEVICE_ADD, REPORT_RESERVED */
    int32_t pid;              /* MAPPING_ADD */
    uint64_t target;          /* MAPPING_ADD */
    uint32_t offset, max;     /* REPORT_RESERVED request; offset: STATUS/OBJECTS requests too */
    uint32_t total;           /* REPORT_RESERVED reply; STATUS/OBJECTS replies: lines in the whole text */
    uint32_t n_entries;       /* MAPPING_ADD request, REPORT_RESERVED reply */
    const struct smmu_map_entry *entries; /* decoded: a copy owned by SmmuMsg's storage */
    int32_t result;           /* DEVICE_ADD, SAFETY replies; DSS event code */
    uint32_t pending;         /* XFER_NOTIFY reply, EV_FAULT */
    uint32_t have;            /* XFER_STATUS reply: 0 or 1 */
    struct smmu_status record;/* XFER_STATUS reply */
    const char *text;         /* STATUS/OBJECTS replies, EV_DSS, a failed reply (why): NUL-terminated, UTF-8 */
    uint32_t text_len;
    /* storage for decoded variable parts; a REPORT_RESERVED reply holds the
     * most entries (SMMU_RESERVED_MAX_ENTRIES > SMMU_MAP_MAX_ENTRIES) */
    struct smmu_map_entry entry_buf[SMMU_RESERVED_MAX_ENTRIES];
    char text_buf[SMMU_TEXT_MAX + 1];
} SmmuMsg;

/* Which body a (op, is_reply) pair carries is fixed by the table in
 * docs/protocol.md. */
bool smmu_op_is_request(uint16_t op);
bool smmu_op_is_event(uint16_t op);
const char *smmu_op_name(uint16_t op);

/* Encodes m (hdr.size is computed) into buf. is_reply selects the reply body
 * for request ops. Returns the size, or -EMSGSIZE / -EINVAL. */
int smmu_msg_encode(const SmmuMsg *m, bool is_reply, uint8_t *buf, size_t cap);
/* Decodes and validates one packet. Returns 0, or a negative errno with a
 * one-line message naming the field: -EPROTO (size, version, op, field
 * values, trailing bytes), -EMSGSIZE (too big). */
int smmu_msg_decode(const uint8_t *buf, size_t len, bool is_reply, SmmuMsg *m, char *err, size_t errlen);

#endif
