/* smmu-scenario: the scenario runner (docs/scenarios.md). Its options are
 * in usage[] below, which --help prints. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "paths-scenario.h"
#include "campaign-run.h"
#include "play-pool.h"
#include "runner.h"
#include "suite-timing.h"

#ifndef SMMU_VERSION
#error "SMMU_VERSION: meson passes the project's version"
#endif

static const char usage[] =
    "usage: smmu-scenario [options] [FILE|DIR ...]\n"
    "Plays each scenario (docs/scenarios.md) on every board it claims, each with its\n"
    "own service and clients on a kept board reset as it started (or a fresh one);\n"
    "default: every suite\n"
    "under " SMMU_SCENARIO_DIR ".\n"
    "  --board NAME     only this board (repeatable)\n"
    "  --shard K/N      the K-th of N slices of the (scenario, board) list\n"
    "  --seed N         order of play (default 1; 0: file order)\n"
    "  --jobs N         scenarios in parallel (1..16), each worker with its own boards\n"
    "  --fresh-boards   start a board for every run (default: each worker keeps one per\n"
    "                   board name and resets it between runs; docs/scenarios.md)\n"
    "  --timing FILE    append the suite's speed as benchmark rows (JSON lines)\n"
    "  --keep           keep every run directory's logs\n"
    "  --list           list what would run, run nothing\n"
    "  --tap            TAP on stdout (for meson) instead of progress lines\n"
    "  --narrate        print every step and its outcome as it happens (one job)\n"
    "  --junit FILE     JUnit XML report\n"
    "  --html FILE      HTML report with a memory map per scenario and board\n"
    "  --events FILE    JSON lines, one per finished run, with its fault records\n"
    "  --help           this text        --version   the version\n"
    "Random campaigns (docs/scenarios.md \"Random campaigns\"):\n"
    "  smmu-scenario --random N --seed S [--board B] [--jobs J] [--shard K/M] [--out DIR]\n"
    "               [--max-plays P] [--stop-on-failure] [--steps K]\n"
    "               [--tap] [--junit F] [--html F] [--events F]\n"
    "  plays N scenarios generated from seed S (scenario i on the i-th board, in turn),\n"
    "  every expectation from the reference model; each failure is shrunk (at most P\n"
    "  plays, default 150) to DIR/random-S-I.scn (default: the current directory).\n"
    "  --shard K/M plays scenarios i with i mod M = K-1: the same ones on every machine.\n"
    "  --list prints the generated scenarios.\n"
    "Exit status: 0 all passed, 1 some failed, 2 bad usage or a bad scenario file.\n";

typedef struct {
    Scenario *scn;
    char *board;
} Item;

typedef struct {
    GPtrArray *items; /* Item*: this shard's runs, in order of play */
    const RunOptions *opt;
    SuiteTime *times; /* by run, for --timing: each thread writes its runs' slots only */
} Suite;

static gint by_name(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Scenario files under path (*.scn, include-only files excluded: they end in .inc). */
static void collect(const char *path, GPtrArray *files)
{
    if (!g_file_test(path, G_FILE_TEST_IS_DIR)) {
        g_ptr_array_add(files, g_strdup(path));
        return;
    }
    GDir *d = g_dir_open(path, 0, NULL);
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    for (const char *n; d && (n = g_dir_read_name(d));) g_ptr_array_add(names, g_build_filename(path, n, NULL));
    if (d) g_dir_close(d);
    g_ptr_array_sort(names, by_name);
    for (guint i = 0; i < names->len; i++) {
        const char *p = g_ptr_array_index(names, i);
        if (g_file_test(p, G_FILE_TEST_IS_DIR) || g_str_has_suffix(p, ".scn")) collect(p, files);
    }
}

/* One run of a suite (PlayFn). */
static ReportScenario *play_item(void *ctx, guint i, PlayNote *note)
{
    (void)note;
    const Suite *su = ctx;
    Item *it = g_ptr_array_index(su->items, i);
    ReportScenario *r = runner_play(it->scn, it->board, su->opt);
    SuiteTime *t = &su->times[i];
    t->board = it->board;
    t->seconds = r->seconds;
    memcpy(t->phase, r->phase, sizeof t->phase);
    t->reused = r->board_reused;
    t->passed = r->status == RS_PASS;
    return r;
}

int main(int argc, char **argv)
{
    /* a client or board that died must fail its scenario, not the runner */
    signal(SIGPIPE, SIG_IGN);
    g_autoptr(GPtrArray) paths = g_ptr_array_new();
    g_autoptr(GPtrArray) only = g_ptr_array_new();
    unsigned shard_k = 1, shard_n = 1, jobs = 1, seed = 1;
    bool list = false, tap = false, keep = false, narrate = false, fresh = false;
    const char *junit = NULL, *html = NULL, *events = NULL, *timing = NULL;
    CampaignOptions co = { .seed = 1, .out_dir = ".", .max_plays = 150, .gen = { .steps = 40 } };
    bool random = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool more = i + 1 < argc;
        if (strcmp(a, "--board") == 0 && more) g_ptr_array_add(only, argv[++i]);
        else if (strcmp(a, "--shard") == 0 && more) {
            if (sscanf(argv[++i], "%u/%u", &shard_k, &shard_n) != 2 || shard_k == 0 || shard_k > shard_n) {
                fprintf(stderr, "smmu-scenario: --shard: expected K/N with 1 <= K <= N\n");
                return 2;
            }
        } else if (strcmp(a, "--seed") == 0 && more) {
            co.seed = strtoull(argv[++i], NULL, 10);
            seed = (unsigned)co.seed;
        } else if (strcmp(a, "--random") == 0 && more) random = true, co.n = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (strcmp(a, "--out") == 0 && more) co.out_dir = argv[++i];
        else if (strcmp(a, "--max-plays") == 0 && more) co.max_plays = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (strcmp(a, "--steps") == 0 && more) co.gen.steps = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (strcmp(a, "--stop-on-failure") == 0) co.stop_on_failure = true;
        else if (strcmp(a, "--jobs") == 0 && more) jobs = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (strcmp(a, "--junit") == 0 && more) junit = argv[++i];
        else if (strcmp(a, "--html") == 0 && more) html = argv[++i];
        else if (strcmp(a, "--events") == 0 && more) events = argv[++i];
        else if (strcmp(a, "--keep") == 0) keep = true;
        else if (strcmp(a, "--fresh-boards") == 0) fresh = true;
        else if (strcmp(a, "--timing") == 0 && more) timing = argv[++i];
        else if (strcmp(a, "--list") == 0) list = true;
        else if (strcmp(a, "--tap") == 0) tap = true;
        else if (strcmp(a, "--narrate") == 0) narrate = true;
        else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            /* before anything is loaded or started */
            fputs(usage, stdout);
            return 0;
        } else if (strcmp(a, "--version") == 0) {
            printf("smmu-scenario %s\n", SMMU_VERSION);
            return 0;
        } else if (a[0] == '-') {
            fprintf(stderr, "smmu-scenario: unknown option '%s' (or one missing its value); see --help\n", a);
            return 2;
        } else g_ptr_array_add(paths, (char *)a);
    }
    if (jobs == 0 || jobs > 16) jobs = 1;
    if (random) {
        if (paths->len) {
            fprintf(stderr, "smmu-scenario: --random plays generated scenarios, not files\n");
            return 2;
        }
        g_ptr_array_add(only, NULL);
        co.boards = (const char *const *)only->pdata;
        co.jobs = jobs, co.shard_k = shard_k, co.shard_n = shard_n;
        co.tap = tap, co.list = list, co.junit = junit, co.html = html, co.events = events;
        RunOptions ropt = { .build_dir = getenv("SMMU_BUILD_DIR") ? getenv("SMMU_BUILD_DIR") : SMMU_BUILD_DIR,
                            .client = SMMU_CLIENT, .qvm = SMMU_QVM, .keep = keep, .seed = seed };
        return campaign_run(&co, &ropt);
    }
    if (paths->len == 0) g_ptr_array_add(paths, SMMU_SCENARIO_DIR);
    g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < paths->len; i++) collect(g_ptr_array_index(paths, i), files);

    RunOptions opt = { .build_dir = getenv("SMMU_BUILD_DIR") ? getenv("SMMU_BUILD_DIR") : SMMU_BUILD_DIR,
                       .client = SMMU_CLIENT, .qvm = SMMU_QVM, .keep = keep, .seed = seed, .narrate = narrate,
                       .reuse_boards = !fresh && !keep };
    if (narrate) jobs = 1; /* one story at a time */
    GPtrArray *items = g_ptr_array_new();
    int bad = 0;
    for (guint f = 0; f < files->len; f++) {
        GError *e = NULL;
        Scenario *s = scenario_load(g_ptr_array_index(files, f), &e);
        if (!s) {
            fprintf(stderr, "smmu-scenario: %s\n", e->message);
            g_error_free(e);
            bad = 1;
            continue;
        }
        g_auto(GStrv) boards = runner_boards_for(s, &opt);
        for (unsigned b = 0; boards[b]; b++) {
            bool wanted = only->len == 0;
            for (guint k = 0; k < only->len; k++) wanted |= strcmp(g_ptr_array_index(only, k), boards[b]) == 0;
            if (!wanted) continue;
            Item *it = g_new0(Item, 1);
            it->scn = s;
            it->board = g_strdup(boards[b]);
            g_ptr_array_add(items, it);
        }
    }
    if (bad) return 2;
    /* the seed fixes the order of play, so that an order-dependent failure reproduces */
    if (seed) {
        GRand *rng = g_rand_new_with_seed(seed);
        for (guint i = items->len; i > 1; i--) {
            guint j = (guint)g_rand_int_range(rng, 0, (gint32)i);
            gpointer t = items->pdata[i - 1];
            items->pdata[i - 1] = items->pdata[j];
            items->pdata[j] = t;
        }
        g_rand_free(rng);
    }
    GPtrArray *mine = g_ptr_array_new();
    for (guint i = 0; i < items->len; i++)
        if (i % shard_n == shard_k - 1) g_ptr_array_add(mine, items->pdata[i]);
    if (list) {
        for (guint i = 0; i < mine->len; i++) {
            Item *it = g_ptr_array_index(mine, i);
            printf("%s [%s] %s\n", it->scn->name, it->board, it->scn->file);
        }
        return 0;
    }
    if (!tap) printf("smmu-scenario: %u scenario runs, %u at a time, seed %u\n", mine->len, jobs, seed);
    Suite su = { .items = mine, .opt = &opt, .times = g_new0(SuiteTime, mine->len ? mine->len : 1) };
    PlayPoolOptions po = { .jobs = jobs, .tap = tap, .junit = junit, .html = html, .events = events,
                           .title = "smmuman scenario report", .seed = seed, .thread_end = runner_release_boards };
    PlayPoolResult res;
    int status = play_pool_run(&po, mine->len, play_item, &su, &res);
    if (timing) {
        guint played = 0; /* runs not played (none here: suites do not stop) have no board */
        while (played < mine->len && su.times[played].board) played++;
        if (suite_timing_write(timing, su.times, played, res.seconds, jobs, opt.reuse_boards) && !status) status = 2;
    }
    g_free(su.times);
    if (!tap) printf("scenarios: %u passed, %u failed (%.1f s)%s%s\n", res.passed, res.failed, res.seconds,
                     html ? "; report: " : "", html ? html : "");
    return status;
}
