/* The guest mode of the service (issue 10): the same smmuman binary, given
 * its VM's vdev-smmu, serving a guest's drivers. Real boards, the real host
 * service, a real smmu-qvm and a real guest service; the guest's drivers
 * are libsmmu connections to the guest service's socket. Both IOMMU
 * boards. What the VM itself does is test-qvm's; here is what the guest's
 * service does: C is B, deny by default, its startup mappings, the options
 * it ignores, the certification and safety policy, and its ends. */
#include <check.h>

#include "../../smmuman/tests/check-run.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "paths-service.h"
#include "qvm-fixture.h"
#include "service-fixture.h"
#include "smmu.h"
#include "status-text.h"

static const char *const boards[] = { "q35-vtd", "virt-smmuv3" };
static const char *const smmu_lines[] = { "smmu vtd", "smmu smmuv3" };

/* The single-VM fixtures: guest RAM base+0..32M backed at base+64M,
 * base+32M..64M at base+128M; edu0 at guest 0:2.0, edu1 at 0:3.0. */
#define G_A 0x100000ull /* in A, never mapped by the guest */
#define G_B 0x300000ull /* the guest's B */
static uint64_t hpa_off(uint64_t g) { return 0x4000000 + g; } /* below 32M */

/* ---- the guest's service -------------------------------------------------- */

typedef struct {
    GPid pid;
    char *dir, *sock, *tsock, *status, *log, *conf;
    bool exited;
    int exit_status;
} Guest;

static void die_with_the_test(gpointer data) { prctl(PR_SET_PDEATHSIG, SIGKILL); }

static bool guest_reap(Guest *g)
{
    int st;
    if (g->exited) return true;
    if (waitpid(g->pid, &st, WNOHANG) != g->pid) return false;
    g->exited = true;
    g->exit_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return true;
}

static char *guest_log(Guest *g)
{
    char *text = NULL;
    if (!g_file_get_contents(g->log, &text, NULL, NULL)) text = g_strdup("");
    return text;
}

/* Starts `prog` in guest mode: SMMU_VDEV names the VM's socket (NULL: the
 * variable is not set). expect: "running", or NULL to return at once. */
static void guest_start(Guest *g, const char *vdev, const char *prog, const char *extra, const char *expect)
{
    memset(g, 0, sizeof *g);
    g_autoptr(GError) err = NULL;
    g->dir = g_dir_make_tmp("guest-XXXXXX", &err);
    ck_assert_msg(g->dir, "%s", err ? err->message : "?");
    g->sock = g_build_filename(g->dir, "attach", NULL);
    g->tsock = g_build_filename(g->dir, "target", NULL);
    g->status = g_build_filename(g->dir, "status", NULL);
    g->log = g_build_filename(g->dir, "log", NULL);
    g->conf = g_build_filename(g->dir, "guest.smmu", NULL);
    g_autofree char *text = g_strdup_printf("foreground\nattach-socket %s\ntarget-socket %s\nstatus-file %s\n"
                                            "log-file %s\n%s\n",
                                            g->sock, g->tsock, g->status, g->log, extra ? extra : "");
    ck_assert(g_file_set_contents(g->conf, text, -1, NULL));
    g_autofree char *exe = g_build_filename(SMMU_BUILD_DIR, prog, NULL);
    g_autofree char *at = g_strconcat("@", g->conf, NULL);
    char *argv[] = { exe, at, NULL };
    char **env = g_environ_unsetenv(g_get_environ(), "SMMU_PLATFORM");
    env = vdev ? g_environ_setenv(env, "SMMU_VDEV", vdev, TRUE) : g_environ_unsetenv(env, "SMMU_VDEV");
    ck_assert_msg(g_spawn_async(NULL, argv, env, G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDERR_TO_DEV_NULL,
                                die_with_the_test, NULL, &g->pid, &err),
                  "%s", err ? err->message : "");
    g_strfreev(env);
    if (!expect) return;
    for (int i = 0; i < WITHIN_MS / 5; i++) {
        g_autofree char *state = status_file_value(g->status, "state");
        if (state && strcmp(state, expect) == 0) return;
        if (guest_reap(g)) {
            g_autofree char *reason = status_file_value(g->status, "reason");
            ck_abort_msg("the guest's %s exited (%d) during start-up: %s", prog, g->exit_status, reason ? reason : "?");
        }
        g_usleep(5000);
    }
    ck_abort_msg("the guest's %s did not become ready", prog);
}

static int guest_wait_exit(Guest *g, int ms)
{
    for (int waited = 0; !guest_reap(g) && waited < ms; waited += 5) g_usleep(5000);
    ck_assert_msg(g->exited, "the guest's service did not exit within %d ms", ms);
    return g->exit_status;
}

static void guest_stop(Guest *g)
{
    if (g->pid && !g->exited) {
        kill(g->pid, SIGKILL);
        waitpid(g->pid, NULL, 0);
    }
    if (g->pid) g_spawn_close_pid(g->pid);
    const char *files[] = { g->sock, g->tsock, g->status, g->log, g->conf };
    for (unsigned i = 0; i < G_N_ELEMENTS(files); i++)
        if (files[i]) unlink(files[i]);
    g_autofree char *tmp = g->status ? g_strconcat(g->status, ".tmp", NULL) : NULL;
    if (tmp) unlink(tmp);
    if (g->dir) rmdir(g->dir);
    g_free(g->dir);
    g_free(g->sock);
    g_free(g->tsock);
    g_free(g->status);
    g_free(g->log);
    g_free(g->conf);
    memset(g, 0, sizeof *g);
}

/* A host board and service, a VM of fixture `vm` on it, and the guest's
 * service with `extra` configuration lines. */
typedef struct {
    Svc s;
    Qvm q;
    Guest g;
} World;

static void world_start(World *w, unsigned board, const char *vm, const char *prog, const char *extra)
{
    svc_start(&w->s, boards[board], "smmuman", smmu_lines[board], true);
    qvm_start(&w->q, &w->s, vm);
    guest_start(&w->g, w->q.vdev, prog, extra, "running");
}

static void world_stop(World *w)
{
    guest_stop(&w->g);
    qvm_stop(&w->q);
    svc_stop(&w->s);
}

static char *single(unsigned board) { return g_strdup_printf("%s.vm", boards[board]); }

/* ---- C is B ----------------------------------------------------------------- */

START_TEST(c_is_b)
{
    World w;
    g_autofree char *vm = single(_i);
    world_start(&w, _i, vm, "smmuman", NULL);
    const uint64_t base = w.s.b.inv.ram_base;
    const uint64_t a = base + G_A, b = base + G_B;
    /* deny by default: the guest's service is up, nothing is mapped */
    uint64_t watch_b[] = { at(&w.s, hpa_off(G_B)), b };
    blocked(&w.s, "edu0", b, watch_b, 2, "before the guest maps anything");
    /* a guest driver maps B (guest-physical, guest PCI address) */
    struct smmu_conn *drv = open_or_fail(w.g.sock);
    struct smmu_object *o = smmu_conn_obj_create(drv, 0);
    ck_assert(o);
    ck_assert_int_eq(smmu_conn_device_add_pci(drv, o, 0, 2, 0), 0);
    struct smmu_map_entry e = { .phys = b, .len = 4096 };
    ck_assert_int_eq(smmu_conn_mapping_add(drv, o, SMF_READ | SMF_WRITE, 0, 1, &e, 0), 0);
    while (next_record(drv, &(struct smmu_status){ 0 }, 50)) {} /* the deny-by-default write's record */
    lands(&w.s, "edu0", b, at(&w.s, hpa_off(G_B)), 0x3c, "inside B");
    /* inside A, outside B: blocked, and told to the guest's driver with the
     * guest PCI address and the guest-physical address */
    uint64_t watch_a[] = { at(&w.s, hpa_off(G_A)), a };
    blocked(&w.s, "edu0", a, watch_a, 2, "inside A, outside B");
    expect_record(drv, "the guest's driver", 2, a);
    /* unmapping B blocks it again */
    ck_assert_int_eq(smmu_conn_mapping_add(drv, o, 0, 0, 1, &e, 0), 0);
    blocked(&w.s, "edu0", b, watch_b, 2, "after B was unmapped");
    expect_record(drv, "the guest's driver", 2, b);
    /* the guest's service names its units as a guest's */
    g_autofree char *log = guest_log(&w.g);
    ck_assert_msg(strstr(log, "guest mode: vdev-smmu"), "%s", log);
    smmu_conn_close(drv);
    world_stop(&w);
}
END_TEST

/* A device line with ranges in the guest's configuration: reachable from
 * the start, and nothing else. */
START_TEST(guest_startup_mapping)
{
    World w;
    g_autofree char *vm = single(_i);
    svc_start(&w.s, boards[_i], "smmuman", smmu_lines[_i], true);
    qvm_start(&w.q, &w.s, vm);
    const uint64_t base = w.s.b.inv.ram_base;
    g_autofree char *extra = g_strdup_printf("allow buf %llx,4096\ndevice pci:0:3.0 buf", (unsigned long long)(base + G_B));
    guest_start(&w.g, w.q.vdev, "smmuman", extra, "running");
    lands(&w.s, "edu1", base + G_B, at(&w.s, hpa_off(G_B)), 0x47, "the guest's startup mapping");
    uint64_t watch[] = { at(&w.s, hpa_off(G_A)), base + G_A };
    blocked(&w.s, "edu1", base + G_A, watch, 2, "outside the startup mapping");
    /* and no guest driver can take the device */
    struct smmu_conn *drv = open_or_fail(w.g.sock);
    struct smmu_object *o = smmu_conn_obj_create(drv, 0);
    errno = 0;
    ck_assert_int_eq(smmu_conn_device_add_pci(drv, o, 0, 3, 0), -1);
    ck_assert_int_eq(errno, EBUSY);
    smmu_conn_close(drv);
    world_stop(&w);
}
END_TEST

/* A guest driver asking for what its VM does not give: refused with the
 * VM's reason, through the guest's service, and nothing changed; B's
 * permissions hold. */
START_TEST(guest_driver_refusals)
{
    World w;
    g_autofree char *vm = single(_i);
    world_start(&w, _i, vm, "smmuman", NULL);
    const uint64_t base = w.s.b.inv.ram_base, b = base + G_B, a = base + G_A;
    struct smmu_conn *drv = open_or_fail(w.g.sock);
    struct smmu_object *o = smmu_conn_obj_create(drv, 0);
    ck_assert(o);
    /* a device not passed through to this VM (host edu2 is 0:6.0; the guest has 0:2.0 and 0:3.0) */
    REFUSED(drv, smmu_conn_device_add_pci(drv, o, 0, 6, 0), ENOENT, "pci:0:6.0 is not a pass-through device");
    OK(smmu_conn_device_add_pci(drv, o, 0, 2, 0));
    /* B read-only, the page after it read-write: the device cannot write B
     * (the write goes first: after a read, the models refuse a write
     * through the cached translation without a record, docs/api.md), and
     * what it reads from B it can write to the next page */
    const uint64_t b2 = b + 4096;
    struct smmu_map_entry e = page(b, 4096), e2 = page(b2, 4096);
    OK(smmu_conn_mapping_add(drv, o, SMF_READ, 0, 1, &e, 0));
    OK(smmu_conn_mapping_add(drv, o, SMF_READ | SMF_WRITE, 0, 1, &e2, 0));
    uint64_t watch_b[] = { at(&w.s, hpa_off(G_B)), b };
    blocked(&w.s, "edu0", b, watch_b, 2, "a write into read-only B");
    expect_record(drv, "the guest's driver", 2, b);
    fill(&w.s, at(&w.s, hpa_off(G_B)), 0x61);
    fill(&w.s, at(&w.s, hpa_off(G_B) + 4096), 0);
    dma(&w.s, "edu0", "read", b);
    dma(&w.s, "edu0", "write", b2);
    check_ram(&w.s, at(&w.s, hpa_off(G_B) + 4096), 0x61, "what the device read from B, written after it");
    /* outside the guest's RAM (64 MiB at its base), and a request that
     * straddles its end: all refused, nothing of them mapped */
    struct smmu_map_entry out = page(base + 0x10000000, 4096);
    REFUSED(drv, smmu_conn_mapping_add(drv, o, SMF_READ | SMF_WRITE, 0, 1, &out, 0), ERANGE, "is not all guest RAM");
    struct smmu_map_entry two[] = { page(a, 4096), page(base + 0x4000000 - 4096, 8192) };
    REFUSED(drv, smmu_conn_mapping_add(drv, o, SMF_READ | SMF_WRITE, 0, 2, two, 0), ERANGE, "is not all guest RAM");
    uint64_t watch_a[] = { at(&w.s, hpa_off(G_A)), a };
    blocked(&w.s, "edu0", a, watch_a, 2, "A after the refused request that named it");
    expect_record(drv, "the guest's driver", 2, a);
    uint64_t last = base + 0x4000000 - 4096, watch_last[] = { at(&w.s, 0x8000000 + 0x2000000 - 4096), last };
    blocked(&w.s, "edu0", last, watch_last, 2, "the guest RAM's last page after the refusal");
    expect_record(drv, "the guest's driver", 2, last);
    /* SMF_TARGET is the hypervisor's, never a guest driver's */
    errno = 0;
    ck_assert_int_eq(smmu_conn_mapping_add(drv, o, SMF_READ | SMF_TARGET, 0, 1, &e, a), -1);
    ck_assert_int_ne(errno, 0);
    /* B itself is as it was: read-only (this write hits the read's cached
     * translation: refused, with or without a record) */
    blocked(&w.s, "edu0", b, watch_b, 2, "read-only B after every refusal");
    struct smmu_status st;
    while (next_record(drv, &st, 200))
        ck_assert_msg(st.fault_addr == b && (st.flags & SSF_WRITE), "a record at 0x%llx", (unsigned long long)st.fault_addr);
    fill(&w.s, at(&w.s, hpa_off(G_B)), 0x16);
    dma(&w.s, "edu0", "read", b);
    dma(&w.s, "edu0", "write", b2);
    check_ram(&w.s, at(&w.s, hpa_off(G_B) + 4096), 0x16, "B read after every refusal");
    smmu_conn_close(drv);
    world_stop(&w);
}
END_TEST

/* smmu, unit, reserved and use mean nothing in a guest: each is ignored
 * with a notice naming its line, and the service runs. */
START_TEST(host_options_are_ignored_with_a_notice)
{
    World w;
    g_autofree char *vm = single(_i);
    world_start(&w, _i, vm, "smmuman", "smmu vtd\nunit dmar0 fed90000\ndevice pci:0:2.0 use dmar0\nreserved 0,4096");
    g_autofree char *log = guest_log(&w.g);
    /* the service's own header takes lines 1-5; the extras start at 6 */
    static const char *const words[] = { "guest.smmu:6:1: 'smmu' ignored in a guest",
                                         "guest.smmu:7:1: 'unit' ignored in a guest",
                                         "guest.smmu:8:18: 'use' ignored in a guest",
                                         "guest.smmu:9:1: 'reserved' ignored in a guest" };
    for (unsigned i = 0; i < G_N_ELEMENTS(words); i++)
        ck_assert_msg(strstr(log, words[i]), "no notice '%s' in:\n%s", words[i], log);
    world_stop(&w);
}
END_TEST

/* ---- certification and the safety policy --------------------------------------- */

/* The pair fixtures state no certification. */
START_TEST(uncertified_components)
{
    World w;
    g_autofree char *vm = g_strdup_printf("%s-pair-a.vm", boards[_i]);
    svc_start(&w.s, boards[_i], "smmuman", smmu_lines[_i], true);
    qvm_start(&w.q, &w.s, vm);
    /* plain smmuman: silent, and its safety answer is no */
    guest_start(&w.g, w.q.vdev, "smmuman", NULL, "running");
    struct smmu_conn *drv = open_or_fail(w.g.sock);
    ck_assert_int_eq(smmu_conn_safety(drv), SMMUMAN_SAFETY_NO);
    smmu_conn_close(drv);
    guest_stop(&w.g);
    /* the VM's DSS followed: start it again for the next guest */
    qvm_stop(&w.q);
    qvm_start(&w.q, &w.s, vm);
    /* smmuman-safety: required by default: DSS naming what is not certified */
    guest_start(&w.g, w.q.vdev, "smmuman-safety", NULL, NULL);
    ck_assert_int_eq(guest_wait_exit(&w.g, WITHIN_MS), 3);
    g_autofree char *reason = status_file_value(w.g.status, "reason");
    ck_assert_msg(reason && strstr(reason, "safety: uncertified components: ") && strstr(reason, "host.kernel") &&
                      strstr(reason, "qvm"),
                  "reason: %s", reason ? reason : "(none)");
    guest_stop(&w.g);
    qvm_stop(&w.q);
    qvm_start(&w.q, &w.s, vm);
    /* warn: a warning naming them, then service */
    guest_start(&w.g, w.q.vdev, "smmuman-safety", "safety warn", "running");
    g_autofree char *log = guest_log(&w.g);
    ck_assert_msg(strstr(log, "warn safety: uncertified components: "), "%s", log);
    world_stop(&w);
}
END_TEST

/* Everything certified: a safety host (smmuman-safety, -safety library)
 * and a VM that states every component certified. */
START_TEST(all_certified)
{
    World w;
    g_autofree char *vm = single(_i);
    svc_start(&w.s, boards[_i], "smmuman-safety", smmu_lines[_i], true);
    qvm_start(&w.q, &w.s, vm);
    guest_start(&w.g, w.q.vdev, "smmuman-safety", NULL, "running");
    struct smmu_conn *drv = open_or_fail(w.g.sock);
    ck_assert_int_eq(smmu_conn_safety(drv), SMMUMAN_SAFETY_YES);
    smmu_conn_close(drv);
    world_stop(&w);
}
END_TEST

/* ---- ends ---------------------------------------------------------------------- */

START_TEST(no_vdev_smmu_is_required_hardware_not_present)
{
    Guest g;
    /* a path with nothing there, and no library named */
    guest_start(&g, "/nonexistent/vdev-smmu.sock", "smmuman", NULL, NULL);
    ck_assert_int_eq(guest_wait_exit(&g, WITHIN_MS), 3);
    g_autofree char *reason = status_file_value(g.status, "reason");
    ck_assert_msg(reason && strstr(reason, "required hardware not present"), "reason: %s", reason ? reason : "");
    guest_stop(&g);
    /* no SMMU_VDEV at all */
    guest_start(&g, NULL, "smmuman", NULL, NULL);
    ck_assert_int_eq(guest_wait_exit(&g, WITHIN_MS), 3);
    g_autofree char *r2 = status_file_value(g.status, "reason");
    ck_assert_msg(r2 && strstr(r2, "required hardware not present"), "reason: %s", r2 ? r2 : "");
    guest_stop(&g);
}
END_TEST

START_TEST(losing_the_vm_is_the_guests_dss)
{
    World w;
    g_autofree char *vm = single(_i);
    world_start(&w, _i, vm, "smmuman", NULL);
    const uint64_t b = w.s.b.inv.ram_base + G_B;
    struct smmu_conn *drv = open_or_fail(w.g.sock);
    struct smmu_object *o = smmu_conn_obj_create(drv, 0);
    ck_assert_int_eq(smmu_conn_device_add_pci(drv, o, 0, 2, 0), 0);
    struct smmu_map_entry e = { .phys = b, .len = 4096 };
    ck_assert_int_eq(smmu_conn_mapping_add(drv, o, SMF_READ | SMF_WRITE, 0, 1, &e, 0), 0);
    lands(&w.s, "edu0", b, at(&w.s, hpa_off(G_B)), 0x21, "B, before the VM dies");
    kill(w.q.pid, SIGKILL);
    ck_assert_int_eq(guest_wait_exit(&w.g, WITHIN_MS), 3);
    g_autofree char *reason = status_file_value(w.g.status, "reason");
    ck_assert_msg(reason && strstr(reason, "lost vdev-smmu"), "reason: %s", reason ? reason : "");
    uint64_t watch[] = { at(&w.s, hpa_off(G_B)), b };
    blocked(&w.s, "edu0", b, watch, 2, "B after the VM died");
    /* the guest's driver heard it too */
    ck_assert_ptr_nonnull(smmu_conn_dss_reason(drv));
    smmu_conn_close(drv);
    world_stop(&w);
}
END_TEST

START_TEST(the_guests_end_is_the_vms_dss)
{
    World w;
    g_autofree char *vm = single(_i);
    world_start(&w, _i, vm, "smmuman", NULL);
    const uint64_t base = w.s.b.inv.ram_base;
    struct smmu_conn *drv = open_or_fail(w.g.sock);
    struct smmu_object *o = smmu_conn_obj_create(drv, 0);
    ck_assert_int_eq(smmu_conn_device_add_pci(drv, o, 0, 2, 0), 0);
    struct smmu_map_entry e = { .phys = base + G_B, .len = 4096 };
    ck_assert_int_eq(smmu_conn_mapping_add(drv, o, SMF_READ | SMF_WRITE, 0, 1, &e, 0), 0);
    kill(w.g.pid, SIGKILL);
    ck_assert_int_eq(qvm_wait_exit(&w.q, WITHIN_MS), 3);
    /* blocked: not back to A */
    uint64_t wb[] = { at(&w.s, hpa_off(G_B)), base + G_B }, wa[] = { at(&w.s, hpa_off(G_A)), base + G_A };
    blocked(&w.s, "edu0", base + G_B, wb, 2, "former B after the guest's service died");
    blocked(&w.s, "edu0", base + G_A, wa, 2, "A after the guest's service died");
    smmu_conn_close(drv);
    world_stop(&w);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("guest");
    TCase *t = tcase_create("guest");
    tcase_set_timeout(t, 120);
    const int n = (int)G_N_ELEMENTS(boards);
    tcase_add_loop_test(t, c_is_b, 0, n);
    tcase_add_loop_test(t, guest_startup_mapping, 0, n);
    tcase_add_loop_test(t, guest_driver_refusals, 0, n);
    tcase_add_loop_test(t, host_options_are_ignored_with_a_notice, 0, n);
    tcase_add_loop_test(t, uncertified_components, 0, n);
    tcase_add_loop_test(t, all_certified, 0, n);
    tcase_add_test(t, no_vdev_smmu_is_required_hardware_not_present);
    tcase_add_loop_test(t, losing_the_vm_is_the_guests_dss, 0, n);
    tcase_add_loop_test(t, the_guests_end_is_the_vms_dss, 0, n);
    suite_add_tcase(s, t);
    return s;
}

int main(void) { return check_run(suite()); }
