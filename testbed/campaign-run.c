/* smmu-scenario --random: a campaign of N generated scenarios (campaign.h),
 * played like a suite's, each failure shrunk to a regression scenario. */
#include "campaign-run.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "campaign.h"
#include "play-pool.h"

typedef struct {
    unsigned index;       /* in the campaign: the generator's stream */
    const CgBoard *board;
} Item;

typedef struct {
    const CampaignOptions *co;
    const RunOptions *ro;
    GPtrArray *items;     /* Item*: this shard's scenarios */
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

/* One scenario of the campaign (PlayFn): generated, played, and when it
 * fails, shrunk and saved. */
static ReportScenario *play_item(void *ctx, guint i, PlayNote *note)
{
    Work *w = ctx;
    const CampaignOptions *co = w->co;
    Item *it = g_ptr_array_index(w->items, i);
    CgCase c;
    cg_generate(it->board, &co->gen, co->seed, it->index, &c);
    Player pl = { .w = w, .board = it->board };
    pl.path = g_strdup_printf("%s/random-%llu-%u.scn", co->out_dir, (unsigned long long)co->seed, it->index);
    g_autoptr(GArray) ls = g_array_new(FALSE, FALSE, sizeof(unsigned));
    unsigned steps_before = 0, steps_after = 0, plays = 0;
    g_autofree char *text = cg_render(&c, it->board, &co->gen, NULL, ls, &steps_before);
    note->suffix = g_strdup_printf(", %u steps", steps_before);
    note->first_line = true; /* the reports carry the scenarios' text */
    GError *e = NULL;
    ReportScenario *rep = play_text(&pl, text, &e);
    if (!rep) { /* the generator wrote what the language refuses: its bug, shown as a failure */
        rep = report_scenario_new("random", pl.path, it->board->name);
        rep->status = RS_FAIL;
        rep->message = g_strdup_printf("generated scenario does not parse: %s\n--- generated scenario:\n%s", e->message, text);
        g_error_free(e);
    } else if (rep->status == RS_FAIL) {
        pl.signature = signature(pl.path, rep->message);
        unsigned fs = failed_step(pl.path, rep->message, ls);
        plays = cg_shrink(&c, fs, co->max_plays, still_fails, &pl);
        g_autofree char *comment = g_strdup_printf(
            "Random campaign: scenario %u of seed %llu on %s, shrunk in %u plays from %u steps.\n"
            "It failed with: %.*s\n"
            "Replay:     smmu-scenario --board %s %s\n"
            "Regenerate: smmu-scenario --random %u --seed %llu --board %s (scenario %u)",
            it->index, (unsigned long long)co->seed, it->board->name, plays, steps_before,
            (int)strcspn(rep->message, "\n"), rep->message, it->board->name, pl.path, it->index + 1,
            (unsigned long long)co->seed, it->board->name, it->index);
        g_autofree char *small = cg_render(&c, it->board, &co->gen, comment, NULL, &steps_after);
        g_autofree char *saved = NULL;
        if (g_file_set_contents(pl.path, small, -1, &e)) saved = g_strdup(pl.path);
        else {
            g_printerr("smmu-scenario: %s\n", e->message);
            g_clear_error(&e);
        }
        note->detail = g_strdup_printf("shrunk to %u steps in %u plays: %s", steps_after, plays, saved ? saved : "(not written)");
        char *msg = g_strdup_printf("%s\n%s\n--- shrunk scenario:\n%s--- generated scenario:\n%s", rep->message, note->detail,
                                    small, text);
        g_free(rep->message);
        rep->message = msg;
        g_free(pl.signature);
        note->stop = co->stop_on_failure;
    }
    g_free(pl.path);
    cg_case_clear(&c);
    return rep;
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
    if (!co->tap)
        printf("smmu-scenario: random campaign, seed %llu: %u of %u scenarios (shard %u/%u), %u at a time\n",
               (unsigned long long)co->seed, items->len, co->n, co->shard_k, co->shard_n, co->jobs);
    Work w = { .co = co, .ro = ro, .items = items };
    PlayPoolOptions po = { .jobs = co->jobs, .tap = co->tap, .junit = co->junit, .html = co->html, .events = co->events,
                           .title = "smmuman random campaign", .seed = co->seed };
    PlayPoolResult res;
    int status = play_pool_run(&po, items->len, play_item, &w, &res);
    if (!co->tap) {
        printf("campaign: %u passed, %u failed (%.1f s)", res.passed, res.failed, res.seconds);
        if (res.first_failed != G_MAXUINT) {
            const Item *first = g_ptr_array_index(items, res.first_failed);
            printf("; first failure: scenario %u (%u scenarios in)", first->index, res.first_failed + 1);
        }
        printf("\n");
    }
    for (guint i = 0; i < items->len; i++) g_free(g_ptr_array_index(items, i));
    g_ptr_array_free(items, TRUE);
    g_free(cb);
    return status;
}
