/* smmu-board: start, drive and stop a board by hand.
 *
 *   smmu-board list
 *   smmu-board start BOARD [--run-dir D] [--keep]
 *   smmu-board stop [--run-dir D] [--keep]
 *   smmu-board info | pci | help
 *   smmu-board dma|storm|mmio|ram|pci|msi|irq ARGS...   (agent requests)
 *   smmu-board irq watch [--count N] [--timeout MS]
 *   smmu-board --help | --version
 *
 * The run directory comes from --run-dir or $SMMU_BOARD_RUN_DIR. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent-client.h"
#include "launcher.h"

#ifndef SMMU_VERSION
#error "SMMU_VERSION: meson passes the project's version"
#endif

#define EXIT_REQUEST_FAILED 1
#define EXIT_USAGE          2

static const char usage[] =
    "usage: smmu-board list\n"
    "       smmu-board start BOARD [--run-dir DIR] [--keep]\n"
    "       smmu-board stop [--run-dir DIR] [--keep]\n"
    "       smmu-board info | pci | help               [--run-dir DIR]\n"
    "       smmu-board dma DEV read|write ADDR LEN [offset=N] [pattern=HEX]\n"
    "       smmu-board storm DEV[,DEV..] read|write ADDR LEN COUNT [stride=N] [offset=N]\n"
    "       smmu-board mmio read ADDR SIZE | mmio write ADDR SIZE VALUE\n"
    "       smmu-board ram read ADDR LEN | ram write ADDR HEX\n"
    "       smmu-board pci read BB:DD.F OFF SIZE | pci write BB:DD.F OFF SIZE VALUE\n"
    "       smmu-board msi DEV ADDR DATA\n"
    "       smmu-board irq level N | irq watch [--count N] [--timeout MS]\n"
    "       smmu-board --help | --version\n"
    "The run directory is --run-dir or $SMMU_BOARD_RUN_DIR. 'irq watch' prints each\n"
    "interrupt event (\"irq N raise|lower\"); it says on stderr when it is listening,\n"
    "and gives up after --timeout ms (default 10000) without one.\n";

typedef struct {
    const char *run_dir;
    bool keep;
    long count, timeout_ms;
    GPtrArray *words;
} Args;

static int parse_args(int argc, char **argv, Args *a)
{
    a->run_dir = g_getenv("SMMU_BOARD_RUN_DIR");
    a->count = -1;
    a->timeout_ms = 10000;
    a->words = g_ptr_array_new();
    for (int i = 1; i < argc; i++) {
        char *end;
        if (strcmp(argv[i], "--run-dir") == 0 && i + 1 < argc) a->run_dir = argv[++i];
        else if (strcmp(argv[i], "--keep") == 0) a->keep = true;
        else if ((strcmp(argv[i], "--count") == 0 || strcmp(argv[i], "--timeout") == 0) && i + 1 < argc) {
            long v = strtol(argv[i + 1], &end, 10);
            if (*end || v < 0) {
                fprintf(stderr, "smmu-board: %s: expected a number, got '%s'\n", argv[i], argv[i + 1]);
                return -EINVAL;
            }
            *(strcmp(argv[i], "--count") == 0 ? &a->count : &a->timeout_ms) = v;
            i++;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(usage, stdout);
            exit(0);
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("smmu-board %s\n", SMMU_VERSION);
            exit(0);
        } else if (strncmp(argv[i], "--", 2) == 0) {
            fprintf(stderr, "smmu-board: unknown option '%s'\n%s", argv[i], usage);
            return -EINVAL;
        } else {
            g_ptr_array_add(a->words, argv[i]);
        }
    }
    if (a->words->len == 0) {
        fputs(usage, stderr);
        return -EINVAL;
    }
    return 0;
}

static int cmd_start(Args *a)
{
    if (a->words->len != 2) {
        fprintf(stderr, "smmu-board: usage: start BOARD [--run-dir DIR]\n");
        return EXIT_USAGE;
    }
    g_autoptr(GError) err = NULL;
    TbLaunchOptions opt = { .run_dir = a->run_dir, .detach = true, .keep = a->keep };
    TbBoard *b = tb_board_start(g_ptr_array_index(a->words, 1), &opt, &err);
    if (!b) {
        fprintf(stderr, "smmu-board: %s\n", err->message);
        return EXIT_REQUEST_FAILED;
    }
    printf("board %s running, pid %d\nrun directory: %s\nagent socket:  %s\n"
           "export SMMU_BOARD_RUN_DIR=%s\n",
           tb_board_def(b)->name, (int)tb_board_pid(b), tb_board_run_dir(b), tb_board_agent_path(b),
           tb_board_run_dir(b));
    tb_board_release(b);
    return 0;
}

static int need_run_dir(const Args *a)
{
    if (a->run_dir) return 0;
    fprintf(stderr, "smmu-board: no run directory: pass --run-dir DIR or set SMMU_BOARD_RUN_DIR\n");
    return -EINVAL;
}

static int cmd_stop(Args *a)
{
    g_autoptr(GError) err = NULL;
    if (need_run_dir(a)) return EXIT_USAGE;
    if (tb_board_stop_run_dir(a->run_dir, a->keep, &err)) {
        fprintf(stderr, "smmu-board: %s\n", err->message);
        return EXIT_REQUEST_FAILED;
    }
    return 0;
}

static TbAgent *connect_agent(const Args *a)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *path = tb_run_dir_agent_path(a->run_dir);
    TbAgent *ag = NULL;
    if (tb_agent_connect(path, 0, &ag, &err)) fprintf(stderr, "smmu-board: %s\n", err->message);
    return ag;
}

static int cmd_watch(Args *a, TbAgent *ag)
{
    g_autoptr(GError) err = NULL;
    TbReply r;
    if (tb_agent_do(ag, &r, &err, "irq subscribe")) {
        fprintf(stderr, "smmu-board: %s\n", err->message);
        return EXIT_REQUEST_FAILED;
    }
    tb_reply_clear(&r);
    /* Events raised before the subscription are not seen: say when it is
     * in place, so a person (or a script) raises interrupts after that. */
    if (a->count < 0) fprintf(stderr, "smmu-board: watching interrupts (until none comes within %ld ms)\n", a->timeout_ms);
    else fprintf(stderr, "smmu-board: watching interrupts (%ld, each within %ld ms)\n", a->count, a->timeout_ms);
    for (long n = 0; a->count < 0 || n < a->count; n++) {
        g_autofree char *ev = tb_agent_next_event(ag, (int)a->timeout_ms);
        if (!ev) {
            if (a->count < 0) return 0;
            fprintf(stderr, "smmu-board: irq watch: %ld of %ld events, then none within %ld ms\n", n, a->count,
                    a->timeout_ms);
            return EXIT_REQUEST_FAILED;
        }
        printf("%s\n", ev);
        fflush(stdout);
    }
    return 0;
}

/* Everything else is an agent request, passed on word for word. */
static int cmd_request(Args *a)
{
    if (need_run_dir(a)) return EXIT_USAGE;
    TbAgent *ag = connect_agent(a);
    if (!ag) return EXIT_REQUEST_FAILED;
    int status;
    const char *verb = g_ptr_array_index(a->words, 0);
    if (strcmp(verb, "irq") == 0 && a->words->len == 2 && strcmp(g_ptr_array_index(a->words, 1), "watch") == 0) {
        status = cmd_watch(a, ag);
    } else {
        g_autoptr(GError) err = NULL;
        g_ptr_array_add(a->words, NULL);
        g_autofree char *line = strcmp(verb, "pci") == 0 && a->words->len == 2
                                    ? g_strdup("info") /* bare "pci": the device list */
                                    : g_strjoinv(" ", (char **)a->words->pdata);
        TbReply r;
        if (tb_agent_call(ag, &r, &err, "%s", line)) {
            fprintf(stderr, "smmu-board: %s\n", err->message);
            tb_agent_close(ag);
            return EXIT_REQUEST_FAILED;
        }
        for (guint i = 0; i < r.data->len; i++) {
            const char *d = g_ptr_array_index(r.data, i);
            if (strcmp(verb, "pci") != 0 || g_str_has_prefix(d, "device ")) printf("%s\n", d);
        }
        if (r.ok && *r.text) printf("%s\n", r.text);
        if (!r.ok) fprintf(stderr, "smmu-board: %s: %s\n", r.error, r.text);
        status = r.ok ? 0 : EXIT_REQUEST_FAILED;
        tb_reply_clear(&r);
    }
    tb_agent_close(ag);
    return status;
}

int main(int argc, char **argv)
{
    Args a = { 0 };
    if (parse_args(argc, argv, &a)) return EXIT_USAGE;
    const char *verb = g_ptr_array_index(a.words, 0);
    int status;
    if (strcmp(verb, "list") == 0) {
        g_auto(GStrv) names = tb_board_list();
        for (unsigned i = 0; names[i]; i++) printf("%s\n", names[i]);
        status = 0;
    } else if (strcmp(verb, "start") == 0) {
        status = cmd_start(&a);
    } else if (strcmp(verb, "stop") == 0) {
        status = cmd_stop(&a);
    } else {
        status = cmd_request(&a);
    }
    g_ptr_array_unref(a.words);
    return status;
}
