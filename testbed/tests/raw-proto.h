/* Test helper: the service's wire protocol without libsmmu, for the tests
 * that send what libsmmu never would (docs/protocol.md). */
#ifndef TB_TEST_RAW_PROTO_H
#define TB_TEST_RAW_PROTO_H

#include <stdint.h>

#include "../../smmuman/lib/proto.h"

/* A connected seqpacket socket to path (asserted). */
int raw_connect(const char *path);
/* A request of op with only its header set (HELLO: this protocol's
 * version), encoded into buf (SMMU_MSG_MAX bytes); its length. */
int encode_req(SmmuMsg *m, uint16_t op, uint32_t seq, uint8_t *buf);
/* encode_req, and the whole message sent. */
void raw_send(int fd, SmmuMsg *m, uint16_t op, uint32_t seq, uint8_t *buf);
/* The next message, decoded into m, waiting up to ms: 1, 0 when none
 * came, -1 when the peer hung up. */
int raw_recv(int fd, SmmuMsg *m, uint8_t *buf, int ms);

#endif
