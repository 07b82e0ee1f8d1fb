/* The service tried as an attacker and a careless user would (issue 8):
 * start-up failing at every stage still leaves the board blocked, a crash
 * is reported as a crash, requests the hardware cannot carry out are
 * refused without a DSS, a client that does not read loses no reply, bad
 * messages cannot flood the log, and each client keeps to its share.
 * Real QEMU boards, the real service, real sockets; both IOMMU boards. */
#include <check.h>

#include "../../smmuman/tests/check-run.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../smmuman/lib/proto.h"
#include "raw-proto.h"
#include "paths-service.h"
#include "service-fixture.h"

static const char *const iommu_boards[] = { "q35-vtd", "virt-smmuv3" };
#define LEN 256

static const char *kind_of(const char *board) { return g_str_has_prefix(board, "q35") ? "vtd" : "smmuv3"; }

static char *build_path(const char *name) { return g_build_filename(SMMU_BUILD_DIR, name, NULL); }

/* The files a stage puts in its own $SMMU_HW_DIR, copied from the build. */
static const char *const hw_files[] = { "smmu-platform-board.so", "smmu-vtd.so", "smmu-smmuv3.so" };

static void copy_from_build(const char *dir, const char *name)
{
    g_autofree char *from = build_path(name);
    g_autofree char *to = g_build_filename(dir, name, NULL);
    g_autofree char *bytes = NULL;
    gsize n;
    ck_assert_msg(g_file_get_contents(from, &bytes, &n, NULL), "%s", from);
    ck_assert(g_file_set_contents(to, bytes, (gssize)n, NULL));
}

/* ---- a service started by hand: argv and environment as a user gives them */

typedef struct {
    GPid pid;
    int status; /* exit status, 128 + signal for a signal */
    char *err;  /* its stderr */
} Proc;

/* Runs argv with env to completion (bounded), collecting stderr. */
static void run_to_end(Proc *p, char **argv, char **env, int timeout_ms)
{
    memset(p, 0, sizeof *p);
    int err_fd;
    g_autoptr(GError) e = NULL;
    ck_assert_msg(g_spawn_async_with_pipes(NULL, argv, env, G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL,
                                           NULL, NULL, &p->pid, NULL, NULL, &err_fd, &e),
                  "%s", e ? e->message : "");
    GString *out = g_string_new(NULL);
    gint64 deadline = g_get_monotonic_time() + timeout_ms * 1000ll;
    for (;;) {
        struct pollfd pf = { .fd = err_fd, .events = POLLIN };
        gint64 left = (deadline - g_get_monotonic_time()) / 1000;
        if (left <= 0) {
            kill(p->pid, SIGKILL);
            waitpid(p->pid, NULL, 0);
            ck_abort_msg("%s did not end within %d ms; stderr so far: %s", argv[0], timeout_ms, out->str);
        }
        if (poll(&pf, 1, (int)left) <= 0) continue;
        char buf[4096];
        ssize_t n = read(err_fd, buf, sizeof buf);
        if (n <= 0) break;
        g_string_append_len(out, buf, n);
    }
    close(err_fd);
    int st;
    waitpid(p->pid, &st, 0);
    g_spawn_close_pid(p->pid);
    p->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    p->err = g_string_free(out, FALSE);
}

static char *read_status(const char *path, const char *key)
{
    g_autofree char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL)) return NULL;
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    for (unsigned i = 0; lines[i]; i++)
        if (g_str_has_prefix(lines[i], key) && lines[i][strlen(key)] == '=') return g_strdup(lines[i] + strlen(key) + 1);
    return NULL;
}

/* The engine edu0 holds 0xc3 bytes (loaded before any IOMMU translates)
 * and the target holds 0x5a: a write that crosses changes the target. */
static uint64_t prime_engine(BoardFixture *b)
{
    uint64_t src = board_addr(b, 0x300000), dst = board_addr(b, 0x100000);
    memset(board_ram(b, src, LEN), 0xc3, LEN);
    g_free(board_ok(b, "dma edu0 read 0x%llx %d", (unsigned long long)src, LEN));
    memset(board_ram(b, dst, LEN), 0x5a, LEN);
    return dst;
}

static void expect_blocked_write(BoardFixture *b, uint64_t dst, const char *what)
{
    g_free(board_ok(b, "dma edu0 write 0x%llx %d", (unsigned long long)dst, LEN));
    const uint8_t *p = board_ram(b, dst, LEN);
    for (unsigned i = 0; i < LEN; i++)
        ck_assert_msg(p[i] == 0x5a, "%s: a DMA write crossed into RAM (0x%02x at +%u): DMA left open", what, p[i], i);
}

/* ---- 1. every start-up stage's failure leaves the board blocked ---------- */

typedef enum {
    STAGE_BAD_CONFIG,       /* a bad value after a good platform, nothing in the environment */
    STAGE_CONFIG_FIFO,      /* the configuration is a FIFO nobody writes */
    STAGE_PLATFORM_MISSING, /* the file names a platform that is not there; the environment the real one */
    STAGE_PLATFORM_UNKNOWN, /* the file names a platform type with no module; the environment the real one */
    STAGE_NO_LIBRARY,       /* $SMMU_HW_DIR holds no library for the kind named (the board's is there) */
    STAGE_SAFETY_REFUSED,   /* smmuman-safety, only the non-safety library, safety required */
    STAGE_UNIT_NOT_ANSWERING, /* the configured unit is not where it is said to be */
    STAGE_UNIT_OTHER_KIND,  /* the board's unit, named as the other kind of IOMMU */
    STAGE_COUNT
} Stage;

static const char *const stage_reason[STAGE_COUNT] = {
    "bad configuration: command line:word 11: fault-poll-ms: expected",
    "bad configuration: command line:word 6:",
    "required hardware not present: platform board:/nonexistent",
    "required hardware not present: platform 'devmem:/dev/mem': no module for platform type 'devmem' (" SMMU_BUILD_DIR
    "/smmu-platform-devmem.so: ",
    "required hardware not present: no support library",
    "safety: support library smmu-",
    "required hardware not present: unit",
    "required hardware not present: unit",
};

START_TEST(startup_failure_blocks)
{
    const Stage stage = (Stage)(_i % STAGE_COUNT);
    const char *board = iommu_boards[_i / STAGE_COUNT];
    const char *kind = kind_of(board);
    BoardFixture b;
    board_fixture_start(&b, board);
    uint64_t dst = prime_engine(&b);
    const char *run = tb_board_run_dir(b.board);
    g_autofree char *status = g_build_filename(run, "smmu.status", NULL);
    g_autofree char *log = g_build_filename(run, "smmu.log", NULL);
    g_autofree char *conf = g_build_filename(run, "smmu.conf", NULL);
    g_autofree char *platform = g_strdup_printf("board:%s", run);
    g_autofree char *hwdir = g_build_filename(run, "hw", NULL);
    g_autofree char *prog = build_path(stage == STAGE_SAFETY_REFUSED ? "smmuman-safety" : "smmuman");
    g_autofree char *at = g_strconcat("@", conf, NULL);
    char **env = g_environ_unsetenv(g_get_environ(), "SMMU_PLATFORM");
    env = g_environ_unsetenv(env, "SMMU_STATUS_FILE");
    GPtrArray *argv = g_ptr_array_new();
    g_ptr_array_add(argv, prog);
    g_ptr_array_add(argv, (char *)"foreground");
    g_ptr_array_add(argv, (char *)"status-file");
    g_ptr_array_add(argv, status);
    g_ptr_array_add(argv, (char *)"log-file");
    g_ptr_array_add(argv, log);
    switch (stage) {
    case STAGE_BAD_CONFIG: /* words 6-9: platform and smmu; word 11: the bad value */
        g_ptr_array_add(argv, (char *)"platform");
        g_ptr_array_add(argv, platform);
        g_ptr_array_add(argv, (char *)"smmu");
        g_ptr_array_add(argv, (char *)kind);
        g_ptr_array_add(argv, (char *)"fault-poll-ms");
        g_ptr_array_add(argv, (char *)"0");
        break;
    case STAGE_CONFIG_FIFO:
        ck_assert_int_eq(mkfifo(conf, 0600), 0);
        g_ptr_array_add(argv, at);
        env = g_environ_setenv(env, "SMMU_PLATFORM", platform, TRUE);
        break;
    case STAGE_PLATFORM_MISSING:
    case STAGE_PLATFORM_UNKNOWN: {
        g_autofree char *text = g_strdup_printf("platform %s\nsmmu %s\n",
                                                stage == STAGE_PLATFORM_MISSING ? "board:/nonexistent" : "devmem:/dev/mem",
                                                kind);
        ck_assert(g_file_set_contents(conf, text, -1, NULL));
        g_ptr_array_add(argv, at);
        env = g_environ_setenv(env, "SMMU_PLATFORM", platform, TRUE);
        break;
    }
    case STAGE_NO_LIBRARY:
    case STAGE_SAFETY_REFUSED: {
        /* the directory holds the platform module and the board's own
         * (non-safety) library, nothing else. No library: the
         * configuration names the other kind, whose library is not there;
         * the door must still block the board's unit as what the firmware
         * describes, with the library that is. (That the door also falls
         * back to the installed directory when $SMMU_HW_DIR lacks a library
         * is proved on an installed tree: testbed/tests/install.sh.) */
        ck_assert_int_eq(g_mkdir_with_parents(hwdir, 0700), 0);
        copy_from_build(hwdir, "smmu-platform-board.so");
        g_autofree char *name = g_strdup_printf("smmu-%s.so", kind);
        copy_from_build(hwdir, name);
        const char *named = stage == STAGE_NO_LIBRARY ? (strcmp(kind, "vtd") == 0 ? "smmuv3" : "vtd") : kind;
        g_autofree char *text = g_strdup_printf("platform %s\nsmmu %s\nsafety required\n", platform, named);
        ck_assert(g_file_set_contents(conf, text, -1, NULL));
        g_ptr_array_add(argv, at);
        env = g_environ_setenv(env, "SMMU_HW_DIR", hwdir, TRUE);
        break;
    }
    case STAGE_UNIT_NOT_ANSWERING: {
        /* an address with no unit behind it on either board */
        g_autofree char *text = g_strdup_printf("platform %s\nsmmu %s\nunit bogus0 %s\n", platform, kind,
                                                strcmp(kind, "vtd") == 0 ? "fed91000" : "9070000");
        ck_assert(g_file_set_contents(conf, text, -1, NULL));
        g_ptr_array_add(argv, at);
        break;
    }
    case STAGE_UNIT_OTHER_KIND: {
        /* the door must still block the unit as what the firmware says it is */
        bool vtd = strcmp(kind, "vtd") == 0;
        g_autofree char *text = g_strdup_printf("platform %s\nsmmu %s\nunit u0 %s\n", platform,
                                                vtd ? "smmuv3" : "vtd", vtd ? "fed90000" : "9050000");
        ck_assert(g_file_set_contents(conf, text, -1, NULL));
        g_ptr_array_add(argv, at);
        break;
    }
    case STAGE_COUNT: break;
    }
    g_ptr_array_add(argv, NULL);
    Proc p;
    run_to_end(&p, (char **)argv->pdata, env, 30000);
    ck_assert_msg(p.status == 3, "%s on %s: exit %d, want 3 (DSS); stderr: %s", stage_reason[stage], board, p.status,
                  p.err);
    g_autofree char *state = read_status(status, "state");
    g_autofree char *reason = read_status(status, "reason");
    ck_assert_msg(state && strcmp(state, "dss") == 0, "status state '%s'", state ? state : "(none)");
    ck_assert_msg(reason && strstr(reason, stage_reason[stage]), "reason '%s' lacks '%s'", reason ? reason : "",
                  stage_reason[stage]);
    ck_assert_msg(!strstr(p.err, "Segmentation") && !strstr(p.err, "crash"), "stderr: %s", p.err);
    /* the log file named (even by a configuration that did not parse) has it too */
    g_autofree char *logged = NULL;
    ck_assert_msg(g_file_get_contents(log, &logged, NULL, NULL) && strstr(logged, stage_reason[stage]),
                  "the log file lacks the reason '%s'", stage_reason[stage]);
    expect_blocked_write(&b, dst, stage_reason[stage]);
    g_free(p.err);
    g_ptr_array_free(argv, TRUE);
    g_strfreev(env);
    unlink(conf);
    unlink(status);
    unlink(log);
    for (unsigned i = 0; i < G_N_ELEMENTS(hw_files); i++) {
        g_autofree char *f = g_build_filename(hwdir, hw_files[i], NULL);
        unlink(f);
    }
    rmdir(hwdir);
    board_fixture_stop(&b);
}
END_TEST

/* ---- 2. a crash is reported as a crash ------------------------------------- */

/* The daemonising parent waits for the service to be ready; when it dies
 * of a signal instead, the parent says so and exits 128 + signal, never 3
 * (a DSS has blocked every unit; a crash has not). The service is caught
 * in start-up by a platform that accepts and never answers. */
START_TEST(crash_is_reported_as_a_crash)
{
    g_autofree char *dir = g_dir_make_tmp("silent-XXXXXX", NULL);
    ck_assert(dir);
    g_autofree char *sock = tb_run_dir_agent_path(dir);
    int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    g_strlcpy(sa.sun_path, sock, sizeof sa.sun_path);
    ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(listen(lfd, 4), 0);
    g_autofree char *prog = build_path("smmuman");
    g_autofree char *platform = g_strdup_printf("board:%s", dir);
    g_autofree char *status = g_build_filename(dir, "status", NULL);
    char *argv[] = { prog, (char *)"platform", platform, (char *)"smmu", (char *)"vtd", (char *)"status-file", status,
                     NULL };
    GPid parent;
    int err_fd;
    ck_assert(g_spawn_async_with_pipes(NULL, argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL, NULL,
                                       NULL, &parent, NULL, NULL, &err_fd, NULL));
    /* the service (the parent's child) connects and waits for a greeting */
    int conn = -1;
    struct pollfd pf = { .fd = lfd, .events = POLLIN };
    ck_assert_msg(poll(&pf, 1, 10000) == 1, "the service never connected to its platform");
    conn = accept(lfd, NULL, NULL);
    ck_assert_int_ge(conn, 0);
    struct ucred cred;
    socklen_t len = sizeof cred;
    ck_assert_int_eq(getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &len), 0);
    ck_assert_int_ne(cred.pid, parent); /* the daemon, not the parent */
    ck_assert_int_eq(kill(cred.pid, SIGSEGV), 0);
    int st;
    gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
    while (waitpid(parent, &st, WNOHANG) != parent) {
        ck_assert_msg(g_get_monotonic_time() < deadline, "the parent did not end after its service crashed");
        g_usleep(5000);
    }
    g_spawn_close_pid(parent);
    char buf[2048] = "";
    ssize_t n = read(err_fd, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = '\0';
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 128 + SIGSEGV, "parent status 0x%x, want exit %d", st,
                  128 + SIGSEGV);
    ck_assert_msg(strstr(buf, "crashed") && strstr(buf, "not a Design Safe State"), "parent said: %s", buf);
    g_autofree char *state = read_status(status, "state");
    ck_assert_msg(!state || strcmp(state, "dss") != 0, "a crash was recorded as a DSS");
    close(err_fd);
    close(conn);
    close(lfd);
    unlink(sock);
    unlink(status);
    rmdir(dir);
}
END_TEST

/* ---- 3. what the hardware cannot do is refused, never a DSS ----------------- */

static void svc_start_on(Svc *s, const char *board, const char *extra)
{
    g_autofree char *cfg = g_strdup_printf("smmu %s\n%s", kind_of(board), extra ? extra : "");
    svc_start(s, board, "smmuman", cfg, true);
}

static void expect_running(Svc *s)
{
    int st;
    ck_assert_msg(waitpid(s->pid, &st, WNOHANG) == 0, "the service ended (status 0x%x)", st);
    g_autofree char *state = svc_status_field(s, "state");
    ck_assert_str_eq(state, "running");
}

static void expect_reply(Cli *c, const char *prefix, const char *cmd)
{
    g_autofree char *r = cli(c, "%s", cmd);
    ck_assert_msg(g_str_has_prefix(r, prefix), "'%s': got '%s', want '%s...'", cmd, r, prefix);
}

START_TEST(out_of_range_requests_are_refused)
{
    const char *board = iommu_boards[_i];
    Svc s;
    Cli c, vm;
    svc_start_on(&s, board, NULL);
    const uint64_t ram = s.b.inv.ram_base;
    cli_owning(&c, &s, 5);
    /* at and beyond the input address width (39 bits on both libraries),
     * 48 bits, the top of the 64-bit space: every request type that maps */
    static const char *const beyond[] = { "map 0 rw 0x8000000000 4096", "map 0 rw 0x7ffffff000 8192",
                                          "map 0 rw 0x1000000000000 4096", "map 0 r 0xfffffffffffff000 4096",
                                          "map 0 w 0xffffffffffffe000 4096" };
    for (unsigned i = 0; i < G_N_ELEMENTS(beyond); i++) {
        g_autofree char *r = cli(&c, "%s", beyond[i]);
        ck_assert_msg(g_str_has_prefix(r, "err ERANGE") || g_str_has_prefix(r, "err EINVAL"), "'%s': got '%s'",
                      beyond[i], r);
        expect_running(&s);
    }
    /* the refusal says why, in the service's own words (protocol v3) */
    g_autofree char *why = cli(&c, "map 0 rw 0x8000000000 4096");
    ck_assert_msg(strstr(why, "err ERANGE") && strstr(why, "39-bit input address range"), "got '%s'", why);
    /* and unmapping there is refused the same way, not a rollback */
    expect_reply(&c, "err ERANGE", "unmap 0 0x8000000000 4096");
    /* a target beyond the output address width (the target ability) */
    cli_start(&vm, &s, true);
    g_free(cli_ok(&vm, "obj"));
    g_free(cli_ok(&vm, "add 0 pci 0 6 0"));
    expect_reply(&vm, "err ERANGE", "map 0 rwt 0x100000 4096 target=0x10000000000000");
    expect_reply(&vm, "err ERANGE", "map 0 rwt 0x100000 8192 target=0xfffffffffffff000");
    /* an object with no device yet is checked against every unit */
    g_free(cli_ok(&c, "obj"));
    expect_reply(&c, "err ERANGE", "map 1 rw 0x8000000000 4096");
    /* a device the unit cannot translate (SMMUv3: beyond the stream table) */
    g_autofree char *far = cli(&c, "add 1 pci 9 0 0");
    if (strcmp(kind_of(board), "smmuv3") == 0) ck_assert_msg(g_str_has_prefix(far, "err ENOENT"), "got '%s'", far);
    expect_running(&s);
    /* the service still does its job: a mapped buffer takes a DMA */
    const uint64_t x = ram + 0x100000;
    g_free(cli_ok(&c, "map 0 rw 0x%llx 4096", (unsigned long long)x));
    memset(board_ram(&s.b, x, LEN), 0x11, LEN);
    g_free(board_ok(&s.b, "dma edu1 read 0x%llx %d", (unsigned long long)x, LEN));
    memset(board_ram(&s.b, x, LEN), 0x00, LEN);
    g_free(board_ok(&s.b, "dma edu1 write 0x%llx %d", (unsigned long long)x, LEN));
    for (unsigned i = 0; i < LEN; i++) ck_assert_uint_eq(board_ram(&s.b, x, LEN)[i], 0x11);
    expect_running(&s);
    cli_stop(&vm);
    cli_stop(&c);
    svc_stop(&s);
}
END_TEST

/* ---- 4. exactly one reply per request ---------------------------------------- */

START_TEST(a_client_that_does_not_read_loses_no_reply)
{
    Svc s;
    svc_start_on(&s, iommu_boards[_i], NULL);
    SmmuMsg *m = g_new0(SmmuMsg, 1);
    uint8_t *buf = g_malloc(SMMU_MSG_MAX);
    int fd = raw_connect(s.sock);
    int n = encode_req(m, SMMU_OP_HELLO, 1, buf);
    ck_assert_int_eq(send(fd, buf, (size_t)n, 0), n);
    ck_assert_int_eq(raw_recv(fd, m, buf, 5000), 1);
    /* STATUS requests, never reading, until the service stops taking them
     * (backpressure) or 50,000 went out */
    uint32_t sent = 0;
    const uint32_t want = 50000;
    while (sent < want) {
        n = encode_req(m, SMMU_OP_STATUS, 2 + sent, buf);
        ssize_t w = send(fd, buf, (size_t)n, MSG_DONTWAIT);
        if (w == n) {
            sent++;
            continue;
        }
        ck_assert_msg(errno == EAGAIN || errno == EWOULDBLOCK, "send: %s", g_strerror(errno));
        struct pollfd pf = { .fd = fd, .events = POLLOUT };
        if (poll(&pf, 1, 300) == 0) break; /* the service waits for us to read */
    }
    ck_assert_uint_gt(sent, 10);
    /* meanwhile every other client is served */
    g_autofree char *st = smmuctl(&s, "status");
    ck_assert_msg(strstr(st, "state=running"), "%s", st);
    /* now read: every request has its reply, in order, and no more */
    for (uint32_t i = 0; i < sent; i++) {
        int got = raw_recv(fd, m, buf, 10000);
        ck_assert_msg(got == 1, "reply %u of %u never came", i + 1, sent);
        if (m->hdr.op == SMMU_EV_FAULT) { /* an event may come between replies */
            i--;
            continue;
        }
        ck_assert_uint_eq(m->hdr.op, SMMU_OP_STATUS);
        ck_assert_uint_eq(m->hdr.seq, 2 + i);
        ck_assert_int_eq(m->hdr.status, 0);
    }
    ck_assert_int_eq(raw_recv(fd, m, buf, 200), 0);
    g_autofree char *log = NULL;
    ck_assert(g_file_get_contents(s.log, &log, NULL, NULL));
    ck_assert_msg(!strstr(log, "reply not sent"), "the service dropped replies");
    close(fd);
    g_free(m);
    g_free(buf);
    svc_stop(&s);
}
END_TEST

static unsigned count_lines(const char *text, const char *needle)
{
    unsigned n = 0;
    for (const char *p = text; (p = strstr(p, needle)); p++) n++;
    return n;
}

/* A client sending garbage as fast as it can gets a reply to each message
 * it frames, and costs the log a few lines and a count. */
START_TEST(bad_messages_cannot_flood_the_log)
{
    Svc s;
    svc_start_on(&s, iommu_boards[_i], NULL);
    SmmuMsg *m = g_new0(SmmuMsg, 1);
    uint8_t *buf = g_malloc(SMMU_MSG_MAX);
    int fd = raw_connect(s.sock);
    const unsigned bad = 5000;
    unsigned replies = 0;
    for (unsigned i = 0; i < bad; i++) {
        int n = encode_req(m, SMMU_OP_SAFETY, i + 1, buf);
        buf[4] = 99; /* a version nobody speaks */
        ck_assert_int_eq(send(fd, buf, (size_t)n, 0), n);
        while (raw_recv(fd, m, buf, 0) == 1) replies++;
    }
    while (replies < bad && raw_recv(fd, m, buf, 5000) == 1) replies++;
    ck_assert_uint_eq(replies, bad);
    ck_assert_int_eq(m->hdr.status, -EPROTO);
    close(fd); /* the summary is written when the client goes */
    g_autofree char *st = smmuctl(&s, "status");
    ck_assert_msg(strstr(st, "state=running"), "%s", st);
    g_usleep(100000);
    g_autofree char *log = NULL;
    ck_assert(g_file_get_contents(s.log, &log, NULL, NULL));
    unsigned lines = count_lines(log, "bad message");
    ck_assert_msg(lines >= 1 && lines <= 40, "%u log lines for %u bad messages", lines, bad);
    ck_assert_msg(strstr(log, "suppressed"), "no count of the suppressed lines");
    g_free(m);
    g_free(buf);
    svc_stop(&s);
}
END_TEST

/* ---- 5. each client's share ------------------------------------------------------ */

static unsigned long status_num(const char *text, const char *key)
{
    const char *p = strstr(text, key);
    ck_assert_msg(p, "no %s in status:\n%s", key, text);
    return strtoul(p + strlen(key), NULL, 10);
}

START_TEST(each_client_keeps_to_its_share)
{
    const char *board = iommu_boards[_i];
    Svc s;
    svc_start_on(&s, board, "client-objects 4\nclient-pages 6\nclient-devices 3\nclient-regions 50\n");
    const uint64_t ram = s.b.inv.ram_base;
    g_autofree char *before = smmuctl(&s, "status");
    const unsigned long used0 = status_num(before, "pool.pages.used=");
    Cli a, b;
    cli_start(&a, &s, false);
    cli_start(&b, &s, false);
    /* objects */
    for (int i = 0; i < 4; i++) g_free(cli_ok(&a, "obj"));
    expect_reply(&a, "err EDQUOT", "obj");
    /* devices: named ones that exist or not, up to the share */
    g_free(cli_ok(&a, "add 0 pci 0 4 0"));
    g_free(cli_ok(&a, "add 1 pci 0 20 0"));
    g_free(cli_ok(&a, "add 1 pci 0 21 0"));
    expect_reply(&a, "err EDQUOT", "add 2 pci 0 22 0");
    /* table pages: pages 2 MiB apart each need a table of their own */
    unsigned mapped = 0;
    for (unsigned i = 0; i < 40; i++) {
        g_autofree char *r = cli(&a, "map 0 rw 0x%llx 4096", (unsigned long long)(ram + 0x1000000 + i * 0x200000ull));
        if (g_str_has_prefix(r, "ok")) {
            mapped++;
            continue;
        }
        ck_assert_msg(g_str_has_prefix(r, "err EDQUOT"), "map %u: '%s'", i, r);
        break;
    }
    ck_assert_msg(mapped > 0 && mapped < 40, "%u mapped before the share ran out", mapped);
    g_autofree char *mid = smmuctl(&s, "status");
    ck_assert_msg(status_num(mid, "pool.pages.used=") - used0 <= 6 + 8, "the client took %lu pages",
                  status_num(mid, "pool.pages.used=") - used0);
    /* regions: many in one page cost no tables but are still counted */
    expect_reply(&a, "err EDQUOT", "map 0 r 0x100000 1 0x100001 1 0x100002 1 0x100003 1 0x100004 1 0x100005 1 "
                                   "0x100006 1 0x100007 1 0x100008 1 0x100009 1 0x10000a 1 0x10000b 1 0x10000c 1 "
                                   "0x10000d 1 0x10000e 1 0x10000f 1 0x100010 1 0x100011 1 0x100012 1 0x100013 1 "
                                   "0x100014 1 0x100015 1 0x100016 1 0x100017 1 0x100018 1 0x100019 1 0x10001a 1 "
                                   "0x10001b 1 0x10001c 1 0x10001d 1 0x10001e 1 0x10001f 1 0x100020 1 0x100021 1 "
                                   "0x100022 1 0x100023 1 0x100024 1 0x100025 1 0x100026 1 0x100027 1 0x100028 1 "
                                   "0x100029 1 0x10002a 1 0x10002b 1 0x10002c 1 0x10002d 1 0x10002e 1 0x10002f 1 "
                                   "0x100030 1 0x100031 1 0x100032 1");
    /* another client is not starved */
    g_free(cli_ok(&b, "obj"));
    g_free(cli_ok(&b, "add 0 pci 0 5 0"));
    g_free(cli_ok(&b, "map 0 rw 0x%llx 4096", (unsigned long long)(ram + 0x100000)));
    /* everything a client held goes with it, named devices included */
    cli_stop(&a);
    g_usleep(100000);
    g_autofree char *objs = smmuctl(&s, "objects");
    ck_assert_msg(!strstr(objs, "pci:0:20.0") && !strstr(objs, "pci:0:21.0"), "phantom devices stayed:\n%s", objs);
    cli_stop(&b);
    g_usleep(100000);
    g_autofree char *after = smmuctl(&s, "status");
    ck_assert_uint_eq(status_num(after, "pool.pages.used="), used0);
    expect_running(&s);
    svc_stop(&s);
}
END_TEST

/* Many phantom PCI devices, one after another, on many buses: nothing stays. */
START_TEST(named_devices_cost_nothing_afterwards)
{
    Svc s;
    svc_start_on(&s, "q35-vtd", NULL);
    g_autofree char *before = smmuctl(&s, "status");
    const unsigned long used0 = status_num(before, "pool.pages.used=");
    Cli a;
    cli_start(&a, &s, false);
    g_free(cli_ok(&a, "obj"));
    for (unsigned bus = 1; bus < 200; bus++) {
        g_free(cli_ok(&a, "add 0 pci %u 3 1", bus));
        g_free(cli_ok(&a, "add - pci %u 3 1", bus));
    }
    g_autofree char *after = smmuctl(&s, "status");
    ck_assert_uint_le(status_num(after, "pool.pages.used="), used0 + 1);
    g_autofree char *objs = smmuctl(&s, "objects");
    ck_assert_msg(!strstr(objs, "pci:150:3.1"), "a detached phantom device stayed:\n%s", objs);
    cli_stop(&a);
    svc_stop(&s);
}
END_TEST

/* ---- 6. smaller things --------------------------------------------------------- */

START_TEST(debug_two_traces_requests)
{
    for (int level = 1; level <= 2; level++) {
        Svc s;
        g_autofree char *extra = g_strdup_printf("debug %d\n", level);
        svc_start_on(&s, "q35-vtd", extra);
        Cli c;
        cli_owning(&c, &s, 4);
        g_free(cli_ok(&c, "map 0 rw 0x100000 4096"));
        cli_stop(&c);
        g_autofree char *log = NULL;
        ck_assert(g_file_get_contents(s.log, &log, NULL, NULL));
        bool traced = strstr(log, "MAPPING_ADD obj=") != NULL;
        ck_assert_msg(traced == (level == 2), "debug %d: request trace %s", level, traced ? "present" : "absent");
        ck_assert_msg(strstr(log, "mapped 1 range"), "debug %d: no mapping line", level);
        svc_stop(&s);
    }
}
END_TEST

/* Sockets in a directory the service made: both go at DSS. */
START_TEST(socket_directory_goes_with_the_service)
{
    BoardFixture b;
    board_fixture_start(&b, "q35-vtd");
    const char *run = tb_board_run_dir(b.board);
    g_autofree char *dir = g_build_filename(run, "made-by-smmuman", NULL);
    g_autofree char *sock = g_build_filename(dir, "attach", NULL);
    g_autofree char *tsock = g_build_filename(dir, "target", NULL);
    g_autofree char *status = g_build_filename(run, "st", NULL);
    g_autofree char *platform = g_strdup_printf("board:%s", run);
    g_autofree char *prog = build_path("smmuman");
    char *argv[] = { prog, (char *)"foreground", (char *)"platform", platform, (char *)"smmu", (char *)"vtd",
                     (char *)"attach-socket", sock, (char *)"target-socket", tsock, (char *)"status-file", status,
                     NULL };
    GPid pid;
    ck_assert(g_spawn_async(NULL, argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &pid,
                            NULL));
    for (int i = 0; i < 1000 && !g_file_test(sock, G_FILE_TEST_EXISTS); i++) g_usleep(5000);
    ck_assert(g_file_test(sock, G_FILE_TEST_EXISTS));
    g_usleep(50000);
    kill(pid, SIGTERM);
    int st;
    waitpid(pid, &st, 0);
    g_spawn_close_pid(pid);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 3);
    ck_assert_msg(!g_file_test(dir, G_FILE_TEST_EXISTS), "%s left behind", dir);
    unlink(status);
    board_fixture_stop(&b);
}
END_TEST

/* The service's own log names a record's reason beside its code. */
START_TEST(service_log_names_the_reason)
{
    const char *board = iommu_boards[_i];
    Svc s;
    Cli c;
    svc_start_on(&s, board, NULL);
    cli_owning(&c, &s, 4);
    const uint64_t x = s.b.inv.ram_base + 0x100000;
    g_free(board_ok(&s.b, "dma edu0 write 0x%llx %d", (unsigned long long)x, LEN));
    g_autofree char *rec = cli(&c, "wait-fault 3000");
    ck_assert_msg(g_str_has_prefix(rec, "fault "), "no record: %s", rec);
    g_autofree char *log = NULL;
    ck_assert(g_file_get_contents(s.log, &log, NULL, NULL));
    const char *want = strcmp(kind_of(board), "vtd") == 0 ? "reason 0x5 (write-not-permitted)"
                                                          : "reason 0x10 (F_TRANSLATION)";
    ck_assert_msg(strstr(log, want), "the log lacks '%s':\n%s", want, log);
    cli_stop(&c);
    svc_stop(&s);
}
END_TEST

START_TEST(help_and_version_touch_nothing)
{
    static const char *const progs[] = { "smmuman", "smmuman-safety" };
    for (unsigned i = 0; i < G_N_ELEMENTS(progs); i++)
        for (int v = 0; v < 2; v++) {
            g_autofree char *prog = build_path(progs[i]);
            g_autofree char *status = g_build_filename(g_get_tmp_dir(), "help-status", NULL);
            char *argv[] = { prog, (char *)(v ? "--version" : "--help"), NULL };
            char **env = g_environ_setenv(g_get_environ(), "SMMU_STATUS_FILE", status, TRUE);
            g_autofree char *out = NULL, *err = NULL;
            int st;
            ck_assert(g_spawn_sync(NULL, argv, env, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &st, NULL));
            g_strfreev(env);
            ck_assert_msg(g_spawn_check_wait_status(st, NULL), "%s %s failed: %s", progs[i], argv[1], err);
            ck_assert_str_eq(err, "");
            ck_assert_msg(strstr(out, v ? "0." : "usage:"), "%s %s said: %s", progs[i], argv[1], out);
            ck_assert(!g_file_test(status, G_FILE_TEST_EXISTS));
        }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("hardening");
    TCase *t = tcase_create("hardening");
    tcase_set_timeout(t, 120);
    tcase_add_loop_test(t, startup_failure_blocks, 0, STAGE_COUNT * G_N_ELEMENTS(iommu_boards));
    tcase_add_test(t, crash_is_reported_as_a_crash);
    tcase_add_loop_test(t, out_of_range_requests_are_refused, 0, G_N_ELEMENTS(iommu_boards));
    tcase_add_loop_test(t, a_client_that_does_not_read_loses_no_reply, 0, G_N_ELEMENTS(iommu_boards));
    tcase_add_loop_test(t, bad_messages_cannot_flood_the_log, 0, G_N_ELEMENTS(iommu_boards));
    tcase_add_loop_test(t, each_client_keeps_to_its_share, 0, G_N_ELEMENTS(iommu_boards));
    tcase_add_test(t, named_devices_cost_nothing_afterwards);
    tcase_add_test(t, debug_two_traces_requests);
    tcase_add_test(t, socket_directory_goes_with_the_service);
    tcase_add_loop_test(t, service_log_names_the_reason, 0, G_N_ELEMENTS(iommu_boards));
    tcase_add_test(t, help_and_version_touch_nothing);
    suite_add_tcase(s, t);
    return s;
}

int main(void) { return check_run(suite()); }
