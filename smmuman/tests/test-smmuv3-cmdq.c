/* Unit test of the SMMUv3 library's command queue, against a fake of what
 * QEMU's model does (docs/smmuv3.md, and the facts it was measured from):
 * commands run as PROD is written; a refused command stops the queue
 * there, sets CONS.ERR (which stays after recovery) and toggles
 * GERROR.CMDQ_ERR; moving CONS past it and then acknowledging GERRORN
 * resumes the rest. Also the invalidation of a change (map_segs): one
 * batch of TLBI_S2_IPA per call, decoded here with the architecture's bit
 * positions written out. The library's static functions are reached by
 * including its source; the walker is the real one. */
#include <check.h>

#include "check-run.h"

#include <string.h>

#include "../hw/smmuv3.c"

#define BASE 0x09050000ull
#define BAD_OPCODE 0x7full
#define ARENA_PA 0x48000000ull
#define PAGES 64
#define PG 4096ull

typedef struct {
    uint32_t prod, cons, gerror, gerrorn;
    unsigned executed[256]; /* opcodes run, in order */
    uint64_t cmd[256][2];   /* ...and the whole commands */
    unsigned nexec;
    unsigned accesses;      /* register reads and writes */
    unsigned prod_writes;
    unsigned frees, frees_at_prod; /* table pages freed, and when PROD was last written */
    unsigned refuse_left;   /* how many BAD_OPCODE commands to refuse */
    bool frozen;            /* a broken SMMU: never consumes */
    uint64_t *queue;        /* the library's queue memory */
} Fake;

static Fake fake;

static void run_queue(void)
{
    uint32_t mask = (2u << CMDQ_LOG2) - 1;
    while ((fake.cons & mask) != (fake.prod & mask)) {
        if (fake.gerror != fake.gerrorn) return; /* stopped on an error */
        uint64_t op = HW_EX64(fake.queue[2 * SMMU_Q_IDX(fake.cons, CMDQ_LOG2)], SMMU_CMD0, OPCODE);
        if (op == BAD_OPCODE && fake.refuse_left) {
            fake.refuse_left--;
            fake.cons = (fake.cons & mask) | (1u << 24); /* CERROR_ILL, sticky */
            fake.gerror ^= HW_MASK32(SMMU_GERROR, CMDQ_ERR);
            return;
        }
        memcpy(fake.cmd[fake.nexec % 256], &fake.queue[2 * SMMU_Q_IDX(fake.cons, CMDQ_LOG2)], 16);
        fake.executed[fake.nexec++ % 256] = (unsigned)op;
        fake.cons = (fake.cons & ~mask) | (((fake.cons & mask) + 1) & mask);
    }
}

static int f_read(void *ctx, uint64_t pa, unsigned size, uint64_t *v)
{
    (void)ctx, (void)size;
    fake.accesses++;
    switch (pa - BASE) {
    case SMMU_REG_CMDQ_CONS: *v = fake.cons; return 0;
    case SMMU_REG_GERROR: *v = fake.gerror; return 0;
    default: *v = 0; return 0;
    }
}

static int f_write(void *ctx, uint64_t pa, unsigned size, uint64_t v)
{
    (void)ctx, (void)size;
    fake.accesses++;
    switch (pa - BASE) {
    case SMMU_REG_CMDQ_PROD:
        fake.prod_writes++;
        fake.frees_at_prod = fake.frees;
        fake.prod = (uint32_t)v;
        if (!fake.frozen) run_queue();
        return 0;
    case SMMU_REG_CMDQ_CONS: fake.cons = (fake.cons & ~((2u << CMDQ_LOG2) - 1)) | ((uint32_t)v & ((2u << CMDQ_LOG2) - 1)); return 0;
    case SMMU_REG_GERRORN: fake.gerrorn = (uint32_t)v; run_queue(); return 0;
    default: return 0;
    }
}

static void f_log(void *ctx, SmmuLogLevel l, const char *fmt, ...) { (void)ctx, (void)l, (void)fmt; }

static void f_dss(void *ctx, const char *why) { (void)ctx; ck_abort_msg("DSS: %s", why); }

/* table memory for domains */
static uint8_t arena[PAGES * PG] __attribute__((aligned(4096)));
static bool arena_used[PAGES];

static int m_alloc(void *ctx, uint64_t *pa)
{
    (void)ctx;
    for (unsigned i = 0; i < PAGES; i++)
        if (!arena_used[i]) {
            arena_used[i] = true;
            memset(arena + i * PG, 0, PG);
            *pa = ARENA_PA + i * PG;
            return 0;
        }
    return -ENOMEM;
}

static void m_free(void *ctx, uint64_t pa)
{
    (void)ctx;
    arena_used[(pa - ARENA_PA) / PG] = false;
    fake.frees++;
}

static uint64_t *m_va(void *ctx, uint64_t pa) { (void)ctx; return (uint64_t *)(void *)(arena + (pa - ARENA_PA)); }
static void m_written(void *ctx, uint64_t pa) { (void)ctx, (void)pa; }

static uint64_t qmem[2 * 256];
static uint8_t vmid_used[256];
static SmmuHwUnit unit;
static SmmuHwDomain *domains[8]; /* freed by teardown */
static unsigned ndomains;

static void teardown(void)
{
    while (ndomains) {
        SmmuHwDomain *d = domains[--ndomains];
        pt_fini(&d->pt);
        free(d);
    }
}

static void setup(void)
{
    memset(&fake, 0, sizeof fake);
    memset(&unit, 0, sizeof unit);
    memset(qmem, 0, sizeof qmem);
    memset(arena_used, 0, sizeof arena_used);
    memset(vmid_used, 0, sizeof vmid_used);
    vmid_used[0] = 1;
    unit.base = BASE;
    unit.cmdq = qmem;
    unit.env.reg_read = f_read;
    unit.env.reg_write = f_write;
    unit.env.log = f_log;
    unit.env.dss = f_dss;
    unit.env.mem = (PtMem){ NULL, m_alloc, m_free, m_va, m_written };
    unit.idr3 = 0x1414; /* QEMU 10's IDR3: RIL (bit 10) among others */
    unit.vmid_used = vmid_used;
    unit.nvmid = 256;
    strcpy(unit.name, "smmu0");
    fake.queue = qmem;
}

START_TEST(commands_run_and_sync_is_awaited)
{
    char err[160] = "";
    const uint64_t c[2][2] = { { CMD_CFGI_ALL }, { SMMU_OP_TLBI_S12_VMALL, 0 } };
    ck_assert_int_eq(cmd_submit(&unit, c, 2, err, sizeof err), 0);
    ck_assert_uint_eq(fake.nexec, 3);
    ck_assert_uint_eq(fake.executed[2], SMMU_OP_CMD_SYNC);
}
END_TEST

START_TEST(one_refusal_is_skipped_and_the_batch_rerun)
{
    char err[160] = "";
    fake.refuse_left = 1;
    const uint64_t c[2][2] = { { BAD_OPCODE, 0 }, { SMMU_OP_TLBI_S12_VMALL, 0 } };
    ck_assert_int_eq(cmd_submit(&unit, c, 2, err, sizeof err), 0);
    /* the first pass ran TLBI+SYNC after the skipped command, the second all three */
    ck_assert_uint_eq(fake.nexec, 5);
    ck_assert_uint_eq(fake.gerror, fake.gerrorn); /* acknowledged */
    /* CONS.ERR stays set in the model: later batches must still succeed */
    ck_assert(fake.cons & (0x7fu << 24));
    const uint64_t d[1][2] = { { CMD_CFGI_ALL } };
    ck_assert_int_eq(cmd_submit(&unit, d, 1, err, sizeof err), 0);
    ck_assert_uint_eq(fake.executed[fake.nexec - 1], SMMU_OP_CMD_SYNC);
}
END_TEST

START_TEST(a_second_refusal_is_fatal)
{
    char err[160] = "";
    fake.refuse_left = 2;
    const uint64_t c[1][2] = { { BAD_OPCODE, 0 } };
    ck_assert_int_eq(cmd_submit(&unit, c, 1, err, sizeof err), -EIO);
    ck_assert_msg(strstr(err, "command queue error 1"), "%s", err);
}
END_TEST

START_TEST(a_stuck_queue_times_out)
{
    char err[160] = "";
    fake.frozen = true; /* PROD is written, nothing is ever consumed */
    const uint64_t c[1][2] = { { CMD_CFGI_ALL } };
    ck_assert_int_eq(cmd_submit(&unit, c, 1, err, sizeof err), -ETIMEDOUT);
    ck_assert_msg(strstr(err, "commands not consumed"), "%s", err);
}
END_TEST

/* A TLBI_S2_IPA as the architecture lays it out (SMMUv3 4.4.2): opcode
 * 0x2a, NUM 16:12, SCALE 24:20, VMID 47:32; Leaf bit 0, TTL 9:8, TG 11:10,
 * Address 63:12 of the second qword. */
typedef struct {
    unsigned op, num, scale, vmid, leaf, ttl, tg;
    uint64_t addr;
} Tlbi;

static Tlbi decode(const uint64_t *c)
{
    return (Tlbi){ .op = c[0] & 0xff, .num = (c[0] >> 12) & 0x1f, .scale = (c[0] >> 20) & 0x1f,
                   .vmid = (c[0] >> 32) & 0xffff, .leaf = c[1] & 1, .ttl = (c[1] >> 8) & 3,
                   .tg = (c[1] >> 10) & 3, .addr = c[1] & ~0xfffull };
}

START_TEST(tlbi_s2_ipa_has_the_architectures_layout)
{
    uint64_t c[TLBI_MAX + 1][2];
    /* 31 pages from an address: NUM 30, SCALE 0, TG 4 KiB, Leaf */
    ck_assert_uint_eq(tlbi_cmds(&unit, 0x1234, 0x40001000, 0x40001000 + 31 * PG, true, c, TLBI_MAX), 1);
    ck_assert_uint_eq(c[0][0], 0x2aull | 30ull << 12 | 0ull << 20 | 0x1234ull << 32);
    ck_assert_uint_eq(c[0][1], 0x40001000ull | 1ull | 1ull << 10);
    /* 48 pages: 3 << 4, NUM 2, SCALE 4; Leaf 0 */
    ck_assert_uint_eq(tlbi_cmds(&unit, 7, 0x40000000, 0x40000000 + 48 * PG, false, c, TLBI_MAX), 1);
    ck_assert_uint_eq(c[0][0], 0x2aull | 2ull << 12 | 4ull << 20 | 7ull << 32);
    ck_assert_uint_eq(c[0][1], 0x40000000ull | 1ull << 10);
    /* without range invalidation: one per page, TG 0 (a single address), NUM and SCALE 0 */
    unit.idr3 = 0;
    ck_assert_uint_eq(tlbi_cmds(&unit, 7, 0x40000000, 0x40000000 + 3 * PG, true, c, TLBI_MAX), 3);
    for (unsigned i = 0; i < 3; i++) {
        ck_assert_uint_eq(c[i][0], 0x2aull | 7ull << 32);
        ck_assert_uint_eq(c[i][1], (0x40000000ull + i * PG) | 1ull);
    }
    ck_assert_uint_eq(tlbi_cmds(&unit, 7, 0x40000000, 0x40000000 + 17 * PG, true, c, TLBI_MAX), TLBI_MAX + 1);
}
END_TEST

/* Random ranges, decoded as QEMU's smmuv3_range_inval() does: TG 1 is a
 * 4 KiB granule, (NUM + 1) << SCALE granules from the address; together
 * the commands cover the range exactly, and any range of a 39-bit IPA
 * takes at most six. */
START_TEST(range_commands_cover_random_ranges)
{
    uint64_t c[TLBI_MAX + 1][2];
    srand(3);
    for (unsigned r = 0; r < 20000; r++) {
        uint64_t start = ((uint64_t)rand() << 12) % (1ull << IPA_BITS);
        uint64_t pages = 1 + (((uint64_t)rand() << 16 ^ (uint64_t)rand()) >> (rand() % 30)) % (1ull << 27);
        if (start + pages * PG > 1ull << IPA_BITS) continue;
        unsigned n = tlbi_cmds(&unit, 9, start, start + pages * PG, true, c, TLBI_MAX);
        ck_assert_uint_le(n, 6);
        uint64_t at = start;
        for (unsigned i = 0; i < n; i++) {
            Tlbi t = decode(c[i]);
            ck_assert_uint_eq(t.op, 0x2a);
            ck_assert_uint_eq(t.vmid, 9);
            ck_assert_uint_eq(t.tg, 1);
            ck_assert_uint_eq(t.ttl, 0);
            ck_assert_uint_eq(t.addr, at);
            at += ((uint64_t)(t.num + 1) << t.scale) * PG;
        }
        ck_assert_uint_eq(at, start + pages * PG);
    }
}
END_TEST

static SmmuHwDomain *domain(void)
{
    SmmuHwDomain *d = NULL;
    char err[160] = "";
    ck_assert_int_eq(domain_create(&unit, &d, err, sizeof err), 0);
    ck_assert_uint_lt(ndomains, 8);
    return domains[ndomains++] = d;
}

static void apply(SmmuHwDomain *d, const SmmuHwSeg *s, unsigned n)
{
    char err[160] = "";
    ck_assert_msg(map_segs(&unit, d, s, n, err, sizeof err) == 0, "%s", err);
}

/* k separate pages, 8 KiB apart from iova (perms 0: unmap) */
static unsigned segs_of(SmmuHwSeg *s, unsigned k, uint64_t iova, unsigned perms)
{
    for (unsigned i = 0; i < k; i++)
        s[i] = (SmmuHwSeg){ iova + i * 2 * PG, 0x80000000ull + i * 2 * PG, PG, perms };
    return k;
}

static void reset_counts(void)
{
    fake.accesses = fake.prod_writes = fake.nexec = 0;
}

START_TEST(k_separate_pages_cost_one_batch)
{
    SmmuHwDomain *d = domain();
    static const unsigned ks[] = { 1, 2, 16, 64 };
    for (unsigned ki = 0; ki < sizeof ks / sizeof ks[0]; ki++) {
        SmmuHwSeg s[64];
        const unsigned k = ks[ki];
        const uint64_t iova = 0x40000000ull + ki * 0x200000ull;
        reset_counts();
        apply(d, s, segs_of(s, k, iova, PT_READ)); /* only empty entries filled: nothing cached */
        ck_assert_uint_eq(fake.accesses, 0);
        apply(d, s, segs_of(s, k, iova, PT_READ | PT_WRITE));
        ck_assert_uint_eq(fake.prod_writes, 1);
        ck_assert_uint_eq(fake.accesses, 2); /* PROD written, CONS read once */
        /* the gathered range, 2k - 1 pages: one range command (k <= 16) or two, then CMD_SYNC */
        uint64_t at = iova;
        for (unsigned i = 0; i + 1 < fake.nexec; i++) {
            Tlbi t = decode(fake.cmd[i]);
            ck_assert_uint_eq(t.op, 0x2a);
            ck_assert_uint_eq(t.vmid, d->vmid);
            ck_assert_uint_eq(t.leaf, 1);
            ck_assert_uint_eq(t.addr, at);
            at += ((uint64_t)(t.num + 1) << t.scale) * PG;
        }
        ck_assert_uint_eq(at, iova + (2 * k - 1) * PG);
        ck_assert_uint_le(fake.nexec, 3);
        ck_assert_uint_eq(fake.executed[fake.nexec - 1], 0x46);
        reset_counts();
        apply(d, s, segs_of(s, k, iova, 0)); /* unmap */
        ck_assert_uint_eq(fake.accesses, 2);
    }
}
END_TEST

START_TEST(without_ril_past_sixteen_pages_the_vmid_goes)
{
    unit.idr3 = 0;
    SmmuHwDomain *d = domain();
    SmmuHwSeg s[16];
    apply(d, s, segs_of(s, 8, 0x40000000, PT_READ));
    reset_counts();
    apply(d, s, segs_of(s, 8, 0x40000000, 0)); /* 15 pages: one command each */
    ck_assert_uint_eq(fake.nexec, 16);
    for (unsigned i = 0; i < 15; i++) ck_assert_uint_eq(decode(fake.cmd[i]).addr, 0x40000000 + i * PG);
    apply(d, s, segs_of(s, 16, 0x40000000, PT_READ));
    reset_counts();
    apply(d, s, segs_of(s, 16, 0x40000000, 0)); /* 31 pages */
    ck_assert_uint_eq(fake.nexec, 2);
    ck_assert_uint_eq(fake.executed[0], 0x28); /* TLBI_S12_VMALL */
    ck_assert_uint_eq((fake.cmd[0][0] >> 32) & 0xffff, d->vmid);
}
END_TEST

START_TEST(freed_tables_wait_for_the_invalidation_and_walk_caches_go)
{
    SmmuHwDomain *d = domain();
    SmmuHwSeg s[1] = { { 0x40200000, 0x80000000, PG, PT_READ } };
    apply(d, s, 1);
    const unsigned frees = fake.frees;
    s[0].perms = 0;
    reset_counts();
    apply(d, s, 1); /* the tables empty and go */
    ck_assert_uint_eq(fake.prod_writes, 1);
    ck_assert_uint_eq(fake.frees_at_prod, frees);
    ck_assert_uint_gt(fake.frees, frees);
    Tlbi t = decode(fake.cmd[0]);
    ck_assert_uint_eq(t.op, 0x2a);
    ck_assert_uint_eq(t.leaf, 0); /* walk caches too */
    ck_assert_uint_eq(t.addr, 0x40200000);
}
END_TEST

/* The encodings, pinned against the architecture's layout written out here
 * bit by bit (SMMUv3 spec 5.2 STE, 4.1 commands), not through the header's
 * names: a wrong shift or width there fails here. */
START_TEST(stream_table_entry_has_the_architectures_layout)
{
    SmmuHwDomain d = { .vmid = 0x1234 };
    d.pt.root = 0x40123000;
    unit.oas = 4; /* 44 bits */
    uint64_t e[SMMU_STE_QWORDS];
    ste_for(&unit, &d, e);
    ck_assert_uint_eq(e[0], 1ull << 0 | 6ull << 1);          /* V, Config 0b110: stage 2 only */
    ck_assert_uint_eq(e[1], 0);
    ck_assert_uint_eq(e[2], 0x1234ull                          /* S2VMID 15:0 */
                                | 25ull << 32                  /* S2T0SZ 37:32: 64 - 39 */
                                | 1ull << 38                   /* S2SL0 39:38: walk from level 1 */
                                | 1ull << 40 | 1ull << 42      /* S2IR0, S2OR0: write-back */
                                | 3ull << 44                   /* S2SH0: inner shareable */
                                | 0ull << 46                   /* S2TG: 4 KiB */
                                | 4ull << 48                   /* S2PS 50:48 */
                                | 1ull << 51                   /* S2AA64 */
                                | 1ull << 58);                 /* S2R */
    ck_assert_uint_eq(e[3], 0x40123000ull);                    /* S2TTB 51:4 */
    for (unsigned i = 4; i < SMMU_STE_QWORDS; i++) ck_assert_uint_eq(e[i], 0);
}
END_TEST

START_TEST(commands_have_the_architectures_layout)
{
    const uint64_t all[2] = { CMD_CFGI_ALL }, nsnh[2] = { CMD_TLBI_NSNH_ALL };
    ck_assert_uint_eq(all[0], 0x04);
    ck_assert_uint_eq(all[1], 31);                             /* Range 4:0 = 31: every StreamID */
    ck_assert_uint_eq(nsnh[0], 0x30);
    ck_assert_uint_eq(nsnh[1], 0);
    /* CFGI_STE: SID 63:32, Leaf bit 0 of the second qword */
    unit.cfgi_sid = 0x20;
    ck_assert_int_eq(sync_ste(&unit), 0);
    ck_assert_uint_eq(qmem[0], 0x03ull | 0x20ull << 32);
    ck_assert_uint_eq(qmem[1], 1);
    ck_assert_uint_eq(qmem[2], 0x46);                          /* CMD_SYNC, CS 0 */
    ck_assert_uint_eq(qmem[3], 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("smmuv3-cmdq");
    TCase *tc = tcase_create("cmdq");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, commands_run_and_sync_is_awaited);
    tcase_add_test(tc, one_refusal_is_skipped_and_the_batch_rerun);
    tcase_add_test(tc, a_second_refusal_is_fatal);
    tcase_add_test(tc, a_stuck_queue_times_out);
    tcase_add_test(tc, stream_table_entry_has_the_architectures_layout);
    tcase_add_test(tc, commands_have_the_architectures_layout);
    tcase_add_test(tc, tlbi_s2_ipa_has_the_architectures_layout);
    tcase_add_test(tc, range_commands_cover_random_ranges);
    tcase_add_test(tc, k_separate_pages_cost_one_batch);
    tcase_add_test(tc, without_ril_past_sixteen_pages_the_vmid_goes);
    tcase_add_test(tc, freed_tables_wait_for_the_invalidation_and_walk_caches_go);
    suite_add_tcase(s, tc);
    return check_run(s);
}
