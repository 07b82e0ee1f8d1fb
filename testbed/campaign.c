/* smmu-scenario --random: a campaign of N generated scenarios (campaign.h),
 * played like a suite's, each failure shrunk to a regression scenario. */
#include "campaign-run.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "campaign.h"

typedef struct {
    unsigned index;       /* in the campaign: the generator's stream */
    const CgBoard *board;
    ReportScenario *rep;
    char *saved;          /* the shrunk scenario's file */
    unsigned plays, steps_before, steps_after;
} Item;

typedef struct {
    const CampaignOptions *co;
    const RunOptions *ro;
    GPtrArray *items;
    guint next;
    unsigned done, first_failure, first_failure_order;
    bool stop;
    pthread_mutex_t lock;
    FILE *events;
} Work;

/* One play of a case: rendered, parsed, played. */
typedef struct {
    Work *w;
    const CgBoard *board;
    char *path;           /* the name its messages give the scenario */
    char *signature;      /* the first failure's words, numbers left out */
} Player;

/* "PATH:LINE: words" -> the step that failed (0: none known). */
static unsigned failed_step(const char *path, const char *msg, const GArray *line_step)
{
    size_t n = strlen(path);
    if (!msg || strncmp(msg, path, n) != 0 || msg[n] != ':') return 0;
    unsigned line = (unsigned)strtoul(msg + n + 1, NULL, 10);
    return line >= 1 && line <= line_step->len ? g_array_index(line_step, unsigned, line - 1) : 0;
}

/* What a failure says, without where and without numbers: a shrunk case
 * must fail the same way, not merely fail. */
static char *signature(const char *path, const char *msg)
{
    GString *s = g_string_new(NULL);
    if (!msg) return g_string_free(s, FALSE);
    const char *p = msg;
    if (g_str_has_prefix(p, path)) {
        p += strlen(path);
        p += strspn(p, ":0123456789 ");
    }
    while (*p && *p != '\n' && s->len < 48) {
        if (p[0] == '0' && p[1] == 'x') for (p += 2; g_ascii_isxdigit(*p); p++) {}
        else if (g_ascii_isdigit(*p)) p++;
        else g_string_append_c(s, *p++);
    }
    return g_string_free(s, FALSE);
}

static ReportScenario *play_text(Player *pl, const char *text, GError **err)
{
    Scenario *s = scenario_parse_text(text, pl->path, err);
    if (!s) return NULL;
    ReportScenario *rep = runner_play(s, pl->board->name, pl->w->ro);
    scenario_free(s);
    return rep;
}

static bool still_fails(void *ctx, const CgCase *c, unsigned *fail_step)
{
    Player *pl = ctx;
    g_autoptr(GArray) ls = g_array_new(FALSE, FALSE, sizeof(unsigned));
    g_autofree char *text = cg_render(c, pl->board, &pl->w->co->gen, NULL, ls, NULL);
    ReportScenario *rep = play_text(pl, text, NULL);
    if (!rep) return false;
    bool same = false;
    if (rep->status == RS_FAIL) {
        g_autofree char *sig = signature(pl->path, rep->message);
        same = strcmp(sig, pl->signature) == 0;
        *fail_step = failed_step(pl->path, rep->message, ls);
    }
    report_scenario_free(rep);
    return same;
}

static void play_item(Work *w, Item *it)
{
    const CampaignOptions *co = w->co;
    CgCase c;
    cg_generate(it->board, &co->gen, co->seed, it->index, &c);
    Player pl = { .w = w, .board = it->board };
    pl.path = g_strdup_printf("%s/random-%llu-%u.scn", co->out_dir, (unsigned long long)co->seed, it->index);
    g_autoptr(GArray) ls = g_array_new(FALSE, FALSE, sizeof(unsigned));
    g_autofree char *text = cg_render(&c, it->board, &co->gen, NULL, ls, &it->steps_before);
    GError *e = NULL;
    it->rep = play_text(&pl, text, &e);
    if (!it->rep) { /* the generator wrote what the language refuses: its bug, shown as a failure */
        it->rep = report_scenario_new("random", pl.path, it->board->name);
        it->rep->status = RS_FAIL;
        it->rep->message = g_strdup_printf("generated scenario does not parse: %s\n--- generated scenario:\n%s", e->message, text);
        g_error_free(e);
    } else if (it->rep->status == RS_FAIL) {
        pl.signature = signature(pl.path, it->rep->message);
        unsigned fs = failed_step(pl.path, it->rep->message, ls);
        it->plays = cg_shrink(&c, fs, co->max_plays, still_fails, &pl);
        g_autofree char *comment = g_strdup_printf(
            "Random campaign: scenario %u of seed %llu on %s, shrunk in %u plays from %u steps.\n"
            "It failed with: %.*s\n"
            "Replay:     smmu-scenario --board %s %s\n"
            "Regenerate: smmu-scenario --random %u --seed %llu --board %s (scenario %u)",
            it->index, (unsigned long long)co->seed, it->board->name, it->plays, it->steps_before,
            (int)strcspn(it->rep->message, "\n"), it->rep->message, it->board->name, pl.path, it->index + 1,
            (unsigned long long)co->seed, it->board->name, it->index);
        g_autofree char *small = cg_render(&c, it->board, &co->gen, comment, NULL, &it->steps_after);
        if (g_file_set_contents(pl.path, small, -1, &e)) it->saved = g_strdup(pl.path);
        else {
            g_printerr("smmu-scenario: %s\n", e->message);
            g_clear_error(&e);
        }
        char *msg = g_strdup_printf("%s\nshrunk to %u steps in %u plays: %s\n--- shrunk scenario:\n%s--- generated scenario:\n%s",
                                    it->rep->message, it->steps_after, it->plays, it->saved ? it->saved : "(not written)",
                                    small, text);
        g_free(it->rep->message);
        it->rep->message = msg;
        g_free(pl.signature);
    }
    g_free(pl.path);
    cg_case_clear(&c);
}

static void report_item(Work *w, Item *it, unsigned order)
{
    ReportScenario *r = it->rep;
    pthread_mutex_lock(&w->lock);
    w->done++;
    if (r->status != RS_PASS && (!w->first_failure_order || order < w->first_failure_order))
        w->first_failure = it->index, w->first_failure_order = order;
    if (r->status != RS_PASS && w->co->stop_on_failure) w->stop = true;
    const char *first = r->message ? r->message : "";
    int n = (int)strcspn(first, "\n");
    if (w->co->tap) {
        printf("%s %u - %s [%s]\n", r->status == RS_PASS ? "ok" : "not ok", w->done, r->name, r->board);
        if (r->message) printf("  # %.*s\n", n, first);
        if (it->saved) printf("  # shrunk to %u steps: %s\n", it->steps_after, it->saved);
    } else {
        printf("[%u/%u] %s %s [%s] %.1fs, %u steps%s%.*s", w->done, w->items->len, r->status == RS_PASS ? "PASS" : "FAIL",
               r->name, r->board, r->seconds, it->steps_before, r->message ? "\n      " : "", n, first);
        if (it->saved) printf("\n      shrunk to %u steps in %u plays: %s", it->steps_after, it->plays, it->saved);
        printf("\n");
    }
    fflush(stdout);
    if (w->events) {
        g_autofree char *line = report_json_scenario(r);
        fputs(line, w->events);
        fflush(w->events);
    }
    pthread_mutex_unlock(&w->lock);
}

static void *worker(void *arg)
{
    Work *w = arg;
    for (;;) {
        pthread_mutex_lock(&w->lock);
        guint i = w->next++;
        bool stop = w->stop;
        pthread_mutex_unlock(&w->lock);
        if (i >= w->items->len || stop) return NULL;
        Item *it = g_ptr_array_index(w->items, i);
        play_item(w, it);
        report_item(w, it, i + 1);
    }
}

static gint by_report(gconstpointer a, gconstpointer b)
{
    const ReportScenario *x = *(ReportScenario *const *)a, *y = *(ReportScenario *const *)b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->board, y->board);
}

int campaign_run(const CampaignOptions *co, const RunOptions *ro)
{
    /* the boards: those asked for, else every board with a built IOMMU library */
    g_auto(GStrv) boards = NULL;
    if (co->boards && co->boards[0]) boards = g_strdupv((char **)co->boards);
    else {
        Scenario *any = scenario_parse_text("scenario any\n", "any", NULL);
        boards = runner_boards_for(any, ro);
        scenario_free(any);
    }
    unsigned nb = g_strv_length(boards);
    if (nb == 0) {
        fprintf(stderr, "smmu-scenario: --random: no board with an IOMMU whose support library is built\n");
        return 2;
    }
    CgBoard *cb = g_new0(CgBoard, nb);
    for (unsigned i = 0; i < nb; i++) {
        GError *e = NULL;
        if (cg_board_load(boards[i], &cb[i], &e)) {
            fprintf(stderr, "smmu-scenario: --random: %s\n", e->message);
            g_error_free(e);
            g_free(cb);
            return 2;
        }
    }
    /* scenario i is the same on every machine and in every shard: its
     * board is boards[i % nb], its numbers the seed's stream i */
    GPtrArray *items = g_ptr_array_new();
    for (unsigned i = 0; i < co->n; i++) {
        if (i % co->shard_n != co->shard_k - 1) continue;
        Item *it = g_new0(Item, 1);
        it->index = i;
        it->board = &cb[i % nb];
        g_ptr_array_add(items, it);
    }
    if (co->list) { /* what would be played, as text */
        for (guint i = 0; i < items->len; i++) {
            Item *it = g_ptr_array_index(items, i);
            CgCase c;
            cg_generate(it->board, &co->gen, co->seed, it->index, &c);
            g_autofree char *text = cg_render(&c, it->board, &co->gen, NULL, NULL, NULL);
            printf("%s\n", text);
            cg_case_clear(&c);
            g_free(it);
        }
        g_ptr_array_free(items, TRUE);
        g_free(cb);
        return 0;
    }
    if (g_mkdir_with_parents(co->out_dir, 0755)) {
        fprintf(stderr, "smmu-scenario: --out %s: %s\n", co->out_dir, g_strerror(errno));
        return 2;
    }
    Work w = { .co = co, .ro = ro, .items = items, .lock = PTHREAD_MUTEX_INITIALIZER };
    if (co->events && !(w.events = fopen(co->events, "w"))) {
        fprintf(stderr, "smmu-scenario: %s: %s\n", co->events, g_strerror(errno));
        return 2;
    }
    if (co->tap) printf("1..%u\n", items->len);
    else
        printf("smmu-scenario: random campaign, seed %llu: %u of %u scenarios (shard %u/%u), %u at a time\n",
               (unsigned long long)co->seed, items->len, co->n, co->shard_k, co->shard_n, co->jobs);
    fflush(stdout);
    gint64 t0 = g_get_monotonic_time();
    pthread_t threads[16];
    unsigned jobs = co->jobs >= 1 && co->jobs <= 16 ? co->jobs : 1;
    for (unsigned j = 0; j < jobs; j++) pthread_create(&threads[j], NULL, worker, &w);
    for (unsigned j = 0; j < jobs; j++) pthread_join(threads[j], NULL);
    double seconds = (double)(g_get_monotonic_time() - t0) / 1e6;

    GPtrArray *reps = g_ptr_array_new();
    unsigned passed = 0, failed = 0;
    for (guint i = 0; i < items->len; i++) {
        Item *it = g_ptr_array_index(items, i);
        if (!it->rep) continue; /* not played: stopped at the first failure */
        g_ptr_array_add(reps, it->rep);
        if (it->rep->status == RS_PASS) passed++;
        else failed++;
    }
    g_ptr_array_sort(reps, by_report);
    int status = failed ? 1 : 0;
    GError *e = NULL;
    if (co->junit && report_write_junit(co->junit, reps, &e)) status = 2;
    else if (co->html && report_write_html(co->html, reps, "smmuman random campaign", &e)) status = 2;
    if (e) {
        fprintf(stderr, "smmu-scenario: %s\n", e->message);
        g_error_free(e);
    }
    if (w.events) {
        fprintf(w.events, "{\"event\":\"summary\",\"passed\":%u,\"failed\":%u,\"seconds\":%.3f,\"seed\":%llu}\n", passed,
                failed, seconds, (unsigned long long)co->seed);
        fclose(w.events);
    }
    if (!co->tap) {
        printf("campaign: %u passed, %u failed (%.1f s)", passed, failed, seconds);
        if (failed) printf("; first failure: scenario %u (%u scenarios in)", w.first_failure, w.first_failure_order);
        printf("\n");
    }
    for (guint i = 0; i < items->len; i++) {
        Item *it = g_ptr_array_index(items, i);
        if (it->rep) report_scenario_free(it->rep);
        g_free(it->saved);
        g_free(it);
    }
    g_ptr_array_free(reps, TRUE);
    g_ptr_array_free(items, TRUE);
    g_free(cb);
    return status;
}
