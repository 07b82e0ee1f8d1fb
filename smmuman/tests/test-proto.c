/* Unit tests of the wire protocol (smmuman/lib/proto.c, docs/protocol.md).
 *
 * Invalid packets are built byte by byte with a little writer of our own
 * rather than by the encoder under test, so that a bug shared by encoder and
 * decoder cannot hide itself, and a few encodings are pinned against
 * hand-written bytes. SmmuMsg is ~130 KiB: always on the heap. */
#include <check.h>

#include "check-run.h"
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/proto.h"

/* ---- helpers ---- */

static SmmuMsg *msg_new(void)
{
    SmmuMsg *m = calloc(1, sizeof *m);
    ck_assert(m);
    return m;
}

static uint8_t *buf_new(void)
{
    /* room for an oversized packet too */
    uint8_t *b = calloc(1, SMMU_MSG_MAX + 64);
    ck_assert(b);
    return b;
}

/* A packet under construction, written independently of the encoder. */
typedef struct {
    uint8_t b[SMMU_MSG_MAX + 64];
    size_t n;
} Bytes;

static Bytes *bytes_new(void)
{
    Bytes *x = calloc(1, sizeof *x);
    ck_assert(x);
    return x;
}

static void b_u8(Bytes *x, uint8_t v)
{
    ck_assert(x->n < sizeof x->b);
    x->b[x->n++] = v;
}

static void b_u16(Bytes *x, uint16_t v)
{
    for (int i = 0; i < 2; i++)
        b_u8(x, (uint8_t)(v >> (8 * i)));
}

static void b_u32(Bytes *x, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        b_u8(x, (uint8_t)(v >> (8 * i)));
}

static void b_u64(Bytes *x, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        b_u8(x, (uint8_t)(v >> (8 * i)));
}

static void b_zero(Bytes *x, size_t n)
{
    while (n--)
        b_u8(x, 0);
}

static void b_mem(Bytes *x, const void *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        b_u8(x, ((const uint8_t *)p)[i]);
}

static void b_hdr(Bytes *x, uint16_t op, uint32_t seq, int32_t status)
{
    x->n = 0;
    b_u32(x, 0); /* patched by b_fin */
    b_u16(x, SMMU_PROTO_VERSION);
    b_u16(x, op);
    b_u32(x, seq);
    b_u32(x, (uint32_t)status);
}

static void b_pci(Bytes *x, uint32_t bus, uint32_t dev, uint32_t func)
{
    b_u32(x, SDT_PCI);
    b_u32(x, bus);
    b_u32(x, dev);
    b_u32(x, func);
    b_zero(x, 16);
}

static void b_mmio(Bytes *x, uint32_t length, uint64_t phys)
{
    b_u32(x, SDT_MMIO);
    b_u32(x, length);
    b_u64(x, phys);
    b_zero(x, 16);
}

static void b_set32(Bytes *x, size_t off, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        x->b[off + i] = (uint8_t)(v >> (8 * i));
}

/* Writes the size field; returns the length. */
static size_t b_fin(Bytes *x)
{
    b_set32(x, 0, (uint32_t)x->n);
    return x->n;
}

static void set_pci(union smmu_devid *d, unsigned bus, unsigned dev, unsigned func)
{
    memset(d, 0, sizeof *d);
    d->pci.type = SDT_PCI;
    d->pci.bus = bus;
    d->pci.dev = dev;
    d->pci.func = func;
}

static void set_mmio(union smmu_devid *d, unsigned length, uint64_t phys)
{
    memset(d, 0, sizeof *d);
    d->mmio.type = SDT_MMIO;
    d->mmio.length = length;
    d->mmio.phys = phys;
}

static void set_hdr(SmmuMsg *m, uint16_t op, uint32_t seq, int32_t status)
{
    m->hdr.op = op;
    m->hdr.seq = seq;
    m->hdr.status = status;
}

/* Decoding must fail with rc, and the one-line message contain want. */
static void expect_reject(const uint8_t *b, size_t len, bool is_reply, int rc, const char *want)
{
    SmmuMsg *m = msg_new();
    char err[256];
    memset(err, 'x', sizeof err);
    int got = smmu_msg_decode(b, len, is_reply, m, err, sizeof err);
    ck_assert_msg(got == rc, "decode: rc %d, want %d; message '%s' (expected '%s')", got, rc,
                  got ? err : "", want);
    ck_assert_msg(strstr(err, want), "message '%s' does not contain '%s'", err, want);
    ck_assert_msg(!strchr(err, '\n'), "message '%s' is not one line", err);
    free(m);
}

static void expect_reject_bytes(Bytes *x, bool is_reply, const char *want)
{
    expect_reject(x->b, b_fin(x), is_reply, -EPROTO, want);
}

/* The message must be refused by the encoder. */
static void expect_encode_fails(const SmmuMsg *m, bool is_reply, int rc)
{
    uint8_t *b = buf_new();
    /* more room than a message may take: the limit is SMMU_MSG_MAX, not cap */
    int got = smmu_msg_encode(m, is_reply, b, SMMU_MSG_MAX + 64);
    ck_assert_msg(got == rc, "%s: encode: %d, want %d", smmu_op_name(m->hdr.op), got, rc);
    free(b);
}

static void assert_same(const SmmuMsg *a, const SmmuMsg *b)
{
    ck_assert_uint_eq(a->hdr.op, b->hdr.op);
    ck_assert_uint_eq(a->hdr.seq, b->hdr.seq);
    ck_assert_int_eq(a->hdr.status, b->hdr.status);
    ck_assert_uint_eq(a->flags, b->flags);
    ck_assert_uint_eq(a->client_version, b->client_version);
    ck_assert_uint_eq(a->obj, b->obj);
    ck_assert_mem_eq(&a->devid, &b->devid, sizeof a->devid);
    ck_assert_int_eq(a->pid, b->pid);
    ck_assert_uint_eq(a->target, b->target);
    ck_assert_uint_eq(a->offset, b->offset);
    ck_assert_uint_eq(a->max, b->max);
    ck_assert_uint_eq(a->total, b->total);
    ck_assert_uint_eq(a->n_entries, b->n_entries);
    if (a->n_entries)
        ck_assert(memcmp(a->entries, b->entries, a->n_entries * sizeof *a->entries) == 0);
    ck_assert_int_eq(a->result, b->result);
    ck_assert_uint_eq(a->pending, b->pending);
    ck_assert_uint_eq(a->have, b->have);
    ck_assert_uint_eq(a->record.hw_specific, b->record.hw_specific);
    ck_assert_uint_eq(a->record.fault_addr, b->record.fault_addr);
    ck_assert_mem_eq(&a->record.devid, &b->record.devid, sizeof a->record.devid);
    ck_assert_uint_eq(a->record.flags, b->record.flags);
    ck_assert_uint_eq(a->text_len, b->text_len);
    if (a->text_len)
        ck_assert(memcmp(a->text, b->text, a->text_len) == 0);
}

/* Encodes, decodes, compares, and requires the decoded message to re-encode
 * to the same bytes. Returns the size. */
static int roundtrip(const SmmuMsg *in, bool is_reply)
{
    uint8_t *b1 = buf_new(), *b2 = buf_new();
    SmmuMsg *out = msg_new();
    char err[256] = "untouched";
    const char *name = smmu_op_name(in->hdr.op);

    int n = smmu_msg_encode(in, is_reply, b1, SMMU_MSG_MAX);
    ck_assert_msg(n >= SMMU_MSG_HDR_SIZE, "%s: encode: %d", name, n);
    int rc = smmu_msg_decode(b1, (size_t)n, is_reply, out, err, sizeof err);
    ck_assert_msg(rc == 0, "%s: decode: %d: %s", name, rc, err);
    ck_assert_str_eq(err, "");
    ck_assert_uint_eq(out->hdr.size, (unsigned)n);
    ck_assert_uint_eq(out->hdr.version, SMMU_PROTO_VERSION);
    assert_same(in, out);
    if (out->n_entries)
        ck_assert_ptr_eq(out->entries, out->entry_buf);
    if (out->text) {
        ck_assert_ptr_eq(out->text, out->text_buf);
        ck_assert_int_eq(out->text[out->text_len], '\0');
    }
    int n2 = smmu_msg_encode(out, is_reply, b2, SMMU_MSG_MAX);
    ck_assert_int_eq(n2, n);
    ck_assert(memcmp(b1, b2, (size_t)n) == 0);
    free(out);
    free(b1);
    free(b2);
    return n;
}

/* ---- op table ---- */

START_TEST(op_names)
{
    ck_assert_str_eq(smmu_op_name(SMMU_OP_HELLO), "HELLO");
    ck_assert_str_eq(smmu_op_name(SMMU_OP_MAPPING_ADD), "MAPPING_ADD");
    ck_assert_str_eq(smmu_op_name(SMMU_OP_OBJECTS), "OBJECTS");
    ck_assert_str_eq(smmu_op_name(SMMU_EV_FAULT), "EV_FAULT");
    ck_assert_str_eq(smmu_op_name(SMMU_EV_DSS), "EV_DSS");
    ck_assert_str_eq(smmu_op_name(0), "UNKNOWN");
    ck_assert_str_eq(smmu_op_name(0x102), "UNKNOWN");
    for (unsigned op = SMMU_OP_HELLO; op <= SMMU_OP_LAST_REQUEST; op++) {
        ck_assert(smmu_op_is_request((uint16_t)op));
        ck_assert(!smmu_op_is_event((uint16_t)op));
        ck_assert_str_ne(smmu_op_name((uint16_t)op), "UNKNOWN");
    }
    const uint16_t neither[] = { 0, SMMU_OP_LAST_REQUEST + 1, 0xff, 0x102, 0xffff };
    for (size_t i = 0; i < sizeof neither / sizeof *neither; i++) {
        ck_assert(!smmu_op_is_request(neither[i]));
        ck_assert(!smmu_op_is_event(neither[i]));
    }
    ck_assert(smmu_op_is_event(SMMU_EV_FAULT) && smmu_op_is_event(SMMU_EV_DSS));
    ck_assert(!smmu_op_is_request(SMMU_EV_FAULT) && !smmu_op_is_request(SMMU_EV_DSS));
    /* the limits the format is built around */
    ck_assert_int_eq(SMMU_MAP_MAX_ENTRIES, 4093);
    ck_assert_int_eq(SMMU_RESERVED_MAX_ENTRIES, 4094);
    ck_assert_int_eq(SMMU_TEXT_MAX, 65512);
    ck_assert_uint_ge(sizeof ((SmmuMsg *)0)->entry_buf / sizeof(struct smmu_map_entry),
                      SMMU_RESERVED_MAX_ENTRIES);
}
END_TEST

/* ---- round trips, every op, both directions ---- */

START_TEST(rt_hello)
{
    SmmuMsg *m = msg_new();
    set_hdr(m, SMMU_OP_HELLO, 0xdeadbeef, 0);
    m->client_version = 1;
    m->flags = 0xa5a55a5a;
    ck_assert_int_eq(roundtrip(m, false), 24);
    m->client_version = 0xfffffffe;
    m->flags = SMMU_HELLO_TARGET;
    ck_assert_int_eq(roundtrip(m, true), 24);
    free(m);
}
END_TEST

START_TEST(rt_obj)
{
    SmmuMsg *m = msg_new();
    set_hdr(m, SMMU_OP_OBJ_CREATE, 1, 0);
    m->flags = SOCF_RESERVED_MANUAL;
    ck_assert_int_eq(roundtrip(m, false), 20);
    m->flags = 0;
    ck_assert_int_eq(roundtrip(m, false), 20);
    m->obj = 0x0123456789abcdefull;
    ck_assert_int_eq(roundtrip(m, true), 24);

    memset(m, 0, offsetof(SmmuMsg, entry_buf));
    set_hdr(m, SMMU_OP_OBJ_DESTROY, 0xffffffff, 0);
    m->obj = 0xfedcba9876543210ull;
    ck_assert_int_eq(roundtrip(m, false), 24);
    m->obj = 0;
    ck_assert_int_eq(roundtrip(m, true), 16);
    free(m);
}
END_TEST

START_TEST(rt_device_add)
{
    SmmuMsg *m = msg_new();
    set_hdr(m, SMMU_OP_DEVICE_ADD, 77, 0);
    m->obj = 42;
    set_pci(&m->devid, 0x12, 0x1f, 7);
    ck_assert_int_eq(roundtrip(m, false), 56);
    set_pci(&m->devid, SMMU_PCI_FIELD_ANY, SMMU_PCI_FIELD_ANY, SMMU_PCI_FIELD_ANY);
    ck_assert_int_eq(roundtrip(m, false), 56);
    m->obj = 0; /* detach */
    set_mmio(&m->devid, 0xfffff000u, 0xfee0000000001000ull);
    ck_assert_int_eq(roundtrip(m, false), 56);

    memset(m, 0, offsetof(SmmuMsg, entry_buf));
    set_hdr(m, SMMU_OP_DEVICE_ADD, 77, 0);
    m->result = -1;
    ck_assert_int_eq(roundtrip(m, true), 20);
    m->result = 0x7fffffff;
    ck_assert_int_eq(roundtrip(m, true), 20);
    free(m);
}
END_TEST

START_TEST(rt_report_reserved)
{
    SmmuMsg *m = msg_new();
    set_hdr(m, SMMU_OP_REPORT_RESERVED, 9, 0);
    set_mmio(&m->devid, 0x1000, 0x9000000);
    m->offset = 3;
    m->max = SMMU_RESERVED_MAX_ENTRIES;
    ck_assert_int_eq(roundtrip(m, false), 56);
    m->max = 0;
    m->offset = 0xffffffff;
    set_pci(&m->devid, 0, 3, 0);
    ck_assert_int_eq(roundtrip(m, false), 56);

    static struct smmu_map_entry v[SMMU_RESERVED_MAX_ENTRIES];
    for (unsigned i = 0; i < SMMU_RESERVED_MAX_ENTRIES; i++) {
        v[i].phys = 0x100000000ull * i + 0xfee00000u;
        v[i].len = i + 1;
    }
    memset(m, 0, offsetof(SmmuMsg, entry_buf));
    set_hdr(m, SMMU_OP_REPORT_RESERVED, 9, 0);
    m->total = 5000;
    m->n_entries = SMMU_RESERVED_MAX_ENTRIES;
    m->entries = v;
    ck_assert_int_eq(roundtrip(m, true), 16 + 8 + 16 * SMMU_RESERVED_MAX_ENTRIES);
    m->n_entries = 0;
    m->entries = NULL;
    m->total = 2;
    ck_assert_int_eq(roundtrip(m, true), 24);
    free(m);
}
END_TEST

START_TEST(rt_mapping_add)
{
    static struct smmu_map_entry v[SMMU_MAP_MAX_ENTRIES];
    for (unsigned i = 0; i < SMMU_MAP_MAX_ENTRIES; i++) {
        v[i].phys = 0x80000000ull + 0x1000ull * i;
        v[i].len = 0x1000ull * (i % 7 + 1);
    }
    SmmuMsg *m = msg_new();
    set_hdr(m, SMMU_OP_MAPPING_ADD, 0x55aa55aa, 0);
    m->obj = 0x8000000000000001ull;
    m->flags = SMF_READ | SMF_WRITE | SMF_EXEC | SMF_TARGET;
    m->pid = -12345;
    m->target = 0xffffffffffff0000ull;
    m->n_entries = SMMU_MAP_MAX_ENTRIES;
    m->entries = v;
    /* the largest request fills a message exactly */
    ck_assert_int_eq(roundtrip(m, false), SMMU_MSG_MAX);

    struct smmu_map_entry edge[2] = { { .phys = UINT64_MAX - 1, .len = 1 },
                                      { .phys = 0, .len = UINT64_MAX } };
    m->flags = SMF_NONE;
    m->pid = 0;
    m->target = 0;
    m->n_entries = 2;
    m->entries = edge;
    ck_assert_int_eq(roundtrip(m, false), 16 + 32 + 32);

    memset(m, 0, offsetof(SmmuMsg, entry_buf));
    set_hdr(m, SMMU_OP_MAPPING_ADD, 0x55aa55aa, 0);
    ck_assert_int_eq(roundtrip(m, true), 16);
    free(m);
}
END_TEST

START_TEST(rt_xfer)
{
    SmmuMsg *m = msg_new();
    set_hdr(m, SMMU_OP_XFER_NOTIFY, 3, 0);
    ck_assert_int_eq(roundtrip(m, false), 16);
    m->pending = 0xffffffff;
    ck_assert_int_eq(roundtrip(m, true), 20);

    memset(m, 0, offsetof(SmmuMsg, entry_buf));
    set_hdr(m, SMMU_OP_XFER_STATUS, 4, 0);
    ck_assert_int_eq(roundtrip(m, false), 16);
    ck_assert_int_eq(roundtrip(m, true), 80); /* have == 0: a zero record */
    m->have = 1;
    m->record.hw_specific = 0x0000000600000005ull;
    m->record.fault_addr = 0xdeadbeef000ull;
    set_pci(&m->record.devid, 0, 2, 0);
    m->record.flags = SSF_DROPPED_FAULTS | SSF_WRITE;
    ck_assert_int_eq(roundtrip(m, true), 80);
    set_mmio(&m->record.devid, 0x200, 0x10000000);
    m->record.flags = 0xffffffff;
    ck_assert_int_eq(roundtrip(m, true), 80);
    free(m);
}
END_TEST

START_TEST(rt_safety)
{
    SmmuMsg *m = msg_new();
    set_hdr(m, SMMU_OP_SAFETY, 5, 0);
    ck_assert_int_eq(roundtrip(m, false), 16);
    const int32_t results[] = { SMMUMAN_SAFETY_ERROR, SMMUMAN_SAFETY_NO, SMMUMAN_SAFETY_YES };
    for (int i = 0; i < 3; i++) {
        m->result = results[i];
        ck_assert_int_eq(roundtrip(m, true), 20);
    }
    free(m);
}
END_TEST

START_TEST(rt_text)
{
    static char big[SMMU_TEXT_MAX];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)(i % 61 == 60 ? '\n' : 0x20 + (i * 7) % 95);
    big[100] = (char)0xc3; /* not checked as UTF-8, any byte but NUL goes */
    big[101] = (char)0xff;
    const uint16_t ops[] = { SMMU_OP_STATUS, SMMU_OP_OBJECTS };
    SmmuMsg *m = msg_new();
    for (int k = 0; k < 2; k++) {
        memset(m, 0, offsetof(SmmuMsg, entry_buf));
        set_hdr(m, ops[k], 100 + (uint32_t)k, 0);
        m->offset = 0xfffffff0u; /* the first line wanted: any value */
        ck_assert_int_eq(roundtrip(m, false), 20);
        m->offset = 0;
        m->total = 2;
        m->text = "state=running\nfaults=0\n";
        m->text_len = (uint32_t)strlen(m->text);
        ck_assert_int_eq(roundtrip(m, true), 24 + (int)m->text_len);
        m->text = NULL;
        m->text_len = 0;
        ck_assert_int_eq(roundtrip(m, true), 24);
        m->text = big;
        m->text_len = SMMU_TEXT_MAX;
        ck_assert_int_eq(roundtrip(m, true), SMMU_MSG_MAX);
    }
    free(m);
}
END_TEST

START_TEST(rt_events)
{
    SmmuMsg *m = msg_new();
    set_hdr(m, SMMU_EV_FAULT, 0, 0);
    m->pending = 17;
    ck_assert_int_eq(roundtrip(m, true), 20);

    static char reason[SMMU_TEXT_MAX];
    memset(reason, 'r', sizeof reason);
    memset(m, 0, offsetof(SmmuMsg, entry_buf));
    set_hdr(m, SMMU_EV_DSS, 0, 0);
    m->result = -EIO;
    m->text = "hardware unit 0 stopped answering";
    m->text_len = (uint32_t)strlen(m->text);
    ck_assert_int_eq(roundtrip(m, true), 24 + (int)m->text_len);
    m->text = reason;
    m->text_len = SMMU_TEXT_MAX; /* code and text_len, as a text reply's total and text_len */
    ck_assert_int_eq(roundtrip(m, true), SMMU_MSG_MAX);
    m->text_len = SMMU_TEXT_MAX + 1; /* over the limit: a bad field, not a size problem */
    expect_encode_fails(m, true, -EINVAL);
    free(m);
}
END_TEST

START_TEST(rt_error_replies)
{
    SmmuMsg *m = msg_new();
    const int32_t st[] = { -1, -ENOENT, -EPERM, -4095 };
    for (unsigned op = SMMU_OP_HELLO; op <= SMMU_OP_LAST_REQUEST; op++)
        for (int i = 0; i < 4; i++) {
            memset(m, 0, offsetof(SmmuMsg, entry_buf));
            set_hdr(m, (uint16_t)op, op * 1000 + (uint32_t)i, st[i]);
            ck_assert_int_eq(roundtrip(m, true), 20); /* why: empty */
            m->text = "object 7 is not this client's";
            m->text_len = (uint32_t)strlen(m->text);
            ck_assert_int_eq(roundtrip(m, true), 20 + (int)m->text_len);
        }
    /* fields of the op are ignored, not sent, when the reply failed */
    memset(m, 0, offsetof(SmmuMsg, entry_buf));
    set_hdr(m, SMMU_OP_OBJ_CREATE, 1, -ENOMEM);
    m->obj = 5;
    uint8_t b[64];
    ck_assert_int_eq(smmu_msg_encode(m, true, b, sizeof b), 20);
    /* the text has a limit of its own */
    static char longer[SMMU_ERROR_TEXT_MAX + 1];
    memset(longer, 'x', sizeof longer);
    m->text = longer;
    m->text_len = SMMU_ERROR_TEXT_MAX + 1;
    expect_encode_fails(m, true, -EINVAL);
    m->text_len = SMMU_ERROR_TEXT_MAX;
    m->obj = 0;
    ck_assert_int_eq(roundtrip(m, true), 20 + SMMU_ERROR_TEXT_MAX);
    free(m);
}
END_TEST

/* ---- pinned encodings ---- */

static void expect_encoding(const SmmuMsg *m, bool is_reply, const uint8_t *want, size_t n)
{
    uint8_t *b = buf_new();
    int got = smmu_msg_encode(m, is_reply, b, SMMU_MSG_MAX);
    ck_assert_int_eq(got, (int)n);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(b[i] == want[i], "%s: byte %zu is 0x%02x, want 0x%02x",
                      smmu_op_name(m->hdr.op), i, b[i], want[i]);
    /* and the same bytes decode to the same message */
    SmmuMsg *d = msg_new();
    char err[200];
    ck_assert_msg(smmu_msg_decode(want, n, is_reply, d, err, sizeof err) == 0, "%s", err);
    assert_same(m, d);
    free(d);
    free(b);
}

START_TEST(pinned_hello)
{
    static const uint8_t want[] = {
        0x18, 0x00, 0x00, 0x00, /* size 24 */
        0x03, 0x00,             /* version 3 */
        0x01, 0x00,             /* op HELLO */
        0x04, 0x03, 0x02, 0x01, /* seq */
        0x00, 0x00, 0x00, 0x00, /* status */
        0x01, 0x00, 0x00, 0x00, /* client_version */
        0x00, 0x00, 0x00, 0x80, /* flags */
    };
    SmmuMsg *m = msg_new();
    set_hdr(m, SMMU_OP_HELLO, 0x01020304, 0);
    m->hdr.version = 99; /* ignored: the encoder writes its own */
    m->hdr.size = 3;     /* ignored: computed */
    m->client_version = 1;
    m->flags = 0x80000000;
    expect_encoding(m, false, want, sizeof want);
    free(m);
}
END_TEST

START_TEST(pinned_mapping_add)
{
    static const uint8_t want[] = {
        0x50, 0x00, 0x00, 0x00, 0x03, 0x00, 0x06, 0x00, /* size 80, v3, MAPPING_ADD */
        0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* seq 7, status 0 */
        0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, /* obj */
        0x13, 0x00, 0x00, 0x00,                         /* flags R|W|TARGET */
        0xe8, 0x03, 0x00, 0x00,                         /* pid 1000 */
        0x00, 0x00, 0x40, 0x00, 0x01, 0x00, 0x00, 0x00, /* target 0x100400000 */
        0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* n 2, pad */
        0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, /* [0].phys 0x80000000 */
        0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* [0].len 0x1000 */
        0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, /* [1].phys 0x100000000 */
        0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* [1].len 0x2000 */
    };
    const struct smmu_map_entry v[2] = { { .phys = 0x80000000, .len = 0x1000 },
                                         { .phys = 0x100000000ull, .len = 0x2000 } };
    SmmuMsg *m = msg_new();
    set_hdr(m, SMMU_OP_MAPPING_ADD, 7, 0);
    m->obj = 0x1122334455667788ull;
    m->flags = SMF_READ | SMF_WRITE | SMF_TARGET;
    m->pid = 1000;
    m->target = 0x100400000ull;
    m->n_entries = 2;
    m->entries = v;
    expect_encoding(m, false, want, sizeof want);
    free(m);
}
END_TEST

START_TEST(pinned_device_add)
{
    static const uint8_t want[] = {
        0x38, 0x00, 0x00, 0x00, 0x03, 0x00, 0x04, 0x00, /* size 56, v3, DEVICE_ADD */
        0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, /* seq, status */
        0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* obj 5 */
        0x01, 0x00, 0x00, 0x00,                         /* type SDT_MMIO */
        0x00, 0x10, 0x00, 0x00,                         /* length 0x1000 */
        0x00, 0x00, 0xd9, 0xfe, 0x00, 0x00, 0x00, 0x00, /* phys 0xfed90000 */
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* pad */
    };
    SmmuMsg *m = msg_new();
    set_hdr(m, SMMU_OP_DEVICE_ADD, 0xffffffff, 0);
    m->obj = 5;
    set_mmio(&m->devid, 0x1000, 0xfed90000u);
    expect_encoding(m, false, want, sizeof want);
    free(m);
}
END_TEST

START_TEST(pinned_xfer_status)
{
    static const uint8_t want[] = {
        0x50, 0x00, 0x00, 0x00, 0x03, 0x00, 0x08, 0x00, /* size 80, v3, XFER_STATUS */
        0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* seq 2, status 0 */
        0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* have 1, pad */
        0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* hw_specific 5 */
        0x00, 0xf0, 0xde, 0xbc, 0x0a, 0x00, 0x00, 0x00, /* fault_addr 0xabcdef000 */
        0x00, 0x00, 0x00, 0x00,                         /* devid.type SDT_PCI */
        0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, /* bus 1, dev 2 */
        0x03, 0x00, 0x00, 0x00,                         /* func 3 */
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* devid pad */
        0x02, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, /* flags, pad */
    };
    SmmuMsg *m = msg_new();
    set_hdr(m, SMMU_OP_XFER_STATUS, 2, 0);
    m->have = 1;
    m->record.hw_specific = 5;
    m->record.fault_addr = 0xabcdef000ull;
    set_pci(&m->record.devid, 1, 2, 3);
    m->record.flags = SSF_DROPPED_FAULTS | SSF_WRITE;
    expect_encoding(m, true, want, sizeof want);
    free(m);
}
END_TEST

START_TEST(pinned_error_and_event)
{
    static const uint8_t err_reply[] = {
        0x16, 0x00, 0x00, 0x00, 0x03, 0x00, 0x03, 0x00, /* size 22, v3, OBJ_DESTROY */
        0x2a, 0x00, 0x00, 0x00, 0xfe, 0xff, 0xff, 0xff, /* seq 42, status -ENOENT */
        0x02, 0x00, 0x00, 0x00, 'n', 'o',               /* why */
    };
    SmmuMsg *m = msg_new();
    set_hdr(m, SMMU_OP_OBJ_DESTROY, 42, -ENOENT);
    m->text = "no";
    m->text_len = 2;
    expect_encoding(m, true, err_reply, sizeof err_reply);

    static const uint8_t dss[] = {
        0x1b, 0x00, 0x00, 0x00, 0x03, 0x00, 0x01, 0x01, /* size 27, v3, EV_DSS */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* seq 0, status 0 */
        0xfb, 0xff, 0xff, 0xff,                         /* code -EIO */
        0x03, 0x00, 0x00, 0x00, 'b', 'y', 'e',          /* text */
    };
    memset(m, 0, offsetof(SmmuMsg, entry_buf));
    set_hdr(m, SMMU_EV_DSS, 0, 0);
    m->result = -EIO;
    m->text = "bye";
    m->text_len = 3;
    expect_encoding(m, true, dss, sizeof dss);

    static const uint8_t text[] = {
        0x1a, 0x00, 0x00, 0x00, 0x03, 0x00, 0x0a, 0x00, /* size 26, v3, STATUS */
        0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* seq 9 */
        0x07, 0x00, 0x00, 0x00,                         /* total 7 lines */
        0x02, 0x00, 0x00, 0x00, 'a', '\n',              /* text */
    };
    memset(m, 0, offsetof(SmmuMsg, entry_buf));
    set_hdr(m, SMMU_OP_STATUS, 9, 0);
    m->total = 7;
    m->text = "a\n";
    m->text_len = 2;
    expect_encoding(m, true, text, sizeof text);
    free(m);
}
END_TEST

/* ---- truncation ---- */

/* Every proper prefix is refused: first as a packet shorter than its size
 * field says, then with the size field made to agree, which must name the
 * body field that is cut. */
static void check_prefixes(const SmmuMsg *m, bool is_reply)
{
    uint8_t *full = buf_new(), *b = buf_new();
    const char *name = smmu_op_name(m->hdr.op);
    char want[64];
    int n = smmu_msg_encode(m, is_reply, full, SMMU_MSG_MAX);
    ck_assert_int_gt(n, SMMU_MSG_HDR_SIZE);
    snprintf(want, sizeof want, "%s: ", name);
    for (int len = 0; len < n; len++) {
        memcpy(b, full, (size_t)len);
        if (len < SMMU_MSG_HDR_SIZE) {
            expect_reject(b, (size_t)len, is_reply, -EPROTO, "header: truncated");
            continue;
        }
        expect_reject(b, (size_t)len, is_reply, -EPROTO, "header: size: ");
        b[0] = (uint8_t)len;
        b[1] = (uint8_t)(len >> 8);
        expect_reject(b, (size_t)len, is_reply, -EPROTO, want);
        expect_reject(b, (size_t)len, is_reply, -EPROTO, "truncated");
    }
    free(full);
    free(b);
}

START_TEST(truncated_every_length)
{
    struct smmu_map_entry v[3] = { { .phys = 0x1000, .len = 0x1000 }, { .phys = 0x5000, .len = 1 },
                                   { .phys = 0, .len = 0x10 } };
    SmmuMsg *m = msg_new();

    set_hdr(m, SMMU_OP_HELLO, 1, 0);
    m->client_version = 1;
    check_prefixes(m, false);

    memset(m, 0, offsetof(SmmuMsg, entry_buf));
    set_hdr(m, SMMU_OP_DEVICE_ADD, 1, 0);
    m->obj = 1;
    set_pci(&m->devid, 1, 2, 3);
    check_prefixes(m, false);
    set_mmio(&m->devid, 1, 2);
    check_prefixes(m, false);

    memset(m, 0, offsetof(SmmuMsg, entry_buf));
    set_hdr(m, SMMU_OP_MAPPING_ADD, 1, 0);
    m->obj = 1;
    m->n_entries = 3;
    m->entries = v;
    check_prefixes(m, false);

    memset(m, 0, offsetof(SmmuMsg, entry_buf));
    set_hdr(m, SMMU_OP_REPORT_RESERVED, 1, 0);
    m->total = 3;
    m->n_entries = 3;
    m->entries = v;
    check_prefixes(m, true);

    memset(m, 0, offsetof(SmmuMsg, entry_buf));
    set_hdr(m, SMMU_OP_XFER_STATUS, 1, 0);
    m->have = 1;
    set_mmio(&m->record.devid, 1, 2);
    check_prefixes(m, true);

    memset(m, 0, offsetof(SmmuMsg, entry_buf));
    set_hdr(m, SMMU_OP_OBJECTS, 1, 0);
    m->text = "obj=1 devices=2\n";
    m->text_len = (uint32_t)strlen(m->text);
    check_prefixes(m, true);

    memset(m, 0, offsetof(SmmuMsg, entry_buf));
    set_hdr(m, SMMU_EV_DSS, 0, 0);
    m->text = "gone";
    m->text_len = 4;
    check_prefixes(m, true);
    free(m);
}
END_TEST

START_TEST(truncated_names_field)
{
    Bytes *x = bytes_new();
    b_hdr(x, SMMU_OP_MAPPING_ADD, 1, 0);
    b_u64(x, 1);
    b_u32(x, SMF_READ);
    b_u32(x, 0);
    b_u64(x, 0);
    b_u32(x, 2);
    b_u32(x, 0);
    b_u64(x, 0x1000);
    b_u64(x, 0x1000);
    b_u64(x, 0x2000);
    expect_reject_bytes(x, false, "MAPPING_ADD: entries[1].len: truncated");
    x->n -= 4;
    expect_reject_bytes(x, false, "MAPPING_ADD: entries[1].phys: truncated");

    b_hdr(x, SMMU_OP_DEVICE_ADD, 1, 0);
    b_u64(x, 1);
    b_u32(x, SDT_MMIO);
    b_u32(x, 0x1000);
    b_u32(x, 0);
    expect_reject_bytes(x, false, "DEVICE_ADD: devid.phys: truncated");
    b_u32(x, 0);
    b_zero(x, 15);
    expect_reject_bytes(x, false, "DEVICE_ADD: devid.pad: truncated");

    b_hdr(x, SMMU_OP_STATUS, 1, 0);
    b_u32(x, 1);
    b_u32(x, 10);
    b_mem(x, "abc", 3);
    expect_reject_bytes(x, true, "STATUS: text: truncated");
    b_hdr(x, SMMU_OP_OBJECTS, 1, 0);
    b_u8(x, 0);
    expect_reject_bytes(x, false, "OBJECTS: offset: truncated");
    free(x);
}
END_TEST

/* ---- header rules ---- */

START_TEST(oversized)
{
    uint8_t *b = buf_new();
    SmmuMsg *m = msg_new();
    /* a STATUS reply one byte too long, consistent in itself */
    Bytes *x = bytes_new();
    b_hdr(x, SMMU_OP_STATUS, 1, 0);
    b_u32(x, 1);
    b_u32(x, SMMU_TEXT_MAX + 1);
    for (unsigned i = 0; i <= SMMU_TEXT_MAX; i++)
        b_u8(x, 'a');
    ck_assert_uint_eq(b_fin(x), SMMU_MSG_MAX + 1);
    expect_reject(x->b, x->n, true, -EMSGSIZE, "header: ");
    expect_reject(x->b, x->n, true, -EMSGSIZE, "SMMU_MSG_MAX");

    /* the encoder: no room, one byte short, exactly enough */
    set_hdr(m, SMMU_OP_HELLO, 1, 0);
    ck_assert_int_eq(smmu_msg_encode(m, false, NULL, 0), -EMSGSIZE);
    ck_assert_int_eq(smmu_msg_encode(m, false, b, 23), -EMSGSIZE);
    ck_assert_int_eq(smmu_msg_encode(m, false, b, 24), 24);
    ck_assert_int_eq(smmu_msg_encode(m, false, b, 15), -EMSGSIZE);
    /* text over the limit is a bad field, not a size problem */
    memset(m, 0, offsetof(SmmuMsg, entry_buf));
    set_hdr(m, SMMU_OP_STATUS, 1, 0);
    m->text = (const char *)x->b + 24;
    m->text_len = SMMU_TEXT_MAX + 1;
    expect_encode_fails(m, true, -EINVAL);
    m->text_len = SMMU_TEXT_MAX;
    ck_assert_int_eq(smmu_msg_encode(m, true, b, SMMU_MSG_MAX - 1), -EMSGSIZE);
    ck_assert_int_eq(smmu_msg_encode(m, true, b, SMMU_MSG_MAX), SMMU_MSG_MAX);
    free(x);
    free(m);
    free(b);
}
END_TEST

START_TEST(size_mismatch)
{
    Bytes *x = bytes_new();
    b_hdr(x, SMMU_OP_HELLO, 1, 0);
    b_u32(x, 1);
    b_u32(x, 0);
    size_t n = b_fin(x);
    const uint32_t sizes[] = { 0, 16, 23, 25, 0xffffffff };
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        b_set32(x, 0, sizes[i]);
        expect_reject(x->b, n, false, -EPROTO, "header: size: ");
    }
    /* a packet longer than its size field says: trailing garbage */
    b_set32(x, 0, (uint32_t)n);
    x->b[n] = 0;
    expect_reject(x->b, n + 1, false, -EPROTO, "header: size: 24, but the packet is 25 bytes");
    free(x);
}
END_TEST

START_TEST(garbage)
{
    uint8_t ff[64];
    memset(ff, 0xff, sizeof ff);
    expect_reject(ff, sizeof ff, false, -EPROTO, "header: size");
    expect_reject(ff, sizeof ff, true, -EPROTO, "header: size");
    expect_reject(NULL, 0, false, -EPROTO, "header: truncated");

    /* Random packets, half of them with a plausible header so that the body
     * parsers see them: refused with a message, or canonical. */
    uint8_t *b = buf_new(), *b2 = buf_new();
    SmmuMsg *m = msg_new();
    static const uint16_t ops[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x100, 0x101 };
    uint64_t s = 0x9e3779b97f4a7c15ull;
    int accepted = 0;
    for (int iter = 0; iter < 20000; iter++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        bool plausible = iter & 1, is_reply = iter & 2;
        /* bodies are mostly whole words */
        size_t len = plausible ? 16 + 4 * (size_t)(s % 24) : (size_t)(s % 120);
        for (size_t i = 0; i < len; i++) {
            s ^= s << 13, s ^= s >> 7, s ^= s << 17;
            /* mostly zero or small, as real fields and padding are */
            b[i] = (uint8_t)((s & 0x300) ? 0 : (s & 0x400) ? (s & 0x3) : s >> 24);
        }
        if (plausible) {
            b[0] = (uint8_t)len, b[1] = b[2] = b[3] = 0;
            b[4] = SMMU_PROTO_VERSION, b[5] = 0;
            uint16_t op = ops[(s >> 40) % (sizeof ops / sizeof *ops)];
            b[6] = (uint8_t)op, b[7] = (uint8_t)(op >> 8);
            if (s & 0x10000)
                memset(b + 8, 0, 8); /* seq 0, status 0 */
        }
        char err[200] = "";
        int rc = smmu_msg_decode(b, len, is_reply, m, err, sizeof err);
        if (rc == 0) {
            accepted++;
            ck_assert_int_eq(smmu_msg_encode(m, is_reply, b2, SMMU_MSG_MAX), (int)len);
            ck_assert(memcmp(b, b2, len) == 0);
        } else {
            ck_assert_msg(rc == -EPROTO, "rc %d: %s", rc, err);
            ck_assert(err[0] && !strchr(err, '\n'));
        }
    }
    ck_assert_int_gt(accepted, 100); /* the generator reaches the bodies */
    free(m);
    free(b);
    free(b2);
}
END_TEST

START_TEST(bad_version)
{
    Bytes *x = bytes_new();
    b_hdr(x, SMMU_OP_XFER_NOTIFY, 1, 0);
    size_t n = b_fin(x);
    x->b[4] = 2;
    expect_reject(x->b, n, false, -EPROTO, "header: version: 2, expected 3");
    x->b[4] = 0;
    expect_reject(x->b, n, false, -EPROTO, "header: version: 0");
    x->b[4] = 1;
    x->b[5] = 1; /* version 257: the high byte counts */
    expect_reject(x->b, n, false, -EPROTO, "header: version: 257");
    free(x);
}
END_TEST

START_TEST(unknown_op)
{
    Bytes *x = bytes_new();
    const uint16_t ops[] = { 0, SMMU_OP_LAST_REQUEST + 1, 0xff, 0x102, 0x201, 0xffff };
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++) {
        char want[80];
        b_hdr(x, ops[i], 0, 0);
        snprintf(want, sizeof want, "header: op: %u is not a request op", ops[i]);
        expect_reject_bytes(x, false, want);
        snprintf(want, sizeof want, "header: op: %u is not a request, reply or event op", ops[i]);
        expect_reject_bytes(x, true, want);
    }
    SmmuMsg *m = msg_new();
    set_hdr(m, 0x102, 0, 0);
    expect_encode_fails(m, true, -EINVAL);
    set_hdr(m, 0, 0, 0);
    expect_encode_fails(m, false, -EINVAL);
    free(m);
    free(x);
}
END_TEST

START_TEST(wrong_direction)
{
    /* events only travel service -> client */
    Bytes *x = bytes_new();
    b_hdr(x, SMMU_EV_FAULT, 0, 0);
    b_u32(x, 1);
    expect_reject_bytes(x, false, "header: op: 256 is not a request op");
    SmmuMsg *m = msg_new();
    set_hdr(m, SMMU_EV_FAULT, 0, 0);
    expect_encode_fails(m, false, -EINVAL);

    /* a request read as a reply: MAPPING_ADD replies are empty */
    b_hdr(x, SMMU_OP_MAPPING_ADD, 1, 0);
    b_u64(x, 1);
    b_u32(x, 0);
    b_u32(x, 0);
    b_u64(x, 0);
    b_u32(x, 1);
    b_u32(x, 0);
    b_u64(x, 0);
    b_u64(x, 1);
    expect_reject_bytes(x, true, "MAPPING_ADD: trailing bytes: 48 after the body");
    /* a reply read as a request: XFER_NOTIFY requests are empty */
    b_hdr(x, SMMU_OP_XFER_NOTIFY, 1, 0);
    b_u32(x, 3);
    expect_reject_bytes(x, false, "XFER_NOTIFY: trailing bytes: 4 after the body");
    /* an OBJ_CREATE reply (obj) read as a request (flags) */
    b_hdr(x, SMMU_OP_OBJ_CREATE, 1, 0);
    b_u64(x, 1);
    expect_reject_bytes(x, false, "OBJ_CREATE: trailing bytes: 4 after the body");
    free(m);
    free(x);
}
END_TEST

START_TEST(trailing_bytes)
{
    Bytes *x = bytes_new();
    b_hdr(x, SMMU_OP_HELLO, 1, 0);
    b_u32(x, 1);
    b_u32(x, 0);
    b_u8(x, 0);
    expect_reject_bytes(x, false, "HELLO: trailing bytes: 1 after the body");
    b_hdr(x, SMMU_OP_SAFETY, 1, 0);
    b_u32(x, 0);
    expect_reject_bytes(x, false, "SAFETY: trailing bytes: 4 after the body");
    b_hdr(x, SMMU_OP_STATUS, 1, 0);
    b_u32(x, 1);
    b_u32(x, 2);
    b_mem(x, "ab", 3); /* the terminating NUL is not part of the text */
    expect_reject_bytes(x, true, "STATUS: trailing bytes: 1 after the body");
    b_hdr(x, SMMU_OP_REPORT_RESERVED, 1, 0);
    b_u32(x, 1);
    b_u32(x, 1);
    b_u64(x, 0);
    b_u64(x, 1);
    b_zero(x, 16); /* one entry more than n says */
    expect_reject_bytes(x, true, "REPORT_RESERVED: trailing bytes: 16 after the body");
    free(x);
}
END_TEST

START_TEST(status_rules)
{
    Bytes *x = bytes_new();
    SmmuMsg *m = msg_new();
    /* a failed reply's body is why, and only that */
    b_hdr(x, SMMU_OP_OBJ_CREATE, 1, -EPERM);
    b_u64(x, 5);
    expect_reject_bytes(x, true, "OBJ_CREATE: text: truncated (text_len 5, 4 bytes left)");
    b_hdr(x, SMMU_OP_MAPPING_ADD, 1, -EINVAL);
    b_u8(x, 0);
    expect_reject_bytes(x, true, "MAPPING_ADD: text_len: truncated");
    b_hdr(x, SMMU_OP_MAPPING_ADD, 1, -EINVAL);
    b_u32(x, 1);
    b_mem(x, "ab", 2);
    expect_reject_bytes(x, true, "MAPPING_ADD: trailing bytes: 1 after the body");
    b_hdr(x, SMMU_OP_HELLO, 1, -EPERM);
    b_u32(x, SMMU_ERROR_TEXT_MAX + 1);
    for (unsigned i = 0; i <= SMMU_ERROR_TEXT_MAX; i++) b_u8(x, 'e');
    expect_reject_bytes(x, true, "HELLO: text_len: 1025 exceeds 1024");
    /* errno range */
    b_hdr(x, SMMU_OP_HELLO, 1, 5);
    expect_reject_bytes(x, true, "HELLO: status: 5 is neither 0 nor a negative errno");
    b_hdr(x, SMMU_OP_HELLO, 1, -4096);
    expect_reject_bytes(x, true, "HELLO: status: -4096 is neither 0 nor a negative errno");
    b_hdr(x, SMMU_OP_HELLO, 1, INT32_MIN);
    expect_reject_bytes(x, true, "HELLO: status: -2147483648");
    set_hdr(m, SMMU_OP_HELLO, 1, 5);
    expect_encode_fails(m, true, -EINVAL);
    set_hdr(m, SMMU_OP_HELLO, 1, -4096);
    expect_encode_fails(m, true, -EINVAL);
    /* requests carry status 0 */
    b_hdr(x, SMMU_OP_SAFETY, 1, -1);
    expect_reject_bytes(x, false, "SAFETY: status: -1 in a request (must be 0)");
    set_hdr(m, SMMU_OP_SAFETY, 1, -1);
    expect_encode_fails(m, false, -EINVAL);
    free(m);
    free(x);
}
END_TEST

START_TEST(event_rules)
{
    Bytes *x = bytes_new();
    SmmuMsg *m = msg_new();
    b_hdr(x, SMMU_EV_FAULT, 1, 0);
    b_u32(x, 1);
    expect_reject_bytes(x, true, "EV_FAULT: seq: 1 in an event (must be 0)");
    b_hdr(x, SMMU_EV_DSS, 0x80000000, 0);
    b_u32(x, 0);
    b_u32(x, 0);
    expect_reject_bytes(x, true, "EV_DSS: seq: 2147483648 in an event");
    b_hdr(x, SMMU_EV_FAULT, 0, -EIO);
    expect_reject_bytes(x, true, "EV_FAULT: status: -5 in an event (must be 0)");
    set_hdr(m, SMMU_EV_FAULT, 1, 0);
    expect_encode_fails(m, true, -EINVAL);
    set_hdr(m, SMMU_EV_FAULT, 0, -EIO);
    expect_encode_fails(m, true, -EINVAL);
    free(m);
    free(x);
}
END_TEST

/* ---- field rules ---- */

static void b_mapping_head(Bytes *x, uint64_t obj, uint32_t flags, uint32_t n, uint32_t pad)
{
    b_hdr(x, SMMU_OP_MAPPING_ADD, 1, 0);
    b_u64(x, obj);
    b_u32(x, flags);
    b_u32(x, 0);
    b_u64(x, 0);
    b_u32(x, n);
    b_u32(x, pad);
}

START_TEST(n_out_of_range)
{
    Bytes *x = bytes_new();
    char want[80];
    b_mapping_head(x, 1, SMF_READ, 0, 0);
    snprintf(want, sizeof want, "MAPPING_ADD: n: 0 is out of range 1..%d", SMMU_MAP_MAX_ENTRIES);
    expect_reject_bytes(x, false, want);
    /* refused before the entries are looked for */
    b_mapping_head(x, 1, SMF_READ, SMMU_MAP_MAX_ENTRIES + 1, 0);
    b_zero(x, 32);
    snprintf(want, sizeof want, "MAPPING_ADD: n: %d is out of range", SMMU_MAP_MAX_ENTRIES + 1);
    expect_reject_bytes(x, false, want);
    b_mapping_head(x, 1, SMF_READ, 0xffffffff, 0);
    expect_reject_bytes(x, false, "MAPPING_ADD: n: 4294967295 is out of range");

    b_hdr(x, SMMU_OP_REPORT_RESERVED, 1, 0);
    b_u32(x, 0);
    b_u32(x, SMMU_RESERVED_MAX_ENTRIES + 1);
    snprintf(want, sizeof want, "REPORT_RESERVED: n: %d exceeds %d", SMMU_RESERVED_MAX_ENTRIES + 1,
             SMMU_RESERVED_MAX_ENTRIES);
    expect_reject_bytes(x, true, want);

    b_hdr(x, SMMU_OP_REPORT_RESERVED, 1, 0);
    b_pci(x, 0, 1, 0);
    b_u32(x, 0);
    b_u32(x, SMMU_RESERVED_MAX_ENTRIES + 1);
    snprintf(want, sizeof want, "REPORT_RESERVED: max: %d exceeds", SMMU_RESERVED_MAX_ENTRIES + 1);
    expect_reject_bytes(x, false, want);

    SmmuMsg *m = msg_new();
    struct smmu_map_entry e = { .phys = 0, .len = 1 };
    set_hdr(m, SMMU_OP_MAPPING_ADD, 1, 0);
    m->obj = 1;
    m->entries = &e;
    m->n_entries = 0;
    expect_encode_fails(m, false, -EINVAL);
    m->n_entries = SMMU_MAP_MAX_ENTRIES + 1;
    expect_encode_fails(m, false, -EINVAL);
    m->n_entries = 1;
    m->entries = NULL;
    expect_encode_fails(m, false, -EINVAL);
    memset(m, 0, offsetof(SmmuMsg, entry_buf));
    set_hdr(m, SMMU_OP_REPORT_RESERVED, 1, 0);
    m->n_entries = SMMU_RESERVED_MAX_ENTRIES + 1;
    m->entries = m->entry_buf;
    expect_encode_fails(m, true, -EINVAL);
    m->n_entries = 0;
    set_pci(&m->devid, 0, 0, 0);
    m->max = SMMU_RESERVED_MAX_ENTRIES + 1;
    expect_encode_fails(m, false, -EINVAL);
    free(m);
    free(x);
}
END_TEST

START_TEST(bad_entries)
{
    Bytes *x = bytes_new();
    b_mapping_head(x, 1, SMF_WRITE, 5, 0);
    for (int i = 0; i < 5; i++) {
        b_u64(x, 0x1000u * (unsigned)i);
        b_u64(x, i == 3 ? 0 : 0x1000);
    }
    expect_reject_bytes(x, false, "MAPPING_ADD: entries[3].len: zero");

    b_mapping_head(x, 1, SMF_WRITE, 2, 0);
    b_u64(x, 0);
    b_u64(x, 1);
    b_u64(x, UINT64_MAX - 0xfff);
    b_u64(x, 0x1000);
    expect_reject_bytes(x, false,
                        "MAPPING_ADD: entries[1]: phys 0xfffffffffffff000 + len 0x1000 overflows 64 bits");
    b_mapping_head(x, 1, SMF_WRITE, 1, 0);
    b_u64(x, 1);
    b_u64(x, UINT64_MAX);
    expect_reject_bytes(x, false, "MAPPING_ADD: entries[0]: phys 0x1 + len 0xffffffffffffffff overflows");

    SmmuMsg *m = msg_new();
    struct smmu_map_entry v[2] = { { .phys = 0, .len = 1 }, { .phys = 1, .len = 0 } };
    set_hdr(m, SMMU_OP_MAPPING_ADD, 1, 0);
    m->obj = 1;
    m->n_entries = 2;
    m->entries = v;
    expect_encode_fails(m, false, -EINVAL);
    v[1].len = UINT64_MAX;
    expect_encode_fails(m, false, -EINVAL);
    v[1].len = UINT64_MAX - 1; /* ends at 2^64 - 1: fine */
    ck_assert_int_eq(roundtrip(m, false), 80);
    free(m);
    free(x);
}
END_TEST

START_TEST(bad_devid_type)
{
    Bytes *x = bytes_new();
    b_hdr(x, SMMU_OP_DEVICE_ADD, 1, 0);
    b_u64(x, 1);
    b_u32(x, 2);
    b_zero(x, 28);
    expect_reject_bytes(x, false, "DEVICE_ADD: devid.type: 2 is neither SDT_PCI (0) nor SDT_MMIO (1)");

    b_hdr(x, SMMU_OP_REPORT_RESERVED, 1, 0);
    b_u32(x, 0xffffffff);
    b_zero(x, 36);
    expect_reject_bytes(x, false, "REPORT_RESERVED: devid.type: 4294967295 is neither");

    b_hdr(x, SMMU_OP_XFER_STATUS, 1, 0);
    b_u32(x, 1);
    b_u32(x, 0);
    b_u64(x, 1);
    b_u64(x, 2);
    b_u32(x, 7);
    b_zero(x, 28);
    b_u32(x, 0);
    b_u32(x, 0);
    expect_reject_bytes(x, true, "XFER_STATUS: record.devid.type: 7 is neither");

    SmmuMsg *m = msg_new();
    set_hdr(m, SMMU_OP_DEVICE_ADD, 1, 0);
    m->devid.type = 2;
    expect_encode_fails(m, false, -EINVAL);
    memset(m, 0, offsetof(SmmuMsg, entry_buf));
    set_hdr(m, SMMU_OP_REPORT_RESERVED, 1, 0);
    m->devid.type = 3;
    expect_encode_fails(m, false, -EINVAL);
    memset(m, 0, offsetof(SmmuMsg, entry_buf));
    set_hdr(m, SMMU_OP_XFER_STATUS, 1, 0);
    m->have = 1;
    m->record.devid.type = 9;
    expect_encode_fails(m, true, -EINVAL);
    free(m);
    free(x);
}
END_TEST

START_TEST(nonzero_padding)
{
    Bytes *x = bytes_new();
    b_mapping_head(x, 1, SMF_READ, 1, 0x100);
    b_u64(x, 0);
    b_u64(x, 1);
    expect_reject_bytes(x, false, "MAPPING_ADD: pad: not zero");

    /* every byte of the devid padding, both kinds */
    for (int kind = 0; kind < 2; kind++)
        for (int i = 0; i < 16; i++) {
            b_hdr(x, SMMU_OP_DEVICE_ADD, 1, 0);
            b_u64(x, 1);
            if (kind)
                b_mmio(x, 0x1000, 0xfed00000);
            else
                b_pci(x, 0, 0x1f, 3);
            x->b[16 + 8 + 16 + i] = 0x80;
            expect_reject_bytes(x, false, "DEVICE_ADD: devid.pad: not zero");
        }

    /* XFER_STATUS: the pad after have, the record's own, and a record
     * where there is none */
    b_hdr(x, SMMU_OP_XFER_STATUS, 1, 0);
    b_u32(x, 1);
    b_u32(x, 1);
    b_zero(x, 56);
    expect_reject_bytes(x, true, "XFER_STATUS: pad: not zero");
    b_hdr(x, SMMU_OP_XFER_STATUS, 1, 0);
    b_u32(x, 1);
    b_u32(x, 0);
    b_u64(x, 0);
    b_u64(x, 0);
    b_pci(x, 0, 0, 0);
    b_u32(x, 0);
    b_u32(x, 0x01000000);
    expect_reject_bytes(x, true, "XFER_STATUS: record.pad: not zero");
    b_hdr(x, SMMU_OP_XFER_STATUS, 1, 0);
    b_u32(x, 1);
    b_u32(x, 0);
    b_u64(x, 0);
    b_u64(x, 0);
    b_u32(x, SDT_PCI);
    b_zero(x, 12);
    b_u8(x, 1);
    b_zero(x, 15);
    b_u32(x, 0);
    b_u32(x, 0);
    expect_reject_bytes(x, true, "XFER_STATUS: record.devid.pad: not zero");
    for (int i = 0; i < 56; i++) {
        b_hdr(x, SMMU_OP_XFER_STATUS, 1, 0);
        b_u32(x, 0);
        b_u32(x, 0);
        b_zero(x, 56);
        x->b[24 + i] = 1;
        expect_reject_bytes(x, true, "XFER_STATUS: record: not zero");
    }
    free(x);
}
END_TEST

START_TEST(nul_in_text)
{
    Bytes *x = bytes_new();
    b_hdr(x, SMMU_OP_STATUS, 1, 0);
    b_u32(x, 1);
    b_u32(x, 5);
    b_mem(x, "ab\0cd", 5);
    expect_reject_bytes(x, true, "STATUS: text: NUL byte at offset 2");
    b_hdr(x, SMMU_OP_OBJECTS, 1, 0);
    b_u32(x, 1);
    b_u32(x, 1);
    b_u8(x, 0);
    expect_reject_bytes(x, true, "OBJECTS: text: NUL byte at offset 0");
    b_hdr(x, SMMU_EV_DSS, 0, 0);
    b_u32(x, 1);
    b_u32(x, 4);
    b_mem(x, "bye\0", 4);
    expect_reject_bytes(x, true, "EV_DSS: text: NUL byte at offset 3");
    b_hdr(x, SMMU_OP_STATUS, 1, 0);
    b_u32(x, 1);
    b_u32(x, 0x7fffffff);
    expect_reject_bytes(x, true, "STATUS: text_len: 2147483647 exceeds 65512");

    SmmuMsg *m = msg_new();
    set_hdr(m, SMMU_OP_STATUS, 1, 0);
    m->text = "ab\0cd";
    m->text_len = 5;
    expect_encode_fails(m, true, -EINVAL);
    m->text = NULL;
    expect_encode_fails(m, true, -EINVAL);
    free(m);
    free(x);
}
END_TEST

START_TEST(other_fields)
{
    Bytes *x = bytes_new();
    SmmuMsg *m = msg_new();

    b_hdr(x, SMMU_OP_OBJ_CREATE, 1, 0);
    b_u32(x, 2);
    expect_reject_bytes(x, false, "OBJ_CREATE: flags: 0x2 has bits other than SOCF_RESERVED_MANUAL");
    set_hdr(m, SMMU_OP_OBJ_CREATE, 1, 0);
    m->flags = 0x80000001;
    expect_encode_fails(m, false, -EINVAL);

    b_hdr(x, SMMU_OP_OBJ_CREATE, 1, 0);
    b_u64(x, 0);
    expect_reject_bytes(x, true, "OBJ_CREATE: obj: zero");
    m->flags = 0;
    expect_encode_fails(m, true, -EINVAL);
    b_hdr(x, SMMU_OP_OBJ_DESTROY, 1, 0);
    b_u64(x, 0);
    expect_reject_bytes(x, false, "OBJ_DESTROY: obj: zero");
    set_hdr(m, SMMU_OP_OBJ_DESTROY, 1, 0);
    expect_encode_fails(m, false, -EINVAL);

    b_mapping_head(x, 0, SMF_READ, 1, 0);
    b_u64(x, 0);
    b_u64(x, 1);
    expect_reject_bytes(x, false, "MAPPING_ADD: obj: zero");
    b_mapping_head(x, 1, SMF_READ | SMF_VIRT, 1, 0);
    b_u64(x, 0);
    b_u64(x, 1);
    expect_reject_bytes(x, false, "MAPPING_ADD: flags: 0x9 has SMF_VIRT, which is reserved");
    b_mapping_head(x, 1, SMF_READ | 0x20, 1, 0);
    b_u64(x, 0);
    b_u64(x, 1);
    expect_reject_bytes(x, false, "MAPPING_ADD: flags: 0x21 has unknown bits 0x20");
    struct smmu_map_entry e = { .phys = 0, .len = 1 };
    memset(m, 0, offsetof(SmmuMsg, entry_buf));
    set_hdr(m, SMMU_OP_MAPPING_ADD, 1, 0);
    m->obj = 1;
    m->n_entries = 1;
    m->entries = &e;
    m->flags = SMF_VIRT;
    expect_encode_fails(m, false, -EINVAL);
    m->flags = 0x100;
    expect_encode_fails(m, false, -EINVAL);
    m->flags = 0;
    m->obj = 0;
    expect_encode_fails(m, false, -EINVAL);

    b_hdr(x, SMMU_OP_XFER_STATUS, 1, 0);
    b_u32(x, 2);
    b_zero(x, 60);
    expect_reject_bytes(x, true, "XFER_STATUS: have: 2 is neither 0 nor 1");
    memset(m, 0, offsetof(SmmuMsg, entry_buf));
    set_hdr(m, SMMU_OP_XFER_STATUS, 1, 0);
    m->have = 2;
    expect_encode_fails(m, true, -EINVAL);

    const int32_t bad[] = { 1, -2, 0xfffe, 0x10000, INT32_MIN };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char want[100];
        b_hdr(x, SMMU_OP_SAFETY, 1, 0);
        b_u32(x, (uint32_t)bad[i]);
        snprintf(want, sizeof want, "SAFETY: result: %d is not SMMUMAN_SAFETY_ERROR, _NO or _YES",
                 bad[i]);
        expect_reject_bytes(x, true, want);
        memset(m, 0, offsetof(SmmuMsg, entry_buf));
        set_hdr(m, SMMU_OP_SAFETY, 1, 0);
        m->result = bad[i];
        expect_encode_fails(m, true, -EINVAL);
    }
    free(m);
    free(x);
}
END_TEST

/* The decoder copes with a missing or tiny message buffer and fills only
 * what the op carries. */
START_TEST(decode_details)
{
    Bytes *x = bytes_new();
    SmmuMsg *m = msg_new();
    b_hdr(x, SMMU_OP_HELLO, 1, 0);
    b_u32(x, 1);
    size_t n = b_fin(x);
    ck_assert_int_eq(smmu_msg_decode(x->b, n, false, m, NULL, 0), -EPROTO);
    char tiny[8];
    ck_assert_int_eq(smmu_msg_decode(x->b, n, false, m, tiny, sizeof tiny), -EPROTO);
    ck_assert_str_eq(tiny, "HELLO: ");
    char one[1] = { 'x' };
    ck_assert_int_eq(smmu_msg_decode(x->b, n, false, m, one, sizeof one), -EPROTO);
    ck_assert_int_eq(one[0], '\0');

    /* a decode clears what a previous one left */
    memset(m, 0xab, sizeof *m);
    b_hdr(x, SMMU_OP_SAFETY, 1, 0);
    n = b_fin(x);
    char err[100];
    ck_assert_int_eq(smmu_msg_decode(x->b, n, false, m, err, sizeof err), 0);
    ck_assert_uint_eq(m->obj, 0);
    ck_assert_uint_eq(m->n_entries, 0);
    ck_assert_ptr_null(m->entries);
    ck_assert_ptr_null(m->text);
    ck_assert_uint_eq(m->record.flags, 0);
    b_hdr(x, SMMU_OP_STATUS, 1, 0);
    b_u32(x, 0);
    b_u32(x, 0);
    n = b_fin(x);
    ck_assert_int_eq(smmu_msg_decode(x->b, n, true, m, err, sizeof err), 0);
    ck_assert_str_eq(m->text, "");
    memset(m, 0xab, sizeof *m);
    b_hdr(x, SMMU_EV_DSS, 0, 0);
    b_u32(x, (uint32_t)-ENOMEM);
    b_u32(x, 3);
    b_mem(x, "abc", 3);
    n = b_fin(x);
    ck_assert_int_eq(smmu_msg_decode(x->b, n, true, m, err, sizeof err), 0);
    ck_assert_str_eq(m->text, "abc");
    ck_assert_int_eq(m->result, -ENOMEM);
    free(m);
    free(x);
}
END_TEST

static Suite *proto_suite(void)
{
    Suite *s = suite_create("proto");
    TCase *t = tcase_create("ops");
    tcase_add_test(t, op_names);
    suite_add_tcase(s, t);

    t = tcase_create("roundtrip");
    tcase_add_test(t, rt_hello);
    tcase_add_test(t, rt_obj);
    tcase_add_test(t, rt_device_add);
    tcase_add_test(t, rt_report_reserved);
    tcase_add_test(t, rt_mapping_add);
    tcase_add_test(t, rt_xfer);
    tcase_add_test(t, rt_safety);
    tcase_add_test(t, rt_text);
    tcase_add_test(t, rt_events);
    tcase_add_test(t, rt_error_replies);
    suite_add_tcase(s, t);

    t = tcase_create("pinned");
    tcase_add_test(t, pinned_hello);
    tcase_add_test(t, pinned_mapping_add);
    tcase_add_test(t, pinned_device_add);
    tcase_add_test(t, pinned_xfer_status);
    tcase_add_test(t, pinned_error_and_event);
    suite_add_tcase(s, t);

    t = tcase_create("reject");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, truncated_every_length);
    tcase_add_test(t, truncated_names_field);
    tcase_add_test(t, oversized);
    tcase_add_test(t, size_mismatch);
    tcase_add_test(t, garbage);
    tcase_add_test(t, bad_version);
    tcase_add_test(t, unknown_op);
    tcase_add_test(t, wrong_direction);
    tcase_add_test(t, trailing_bytes);
    tcase_add_test(t, status_rules);
    tcase_add_test(t, event_rules);
    tcase_add_test(t, n_out_of_range);
    tcase_add_test(t, bad_entries);
    tcase_add_test(t, bad_devid_type);
    tcase_add_test(t, nonzero_padding);
    tcase_add_test(t, nul_in_text);
    tcase_add_test(t, other_fields);
    tcase_add_test(t, decode_details);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return check_run(proto_suite());
}
