/* libFuzzer target: the wire protocol decoder (smmuman/lib/proto.c), which
 * reads whatever any local process sends to the service's sockets. Every
 * input, read as a request and as a reply, must either be refused with -EPROTO
 * or -EMSGSIZE and a one-line message, or decode to a message that keeps the
 * documented limits and re-encodes to exactly the same bytes (the format is
 * canonical), which decode again to the same message. Run with
 * -max_len=65600 to reach the largest messages. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same_devid(const union smmu_devid *a, const union smmu_devid *b)
{
    return memcmp(a, b, sizeof *a) == 0; /* decoded unions are zero-filled */
}

static bool same(const SmmuMsg *a, const SmmuMsg *b)
{
    return a->hdr.size == b->hdr.size && a->hdr.version == b->hdr.version &&
           a->hdr.op == b->hdr.op && a->hdr.seq == b->hdr.seq && a->hdr.status == b->hdr.status &&
           a->flags == b->flags && a->client_version == b->client_version && a->obj == b->obj &&
           same_devid(&a->devid, &b->devid) && a->pid == b->pid && a->target == b->target &&
           a->offset == b->offset && a->max == b->max && a->total == b->total &&
           a->n_entries == b->n_entries &&
           (a->n_entries == 0 ||
            memcmp(a->entries, b->entries, a->n_entries * sizeof *a->entries) == 0) &&
           a->result == b->result && a->pending == b->pending && a->have == b->have &&
           a->record.hw_specific == b->record.hw_specific &&
           a->record.fault_addr == b->record.fault_addr &&
           same_devid(&a->record.devid, &b->record.devid) && a->record.flags == b->record.flags &&
           a->text_len == b->text_len && (a->text == NULL) == (b->text == NULL) &&
           (a->text == NULL || memcmp(a->text, b->text, a->text_len + 1) == 0);
}

/* What a decoded message promises its user. */
static void check_decoded(const SmmuMsg *m, size_t size)
{
    if (m->hdr.size != size || size > SMMU_MSG_MAX || m->hdr.version != SMMU_PROTO_VERSION)
        abort();
    if (m->hdr.status > 0 || m->hdr.status < -4095)
        abort();
    if (m->n_entries > SMMU_RESERVED_MAX_ENTRIES || (m->n_entries && m->entries != m->entry_buf))
        abort();
    if (m->hdr.op == SMMU_OP_MAPPING_ADD && m->n_entries) {
        if (m->n_entries > SMMU_MAP_MAX_ENTRIES || (m->flags & SMF_VIRT))
            abort();
        for (uint32_t i = 0; i < m->n_entries; i++)
            if (m->entries[i].len == 0 || m->entries[i].phys + m->entries[i].len < m->entries[i].phys)
                abort();
    }
    if (m->text) {
        if (m->text != m->text_buf || m->text_len > SMMU_TEXT_MAX || m->text[m->text_len] != '\0' ||
            strlen(m->text) != m->text_len)
            abort();
    } else if (m->text_len) {
        abort();
    }
    if (m->have > 1)
        abort();
    if (smmu_op_is_event(m->hdr.op) && (m->hdr.seq || m->hdr.status))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* ~130 KiB each: not on the stack */
    static SmmuMsg m1, m2;
    static uint8_t out[SMMU_MSG_MAX];
    /* a private copy of exactly size bytes, so ASan sees any over-read */
    uint8_t *in = malloc(size ? size : 1);
    if (!in)
        return 0;
    if (size)
        memcpy(in, data, size);

    for (int dir = 0; dir < 2; dir++) {
        bool is_reply = dir == 1;
        char err[256];
        memset(err, 'x', sizeof err);
        int rc = smmu_msg_decode(in, size, is_reply, &m1, err, sizeof err);
        if (rc != 0) {
            if (rc != -EPROTO && rc != -EMSGSIZE)
                abort();
            if ((rc == -EMSGSIZE) != (size > SMMU_MSG_MAX))
                abort();
            /* every refusal says why, on one line */
            if (!memchr(err, '\0', sizeof err) || err[0] == '\0' || strchr(err, '\n'))
                abort();
            continue;
        }
        if (err[0] != '\0')
            abort();
        if (!is_reply && !smmu_op_is_request(m1.hdr.op))
            abort();
        check_decoded(&m1, size);

        int n = smmu_msg_encode(&m1, is_reply, out, sizeof out);
        if (n < 0 || (size_t)n != size || memcmp(out, in, size) != 0)
            abort();
        if (smmu_msg_decode(out, (size_t)n, is_reply, &m2, err, sizeof err) != 0)
            abort();
        if (!same(&m1, &m2))
            abort();
        /* one byte less room never fits */
        if (smmu_msg_encode(&m1, is_reply, out, size - 1) != -EMSGSIZE)
            abort();
    }
    free(in);
    return 0;
}
