/* Encoder and decoder of the libsmmu <-> smmuman wire protocol; the format
 * is specified in docs/protocol.md.
 *
 * The decoder is the service's first line of defence against any local
 * process that can reach the attach socket, so it trusts nothing: every
 * length is checked before a byte is read, every field is range-checked,
 * and the format is canonical (padding and unused bytes must be zero), so a
 * packet that decodes re-encodes to exactly the same bytes. The encoder
 * applies the same value rules, so a bug on the sending side is caught where
 * it happens rather than as a refusal on the other end. */
#include "proto.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define DEVID_SIZE  32
#define ENTRY_SIZE  16
#define RECORD_SIZE 56
#define ERRNO_MAX   4095 /* replies carry 0 or -1..-4095, as Linux system calls do */

_Static_assert(sizeof(unsigned) == 4, "devid fields travel as u32");
_Static_assert(sizeof(union smmu_devid) == DEVID_SIZE, "devid is 32 bytes");
_Static_assert(SMMU_MSG_MAX <= INT_MAX, "smmu_msg_encode returns the size as int");
_Static_assert(SMMU_MSG_HDR_SIZE + 32 + SMMU_MAP_MAX_ENTRIES * ENTRY_SIZE <= SMMU_MSG_MAX,
               "the largest MAPPING_ADD request fits a message");
_Static_assert(SMMU_MSG_HDR_SIZE + 8 + SMMU_RESERVED_MAX_ENTRIES * ENTRY_SIZE <= SMMU_MSG_MAX,
               "the largest REPORT_RESERVED reply fits a message");
_Static_assert(SMMU_MSG_HDR_SIZE + 8 + SMMU_TEXT_MAX <= SMMU_MSG_MAX,
               "the largest STATUS/OBJECTS text or EV_DSS reason fits a message");
_Static_assert(sizeof(((SmmuMsg *)0)->entry_buf) / ENTRY_SIZE >= SMMU_MAP_MAX_ENTRIES &&
                   sizeof(((SmmuMsg *)0)->entry_buf) / ENTRY_SIZE >= SMMU_RESERVED_MAX_ENTRIES,
               "entry_buf holds the longest list of either op");

#if defined(__GNUC__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif

bool smmu_op_is_request(uint16_t op)
{
    return op >= SMMU_OP_HELLO && op <= SMMU_OP_LAST_REQUEST;
}

bool smmu_op_is_event(uint16_t op)
{
    return op == SMMU_EV_FAULT || op == SMMU_EV_DSS;
}

const char *smmu_op_name(uint16_t op)
{
    switch (op) {
    case SMMU_OP_HELLO: return "HELLO";
    case SMMU_OP_OBJ_CREATE: return "OBJ_CREATE";
    case SMMU_OP_OBJ_DESTROY: return "OBJ_DESTROY";
    case SMMU_OP_DEVICE_ADD: return "DEVICE_ADD";
    case SMMU_OP_REPORT_RESERVED: return "REPORT_RESERVED";
    case SMMU_OP_MAPPING_ADD: return "MAPPING_ADD";
    case SMMU_OP_XFER_NOTIFY: return "XFER_NOTIFY";
    case SMMU_OP_XFER_STATUS: return "XFER_STATUS";
    case SMMU_OP_SAFETY: return "SAFETY";
    case SMMU_OP_STATUS: return "STATUS";
    case SMMU_OP_OBJECTS: return "OBJECTS";
    case SMMU_EV_FAULT: return "EV_FAULT";
    case SMMU_EV_DSS: return "EV_DSS";
    default: return "UNKNOWN";
    }
}

/* ---- error messages ---- */

/* Where a refusal is described. The encoder has no message to return and
 * passes a NULL buffer; rc is what a broken rule costs (-EPROTO on receipt,
 * -EINVAL on sending). */
typedef struct {
    char *buf;
    size_t len;
    const char *prefix; /* "header" until the op is known, then its name */
    int rc;
} Err;

static int PRINTF_LIKE(3, 4) fail_rc(Err *e, int rc, const char *fmt, ...)
{
    if (e->buf && e->len) {
        int n = snprintf(e->buf, e->len, "%s: ", e->prefix);
        if (n >= 0 && (size_t)n < e->len) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(e->buf + n, e->len - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return rc;
}

#define fail(e, ...) fail_rc((e), (e)->rc, __VA_ARGS__)

/* "<field>: truncated", the field name built from fmt */
static int PRINTF_LIKE(2, 3) truncated(Err *e, const char *fmt, ...)
{
    char field[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(field, sizeof field, fmt, ap);
    va_end(ap);
    return fail_rc(e, -EPROTO, "%s: truncated", field);
}

/* ---- which body a message carries ---- */

typedef enum {
    B_EMPTY,
    B_HELLO,          /* u32 client_version, u32 flags */
    B_CREATE_REQ,     /* u32 flags */
    B_OBJ,            /* u64 obj, non-zero */
    B_DEVICE_ADD_REQ, /* u64 obj, devid */
    B_RESULT,         /* i32 result */
    B_RESERVED_REQ,   /* devid, u32 offset, u32 max */
    B_RESERVED_REP,   /* u32 total, u32 n, entries */
    B_MAPPING_REQ,    /* u64 obj, u32 flags, i32 pid, u64 target, u32 n, u32 pad, entries */
    B_PENDING,        /* u32 pending */
    B_XFER_STATUS,    /* u32 have, u32 pad, record */
    B_SAFETY,         /* i32 result, one of three */
    B_TEXT_REQ,       /* u32 offset */
    B_TEXT,           /* u32 total, u32 text_len, text */
    B_DSS,            /* i32 code, u32 text_len, text */
    B_ERROR,          /* u32 text_len, text: why a request failed (a failed reply) */
} Body;

/* The op must already be known valid for the direction. */
static Body body_of(uint16_t op, bool is_reply, int32_t status)
{
    if (smmu_op_is_event(op))
        return op == SMMU_EV_FAULT ? B_PENDING : B_DSS;
    if (is_reply && status != 0)
        return B_ERROR;
    switch (op) {
    case SMMU_OP_HELLO: return B_HELLO;
    case SMMU_OP_OBJ_CREATE: return is_reply ? B_OBJ : B_CREATE_REQ;
    case SMMU_OP_OBJ_DESTROY: return is_reply ? B_EMPTY : B_OBJ;
    case SMMU_OP_DEVICE_ADD: return is_reply ? B_RESULT : B_DEVICE_ADD_REQ;
    case SMMU_OP_REPORT_RESERVED: return is_reply ? B_RESERVED_REP : B_RESERVED_REQ;
    case SMMU_OP_MAPPING_ADD: return is_reply ? B_EMPTY : B_MAPPING_REQ;
    case SMMU_OP_XFER_NOTIFY: return is_reply ? B_PENDING : B_EMPTY;
    case SMMU_OP_XFER_STATUS: return is_reply ? B_XFER_STATUS : B_EMPTY;
    case SMMU_OP_SAFETY: return is_reply ? B_SAFETY : B_EMPTY;
    case SMMU_OP_STATUS:
    case SMMU_OP_OBJECTS: return is_reply ? B_TEXT : B_TEXT_REQ;
    default: return B_EMPTY;
    }
}

/* ---- the value rules, shared by both directions ---- */

/* Sets e->prefix to the op's name once the op is known good. */
static int check_hdr(const SmmuMsgHdr *h, bool is_reply, Err *e)
{
    bool ev = smmu_op_is_event(h->op);
    if (!smmu_op_is_request(h->op) && !(is_reply && ev))
        return fail(e, "op: %u is not a %s op", (unsigned)h->op,
                    is_reply ? "request, reply or event" : "request");
    e->prefix = smmu_op_name(h->op);
    if (!is_reply && h->status != 0)
        return fail(e, "status: %" PRId32 " in a request (must be 0)", h->status);
    if (ev && h->seq != 0)
        return fail(e, "seq: %" PRIu32 " in an event (must be 0)", h->seq);
    if (ev && h->status != 0)
        return fail(e, "status: %" PRId32 " in an event (must be 0)", h->status);
    if (h->status > 0 || h->status < -ERRNO_MAX)
        return fail(e, "status: %" PRId32 " is neither 0 nor a negative errno (-4095..-1)",
                    h->status);
    return 0;
}

static int check_devid(Err *e, const char *field, const union smmu_devid *d)
{
    if (d->type != SDT_PCI && d->type != SDT_MMIO)
        return fail(e, "%s.type: %u is neither SDT_PCI (0) nor SDT_MMIO (1)", field, d->type);
    return 0;
}

static int check_text(Err *e, const char *text, uint32_t len, uint32_t max)
{
    if (len > max)
        return fail(e, "text_len: %" PRIu32 " exceeds %" PRIu32, len, max);
    if (len && !text)
        return fail(e, "text: missing (text_len %" PRIu32 ")", len);
    const char *nul = len ? memchr(text, '\0', len) : NULL;
    if (nul)
        return fail(e, "text: NUL byte at offset %td", nul - text);
    return 0;
}

static int check_body(const SmmuMsg *m, Body b, Err *e)
{
    switch (b) {
    case B_EMPTY:
    case B_HELLO:
    case B_RESULT:
    case B_PENDING:
    case B_TEXT_REQ:
        return 0;
    case B_CREATE_REQ:
        if (m->flags & ~(uint32_t)SOCF_RESERVED_MANUAL)
            return fail(e, "flags: 0x%" PRIx32 " has bits other than SOCF_RESERVED_MANUAL", m->flags);
        return 0;
    case B_OBJ:
        return m->obj ? 0 : fail(e, "obj: zero");
    case B_DEVICE_ADD_REQ:
        return check_devid(e, "devid", &m->devid);
    case B_RESERVED_REQ: {
        int rc = check_devid(e, "devid", &m->devid);
        if (rc)
            return rc;
        if (m->max > SMMU_RESERVED_MAX_ENTRIES)
            return fail(e, "max: %" PRIu32 " exceeds %d", m->max, SMMU_RESERVED_MAX_ENTRIES);
        return 0;
    }
    case B_RESERVED_REP:
        if (m->n_entries > SMMU_RESERVED_MAX_ENTRIES)
            return fail(e, "n: %" PRIu32 " exceeds %d", m->n_entries, SMMU_RESERVED_MAX_ENTRIES);
        if (m->n_entries && !m->entries)
            return fail(e, "entries: missing (n %" PRIu32 ")", m->n_entries);
        return 0;
    case B_MAPPING_REQ: {
        const uint32_t allowed = SMF_READ | SMF_WRITE | SMF_EXEC | SMF_TARGET;
        if (!m->obj)
            return fail(e, "obj: zero");
        if (m->flags & SMF_VIRT)
            return fail(e, "flags: 0x%" PRIx32 " has SMF_VIRT, which is reserved", m->flags);
        if (m->flags & ~allowed)
            return fail(e, "flags: 0x%" PRIx32 " has unknown bits 0x%" PRIx32, m->flags,
                        m->flags & ~allowed);
        if (m->n_entries < 1 || m->n_entries > SMMU_MAP_MAX_ENTRIES)
            return fail(e, "n: %" PRIu32 " is out of range 1..%d", m->n_entries,
                        SMMU_MAP_MAX_ENTRIES);
        if (!m->entries)
            return fail(e, "entries: missing (n %" PRIu32 ")", m->n_entries);
        for (uint32_t i = 0; i < m->n_entries; i++) {
            const struct smmu_map_entry *en = &m->entries[i];
            if (en->len == 0)
                return fail(e, "entries[%" PRIu32 "].len: zero", i);
            if (en->len > UINT64_MAX - en->phys)
                return fail(e, "entries[%" PRIu32 "]: phys 0x%" PRIx64 " + len 0x%" PRIx64
                            " overflows 64 bits", i, en->phys, en->len);
        }
        return 0;
    }
    case B_XFER_STATUS:
        if (m->have > 1)
            return fail(e, "have: %" PRIu32 " is neither 0 nor 1", m->have);
        return m->have ? check_devid(e, "record.devid", &m->record.devid) : 0;
    case B_SAFETY:
        if (m->result != SMMUMAN_SAFETY_ERROR && m->result != SMMUMAN_SAFETY_NO &&
            m->result != SMMUMAN_SAFETY_YES)
            return fail(e, "result: %" PRId32 " is not SMMUMAN_SAFETY_ERROR, _NO or _YES", m->result);
        return 0;
    case B_TEXT:
    case B_DSS:
        return check_text(e, m->text, m->text_len, SMMU_TEXT_MAX);
    case B_ERROR:
        return check_text(e, m->text, m->text_len, SMMU_ERROR_TEXT_MAX);
    }
    return 0;
}

/* ---- encoding ---- */

/* Writes past cap are dropped but counted, so the needed size is known at
 * the end and the caller reports -EMSGSIZE once. */
typedef struct {
    uint8_t *p;
    size_t cap, off;
} Wr;

static void put_bytes(Wr *w, const void *src, size_t n)
{
    if (n && w->off <= w->cap && n <= w->cap - w->off)
        memcpy(w->p + w->off, src, n);
    w->off += n;
}

static void put_u16(Wr *w, uint16_t v)
{
    uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
    put_bytes(w, b, sizeof b);
}

static void put_u32(Wr *w, uint32_t v)
{
    uint8_t b[4];
    for (int i = 0; i < 4; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    put_bytes(w, b, sizeof b);
}

static void put_u64(Wr *w, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    put_bytes(w, b, sizeof b);
}

static void put_i32(Wr *w, int32_t v)
{
    put_u32(w, (uint32_t)v);
}

static void put_zeros(Wr *w, size_t n)
{
    static const uint8_t zeros[16];
    while (n) {
        size_t k = n < sizeof zeros ? n : sizeof zeros;
        put_bytes(w, zeros, k);
        n -= k;
    }
}

/* The type was checked already; the bytes after the fields are zero on the
 * wire whatever the caller's union holds there. */
static void put_devid(Wr *w, const union smmu_devid *d)
{
    put_u32(w, d->type);
    if (d->type == SDT_PCI) {
        put_u32(w, d->pci.bus);
        put_u32(w, d->pci.dev);
        put_u32(w, d->pci.func);
        put_zeros(w, 16);
    } else {
        put_u32(w, d->mmio.length);
        put_u64(w, d->mmio.phys);
        put_zeros(w, 16);
    }
}

static void put_entries(Wr *w, const struct smmu_map_entry *v, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        put_u64(w, v[i].phys);
        put_u64(w, v[i].len);
    }
}

static void put_body(Wr *w, const SmmuMsg *m, Body b)
{
    switch (b) {
    case B_EMPTY:
        break;
    case B_HELLO:
        put_u32(w, m->client_version);
        put_u32(w, m->flags);
        break;
    case B_CREATE_REQ:
        put_u32(w, m->flags);
        break;
    case B_OBJ:
        put_u64(w, m->obj);
        break;
    case B_DEVICE_ADD_REQ:
        put_u64(w, m->obj);
        put_devid(w, &m->devid);
        break;
    case B_RESULT:
    case B_SAFETY:
        put_i32(w, m->result);
        break;
    case B_RESERVED_REQ:
        put_devid(w, &m->devid);
        put_u32(w, m->offset);
        put_u32(w, m->max);
        break;
    case B_RESERVED_REP:
        put_u32(w, m->total);
        put_u32(w, m->n_entries);
        put_entries(w, m->entries, m->n_entries);
        break;
    case B_MAPPING_REQ:
        put_u64(w, m->obj);
        put_u32(w, m->flags);
        put_i32(w, m->pid);
        put_u64(w, m->target);
        put_u32(w, m->n_entries);
        put_u32(w, 0);
        put_entries(w, m->entries, m->n_entries);
        break;
    case B_PENDING:
        put_u32(w, m->pending);
        break;
    case B_XFER_STATUS:
        put_u32(w, m->have);
        put_u32(w, 0);
        if (m->have) {
            put_u64(w, m->record.hw_specific);
            put_u64(w, m->record.fault_addr);
            put_devid(w, &m->record.devid);
            put_u32(w, m->record.flags);
            put_u32(w, 0);
        } else {
            put_zeros(w, RECORD_SIZE); /* whatever record holds means nothing */
        }
        break;
    case B_TEXT_REQ:
        put_u32(w, m->offset);
        break;
    case B_DSS:
    case B_TEXT:
    case B_ERROR:
        if (b == B_DSS)
            put_i32(w, m->result);
        else if (b == B_TEXT)
            put_u32(w, m->total);
        put_u32(w, m->text_len);
        put_bytes(w, m->text, m->text_len);
        break;
    }
}

int smmu_msg_encode(const SmmuMsg *m, bool is_reply, uint8_t *buf, size_t cap)
{
    Err e = { .prefix = "header", .rc = -EINVAL };
    if (!m || (!buf && cap))
        return -EINVAL;
    if (check_hdr(&m->hdr, is_reply, &e))
        return e.rc;
    Body b = body_of(m->hdr.op, is_reply, m->hdr.status);
    if (check_body(m, b, &e))
        return e.rc;

    Wr w = { .p = buf, .cap = cap };
    put_u32(&w, 0); /* size, known at the end */
    put_u16(&w, SMMU_PROTO_VERSION);
    put_u16(&w, m->hdr.op);
    put_u32(&w, m->hdr.seq);
    put_i32(&w, m->hdr.status);
    put_body(&w, m, b);
    if (w.off > SMMU_MSG_MAX || w.off > cap)
        return -EMSGSIZE;
    Wr head = { .p = buf, .cap = cap };
    put_u32(&head, (uint32_t)w.off);
    return (int)w.off;
}

/* ---- decoding ---- */

typedef struct {
    const uint8_t *p;
    size_t len, off;
} Rd;

static bool get_bytes(Rd *r, void *dst, size_t n)
{
    if (r->len - r->off < n)
        return false;
    if (n)
        memcpy(dst, r->p + r->off, n);
    r->off += n;
    return true;
}

static bool get_u16(Rd *r, uint16_t *v)
{
    uint8_t b[2];
    if (!get_bytes(r, b, sizeof b))
        return false;
    *v = (uint16_t)(b[0] | b[1] << 8);
    return true;
}

static bool get_u32(Rd *r, uint32_t *v)
{
    uint8_t b[4];
    if (!get_bytes(r, b, sizeof b))
        return false;
    *v = 0;
    for (int i = 3; i >= 0; i--)
        *v = *v << 8 | b[i];
    return true;
}

static bool get_u64(Rd *r, uint64_t *v)
{
    uint8_t b[8];
    if (!get_bytes(r, b, sizeof b))
        return false;
    *v = 0;
    for (int i = 7; i >= 0; i--)
        *v = *v << 8 | b[i];
    return true;
}

static bool get_i32(Rd *r, int32_t *v)
{
    uint32_t u;
    if (!get_u32(r, &u))
        return false;
    /* two's complement without implementation-defined conversion */
    *v = u <= INT32_MAX ? (int32_t)u : (int32_t)(u - 0x80000000u) + INT32_MIN;
    return true;
}

/* Padding must be zero so that the bytes can be given a meaning later. */
static int get_zeros(Rd *r, Err *e, const char *field, size_t n)
{
    if (r->len - r->off < n)
        return truncated(e, "%s", field);
    for (size_t i = 0; i < n; i++)
        if (r->p[r->off + i])
            return fail_rc(e, -EPROTO, "%s: not zero", field);
    r->off += n;
    return 0;
}

static int get_devid(Rd *r, Err *e, const char *field, union smmu_devid *d)
{
    uint32_t type, a, b, c;
    uint64_t phys;
    char pad[48];
    memset(d, 0, sizeof *d);
    if (!get_u32(r, &type))
        return truncated(e, "%s.type", field);
    switch (type) {
    case SDT_PCI:
        if (!get_u32(r, &a))
            return truncated(e, "%s.bus", field);
        if (!get_u32(r, &b))
            return truncated(e, "%s.dev", field);
        if (!get_u32(r, &c))
            return truncated(e, "%s.func", field);
        d->pci.type = type;
        d->pci.bus = a;
        d->pci.dev = b;
        d->pci.func = c;
        break;
    case SDT_MMIO:
        if (!get_u32(r, &a))
            return truncated(e, "%s.length", field);
        if (!get_u64(r, &phys))
            return truncated(e, "%s.phys", field);
        d->mmio.type = type;
        d->mmio.length = a;
        d->mmio.phys = phys;
        break;
    default:
        return fail_rc(e, -EPROTO, "%s.type: %" PRIu32 " is neither SDT_PCI (0) nor SDT_MMIO (1)",
                       field, type);
    }
    snprintf(pad, sizeof pad, "%s.pad", field);
    return get_zeros(r, e, pad, 16);
}

/* n was range-checked by the caller, so the copy fits entry_buf. */
static int get_entries(Rd *r, Err *e, SmmuMsg *m, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        if (!get_u64(r, &m->entry_buf[i].phys))
            return truncated(e, "entries[%" PRIu32 "].phys", i);
        if (!get_u64(r, &m->entry_buf[i].len))
            return truncated(e, "entries[%" PRIu32 "].len", i);
    }
    m->n_entries = n;
    m->entries = m->entry_buf;
    return 0;
}

static int get_text(Rd *r, Err *e, SmmuMsg *m)
{
    uint32_t len;
    if (!get_u32(r, &len))
        return truncated(e, "text_len");
    if (len > SMMU_TEXT_MAX)
        return fail_rc(e, -EPROTO, "text_len: %" PRIu32 " exceeds %d", len, SMMU_TEXT_MAX);
    if (r->len - r->off < len)
        return fail_rc(e, -EPROTO, "text: truncated (text_len %" PRIu32 ", %zu bytes left)", len,
                       r->len - r->off);
    get_bytes(r, m->text_buf, len);
    m->text_buf[len] = '\0';
    m->text_len = len;
    m->text = m->text_buf;
    return 0;
}

static int get_body(Rd *r, Err *e, SmmuMsg *m, Body b)
{
    uint32_t n;
    int rc;
    switch (b) {
    case B_EMPTY:
        return 0;
    case B_HELLO:
        if (!get_u32(r, &m->client_version))
            return truncated(e, "client_version");
        if (!get_u32(r, &m->flags))
            return truncated(e, "flags");
        return 0;
    case B_CREATE_REQ:
        return get_u32(r, &m->flags) ? 0 : truncated(e, "flags");
    case B_OBJ:
        return get_u64(r, &m->obj) ? 0 : truncated(e, "obj");
    case B_DEVICE_ADD_REQ:
        if (!get_u64(r, &m->obj))
            return truncated(e, "obj");
        return get_devid(r, e, "devid", &m->devid);
    case B_RESULT:
    case B_SAFETY:
        return get_i32(r, &m->result) ? 0 : truncated(e, "result");
    case B_RESERVED_REQ:
        if ((rc = get_devid(r, e, "devid", &m->devid)))
            return rc;
        if (!get_u32(r, &m->offset))
            return truncated(e, "offset");
        if (!get_u32(r, &m->max))
            return truncated(e, "max");
        return 0;
    case B_RESERVED_REP:
        if (!get_u32(r, &m->total))
            return truncated(e, "total");
        if (!get_u32(r, &n))
            return truncated(e, "n");
        if (n > SMMU_RESERVED_MAX_ENTRIES)
            return fail_rc(e, -EPROTO, "n: %" PRIu32 " exceeds %d", n, SMMU_RESERVED_MAX_ENTRIES);
        return get_entries(r, e, m, n);
    case B_MAPPING_REQ:
        if (!get_u64(r, &m->obj))
            return truncated(e, "obj");
        if (!get_u32(r, &m->flags))
            return truncated(e, "flags");
        if (!get_i32(r, &m->pid))
            return truncated(e, "pid");
        if (!get_u64(r, &m->target))
            return truncated(e, "target");
        if (!get_u32(r, &n))
            return truncated(e, "n");
        if (n < 1 || n > SMMU_MAP_MAX_ENTRIES)
            return fail_rc(e, -EPROTO, "n: %" PRIu32 " is out of range 1..%d", n,
                           SMMU_MAP_MAX_ENTRIES);
        if ((rc = get_zeros(r, e, "pad", 4)))
            return rc;
        return get_entries(r, e, m, n);
    case B_PENDING:
        return get_u32(r, &m->pending) ? 0 : truncated(e, "pending");
    case B_XFER_STATUS:
        if (!get_u32(r, &m->have))
            return truncated(e, "have");
        if (m->have > 1)
            return fail_rc(e, -EPROTO, "have: %" PRIu32 " is neither 0 nor 1", m->have);
        if ((rc = get_zeros(r, e, "pad", 4)))
            return rc;
        if (!m->have)
            return get_zeros(r, e, "record", RECORD_SIZE);
        if (!get_u64(r, &m->record.hw_specific))
            return truncated(e, "record.hw_specific");
        if (!get_u64(r, &m->record.fault_addr))
            return truncated(e, "record.fault_addr");
        if ((rc = get_devid(r, e, "record.devid", &m->record.devid)))
            return rc;
        if (!get_u32(r, &m->record.flags))
            return truncated(e, "record.flags");
        return get_zeros(r, e, "record.pad", 4);
    case B_DSS:
        if (!get_i32(r, &m->result))
            return truncated(e, "code");
        return get_text(r, e, m);
    case B_TEXT_REQ:
        return get_u32(r, &m->offset) ? 0 : truncated(e, "offset");
    case B_TEXT:
        if (!get_u32(r, &m->total))
            return truncated(e, "total");
        return get_text(r, e, m);
    case B_ERROR:
        return get_text(r, e, m);
    }
    return 0;
}

int smmu_msg_decode(const uint8_t *buf, size_t len, bool is_reply, SmmuMsg *m, char *err,
                    size_t errlen)
{
    Err e = { .buf = err, .len = errlen, .prefix = "header", .rc = -EPROTO };
    if (err && errlen)
        err[0] = '\0';
    if (!m)
        return fail_rc(&e, -EINVAL, "no message to decode into");
    /* the variable parts are overwritten as far as they are used */
    memset(m, 0, offsetof(SmmuMsg, entry_buf));
    m->text_buf[0] = '\0';

    if (len < SMMU_MSG_HDR_SIZE || !buf)
        return fail(&e, "truncated (%zu bytes, the header alone is %d)", len, SMMU_MSG_HDR_SIZE);
    if (len > SMMU_MSG_MAX)
        return fail_rc(&e, -EMSGSIZE, "%zu bytes exceed SMMU_MSG_MAX (%d)", len, SMMU_MSG_MAX);
    Rd r = { .p = buf, .len = len };
    get_u32(&r, &m->hdr.size);
    get_u16(&r, &m->hdr.version);
    get_u16(&r, &m->hdr.op);
    get_u32(&r, &m->hdr.seq);
    get_i32(&r, &m->hdr.status);
    if (m->hdr.size != len)
        return fail(&e, "size: %" PRIu32 ", but the packet is %zu bytes", m->hdr.size, len);
    if (m->hdr.version != SMMU_PROTO_VERSION)
        return fail(&e, "version: %u, expected %d", (unsigned)m->hdr.version, SMMU_PROTO_VERSION);
    if (check_hdr(&m->hdr, is_reply, &e))
        return e.rc;

    Body b = body_of(m->hdr.op, is_reply, m->hdr.status);
    if (get_body(&r, &e, m, b))
        return e.rc;
    if (r.off != len)
        return fail(&e, "trailing bytes: %zu after the body", len - r.off);
    return check_body(m, b, &e);
}
