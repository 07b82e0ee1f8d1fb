/* The core in-process, against a fake back end that records every attach,
 * table change and domain, keeps each domain's translation page by page,
 * and fails the n-th call on demand (as iommufd's fail_nth does). No QEMU:
 * ownership, the union of regions, all-or-nothing changes and their
 * rollback, fault routing and every DSS decision, as the shell would see
 * them through the hooks. */
#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "../core/core.h"
#include "check-run.h"

#define PAGE 0x1000ull
#define BLOCK (2ull << 20) /* the fake's table page covers 2 MiB */

/* ---- the fake back end ---------------------------------------------------- */

struct SmmuHwUnit {
    unsigned index;
    unsigned iova_bits, pa_bits;
    uint32_t max_sid;
    GHashTable *attached;  /* sid -> SmmuHwDomain* */
    GArray *faults;        /* SmmuHwFault: handed out by the next poll */
    int poll_rc;           /* fault_poll fails with this, when not 0 */
};

struct SmmuHwDomain {
    unsigned id;
    SmmuHwUnit *u;
    GHashTable *pages;     /* iova page -> pa | perms */
};

typedef struct {
    GPtrArray *log;        /* what the back end was asked, one line each */
    unsigned calls;        /* changing calls so far (domain_create, attach, map_segs) */
    unsigned fail_at;      /* that call fails (0: none) */
    int fail_rc;
    bool fail_half;        /* a failing map_segs makes half its changes first */
    bool fail_on;          /* every call from fail_at on fails, not just that one */
    unsigned next_domain;
    GPtrArray *domains;    /* live SmmuHwDomain* */
    GPtrArray *dss;        /* reasons the core decided */
    GPtrArray *lines;      /* log lines */
    GPtrArray *notified;   /* "client N pending P" */
} Fake;

static Fake F;

static void record(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static void record(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_ptr_array_add(F.log, g_strdup_vprintf(fmt, ap));
    va_end(ap);
}

/* The n-th changing call fails (before changing anything, as the ABI
 * requires of a refusal, except map_segs with fail_half). */
static bool fails_now(void)
{
    F.calls++;
    return F.fail_at && (F.calls == F.fail_at || (F.fail_on && F.calls > F.fail_at));
}

static int fake_open(const SmmuHwEnv *env, const SmmuHwUnitCfg *cfg, SmmuHwUnit **out, char *err, size_t errlen)
{
    return -ENOSYS; /* units are made by the test */
}

static void fake_close(SmmuHwUnit *u) {}
static void fake_describe(SmmuHwUnit *u, char *buf, size_t len) { snprintf(buf, len, "fake unit %u", u->index); }

static int fake_domain_create(SmmuHwUnit *u, SmmuHwDomain **out, char *err, size_t errlen)
{
    if (fails_now()) {
        snprintf(err, errlen, "fake%u: domain_create fails (call %u)", u->index, F.calls);
        return F.fail_rc;
    }
    SmmuHwDomain *d = g_new0(SmmuHwDomain, 1);
    d->id = ++F.next_domain;
    d->u = u;
    d->pages = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
    g_ptr_array_add(F.domains, d);
    record("u%u create d%u", u->index, d->id);
    *out = d;
    return 0;
}

static void fake_domain_destroy(SmmuHwUnit *u, SmmuHwDomain *d)
{
    record("u%u destroy d%u", u->index, d->id);
    g_ptr_array_remove(F.domains, d);
    g_hash_table_unref(d->pages);
    g_free(d);
}

static int fake_attach(SmmuHwUnit *u, SmmuHwDomain *d, uint32_t sid, char *err, size_t errlen)
{
    if (sid > u->max_sid) {
        snprintf(err, errlen, "fake%u: sid 0x%x beyond the table", u->index, sid);
        return -ENOENT;
    }
    if (fails_now()) {
        snprintf(err, errlen, "fake%u: attach fails (call %u)", u->index, F.calls);
        return F.fail_rc;
    }
    if (d) g_hash_table_insert(u->attached, GUINT_TO_POINTER(sid), d);
    else g_hash_table_remove(u->attached, GUINT_TO_POINTER(sid));
    record("u%u attach 0x%x %s%u", u->index, sid, d ? "d" : "blocked", d ? d->id : 0);
    return 0;
}

static void set_page(SmmuHwDomain *d, uint64_t iova, uint64_t pa, unsigned perms)
{
    if (!perms) {
        g_hash_table_remove(d->pages, &iova);
        return;
    }
    uint64_t *k = g_new(uint64_t, 1), *v = g_new(uint64_t, 1);
    *k = iova;
    *v = pa | perms;
    g_hash_table_replace(d->pages, k, v);
}

static int fake_map_segs(SmmuHwUnit *u, SmmuHwDomain *d, const SmmuHwSeg *segs, size_t n, char *err, size_t errlen)
{
    if (fails_now()) {
        size_t made = F.fail_half ? n / 2 + (n == 1) : 0; /* a refusal part-way: some made */
        for (size_t i = 0; i < made; i++)
            for (uint64_t o = 0; o < segs[i].len; o += PAGE) set_page(d, segs[i].iova + o, segs[i].pa + o, segs[i].perms);
        snprintf(err, errlen, "fake%u: map fails (call %u)", u->index, F.calls);
        return F.fail_rc;
    }
    for (size_t i = 0; i < n; i++)
        for (uint64_t o = 0; o < segs[i].len; o += PAGE) set_page(d, segs[i].iova + o, segs[i].pa + o, segs[i].perms);
    record("u%u map d%u n=%zu", u->index, d->id, n);
    return 0;
}

/* Blocks of 2 MiB a domain holds pages in: its "table pages". */
static size_t blocks_of(const SmmuHwDomain *d, GHashTable *seen)
{
    GHashTableIter it;
    gpointer k;
    size_t n = 0;
    g_hash_table_iter_init(&it, d->pages);
    while (g_hash_table_iter_next(&it, &k, NULL)) {
        uint64_t b = *(uint64_t *)k / BLOCK;
        if (!g_hash_table_contains(seen, GSIZE_TO_POINTER(b + 1))) {
            g_hash_table_add(seen, GSIZE_TO_POINTER(b + 1));
            n++;
        }
    }
    return n;
}

static int fake_map_check(SmmuHwUnit *u, const SmmuHwDomain *d, const SmmuHwSeg *segs, size_t n, size_t *pages,
                          char *err, size_t errlen)
{
    const uint64_t il = 1ull << u->iova_bits, pl = 1ull << u->pa_bits;
    *pages = d ? 0 : 1;
    g_autoptr(GHashTable) seen = g_hash_table_new(NULL, NULL);
    if (d) blocks_of(d, seen);
    for (size_t i = 0; i < n; i++) {
        if (segs[i].iova >= il || segs[i].len > il - segs[i].iova) {
            snprintf(err, errlen, "fake%u: 0x%llx beyond %u bits", u->index, (unsigned long long)segs[i].iova,
                     u->iova_bits);
            return -ERANGE;
        }
        if (segs[i].perms && (segs[i].pa >= pl || segs[i].len > pl - segs[i].pa)) {
            snprintf(err, errlen, "fake%u: lands beyond %u bits", u->index, u->pa_bits);
            return -ERANGE;
        }
        for (uint64_t b = segs[i].iova / BLOCK; b <= (segs[i].iova + segs[i].len - 1) / BLOCK; b++)
            if (!g_hash_table_contains(seen, GSIZE_TO_POINTER(b + 1))) {
                g_hash_table_add(seen, GSIZE_TO_POINTER(b + 1));
                ++*pages;
            }
    }
    return 0;
}

static int fake_attach_check(SmmuHwUnit *u, uint32_t sid, size_t *pages, char *err, size_t errlen)
{
    *pages = 0;
    if (sid > u->max_sid) {
        snprintf(err, errlen, "fake%u: sid 0x%x beyond the table", u->index, sid);
        return -ENOENT;
    }
    return 0;
}

static int fake_fault_poll(SmmuHwUnit *u, SmmuHwFaultFn fn, void *opaque, uint64_t *lost, char *err, size_t errlen)
{
    if (u->poll_rc) {
        snprintf(err, errlen, "fake%u: fault registers do not answer", u->index);
        return u->poll_rc;
    }
    for (guint i = 0; i < u->faults->len; i++) fn(opaque, &g_array_index(u->faults, SmmuHwFault, i));
    int n = (int)u->faults->len;
    g_array_set_size(u->faults, 0);
    return n;
}

static int fake_irq(SmmuHwUnit *u, unsigned line, SmmuHwFaultFn fn, void *opaque, uint64_t *lost, char *err,
                    size_t errlen)
{
    return line == 74 ? fake_fault_poll(u, fn, opaque, lost, err, errlen) : 0;
}

static int fake_block_all(SmmuHwUnit *u) { return 0; }

static const SmmuHwOps fake_ops = {
    .abi = SMMU_HW_ABI, .type = "fake", .unit_open = fake_open, .unit_close = fake_close,
    .unit_describe = fake_describe, .domain_create = fake_domain_create, .domain_destroy = fake_domain_destroy,
    .attach = fake_attach, .map_segs = fake_map_segs, .map_check = fake_map_check, .attach_check = fake_attach_check,
    .fault_poll = fake_fault_poll, .irq = fake_irq, .block_all = fake_block_all,
};

static size_t pages_used(void *ctx)
{
    size_t n = 0;
    for (guint i = 0; i < F.domains->len; i++) {
        g_autoptr(GHashTable) seen = g_hash_table_new(NULL, NULL);
        n += 1 + blocks_of(g_ptr_array_index(F.domains, i), seen);
    }
    return n;
}

static size_t pages_total(void *ctx) { return 64; }

/* ---- the hooks ------------------------------------------------------------ */

static void hook_log(void *ctx, SmmuLogLevel level, const char *msg) { g_ptr_array_add(F.lines, g_strdup(msg)); }
static void hook_notify(void *ctx, CoreClient *c, uint32_t pending)
{
    g_ptr_array_add(F.notified, g_strdup_printf("client %u pending %u", c->id, pending));
}
static void hook_dss(void *ctx, const char *reason) { g_ptr_array_add(F.dss, g_strdup(reason)); }

/* ---- fixture -------------------------------------------------------------- */

static Core *core;
static SmmuHwUnit units[2];

static void setup(void)
{
    memset(&F, 0, sizeof F);
    F.log = g_ptr_array_new_with_free_func(g_free);
    F.domains = g_ptr_array_new();
    F.dss = g_ptr_array_new_with_free_func(g_free);
    F.lines = g_ptr_array_new_with_free_func(g_free);
    F.notified = g_ptr_array_new_with_free_func(g_free);
    F.fail_rc = -ENOMEM;
    CoreHooks hooks = { .ctx = NULL, .log = hook_log, .notify = hook_notify, .dss = hook_dss };
    CoreMemory mem = { .pages_used = pages_used, .pages_total = pages_total, .protected_base = 0x7f000000,
                       .protected_size = 0x1000000 };
    CoreLimits limits = { .client_pages = 16, .client_objects = 8, .client_devices = 4, .client_regions = 40 };
    core = core_new(&hooks, &mem, &limits);
    for (unsigned i = 0; i < 2; i++) {
        units[i] = (SmmuHwUnit){ .index = i, .iova_bits = 39, .pa_bits = 48, .max_sid = 0xffff,
                                 .attached = g_hash_table_new(NULL, NULL),
                                 .faults = g_array_new(FALSE, FALSE, sizeof(SmmuHwFault)) };
        ck_assert_int_eq(core_add_unit(core, i ? "u1" : "u0", &fake_ops, &units[i], i ? SSF_HW_SMMUV3 : SSF_HW_VTD),
                         (int)i);
    }
}

static void teardown(void)
{
    core_free(core);
    ck_assert_uint_eq(F.domains->len, 0); /* every domain went with the core */
    for (unsigned i = 0; i < 2; i++) {
        g_hash_table_unref(units[i].attached);
        g_array_unref(units[i].faults);
    }
    g_ptr_array_unref(F.log);
    g_ptr_array_unref(F.domains);
    g_ptr_array_unref(F.dss);
    g_ptr_array_unref(F.lines);
    g_ptr_array_unref(F.notified);
}

static union smmu_devid pci(unsigned bus, unsigned dev, unsigned fn)
{
    union smmu_devid id;
    memset(&id, 0, sizeof id);
    id.pci = (struct smmu_devid_pci){ SDT_PCI, bus, dev, fn };
    return id;
}

static char err[512];

static uint64_t obj(CoreClient *cc)
{
    uint64_t id = 0;
    ck_assert_int_eq(core_obj_create(cc, 0, &id, err, sizeof err), 0);
    return id;
}

static int add(CoreClient *cc, uint64_t o, unsigned slot)
{
    union smmu_devid id = pci(0, slot, 0);
    return core_device_add(cc, o, &id, err, sizeof err);
}

static int map(CoreClient *cc, uint64_t o, unsigned flags, uint64_t a, uint64_t len)
{
    struct smmu_map_entry e = { .phys = a, .len = len };
    return core_mapping(cc, o, flags, &e, 1, 0, err, sizeof err);
}

/* The domain a source-id points at on a unit, or NULL (blocked). */
static SmmuHwDomain *at(unsigned unit, uint32_t sid)
{
    return g_hash_table_lookup(units[unit].attached, GUINT_TO_POINTER(sid));
}

/* What a device reaches at iova: pa | perms, 0 when nothing. */
static uint64_t reach(unsigned unit, uint32_t sid, uint64_t iova)
{
    SmmuHwDomain *d = at(unit, sid);
    if (!d) return 0;
    uint64_t page = iova & ~(PAGE - 1);
    uint64_t *v = g_hash_table_lookup(d->pages, &page);
    return v ? *v : 0;
}

#define SID(slot) ((slot) << 3)

/* ---- ownership ------------------------------------------------------------- */

START_TEST(one_owner_per_device)
{
    CoreClient *a = core_client_new(core, NULL, false, 100, 0, 0), *b = core_client_new(core, NULL, false, 200, 0, 0);
    uint64_t a1 = obj(a), a2 = obj(a), b1 = obj(b);
    ck_assert_int_eq(add(a, a1, 4), 0);
    ck_assert_ptr_nonnull(at(0, SID(4)));
    /* another client: busy; the owner may move it between its objects */
    ck_assert_int_eq(add(b, b1, 4), -EBUSY);
    ck_assert_str_eq(err, "pci:0:4.0 is owned by another client");
    SmmuHwDomain *d1 = at(0, SID(4));
    ck_assert_int_eq(add(a, a2, 4), 0);
    ck_assert_ptr_ne(at(0, SID(4)), d1);
    /* objects are the caller's own */
    ck_assert_int_eq(add(b, a1, 5), -ENOENT);
    ck_assert_int_eq(map(b, a1, SMF_READ, 0x100000, PAGE), -ENOENT);
    ck_assert_int_eq(core_obj_destroy(b, a1), -ENOENT);
    /* detaching: blocked again, and free for others */
    ck_assert_int_eq(add(a, 0, 4), 0);
    ck_assert_ptr_null(at(0, SID(4)));
    ck_assert_int_eq(add(a, 0, 4), -ENOENT); /* not its any more */
    ck_assert_int_eq(add(b, b1, 4), 0);
    /* a client's objects die with it: its devices are blocked */
    ck_assert_int_eq(add(a, a1, 5), 0);
    core_client_free(a);
    ck_assert_ptr_null(at(0, SID(5)));
    ck_assert_ptr_nonnull(at(0, SID(4)));
    /* wildcards are not devices */
    union smmu_devid any = pci(SMMU_PCI_FIELD_ANY, 0, 0);
    ck_assert_int_eq(core_device_add(b, b1, &any, err, sizeof err), -EINVAL);
    ck_assert_uint_eq(F.dss->len, 0);
}
END_TEST

START_TEST(configuration_devices)
{
    /* a startup mapping: the configuration owns the device for good */
    const Region allow = { 0x200000, PAGE, SMF_READ | SMF_WRITE, 0x200000 };
    const char *allow_where[] = { "t.conf:3: allow buf" };
    CoreStartupDevice sd = { .id = pci(0, 4, 0), .where = "t.conf:4", .allow = &allow, .allow_where = allow_where,
                             .n_allow = 1 };
    ck_assert_int_eq(core_startup_device(core, &sd, err, sizeof err), 0);
    ck_assert_uint_eq(reach(0, SID(4), 0x200000), 0x200000 | PT_READ | PT_WRITE);
    /* a device with reserved regions only: clients may take it, and it
     * comes back home with them */
    const Region res = { 0x300000, PAGE, SMF_READ, 0x300000 };
    const char *res_where[] = { "t.conf:6" };
    CoreStartupDevice rd = { .id = pci(0, 5, 0), .where = "t.conf:5", .reserved = &res, .reserved_where = res_where,
                             .n_reserved = 1 };
    ck_assert_int_eq(core_startup_device(core, &rd, err, sizeof err), 0);
    SmmuHwDomain *home = at(0, SID(5));
    ck_assert_uint_eq(reach(0, SID(5), 0x300000), 0x300000 | PT_READ);
    CoreClient *a = core_client_new(core, NULL, false, 100, 0, 0);
    uint64_t o = obj(a);
    ck_assert_int_eq(add(a, o, 4), -EBUSY);
    ck_assert(strstr(err, "startup mapping (t.conf:4)"));
    ck_assert_int_eq(add(a, o, 5), 0);
    ck_assert_ptr_ne(at(0, SID(5)), home);
    ck_assert_uint_eq(reach(0, SID(5), 0x300000), 0x300000 | PT_READ); /* its reserved region came along */
    struct smmu_map_entry e[4];
    unsigned total;
    union smmu_devid d5 = pci(0, 5, 0);
    ck_assert_uint_eq(core_report_reserved(core, &d5, 0, e, 4, &total), 1);
    ck_assert_uint_eq(total, 1);
    ck_assert_uint_eq(e[0].phys, 0x300000);
    core_client_free(a);
    ck_assert_ptr_eq(at(0, SID(5)), home);
    /* what the configuration says wrong is said at its line */
    const Region far = { 0x8000000000ull, PAGE, SMF_READ, 0x8000000000ull };
    const char *far_where[] = { "t.conf:8: allow far" };
    CoreStartupDevice fd = { .id = pci(0, 6, 0), .where = "t.conf:9", .allow = &far, .allow_where = far_where,
                             .n_allow = 1 };
    ck_assert_int_eq(core_startup_device(core, &fd, err, sizeof err), -ERANGE);
    ck_assert_msg(g_str_has_prefix(err, "t.conf:8: allow far (for pci:0:6.0 at t.conf:9): "), "%s", err);
    const char *rw[] = { "t.conf:11" };
    CoreStartupDevice rfd = { .id = pci(0, 7, 0), .where = "t.conf:10", .reserved = &far, .reserved_where = rw,
                              .n_reserved = 1 };
    ck_assert_int_eq(core_startup_device(core, &rfd, err, sizeof err), -ERANGE);
    ck_assert_msg(g_str_has_prefix(err, "t.conf:11: reserved: "), "%s", err);
    ck_assert_uint_eq(F.dss->len, 0);
}
END_TEST

/* ---- regions ---------------------------------------------------------------- */

START_TEST(a_page_is_the_union_of_its_regions)
{
    CoreClient *a = core_client_new(core, NULL, false, 100, 0, 0);
    uint64_t o = obj(a);
    ck_assert_int_eq(add(a, o, 4), 0);
    ck_assert_int_eq(map(a, o, SMF_READ, 0x100000, 16), 0);
    ck_assert_int_eq(map(a, o, SMF_WRITE, 0x100010, 16), 0);
    ck_assert_uint_eq(reach(0, SID(4), 0x100000), 0x100000 | PT_READ | PT_WRITE);
    /* removing the bytes of one buffer keeps the page for the other */
    ck_assert_int_eq(map(a, o, 0, 0x100000, 16), 0);
    ck_assert_uint_eq(reach(0, SID(4), 0x100000), 0x100000 | PT_WRITE);
    ck_assert_int_eq(map(a, o, 0, 0x100010, 16), 0);
    ck_assert_uint_eq(reach(0, SID(4), 0x100000), 0);
    /* exec is read; a region reaches every page it touches */
    ck_assert_int_eq(map(a, o, SMF_EXEC, 0x1ff8, 16), 0);
    ck_assert_uint_eq(reach(0, SID(4), 0x1000), 0x1000 | PT_READ);
    ck_assert_uint_eq(reach(0, SID(4), 0x2000), 0x2000 | PT_READ);
    /* translated: only the target ability; and one page, one translation */
    struct smmu_map_entry e = { .phys = 0x400000, .len = PAGE };
    ck_assert_int_eq(core_mapping(a, o, SMF_READ | SMF_TARGET, &e, 1, 0x600000, err, sizeof err), -EPERM);
    CoreClient *vm = core_client_new(core, NULL, true, 300, 0, 0);
    uint64_t v = obj(vm);
    ck_assert_int_eq(add(vm, v, 6), 0);
    ck_assert_int_eq(core_mapping(vm, v, SMF_READ | SMF_TARGET, &e, 1, 0x600000, err, sizeof err), 0);
    ck_assert_uint_eq(reach(0, SID(6), 0x400000), 0x600000 | PT_READ);
    ck_assert_int_eq(core_mapping(vm, v, SMF_WRITE | SMF_TARGET, &e, 1, 0x700000, err, sizeof err), -EEXIST);
    ck_assert_uint_eq(reach(0, SID(6), 0x400000), 0x600000 | PT_READ);
    /* no device reaches the table memory */
    ck_assert_int_eq(map(a, o, SMF_READ, 0x7f000000, PAGE), -EPERM);
    ck_assert_uint_eq(reach(0, SID(4), 0x7f000000), 0);
}
END_TEST

/* A change is one back-end call per unit: whatever the number of ranges. */
START_TEST(one_table_call_per_unit_and_change)
{
    CoreClient *a = core_client_new(core, NULL, false, 100, 0, 0);
    uint64_t o = obj(a);
    ck_assert_int_eq(add(a, o, 4), 0);
    struct smmu_map_entry e[16];
    for (unsigned i = 0; i < 16; i++) e[i] = (struct smmu_map_entry){ .phys = 0x100000 + i * 0x3000ull, .len = PAGE };
    guint before = F.log->len;
    ck_assert_int_eq(core_mapping(a, o, SMF_READ, e, 16, 0, err, sizeof err), 0);
    ck_assert_uint_eq(F.log->len - before, 1);
    ck_assert_str_eq(g_ptr_array_index(F.log, before), "u0 map d1 n=31"); /* 16 pages, 15 holes between */
}
END_TEST

/* ---- all or nothing ------------------------------------------------------------- */

/* An object whose devices sit on both units. */
static uint64_t object_on_both_units(CoreClient *a)
{
    /* the second unit's device exists only through the configuration */
    union smmu_devid mm;
    memset(&mm, 0, sizeof mm);
    mm.mmio = (struct smmu_devid_mmio){ SDT_MMIO, 0x1000, 0x9000000 };
    CoreStartupDevice sd = { .id = mm, .where = "t.conf:2", .unit = 1, .has_sid = true, .sid = 7 };
    ck_assert_int_eq(core_startup_device(core, &sd, err, sizeof err), 0);
    uint64_t o = obj(a);
    ck_assert_int_eq(add(a, o, 4), 0);
    ck_assert_int_eq(core_device_add(a, o, &mm, err, sizeof err), 0);
    ck_assert_int_eq(map(a, o, SMF_READ, 0x100000, PAGE), 0);
    return o;
}

/* What both units translate over the test's span, as one string. */
static char *snapshot(void)
{
    GString *s = g_string_new(NULL);
    for (uint64_t a = 0x100000; a < 0x120000; a += PAGE)
        g_string_append_printf(s, "%llx:%llx,", (unsigned long long)reach(0, SID(4), a), (unsigned long long)reach(1, 7, a));
    return g_string_free(s, FALSE);
}

/* Every changing call of a mapping, failed in turn with a refusal that
 * had made half its changes: the object is as before (regions and both
 * units' translations), the caller told, no DSS. */
START_TEST(a_failed_change_is_put_back_on_every_unit)
{
    CoreClient *a = core_client_new(core, NULL, false, 100, 0, 0);
    uint64_t o = object_on_both_units(a);
    g_autofree char *before = snapshot();
    struct smmu_map_entry e[3] = { { .phys = 0x101000, .len = PAGE }, { .phys = 0x104000, .len = 2 * PAGE },
                                   { .phys = 0x110000, .len = PAGE } };
    unsigned failures = 0;
    for (unsigned n = 1;; n++) {
        F.calls = 0;
        F.fail_at = n;
        F.fail_rc = -ENOMEM;
        F.fail_half = true;
        int rc = core_mapping(a, o, SMF_READ | SMF_WRITE, e, 3, 0, err, sizeof err);
        F.fail_at = 0;
        if (rc == 0) break; /* n is past the calls the change makes */
        failures++;
        ck_assert_int_eq(rc, -ENOMEM);
        g_autofree char *now = snapshot();
        ck_assert_msg(strcmp(now, before) == 0, "failing call %u left a half-made change", n);
        ck_assert_uint_eq(F.dss->len, 0);
        ck_assert(!core_in_dss(core));
    }
    ck_assert_uint_eq(failures, 2); /* one call per unit */
    ck_assert_uint_eq(reach(0, SID(4), 0x104000), 0x104000 | PT_READ | PT_WRITE);
    ck_assert_uint_eq(reach(1, 7, 0x105000), 0x105000 | PT_READ | PT_WRITE);
    /* the same for a removal */
    g_autofree char *mapped = snapshot();
    for (unsigned n = 1;; n++) {
        F.calls = 0;
        F.fail_at = n;
        int rc = map(a, o, 0, 0x100000, 0x20000);
        F.fail_at = 0;
        if (rc == 0) break;
        g_autofree char *now = snapshot();
        ck_assert_msg(strcmp(now, mapped) == 0, "failing call %u of a removal left it half-made", n);
    }
    ck_assert_uint_eq(reach(0, SID(4), 0x104000), 0);
}
END_TEST

/* Adding a device whose unit needs a new domain: every call failed in
 * turn leaves no domain behind and the device where it was. */
START_TEST(a_failed_device_add_leaves_nothing)
{
    CoreClient *a = core_client_new(core, NULL, false, 100, 0, 0);
    uint64_t o = obj(a);
    ck_assert_int_eq(map(a, o, SMF_READ, 0x100000, PAGE), 0); /* replayed onto the new domain */
    for (unsigned n = 1;; n++) {
        F.calls = 0;
        F.fail_at = n;
        F.fail_half = false;
        int rc = add(a, o, 4);
        F.fail_at = 0;
        if (rc == 0) break;
        ck_assert_int_eq(rc, -ENOMEM);
        ck_assert_ptr_null(at(0, SID(4)));
        ck_assert_uint_eq(F.domains->len, 0);
        g_autofree char *objs = NULL;
        GString *t = g_string_new(NULL);
        core_objects_text(core, t);
        objs = g_string_free(t, FALSE);
        ck_assert_msg(!strstr(objs, "device=pci:0:4.0"), "a refused device stayed in the table:\n%s", objs);
    }
    ck_assert_uint_eq(reach(0, SID(4), 0x100000), 0x100000 | PT_READ);
    ck_assert_uint_eq(F.dss->len, 0);
}
END_TEST

/* ---- DSS decisions ------------------------------------------------------------------ */

START_TEST(what_is_and_is_not_a_dss)
{
    CoreClient *a = core_client_new(core, NULL, false, 100, 0, 0);
    uint64_t o = object_on_both_units(a);
    /* refusals, whatever their reason, are never a DSS */
    ck_assert_int_eq(map(a, o, SMF_READ, 0x8000000000ull, PAGE), -ERANGE);
    union smmu_devid far = pci(0, 9, 0);
    units[0].max_sid = 0x40;
    ck_assert_int_eq(core_device_add(a, o, &far, err, sizeof err), -ENOENT);
    ck_assert_uint_eq(F.dss->len, 0);
    /* the hardware failing mid-change is: the unit's state is unknown */
    F.calls = 0;
    F.fail_at = 2;
    F.fail_rc = -EIO;
    F.fail_half = true;
    ck_assert_int_eq(map(a, o, SMF_READ, 0x102000, PAGE), -EIO);
    ck_assert_uint_eq(F.dss->len, 1);
    ck_assert_str_eq(g_ptr_array_index(F.dss, 0), "fake1: map fails (call 2)");
    /* and then nothing is done any more */
    ck_assert(core_in_dss(core));
    uint64_t id;
    ck_assert_int_eq(core_obj_create(a, 0, &id, err, sizeof err), -EIO);
    ck_assert_int_eq(map(a, o, SMF_READ, 0x103000, PAGE), -EIO);
    ck_assert_uint_eq(F.dss->len, 1); /* decided once */
}
END_TEST

START_TEST(a_rollback_that_fails_is_a_dss)
{
    CoreClient *a = core_client_new(core, NULL, false, 100, 0, 0);
    uint64_t o = object_on_both_units(a);
    /* unit 0 changes (call 1), unit 1 refuses (call 2), and putting unit 0
     * back (call 3) fails too: the tables would disagree with the regions */
    F.calls = 0;
    F.fail_at = 2;
    F.fail_on = true;
    F.fail_rc = -ENOMEM;
    F.fail_half = false;
    ck_assert_int_eq(map(a, o, SMF_READ, 0x101000, PAGE), -EIO);
    F.fail_at = 0;
    ck_assert_uint_eq(F.dss->len, 1);
    ck_assert_msg(g_str_has_prefix(g_ptr_array_index(F.dss, 0), "restoring mappings after a failed change: fake0: "),
                  "%s", (char *)g_ptr_array_index(F.dss, 0));
    ck_assert(core_in_dss(core));
}
END_TEST

START_TEST(hardware_fault_registers_failing_is_a_dss)
{
    units[1].poll_rc = -EIO;
    core_poll_faults(core);
    ck_assert_uint_eq(F.dss->len, 1);
    ck_assert_str_eq(g_ptr_array_index(F.dss, 0), "fake1: fault registers do not answer");
    ck_assert(core_in_dss(core));
}
END_TEST

/* ---- faults ------------------------------------------------------------------------- */

START_TEST(faults_reach_every_client_attributed_to_the_owner)
{
    CoreClient *a = core_client_new(core, NULL, false, 100, 0, 0), *b = core_client_new(core, NULL, false, 200, 0, 0);
    uint64_t o = obj(a);
    ck_assert_int_eq(add(a, o, 4), 0);
    SmmuHwFault f = { .sid = SID(4), .addr = 0x100000, .write = true, .reason = 5, .repeat = 3 };
    g_array_append_val(units[0].faults, f);
    SmmuHwFault nobody = { .sid = SID(6), .addr = 0x200000, .write = false, .reason = 6, .repeat = 1 };
    g_array_append_val(units[0].faults, nobody);
    core_poll_faults(core);
    /* the first record after an empty queue tells each client once */
    ck_assert_uint_eq(F.notified->len, 2);
    ck_assert_str_eq(g_ptr_array_index(F.notified, 0), "client 1 pending 1");
    ck_assert_str_eq(g_ptr_array_index(F.notified, 1), "client 2 pending 1");
    CoreClient *both[] = { a, b };
    for (unsigned i = 0; i < 2; i++) {
        struct smmu_status st;
        ck_assert_int_eq(core_take_record(both[i], &st), 1);
        ck_assert_uint_eq(st.devid.type, SDT_PCI);
        ck_assert_uint_eq(st.devid.pci.dev, 4);
        ck_assert_uint_eq(st.fault_addr, 0x100000);
        ck_assert_uint_eq(st.hw_specific, 5);
        ck_assert_uint_eq(st.flags & (SSF_WRITE | SSF_READ), SSF_WRITE);
        ck_assert_uint_eq(st.flags & SSF_HW_MASK, SSF_HW_VTD);
        ck_assert_uint_eq(SSF_REPEAT(st.flags), 2);
        ck_assert_int_eq(core_take_record(both[i], &st), 1);
        ck_assert_uint_eq(st.devid.pci.dev, 6); /* nobody's: named by its requester ID */
        ck_assert_uint_eq(st.flags & (SSF_WRITE | SSF_READ), SSF_READ);
        ck_assert_int_eq(core_take_record(both[i], &st), 0);
    }
    /* the log names the owner and the reason */
    bool owner = false, none = false;
    for (guint i = 0; i < F.lines->len; i++) {
        const char *l = g_ptr_array_index(F.lines, i);
        owner |= strstr(l, "fault: device pci:0:4.0 write at 0x100000 reason 0x5 (write-not-permitted) owner client 1 "
                           "(pid 100)") != NULL;
        none |= strstr(l, "device pci:0:6.0 read at 0x200000 reason 0x6 (read-not-permitted) owner none") != NULL;
    }
    ck_assert(owner && none);
    /* a client that attaches later sees nothing of what came before */
    CoreClient *late = core_client_new(core, NULL, false, 300, 0, 0);
    struct smmu_status st;
    ck_assert_int_eq(core_take_record(late, &st), 0);
}
END_TEST

START_TEST(queues_drop_when_full_and_notify_once)
{
    CoreClient *a = core_client_new(core, NULL, false, 100, 0, 0);
    for (unsigned i = 0; i < CORE_FAULT_QUEUE + 5; i++) {
        SmmuHwFault f = { .sid = SID(4), .addr = 0x100000 + i * PAGE, .write = true, .reason = 5, .repeat = 1 };
        g_array_append_val(units[0].faults, f);
    }
    core_poll_faults(core);
    ck_assert_uint_eq(F.notified->len, 1); /* only the first after empty */
    ck_assert_uint_eq(a->n_dropped, 5);
    struct smmu_status st;
    ck_assert_int_eq(core_take_record(a, &st), 1);
    ck_assert(st.flags & SSF_DROPPED_FAULTS); /* the next record read says so */
    ck_assert_int_eq(core_take_record(a, &st), 1);
    ck_assert(!(st.flags & SSF_DROPPED_FAULTS));
    /* armed: one notification for the next record, then not again */
    while (core_take_record(a, &st)) {}
    ck_assert_uint_eq(core_notify_arm(a), 0);
    ck_assert(!core_take_armed(a)); /* nothing pending: stays armed */
    SmmuHwFault f = { .sid = SID(4), .addr = 0x1000, .write = false, .reason = 6, .repeat = 1 };
    g_array_append_val(units[0].faults, f);
    g_array_append_val(units[0].faults, f);
    core_poll_faults(core);
    ck_assert_uint_eq(F.notified->len, 2);
    /* an interrupt drains its unit too */
    g_array_append_val(units[0].faults, f);
    core_irq(core, 74);
    ck_assert_uint_eq(a->q_len, 3);
}
END_TEST

/* ---- shares --------------------------------------------------------------------------- */

START_TEST(each_client_keeps_to_its_share)
{
    CoreClient *a = core_client_new(core, NULL, false, 100, 0, 0), *b = core_client_new(core, NULL, false, 200, 0, 0);
    uint64_t ids[8];
    for (unsigned i = 0; i < 8; i++) ids[i] = obj(a);
    uint64_t id;
    ck_assert_int_eq(core_obj_create(a, 0, &id, err, sizeof err), -EDQUOT);
    /* devices: 4 */
    for (unsigned i = 0; i < 4; i++) ck_assert_int_eq(add(a, ids[i], 10 + i), 0);
    ck_assert_int_eq(add(a, ids[4], 20), -EDQUOT);
    /* pages: 16 for the client; each 2 MiB block is a page in the fake */
    unsigned mapped = 0;
    for (unsigned i = 0; i < 32; i++) {
        int rc = map(a, ids[0], SMF_READ, 0x40000000ull + i * BLOCK, PAGE);
        if (rc) {
            ck_assert_int_eq(rc, -EDQUOT);
            break;
        }
        mapped++;
    }
    ck_assert_uint_gt(mapped, 0);
    ck_assert_uint_lt(mapped, 16);
    ck_assert_uint_le(a->pages, 16);
    /* regions: 40 in all */
    struct smmu_map_entry e[40];
    for (unsigned i = 0; i < 40; i++) e[i] = (struct smmu_map_entry){ .phys = 0x100000 + i, .len = 1 };
    ck_assert_int_eq(core_mapping(a, ids[1], SMF_READ, e, 40, 0, err, sizeof err), -EDQUOT);
    /* another client is not starved, and everything goes back */
    uint64_t ob = obj(b);
    ck_assert_int_eq(add(b, ob, 30), 0);
    ck_assert_int_eq(map(b, ob, SMF_READ, 0x100000, PAGE), 0);
    core_client_free(a);
    GString *t = g_string_new(NULL);
    core_objects_text(core, t);
    ck_assert_msg(!strstr(t->str, "pci:0:10.0"), "a named device stayed:\n%s", t->str);
    g_string_free(t, TRUE);
    ck_assert_uint_eq(F.dss->len, 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("core");
    TCase *t = tcase_create("core");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, one_owner_per_device);
    tcase_add_test(t, configuration_devices);
    tcase_add_test(t, a_page_is_the_union_of_its_regions);
    tcase_add_test(t, one_table_call_per_unit_and_change);
    tcase_add_test(t, a_failed_change_is_put_back_on_every_unit);
    tcase_add_test(t, a_failed_device_add_leaves_nothing);
    tcase_add_test(t, what_is_and_is_not_a_dss);
    tcase_add_test(t, a_rollback_that_fails_is_a_dss);
    tcase_add_test(t, hardware_fault_registers_failing_is_a_dss);
    tcase_add_test(t, faults_reach_every_client_attributed_to_the_owner);
    tcase_add_test(t, queues_drop_when_full_and_notify_once);
    tcase_add_test(t, each_client_keeps_to_its_share);
    suite_add_tcase(s, t);
    return s;
}

int main(void) { return check_run(suite()); }
