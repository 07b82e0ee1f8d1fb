/* Several libsmmu connections in one process (smmu_conn_*), against the
 * real service on real boards, both IOMMUs. This is what a VM manager
 * needs: it is a client of the host's service (through the target socket)
 * and, in the same process, may talk to its guest's service as well.
 *
 * With the library a process-wide singleton none of this could pass: a
 * second connection did not exist, so there was no second HELLO ability,
 * no second client for the service to refuse a device to, no second queue
 * of records, and the death of one service was the death of the only
 * connection. */
#include <check.h>

#include "../../smmuman/tests/check-run.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client-proc.h"
#include "dma-checks.h"
#include "service-fixture.h"
#include "smmu.h"

static const char *const boards[] = { "q35-vtd", "virt-smmuv3" };
static const char *const smmu_lines[] = { "smmu vtd", "smmu smmuv3" };

static struct smmu_map_entry one(uint64_t addr) { return page(addr, 4096); }

#define EXPECT_ERR(call, e)                                                                                        \
    do {                                                                                                           \
        errno = 0;                                                                                                 \
        ck_assert_msg((call) == -1 && errno == (e), "%s: errno %d (%s), want %s", #call, errno, strerror(errno), #e); \
    } while (0)

/* One process, two connections to one service, one through each socket:
 * to the service they are two clients. */
START_TEST(two_connections_to_one_service_are_two_clients)
{
    Svc s;
    svc_start(&s, boards[_i], "smmuman", smmu_lines[_i], true);
    struct smmu_conn *a = open_or_fail(s.sock), *t = open_or_fail(s.target_sock);
    /* each has its own HELLO: the ability of the socket it came through */
    ck_assert_int_eq(smmu_conn_abilities(a), 0);
    ck_assert_int_eq(smmu_conn_abilities(t), SMMU_CONN_TARGET);
    wait_clients(&s, 3); /* a, t and the asking smmuctl */

    struct smmu_object *oa = smmu_conn_obj_create(a, SOCF_NONE), *ot = smmu_conn_obj_create(t, SOCF_NONE);
    ck_assert(oa && ot);
    uint64_t buf = board_addr(&s.b, 0x300000), gpa = board_addr(&s.b, 0x500000), z = board_addr(&s.b, 0x280000);
    struct smmu_map_entry e = one(buf), g = one(gpa);
    /* an object is its connection's */
    EXPECT_ERR(smmu_conn_mapping_add(t, oa, SMF_READ | SMF_WRITE, getpid(), 1, &e, 0), EINVAL);
    EXPECT_ERR(smmu_conn_mapping_add(a, ot, SMF_READ | SMF_WRITE, getpid(), 1, &e, 0), EINVAL);
    EXPECT_ERR(smmu_conn_device_add_pci(t, oa, 0, 4, 0), EINVAL);
    errno = 0;
    smmu_conn_obj_destroy(t, oa);
    ck_assert_int_eq(errno, EINVAL);
    /* the target ability is the connection's, as the service sees it too */
    EXPECT_ERR(smmu_conn_mapping_add(a, oa, SMF_READ | SMF_WRITE | SMF_TARGET, getpid(), 1, &g, buf), EPERM);

    /* a owns edu0: another client, for the service, even in this process */
    OK(smmu_conn_device_add_pci(a, oa, 0, 4, 0));
    EXPECT_ERR(smmu_conn_device_add_pci(t, ot, 0, 4, 0), EBUSY);
    EXPECT_ERR(smmu_conn_device_add_pci(t, NULL, 0, 4, 0), EBUSY); /* nor may t detach it */
    OK(smmu_conn_mapping_add(a, oa, SMF_READ | SMF_WRITE, getpid(), 1, &e, 0));
    lands(&s, "edu0", buf, buf, 0x6b, "edu0 through a's object");
    /* t maps edu1 through a translation: guest-physical gpa lands at buf */
    OK(smmu_conn_device_add_pci(t, ot, 0, 5, 0));
    OK(smmu_conn_mapping_add(t, ot, SMF_READ | SMF_WRITE | SMF_TARGET, getpid(), 1, &g, buf));
    lands(&s, "edu1", gpa, buf, 0x3c, "edu1 through t's object");

    /* a blocked write by edu2 (no one's): both connections are attached
     * clients, so each queue holds the record; one reading it leaves the
     * other's alone */
    dma(&s, "edu2", "write", z);
    expect_record(a, "a", 6, z);
    expect_no_record(a, "a after reading", 0);
    expect_record(t, "t", 6, z);

    /* closing t ends its client (and its object: edu1 is blocked again);
     * a carries on */
    ck_assert_int_eq(smmu_conn_close(t), 0);
    wait_clients(&s, 2);
    lands(&s, "edu0", buf, buf, 0x5e, "edu0 through a's object, t closed");
    fill(&s, buf, 0x11);
    dma(&s, "edu1", "write", gpa);
    check_ram(&s, buf, 0x11, "edu1 after t closed");
    expect_record(a, "a, t closed", 5, gpa);
    struct smmu_object *oa2 = smmu_conn_obj_create(a, SOCF_NONE);
    ck_assert(oa2);
    ck_assert_int_eq(smmu_conn_safety(a), SMMUMAN_SAFETY_NO);

    /* and once a closes, its device is free for a new connection */
    struct smmu_conn *t2 = open_or_fail(s.target_sock);
    struct smmu_object *ot2 = smmu_conn_obj_create(t2, SOCF_NONE);
    ck_assert(ot2);
    EXPECT_ERR(smmu_conn_device_add_pci(t2, ot2, 0, 4, 0), EBUSY);
    ck_assert_int_eq(smmu_conn_close(a), 0);
    OK(smmu_conn_device_add_pci(t2, ot2, 0, 4, 0));
    ck_assert_int_eq(smmu_conn_close(t2), 0);
    wait_clients(&s, 1);
    svc_stop(&s);
}
END_TEST

/* The VM manager's case: one process, a client of two services on two
 * machines (one board per service: a board's IOMMU has one driver). Both
 * map, both DMAs land; a record of one board reaches that connection
 * alone; one service dying leaves the other connection working. */
START_TEST(connections_to_two_services_both_map)
{
    Svc s1, s2;
    svc_start(&s1, "q35-vtd", "smmuman", "smmu vtd", true);
    svc_start(&s2, "virt-smmuv3", "smmuman", "smmu smmuv3", true);
    struct smmu_conn *host = open_or_fail(s1.target_sock), *guest = open_or_fail(s2.sock);
    ck_assert_int_eq(smmu_conn_abilities(host), SMMU_CONN_TARGET);
    ck_assert_int_eq(smmu_conn_abilities(guest), 0);

    /* host: guest-physical gpa lands at host-physical hpa (what qvm maps) */
    uint64_t gpa = board_addr(&s1.b, 0x100000), hpa = board_addr(&s1.b, 0x400000);
    struct smmu_object *oh = smmu_conn_obj_create(host, SOCF_NONE);
    ck_assert(oh);
    OK(smmu_conn_device_add_pci(host, oh, 0, 4, 0));
    struct smmu_map_entry g = one(gpa);
    OK(smmu_conn_mapping_add(host, oh, SMF_READ | SMF_WRITE | SMF_TARGET, getpid(), 1, &g, hpa));
    /* the other service: an identity mapping */
    uint64_t buf = board_addr(&s2.b, 0x300000);
    struct smmu_object *og = smmu_conn_obj_create(guest, SOCF_NONE);
    ck_assert(og);
    OK(smmu_conn_device_add_pci(guest, og, 0, 4, 0));
    struct smmu_map_entry e = one(buf);
    OK(smmu_conn_mapping_add(guest, og, SMF_READ | SMF_WRITE, getpid(), 1, &e, 0));
    /* objects are per connection, even of the same number on two services */
    EXPECT_ERR(smmu_conn_mapping_add(host, og, SMF_READ, getpid(), 1, &e, 0), EINVAL);
    EXPECT_ERR(smmu_conn_mapping_add(guest, oh, SMF_READ, getpid(), 1, &e, 0), EINVAL);

    lands(&s1, "edu0", gpa, hpa, 0xa7, "board 1: through the host connection's translation");
    lands(&s2, "edu0", buf, buf, 0x9d, "board 2: through the guest connection's object");

    /* a record of board 2 is the guest connection's only */
    uint64_t z = board_addr(&s2.b, 0x280000);
    dma(&s2, "edu1", "write", z);
    expect_record(guest, "guest", 5, z);
    expect_no_record(host, "host", 200);

    /* board 2's service dies: that connection learns it, the other works on */
    kill(s2.pid, SIGKILL);
    int gfd = smmu_conn_xfer_fd(guest);
    struct pollfd p = { .fd = gfd, .events = POLLIN };
    ck_assert_msg(poll(&p, 1, WITHIN_MS) == 1, "the guest connection's descriptor did not wake");
    const char *why = smmu_conn_dss_reason(guest);
    ck_assert_msg(why && g_str_has_prefix(why, SMMU_REASON_LOST), "%s", why ? why : "(none)");
    EXPECT_ERR(smmu_conn_mapping_add(guest, og, SMF_READ, getpid(), 1, &e, 0), EIO);
    ck_assert_ptr_null(smmu_conn_dss_reason(host));
    lands(&s1, "edu0", gpa, hpa, 0x4e, "board 1 after board 2's service died");
    ck_assert_int_eq(smmu_conn_safety(host), SMMUMAN_SAFETY_NO);
    ck_assert_int_eq(svc_wait_exit(&s2, 5000), 128 + SIGKILL);

    ck_assert_int_eq(smmu_conn_close(guest), 0);
    ck_assert_int_eq(smmu_conn_close(host), 0);
    svc_stop(&s2);
    svc_stop(&s1);
}
END_TEST

/* QNX's calls (the default connection, smmu_init()) and an explicit
 * connection side by side in one process. */
START_TEST(default_and_explicit_connections_side_by_side)
{
    Svc s;
    svc_start(&s, boards[_i], "smmuman", smmu_lines[_i], true);
    setenv("SMMU_SOCKET", s.sock, 1);
    OK(smmu_init(0));
    struct smmu_conn *x = open_or_fail(s.target_sock), *d = smmu_conn_default();
    ck_assert(d && d != x);
    ck_assert_int_eq(smmu_conn_abilities(d), 0);
    ck_assert_int_eq(smmu_conn_abilities(x), SMMU_CONN_TARGET);
    wait_clients(&s, 3);

    struct smmu_object *od = smmu_obj_create(SOCF_NONE), *ox = smmu_conn_obj_create(x, SOCF_NONE);
    ck_assert(od && ox);
    uint64_t buf = board_addr(&s.b, 0x300000), gpa = board_addr(&s.b, 0x500000), hpa = board_addr(&s.b, 0x600000);
    struct smmu_map_entry e = one(buf), g = one(gpa);
    EXPECT_ERR(smmu_mapping_add(ox, SMF_READ, getpid(), 1, &e, 0), EINVAL);
    EXPECT_ERR(smmu_device_add_pci(ox, 0, 4, 0), EINVAL);
    EXPECT_ERR(smmu_conn_mapping_add(x, od, SMF_READ, getpid(), 1, &e, 0), EINVAL);
    OK(smmu_device_add_pci(od, 0, 4, 0));
    EXPECT_ERR(smmu_conn_device_add_pci(x, ox, 0, 4, 0), EBUSY);
    OK(smmu_conn_device_add_pci(x, ox, 0, 5, 0));
    EXPECT_ERR(smmu_mapping_add(od, SMF_READ | SMF_WRITE | SMF_TARGET, getpid(), 1, &g, hpa), EPERM);
    OK(smmu_mapping_add(od, SMF_READ | SMF_WRITE, getpid(), 1, &e, 0));
    OK(smmu_conn_mapping_add(x, ox, SMF_READ | SMF_WRITE | SMF_TARGET, getpid(), 1, &g, hpa));
    lands(&s, "edu0", buf, buf, 0x2d, "edu0 through the default connection");
    lands(&s, "edu1", gpa, hpa, 0xd2, "edu1 through the explicit connection");

    /* a record reaches both: QNX's smmu_xfer_fd()/smmu_xfer_status() and
     * the explicit connection's, separately */
    ck_assert_int_ne(smmu_xfer_fd(), smmu_conn_xfer_fd(x));
    uint64_t z = board_addr(&s.b, 0x280000);
    dma(&s, "edu2", "write", z);
    struct pollfd p = { .fd = smmu_xfer_fd(), .events = POLLIN };
    ck_assert(poll(&p, 1, WITHIN_MS) == 1);
    struct smmu_status st;
    ck_assert_int_eq(smmu_xfer_status(&st), 1);
    ck_assert_uint_eq(st.devid.pci.dev, 6);
    ck_assert_uint_eq(st.fault_addr, z);
    while (smmu_xfer_status(&st) == 1) ck_assert_uint_eq(st.fault_addr, z);
    expect_record(x, "x", 6, z);

    /* smmu_fini() ends the default connection alone: its object goes, so
     * edu0 is blocked (and x hears of it); x's mapping stays */
    smmu_fini();
    EXPECT_ERR(smmu_xfer_fd(), ENOTCONN);
    ck_assert_ptr_null(smmu_conn_default());
    wait_clients(&s, 2);
    fill(&s, buf, 0x77);
    dma(&s, "edu0", "write", buf);
    check_ram(&s, buf, 0x77, "edu0 after smmu_fini()");
    expect_record(x, "x after smmu_fini()", 4, buf);
    lands(&s, "edu1", gpa, hpa, 0x39, "edu1 after smmu_fini()");
    /* and smmu_init() makes it again while x is open */
    OK(smmu_init(0));
    ck_assert_ptr_eq(smmu_conn_default(), d);
    ck_assert_int_eq(smmu_safety(), SMMUMAN_SAFETY_NO);
    wait_clients(&s, 3);
    smmu_fini();
    ck_assert_int_eq(smmu_conn_close(x), 0);
    svc_stop(&s);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("conn");
    TCase *tc = tcase_create("boards");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, two_connections_to_one_service_are_two_clients, 0, 2);
    tcase_add_test(tc, connections_to_two_services_both_map);
    tcase_add_loop_test(tc, default_and_explicit_connections_side_by_side, 0, 2);
    suite_add_tcase(su, tc);
    return check_run(su);
}
