/* Unit test of the VT-d library's invalidation of a change (map_segs),
 * against a fake of what QEMU's intel-iommu model does with the queue
 * (docs/vtd.md): descriptors run as IQT is written; a reserved bit, an
 * unknown type or granularity, or a page-selective AM above CAP.MAMV stops
 * the queue with FSTS.IQE; a wait descriptor's status write lands at once.
 * The fake decodes every descriptor with the bit positions of the VT-d
 * specification written out here, not with vtd-regs.h's names, so a wrong
 * shift or width there fails here. The library's static functions are
 * reached by including its source; the walker is the real one. */
#include <check.h>

#include "check-run.h"

#include <stdlib.h>
#include <string.h>

#include "../hw/vtd.c"

#define BASE      0xfed90000ull
#define ARENA_PA  0x10000000ull
#define PAGES     256
#define QEMU_CAP  0x00d2008c222f0606ull /* q35's intel-iommu in QEMU 10.0: CM=0, PSI, MAMV 18 */
#define PG        4096ull

typedef struct {
    unsigned g;     /* 1 global, 2 domain, 3 page */
    uint16_t did;
    uint64_t addr;  /* page-selective */
    unsigned am, ih;
} Iotlb;

typedef struct {
    /* table memory */
    uint8_t *mem;
    bool used[PAGES];
    unsigned allocs, frees;
    /* registers */
    unsigned reads, writes, iqt_writes;
    unsigned head;
    uint32_t fsts;
    /* what the queue ran since the last reset */
    Iotlb iotlb[64];
    unsigned niotlb, nwait, ncc;
    unsigned frees_at_iqt; /* pages freed when the last IQT write came */
    bool aborted;          /* a descriptor QEMU asserts on */
} Fake;

static Fake fake;
static SmmuHwUnit *unit;
static SmmuHwDomain *domains[8]; /* freed by teardown */
static unsigned ndomains;

static uint64_t *page_va(uint64_t pa) { return (uint64_t *)(void *)(fake.mem + (pa - ARENA_PA)); }

static int m_alloc(void *ctx, uint64_t *pa)
{
    (void)ctx;
    for (unsigned i = 0; i < PAGES; i++)
        if (!fake.used[i]) {
            fake.used[i] = true;
            fake.allocs++;
            memset(fake.mem + i * PG, 0, PG);
            *pa = ARENA_PA + i * PG;
            return 0;
        }
    return -ENOMEM;
}

static void m_free(void *ctx, uint64_t pa)
{
    (void)ctx;
    unsigned i = (unsigned)((pa - ARENA_PA) / PG);
    ck_assert(fake.used[i]);
    fake.used[i] = false;
    fake.frees++;
}

static uint64_t *m_va(void *ctx, uint64_t pa) { (void)ctx; return page_va(pa); }
static void m_written(void *ctx, uint64_t pa) { (void)ctx, (void)pa; }

static int m_pages(void *ctx, unsigned n, bool digest, uint64_t *pa, void **va)
{
    (void)digest;
    ck_assert_uint_eq(n, 1);
    int rc = m_alloc(ctx, pa);
    if (!rc) *va = page_va(*pa);
    return rc;
}

/* One descriptor as QEMU 10's vtd_process_inv_desc() takes it: false stops
 * the queue (FSTS.IQE). */
static bool run_desc(uint64_t lo, uint64_t hi)
{
    switch (lo & 0xf) {
    case 0x1: /* context-cache invalidate */
        fake.ncc++;
        return ((lo >> 4) & 3) != 0;
    case 0x2: { /* IOTLB invalidate: reserved low 63:32, 15:12, 8; high 11:7 */
        if ((lo & 0xffffffff0000f100ull) || (hi & 0xf80ull)) return false;
        Iotlb t = { .g = (unsigned)(lo >> 4) & 3, .did = (uint16_t)(lo >> 16), .addr = hi & ~0xfffull,
                    .am = (unsigned)hi & 0x3f, .ih = (unsigned)(hi >> 6) & 1 };
        if (t.g == 0) return false;
        if (t.g == 3 && t.am > ((QEMU_CAP >> 48) & 0x3f)) return false; /* AM above MAMV */
        ck_assert_uint_lt(fake.niotlb, 64);
        fake.iotlb[fake.niotlb++] = t;
        return true;
    }
    case 0x5: /* wait: IF bit 4, SW bit 5, FN bit 6, data 63:32, address 63:2 */
        if ((lo & (1u << 4)) && (lo & (1u << 5))) fake.aborted = true; /* QEMU asserts */
        if (!(lo & (3u << 4))) return false;
        if (lo & (1u << 5)) *(volatile uint32_t *)(void *)page_va(hi & ~3ull) = (uint32_t)(lo >> 32);
        fake.nwait++;
        return true;
    default:
        return false;
    }
}

static int f_read(void *ctx, uint64_t pa, unsigned size, uint64_t *v)
{
    (void)ctx, (void)size;
    fake.reads++;
    *v = pa - BASE == VTD_REG_FSTS ? fake.fsts : 0;
    return 0;
}

static int f_write(void *ctx, uint64_t pa, unsigned size, uint64_t v)
{
    (void)ctx;
    fake.writes++;
    if (pa - BASE != 0x88) return 0; /* IQT */
    ck_assert_uint_eq(size, 8);
    fake.iqt_writes++;
    fake.frees_at_iqt = fake.frees;
    unsigned tail = (unsigned)(v >> 4) & 0x7fff; /* QT 18:4 */
    while (!(fake.fsts & (1u << 4)) && fake.head != tail) {
        const uint64_t *d = &unit->iq[2 * fake.head];
        if (!run_desc(d[0], d[1])) {
            fake.fsts |= 1u << 4; /* IQE: the head stays at the bad descriptor */
            break;
        }
        fake.head = (fake.head + 1) % 256;
    }
    return 0;
}

static void f_log(void *ctx, SmmuLogLevel l, const char *fmt, ...) { (void)ctx, (void)l, (void)fmt; }
static void f_dss(void *ctx, const char *why) { (void)ctx; ck_abort_msg("DSS: %s", why); }

static void reset_counts(void)
{
    fake.reads = fake.writes = fake.iqt_writes = 0;
    fake.niotlb = fake.nwait = fake.ncc = 0;
}

/* A unit as unit_open() leaves it, without its bring-up: the queue, the
 * status word and a domain bookkeeping, with capabilities `cap`. */
static void setup_cap(uint64_t cap)
{
    memset(&fake, 0, sizeof fake);
    fake.mem = aligned_alloc(PG, PAGES * PG);
    ck_assert(fake.mem);
    unit = calloc(1, sizeof *unit);
    ck_assert(unit);
    unit->env = (SmmuHwEnv){ .reg_read = f_read, .reg_write = f_write, .pages = m_pages, .log = f_log, .dss = f_dss,
                             .mem = { NULL, m_alloc, m_free, m_va, m_written } };
    unit->base = BASE;
    strcpy(unit->name, "dmar0");
    unit->ver = 0x10;
    unit->ecap = 0xf00f4a; /* QEMU's: QI among others */
    unit->cap = cap;
    char err[160] = "";
    ck_assert_int_eq(probe_caps(unit, err, sizeof err), 0);
    unit->did_used = calloc(unit->ndids, 1);
    unit->did_used[0] = 1;
    void *va;
    ck_assert_int_eq(m_pages(NULL, 1, false, &unit->iq_pa, &va), 0);
    unit->iq = va;
    ck_assert_int_eq(m_pages(NULL, 1, false, &unit->status_pa, &va), 0);
    unit->status = va;
}

static void setup(void) { setup_cap(QEMU_CAP); }

static void teardown(void)
{
    ck_assert(!fake.aborted);
    /* not domain_destroy(): a test may leave the queue stopped */
    while (ndomains) {
        SmmuHwDomain *d = domains[--ndomains];
        pt_fini(&d->pt);
        free(d);
    }
    free(unit->did_used);
    free(unit);
    free(fake.mem);
}

static SmmuHwDomain *domain(void)
{
    SmmuHwDomain *d = NULL;
    char err[160] = "";
    ck_assert_int_eq(domain_create(unit, &d, err, sizeof err), 0);
    ck_assert_uint_lt(ndomains, 8);
    return domains[ndomains++] = d;
}

/* k separate pages, 8 KiB apart from iova (perms 0: unmap) */
static unsigned segs_of(SmmuHwSeg *s, unsigned k, uint64_t iova, unsigned perms)
{
    for (unsigned i = 0; i < k; i++)
        s[i] = (SmmuHwSeg){ iova + i * 2 * PG, 0x80000000ull + i * 2 * PG, PG, perms };
    return k;
}

static void apply(SmmuHwDomain *d, const SmmuHwSeg *s, unsigned n)
{
    char err[160] = "";
    ck_assert_msg(map_segs(unit, d, s, n, err, sizeof err) == 0, "%s", err);
}

/* The page-selective descriptors run since the last reset cover exactly
 * [start, end) of domain did, each aligned to its own size, none overlapping. */
static void expect_psi_cover(uint16_t did, uint64_t start, uint64_t end)
{
    uint64_t at = start;
    for (unsigned i = 0; i < fake.niotlb; i++) {
        const Iotlb *t = &fake.iotlb[i];
        ck_assert_uint_eq(t->g, 3);
        ck_assert_uint_eq(t->did, did);
        const uint64_t size = PG << t->am;
        ck_assert_msg(t->addr % size == 0, "0x%llx not aligned to 2^%u pages", (unsigned long long)t->addr, t->am);
        ck_assert_uint_eq(t->addr, at);
        at += size;
    }
    ck_assert_uint_eq(at, end);
}

START_TEST(descriptors_have_the_specifications_layout)
{
    SmmuHwDomain *d = domain();
    SmmuHwSeg s[1];
    apply(d, s, segs_of(s, 1, 0x12340000, PT_READ)); /* pure map: nothing queued */
    reset_counts();
    apply(d, s, segs_of(s, 1, 0x12340000, PT_READ | PT_WRITE));
    const uint64_t *q = unit->iq;
    /* IOTLB, granularity page (3 << 4), DW bit 6, DR bit 7, DID 31:16 */
    ck_assert_uint_eq(q[0], 0x2ull | 3ull << 4 | 1ull << 6 | 1ull << 7 | (uint64_t)d->did << 16);
    /* ADDR 63:12, IH bit 6 (only a leaf changed), AM 5:0 = 0: one page */
    ck_assert_uint_eq(q[1], 0x12340000ull | 1ull << 6);
    /* wait: type 5, SW bit 5, FN bit 6, status data 63:32; address */
    ck_assert_uint_eq(q[2], 0x5ull | 1ull << 5 | 1ull << 6 | (uint64_t)unit->wait_seq << 32);
    ck_assert_uint_eq(q[3], unit->status_pa);
    ck_assert_uint_eq(fake.iqt_writes, 1);
    ck_assert_uint_eq(fake.reads + fake.writes, 1); /* the IQT write: status is polled in RAM */
}
END_TEST

START_TEST(a_pure_map_needs_no_invalidation_when_caching_mode_is_off)
{
    SmmuHwDomain *d = domain();
    SmmuHwSeg s[16];
    reset_counts();
    apply(d, s, segs_of(s, 16, 0x40000000, PT_READ | PT_WRITE)); /* tables created and filled */
    ck_assert_uint_eq(fake.reads + fake.writes, 0);
    apply(d, s, segs_of(s, 16, 0x40000000, PT_READ | PT_WRITE)); /* the same again: nothing changes */
    ck_assert_uint_eq(fake.reads + fake.writes, 0);
}
END_TEST

START_TEST(caching_mode_invalidates_a_pure_map_walk_caches_included)
{
    teardown();
    setup_cap(QEMU_CAP | 1ull << 7); /* CM */
    SmmuHwDomain *d = domain();
    SmmuHwSeg s[16];
    reset_counts();
    apply(d, s, segs_of(s, 16, 0x40000000, PT_READ));
    ck_assert_uint_eq(fake.iqt_writes, 1);
    expect_psi_cover(d->did, 0x40000000, 0x40000000 + 31 * PG);
    /* an empty non-leaf entry may have been cached: IH=0 */
    for (unsigned i = 0; i < fake.niotlb; i++) ck_assert_uint_eq(fake.iotlb[i].ih, 0);
}
END_TEST

START_TEST(k_separate_pages_cost_one_submission)
{
    SmmuHwDomain *d = domain();
    static const unsigned ks[] = { 1, 2, 16, 64 };
    for (unsigned ki = 0; ki < sizeof ks / sizeof ks[0]; ki++) {
        SmmuHwSeg s[64];
        const unsigned k = ks[ki];
        const uint64_t iova = 0x40000000ull + ki * 0x1000000ull;
        apply(d, s, segs_of(s, k, iova, PT_READ));
        reset_counts();
        apply(d, s, segs_of(s, k, iova, PT_READ | PT_WRITE)); /* every entry changes */
        ck_assert_uint_eq(fake.iqt_writes, 1);
        ck_assert_uint_eq(fake.reads + fake.writes, 1);
        ck_assert_uint_eq(fake.nwait, 1);
        /* the gathered range, 2k - 1 pages from an aligned start, in at
         * most 7 aligned blocks: page-selective */
        expect_psi_cover(d->did, iova, iova + (2 * k - 1) * PG);
        for (unsigned i = 0; i < fake.niotlb; i++) ck_assert_uint_eq(fake.iotlb[i].ih, 1);
        reset_counts();
        apply(d, s, segs_of(s, k, iova, 0)); /* unmap: k segments again */
        ck_assert_uint_eq(fake.reads + fake.writes, 1);
    }
}
END_TEST

START_TEST(a_scattered_range_falls_back_to_the_domain)
{
    SmmuHwDomain *d = domain();
    /* two pages whose gathered range [A, B) takes more than 16 aligned
     * blocks: A just above a 1 GiB boundary, B far up, both unaligned */
    SmmuHwSeg s[2] = { { 0x40001000, 0x80000000, PG, PT_READ }, { 0x7fffe000, 0x90000000, PG, PT_READ } };
    apply(d, s, 2);
    s[0].perms = s[1].perms = PT_READ | PT_WRITE;
    reset_counts();
    apply(d, s, 2);
    ck_assert_uint_eq(fake.iqt_writes, 1);
    ck_assert_uint_eq(fake.niotlb, 1);
    ck_assert_uint_eq(fake.iotlb[0].g, 2); /* domain-selective */
    ck_assert_uint_eq(fake.iotlb[0].did, d->did);
}
END_TEST

START_TEST(without_psi_the_domain_goes)
{
    teardown();
    setup_cap(QEMU_CAP & ~(1ull << 39));
    SmmuHwDomain *d = domain();
    SmmuHwSeg s[1];
    apply(d, s, segs_of(s, 1, 0x40000000, PT_READ));
    reset_counts();
    apply(d, s, segs_of(s, 1, 0x40000000, 0));
    ck_assert_uint_eq(fake.niotlb, 1);
    ck_assert_uint_eq(fake.iotlb[0].g, 2);
}
END_TEST

START_TEST(freed_tables_wait_for_the_invalidation_and_walk_caches_go)
{
    SmmuHwDomain *d = domain();
    SmmuHwSeg s[1] = { { 0x40200000, 0x80000000, PG, PT_READ } };
    apply(d, s, 1); /* a level-0 table under an empty 2 MiB entry */
    const unsigned frees = fake.frees;
    s[0].perms = 0;
    reset_counts();
    apply(d, s, 1); /* the table empties and goes */
    ck_assert_uint_eq(fake.iqt_writes, 1);
    ck_assert_uint_eq(fake.frees_at_iqt, frees); /* nothing freed before the invalidation ran */
    ck_assert_uint_gt(fake.frees, frees);        /* ...and freed after it */
    expect_psi_cover(d->did, 0x40200000, 0x40200000 + PG);
    ck_assert_uint_eq(fake.iotlb[0].ih, 0); /* a non-leaf entry changed */
}
END_TEST

START_TEST(large_aligned_ranges_take_one_descriptor_up_to_mamv)
{
    uint64_t addr[VTD_PSI_MAX + 1];
    unsigned order[VTD_PSI_MAX + 1];
    /* 1 GiB aligned: one block of 2^18 pages (AM 18 = QEMU's MAMV) */
    ck_assert_uint_eq(aligned_blocks(1ull << 30, 2ull << 30, 18, addr, order, VTD_PSI_MAX), 1);
    ck_assert_uint_eq(order[0], 18);
    /* 2 GiB aligned: two, MAMV caps AM */
    ck_assert_uint_eq(aligned_blocks(0, 2ull << 30, 18, addr, order, VTD_PSI_MAX), 2);
    ck_assert_uint_eq(order[1], 18);
    ck_assert_uint_eq(addr[1], 1ull << 30);
}
END_TEST

/* Random ranges: the blocks cover them exactly, aligned, within MAMV, and
 * any range of up to 256 pages fits the 16 descriptors. */
START_TEST(aligned_blocks_cover_random_ranges)
{
    uint64_t addr[VTD_PSI_MAX + 1];
    unsigned order[VTD_PSI_MAX + 1];
    srand(9);
    for (unsigned r = 0; r < 20000; r++) {
        uint64_t start = ((uint64_t)rand() << 12) % (1ull << 39) & ~(PG - 1);
        uint64_t pages = r % 2 ? 1 + (unsigned)rand() % 256 : 1 + ((uint64_t)rand() << 3) % (1ull << 20);
        if (start + pages * PG > 1ull << 39) continue;
        unsigned n = aligned_blocks(start, start + pages * PG, 18, addr, order, VTD_PSI_MAX);
        if (pages <= 256) ck_assert_uint_le(n, VTD_PSI_MAX);
        if (n > VTD_PSI_MAX) continue;
        uint64_t at = start;
        for (unsigned i = 0; i < n; i++) {
            ck_assert_uint_le(order[i], 18);
            ck_assert_uint_eq(addr[i], at);
            ck_assert_uint_eq(addr[i] % (PG << order[i]), 0);
            at += PG << order[i];
        }
        ck_assert_uint_eq(at, start + pages * PG);
    }
}
END_TEST

START_TEST(a_refused_descriptor_is_an_error_not_a_hang)
{
    /* The library believes in a larger MAMV than the unit has: the
     * descriptor is refused (FSTS.IQE) and map_segs says so at once. */
    unit->cap |= 0x3full << 48;
    SmmuHwDomain *d = domain();
    SmmuHwSeg s[1] = { { 0, 0x80000000, 2ull << 30, PT_READ } }; /* two 1 GiB leaves */
    apply(d, s, 1);                                              /* pure map: nothing queued */
    s[0].perms = 0;
    char err[160] = "";
    /* [0, 2 GiB) is one aligned block of AM 19, above QEMU's 18 */
    ck_assert_int_eq(map_segs(unit, d, s, 1, err, sizeof err), -ETIMEDOUT);
    ck_assert_msg(strstr(err, "not completed"), "%s", err);
    ck_assert_uint_eq(fake.niotlb, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("vtd-inval");
    TCase *tc = tcase_create("inval");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, descriptors_have_the_specifications_layout);
    tcase_add_test(tc, a_pure_map_needs_no_invalidation_when_caching_mode_is_off);
    tcase_add_test(tc, caching_mode_invalidates_a_pure_map_walk_caches_included);
    tcase_add_test(tc, k_separate_pages_cost_one_submission);
    tcase_add_test(tc, a_scattered_range_falls_back_to_the_domain);
    tcase_add_test(tc, without_psi_the_domain_goes);
    tcase_add_test(tc, freed_tables_wait_for_the_invalidation_and_walk_caches_go);
    tcase_add_test(tc, large_aligned_ranges_take_one_descriptor_up_to_mamv);
    tcase_add_test(tc, aligned_blocks_cover_random_ranges);
    tcase_add_test(tc, a_refused_descriptor_is_an_error_not_a_hang);
    suite_add_tcase(s, tc);
    return check_run(s);
}
