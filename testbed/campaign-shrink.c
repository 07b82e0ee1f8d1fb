/* Shrinking a failing case (campaign.h): fewer steps, fewer clients,
 * narrower ranges, as long as it still fails the same way. Each candidate
 * is a case, rendered again with its expectations re-derived from a fresh
 * model by the caller's play(): a step whose object went with a dropped
 * step is simply left out, never played with a stale expectation.
 *
 * Steps go first, in halves, quarters, ... down to single steps (the
 * delta-debugging idea), after cutting everything behind the failing step.
 * Every play is counted against max_plays: a shrink costs a bounded time. */
#include "campaign.h"

typedef struct {
    CgCase *c;
    unsigned plays, max;
    CgPlay play;
    void *ctx;
} Shrink;

/* Plays cand; when it still fails, it becomes the case (cut after the
 * step that failed) and true is returned; else cand is dropped. */
static bool try(Shrink *s, CgCase *cand)
{
    unsigned fs = 0;
    if (s->plays >= s->max) {
        cg_case_clear(cand);
        return false;
    }
    s->plays++;
    if (!s->play(s->ctx, cand, &fs)) {
        cg_case_clear(cand);
        return false;
    }
    if (fs && fs < cand->steps->len) g_array_set_size(cand->steps, fs);
    cg_case_clear(s->c);
    *s->c = *cand;
    return true;
}

static void drop_steps(Shrink *s)
{
    for (guint chunk = s->c->steps->len / 2; chunk >= 1; chunk /= 2) {
        for (guint start = 0; start < s->c->steps->len && s->plays < s->max;) {
            CgCase cand;
            cg_case_copy(&cand, s->c);
            guint n = start + chunk <= cand.steps->len ? chunk : cand.steps->len - start;
            g_array_remove_range(cand.steps, start, n);
            if (!try(s, &cand)) start += chunk; /* else the same start names the next steps now */
        }
        if (chunk == 1) break;
    }
}

static void drop_clients(Shrink *s)
{
    for (unsigned i = 0; i < s->c->n_clients; i++) {
        if (s->c->dropped[i]) continue;
        CgCase cand;
        cg_case_copy(&cand, s->c);
        cand.dropped[i] = true;
        try(s, &cand);
    }
    if (s->c->cfg) {
        CgCase cand;
        cg_case_copy(&cand, s->c);
        cand.cfg = false;
        try(s, &cand);
    }
}

/* A smaller length, page or byte: 4096 for a longer range, then 1. */
static bool narrower(uint64_t *len)
{
    if (*len > 4096) *len = 4096;
    else if (*len > 1) *len = 1;
    else return false;
    return true;
}

static void narrow_ranges(Shrink *s)
{
    for (guint i = 0; i < s->c->steps->len && s->plays < s->max; i++) {
        CgStep st = g_array_index(s->c->steps, CgStep, i);
        CgCase cand;
        bool changed = false;
        if ((st.kind == CG_MAP || st.kind == CG_UNMAP) && st.n > 1) st.n = 1, changed = true;
        else if (st.kind == CG_MAP || st.kind == CG_UNMAP) changed = narrower(&st.r[0].len);
        else if (st.kind == CG_STORM && st.count > 1) st.count = 1, changed = true;
        else if (st.kind == CG_DMA) changed = narrower(&st.len);
        if (!changed) continue;
        cg_case_copy(&cand, s->c);
        g_array_index(cand.steps, CgStep, i) = st;
        if (try(s, &cand)) i--; /* narrower still? */
    }
}

unsigned cg_shrink(CgCase *c, unsigned fail_step, unsigned max_plays, CgPlay play, void *ctx)
{
    Shrink s = { .c = c, .max = max_plays, .play = play, .ctx = ctx };
    if (fail_step && fail_step < c->steps->len) g_array_set_size(c->steps, fail_step);
    drop_steps(&s);
    drop_clients(&s);
    narrow_ranges(&s);
    drop_steps(&s); /* what narrowing made unnecessary */
    return s.plays;
}
