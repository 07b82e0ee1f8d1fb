/* Integration tests of the client side (libsmmu, smmuctl, smmu-client)
 * against the real service on real boards, both IOMMUs, as a user of the
 * client API sees it.
 *
 * Some tests are libsmmu clients themselves: libcheck runs each test in a
 * process of its own, and that process makes the one connection. */
#include <check.h>

#include "../../smmuman/tests/check-run.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client-proc.h"
#include "line-reader.h"
#include "paths-service.h"
#include "service-fixture.h"
#include "smmu.h"

#define EDU0 "pci:0:4.0"

static const char *const boards[] = { "q35-vtd", "virt-smmuv3" };
static const char *const smmu_lines[] = { "smmu vtd", "smmu smmuv3" };

static char *exe(const char *name) { return g_build_filename(SMMU_BUILD_DIR, name, NULL); }

/* A command whose reply is read later, with cli_reply(). */
static void cli_send(Cli *c, const char *line)
{
    g_autofree char *msg = g_strconcat(line, "\n", NULL);
    ck_assert_int_eq(write(c->in, msg, strlen(msg)), (ssize_t)strlen(msg));
}

/* The next reply line within timeout_ms (caller frees), or NULL. */
static char *cli_reply(Cli *c, int timeout_ms) { return tb_read_line(c->out, c->buf, timeout_ms, NULL); }

/* The waits a woken client may take: far below the 20 s it would wait on
 * its own, and generous for a loaded machine. */
#define WOKEN_WITHIN_MS 5000

/* _i: board (i / 2) and how the service goes: SIGTERM (a DSS, announced to
 * every client) or SIGKILL (no word: the connection just ends). Three
 * waiters: smmuctl blocked on smmu_xfer_fd() for 20 s, a client polling
 * smmu_xfer_fd() for 20 s, and that client's armed notification. */
START_TEST(service_going_away_wakes_every_waiting_client)
{
    bool term = _i % 2 == 0;
    Svc s;
    Cli c;
    Proc ctl;
    svc_start(&s, boards[_i / 2], "smmuman", smmu_lines[_i / 2], true);
    cli_start(&c, &s, false);
    g_free(cli_ok(&c, "notify thread"));
    g_autofree char *ctl_exe = exe("smmuctl");
    char *argv[] = { ctl_exe, "faults", "--timeout", "20000", NULL };
    proc_start(&ctl, &s, argv);
    wait_clients(&s, 3); /* the client, the watching smmuctl, the asking one */
    cli_send(&c, "wait-fd 20000"); /* answered when it wakes */

    gint64 t0 = g_get_monotonic_time();
    kill(s.pid, term ? SIGTERM : SIGKILL);
    ck_assert_msg(proc_wait(&ctl, WOKEN_WITHIN_MS), "smmuctl still waits %d ms after the service went",
                  WOKEN_WITHIN_MS);
    gint64 woken_ms = (g_get_monotonic_time() - t0) / 1000;
    if (term) {
        ck_assert_msg(ctl.status == 3, "smmuctl exit status %d (stderr: %s)", ctl.status, ctl.ebuf->str);
        ck_assert_msg(strstr(ctl.ebuf->str, "smmuctl: smmuman entered its Design Safe State: stopped by a signal"),
                      "%s", ctl.ebuf->str);
    } else {
        ck_assert_msg(ctl.status == 4, "smmuctl exit status %d (stderr: %s)", ctl.status, ctl.ebuf->str);
        ck_assert_msg(strstr(ctl.ebuf->str, "smmuctl: " SMMU_REASON_LOST), "%s", ctl.ebuf->str);
    }
    ck_assert_int_eq(ctl.obuf->len, 0); /* no fault was invented */

    /* the descriptor a client sleeps on turned readable */
    g_autofree char *fd = cli_reply(&c, WOKEN_WITHIN_MS);
    ck_assert_msg(fd && strcmp(fd, "ok readable") == 0, "wait-fd: %s", fd ? fd : "no reply");
    ck_assert_msg(woken_ms < WOKEN_WITHIN_MS, "woken after %lld ms", (long long)woken_ms);

    /* the armed registration fired (the thread runs soon after) */
    bool fired = false;
    for (int i = 0; i < 50 && !fired; i++) {
        g_autofree char *n = cli_ok(&c, "notified 100");
        fired = strcmp(n, "ok 1") == 0;
    }
    ck_assert_msg(fired, "the armed smmu_xfer_notify() registration did not fire");

    /* the reason reached the client, and every later call fails with EIO */
    g_autofree char *why = cli(&c, "gone");
    if (term) ck_assert_msg(g_str_has_prefix(why, "ok stopped by a signal: "), "%s", why);
    else ck_assert_str_eq(why, "ok " SMMU_REASON_LOST);
    g_autofree char *obj = cli(&c, "obj");
    ck_assert_msg(g_str_has_prefix(obj, "err EIO "), "%s", obj);
    g_autofree char *wait = cli(&c, "wait-fault 100");
    ck_assert_msg(g_str_has_prefix(wait, "err EIO "), "%s", wait);

    ck_assert_int_eq(svc_wait_exit(&s, 5000), term ? 3 : 128 + SIGKILL);
    proc_stop(&ctl);
    cli_stop(&c);
    svc_stop(&s);
}
END_TEST

static union smmu_devid pci(unsigned bus, unsigned dev, unsigned func)
{
    union smmu_devid id;
    memset(&id, 0, sizeof id);
    id.pci = (struct smmu_devid_pci){ SDT_PCI, bus, dev, func };
    return id;
}

static void connect_to(Svc *s)
{
    setenv("SMMU_SOCKET", s->sock, 1);
    ck_assert_msg(smmu_init(0) == 0, "smmu_init: %s", strerror(errno));
}

#define FEW 7      /* reserved regions of edu1: more than the caller's room */
#define ROOM 3
#define MANY 4100  /* reserved regions of edu2: more than one reply carries (4094) */

static uint64_t few_at(Svc *s, unsigned i) { return board_addr(&s->b, 0x1000000 + i * 0x2000ull); }
static uint64_t many_at(Svc *s, unsigned i) { return board_addr(&s->b, 0x2000000 + i * 0x2000ull); }

/* QNX's contract for smmu_device_report_reserved(): -1 and errno; 0 when
 * offset is past the last entry; else the number of entries from offset,
 * more than nresv when more remain, never more than nresv written. The
 * documented loop (an ever-increasing offset until 0) ends and sees every
 * region once, in order. */
START_TEST(reserved_regions_page_as_qnx_documents)
{
    Svc s;
    /* the board's addresses are only known once it runs: start it with a
     * plain configuration to learn them, then the real one */
    svc_start(&s, boards[_i], "smmuman", smmu_lines[_i], true);
    g_autoptr(GString) conf = g_string_new(smmu_lines[_i]);
    g_string_append(conf, "\ndevice pci:0:5.0\n");
    for (unsigned i = 0; i < FEW; i++) g_string_append_printf(conf, "reserved 0x%llx,4096\n", (unsigned long long)few_at(&s, i));
    g_string_append(conf, "device pci:0:6.0\n");
    for (unsigned i = 0; i < MANY; i++)
        g_string_append_printf(conf, "reserved 0x%llx,4096\n", (unsigned long long)many_at(&s, i));
    svc_stop(&s);
    svc_start(&s, boards[_i], "smmuman", conf->str, true);
    connect_to(&s);

    union smmu_devid edu1 = pci(0, 5, 0), edu2 = pci(0, 6, 0), edu0 = pci(0, 4, 0);
    struct smmu_map_entry got[FEW];
    unsigned ngot = 0, returns[8], nret = 0;
    for (unsigned offset = 0;;) {
        ck_assert_msg(nret < 8, "the paging loop does not end");
        struct smmu_map_entry page[ROOM + 1];
        memset(page, 0xa5, sizeof page); /* page[ROOM] must stay so */
        unsigned r = smmu_device_report_reserved(&edu1, offset, page, ROOM);
        ck_assert_msg(r != (unsigned)-1, "offset %u: %s", offset, strerror(errno));
        returns[nret++] = r;
        ck_assert_msg(page[ROOM].phys == 0xa5a5a5a5a5a5a5a5ull && page[ROOM].len == 0xa5a5a5a5a5a5a5a5ull,
                      "offset %u: more than nresv entries written", offset);
        if (r == 0) break;
        unsigned n = r < ROOM ? r : ROOM;
        ck_assert_uint_le(ngot + n, FEW);
        memcpy(got + ngot, page, n * sizeof page[0]);
        ngot += n;
        offset += n;
    }
    ck_assert_uint_eq(nret, 4); /* 7 (more remain), 4 (more remain), 1, then 0 */
    ck_assert_uint_eq(returns[0], 7);
    ck_assert_uint_eq(returns[1], 4);
    ck_assert_uint_eq(returns[2], 1);
    ck_assert_uint_eq(returns[3], 0);
    ck_assert_uint_eq(ngot, FEW);
    for (unsigned i = 0; i < FEW; i++) { /* each once, in the configuration's order */
        ck_assert_uint_eq(got[i].phys, few_at(&s, i));
        ck_assert_uint_eq(got[i].len, 4096);
    }

    /* nresv 0: nothing written (resv may be NULL), the count from offset */
    ck_assert_uint_eq(smmu_device_report_reserved(&edu1, 0, NULL, 0), FEW);
    ck_assert_uint_eq(smmu_device_report_reserved(&edu1, 5, NULL, 0), 2);
    /* offset at or past the end: 0, nothing written */
    struct smmu_map_entry none[ROOM];
    memset(none, 0x5a, sizeof none);
    unsigned past[] = { FEW, FEW + 1, 100, UINT_MAX };
    for (unsigned i = 0; i < sizeof past / sizeof past[0]; i++) {
        ck_assert_uint_eq(smmu_device_report_reserved(&edu1, past[i], none, ROOM), 0);
        ck_assert_uint_eq(none[0].phys, 0x5a5a5a5a5a5a5a5aull);
    }
    /* a device without reserved regions has none */
    ck_assert_uint_eq(smmu_device_report_reserved(&edu0, 0, none, ROOM), 0);
    /* failure: (unsigned)-1 with errno */
    union smmu_devid bad = edu0;
    bad.type = 2; /* neither SDT_PCI nor SDT_MMIO */
    errno = 0;
    ck_assert_uint_eq(smmu_device_report_reserved(&bad, 0, none, ROOM), (unsigned)-1);
    ck_assert_int_eq(errno, EINVAL);

    /* more than one reply carries: libsmmu asks again, the contract holds */
    struct smmu_map_entry *all = calloc(MANY + 1, sizeof *all);
    ck_assert_uint_eq(smmu_device_report_reserved(&edu2, 0, all, MANY + 1), MANY);
    for (unsigned i = 0; i < MANY; i++) ck_assert_uint_eq(all[i].phys, many_at(&s, i));
    ck_assert_uint_eq(all[MANY].len, 0);
    memset(all, 0, (MANY + 1) * sizeof *all);
    ck_assert_uint_eq(smmu_device_report_reserved(&edu2, 2, all, MANY - 4), MANY - 2); /* more remain */
    for (unsigned i = 0; i < MANY - 4; i++) ck_assert_uint_eq(all[i].phys, many_at(&s, i + 2));
    ck_assert_uint_eq(all[MANY - 4].len, 0); /* never more than nresv */
    free(all);
    smmu_fini();
    svc_stop(&s);
}
END_TEST

/* smmuctl objects once cut its text at one message (65,516 bytes) without
 * a word. 1,000 objects of 4 regions each, one line per object and per
 * region, make several messages' worth: every line comes, whole, once. */
START_TEST(objects_text_larger_than_a_message_is_whole)
{
    enum { OBJECTS = 1000, REGIONS = 4 };
    Svc s;
    svc_start(&s, "q35-vtd", "smmuman", NULL, true);
    connect_to(&s);
    for (unsigned i = 0; i < OBJECTS; i++) {
        struct smmu_object *o = smmu_obj_create(SOCF_NONE);
        ck_assert_msg(o, "object %u: %s", i, strerror(errno));
        struct smmu_map_entry e[REGIONS];
        for (unsigned j = 0; j < REGIONS; j++)
            e[j] = (struct smmu_map_entry){ .phys = 0x10000000ull + i * 0x10000ull + j * 0x2000ull, .len = 0x1000 };
        ck_assert_msg(smmu_mapping_add(o, SMF_READ | SMF_WRITE, getpid(), REGIONS, e, 0) == 0, "%s", strerror(errno));
    }
    g_autofree char *text = smmuctl(&s, "objects");
    ck_assert_uint_gt(strlen(text), 65536); /* more than one message */
    ck_assert(g_str_has_suffix(text, "\n"));
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
    g_autoptr(GHashTable) starts = g_hash_table_new(g_int64_hash, g_int64_equal);
    g_autoptr(GArray) keep = g_array_sized_new(FALSE, FALSE, sizeof(gint64), OBJECTS * REGIONS);
    unsigned objects = 0, regions = 0;
    for (unsigned i = 0; lines[i] && lines[i][0]; i++) {
        ck_assert_msg(g_hash_table_add(seen, lines[i]), "line twice: %s", lines[i]);
        unsigned long long id, start, len, target;
        char perms[4];
        int end = 0;
        if (g_str_has_prefix(lines[i], "object=")) {
            unsigned long n;
            ck_assert_msg(sscanf(lines[i], "object=%llu owner=client flags=0 regions=%lu devices=", &id, &n) == 2,
                          "%s", lines[i]);
            ck_assert_uint_eq(n, REGIONS);
            ck_assert_msg(strstr(lines[i], " client=1 pid="), "cut: %s", lines[i]);
            objects++;
        } else {
            /* every field to the end of the line: nothing cut */
            ck_assert_msg(sscanf(lines[i], "region=%llu start=0x%llx len=0x%llx perms=%3s target=0x%llx%n", &id, &start,
                                 &len, perms, &target, &end) == 5 && lines[i][end] == '\0',
                          "not a whole region line: '%s'", lines[i]);
            ck_assert_uint_eq(len, 0x1000);
            ck_assert_str_eq(perms, "rw");
            g_array_append_val(keep, (gint64){ (gint64)start });
            regions++;
        }
    }
    for (guint i = 0; i < keep->len; i++)
        ck_assert_msg(g_hash_table_add(starts, &g_array_index(keep, gint64, i)), "region at 0x%llx twice",
                      (unsigned long long)g_array_index(keep, gint64, i));
    ck_assert_uint_eq(objects, OBJECTS);
    ck_assert_uint_eq(regions, OBJECTS * REGIONS);
    for (unsigned i = 0; i < OBJECTS; i++)
        for (unsigned j = 0; j < REGIONS; j++) {
            gint64 want = 0x10000000ll + i * 0x10000ll + j * 0x2000ll;
            ck_assert_msg(g_hash_table_contains(starts, &want), "no region at 0x%llx", (unsigned long long)want);
        }
    /* the JSON form reads the same whole text */
    g_autofree char *json = smmuctl(&s, "--json objects");
    unsigned json_regions = 0;
    for (const char *p = json; (p = strstr(p, "{\"kind\":\"region\"")); p++) json_regions++;
    ck_assert_uint_eq(json_regions, OBJECTS * REGIONS);
    ck_assert(g_str_has_suffix(json, "}]\n"));
    smmu_fini();
    svc_stop(&s);
}
END_TEST

/* A record names its hardware code: smmu-client appends reason-name= to
 * the line the scenario runner parses (which stays as it was), smmuctl
 * shows the name beside the code, in text and JSON. */
START_TEST(fault_records_name_their_reason)
{
    Svc s;
    Cli c;
    Proc text, json;
    svc_start(&s, boards[_i], "smmuman", smmu_lines[_i], true);
    cli_start(&c, &s, false);
    g_autofree char *ctl_exe = exe("smmuctl");
    char *argv_text[] = { ctl_exe, "faults", "--count", "1", "--timeout", "10000", NULL };
    char *argv_json[] = { ctl_exe, "--json", "faults", "--count", "1", "--timeout", "10000", NULL };
    proc_start(&text, &s, argv_text);
    proc_start(&json, &s, argv_json);
    wait_clients(&s, 4);
    uint64_t z = board_addr(&s.b, 0x280000);
    g_free(board_ok(&s.b, "dma edu0 write 0x%llx 256", (unsigned long long)z));

    g_autofree char *rec = cli(&c, "wait-fault 3000");
    unsigned long long reason = 0, addr = 0;
    unsigned dropped, repeat;
    char dev[40], acc[8], name[40];
    int end = 0;
    /* the runner's own format first, then the new field, last */
    ck_assert_msg(sscanf(rec, "fault device=%39s address=%llx access=%7s reason=%llu dropped=%u repeat=%u reason-name=%39s%n",
                         dev, &addr, acc, &reason, &dropped, &repeat, name, &end) == 7 && rec[end] == '\0',
                  "%s", rec);
    ck_assert_str_eq(dev, EDU0);
    ck_assert_uint_eq(addr, z);
    ck_assert_str_eq(acc, "write");
    /* what a write by a device in no object is called on each IOMMU: no
     * root entry (VT-d reason 1), no translation (SMMUv3 event 0x10) */
    ck_assert_uint_eq(reason, _i ? 0x10 : 1);
    ck_assert_str_eq(name, _i ? "F_TRANSLATION" : "root-entry-not-present");
    struct smmu_status st = { .hw_specific = reason, .flags = _i ? SSF_HW_SMMUV3 : SSF_HW_VTD };
    ck_assert_str_eq(name, smmu_fault_reason_name(&st));

    ck_assert_msg(proc_wait(&text, 5000) && text.status == 0, "smmuctl faults: %d %s", text.status, text.ebuf->str);
    g_autofree char *want = g_strdup_printf("fault device=" EDU0 " address=0x%llx access=write reason=0x%llx (%s)\n",
                                            (unsigned long long)z, reason, name);
    ck_assert_str_eq(text.obuf->str, want);
    ck_assert_msg(proc_wait(&json, 5000) && json.status == 0, "smmuctl --json faults: %s", json.ebuf->str);
    g_autofree char *want_json = g_strdup_printf("{\"device\":\"" EDU0 "\",\"address\":\"0x%llx\",\"access\":\"write\","
                                                 "\"reason\":%llu,\"reason_name\":\"%s\",\"dropped_before\":false}\n",
                                                 (unsigned long long)z, reason, name);
    ck_assert_str_eq(json.obuf->str, want_json);
    proc_stop(&text);
    proc_stop(&json);
    cli_stop(&c);
    svc_stop(&s);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("client-api");
    TCase *tc = tcase_create("boards");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, service_going_away_wakes_every_waiting_client, 0, 4);
    tcase_add_loop_test(tc, reserved_regions_page_as_qnx_documents, 0, 2);
    tcase_add_test(tc, objects_text_larger_than_a_message_is_whole);
    tcase_add_loop_test(tc, fault_records_name_their_reason, 0, 2);
    suite_add_tcase(su, tc);
    return check_run(su);
}
