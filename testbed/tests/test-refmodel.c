/* Unit tests of the reference model (testbed/refmodel.h): each rule of
 * docs/api.md it encodes, on the q35-vtd board's facts. No QEMU. */
#include <check.h>

#include "../../smmuman/tests/check-run.h"

#include <errno.h>

#include "refmodel.h"

#define RAM 0x0ull
#define POOL 0x1f000000ull
#define EDU0 ref_pci(0, 4, 0)
#define EDU1 ref_pci(0, 5, 0)
#define EDU2 ref_pci(0, 6, 0)

static RefModel *m;

static void setup(void)
{
    RefBoard b = { .ram_base = RAM, .ram_size = 512u << 20, .pool_base = POOL, .pool_size = 16u << 20, .n_devids = 3,
                   .devids = { EDU0, EDU1, EDU2 } };
    ck_assert(ref_board_unit_kind(&b, "vtd"));
    m = ref_new(&b);
    ck_assert_int_eq(ref_client(m, "a", false), 0);
    ck_assert_int_eq(ref_client(m, "b", false), 0);
    ck_assert_int_eq(ref_client(m, "vm", true), 0);
}

static void teardown(void) { ref_free(m); }

static int map1(const char *c, unsigned h, unsigned perms, uint64_t a, uint64_t len, uint64_t target)
{
    RefRange r = { a, len };
    return ref_map(m, c, h, perms, &r, 1, target);
}

static int unmap1(const char *c, unsigned h, uint64_t a, uint64_t len)
{
    RefRange r = { a, len };
    return ref_unmap(m, c, h, &r, 1);
}

static bool can(uint32_t dev, uint64_t a, uint64_t len, bool write)
{
    RefAccess x;
    ref_access(m, dev, a, len, write, &x);
    return x.allowed;
}

/* "a" owns edu0 through object 0 */
static void a_owns_edu0(void)
{
    unsigned h;
    ck_assert_int_eq(ref_obj_create(m, "a", &h), 0);
    ck_assert_uint_eq(h, 0);
    ck_assert_int_eq(ref_device_add(m, "a", 0, EDU0), 0);
}

START_TEST(deny_by_default)
{
    ck_assert(!can(EDU0, 0x100000, 64, false));
    ck_assert_str_eq(ref_owner(m, EDU0), "none");
    a_owns_edu0();
    ck_assert(!can(EDU0, 0x100000, 64, true));
    ck_assert_str_eq(ref_owner(m, EDU0), "a");
}
END_TEST

START_TEST(permissions_and_union)
{
    a_owns_edu0();
    ck_assert_int_eq(map1("a", 0, REF_READ, 0x100000, 4096, 0), 0);
    ck_assert(can(EDU0, 0x100000, 4096, false));
    ck_assert(!can(EDU0, 0x100000, 1, true));
    /* a write-only buffer sharing the page: the page is rw until both go */
    ck_assert_int_eq(map1("a", 0, REF_WRITE, 0x100800, 16, 0), 0);
    ck_assert(can(EDU0, 0x100000, 4096, true));
    ck_assert_int_eq(unmap1("a", 0, 0x100800, 16), 0);
    ck_assert(!can(EDU0, 0x100000, 1, true));
    ck_assert(can(EDU0, 0x100fff, 1, false));
    /* exec is read */
    ck_assert_int_eq(map1("a", 0, REF_EXEC, 0x200000, 4096, 0), 0);
    ck_assert(can(EDU0, 0x200000, 64, false));
    ck_assert(!can(EDU0, 0x200000, 64, true));
    /* none of r/w/x removes */
    ck_assert_int_eq(map1("a", 0, 0, 0x200000, 4096, 0), 0);
    ck_assert(!can(EDU0, 0x200000, 64, false));
}
END_TEST

START_TEST(rounding_and_splitting)
{
    a_owns_edu0();
    /* 2 bytes across a page boundary reach both pages, whole */
    ck_assert_int_eq(map1("a", 0, REF_READ | REF_WRITE, 0x300fff, 2, 0), 0);
    ck_assert(can(EDU0, 0x300000, 4096, true));
    ck_assert(can(EDU0, 0x301000, 4096, true));
    ck_assert(!can(EDU0, 0x302000, 1, true));
    ck_assert(!can(EDU0, 0x2ff000, 1, true));
    /* three pages, the middle one removed: split at its edges */
    ck_assert_int_eq(map1("a", 0, REF_READ | REF_WRITE, 0x1b0000, 12288, 0), 0);
    ck_assert_int_eq(unmap1("a", 0, 0x1b1000, 4096), 0);
    ck_assert(!can(EDU0, 0x1b1000, 1, true));
    ck_assert(can(EDU0, 0x1b0000, 4096, true));
    ck_assert(can(EDU0, 0x1b2000, 4096, true));
    ck_assert(!can(EDU0, 0x1b0000, 8192, true)); /* crosses into the hole */
    /* removing a few bytes keeps their page: the rest of the region touches it */
    ck_assert_int_eq(unmap1("a", 0, 0x1b0100, 16), 0);
    ck_assert(can(EDU0, 0x1b0000, 4096, true));
    ck_assert_int_eq(unmap1("a", 0, 0x1b0000, 0x100), 0);
    ck_assert_int_eq(unmap1("a", 0, 0x1b0110, 0xef0), 0);
    ck_assert(!can(EDU0, 0x1b0000, 1, true));
    ck_assert(can(EDU0, 0x1b2000, 4096, true));
}
END_TEST

START_TEST(refusals)
{
    a_owns_edu0();
    ck_assert_int_eq(map1("a", 0, REF_READ, 0x100000, 0, 0), -EINVAL);
    ck_assert_int_eq(map1("a", 0, REF_READ, 0xfffffffffffff000ull, 4096, 0), -EINVAL);
    ck_assert_int_eq(map1("a", 0, REF_READ, 0xffffffffffffff00ull, 0x200, 0), -EINVAL);
    ck_assert_int_eq(map1("a", 0, REF_READ, 0x8000000000ull, 4096, 0), -ERANGE);
    ck_assert_int_eq(map1("a", 0, REF_READ, 0x7ffffff000ull, 8192, 0), -ERANGE);
    ck_assert_int_eq(map1("a", 0, REF_WRITE, 0xffffffffffffe000ull, 4096, 0), -ERANGE);
    ck_assert_int_eq(map1("a", 0, REF_READ, 0x7ffffff000ull, 4096, 0), 0);
    ck_assert_int_eq(unmap1("a", 0, 0x8000000000ull, 4096), -ERANGE);
    /* the table pool, and a byte that reaches its first page */
    ck_assert_int_eq(map1("a", 0, REF_READ, POOL, 4096, 0), -EPERM);
    ck_assert_int_eq(map1("a", 0, REF_READ, POOL - 1, 2, 0), -EPERM);
    ck_assert_int_eq(map1("a", 0, REF_READ, POOL + (16u << 20) - 1, 1, 0), -EPERM);
    ck_assert_int_eq(map1("a", 0, REF_READ, POOL + (16u << 20), 4096, 0), 0);
    ck_assert_int_eq(map1("a", 0, REF_READ, POOL - 4096, 4096, 0), 0);
    /* a plain client may not translate */
    ck_assert_int_eq(map1("a", 0, REF_READ | REF_TARGET, 0x100000, 4096, 0x400000), -EPERM);
    ck_assert(!can(EDU0, 0x100000, 1, false));
    ck_assert(!can(EDU0, POOL, 1, false));
    /* a free handle is smmu-client's own EINVAL */
    ck_assert_int_eq(map1("a", 5, REF_READ, 0x100000, 4096, 0), -EINVAL);
}
END_TEST

START_TEST(target_translation)
{
    unsigned h;
    ck_assert_int_eq(ref_obj_create(m, "vm", &h), 0);
    ck_assert_int_eq(ref_device_add(m, "vm", 0, EDU1), 0);
    ck_assert_int_eq(map1("vm", 0, REF_READ | REF_WRITE | REF_TARGET, 0x100000, 8192, 0x400000), 0);
    RefAccess x;
    ref_access(m, EDU1, 0x100010, 4096, true, &x);
    ck_assert(x.allowed && x.contiguous);
    ck_assert_uint_eq(x.phys, 0x400010);
    ck_assert(!can(EDU1, 0x400000, 1, true)); /* the target is not reachable at its own address */
    RefPage p = ref_translate(m, EDU1, 0x101234);
    ck_assert_uint_eq(p.phys, 0x401000);
    ck_assert_uint_eq(p.perms, REF_READ | REF_WRITE);
    /* the same page through another translation, or identity: EEXIST, nothing changes */
    ck_assert_int_eq(map1("vm", 0, REF_READ | REF_TARGET, 0x100000, 4096, 0x500000), -EEXIST);
    ck_assert_int_eq(map1("vm", 0, REF_READ, 0x101000, 4096, 0), -EEXIST);
    RefRange two[2] = { { 0x600000, 4096 }, { 0x100000, 4096 } };
    ck_assert_int_eq(ref_map(m, "vm", 0, REF_READ | REF_TARGET, two, 2, 0x700000), -EEXIST);
    ck_assert(!can(EDU1, 0x600000, 1, false));
    /* the same translation again is fine; entries land back to back */
    ck_assert_int_eq(map1("vm", 0, REF_READ | REF_TARGET, 0x101000, 4096, 0x401000), 0);
    ck_assert_int_eq(ref_map(m, "vm", 0, REF_READ | REF_TARGET, two, 1, 0x700000), 0);
    RefRange b2b[2] = { { 0x800000, 4096 }, { 0x900000, 4096 } };
    ck_assert_int_eq(ref_map(m, "vm", 0, REF_WRITE | REF_TARGET, b2b, 2, 0xa00000), 0);
    ck_assert_uint_eq(ref_translate(m, EDU1, 0x900000).phys, 0xa01000);
    /* out of the output width, past 2^64, into the pool */
    ck_assert_int_eq(map1("vm", 0, REF_READ | REF_TARGET, 0xb00000, 4096, 0x10000000000000ull), -ERANGE);
    ck_assert_int_eq(map1("vm", 0, REF_READ | REF_TARGET, 0xb00000, 8192, 0xfffffffffffff000ull), -ERANGE);
    ck_assert_int_eq(map1("vm", 0, REF_READ | REF_TARGET, 0xb00000, 4096, POOL), -EPERM);
    /* removing by device address splits the translation with it */
    ck_assert_int_eq(unmap1("vm", 0, 0x100000, 4096), 0);
    ck_assert(!can(EDU1, 0x100000, 1, false));
    ck_assert_uint_eq(ref_translate(m, EDU1, 0x101000).phys, 0x401000);
    ref_access(m, EDU1, 0x800000, 8192, true, &x);
    ck_assert(!x.allowed);
    ck_assert_uint_eq(x.blocked_at, 0x801000);
}
END_TEST

START_TEST(devices)
{
    unsigned h;
    a_owns_edu0();
    ck_assert_int_eq(ref_obj_create(m, "a", &h), 0);
    ck_assert_uint_eq(h, 1);
    ck_assert_int_eq(ref_obj_create(m, "b", &h), 0);
    ck_assert_uint_eq(h, 0);
    ck_assert_int_eq(ref_device_add(m, "b", 0, EDU0), -EBUSY);
    ck_assert_int_eq(ref_device_add_mmio(m, "a", 0), -ENOENT);
    ck_assert_int_eq(ref_device_add(m, "a", 0, ref_pci(0, 30, 0)), -ENOENT);
    ck_assert_int_eq(map1("a", 0, REF_READ | REF_WRITE, 0x240000, 4096, 0), 0);
    ck_assert_int_eq(map1("a", 1, REF_READ | REF_WRITE, 0x250000, 4096, 0), 0);
    ck_assert(can(EDU0, 0x240000, 64, true));
    /* moved: exactly the new object's mappings */
    ck_assert_int_eq(ref_device_add(m, "a", 1, EDU0), 0);
    ck_assert(!can(EDU0, 0x240000, 64, true));
    ck_assert(can(EDU0, 0x250000, 64, true));
    ck_assert_int_eq(ref_obj_destroy(m, "a", 0), 0);
    ck_assert(can(EDU0, 0x250000, 64, true));
    ck_assert_int_eq(ref_obj_create(m, "a", &h), 0);
    ck_assert_uint_eq(h, 0); /* the lowest free handle again */
    /* detached: blocked, nobody's, free for b */
    ck_assert_int_eq(ref_device_add(m, "a", -1, EDU0), 0);
    ck_assert(!can(EDU0, 0x250000, 64, true));
    ck_assert_str_eq(ref_owner(m, EDU0), "none");
    ck_assert_int_eq(ref_device_add(m, "b", 0, EDU0), 0);
    ck_assert_str_eq(ref_owner(m, EDU0), "b");
    /* destroying the object blocks its devices */
    ck_assert_int_eq(ref_obj_destroy(m, "b", 0), 0);
    ck_assert_str_eq(ref_owner(m, EDU0), "none");
    ck_assert_int_eq(ref_obj_destroy(m, "b", 0), -EINVAL);
}
END_TEST

START_TEST(death_and_fini)
{
    unsigned h;
    a_owns_edu0();
    ck_assert_int_eq(map1("a", 0, REF_READ | REF_WRITE, 0x100000, 4096, 0), 0);
    ck_assert_int_eq(ref_obj_create(m, "b", &h), 0);
    ck_assert_int_eq(ref_device_add(m, "b", 0, EDU1), 0);
    ck_assert_int_eq(ref_kill(m, "b"), 0);
    ck_assert_str_eq(ref_owner(m, EDU1), "none");
    ck_assert(!ref_client_alive(m, "b"));
    /* fini: objects go; the handles stay taken and name nothing (ENOENT) */
    ck_assert_int_eq(ref_fini(m, "a"), 0);
    ck_assert(!can(EDU0, 0x100000, 1, false));
    ck_assert_int_eq(ref_init(m, "a"), 0);
    ck_assert_int_eq(ref_device_add(m, "a", 0, EDU0), -ENOENT);
    ck_assert_int_eq(map1("a", 0, REF_READ, 0x100000, 4096, 0), -ENOENT);
    ck_assert_int_eq(ref_obj_create(m, "a", &h), 0);
    ck_assert_uint_eq(h, 1);
    ck_assert_int_eq(ref_obj_destroy(m, "a", 0), 0); /* frees the handle */
    ck_assert_int_eq(ref_obj_create(m, "a", &h), 0);
    ck_assert_uint_eq(h, 0);
}
END_TEST

START_TEST(startup_mapping)
{
    unsigned h;
    const char *names[] = { "buf", "ro" };
    ck_assert_int_eq(ref_config_allow(m, "buf", 0x300000, 4096, 0), 0);
    ck_assert_int_eq(ref_config_allow(m, "ro", 0x310000, 8192, REF_READ), 0);
    ck_assert_int_eq(ref_config_device(m, EDU2, names, 2), 0);
    ck_assert_str_eq(ref_owner(m, EDU2), "config");
    ck_assert(can(EDU2, 0x300000, 4096, true));
    ck_assert(can(EDU2, 0x311000, 4096, false));
    ck_assert(!can(EDU2, 0x311000, 4, true));
    ck_assert(!can(EDU2, 0x301000, 4, false));
    ck_assert_int_eq(ref_obj_create(m, "a", &h), 0);
    ck_assert_int_eq(ref_device_add(m, "a", 0, EDU2), -EBUSY);
    const char *bad[] = { "nope" };
    ck_assert_int_eq(ref_config_device(m, EDU1, bad, 1), -ENOENT);
}
END_TEST

START_TEST(writable_spans)
{
    unsigned h;
    RefSpan s[8];
    ck_assert_int_eq(ref_obj_create(m, "vm", &h), 0);
    ck_assert_int_eq(ref_device_add(m, "vm", 0, EDU1), 0);
    ck_assert_uint_eq(ref_writable(m, EDU1, s, 8), 0);
    ck_assert_int_eq(map1("vm", 0, REF_READ | REF_WRITE, 0x100000, 8192, 0), 0);
    ck_assert_int_eq(map1("vm", 0, REF_WRITE, 0x102000, 100, 0), 0);         /* joins the run */
    ck_assert_int_eq(map1("vm", 0, REF_READ, 0x103000, 4096, 0), 0);         /* read-only: not writable */
    ck_assert_int_eq(map1("vm", 0, REF_WRITE | REF_TARGET, 0x104000, 4096, 0x900000), 0); /* jumps: a new run */
    ck_assert_uint_eq(ref_writable(m, EDU1, s, 8), 2);
    ck_assert_uint_eq(s[0].addr, 0x100000);
    ck_assert_uint_eq(s[0].phys, 0x100000);
    ck_assert_uint_eq(s[0].len, 0x3000);
    ck_assert_uint_eq(s[1].addr, 0x104000);
    ck_assert_uint_eq(s[1].phys, 0x900000);
    ck_assert_uint_eq(s[1].len, 0x1000);
    ck_assert_uint_eq(ref_writable(m, EDU1, s, 1), 2); /* the count even when cap is short */
}
END_TEST

START_TEST(errnames)
{
    ck_assert_str_eq(ref_errname(-EBUSY), "EBUSY");
    ck_assert_str_eq(ref_errname(-ERANGE), "ERANGE");
    ck_assert_str_eq(ref_errname(0), "ok");
    /* an access that wraps past 2^64 is simply not allowed (and ends) */
    ck_assert(!can(EDU0, 0xfffffffffffff000ull, 0x2000, false));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("refmodel");
    TCase *tc = tcase_create("model");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, deny_by_default);
    tcase_add_test(tc, permissions_and_union);
    tcase_add_test(tc, rounding_and_splitting);
    tcase_add_test(tc, refusals);
    tcase_add_test(tc, target_translation);
    tcase_add_test(tc, devices);
    tcase_add_test(tc, death_and_fini);
    tcase_add_test(tc, startup_mapping);
    tcase_add_test(tc, writable_spans);
    tcase_add_test(tc, errnames);
    suite_add_tcase(s, tc);
    return check_run(s);
}
