#include "raw-proto.h"

#include <check.h>
#include <glib.h>
#include <poll.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

int raw_connect(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    g_strlcpy(sa.sun_path, path, sizeof sa.sun_path);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    return fd;
}

int encode_req(SmmuMsg *m, uint16_t op, uint32_t seq, uint8_t *buf)
{
    memset(m, 0, offsetof(SmmuMsg, entry_buf));
    m->hdr.op = op;
    m->hdr.seq = seq;
    if (op == SMMU_OP_HELLO) m->client_version = SMMU_PROTO_VERSION;
    int n = smmu_msg_encode(m, false, buf, SMMU_MSG_MAX);
    ck_assert_int_gt(n, 0);
    return n;
}

void raw_send(int fd, SmmuMsg *m, uint16_t op, uint32_t seq, uint8_t *buf)
{
    int n = encode_req(m, op, seq, buf);
    ck_assert_int_eq(send(fd, buf, (size_t)n, MSG_NOSIGNAL), n);
}

int raw_recv(int fd, SmmuMsg *m, uint8_t *buf, int ms)
{
    struct pollfd pf = { .fd = fd, .events = POLLIN };
    if (poll(&pf, 1, ms) <= 0) return 0;
    ssize_t n = recv(fd, buf, SMMU_MSG_MAX, 0);
    if (n <= 0) return -1;
    char err[200];
    ck_assert_msg(smmu_msg_decode(buf, (size_t)n, true, m, err, sizeof err) == 0, "%s", err);
    return 1;
}
