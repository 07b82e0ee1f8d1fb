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
static char *cli_reply(Cli *c, int timeout_ms)
{
    gint64 deadline = g_get_monotonic_time() + timeout_ms * 1000ll;
    for (;;) {
        char *nl = memchr(c->buf->str, '\n', c->buf->len);
        if (nl) {
            char *reply = g_strndup(c->buf->str, (gsize)(nl - c->buf->str));
            g_string_erase(c->buf, 0, nl - c->buf->str + 1);
            return reply;
        }
        gint64 left = (deadline - g_get_monotonic_time()) / 1000;
        if (left <= 0) return NULL;
        struct pollfd p = { .fd = c->out, .events = POLLIN };
        if (poll(&p, 1, (int)left) <= 0) continue;
        char buf[4096];
        ssize_t n = read(c->out, buf, sizeof buf);
        if (n <= 0) return NULL;
        g_string_append_len(c->buf, buf, n);
    }
}

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

int main(void)
{
    Suite *su = suite_create("client-api");
    TCase *tc = tcase_create("boards");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, service_going_away_wakes_every_waiting_client, 0, 4);
    suite_add_tcase(su, tc);
    return check_run(su);
}
