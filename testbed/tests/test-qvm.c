/* smmu-qvm, the VM model (docs/vm-config.md, docs/vdev-smmu.md), on real
 * boards with the real host service and real sockets, both IOMMUs. No
 * guest smmuman is needed: the test drives the vdev socket with libsmmu's
 * smmu_conn_open(vdev path), as the guest's service would, and with the
 * raw protocol for what libsmmu never sends. Every DMA outcome is read in
 * the board's RAM, at the host-physical address where it must land (or
 * must not), and every blocked DMA's record is checked where it must (and
 * must not) arrive. */
#include <check.h>

#include "../../smmuman/tests/check-run.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../smmuman/lib/proto.h"
#include "raw-proto.h"
#include "client-proc.h"
#include "qvm-fixture.h"
#include "service-fixture.h"
#include "smmu.h"

#ifndef SMMU_QVM
#error "SMMU_QVM: the build passes smmu-qvm's path"
#endif
#ifndef VM_FIXTURES_DIR
#error "VM_FIXTURES_DIR: the build passes fixtures/vms"
#endif

/* libsmmu's text queries: the guest's view of STATUS, paged as libsmmu pages it */
#include "../../smmuman/lib/libsmmu-tools.h"

static const char *const boards[] = { "q35-vtd", "virt-smmuv3" };
static const char *const smmu_lines[] = { "smmu vtd", "smmu smmuv3" };

#define VDEV_QUEUE 64  /* records a guest connection holds (docs/vdev-smmu.md) */

/* Guest-physical offsets from the board's RAM base. The single-VM fixtures
 * (q35-vtd.vm, virt-smmuv3.vm) have guest RAM base+0..32M backed at
 * base+64M, base+32M..64M at base+128M. */
#define G_A    0x100000ull   /* in A, never mapped by the guest */
#define G_B    0x300000ull   /* the guest's B */
#define G_B2   0x500000ull   /* read-only */
#define G_P1   0x700000ull
#define G_P2   0x900000ull
#define G_HI   0x2100000ull  /* in the second ram range */
#define G_EDGE 0x2000000ull  /* where the first ram range ends and the second begins */
#define G_OUT  0x10000000ull /* outside the guest RAM: the host's memory */
#define RAM_SPLIT 0x2000000ull

static uint64_t single_hpa_off(uint64_t g) { return g < RAM_SPLIT ? 0x4000000 + g : 0x8000000 + (g - RAM_SPLIT); }

static char *fixture(unsigned board, const char *suffix) { return g_strdup_printf("%s%s.vm", boards[board], suffix); }

/* ---- 1. A before the guest's service, then B -------------------------------- */

START_TEST(a_before_the_guest_then_b)
{
    Svc s;
    svc_start(&s, boards[_i], "smmuman", smmu_lines[_i], true);
    struct smmu_conn *host = open_or_fail(s.sock); /* a host client: it sees every record */
    Qvm q;
    g_autofree char *name = fixture(_i, "");
    qvm_start(&q, &s, name);

    /* A: every pass-through device reaches the guest's RAM where it is backed */
    lands(&s, "edu0", at(&s, G_A), at(&s, single_hpa_off(G_A)), 0xc3, "edu0 in A");
    lands(&s, "edu1", at(&s, G_HI), at(&s, single_hpa_off(G_HI)), 0x3c, "edu1 in A, second ram range");
    /* outside A: host memory, blocked, recorded on the host side */
    uint64_t out = at(&s, G_OUT);
    blocked(&s, "edu0", out, &out, 1, "edu0 outside A");
    expect_record(host, "host client", 4, out);

    /* the guest's service comes: it never sees what happened before */
    struct smmu_conn *g = open_or_fail(q.vdev);
    ck_assert_int_eq(smmu_conn_abilities(g), 0);
    expect_no_record(g, "guest, connected after the fault", 300);

    /* after HELLO the device reaches nothing, A included; the guest hears
     * of its own device at its own address */
    uint64_t a = at(&s, G_A), a_h = at(&s, single_hpa_off(G_A)), w[] = { a_h, a };
    blocked(&s, "edu0", a, w, 2, "edu0 after HELLO, in former A");
    expect_record(g, "guest", 2, a);
    expect_record(host, "host client", 4, a);
    /* blocked, but still the VM's: no host client can take it */
    struct smmu_object *ho = smmu_conn_obj_create(host, SOCF_NONE);
    ck_assert(ho);
    REFUSED(host, smmu_conn_device_add_pci(host, ho, 0, 4, 0), EBUSY, "owned by another client");

    /* B: lands where the guest's RAM is backed */
    struct smmu_object *o = smmu_conn_obj_create(g, SOCF_NONE);
    ck_assert(o);
    OK(smmu_conn_device_add_pci(g, o, 0, 2, 0));
    struct smmu_map_entry b = page(at(&s, G_B), 0x2000);
    OK(smmu_conn_mapping_add(g, o, SMF_READ | SMF_WRITE, getpid(), 1, &b, 0));
    lands(&s, "edu0", at(&s, G_B), at(&s, single_hpa_off(G_B)), 0x6b, "edu0 in B");
    /* inside A, outside B: blocked, the guest gets the record */
    blocked(&s, "edu0", a, w, 2, "edu0 in A outside B");
    expect_record(g, "guest", 2, a);
    expect_record(host, "host client", 4, a);

    /* permissions hold: B2 is read-only. The write first (VT-d: a write
     * that hits a translation cached by a read is refused unrecorded). */
    struct smmu_map_entry b2 = page(at(&s, G_B2), 0x1000);
    OK(smmu_conn_mapping_add(g, o, SMF_READ, getpid(), 1, &b2, 0));
    uint64_t b2_h = at(&s, single_hpa_off(G_B2));
    blocked(&s, "edu0", at(&s, G_B2), &b2_h, 1, "edu0 writing read-only B2");
    expect_record(g, "guest", 2, at(&s, G_B2));
    expect_record(host, "host client", 4, at(&s, G_B2));
    fill(&s, b2_h, 0x77);
    dma(&s, "edu0", "read", at(&s, G_B2)); /* the read works ... */
    uint64_t b_h = at(&s, single_hpa_off(G_B));
    fill(&s, b_h, 0x00);
    dma(&s, "edu0", "write", at(&s, G_B)); /* ... as B shows */
    check_ram(&s, b_h, 0x77, "edu0 read read-only B2");

    /* a range across the two ram ranges: split, each half lands in its own backing */
    struct smmu_map_entry span = page(at(&s, G_EDGE - 0x1000), 0x2000);
    OK(smmu_conn_mapping_add(g, o, SMF_READ | SMF_WRITE, getpid(), 1, &span, 0));
    lands(&s, "edu0", at(&s, G_EDGE - 0x1000), at(&s, single_hpa_off(G_EDGE - 0x1000)), 0x1d, "below the edge");
    lands(&s, "edu0", at(&s, G_EDGE), at(&s, single_hpa_off(G_EDGE)), 0x2e, "above the edge");

    /* unmapping blocks again */
    OK(smmu_conn_mapping_add(g, o, SMF_NONE, getpid(), 1, &b, 0));
    uint64_t bw[] = { b_h, at(&s, G_B) };
    blocked(&s, "edu0", at(&s, G_B), bw, 2, "edu0 in B after the unmap");
    expect_record(g, "guest", 2, at(&s, G_B));
    expect_record(host, "host client", 4, at(&s, G_B));

    /* the other pass-through device, in no guest object: blocked, its guest address named */
    uint64_t hi_h = at(&s, single_hpa_off(G_HI));
    blocked(&s, "edu1", at(&s, G_HI), &hi_h, 1, "edu1, no guest object");
    expect_record(g, "guest", 3, at(&s, G_HI));
    expect_record(host, "host client", 5, at(&s, G_HI));

    /* the guest detaches its device, then destroys its object: blocked on
     * the host, not back to A, and still the VM's */
    OK(smmu_conn_device_add_pci(g, NULL, 0, 2, 0));
    uint64_t e_h = at(&s, single_hpa_off(G_EDGE));
    blocked(&s, "edu0", at(&s, G_EDGE), &e_h, 1, "edu0 after the guest detached it");
    expect_record(g, "guest", 2, at(&s, G_EDGE));
    expect_record(host, "host client", 4, at(&s, G_EDGE));
    REFUSED(host, smmu_conn_device_add_pci(host, ho, 0, 4, 0), EBUSY, "owned by another client");
    OK(smmu_conn_device_add_pci(g, o, 0, 2, 0));
    smmu_conn_obj_destroy(g, o);
    blocked(&s, "edu0", at(&s, G_EDGE), &e_h, 1, "edu0 after the guest destroyed its object");
    expect_record(g, "guest", 2, at(&s, G_EDGE));
    expect_record(host, "host client", 4, at(&s, G_EDGE));
    REFUSED(host, smmu_conn_device_add_pci(host, ho, 0, 4, 0), EBUSY, "owned by another client");

    ck_assert_int_eq(smmu_conn_close(g), 0);
    ck_assert_int_eq(qvm_wait_exit(&q, WITHIN_MS), 3);
    /* the VM ended: its devices are free for the host again */
    OK(smmu_conn_device_add_pci(host, ho, 0, 4, 0));
    qvm_stop(&q);
    ck_assert_int_eq(smmu_conn_close(host), 0);
    svc_stop(&s);
}
END_TEST

/* ---- 2. what a guest may not do: refused, with why, nothing changed --------- */

START_TEST(guest_errors_change_nothing)
{
    Svc s;
    /* a share of 2 regions: a request of two separate pages, after B, is
     * taken by the host in part and must be taken back */
    g_autofree char *extra = g_strdup_printf("%s\nclient-regions 2", smmu_lines[_i]);
    svc_start(&s, boards[_i], "smmuman", extra, true);
    struct smmu_conn *host = open_or_fail(s.sock);
    Qvm q;
    g_autofree char *name = fixture(_i, "");
    qvm_start(&q, &s, name);
    struct smmu_conn *g = open_or_fail(q.vdev);
    struct smmu_object *o = smmu_conn_obj_create(g, SOCF_NONE);
    ck_assert(o);
    OK(smmu_conn_device_add_pci(g, o, 0, 2, 0));
    struct smmu_map_entry b = page(at(&s, G_B), 0x1000);
    OK(smmu_conn_mapping_add(g, o, SMF_READ | SMF_WRITE, getpid(), 1, &b, 0));
    lands(&s, "edu0", at(&s, G_B), at(&s, single_hpa_off(G_B)), 0x42, "B");

    /* devices: the guest names its own addresses, and only those passed through */
    REFUSED(g, smmu_conn_device_add_pci(g, o, 0, 6, 0), ENOENT, "pci:0:6.0 is not a pass-through device of VM vm1",
            "pci:0:2.0, pci:0:3.0");
    REFUSED(g, smmu_conn_device_add_pci(g, o, 0, 4, 0), ENOENT, "pci:0:4.0 is not a pass-through device");
    REFUSED(g, smmu_conn_device_add_mmio(g, o, at(&s, G_OUT), 4096), ENOENT, "only PCI devices are passed through");
    REFUSED(g, smmu_conn_device_add_pci(g, NULL, 0, 3, 0), ENOENT, "pci:0:3.0 is not attached to an object of this guest");
    /* edu2 (host 0:6.0, no VM's) went nowhere: blocked, and its record is not the guest's */
    uint64_t b_h = at(&s, single_hpa_off(G_B));
    blocked(&s, "edu2", at(&s, G_B), &b_h, 1, "edu2 after the refused DEVICE_ADD");
    expect_record(host, "host client", 6, at(&s, G_B));
    expect_no_record(g, "guest, edu2's fault", 200);

    /* ranges: inside the guest's RAM only, all or nothing */
    struct smmu_map_entry out = page(at(&s, G_OUT), 0x1000);
    g_autofree char *out_txt = g_strdup_printf("entries[0]: 0x%llx+0x1000 is not all guest RAM", (unsigned long long)out.phys);
    REFUSED(g, smmu_conn_mapping_add(g, o, SMF_READ | SMF_WRITE, getpid(), 1, &out, 0), ERANGE, out_txt,
            "VM vm1's RAM, guest-physical: ");
    uint64_t o_addr = at(&s, G_OUT);
    blocked(&s, "edu0", o_addr, &o_addr, 1, "edu0 outside the guest RAM after the refusal");
    expect_record(host, "host client", 4, o_addr);
    expect_no_record(g, "guest, a fault outside its RAM", 200);

    struct smmu_map_entry two[] = { page(at(&s, G_P1), 0x1000), page(at(&s, 0x4000000 - 0x1000), 0x2000) };
    REFUSED(g, smmu_conn_mapping_add(g, o, SMF_READ | SMF_WRITE, getpid(), 2, two, 0), ERANGE, "entries[1]:");
    struct smmu_map_entry p1 = page(at(&s, G_P1), 0x1000);
    REFUSED(g, smmu_conn_mapping_add(g, o, SMF_READ | SMF_WRITE | SMF_TARGET, getpid(), 1, &p1, at(&s, G_P1)), EPERM,
            "SMF_TARGET is the hypervisor's");
    uint64_t p1_h = at(&s, single_hpa_off(G_P1)), p1w[] = { p1_h, at(&s, G_P1) };
    blocked(&s, "edu0", at(&s, G_P1), p1w, 2, "edu0 at P1 after the refusals");
    expect_record(g, "guest", 2, at(&s, G_P1));
    expect_record(host, "host client", 4, at(&s, G_P1));

    /* the host takes P1, refuses P2 (its share): the VM takes P1 back and
     * says the host's words */
    struct smmu_map_entry pp[] = { page(at(&s, G_P1), 0x1000), page(at(&s, G_P2), 0x1000) };
    REFUSED(g, smmu_conn_mapping_add(g, o, SMF_READ | SMF_WRITE, getpid(), 2, pp, 0), EDQUOT, "host service: ",
            "the client's regions would exceed its share of 2");
    blocked(&s, "edu0", at(&s, G_P1), p1w, 2, "edu0 at P1 after the host's refusal");
    expect_record(g, "guest", 2, at(&s, G_P1));
    expect_record(host, "host client", 4, at(&s, G_P1));
    uint64_t p2_h = at(&s, single_hpa_off(G_P2));
    blocked(&s, "edu0", at(&s, G_P2), &p2_h, 1, "edu0 at P2 after the host's refusal");
    expect_record(g, "guest", 2, at(&s, G_P2));
    expect_record(host, "host client", 4, at(&s, G_P2));
    lands(&s, "edu0", at(&s, G_B), b_h, 0x24, "B after every refusal");

    ck_assert_int_eq(smmu_conn_close(g), 0);
    ck_assert_int_eq(qvm_wait_exit(&q, WITHIN_MS), 3);
    qvm_stop(&q);
    ck_assert_int_eq(smmu_conn_close(host), 0);
    svc_stop(&s);
}
END_TEST

/* ---- 3. the raw protocol: what libsmmu never sends ------------------------------- */

START_TEST(raw_protocol)
{
    Svc s;
    svc_start(&s, boards[_i], "smmuman", smmu_lines[_i], true);
    Qvm q;
    g_autofree char *name = fixture(_i, "");
    qvm_start(&q, &s, name);
    struct stat st;
    ck_assert_int_eq(stat(q.vdev, &st), 0);
    ck_assert_msg(S_ISSOCK(st.st_mode) && (st.st_mode & 0777) == 0600, "vdev-smmu mode 0%o", st.st_mode & 0777);
    SmmuMsg *m = g_new0(SmmuMsg, 1);
    uint8_t *buf = g_malloc(SMMU_MSG_MAX);

    /* before HELLO: refused, with why; devices stay in A */
    int fd = raw_connect(q.vdev);
    raw_send(fd, m, SMMU_OP_OBJ_CREATE, 7, buf);
    ck_assert_int_eq(raw_recv(fd, m, buf, WITHIN_MS), 1);
    ck_assert_int_eq(m->hdr.seq, 7);
    ck_assert_int_eq(m->hdr.status, -EPROTO);
    ck_assert_msg(strstr(m->text, "say HELLO first"), "%s", m->text);
    /* a malformed message with a header: a reply that says why */
    int n = encode_req(m, SMMU_OP_HELLO, 8, buf);
    buf[4] = 2; /* version */
    ck_assert_int_eq(send(fd, buf, (size_t)n, 0), n);
    ck_assert_int_eq(raw_recv(fd, m, buf, WITHIN_MS), 1);
    ck_assert_int_eq(m->hdr.status, -EPROTO);
    ck_assert_msg(strstr(m->text, "version"), "%s", m->text);
    /* shorter than a header: hung up on; never having said HELLO, nothing changes */
    ck_assert_int_eq(send(fd, "short", 5, 0), 5);
    ck_assert_int_eq(raw_recv(fd, m, buf, WITHIN_MS), -1);
    close(fd);
    lands(&s, "edu0", at(&s, G_A), at(&s, single_hpa_off(G_A)), 0x31, "edu0 in A after a connection without HELLO");
    g_autofree char *state = qvm_field(&q, "state");
    ck_assert_str_eq(state, "running");

    /* the guest's service; a second connection is hung up on at once */
    fd = raw_connect(q.vdev);
    raw_send(fd, m, SMMU_OP_HELLO, 1, buf);
    ck_assert_int_eq(raw_recv(fd, m, buf, WITHIN_MS), 1);
    ck_assert_int_eq(m->hdr.status, 0);
    ck_assert_int_eq(m->flags, 0); /* no target ability for a guest */
    int second = raw_connect(q.vdev);
    ck_assert_int_eq(raw_recv(second, m, buf, WITHIN_MS), -1);
    close(second);

    /* a guest that does not read loses no reply: every request answered, in order */
    enum { REQUESTS = 4000 };
    uint32_t sent = 0, got = 0;
    gint64 deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;
    while (got < REQUESTS && g_get_monotonic_time() < deadline) {
        bool full = false;
        while (sent < REQUESTS && !full) {
            int k = encode_req(m, SMMU_OP_XFER_STATUS, 100 + sent, buf);
            ssize_t w = send(fd, buf, (size_t)k, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (w == k) sent++;
            else full = true;
        }
        int r;
        while ((r = raw_recv(fd, m, buf, full || sent == REQUESTS ? 50 : 0)) == 1) {
            if (smmu_op_is_event(m->hdr.op)) continue;
            ck_assert_int_eq(m->hdr.op, SMMU_OP_XFER_STATUS);
            ck_assert_int_eq(m->hdr.seq, 100 + got);
            got++;
        }
        ck_assert_int_ne(r, -1);
    }
    ck_assert_int_eq(got, REQUESTS);

    /* STATUS on the raw protocol too */
    raw_send(fd, m, SMMU_OP_STATUS, 2, buf);
    ck_assert_int_eq(raw_recv(fd, m, buf, WITHIN_MS), 1);
    ck_assert_int_eq(m->hdr.status, 0);
    ck_assert_msg(g_str_has_prefix(m->text, "vm=vm1\nhost.service=running\n"), "%s", m->text);
    /* the guest's service goes: the VM's DSS, its socket gone */
    close(fd);
    ck_assert_int_eq(qvm_wait_exit(&q, WITHIN_MS), 3);
    ck_assert_int_ne(stat(q.vdev, &st), 0);
    g_free(m);
    g_free(buf);
    qvm_stop(&q);
    svc_stop(&s);
}
END_TEST

/* ---- 4. two VMs on one board --------------------------------------------------- */

START_TEST(two_vms_share_nothing)
{
    Svc s;
    svc_start(&s, boards[_i], "smmuman", smmu_lines[_i], true);
    struct smmu_conn *host = open_or_fail(s.sock);
    Qvm va, vb;
    g_autofree char *fa = fixture(_i, "-pair-a"), *fb = fixture(_i, "-pair-b");
    qvm_start(&va, &s, fa);
    qvm_start(&vb, &s, fb);
    /* vm-a: guest base+0..64M at host base+64M (edu0); vm-b: at base+192M (edu1) */
    const uint64_t a_back = 0x4000000, b_back = 0xc000000;

    /* before the guests: each device reaches its own VM's memory only; the
     * other's backing, as a guest address, is outside its A */
    lands(&s, "edu0", at(&s, G_A), at(&s, a_back + G_A), 0x61, "vm-a's device in its A");
    lands(&s, "edu1", at(&s, G_A), at(&s, b_back + G_A), 0x62, "vm-b's device in its A");
    uint64_t wb[] = { at(&s, b_back + G_A), at(&s, b_back) };
    blocked(&s, "edu0", at(&s, b_back + G_A), wb, 2, "vm-a's device at vm-b's backing");
    expect_record(host, "host client", 4, at(&s, b_back + G_A));
    uint64_t wa[] = { at(&s, a_back + G_A), at(&s, a_back) };
    blocked(&s, "edu1", at(&s, a_back + G_A), wa, 2, "vm-b's device at vm-a's backing");
    expect_record(host, "host client", 5, at(&s, a_back + G_A));

    struct smmu_conn *ga = open_or_fail(va.vdev), *gb = open_or_fail(vb.vdev);
    expect_no_record(ga, "vm-a's guest, connected after", 200);
    expect_no_record(gb, "vm-b's guest, connected after", 200);
    /* each maps the same guest address, with the same guest device address */
    struct smmu_object *oa = smmu_conn_obj_create(ga, SOCF_NONE), *ob = smmu_conn_obj_create(gb, SOCF_NONE);
    ck_assert(oa && ob);
    OK(smmu_conn_device_add_pci(ga, oa, 0, 2, 0));
    OK(smmu_conn_device_add_pci(gb, ob, 0, 2, 0));
    struct smmu_map_entry b = page(at(&s, G_B), 0x1000);
    OK(smmu_conn_mapping_add(ga, oa, SMF_READ | SMF_WRITE, getpid(), 1, &b, 0));
    OK(smmu_conn_mapping_add(gb, ob, SMF_READ | SMF_WRITE, getpid(), 1, &b, 0));
    fill(&s, at(&s, b_back + G_B), 0x99);
    lands(&s, "edu0", at(&s, G_B), at(&s, a_back + G_B), 0x71, "vm-a's B");
    check_ram(&s, at(&s, b_back + G_B), 0x99, "vm-b's B while vm-a's device wrote");
    fill(&s, at(&s, a_back + G_B), 0x98);
    lands(&s, "edu1", at(&s, G_B), at(&s, b_back + G_B), 0x72, "vm-b's B");
    check_ram(&s, at(&s, a_back + G_B), 0x98, "vm-a's B while vm-b's device wrote");

    /* each guest hears of its own device only */
    uint64_t bh = at(&s, b_back + G_A);
    blocked(&s, "edu1", at(&s, G_A), &bh, 1, "vm-b's device outside its B");
    expect_record(gb, "vm-b's guest", 2, at(&s, G_A));
    expect_no_record(ga, "vm-a's guest, vm-b's fault", 300);
    expect_record(host, "host client", 5, at(&s, G_A));
    uint64_t ah = at(&s, a_back + G_A);
    blocked(&s, "edu0", at(&s, G_A), &ah, 1, "vm-a's device outside its B");
    expect_record(ga, "vm-a's guest", 2, at(&s, G_A));
    expect_no_record(gb, "vm-b's guest, vm-a's fault", 300);
    expect_record(host, "host client", 4, at(&s, G_A));

    ck_assert_int_eq(smmu_conn_close(ga), 0);
    ck_assert_int_eq(smmu_conn_close(gb), 0);
    ck_assert_int_eq(qvm_wait_exit(&va, WITHIN_MS), 3);
    ck_assert_int_eq(qvm_wait_exit(&vb, WITHIN_MS), 3);
    qvm_stop(&va);
    qvm_stop(&vb);
    ck_assert_int_eq(smmu_conn_close(host), 0);
    svc_stop(&s);
}
END_TEST

/* ---- 5. certification: the VM's file and the host service's own facts ---------- */

START_TEST(certification_status)
{
    const unsigned board = _i / 2;
    const bool safety = _i % 2;
    Svc s;
    svc_start(&s, boards[board], safety ? "smmuman-safety" : "smmuman", smmu_lines[board], true);
    Qvm q;
    g_autofree char *name = fixture(board, "");
    qvm_start(&q, &s, name);
    /* the guest's service, through QNX's calls on the default connection */
    setenv("SMMU_SOCKET", q.vdev, 1);
    OK(smmu_init(0));
    g_autofree char *text = smmu_query_text_alloc(SMMU_OP_STATUS);
    ck_assert_msg(text, "STATUS: %s", strerror(errno));
    const char *hw = board == 0 ? "vtd" : "smmuv3", *host = safety ? "yes" : "no";
    g_autofree char *want = g_strdup_printf("vm=vm1\nhost.service=running\nhost.client=yes\nhost.hardware=%s\n"
                                            "cert.host.kernel=yes\ncert.host.procnto=yes\ncert.host.smmuman=%s\n"
                                            "cert.host.libsmmu=yes\ncert.host.support-library=%s\ncert.qvm=yes\n"
                                            "cert.vdev.smmu=yes\n",
                                            hw, host, host);
    ck_assert_str_eq(text, want);
    /* every component certified only with the safety variant and its library */
    ck_assert_int_eq(smmu_safety(), safety ? SMMUMAN_SAFETY_YES : SMMUMAN_SAFETY_NO);
    /* OBJECTS: the guest's objects, as the guest gave them (guest-physical) */
    struct smmu_object *o = smmu_obj_create(SOCF_NONE);
    ck_assert(o);
    OK(smmu_device_add_pci(o, 0, 2, 0));
    struct smmu_map_entry rw = page(at(&s, G_B), 0x2000), ro = page(at(&s, G_B2), 0x100);
    OK(smmu_mapping_add(o, SMF_READ | SMF_WRITE, getpid(), 1, &rw, 0));
    OK(smmu_mapping_add(o, SMF_READ, getpid(), 1, &ro, 0));
    g_autofree char *objs = smmu_query_text_alloc(SMMU_OP_OBJECTS);
    g_autofree char *objs_want = g_strdup_printf("object=1 regions=2 devices=pci:0:2.0\n"
                                                 "region=1 start=0x%llx len=0x2000 perms=rw\n"
                                                 "region=1 start=0x%llx len=0x100 perms=r\n",
                                                 (unsigned long long)rw.phys, (unsigned long long)ro.phys);
    ck_assert_str_eq(objs, objs_want);
    smmu_fini(); /* the guest's service goes: that VM's DSS */
    ck_assert_int_eq(qvm_wait_exit(&q, WITHIN_MS), 3);
    qvm_stop(&q);

    /* a VM that states nothing: every component of its file uncertified,
     * whatever the host is */
    g_autofree char *pair = fixture(board, "-pair-a");
    qvm_start(&q, &s, pair);
    setenv("SMMU_SOCKET", q.vdev, 1);
    OK(smmu_init(0));
    g_free(text);
    text = smmu_query_text_alloc(SMMU_OP_STATUS);
    ck_assert(text);
    g_free(want);
    want = g_strdup_printf("vm=vm-a\nhost.service=running\nhost.client=yes\nhost.hardware=%s\ncert.host.kernel=no\n"
                           "cert.host.procnto=no\ncert.host.smmuman=%s\ncert.host.libsmmu=no\n"
                           "cert.host.support-library=%s\ncert.qvm=no\ncert.vdev.smmu=no\n",
                           hw, host, host);
    ck_assert_str_eq(text, want);
    ck_assert_int_eq(smmu_safety(), SMMUMAN_SAFETY_NO);
    smmu_fini();
    ck_assert_int_eq(qvm_wait_exit(&q, WITHIN_MS), 3);
    qvm_stop(&q);
    svc_stop(&s);
}
END_TEST

/* ---- 6. a host startup mapping for a pass-through device: no VM --------------- */

START_TEST(host_startup_mapping_refuses_the_vm)
{
    Svc s;
    /* smmu.conf (service-fixture.c): 8 lines of its own, then these; the
     * device line is line 11 */
    const uint64_t base = _i == 0 ? 0x0 : 0x40000000;
    g_autofree char *extra = g_strdup_printf("%s\nallow buf 0x%llx,0x1000\ndevice pci:0:4.0 buf", smmu_lines[_i],
                                             (unsigned long long)(base + G_OUT));
    svc_start(&s, boards[_i], "smmuman", extra, true);
    Qvm q;
    g_autofree char *name = fixture(_i, "");
    qvm_start_on(&q, &s, name, NULL, false);
    ck_assert_int_eq(qvm_wait_exit(&q, WITHIN_MS), 1);
    g_autofree char *state = qvm_field(&q, "state"), *reason = qvm_field(&q, "reason"), *log = qvm_log(&q);
    g_autofree char *line = g_strdup_printf("startup mapping (%s:11)", s.conf);
    ck_assert_str_eq(state, "stopped");
    ck_assert_msg(reason && strstr(reason, "Device or resource busy") && strstr(reason, "startup mapping") &&
                      strstr(reason, line) && strstr(reason, "pci:0:4.0"),
                  "reason does not name the host's configuration line %s: %s", line, reason ? reason : "(none)");
    ck_assert_msg(strstr(log, reason), "stderr does not say it: %s", log);
    /* nothing of the VM is left: A went with its connection, edu1 never joined it */
    uint64_t a_h = at(&s, single_hpa_off(G_A));
    blocked(&s, "edu1", at(&s, G_A), &a_h, 1, "edu1 after the VM refused to start");
    qvm_stop(&q);

    /* and without the target ability a VM does not start either */
    qvm_start_on(&q, &s, name, s.sock, false);
    ck_assert_int_eq(qvm_wait_exit(&q, WITHIN_MS), 1);
    g_free(reason);
    reason = qvm_field(&q, "reason");
    ck_assert_msg(reason && strstr(reason, "did not grant the target ability"), "%s", reason ? reason : "(none)");
    qvm_stop(&q);
    svc_stop(&s);
}
END_TEST

/* ---- 7. the guest's service goes: the VM's DSS ------------------------------------ */

START_TEST(guest_gone_is_the_vms_dss)
{
    Svc s;
    svc_start(&s, boards[_i], "smmuman", smmu_lines[_i], true);
    struct smmu_conn *host = open_or_fail(s.sock);
    Qvm q;
    g_autofree char *name = fixture(_i, "");
    qvm_start(&q, &s, name);
    struct smmu_conn *g = open_or_fail(q.vdev);
    struct smmu_object *o = smmu_conn_obj_create(g, SOCF_NONE);
    ck_assert(o);
    OK(smmu_conn_device_add_pci(g, o, 0, 2, 0));
    struct smmu_map_entry b = page(at(&s, G_B), 0x1000);
    OK(smmu_conn_mapping_add(g, o, SMF_READ | SMF_WRITE, getpid(), 1, &b, 0));
    uint64_t b_h = at(&s, single_hpa_off(G_B)), a_h = at(&s, single_hpa_off(G_A));
    lands(&s, "edu0", at(&s, G_B), b_h, 0x51, "B before the guest goes");

    ck_assert_int_eq(smmu_conn_close(g), 0);
    ck_assert_int_eq(qvm_wait_exit(&q, WITHIN_MS), 3);
    g_autofree char *state = qvm_field(&q, "state"), *reason = qvm_field(&q, "reason"), *log = qvm_log(&q);
    ck_assert_str_eq(state, "dss");
    ck_assert_msg(reason && strstr(reason, "the guest's service went away"), "%s", reason ? reason : "(none)");
    ck_assert_msg(strstr(log, "Design Safe State") && strstr(log, "exit status 3"), "%s", log);
    struct stat st;
    ck_assert_int_ne(stat(q.vdev, &st), 0);
    /* its device reaches neither the former B nor A */
    uint64_t wb[] = { b_h, at(&s, G_B) };
    blocked(&s, "edu0", at(&s, G_B), wb, 2, "edu0 in former B after the VM's DSS");
    expect_record(host, "host client", 4, at(&s, G_B));
    blocked(&s, "edu0", at(&s, G_A), &a_h, 1, "edu0 in A after the VM's DSS");
    expect_record(host, "host client", 4, at(&s, G_A));
    uint64_t hi_h = at(&s, single_hpa_off(G_HI));
    blocked(&s, "edu1", at(&s, G_HI), &hi_h, 1, "edu1 after the VM's DSS");
    expect_record(host, "host client", 5, at(&s, G_HI));
    qvm_stop(&q);
    ck_assert_int_eq(smmu_conn_close(host), 0);
    svc_stop(&s);
}
END_TEST

/* ---- 8. a VM killed, a VM stopped -------------------------------------------------- */

START_TEST(vm_killed_or_stopped_leaves_devices_blocked)
{
    Svc s;
    svc_start(&s, boards[_i], "smmuman", smmu_lines[_i], true);
    Qvm va, vb;
    g_autofree char *fa = fixture(_i, "-pair-a"), *fb = fixture(_i, "-pair-b");
    qvm_start(&va, &s, fa);
    qvm_start(&vb, &s, fb);
    const uint64_t a_back = 0x4000000, b_back = 0xc000000;
    struct smmu_conn *ga = open_or_fail(va.vdev);
    struct smmu_object *oa = smmu_conn_obj_create(ga, SOCF_NONE);
    ck_assert(oa);
    OK(smmu_conn_device_add_pci(ga, oa, 0, 2, 0));
    struct smmu_map_entry b = page(at(&s, G_B), 0x1000);
    OK(smmu_conn_mapping_add(ga, oa, SMF_READ | SMF_WRITE, getpid(), 1, &b, 0));
    lands(&s, "edu0", at(&s, G_B), at(&s, a_back + G_B), 0x81, "vm-a's B");
    lands(&s, "edu1", at(&s, G_A), at(&s, b_back + G_A), 0x82, "vm-b's A");

    /* SIGKILL: the VM says nothing; the host ends its client, and its
     * objects with it */
    kill(va.pid, SIGKILL);
    ck_assert_int_eq(qvm_wait_exit(&va, WITHIN_MS), 128 + SIGKILL);
    wait_clients(&s, 2); /* vm-b and the asking smmuctl */
    uint64_t wb[] = { at(&s, a_back + G_B), at(&s, G_B) };
    blocked(&s, "edu0", at(&s, G_B), wb, 2, "vm-a's device in its B after vm-a was killed");
    uint64_t wa = at(&s, a_back + G_A);
    blocked(&s, "edu0", at(&s, G_A), &wa, 1, "vm-a's device in its A after vm-a was killed");
    smmu_conn_close(ga); /* its VM is gone: the connection is dead */

    /* SIGTERM: an orderly stop, devices blocked, exit 0 */
    kill(vb.pid, SIGTERM);
    ck_assert_int_eq(qvm_wait_exit(&vb, WITHIN_MS), 0);
    g_autofree char *state = qvm_field(&vb, "state"), *reason = qvm_field(&vb, "reason");
    ck_assert_str_eq(state, "stopped");
    ck_assert_str_eq(reason, "stopped by SIGTERM");
    struct stat st;
    ck_assert_int_ne(stat(vb.vdev, &st), 0);
    uint64_t wbb = at(&s, b_back + G_A);
    blocked(&s, "edu1", at(&s, G_A), &wbb, 1, "vm-b's device after its orderly stop");
    wait_clients(&s, 1);
    qvm_stop(&va);
    qvm_stop(&vb);
    svc_stop(&s);
}
END_TEST

/* ---- 9. the host service goes: the VM ends too --------------------------------------- */

START_TEST(host_gone_ends_the_vm)
{
    const unsigned board = _i / 2;
    const bool killed = _i % 2;
    Svc s;
    svc_start(&s, boards[board], "smmuman", smmu_lines[board], true);
    Qvm q;
    g_autofree char *name = fixture(board, "");
    qvm_start(&q, &s, name);
    struct smmu_conn *g = open_or_fail(q.vdev);
    kill(s.pid, killed ? SIGKILL : SIGTERM);
    ck_assert_int_eq(qvm_wait_exit(&q, WITHIN_MS), 4);
    g_autofree char *state = qvm_field(&q, "state"), *reason = qvm_field(&q, "reason");
    ck_assert_str_eq(state, "dss");
    const char *why = killed ? "host service gone: " SMMU_REASON_LOST
                             : "host service gone: stopped by a signal: the service must never be stopped";
    ck_assert_msg(reason && g_str_has_prefix(reason, why), "reason '%s', want '%s...'", reason ? reason : "(none)", why);
    /* the guest's service was told why its vdev-smmu went */
    struct pollfd p = { .fd = smmu_conn_xfer_fd(g), .events = POLLIN };
    ck_assert_int_eq(poll(&p, 1, WITHIN_MS), 1);
    const char *told = smmu_conn_dss_reason(g);
    ck_assert_msg(told && strstr(told, "VM vm1: host service gone"), "%s", told ? told : "(none)");
    smmu_conn_close(g);
    ck_assert_int_eq(svc_wait_exit(&s, WITHIN_MS), killed ? 128 + SIGKILL : 3);
    qvm_stop(&q);
    svc_stop(&s);
}
END_TEST

/* ---- 10. the guest's fault queue and its notices ---------------------------------- */

static atomic_int notices;
static void notice(union sigval v)
{
    (void)v;
    atomic_fetch_add(&notices, 1);
}

static void wait_notices(int n, const char *what)
{
    for (int i = 0; i < WITHIN_MS / 5 && atomic_load(&notices) < n; i++) g_usleep(5000);
    ck_assert_msg(atomic_load(&notices) == n, "%s: %d notices, want %d", what, atomic_load(&notices), n);
}

START_TEST(fault_queue_and_notices)
{
    Svc s;
    svc_start(&s, boards[_i], "smmuman", smmu_lines[_i], true);
    struct smmu_conn *host = open_or_fail(s.sock);
    Qvm q;
    g_autofree char *name = fixture(_i, "");
    qvm_start(&q, &s, name);
    struct smmu_conn *g = open_or_fail(q.vdev);
    /* the host's reserved regions are not the guest's */
    union smmu_devid id = { .pci = { SDT_PCI, 0, 2, 0 } };
    ck_assert_uint_eq(smmu_conn_device_report_reserved(g, &id, 0, NULL, 0), 0);
    uint64_t a = at(&s, G_A), a_h = at(&s, single_hpa_off(G_A));

    /* XFER_NOTIFY: one-shot; registering while records wait tells at once */
    atomic_store(&notices, 0);
    struct sigevent ev = { .sigev_notify = SIGEV_THREAD, .sigev_notify_function = notice };
    OK(smmu_conn_xfer_notify(g, &ev));
    blocked(&s, "edu0", a, &a_h, 1, "edu0, parked");
    expect_record(host, "host client", 4, a);
    wait_notices(1, "the registered fault");
    expect_record(g, "guest", 2, a);
    blocked(&s, "edu0", a, &a_h, 1, "edu0, parked, not registered");
    expect_record(host, "host client", 4, a);
    expect_record(g, "guest", 2, a);
    g_usleep(100000);
    ck_assert_int_eq(atomic_load(&notices), 1); /* one-shot */
    blocked(&s, "edu0", a, &a_h, 1, "edu0, parked, registered after");
    expect_record(host, "host client", 4, a);
    struct pollfd p = { .fd = smmu_conn_xfer_fd(g), .events = POLLIN };
    ck_assert_int_eq(poll(&p, 1, WITHIN_MS), 1); /* the record waits for the guest */
    OK(smmu_conn_xfer_notify(g, &ev));
    wait_notices(2, "registered while a record waited");
    expect_record(g, "guest", 2, a);

    /* 64 records wait for a guest that does not read; the next is dropped,
     * and the first read says so */
    enum { FAULTS = VDEV_QUEUE + 4 };
    for (unsigned i = 0; i < FAULTS; i++) {
        dma(&s, "edu0", "write", a);
        expect_record(host, "host client", 4, a); /* one at a time: VT-d keeps a single record */
    }
    struct smmu_status st;
    unsigned got = 0;
    while (next_record(g, &st, 300)) {
        ck_assert_msg(st.devid.pci.dev == 2 && st.fault_addr == a, "record %u: 0:%u.%u at 0x%llx", got,
                      st.devid.pci.dev, st.devid.pci.func, (unsigned long long)st.fault_addr);
        ck_assert_msg(!(st.flags & SSF_DROPPED_FAULTS) == (got != 0), "record %u: flags 0x%x", got, st.flags);
        got++;
    }
    ck_assert_uint_eq(got, VDEV_QUEUE);
    /* and a slot read is a slot free */
    dma(&s, "edu0", "write", a);
    expect_record(host, "host client", 4, a);
    expect_record(g, "guest", 2, a);

    ck_assert_int_eq(smmu_conn_close(g), 0);
    ck_assert_int_eq(qvm_wait_exit(&q, WITHIN_MS), 3);
    qvm_stop(&q);
    ck_assert_int_eq(smmu_conn_close(host), 0);
    svc_stop(&s);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("qvm");
    TCase *tc = tcase_create("boards");
    tcase_set_timeout(tc, 180);
    tcase_add_loop_test(tc, a_before_the_guest_then_b, 0, 2);
    tcase_add_loop_test(tc, guest_errors_change_nothing, 0, 2);
    tcase_add_loop_test(tc, raw_protocol, 0, 2);
    tcase_add_loop_test(tc, two_vms_share_nothing, 0, 2);
    tcase_add_loop_test(tc, certification_status, 0, 4);
    tcase_add_loop_test(tc, host_startup_mapping_refuses_the_vm, 0, 2);
    tcase_add_loop_test(tc, guest_gone_is_the_vms_dss, 0, 2);
    tcase_add_loop_test(tc, vm_killed_or_stopped_leaves_devices_blocked, 0, 2);
    tcase_add_loop_test(tc, host_gone_ends_the_vm, 0, 4);
    tcase_add_loop_test(tc, fault_queue_and_notices, 0, 2);
    suite_add_tcase(su, tc);
    return check_run(su);
}
