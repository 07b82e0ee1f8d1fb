/* The HTML report's memory map: per scenario and board, host-physical RAM
 * on a broken axis with the table pool, the granted regions in lanes, every
 * DMA as allowed or blocked and the faults, and its legend. Its axis,
 * markers and regions are also the pass-through picture's (report-abc.c). */
#include "report-internal.h"
#include "report-text.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Memory map: the axis */

/* Pixel sizes, in the SVG's own units (the page scales the picture); those
 * the pass-through picture draws with too are in report-internal.h. */
#define GUTTER 100.0   /* row names on the left */
#define MARGIN_R 12.0
#define MIN_SPAN 16.0  /* the narrowest span: a 4 KiB page must show next to 512 MiB */
#define MIN_READ 12.0  /* below this, neighbouring markers run together */
#define LOG_STEP 6.0   /* extra width per doubling of a span's size */
#define GAP_W 46.0     /* a skipped stretch, whatever its size */
#define POOL_MIN 76.0  /* room for "table pool" */
#define MERGE_PX 9.0   /* markers closer than a glyph's width become one */

#define MAX_BP 72u     /* breakpoints on the axis: more spans than this are unreadable */
#define MAX_LANES 24u
#define MAX_GUIDES 150u
#define PAGE UINT64_C(4096)
#define GAP_MIN (UINT64_C(64) << 10) /* an empty stretch this big is drawn as a break */

typedef struct {
    uint64_t lo, hi;
} Iv;

/* floor(log2(v)) + 1; g_bit_storage() takes a long, 32 bits on some hosts. */
unsigned bits64(uint64_t v)
{
    unsigned n = 0;
    for (; v; v >>= 1) n++;
    return n;
}

int px(double v) { return (int)(v < 0 ? v - 0.5 : v + 0.5); }

uint64_t end_of(uint64_t a, uint64_t len) { return len > UINT64_MAX - a ? UINT64_MAX : a + len; }
uint64_t dma_end(const ReportDma *d) { return end_of(d->addr, d->len ? d->len : 1); }
/* The memory map is host-physical: a pass-through engine's DMA inside its
 * VM's guest RAM is drawn where the VM backs that address (where it landed,
 * or would have); its guest-physical view is the pass-through picture's. */
uint64_t dma_at(const ReportDma *d) { return d->translated ? d->hpa : d->addr; }
uint64_t dma_at_end(const ReportDma *d) { return end_of(dma_at(d), d->len ? d->len : 1); }
static uint64_t page_of(uint64_t a) { return a & ~(PAGE - 1); }

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void outside(Collect *c, uint64_t a)
{
    unsigned side = a >= c->hi;
    if (side) c->above++;
    else c->below++;
    for (unsigned i = 0; i < c->nseen[side]; i++)
        if (c->seen[side][i] == a) return;
    if (c->nseen[side] < G_N_ELEMENTS(c->seen[side])) c->seen[side][c->nseen[side]++] = a;
    else c->more[side] = true;
}

static void put_seen(GString *notes, const Collect *c, unsigned side)
{
    unsigned n = side ? c->above : c->below;
    if (!n) return;
    g_string_append_printf(notes, "%s %u %s (", side && c->below ? "," : "", n, side ? "above" : "below");
    for (unsigned i = 0; i < c->nseen[side]; i++) g_string_append_printf(notes, "%s0x%" PRIx64, i ? ", " : "", c->seen[side][i]);
    g_string_append(notes, c->more[side] ? ", ...)" : ")");
}

void take(Collect *c, uint64_t a, uint64_t e, bool marker)
{
    if (e <= c->lo || a >= c->hi) {
        if (marker) outside(c, a);
        return;
    }
    Iv iv = { MAX(a, c->lo), MIN(e, c->hi) };
    g_array_append_val(c->pts, iv.lo);
    g_array_append_val(c->pts, iv.hi);
    g_array_append_val(c->cover, iv);
}

static void take_fault(Collect *c, uint64_t a)
{
    if (a < c->lo || a >= c->hi) {
        outside(c, a);
    } else {
        /* The faulting page is shown, not just a point between two breaks. */
        take(c, page_of(a), end_of(page_of(a), PAGE), false);
        g_array_append_val(c->pts, a);
    }
}

/* Keep breakpoints at least t apart, but keep the last one of every cluster
 * too: otherwise a cluster of DMAs swallows the empty stretch after it, which
 * then is no longer drawn as a break. */
static unsigned thin(const uint64_t *p, unsigned n, uint64_t t, uint64_t *out)
{
    unsigned k = 0;
    for (unsigned i = 0; i < n; i++) {
        bool edge = i == 0 || i + 1 == n || p[i + 1] - p[i] >= t;
        if (edge || p[i] - out[k - 1] >= t) out[k++] = p[i];
    }
    return k;
}

/* A VM's guest RAM holds gpa (its A, guest-physical). */
static bool in_vm_ram(const ReportScenario *s, const char *vm, uint64_t gpa)
{
    for (guint i = 0; i < len_of(s->vm_ram); i++) {
        const ReportVmRam *a = &g_array_index(s->vm_ram, ReportVmRam, i);
        if (strncmp(a->vm, vm, sizeof a->vm) == 0 && gpa >= a->gpa && gpa - a->gpa < a->size) return true;
    }
    return false;
}

/* On the host-physical map: the host's records, except those of a
 * pass-through device at an address inside its VM's guest RAM (a
 * guest-physical address: the pass-through picture shows its DMA). */
static bool fault_on_map(const ReportScenario *s, const ReportFault *f)
{
    if (f->seen_by[0]) return false;
    for (guint i = 0; i < len_of(s->passes); i++) {
        const ReportPass *p = &g_array_index(s->passes, ReportPass, i);
        if (strncmp(p->host_dev, f->device, sizeof p->host_dev) == 0 && in_vm_ram(s, p->vm, f->addr)) return false;
    }
    return true;
}

static guint faults_on_map(const ReportScenario *s)
{
    guint n = 0;
    for (guint i = 0; i < len_of(s->faults); i++) n += fault_on_map(s, &g_array_index(s->faults, ReportFault, i));
    return n;
}

static bool recorded_extent(const ReportScenario *s, uint64_t *lo, uint64_t *hi)
{
    bool any = false;
    uint64_t l = UINT64_MAX, h = 0;
#define SEE(a, e) do { l = MIN(l, (a)); h = MAX(h, (e)); any = true; } while (0)
    if (s->pool_size) SEE(s->pool_base, end_of(s->pool_base, s->pool_size));
    for (guint i = 0; i < len_of(s->regions); i++) {
        const ReportRegion *r = &g_array_index(s->regions, ReportRegion, i);
        if (r->len && !r->vm) SEE(r->addr, end_of(r->addr, r->len));
    }
    for (guint i = 0; i < len_of(s->dmas); i++) {
        const ReportDma *d = &g_array_index(s->dmas, ReportDma, i);
        SEE(dma_at(d), dma_at_end(d));
    }
    for (guint i = 0; i < len_of(s->faults); i++) {
        if (!fault_on_map(s, &g_array_index(s->faults, ReportFault, i))) continue;
        uint64_t a = g_array_index(s->faults, ReportFault, i).addr;
        SEE(page_of(a), end_of(page_of(a), PAGE));
    }
#undef SEE
    *lo = l;
    *hi = h;
    return any && h > l;
}

void axis_free(Axis *ax)
{
    g_free(ax->bp);
    g_free(ax->x);
    g_free(ax->gap);
}

void collect_init(Collect *c, uint64_t lo, uint64_t hi)
{
    *c = (Collect){ .lo = lo, .hi = hi, .pts = g_array_new(FALSE, FALSE, sizeof(uint64_t)),
                    .cover = g_array_new(FALSE, FALSE, sizeof(Iv)) };
    g_array_append_val(c->pts, lo);
    g_array_append_val(c->pts, hi);
}

/* Lays the axis out across the picture, with boxes at the ends for what lies
 * outside RAM; false if there is nothing to draw. notes gets <li> items for
 * the reader. */
static bool axis_build(Axis *ax, const ReportScenario *s, GString *notes)
{
    memset(ax, 0, sizeof *ax);
    ax->below_x = ax->above_x = -1;
    if (s->ram_size && end_of(s->ram_base, s->ram_size) > s->ram_base) {
        ax->lo = s->ram_base;
        ax->hi = end_of(s->ram_base, s->ram_size);
    } else {
        if (!recorded_extent(s, &ax->lo, &ax->hi)) return false;
        g_string_append(notes, "<li>RAM size unknown: the axis spans the recorded addresses only.</li>\n");
    }

    Collect c;
    collect_init(&c, ax->lo, ax->hi);
    if (s->pool_size) take(&c, s->pool_base, end_of(s->pool_base, s->pool_size), false);
    for (guint i = 0; i < len_of(s->regions); i++) {
        const ReportRegion *r = &g_array_index(s->regions, ReportRegion, i);
        if (r->len && !r->vm) take(&c, r->addr, end_of(r->addr, r->len), false); /* a guest's: guest-physical */
    }
    for (guint i = 0; i < len_of(s->dmas); i++) {
        const ReportDma *d = &g_array_index(s->dmas, ReportDma, i);
        take(&c, dma_at(d), dma_at_end(d), true);
    }
    for (guint i = 0; i < len_of(s->faults); i++)
        if (fault_on_map(s, &g_array_index(s->faults, ReportFault, i))) take_fault(&c, g_array_index(s->faults, ReportFault, i).addr);
    return axis_layout(ax, &c, s->pool_base, s->pool_size, "RAM", notes);
}

/* The axis for what c collected (ax->lo, ax->hi set): breakpoints, widths,
 * the outside boxes. A pool, if any, gets room for its name. */
bool axis_layout(Axis *ax, Collect *c_, uint64_t pool_base, uint64_t pool_size, const char *space, GString *notes)
{
    Collect c = *c_;
    uint64_t *p = (uint64_t *)(void *)c.pts->data;
    unsigned n = c.pts->len;
    qsort(p, n, sizeof *p, cmp_u64);
    unsigned u = 0;
    for (unsigned i = 0; i < n; i++)
        if (u == 0 || p[i] != p[u - 1]) p[u++] = p[i];
    ax->bp = g_new(uint64_t, u);
    uint64_t t = 0;
    while ((ax->n = thin(p, u, t, ax->bp)) > MAX_BP && t < (UINT64_C(1) << 62)) t = t ? t * 2 : PAGE;

    /* Widths: empty stretches of GAP_MIN or more are breaks, the rest grows
     * with log2 of its size in pages. */
    unsigned spans = ax->n - 1, content = 0, gaps = 0;
    double logsum = 0;
    ax->gap = g_new0(bool, spans);
    double *lg = g_new0(double, spans);
    bool any_cover = c.cover->len > 0;
    for (unsigned i = 0; i < spans; i++) {
        uint64_t a = ax->bp[i], e = ax->bp[i + 1], size = e - a;
        bool covered = false;
        for (guint k = 0; k < c.cover->len && !covered; k++) {
            const Iv *iv = &g_array_index(c.cover, Iv, k);
            covered = iv->lo < e && iv->hi > a;
        }
        /* With nothing recorded in RAM, the plain axis is the picture. */
        ax->gap[i] = any_cover && !covered && size >= GAP_MIN;
        if (ax->gap[i]) {
            gaps++;
        } else {
            content++;
            lg[i] = size > PAGE ? bits64(size / PAGE) - 1 : 0;
            logsum += lg[i];
        }
    }

    double left = GUTTER, right = MAP_W - MARGIN_R;
    if (c.below) {
        ax->below_x = left + ZONE_W / 2;
        left += ZONE_W + 14;
    }
    if (c.above) {
        ax->above_x = right - ZONE_W / 2;
        right -= ZONE_W + 14;
    }
    double avail = right - left, gap_w = GAP_W;
    if (gaps * gap_w > avail * 0.4) gap_w = avail * 0.4 / gaps;
    double avail_c = avail - gaps * gap_w, base = MIN_SPAN, step = LOG_STEP;
    if (content * base + step * logsum > avail_c) {
        /* Too many spans: give up growth before giving up legibility. */
        base = MIN_READ;
        if (content * base >= avail_c) {
            base = content ? avail_c / content : 0;
            step = 0;
        } else {
            step = MIN(LOG_STEP, logsum > 0 ? (avail_c - content * base) / logsum : 0);
        }
    }
    double total = content * base + step * logsum;
    double scale = total > 0 ? avail_c / total : 1;
    double *w = g_new(double, spans ? spans : 1);
    double in_pool = 0;
    uint64_t pool_end = end_of(pool_base, pool_size);
    for (unsigned i = 0; i < spans; i++) {
        w[i] = ax->gap[i] ? gap_w : (base + step * lg[i]) * scale;
        if (!ax->gap[i] && pool_size && ax->bp[i] >= pool_base && ax->bp[i + 1] <= pool_end) in_pool += w[i];
    }
    /* The pool is one big span next to many small ones when DMAs crowd the
     * axis; it must still have room for its name. */
    if (in_pool > 0 && in_pool < POOL_MIN && avail_c - in_pool > 2 * POOL_MIN) {
        double fp = POOL_MIN / in_pool, fo = (avail_c - POOL_MIN) / (avail_c - in_pool);
        for (unsigned i = 0; i < spans; i++)
            if (!ax->gap[i]) w[i] *= ax->bp[i] >= pool_base && ax->bp[i + 1] <= pool_end ? fp : fo;
    }
    ax->x = g_new(double, ax->n);
    ax->x[0] = left;
    for (unsigned i = 0; i < spans; i++) ax->x[i + 1] = ax->x[i] + w[i];
    ax->x[spans] = right; /* no rounding drift at the end */
    g_free(w);

    if (c.below || c.above) {
        g_string_append_printf(notes, "<li>Outside %s [0x%" PRIx64 ", 0x%" PRIx64 "), DMAs and faults:", space, ax->lo, ax->hi);
        put_seen(notes, &c, 0);
        put_seen(notes, &c, 1);
        g_string_append_printf(notes, "; they are drawn in the box%s at the %s.</li>\n", c.below && c.above ? "es" : "",
                               c.below && c.above ? "two ends" : c.below ? "left end" : "right end");
    }
    g_free(lg);
    g_array_unref(c.pts);
    g_array_unref(c.cover);
    return true;
}

static double x_of(const Axis *ax, uint64_t a)
{
    if (a <= ax->lo) return ax->x[0];
    if (a >= ax->hi) return ax->x[ax->n - 1];
    unsigned l = 0, r = ax->n - 1; /* bp[l] <= a < bp[r] */
    while (r - l > 1) {
        unsigned m = l + (r - l) / 2;
        if (ax->bp[m] <= a) l = m;
        else r = m;
    }
    double f = (double)(a - ax->bp[l]) / (double)(ax->bp[l + 1] - ax->bp[l]);
    return ax->x[l] + f * (ax->x[l + 1] - ax->x[l]);
}

/* x extent of [a, e); an extent wholly outside the axis collapses into its
 * outside box. */
void x_range(const Axis *ax, uint64_t a, uint64_t e, double *x0, double *x1)
{
    if (a >= ax->hi) {
        *x0 = *x1 = ax->above_x >= 0 ? ax->above_x : ax->x[ax->n - 1];
        return;
    }
    if (e <= ax->lo) {
        *x0 = *x1 = ax->below_x >= 0 ? ax->below_x : ax->x[0];
        return;
    }
    *x0 = x_of(ax, MAX(a, ax->lo));
    *x1 = x_of(ax, MIN(e, ax->hi));
}

/* ------------------------------------------------------------------------ */
/* Memory map: markers */

static int cmp_mark(const void *a, const void *b)
{
    const Mark *m = a, *k = b;
    if (m->x != k->x) return m->x < k->x ? -1 : 1;
    return m->i < k->i ? -1 : m->i > k->i;
}

/* Marks sorted by x, cut where the next is MERGE_PX or further from the
 * first of its group: one marker per group, so a storm of DMAs on one page
 * is one shape with a count, not thousands on top of each other. */
GArray *groups_of(GArray *marks)
{
    qsort(marks->data, marks->len, sizeof(Mark), cmp_mark);
    GArray *starts = g_array_new(FALSE, FALSE, sizeof(guint));
    for (guint j = 0; j < marks->len; j++)
        if (j == 0 || g_array_index(marks, Mark, j).x - g_array_index(marks, Mark, g_array_index(starts, guint, starts->len - 1)).x >= MERGE_PX)
            g_array_append_val(starts, j);
    guint end = marks->len;
    g_array_append_val(starts, end);
    return starts;
}

static const char *const dma_row_name[4] = { "write allowed", "write blocked", "read allowed", "read blocked" };
static unsigned dma_row(const ReportDma *d) { return (d->write ? 0 : 2) + (d->went_through ? 0 : 1); }

void put_title(GString *o, const GString *t)
{
    g_string_append(o, "<title>");
    put_esc(o, t->str);
    g_string_append(o, "</title>");
}

/* A marker's tooltip: every DMA if few, else the range they cover, the
 * first one and the unexpected ones (what someone hovering looks for). */
static void dma_tip(GString *tip, const ReportScenario *s, GArray *marks, guint b, guint e, unsigned row, unsigned bad)
{
    guint n = e - b;
    g_string_truncate(tip, 0);
    if (n > 1) g_string_append_printf(tip, "%u DMAs here (%s), %u unexpected\n", n, dma_row_name[row], bad);
    if (n > MAX_TIP) {
        uint64_t lo = UINT64_MAX, hi = 0;
        unsigned l0 = UINT_MAX, l1 = 0;
        for (guint j = b; j < e; j++) {
            const ReportDma *d = &g_array_index(s->dmas, ReportDma, g_array_index(marks, Mark, j).i);
            lo = MIN(lo, d->addr), hi = MAX(hi, dma_end(d));
            l0 = MIN(l0, d->line), l1 = MAX(l1, d->line);
        }
        g_string_append_printf(tip, "0x%" PRIx64 " to 0x%" PRIx64 ", scenario lines %u to %u\nfirst: ", lo, hi, l0, l1);
    }
    unsigned listed = 0;
    for (guint j = b; j < e; j++) {
        const ReportDma *d = &g_array_index(s->dmas, ReportDma, g_array_index(marks, Mark, j).i);
        if (n > MAX_TIP && j > b && !unexpected(d)) continue;
        if (listed++ == MAX_TIP) {
            g_string_append(tip, "...\n");
            break;
        }
        dma_text(tip, d);
        g_string_append_c(tip, '\n');
    }
    g_string_truncate(tip, tip->len - 1);
}

#define C_FAULT "#8e0f16"

/* One row of DMA markers; returns how many markers it drew. */
static unsigned dma_row_draw(GString *o, const Axis *ax, const ReportScenario *s, unsigned row, double cy,
                             double guide_to, bool guides)
{
    g_autoptr(GArray) marks = g_array_new(FALSE, FALSE, sizeof(Mark));
    for (guint i = 0; i < s->dmas->len; i++) {
        const ReportDma *d = &g_array_index(s->dmas, ReportDma, i);
        if (dma_row(d) != row) continue;
        Mark m = { 0, 0, 0, i };
        x_range(ax, dma_at(d), dma_at_end(d), &m.x0, &m.x1);
        m.x = (m.x0 + m.x1) / 2;
        g_array_append_val(marks, m);
    }
    if (!marks->len) return 0;
    g_autoptr(GArray) starts = groups_of(marks);
    bool write = row < 2, through = !(row & 1);
    const char *fill = through ? C_OK : C_BAD;
    g_autoptr(GString) tip = g_string_new(NULL);
    unsigned drawn = 0;
    for (guint g = 0; g + 1 < starts->len; g++) {
        guint b = g_array_index(starts, guint, g), e = g_array_index(starts, guint, g + 1), n = e - b;
        double x0 = G_MAXDOUBLE, x1 = -G_MAXDOUBLE, x = 0;
        unsigned bad = 0;
        for (guint j = b; j < e; j++) {
            const Mark *m = &g_array_index(marks, Mark, j);
            x0 = MIN(x0, m->x0);
            x1 = MAX(x1, m->x1);
            x += m->x / n;
            bad += unexpected(&g_array_index(s->dmas, ReportDma, m->i));
        }
        dma_tip(tip, s, marks, b, e, row, bad);

        g_string_append_printf(o, "<g class=\"dma %s %s%s\" data-n=\"%u\">", write ? "write" : "read",
                               through ? "allowed" : "blocked", bad ? " unexpected" : "", n);
        put_title(o, tip);
        if (guides)
            g_string_append_printf(o, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#777\" stroke-opacity=\".45\" stroke-dasharray=\"1 3\"/>",
                                   px(x), px(cy + 8), px(x), px(guide_to));
        if (bad) g_string_append_printf(o, "<circle cx=\"%d\" cy=\"%d\" r=\"10\" fill=\"#ffd400\" stroke=\"#000\" stroke-width=\"1.5\"/>", px(x), px(cy));
        /* The DMA's extent under the glyph, inset so that neighbours stay apart. */
        if (x1 - x0 > 4) x0 += 1, x1 -= 1;
        g_string_append_printf(o, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"2\" fill=\"%s\"/>", px(x0),
                               px(cy + 7), MAX(1, px(x1) - px(x0)), fill);
        /* Writes point down into RAM, reads up out of it. */
        if (write) g_string_append_printf(o, "<path d=\"M%d %dh12l-6 10z\"", px(x) - 6, px(cy) - 5);
        else g_string_append_printf(o, "<path d=\"M%d %dh12l-6 -10z\"", px(x) - 6, px(cy) + 5);
        g_string_append_printf(o, " fill=\"%s\" stroke=\"%s\" stroke-width=\"%s\"/>", fill, bad ? "#000" : "#fff",
                               bad ? "2" : "0.8");
        if (n > 1) {
            /* The count only where it does not run into the next marker. */
            double next = g + 2 < starts->len ? g_array_index(marks, Mark, e).x : MAP_W;
            char cnt[16];
            int len = snprintf(cnt, sizeof cnt, "\xc3\x97%u", n);
            if (next - x >= 8 + (len - 1) * 6.0)
                g_string_append_printf(o, "<text x=\"%d\" y=\"%d\" font-size=\"10\" fill=\"#333\">%s</text>", px(x) + 8,
                                       px(cy) + 4, cnt);
        }
        g_string_append(o, "</g>\n");
        drawn++;
    }
    return drawn;
}

static unsigned fault_row_draw(GString *o, const Axis *ax, const ReportScenario *s, double cy)
{
    g_autoptr(GArray) marks = g_array_new(FALSE, FALSE, sizeof(Mark));
    for (guint i = 0; i < s->faults->len; i++) {
        const ReportFault *f = &g_array_index(s->faults, ReportFault, i);
        if (!fault_on_map(s, f)) continue;
        Mark m = { 0, 0, 0, i };
        if (f->addr < ax->lo || f->addr >= ax->hi) x_range(ax, f->addr, end_of(f->addr, 1), &m.x0, &m.x1);
        else m.x0 = m.x1 = x_of(ax, f->addr);
        m.x = m.x0;
        g_array_append_val(marks, m);
    }
    if (!marks->len) return 0;
    g_autoptr(GArray) starts = groups_of(marks);
    g_autoptr(GString) tip = g_string_new(NULL);
    unsigned drawn = 0;
    for (guint g = 0; g + 1 < starts->len; g++) {
        guint b = g_array_index(starts, guint, g), e = g_array_index(starts, guint, g + 1), n = e - b;
        double x = 0;
        for (guint j = b; j < e; j++) x += g_array_index(marks, Mark, j).x / n;
        g_string_truncate(tip, 0);
        if (n > 1) g_string_append_printf(tip, "%u faults here:\n", n);
        for (guint j = b; j < e && j - b < MAX_TIP; j++) {
            fault_text(tip, &g_array_index(s->faults, ReportFault, g_array_index(marks, Mark, j).i));
            g_string_append_c(tip, '\n');
        }
        if (n > MAX_TIP) {
            uint64_t lo = UINT64_MAX, hi = 0;
            for (guint j = b; j < e; j++) {
                uint64_t a = g_array_index(s->faults, ReportFault, g_array_index(marks, Mark, j).i).addr;
                lo = MIN(lo, a), hi = MAX(hi, a);
            }
            g_string_append_printf(tip, "... and %u more, in all from 0x%" PRIx64 " to 0x%" PRIx64 "\n", n - MAX_TIP, lo, hi);
        }
        g_string_truncate(tip, tip->len - 1);
        g_string_append_printf(o, "<g class=\"fault\" data-n=\"%u\">", n);
        put_title(o, tip);
        g_string_append_printf(o, "<path d=\"M%d %dl10 10M%d %dl-10 10\" stroke=\"" C_FAULT "\" stroke-width=\"2.6\" stroke-linecap=\"round\"/>",
                               px(x) - 5, px(cy) - 5, px(x) + 5, px(cy) - 5);
        if (n > 1) {
            double next = g + 2 < starts->len ? g_array_index(marks, Mark, e).x : MAP_W;
            if (next - x >= 40)
                g_string_append_printf(o, "<text x=\"%d\" y=\"%d\" font-size=\"10\" fill=\"#333\">\xc3\x97%u</text>", px(x) + 8,
                                       px(cy) + 4, n);
        }
        g_string_append(o, "</g>\n");
        drawn++;
    }
    return drawn;
}

/* ------------------------------------------------------------------------ */
/* Memory map: regions */

typedef struct {
    double x0, x1;  /* the bar */
    double tx;      /* label position */
    int anchor;     /* 0: inside from x0, 1: right of the bar, 2: left of it (text ends at tx) */
    int lane;       /* -1: not drawn */
    char *label;
} RegGeom;

const char *perm_class(const ReportRegion *r)
{
    if (r->removed) return "removed";
    if (strncmp(r->perms, "rw", sizeof r->perms) == 0) return "rw";
    if (strncmp(r->perms, "r", sizeof r->perms) == 0) return "r";
    if (strncmp(r->perms, "w", sizeof r->perms) == 0) return "w";
    return "none";
}

const char *perm_fill(const char *cls)
{
    if (!strcmp(cls, "r")) return "#3b78d8";
    if (!strcmp(cls, "w")) return "#e39a1c";
    if (!strcmp(cls, "rw")) return "#7b4fc9";
    if (!strcmp(cls, "removed")) return "#ffffff";
    return "#9a9a9a";
}

char *region_label(const ReportRegion *r, guint i)
{
    GString *t = g_string_new(NULL);
    g_string_append_printf(t, "#%u ", i + 1);
    if (r->removed) g_string_append(t, "unmap ");
    g_string_append_printf(t, "%s obj %u", str(r->client), r->object);
    if (!r->removed) g_string_append_printf(t, " %.*s", FX(r->perms));
    if (r->has_target) g_string_append_printf(t, " \xe2\x86\x92 target 0x%" PRIx64, r->target);
    return g_string_free(t, FALSE);
}

static RegGeom *regions_layout(const Axis *ax, const ReportScenario *s, unsigned *nlanes, GString *notes)
{
    guint n = len_of(s->regions);
    RegGeom *rg = g_new0(RegGeom, n ? n : 1);
    double lane_end[MAX_LANES] = { 0 };
    unsigned lanes = 0, undrawn = 0;
    g_autoptr(GString) clipped = g_string_new(NULL), outside = g_string_new(NULL);
    double right = MAP_W - 4;
    guint host_n = 0, k = 0; /* a guest's regions (B) are guest-physical: the pass-through picture's */
    for (guint i = 0; i < n; i++) host_n += !g_array_index(s->regions, ReportRegion, i).vm;
    for (guint i = 0; i < n; i++) {
        const ReportRegion *r = &g_array_index(s->regions, ReportRegion, i);
        RegGeom *g = &rg[i];
        g->lane = -1;
        g->label = region_label(r, i);
        if (r->vm) continue;
        guint hk = k++;
        uint64_t e = end_of(r->addr, r->len);
        if (!r->len || e <= ax->lo || r->addr >= ax->hi) {
            g_string_append_printf(outside, " #%u", i + 1);
            continue;
        }
        if (r->addr < ax->lo || e > ax->hi) g_string_append_printf(clipped, " #%u", i + 1);
        g->x0 = x_of(ax, MAX(r->addr, ax->lo));
        g->x1 = MAX(g->x0 + 3, x_of(ax, MIN(e, ax->hi)));
        double lw = g_utf8_strlen(g->label, -1) * CHAR_W;
        double lx0, lx1;
        if (!r->removed && g->x1 - g->x0 >= lw + 8) {
            g->anchor = 0;
            g->tx = g->x0 + 4;
            lx0 = g->x0, lx1 = g->x1;
        } else if (g->x1 + 4 + lw <= right || g->x0 - 4 - lw < GUTTER) {
            g->anchor = 1;
            g->tx = g->x1 + 4;
            lx0 = g->x0, lx1 = g->tx + lw;
        } else {
            g->anchor = 2;
            g->tx = g->x0 - 4;
            lx0 = g->tx - lw, lx1 = g->x1;
        }
        if (host_n <= ALL_LANES) {
            g->lane = (int)hk; /* read top to bottom, the lanes are the scenario's order */
            lanes = hk + 1;
            continue;
        }
        unsigned l = 0;
        while (l < lanes && lane_end[l] + 6 > lx0) l++;
        if (l == lanes && lanes < MAX_LANES) lanes++;
        if (l < lanes) {
            g->lane = (int)l;
            lane_end[l] = lx1;
        } else {
            undrawn++;
        }
    }
    if (host_n <= ALL_LANES) lanes = host_n; /* keep wholly-outside ones as empty lanes: the numbering stays */
    *nlanes = lanes;
    if (clipped->len)
        g_string_append_printf(notes, "<li>Region(s)%s reach outside RAM and are clipped at its edge.</li>\n", clipped->str);
    if (outside->len)
        g_string_append_printf(notes, "<li>Region(s)%s lie wholly outside RAM (or are empty) and are not drawn; see the table.</li>\n",
                               outside->str);
    if (undrawn)
        g_string_append_printf(notes, "<li>%u region(s) found no room in the picture; see the table.</li>\n", undrawn);
    return rg;
}

/* ------------------------------------------------------------------------ */
/* Memory map: the picture */

void put_hex_label(GString *o, double x, double y, uint64_t a)
{
    g_string_append_printf(o, "<text x=\"%d\" y=\"%d\" transform=\"rotate(-90 %d %d)\" text-anchor=\"end\" class=\"addr\">0x%" PRIx64 "</text>\n",
                           px(x) + 4, px(y), px(x) + 4, px(y), a);
}

void svg_map(GString *o, const ReportScenario *s, unsigned id, GString *notes)
{
    Axis ax;
    const char *svg_open = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"mmap\" role=\"img\" font-family=\"system-ui,'DejaVu Sans',sans-serif\" font-size=\"11\"";
    if (!axis_build(&ax, s, notes)) {
        g_string_append_printf(o, "%s viewBox=\"0 0 %d 36\" width=\"%d\" height=\"36\" aria-label=\"memory map\">"
                                  "<text x=\"%d\" y=\"22\" fill=\"#777\">Nothing to draw: no RAM size and no addresses recorded.</text></svg>\n",
                               svg_open, px(MAP_W), px(MAP_W), px(GUTTER));
        return;
    }
    bool has_row[4] = { false, false, false, false };
    for (guint i = 0; i < len_of(s->dmas); i++) has_row[dma_row(&g_array_index(s->dmas, ReportDma, i))] = true;
    unsigned nlanes = 0;
    RegGeom *rg = regions_layout(&ax, s, &nlanes, notes);

    /* Vertical layout, top to bottom: DMA rows, faults, RAM, region lanes, axis. */
    double y = 8, row_y[4] = { 0, 0, 0, 0 }, fault_y = 0;
    for (unsigned r = 0; r < 4; r++)
        if (has_row[r]) {
            row_y[r] = y + ROW_H / 2;
            y += ROW_H;
        }
    guint map_faults = faults_on_map(s);
    if (map_faults) {
        fault_y = y + ROW_H / 2;
        y += ROW_H;
    }
    double ram_y = y + 4;
    double lane_y = ram_y + RAM_H + 6;
    double axis_y = lane_y + nlanes * LANE_H + 4;
    int digits = 1;
    for (unsigned i = 0; i < ax.n; i++) digits = MAX(digits, (int)(bits64(ax.bp[i]) + 3) / 4);
    double height = axis_y + 10 + (digits + 2) * 6.6 + 6;
    double xl = ax.x[0], xr = ax.x[ax.n - 1];

    g_string_append_printf(o, "%s viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" aria-label=\"memory map of ",
                           svg_open, px(MAP_W), px(height), px(MAP_W), px(height));
    put_attr(o, s->name);
    g_string_append(o, "\">\n");
    g_string_append_printf(o, "<defs><pattern id=\"hatch%u\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">"
                              "<rect width=\"6\" height=\"6\" fill=\"#dcdcdc\"/><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#8c8c8c\" stroke-width=\"2.4\"/></pattern></defs>\n",
                           id);

    /* Background first: breaks and outside boxes run the full height. */
    for (unsigned i = 0; i + 1 < ax.n; i++) {
        if (!ax.gap[i]) continue;
        double a = ax.x[i], b = ax.x[i + 1];
        char sz[32], szc[32];
        size_str(sz, sizeof sz, ax.bp[i + 1] - ax.bp[i], false);
        size_str(szc, sizeof szc, ax.bp[i + 1] - ax.bp[i], true);
        g_string_append_printf(o, "<g class=\"break\"><title>not to scale: 0x%" PRIx64 " to 0x%" PRIx64 " (%s), nothing recorded there</title>",
                               ax.bp[i], ax.bp[i + 1], sz);
        g_string_append_printf(o, "<rect x=\"%d\" y=\"4\" width=\"%d\" height=\"%d\" fill=\"#f4f4f4\"/>", px(a), MAX(1, px(b) - px(a)), px(axis_y - 4));
        g_string_append_printf(o, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#fff\"/>", px(a), px(ram_y) - 1,
                               MAX(1, px(b) - px(a)), px(RAM_H) + 2);
        for (int k = 0; k < 2; k++) {
            double bx = (k ? b : a) + (k ? -3 : 3);
            g_string_append_printf(o, "<path d=\"M%d %dl6 %d\" stroke=\"#555\" stroke-width=\"1.6\"/>", px(bx) - 3,
                                   px(ram_y + RAM_H) + 3, -(px(RAM_H) + 6));
        }
        if (b - a >= strlen(szc) * 5.4 + 8)
            g_string_append_printf(o, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"9\" fill=\"#666\">%s</text>",
                                   px((a + b) / 2), px(ram_y + RAM_H / 2) + 3, szc);
        g_string_append(o, "</g>\n");
    }
    for (int k = 0; k < 2; k++) {
        double zx = k ? ax.above_x : ax.below_x;
        if (zx < 0) continue;
        g_string_append_printf(o, "<g class=\"outside\"><title>%s RAM: not on the axis</title>"
                                  "<rect x=\"%d\" y=\"4\" width=\"%d\" height=\"%d\" fill=\"#fbf1f1\" stroke=\"#c99\" stroke-dasharray=\"4 3\"/>"
                                  "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"10\" fill=\"#955\">%s RAM</text></g>\n",
                               k ? "above" : "below", px(zx - ZONE_W / 2), px(ZONE_W), px(axis_y - 4), px(zx),
                               px(axis_y) + 14, k ? "above" : "below");
    }

    /* Row names. */
    for (unsigned r = 0; r < 4; r++)
        if (has_row[r])
            g_string_append_printf(o, "<text x=\"6\" y=\"%d\" fill=\"#444\">DMA %s</text>\n", px(row_y[r]) + 4, dma_row_name[r]);
    if (map_faults) g_string_append_printf(o, "<text x=\"6\" y=\"%d\" fill=\"#444\">faults</text>\n", px(fault_y) + 4);
    g_string_append_printf(o, "<text x=\"6\" y=\"%d\" fill=\"#444\" font-weight=\"bold\">RAM</text>\n", px(ram_y + RAM_H / 2) + 4);
    if (nlanes) g_string_append_printf(o, "<text x=\"6\" y=\"%d\" fill=\"#444\">grants</text>\n", px(lane_y + LANE_H / 2) + 4);

    /* RAM: the pieces between breaks. */
    for (unsigned i = 0; i + 1 < ax.n; i++) {
        if (ax.gap[i]) continue;
        unsigned j = i;
        while (j + 1 < ax.n && !ax.gap[j]) j++;
        g_string_append_printf(o, "<rect class=\"ram\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#f3eee2\" stroke=\"#9b917a\"/>\n",
                               px(ax.x[i]), px(ram_y), MAX(1, px(ax.x[j]) - px(ax.x[i])), px(RAM_H));
        i = j - 1;
    }
    if (s->pool_size) {
        uint64_t pe = end_of(s->pool_base, s->pool_size);
        char sz[32];
        size_str(sz, sizeof sz, s->pool_size, false);
        if (pe <= ax.lo || s->pool_base >= ax.hi) {
            g_string_append(notes, "<li>The table pool lies outside RAM and is not drawn.</li>\n");
        } else {
            if (s->pool_base < ax.lo || pe > ax.hi) g_string_append(notes, "<li>The table pool reaches outside RAM and is clipped.</li>\n");
            double a = x_of(&ax, MAX(s->pool_base, ax.lo)), b = MAX(a + 3, x_of(&ax, MIN(pe, ax.hi)));
            g_string_append_printf(o, "<g class=\"pool\"><title>table pool 0x%" PRIx64 " to 0x%" PRIx64 " (%s)</title>"
                                      "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"url(#hatch%u)\" stroke=\"#555\"/>"
                                      "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"10\" font-weight=\"bold\" fill=\"#222\" "
                                      "stroke=\"#fff\" stroke-width=\"3\" paint-order=\"stroke\">table pool</text></g>\n",
                                   s->pool_base, pe, sz, px(a), px(ram_y), MAX(1, px(b) - px(a)), px(RAM_H), id,
                                   px((a + b) / 2), px(ram_y + RAM_H / 2) + 4);
        }
    }

    /* Grants. */
    g_autoptr(GString) tip = g_string_new(NULL);
    for (guint i = 0; i < len_of(s->regions); i++) {
        const ReportRegion *r = &g_array_index(s->regions, ReportRegion, i);
        const RegGeom *g = &rg[i];
        if (g->lane < 0) continue;
        const char *cls = perm_class(r);
        double ly = lane_y + g->lane * LANE_H;
        char sz[32];
        size_str(sz, sizeof sz, r->len, false);
        g_string_truncate(tip, 0);
        g_string_append_printf(tip, "%s\n0x%" PRIx64 " to 0x%" PRIx64 " (%s)%s", g->label, r->addr, end_of(r->addr, r->len),
                               sz, r->removed ? "\nthe grant of this range ends here" : "");
        g_string_append_printf(o, "<g class=\"region %s\">", cls);
        put_title(o, tip);
        if (r->removed) {
            g_string_append_printf(o, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"14\" fill=\"#fff\" fill-opacity=\".7\" stroke=\"#444\" stroke-width=\"1.4\" stroke-dasharray=\"4 2\"/>"
                                      "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#444\" stroke-width=\"1.4\"/>",
                                   px(g->x0), px(ly) + 3, MAX(1, px(g->x1) - px(g->x0)), px(g->x0), px(ly) + 10, px(g->x1), px(ly) + 10);
        } else {
            g_string_append_printf(o, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"14\" rx=\"2\" fill=\"%s\" stroke=\"#000\" stroke-opacity=\".3\"/>",
                                   px(g->x0), px(ly) + 3, MAX(1, px(g->x1) - px(g->x0)), perm_fill(cls));
        }
        /* White on the dark fills, dark on amber, grey and white ground. */
        bool dark_text = g->anchor != 0 || r->removed || !strcmp(cls, "w") || !strcmp(cls, "none");
        g_string_append_printf(o, "<text x=\"%d\" y=\"%d\"%s fill=\"%s\"%s>", px(g->tx), px(ly) + 14,
                               g->anchor == 2 ? " text-anchor=\"end\"" : "", dark_text ? "#1d1d1f" : "#fff",
                               g->anchor != 0 ? " stroke=\"#fff\" stroke-width=\"3\" paint-order=\"stroke\"" : "");
        put_esc(o, g->label);
        g_string_append(o, "</text></g>\n");
    }

    /* Faults and DMAs over everything else. */
    if (map_faults) fault_row_draw(o, &ax, s, fault_y);
    unsigned markers = 0;
    bool guides = len_of(s->dmas) <= MAX_GUIDES;
    for (unsigned r = 0; r < 4; r++)
        if (has_row[r]) markers += dma_row_draw(o, &ax, s, r, row_y[r], axis_y, guides);
    if (markers && markers < len_of(s->dmas))
        g_string_append_printf(notes, "<li>%u DMAs are drawn as %u markers: those at the same or nearby addresses share one "
                                      "(\xc3\x97" "count; hover for the details, or see the table).</li>\n",
                               len_of(s->dmas), markers);

    /* The axis: a tick at every breakpoint, a label where there is room. */
    g_string_append_printf(o, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#333\"/>\n", px(xl), px(axis_y), px(xr), px(axis_y));
    double last = -1e9;
    for (unsigned i = 0; i < ax.n; i++) {
        double x = ax.x[i];
        g_string_append_printf(o, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#333\"/>", px(x), px(axis_y), px(x), px(axis_y) + 5);
        /* The last one always, it says where RAM ends: keep room for it. */
        if (i + 1 == ax.n || (x - last >= LABEL_STEP && xr - x >= LABEL_STEP)) {
            put_hex_label(o, x, axis_y + 8, ax.bp[i]);
            last = x;
        }
    }
    g_string_append(o, "</svg>\n");
    for (guint i = 0; i < len_of(s->regions); i++) g_free(rg[i].label);
    g_free(rg);
    axis_free(&ax);
}

/* The map's key, under each map. */
void legend(GString *o)
{
    static const struct {
        const char *svg, *text;
    } items[] = {
        { "<path d=\"M3 2h12l-6 10z\" fill=\"" C_OK "\"/>", "device write, allowed" },
        { "<path d=\"M3 2h12l-6 10z\" fill=\"" C_BAD "\"/>", "device write, blocked" },
        { "<path d=\"M3 12h12l-6 -10z\" fill=\"" C_OK "\"/>", "device read, allowed" },
        { "<path d=\"M3 12h12l-6 -10z\" fill=\"" C_BAD "\"/>", "device read, blocked" },
        { "<circle cx=\"9\" cy=\"7\" r=\"6.5\" fill=\"#ffd400\" stroke=\"#000\"/><path d=\"M4 3h10l-5 8z\" fill=\"" C_BAD "\" stroke=\"#000\" stroke-width=\"1.5\"/>",
          "outcome not what the scenario expected" },
        { "<path d=\"M5 3l8 8M13 3l-8 8\" stroke=\"" C_FAULT "\" stroke-width=\"2.4\" stroke-linecap=\"round\"/>", "fault" },
        { "<g transform=\"rotate(45 9 7)\"><rect x=\"0\" y=\"-2\" width=\"18\" height=\"18\" fill=\"#dcdcdc\"/>"
          "<path d=\"M2 -2v18M8 -2v18M14 -2v18\" stroke=\"#8c8c8c\" stroke-width=\"2.4\"/></g>",
          "table pool" },
        { "<rect x=\"1\" y=\"2\" width=\"16\" height=\"10\" rx=\"2\" fill=\"#3b78d8\"/>", "granted r" },
        { "<rect x=\"1\" y=\"2\" width=\"16\" height=\"10\" rx=\"2\" fill=\"#e39a1c\"/>", "granted w" },
        { "<rect x=\"1\" y=\"2\" width=\"16\" height=\"10\" rx=\"2\" fill=\"#7b4fc9\"/>", "granted rw" },
        { "<rect x=\"1\" y=\"2\" width=\"16\" height=\"10\" fill=\"#fff\" stroke=\"#444\" stroke-dasharray=\"3 2\"/><path d=\"M1 9h16\" stroke=\"#444\"/>",
          "unmap: the grant ends" },
        { "<rect x=\"0\" y=\"0\" width=\"18\" height=\"14\" fill=\"#f4f4f4\"/><path d=\"M3 13l4 -12M11 13l4 -12\" stroke=\"#555\" stroke-width=\"1.6\"/>",
          "break: addresses skipped (size given)" },
    };
    g_string_append(o, "<figcaption class=\"legend\">");
    for (unsigned i = 0; i < G_N_ELEMENTS(items); i++)
        g_string_append_printf(o, "<span><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"18\" height=\"14\" viewBox=\"0 0 18 14\">%s</svg>%s</span>",
                               items[i].svg, items[i].text);
    g_string_append(o, "<span>\xc3\x97N: N events share a marker</span></figcaption>\n");
}
