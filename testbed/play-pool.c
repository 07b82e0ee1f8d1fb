/* smmu-scenario's runs on a few threads, reported as they finish
 * (play-pool.h). The threads share the index of the next run, the
 * progress output and the events file, each under the one lock. */
#include "play-pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    const PlayPoolOptions *o;
    guint n, next;
    PlayFn play;
    void *ctx;
    ReportScenario **reps; /* by run; NULL: not played */
    unsigned done;
    bool stop;
    guint first_failed;
    FILE *events;
    pthread_mutex_t lock;
} Pool;

static void report_one(Pool *p, guint i, const ReportScenario *r, const PlayNote *note)
{
    pthread_mutex_lock(&p->lock);
    p->done++;
    bool pass = r->status == RS_PASS;
    if (!pass && i < p->first_failed) p->first_failed = i;
    if (note->stop) p->stop = true;
    const char *msg = r->message ? r->message : "";
    int len = note->first_line ? (int)strcspn(msg, "\n") : (int)strlen(msg);
    if (p->o->tap) {
        /* TAP numbers results in the order they are printed; with several
         * jobs that is the order they finish */
        printf("%s %u - %s [%s]\n", pass ? "ok" : "not ok", p->done, r->name, r->board);
        if (r->message) printf("  # %.*s\n", len, msg);
        if (note->detail) printf("  # %s\n", note->detail);
    } else {
        printf("[%u/%u] %s %s [%s] %.1fs%s", p->done, p->n, pass ? "PASS" : "FAIL", r->name, r->board, r->seconds,
               note->suffix ? note->suffix : "");
        if (r->message) printf("\n      %.*s", len, msg);
        if (note->detail) printf("\n      %s", note->detail);
        printf("\n");
    }
    fflush(stdout);
    if (p->events) {
        g_autofree char *line = report_json_scenario(r);
        fputs(line, p->events);
        fflush(p->events);
    }
    pthread_mutex_unlock(&p->lock);
}

static void *worker(void *arg)
{
    Pool *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->lock);
        guint i = p->next++;
        bool stop = p->stop;
        pthread_mutex_unlock(&p->lock);
        if (i >= p->n || stop) {
            if (p->o->thread_end) p->o->thread_end();
            return NULL;
        }
        PlayNote note = { 0 };
        ReportScenario *r = p->play(p->ctx, i, &note);
        p->reps[i] = r; /* this thread's slot alone; read after the join */
        report_one(p, i, r, &note);
        g_free(note.suffix);
        g_free(note.detail);
    }
}

static gint by_report(gconstpointer a, gconstpointer b)
{
    const ReportScenario *x = *(ReportScenario *const *)a, *y = *(ReportScenario *const *)b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->board, y->board);
}

static int write_reports(const PlayPoolOptions *o, GPtrArray *reps)
{
    GError *e = NULL;
    if ((o->junit && report_write_junit(o->junit, reps, &e)) ||
        (o->html && report_write_html(o->html, reps, o->title, &e))) {
        fprintf(stderr, "smmu-scenario: %s\n", e->message);
        g_error_free(e);
        return 2;
    }
    return 0;
}

int play_pool_run(const PlayPoolOptions *o, guint n, PlayFn play, void *ctx, PlayPoolResult *res)
{
    Pool p = { .o = o, .n = n, .play = play, .ctx = ctx, .reps = g_new0(ReportScenario *, n ? n : 1),
               .first_failed = G_MAXUINT, .lock = PTHREAD_MUTEX_INITIALIZER };
    *res = (PlayPoolResult){ .first_failed = G_MAXUINT };
    if (o->events && !(p.events = fopen(o->events, "w"))) {
        fprintf(stderr, "smmu-scenario: %s: %s\n", o->events, g_strerror(errno));
        g_free(p.reps);
        return 2;
    }
    if (o->tap) printf("1..%u\n", n);
    fflush(stdout);
    gint64 t0 = g_get_monotonic_time();
    unsigned jobs = o->jobs >= 1 && o->jobs <= PLAY_POOL_MAX_JOBS ? o->jobs : 1;
    pthread_t threads[PLAY_POOL_MAX_JOBS];
    for (unsigned j = 0; j < jobs; j++) pthread_create(&threads[j], NULL, worker, &p);
    for (unsigned j = 0; j < jobs; j++) pthread_join(threads[j], NULL);
    res->seconds = (double)(g_get_monotonic_time() - t0) / 1e6;
    res->first_failed = p.first_failed;

    g_autoptr(GPtrArray) reps = g_ptr_array_new_with_free_func((GDestroyNotify)report_scenario_free);
    for (guint i = 0; i < n; i++) {
        if (!p.reps[i]) continue; /* not played: stopped */
        g_ptr_array_add(reps, p.reps[i]);
        if (p.reps[i]->status == RS_PASS) res->passed++;
        else res->failed++;
    }
    g_free(p.reps);
    g_ptr_array_sort(reps, by_report); /* reports read by name, whatever the order of play */
    int status = write_reports(o, reps) ? 2 : res->failed ? 1 : 0;
    if (p.events) {
        fprintf(p.events, "{\"event\":\"summary\",\"passed\":%u,\"failed\":%u,\"seconds\":%.3f,\"seed\":%llu}\n",
                res->passed, res->failed, res->seconds, (unsigned long long)o->seed);
        fclose(p.events);
    }
    return status;
}
