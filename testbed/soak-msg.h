/* smmu-soak's wire-protocol fuzzer: one message at a time, drawn from a
 * seeded stream, for a connection that knows its own objects. */
#ifndef TB_SOAK_MSG_H
#define TB_SOAK_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "soak.h"

/* Room for the largest message made: an oversized one, past SMMU_MSG_MAX. */
#define SOAK_MSG_CAP 70000

typedef struct {
    uint64_t ram_base, ram_size, pool_base, pool_size, stage_base;
    uint64_t victim_addr; /* the victim's buffer: other clients may name it too */
    bool target;          /* this connection came through the target socket */
    const uint64_t *objs; /* objects this connection holds (from its replies) */
    unsigned n_objs;
} SoakMsgCtx;

typedef enum {
    SOAK_MSG_VALID,     /* well-formed, random fields */
    SOAK_MSG_MUTATED,   /* well-formed, then one field or length broken */
    SOAK_MSG_RANDOM,    /* random bytes, 16 or more */
    SOAK_MSG_OVERSIZED, /* past SMMU_MSG_MAX */
    SOAK_MSG_FULL,      /* MAPPING_ADD of SMMU_MAP_MAX_ENTRIES: exactly SMMU_MSG_MAX */
    SOAK_MSG_SHORT,     /* shorter than a header: the service hangs up */
    SOAK_MSG_KINDS
} SoakMsgKind;

extern const char *const soak_msg_kind_name[SOAK_MSG_KINDS];

/* Writes one message with sequence number seq into buf (SOAK_MSG_CAP
 * bytes) and returns its length. */
size_t soak_msg_gen(SoakRng *r, const SoakMsgCtx *c, uint32_t seq, uint8_t *buf, SoakMsgKind *kind);

/* What the service must answer a packet with (docs/protocol.md): every
 * packet of 16 bytes or more gets one reply with the packet's seq, and the
 * packet's op if it is a request op (HELLO otherwise). */
uint32_t soak_msg_seq(const uint8_t *buf);
uint16_t soak_msg_reply_op(const uint8_t *buf);

#endif
