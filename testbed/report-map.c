/* The HTML report's memory map: per scenario and board, host-physical RAM
 * on a broken axis with the table pool, the granted regions in lanes, every
 * DMA as allowed or blocked and the faults, and its legend. It draws with
 * report-svg.c's axis, markers and region colours, as the pass-through
 * picture (report-abc.c) does. */
#include "report-map.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "report-internal.h"
#include "report-svg.h"
#include "report-text.h"

/* ------------------------------------------------------------------------ */
/* Memory map: the axis */

/* The map's own limits: lanes of regions, and DMAs few enough to draw
 * guide lines for. */
#define MAX_LANES 24u
#define MAX_GUIDES 150u

/* A VM's guest RAM holds gpa (its A, guest-physical). */
static bool in_vm_ram(const ReportScenario *s, const char *vm, uint64_t gpa)
{
    for (guint i = 0; i < rp_len_of(s->vm_ram); i++) {
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
    for (guint i = 0; i < rp_len_of(s->passes); i++) {
        const ReportPass *p = &g_array_index(s->passes, ReportPass, i);
        if (strncmp(p->host_dev, f->device, sizeof p->host_dev) == 0 && in_vm_ram(s, p->vm, f->addr)) return false;
    }
    return true;
}

static guint faults_on_map(const ReportScenario *s)
{
    guint n = 0;
    for (guint i = 0; i < rp_len_of(s->faults); i++) n += fault_on_map(s, &g_array_index(s->faults, ReportFault, i));
    return n;
}

static bool recorded_extent(const ReportScenario *s, uint64_t *lo, uint64_t *hi)
{
    bool any = false;
    uint64_t l = UINT64_MAX, h = 0;
#define SEE(a, e) do { l = MIN(l, (a)); h = MAX(h, (e)); any = true; } while (0)
    if (s->pool_size) SEE(s->pool_base, rp_end_of(s->pool_base, s->pool_size));
    for (guint i = 0; i < rp_len_of(s->regions); i++) {
        const ReportRegion *r = &g_array_index(s->regions, ReportRegion, i);
        if (r->len && !r->vm) SEE(r->addr, rp_end_of(r->addr, r->len));
    }
    for (guint i = 0; i < rp_len_of(s->dmas); i++) {
        const ReportDma *d = &g_array_index(s->dmas, ReportDma, i);
        SEE(rp_dma_at(d), rp_dma_at_end(d));
    }
    for (guint i = 0; i < rp_len_of(s->faults); i++) {
        if (!fault_on_map(s, &g_array_index(s->faults, ReportFault, i))) continue;
        uint64_t a = g_array_index(s->faults, ReportFault, i).addr;
        SEE(rp_page_of(a), rp_end_of(rp_page_of(a), PAGE));
    }
#undef SEE
    *lo = l;
    *hi = h;
    return any && h > l;
}

/* Lays the axis out across the picture, with boxes at the ends for what lies
 * outside RAM; false if there is nothing to draw. notes gets <li> items for
 * the reader. */
static bool axis_build(Axis *ax, const ReportScenario *s, GString *notes)
{
    memset(ax, 0, sizeof *ax);
    ax->below_x = ax->above_x = -1;
    if (s->ram_size && rp_end_of(s->ram_base, s->ram_size) > s->ram_base) {
        ax->lo = s->ram_base;
        ax->hi = rp_end_of(s->ram_base, s->ram_size);
    } else {
        if (!recorded_extent(s, &ax->lo, &ax->hi)) return false;
        g_string_append(notes, "<li>RAM size unknown: the axis spans the recorded addresses only.</li>\n");
    }

    Collect c;
    rp_collect_init(&c, ax->lo, ax->hi);
    if (s->pool_size) rp_take(&c, s->pool_base, rp_end_of(s->pool_base, s->pool_size), false);
    for (guint i = 0; i < rp_len_of(s->regions); i++) {
        const ReportRegion *r = &g_array_index(s->regions, ReportRegion, i);
        if (r->len && !r->vm) rp_take(&c, r->addr, rp_end_of(r->addr, r->len), false); /* a guest's: guest-physical */
    }
    for (guint i = 0; i < rp_len_of(s->dmas); i++) {
        const ReportDma *d = &g_array_index(s->dmas, ReportDma, i);
        rp_take(&c, rp_dma_at(d), rp_dma_at_end(d), true);
    }
    for (guint i = 0; i < rp_len_of(s->faults); i++)
        if (fault_on_map(s, &g_array_index(s->faults, ReportFault, i))) rp_take_fault(&c, g_array_index(s->faults, ReportFault, i).addr);
    return rp_axis_layout(ax, &c, s->pool_base, s->pool_size, "RAM", notes);
}

/* ------------------------------------------------------------------------ */
/* Memory map: markers */

static const char *const dma_row_name[4] = { "write allowed", "write blocked", "read allowed", "read blocked" };
static unsigned dma_row(const ReportDma *d) { return (d->write ? 0 : 2) + (d->went_through ? 0 : 1); }

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
            lo = MIN(lo, d->addr), hi = MAX(hi, rp_dma_end(d));
            l0 = MIN(l0, d->line), l1 = MAX(l1, d->line);
        }
        g_string_append_printf(tip, "0x%" PRIx64 " to 0x%" PRIx64 ", scenario lines %u to %u\nfirst: ", lo, hi, l0, l1);
    }
    unsigned listed = 0;
    for (guint j = b; j < e; j++) {
        const ReportDma *d = &g_array_index(s->dmas, ReportDma, g_array_index(marks, Mark, j).i);
        if (n > MAX_TIP && j > b && !rp_unexpected(d)) continue;
        if (listed++ == MAX_TIP) {
            g_string_append(tip, "...\n");
            break;
        }
        rp_dma_text(tip, d);
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
        rp_x_range(ax, rp_dma_at(d), rp_dma_at_end(d), &m.x0, &m.x1);
        m.x = (m.x0 + m.x1) / 2;
        g_array_append_val(marks, m);
    }
    if (!marks->len) return 0;
    g_autoptr(GArray) starts = rp_groups_of(marks);
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
            bad += rp_unexpected(&g_array_index(s->dmas, ReportDma, m->i));
        }
        dma_tip(tip, s, marks, b, e, row, bad);

        g_string_append_printf(o, "<g class=\"dma %s %s%s\" data-n=\"%u\">", write ? "write" : "read",
                               through ? "allowed" : "blocked", bad ? " unexpected" : "", n);
        rp_put_title(o, tip);
        if (guides)
            g_string_append_printf(o, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#777\" stroke-opacity=\".45\" stroke-dasharray=\"1 3\"/>",
                                   rp_px(x), rp_px(cy + 8), rp_px(x), rp_px(guide_to));
        if (bad) g_string_append_printf(o, "<circle cx=\"%d\" cy=\"%d\" r=\"10\" fill=\"#ffd400\" stroke=\"#000\" stroke-width=\"1.5\"/>", rp_px(x), rp_px(cy));
        /* The DMA's extent under the glyph, inset so that neighbours stay apart. */
        if (x1 - x0 > 4) x0 += 1, x1 -= 1;
        g_string_append_printf(o, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"2\" fill=\"%s\"/>", rp_px(x0),
                               rp_px(cy + 7), MAX(1, rp_px(x1) - rp_px(x0)), fill);
        /* Writes point down into RAM, reads up out of it. */
        if (write) g_string_append_printf(o, "<path d=\"M%d %dh12l-6 10z\"", rp_px(x) - 6, rp_px(cy) - 5);
        else g_string_append_printf(o, "<path d=\"M%d %dh12l-6 -10z\"", rp_px(x) - 6, rp_px(cy) + 5);
        g_string_append_printf(o, " fill=\"%s\" stroke=\"%s\" stroke-width=\"%s\"/>", fill, bad ? "#000" : "#fff",
                               bad ? "2" : "0.8");
        if (n > 1) {
            /* The count only where it does not run into the next marker. */
            double next = g + 2 < starts->len ? g_array_index(marks, Mark, e).x : MAP_W;
            char cnt[16];
            int len = snprintf(cnt, sizeof cnt, "\xc3\x97%u", n);
            if (next - x >= 8 + (len - 1) * 6.0)
                g_string_append_printf(o, "<text x=\"%d\" y=\"%d\" font-size=\"10\" fill=\"#333\">%s</text>", rp_px(x) + 8,
                                       rp_px(cy) + 4, cnt);
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
        if (f->addr < ax->lo || f->addr >= ax->hi) rp_x_range(ax, f->addr, rp_end_of(f->addr, 1), &m.x0, &m.x1);
        else m.x0 = m.x1 = rp_x_of(ax, f->addr);
        m.x = m.x0;
        g_array_append_val(marks, m);
    }
    if (!marks->len) return 0;
    g_autoptr(GArray) starts = rp_groups_of(marks);
    g_autoptr(GString) tip = g_string_new(NULL);
    unsigned drawn = 0;
    for (guint g = 0; g + 1 < starts->len; g++) {
        guint b = g_array_index(starts, guint, g), e = g_array_index(starts, guint, g + 1), n = e - b;
        double x = 0;
        for (guint j = b; j < e; j++) x += g_array_index(marks, Mark, j).x / n;
        g_string_truncate(tip, 0);
        if (n > 1) g_string_append_printf(tip, "%u faults here:\n", n);
        for (guint j = b; j < e && j - b < MAX_TIP; j++) {
            rp_fault_text(tip, &g_array_index(s->faults, ReportFault, g_array_index(marks, Mark, j).i));
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
        rp_put_title(o, tip);
        g_string_append_printf(o, "<path d=\"M%d %dl10 10M%d %dl-10 10\" stroke=\"" C_FAULT "\" stroke-width=\"2.6\" stroke-linecap=\"round\"/>",
                               rp_px(x) - 5, rp_px(cy) - 5, rp_px(x) + 5, rp_px(cy) - 5);
        if (n > 1) {
            double next = g + 2 < starts->len ? g_array_index(marks, Mark, e).x : MAP_W;
            if (next - x >= 40)
                g_string_append_printf(o, "<text x=\"%d\" y=\"%d\" font-size=\"10\" fill=\"#333\">\xc3\x97%u</text>", rp_px(x) + 8,
                                       rp_px(cy) + 4, n);
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

static RegGeom *regions_layout(const Axis *ax, const ReportScenario *s, unsigned *nlanes, GString *notes)
{
    guint n = rp_len_of(s->regions);
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
        g->label = rp_region_label(r, i);
        if (r->vm) continue;
        guint hk = k++;
        uint64_t e = rp_end_of(r->addr, r->len);
        if (!r->len || e <= ax->lo || r->addr >= ax->hi) {
            g_string_append_printf(outside, " #%u", i + 1);
            continue;
        }
        if (r->addr < ax->lo || e > ax->hi) g_string_append_printf(clipped, " #%u", i + 1);
        g->x0 = rp_x_of(ax, MAX(r->addr, ax->lo));
        g->x1 = MAX(g->x0 + 3, rp_x_of(ax, MIN(e, ax->hi)));
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

void rp_svg_map(GString *o, const ReportScenario *s, unsigned id, GString *notes)
{
    Axis ax;
    const char *svg_open = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"mmap\" role=\"img\" font-family=\"system-ui,'DejaVu Sans',sans-serif\" font-size=\"11\"";
    if (!axis_build(&ax, s, notes)) {
        g_string_append_printf(o, "%s viewBox=\"0 0 %d 36\" width=\"%d\" height=\"36\" aria-label=\"memory map\">"
                                  "<text x=\"%d\" y=\"22\" fill=\"#777\">Nothing to draw: no RAM size and no addresses recorded.</text></svg>\n",
                               svg_open, rp_px(MAP_W), rp_px(MAP_W), rp_px(GUTTER));
        return;
    }
    bool has_row[4] = { false, false, false, false };
    for (guint i = 0; i < rp_len_of(s->dmas); i++) has_row[dma_row(&g_array_index(s->dmas, ReportDma, i))] = true;
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
    for (unsigned i = 0; i < ax.n; i++) digits = MAX(digits, (int)(rp_bits64(ax.bp[i]) + 3) / 4);
    double height = axis_y + 10 + (digits + 2) * 6.6 + 6;
    double xl = ax.x[0], xr = ax.x[ax.n - 1];

    g_string_append_printf(o, "%s viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" aria-label=\"memory map of ",
                           svg_open, rp_px(MAP_W), rp_px(height), rp_px(MAP_W), rp_px(height));
    rp_put_attr(o, s->name);
    g_string_append(o, "\">\n");
    g_string_append_printf(o, "<defs><pattern id=\"hatch%u\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">"
                              "<rect width=\"6\" height=\"6\" fill=\"#dcdcdc\"/><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#8c8c8c\" stroke-width=\"2.4\"/></pattern></defs>\n",
                           id);

    /* Background first: breaks and outside boxes run the full height. */
    for (unsigned i = 0; i + 1 < ax.n; i++) {
        if (!ax.gap[i]) continue;
        double a = ax.x[i], b = ax.x[i + 1];
        char sz[32], szc[32];
        rp_size_str(sz, sizeof sz, ax.bp[i + 1] - ax.bp[i], false);
        rp_size_str(szc, sizeof szc, ax.bp[i + 1] - ax.bp[i], true);
        g_string_append_printf(o, "<g class=\"break\"><title>not to scale: 0x%" PRIx64 " to 0x%" PRIx64 " (%s), nothing recorded there</title>",
                               ax.bp[i], ax.bp[i + 1], sz);
        g_string_append_printf(o, "<rect x=\"%d\" y=\"4\" width=\"%d\" height=\"%d\" fill=\"#f4f4f4\"/>", rp_px(a), MAX(1, rp_px(b) - rp_px(a)), rp_px(axis_y - 4));
        g_string_append_printf(o, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#fff\"/>", rp_px(a), rp_px(ram_y) - 1,
                               MAX(1, rp_px(b) - rp_px(a)), rp_px(RAM_H) + 2);
        for (int k = 0; k < 2; k++) {
            double bx = (k ? b : a) + (k ? -3 : 3);
            g_string_append_printf(o, "<path d=\"M%d %dl6 %d\" stroke=\"#555\" stroke-width=\"1.6\"/>", rp_px(bx) - 3,
                                   rp_px(ram_y + RAM_H) + 3, -(rp_px(RAM_H) + 6));
        }
        if (b - a >= strlen(szc) * 5.4 + 8)
            g_string_append_printf(o, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"9\" fill=\"#666\">%s</text>",
                                   rp_px((a + b) / 2), rp_px(ram_y + RAM_H / 2) + 3, szc);
        g_string_append(o, "</g>\n");
    }
    for (int k = 0; k < 2; k++) {
        double zx = k ? ax.above_x : ax.below_x;
        if (zx < 0) continue;
        g_string_append_printf(o, "<g class=\"outside\"><title>%s RAM: not on the axis</title>"
                                  "<rect x=\"%d\" y=\"4\" width=\"%d\" height=\"%d\" fill=\"#fbf1f1\" stroke=\"#c99\" stroke-dasharray=\"4 3\"/>"
                                  "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"10\" fill=\"#955\">%s RAM</text></g>\n",
                               k ? "above" : "below", rp_px(zx - ZONE_W / 2), rp_px(ZONE_W), rp_px(axis_y - 4), rp_px(zx),
                               rp_px(axis_y) + 14, k ? "above" : "below");
    }

    /* Row names. */
    for (unsigned r = 0; r < 4; r++)
        if (has_row[r])
            g_string_append_printf(o, "<text x=\"6\" y=\"%d\" fill=\"#444\">DMA %s</text>\n", rp_px(row_y[r]) + 4, dma_row_name[r]);
    if (map_faults) g_string_append_printf(o, "<text x=\"6\" y=\"%d\" fill=\"#444\">faults</text>\n", rp_px(fault_y) + 4);
    g_string_append_printf(o, "<text x=\"6\" y=\"%d\" fill=\"#444\" font-weight=\"bold\">RAM</text>\n", rp_px(ram_y + RAM_H / 2) + 4);
    if (nlanes) g_string_append_printf(o, "<text x=\"6\" y=\"%d\" fill=\"#444\">grants</text>\n", rp_px(lane_y + LANE_H / 2) + 4);

    /* RAM: the pieces between breaks. */
    for (unsigned i = 0; i + 1 < ax.n; i++) {
        if (ax.gap[i]) continue;
        unsigned j = i;
        while (j + 1 < ax.n && !ax.gap[j]) j++;
        g_string_append_printf(o, "<rect class=\"ram\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#f3eee2\" stroke=\"#9b917a\"/>\n",
                               rp_px(ax.x[i]), rp_px(ram_y), MAX(1, rp_px(ax.x[j]) - rp_px(ax.x[i])), rp_px(RAM_H));
        i = j - 1;
    }
    if (s->pool_size) {
        uint64_t pe = rp_end_of(s->pool_base, s->pool_size);
        char sz[32];
        rp_size_str(sz, sizeof sz, s->pool_size, false);
        if (pe <= ax.lo || s->pool_base >= ax.hi) {
            g_string_append(notes, "<li>The table pool lies outside RAM and is not drawn.</li>\n");
        } else {
            if (s->pool_base < ax.lo || pe > ax.hi) g_string_append(notes, "<li>The table pool reaches outside RAM and is clipped.</li>\n");
            double a = rp_x_of(&ax, MAX(s->pool_base, ax.lo)), b = MAX(a + 3, rp_x_of(&ax, MIN(pe, ax.hi)));
            g_string_append_printf(o, "<g class=\"pool\"><title>table pool 0x%" PRIx64 " to 0x%" PRIx64 " (%s)</title>"
                                      "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"url(#hatch%u)\" stroke=\"#555\"/>"
                                      "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"10\" font-weight=\"bold\" fill=\"#222\" "
                                      "stroke=\"#fff\" stroke-width=\"3\" paint-order=\"stroke\">table pool</text></g>\n",
                                   s->pool_base, pe, sz, rp_px(a), rp_px(ram_y), MAX(1, rp_px(b) - rp_px(a)), rp_px(RAM_H), id,
                                   rp_px((a + b) / 2), rp_px(ram_y + RAM_H / 2) + 4);
        }
    }

    /* Grants. */
    g_autoptr(GString) tip = g_string_new(NULL);
    for (guint i = 0; i < rp_len_of(s->regions); i++) {
        const ReportRegion *r = &g_array_index(s->regions, ReportRegion, i);
        const RegGeom *g = &rg[i];
        if (g->lane < 0) continue;
        const char *cls = rp_perm_class(r);
        double ly = lane_y + g->lane * LANE_H;
        char sz[32];
        rp_size_str(sz, sizeof sz, r->len, false);
        g_string_truncate(tip, 0);
        g_string_append_printf(tip, "%s\n0x%" PRIx64 " to 0x%" PRIx64 " (%s)%s", g->label, r->addr, rp_end_of(r->addr, r->len),
                               sz, r->removed ? "\nthe grant of this range ends here" : "");
        g_string_append_printf(o, "<g class=\"region %s\">", cls);
        rp_put_title(o, tip);
        if (r->removed) {
            g_string_append_printf(o, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"14\" fill=\"#fff\" fill-opacity=\".7\" stroke=\"#444\" stroke-width=\"1.4\" stroke-dasharray=\"4 2\"/>"
                                      "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#444\" stroke-width=\"1.4\"/>",
                                   rp_px(g->x0), rp_px(ly) + 3, MAX(1, rp_px(g->x1) - rp_px(g->x0)), rp_px(g->x0), rp_px(ly) + 10, rp_px(g->x1), rp_px(ly) + 10);
        } else {
            g_string_append_printf(o, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"14\" rx=\"2\" fill=\"%s\" stroke=\"#000\" stroke-opacity=\".3\"/>",
                                   rp_px(g->x0), rp_px(ly) + 3, MAX(1, rp_px(g->x1) - rp_px(g->x0)), rp_perm_fill(cls));
        }
        /* White on the dark fills, dark on amber, grey and white ground. */
        bool dark_text = g->anchor != 0 || r->removed || !strcmp(cls, "w") || !strcmp(cls, "none");
        g_string_append_printf(o, "<text x=\"%d\" y=\"%d\"%s fill=\"%s\"%s>", rp_px(g->tx), rp_px(ly) + 14,
                               g->anchor == 2 ? " text-anchor=\"end\"" : "", dark_text ? "#1d1d1f" : "#fff",
                               g->anchor != 0 ? " stroke=\"#fff\" stroke-width=\"3\" paint-order=\"stroke\"" : "");
        rp_put_esc(o, g->label);
        g_string_append(o, "</text></g>\n");
    }

    /* Faults and DMAs over everything else. */
    if (map_faults) fault_row_draw(o, &ax, s, fault_y);
    unsigned markers = 0;
    bool guides = rp_len_of(s->dmas) <= MAX_GUIDES;
    for (unsigned r = 0; r < 4; r++)
        if (has_row[r]) markers += dma_row_draw(o, &ax, s, r, row_y[r], axis_y, guides);
    if (markers && markers < rp_len_of(s->dmas))
        g_string_append_printf(notes, "<li>%u DMAs are drawn as %u markers: those at the same or nearby addresses share one "
                                      "(\xc3\x97" "count; hover for the details, or see the table).</li>\n",
                               rp_len_of(s->dmas), markers);

    /* The axis: a tick at every breakpoint, a label where there is room. */
    g_string_append_printf(o, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#333\"/>\n", rp_px(xl), rp_px(axis_y), rp_px(xr), rp_px(axis_y));
    double last = -1e9;
    for (unsigned i = 0; i < ax.n; i++) {
        double x = ax.x[i];
        g_string_append_printf(o, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#333\"/>", rp_px(x), rp_px(axis_y), rp_px(x), rp_px(axis_y) + 5);
        /* The last one always, it says where RAM ends: keep room for it. */
        if (i + 1 == ax.n || (x - last >= LABEL_STEP && xr - x >= LABEL_STEP)) {
            rp_put_hex_label(o, x, axis_y + 8, ax.bp[i]);
            last = x;
        }
    }
    g_string_append(o, "</svg>\n");
    for (guint i = 0; i < rp_len_of(s->regions); i++) g_free(rg[i].label);
    g_free(rg);
    rp_axis_free(&ax);
}

/* The map's key, under each map. */
void rp_legend(GString *o)
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
