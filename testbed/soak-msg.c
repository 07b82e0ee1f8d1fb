/* The wire-protocol fuzzer of smmu-soak (docs/reliability.md, part 2).
 *
 * Most messages are well-formed requests with hostile fields, made with the
 * protocol's own encoder, so that they pass the decoder and reach the
 * service's logic: objects that are not the sender's, the victim's device,
 * devices that do not exist, ranges in the table pool, at the address
 * widths and at the top of the 64-bit space. The rest are the same
 * messages broken in one place (length, version, op, size, status, a
 * flipped bit), random bytes, and packets too long or too short. */
#include "soak-msg.h"

#include <string.h>

#include "../smmuman/lib/proto.h"

const char *const soak_msg_kind_name[SOAK_MSG_KINDS] = { "valid", "mutated", "random", "oversized", "full",
                                                         "short" };

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

uint32_t soak_msg_seq(const uint8_t *buf)
{
    return (uint32_t)buf[8] | (uint32_t)buf[9] << 8 | (uint32_t)buf[10] << 16 | (uint32_t)buf[11] << 24;
}

uint16_t soak_msg_reply_op(const uint8_t *buf)
{
    uint16_t op = (uint16_t)(buf[6] | buf[7] << 8);
    return smmu_op_is_request(op) ? op : SMMU_OP_HELLO;
}

/* ---- fields ------------------------------------------------------------------ */

/* An address from the places that matter to an IOMMU service. */
static uint64_t gen_addr(SoakRng *r, const SoakMsgCtx *c)
{
    uint64_t a;
    switch (rng_below(r, 13)) {
    case 0: a = rng_below(r, 0x200000); break;                                 /* low memory */
    case 1: case 2: case 3: a = c->ram_base + rng_below(r, c->ram_size); break; /* RAM */
    case 4: a = c->victim_addr + (rng_pct(r, 50) ? 0 : rng_below(r, 0x3000)); break;
    case 5: a = c->pool_base + rng_below(r, c->pool_size); break;      /* the IOMMU's own tables */
    case 6: a = c->pool_base - 0x1000 + rng_below(r, 0x1000); break;   /* just below them */
    case 7: a = c->stage_base; break;
    case 8: a = (1ull << 39) - 0x2000 + rng_below(r, 0x4000); break;   /* the input address width */
    case 9: a = (1ull << (rng_pct(r, 50) ? 44 : 48)) - 0x2000 + rng_below(r, 0x4000); break;
    case 10: a = UINT64_MAX - rng_below(r, 1u << 20); break;           /* the top of the space */
    case 11: a = 0xfee00000 + rng_below(r, 0x100000); break;           /* the x86 interrupt window */
    default: a = rng_next(r); break;
    }
    return rng_pct(r, 60) ? a & ~0xfffull : a;
}

static uint64_t gen_len(SoakRng *r)
{
    switch (rng_below(r, 9)) {
    case 0: return 1 + rng_below(r, 4095);
    case 1: case 2: return 4096;
    case 3: return 4096 * (1 + rng_below(r, 64));
    case 4: return 2u << 20;
    case 5: return 1ull << 30;
    case 6: return 1ull << 39;
    case 7: return 4096 * (1 + rng_below(r, 1024));
    default: return rng_next(r);
    }
}

/* A range that the encoder accepts: len > 0, no wrap past 2^64 - 1. */
static struct smmu_map_entry gen_entry(SoakRng *r, const SoakMsgCtx *c)
{
    struct smmu_map_entry e = { .phys = gen_addr(r, c), .len = gen_len(r) };
    if (e.phys == UINT64_MAX) e.phys--;
    if (e.len > UINT64_MAX - e.phys) e.len = UINT64_MAX - e.phys;
    if (e.len == 0) e.len = 1;
    return e;
}

static uint64_t gen_obj(SoakRng *r, const SoakMsgCtx *c)
{
    unsigned k = (unsigned)rng_below(r, 20);
    if (k < 17 && c->n_objs) return c->objs[rng_below(r, c->n_objs)];
    if (k < 18) return 1 + rng_below(r, 2000); /* likely another client's */
    return rng_next(r) | 1;
}

static void gen_devid(SoakRng *r, const SoakMsgCtx *c, union smmu_devid *d)
{
    memset(d, 0, sizeof *d);
    unsigned k = (unsigned)rng_below(r, 10);
    if (k <= 6) {
        d->pci.type = SDT_PCI;
        if (k <= 2) { /* the edu engines; edu0 is the victim's */
            d->pci.dev = 4 + (unsigned)rng_below(r, 3);
        } else if (k <= 4) { /* anything on any bus: phantom devices */
            d->pci.bus = (unsigned)rng_below(r, 256);
            d->pci.dev = (unsigned)rng_below(r, 32);
            d->pci.func = (unsigned)rng_below(r, 8);
        } else if (k == 5) { /* out of range, or the wildcard */
            d->pci.bus = rng_pct(r, 30) ? SMMU_PCI_FIELD_ANY : (unsigned)rng_next(r);
            d->pci.dev = rng_pct(r, 30) ? SMMU_PCI_FIELD_ANY : (unsigned)rng_below(r, 64);
            d->pci.func = rng_pct(r, 30) ? SMMU_PCI_FIELD_ANY : (unsigned)rng_below(r, 16);
        } else { /* the host bridge and whatever else bus 0 holds */
            d->pci.dev = (unsigned)rng_below(r, 8);
        }
    } else {
        d->mmio.type = SDT_MMIO;
        d->mmio.phys = gen_addr(r, c);
        d->mmio.length = (unsigned)rng_next(r);
    }
}

/* ---- well-formed requests ------------------------------------------------------ */

static SmmuMsg m; /* large: one message at a time */

static uint16_t pick_op(SoakRng *r)
{
    static const uint16_t ops[] = { SMMU_OP_MAPPING_ADD, SMMU_OP_MAPPING_ADD, SMMU_OP_MAPPING_ADD, SMMU_OP_MAPPING_ADD,
                                    SMMU_OP_MAPPING_ADD, SMMU_OP_MAPPING_ADD, SMMU_OP_DEVICE_ADD, SMMU_OP_DEVICE_ADD,
                                    SMMU_OP_DEVICE_ADD, SMMU_OP_DEVICE_ADD, SMMU_OP_OBJ_CREATE, SMMU_OP_OBJ_CREATE,
                                    SMMU_OP_OBJ_DESTROY, SMMU_OP_REPORT_RESERVED, SMMU_OP_HELLO, SMMU_OP_XFER_NOTIFY,
                                    SMMU_OP_XFER_STATUS, SMMU_OP_SAFETY, SMMU_OP_STATUS, SMMU_OP_OBJECTS };
    return ops[rng_below(r, G_N_ELEMENTS(ops))];
}

static struct smmu_map_entry entries[SMMU_MAP_MAX_ENTRIES];

/* MAPPING_ADD flags: R/W/X in any mix (none: unmap), SMF_TARGET mostly
 * where it is allowed and sometimes where it is not. */
static uint32_t gen_map_flags(SoakRng *r, const SoakMsgCtx *c)
{
    uint32_t f = (uint32_t)rng_below(r, 8); /* SMF_READ | SMF_WRITE | SMF_EXEC */
    if (rng_pct(r, c->target ? 50 : 5)) f |= SMF_TARGET;
    return f;
}

static size_t gen_valid(SoakRng *r, const SoakMsgCtx *c, uint32_t seq, uint8_t *buf, uint16_t op, unsigned n_max)
{
    memset(&m, 0, offsetof(SmmuMsg, entry_buf));
    m.hdr.op = op;
    m.hdr.seq = seq;
    switch (op) {
    case SMMU_OP_HELLO:
        m.client_version = rng_pct(r, 90) ? SMMU_PROTO_VERSION : (uint32_t)rng_next(r);
        m.flags = rng_pct(r, 90) ? 0 : (uint32_t)rng_next(r);
        break;
    case SMMU_OP_OBJ_CREATE: m.flags = (uint32_t)rng_below(r, 2); break;
    case SMMU_OP_OBJ_DESTROY: m.obj = gen_obj(r, c); break;
    case SMMU_OP_DEVICE_ADD:
        m.obj = rng_pct(r, 15) ? 0 : gen_obj(r, c);
        gen_devid(r, c, &m.devid);
        break;
    case SMMU_OP_REPORT_RESERVED:
        gen_devid(r, c, &m.devid);
        m.offset = rng_pct(r, 80) ? (uint32_t)rng_below(r, 4) : (uint32_t)rng_next(r);
        m.max = (uint32_t)rng_below(r, SMMU_RESERVED_MAX_ENTRIES + 1);
        break;
    case SMMU_OP_MAPPING_ADD: {
        m.obj = gen_obj(r, c);
        m.flags = gen_map_flags(r, c);
        m.pid = (int32_t)rng_next(r);
        m.target = rng_pct(r, 50) ? gen_addr(r, c) : c->ram_base + (rng_below(r, c->ram_size) & ~0xfffull);
        unsigned n = rng_pct(r, 60) ? 1 : 1 + (unsigned)rng_below(r, rng_pct(r, 90) ? 8 : 64);
        if (n > n_max) n = n_max;
        for (unsigned i = 0; i < n; i++) entries[i] = gen_entry(r, c);
        m.n_entries = n;
        m.entries = entries;
        break;
    }
    case SMMU_OP_STATUS:
    case SMMU_OP_OBJECTS: m.offset = rng_pct(r, 80) ? 0 : (uint32_t)rng_below(r, rng_pct(r, 50) ? 100 : UINT32_MAX); break;
    default: break; /* XFER_NOTIFY, XFER_STATUS, SAFETY: no body */
    }
    int n = smmu_msg_encode(&m, false, buf, SMMU_MSG_MAX);
    if (n < 0) { /* cannot happen: every field above is one the encoder takes; send a HELLO rather than nothing */
        memset(&m, 0, offsetof(SmmuMsg, entry_buf));
        m.hdr.op = SMMU_OP_HELLO;
        m.hdr.seq = seq;
        m.client_version = SMMU_PROTO_VERSION;
        n = smmu_msg_encode(&m, false, buf, SMMU_MSG_MAX);
    }
    return (size_t)n;
}

/* A MAPPING_ADD that fills a message exactly: SMMU_MAP_MAX_ENTRIES ranges,
 * back to back or scattered over RAM. */
static size_t gen_full(SoakRng *r, const SoakMsgCtx *c, uint32_t seq, uint8_t *buf)
{
    memset(&m, 0, offsetof(SmmuMsg, entry_buf));
    m.hdr.op = SMMU_OP_MAPPING_ADD;
    m.hdr.seq = seq;
    m.obj = gen_obj(r, c);
    m.flags = rng_pct(r, 70) ? SMF_READ | SMF_WRITE : 0;
    bool scattered = rng_pct(r, 50);
    uint64_t base = c->ram_base + (rng_below(r, c->ram_size / 2) & ~0xfffull);
    for (unsigned i = 0; i < SMMU_MAP_MAX_ENTRIES; i++) {
        entries[i].phys = scattered ? c->ram_base + (rng_below(r, c->ram_size) & ~0xfffull) : base + i * 4096ull;
        entries[i].len = 4096;
    }
    m.n_entries = SMMU_MAP_MAX_ENTRIES;
    m.entries = entries;
    int n = smmu_msg_encode(&m, false, buf, SMMU_MSG_MAX);
    return n > 0 ? (size_t)n : gen_valid(r, c, seq, buf, SMMU_OP_SAFETY, 1);
}

/* ---- broken messages --------------------------------------------------------------- */

static void random_bytes(SoakRng *r, uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)rng_next(r);
}

/* One well-formed message broken in one place. */
static size_t mutate(SoakRng *r, uint8_t *buf, size_t n)
{
    unsigned how = (unsigned)rng_below(r, 9);
    if (how == 0 && n <= SMMU_MSG_HDR_SIZE) how = 1; /* a bare header cannot be cut and stay addressable */
    switch (how) {
    case 0: /* cut short, the size field left as it was */
        return SMMU_MSG_HDR_SIZE + rng_below(r, n - SMMU_MSG_HDR_SIZE);
    case 1: { /* trailing bytes, the size field updated or not */
        size_t extra = 1 + rng_below(r, 64);
        random_bytes(r, buf + n, extra);
        n += extra;
        if (rng_pct(r, 50)) put32(buf, (uint32_t)n);
        return n;
    }
    case 2: { /* a version nobody speaks */
        static const uint16_t v[] = { 0, 1, 3, 0xffff };
        put16(buf + 4, v[rng_below(r, G_N_ELEMENTS(v))]);
        return n;
    }
    case 3: { /* an op that is no request */
        static const uint16_t ops[] = { 0, 12, 13, 0xff, 0x100, 0x101, 0x102, 0x7fff, 0xffff };
        put16(buf + 6, ops[rng_below(r, G_N_ELEMENTS(ops))]);
        return n;
    }
    case 4: put32(buf, rng_pct(r, 50) ? (uint32_t)rng_next(r) : (uint32_t)n + (rng_pct(r, 50) ? 1 : -1)); return n;
    case 5: put32(buf + 12, rng_pct(r, 50) ? (uint32_t)-1 : (uint32_t)rng_next(r)); return n; /* a status in a request */
    case 6: /* bits flipped in the body */
        if (n > SMMU_MSG_HDR_SIZE)
            for (unsigned k = 1 + (unsigned)rng_below(r, 4); k; k--) {
                size_t at = SMMU_MSG_HDR_SIZE + rng_below(r, n - SMMU_MSG_HDR_SIZE);
                buf[at] ^= (uint8_t)(1u << rng_below(r, 8));
            }
        return n;
    case 7: /* a body byte replaced */
        if (n > SMMU_MSG_HDR_SIZE) buf[SMMU_MSG_HDR_SIZE + rng_below(r, n - SMMU_MSG_HDR_SIZE)] = (uint8_t)rng_next(r);
        return n;
    default: /* a count or a type word: MAPPING_ADD's n, REPORT_RESERVED's max, a devid's type */
        if (n >= 44) put32(buf + (rng_pct(r, 50) ? 40 : 16 + 4 * rng_below(r, (n - 20) / 4)), (uint32_t)rng_next(r));
        return n;
    }
}

size_t soak_msg_gen(SoakRng *r, const SoakMsgCtx *c, uint32_t seq, uint8_t *buf, SoakMsgKind *kind)
{
    unsigned k = (unsigned)rng_below(r, 1000);
    size_t n;
    if (k < 600) {
        *kind = SOAK_MSG_VALID;
        /* a connection without an object makes one soon: most of the
         * service is behind an object of one's own */
        uint16_t op = c->n_objs == 0 && rng_pct(r, 30) ? SMMU_OP_OBJ_CREATE : pick_op(r);
        n = gen_valid(r, c, seq, buf, op, SMMU_MAP_MAX_ENTRIES);
    } else if (k < 880) {
        *kind = SOAK_MSG_MUTATED;
        n = gen_valid(r, c, seq, buf, pick_op(r), 64);
        n = mutate(r, buf, n);
    } else if (k < 970) {
        *kind = SOAK_MSG_RANDOM;
        n = SMMU_MSG_HDR_SIZE + rng_below(r, rng_pct(r, 70) ? 48 : rng_pct(r, 95) ? 4096 : SMMU_MSG_MAX - 16);
        random_bytes(r, buf, n);
        if (rng_pct(r, 40)) { /* a header that reads well over a body that does not */
            put32(buf, (uint32_t)n);
            put16(buf + 4, SMMU_PROTO_VERSION);
            put16(buf + 6, (uint16_t)(1 + rng_below(r, SMMU_OP_LAST_REQUEST)));
            put32(buf + 12, 0);
        }
        put32(buf + 8, seq);
    } else if (k < 982) {
        *kind = SOAK_MSG_OVERSIZED;
        n = SMMU_MSG_MAX + 1 + rng_below(r, SOAK_MSG_CAP - SMMU_MSG_MAX - 1);
        size_t head = gen_valid(r, c, seq, buf, pick_op(r), 64);
        if (rng_pct(r, 50)) random_bytes(r, buf + head, n - head);
        else memset(buf + head, 0, n - head);
        if (rng_pct(r, 50)) put32(buf, (uint32_t)n);
    } else if (k < 992) {
        *kind = SOAK_MSG_FULL;
        n = gen_full(r, c, seq, buf);
    } else {
        *kind = SOAK_MSG_SHORT;
        n = 1 + rng_below(r, SMMU_MSG_HDR_SIZE - 1); /* 1..15: an empty packet reads as a hang-up */
        random_bytes(r, buf, n);
    }
    return n;
}
