/* Unit tests: the JUnit and HTML reports, the JSON event lines, and the
 * reading of smmu-client's record lines. The XML and HTML are parsed back
 * with GMarkup (the HTML page is kept well-formed XML for this), so broken
 * markup, bad escaping and wrong counts all fail here. */
#include <check.h>

#include "../../smmuman/tests/check-run.h"
#include <errno.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

#include "report.h"

#define RAM_BASE UINT64_C(0x40000000)
#define RAM_SIZE (UINT64_C(512) << 20)
#define POOL_BASE UINT64_C(0x5f000000)
#define POOL_SIZE (UINT64_C(16) << 20)

/* What a scenario file may say, and what must never reach the page raw. */
static const char nasty[] = "file.scn:7: expected <ok>, got \"err\" & 'EBUSY' </pre><script>x</script>";

/* ---- building scenarios ---- */

static ReportScenario *scn(const char *name, const char *file, const char *board, ReportStatus st, double secs)
{
    ReportScenario *r = report_scenario_new(name, file, board);
    r->status = st;
    r->seconds = secs;
    r->purpose = g_strdup("what it shows");
    r->ram_base = RAM_BASE;
    r->ram_size = RAM_SIZE;
    r->pool_base = POOL_BASE;
    r->pool_size = POOL_SIZE;
    return r;
}

static void region(ReportScenario *r, const char *client, uint64_t addr, uint64_t len, const char *perms)
{
    ReportRegion rg = { .client = g_strdup(client), .addr = addr, .len = len, .removed = perms == NULL };
    g_strlcpy(rg.perms, perms ? perms : "", sizeof rg.perms);
    g_array_append_val(r->regions, rg);
}

static void dma(ReportScenario *r, bool write, uint64_t addr, uint64_t len, bool expected, bool happened)
{
    ReportDma d = { .line = r->dmas->len + 10, .write = write, .addr = addr, .len = len, .expected_ok = expected,
                    .went_through = happened };
    g_strlcpy(d.device, "edu0", sizeof d.device);
    g_array_append_val(r->dmas, d);
}

static void fault(ReportScenario *r, uint64_t addr, bool write, const char *owner)
{
    ReportFault f = { .addr = addr, .write = write, .reason = 0x10 };
    g_strlcpy(f.device, "pci:0:4.0", sizeof f.device);
    g_strlcpy(f.owner, owner, sizeof f.owner);
    g_array_append_val(r->faults, f);
}

static void fault_named(ReportScenario *r, uint64_t addr, bool write, uint64_t reason, const char *name)
{
    ReportFault f = { .addr = addr, .write = write, .reason = reason };
    g_strlcpy(f.device, "pci:0:4.0", sizeof f.device);
    g_strlcpy(f.reason_name, name, sizeof f.reason_name);
    g_strlcpy(f.owner, "alice", sizeof f.owner);
    g_array_append_val(r->faults, f);
}

static GPtrArray *run_new(void) { return g_ptr_array_new_with_free_func((GDestroyNotify)report_scenario_free); }

/* ---- files ---- */

static char *tmp_dir;

static void setup(void)
{
    tmp_dir = g_dir_make_tmp("test-report-XXXXXX", NULL);
    ck_assert_ptr_nonnull(tmp_dir);
}

static void teardown(void)
{
    GDir *d = g_dir_open(tmp_dir, 0, NULL);
    const char *f;
    while (d && (f = g_dir_read_name(d))) {
        g_autofree char *p = g_build_filename(tmp_dir, f, NULL);
        g_unlink(p);
    }
    if (d) g_dir_close(d);
    g_rmdir(tmp_dir);
    g_clear_pointer(&tmp_dir, g_free);
}

static char *write_html(GPtrArray *run, gsize *size)
{
    g_autofree char *path = g_build_filename(tmp_dir, "r.html", NULL);
    GError *e = NULL;
    ck_assert_msg(report_write_html(path, run, "test <run> & co", &e) == 0, "%s", e ? e->message : "");
    char *text;
    ck_assert(g_file_get_contents(path, &text, size, NULL));
    return text;
}

static char *write_junit(GPtrArray *run)
{
    g_autofree char *path = g_build_filename(tmp_dir, "r.xml", NULL);
    GError *e = NULL;
    ck_assert_msg(report_write_junit(path, run, &e) == 0, "%s", e ? e->message : "");
    char *text;
    ck_assert(g_file_get_contents(path, &text, NULL, NULL));
    return text;
}

/* ---- reading back ---- */

typedef struct Node {
    char *name;
    GHashTable *attrs;
    GString *text;  /* all text inside, like textContent */
    int section;    /* index of the enclosing <section>, or -1 */
    struct Node *parent;
} Node;

typedef struct {
    GPtrArray *nodes, *open;
    int sections, cur;
} Doc;

static void node_free(gpointer p)
{
    Node *n = p;
    g_free(n->name);
    g_hash_table_unref(n->attrs);
    g_string_free(n->text, TRUE);
    g_free(n);
}

static void on_start(GMarkupParseContext *c, const char *name, const char **an, const char **av, gpointer u, GError **e)
{
    (void)c, (void)e;
    Doc *d = u;
    Node *n = g_new0(Node, 1);
    n->name = g_strdup(name);
    n->attrs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    for (unsigned i = 0; an[i]; i++) g_hash_table_insert(n->attrs, g_strdup(an[i]), g_strdup(av[i]));
    n->text = g_string_new(NULL);
    if (strcmp(name, "section") == 0) d->cur = d->sections++;
    n->section = d->cur;
    n->parent = d->open->len ? g_ptr_array_index(d->open, d->open->len - 1) : NULL;
    g_ptr_array_add(d->nodes, n);
    g_ptr_array_add(d->open, n);
}

static void on_end(GMarkupParseContext *c, const char *name, gpointer u, GError **e)
{
    (void)c, (void)e;
    Doc *d = u;
    g_ptr_array_remove_index(d->open, d->open->len - 1);
    if (strcmp(name, "section") == 0) d->cur = -1;
}

static void on_text(GMarkupParseContext *c, const char *text, gsize len, gpointer u, GError **e)
{
    (void)c, (void)e;
    Doc *d = u;
    for (guint i = 0; i < d->open->len; i++) g_string_append_len(((Node *)g_ptr_array_index(d->open, i))->text, text, len);
}

static void doc_free(Doc *d)
{
    g_ptr_array_unref(d->nodes);
    g_ptr_array_unref(d->open);
    g_free(d);
}

/* Fails the test unless text is well-formed. */
static Doc *parse(const char *text)
{
    static const GMarkupParser p = { on_start, on_end, on_text, NULL, NULL };
    Doc *d = g_new0(Doc, 1);
    d->nodes = g_ptr_array_new_with_free_func(node_free);
    d->open = g_ptr_array_new();
    d->cur = -1;
    GMarkupParseContext *c = g_markup_parse_context_new(&p, 0, d, NULL);
    GError *e = NULL;
    bool ok = g_markup_parse_context_parse(c, text, -1, &e) && g_markup_parse_context_end_parse(c, &e);
    g_markup_parse_context_free(c);
    ck_assert_msg(ok, "not well-formed: %s", e ? e->message : "");
    return d;
}

static const char *attr(const Node *n, const char *a) { return g_hash_table_lookup(n->attrs, a); }

static bool has_class(const Node *n, const char *cls)
{
    if (!cls) return true;
    const char *c = attr(n, "class");
    if (!c) return false;
    g_auto(GStrv) w = g_strsplit(c, " ", -1);
    return g_strv_contains((const char *const *)w, cls);
}

/* section -2: anywhere */
static Node *find(Doc *d, int section, const char *name, const char *cls, unsigned nth)
{
    for (guint i = 0; i < d->nodes->len; i++) {
        Node *n = g_ptr_array_index(d->nodes, i);
        if ((section == -2 || n->section == section) && strcmp(n->name, name) == 0 && has_class(n, cls) && nth-- == 0) return n;
    }
    return NULL;
}

static unsigned count(Doc *d, int section, const char *name, const char *cls)
{
    unsigned k = 0;
    while (find(d, section, name, cls, k)) k++;
    return k;
}

static unsigned count_in(Doc *d, const Node *outer, const char *name)
{
    unsigned k = 0;
    for (guint i = 0; i < d->nodes->len; i++) {
        const Node *n = g_ptr_array_index(d->nodes, i);
        if (strcmp(n->name, name) != 0) continue;
        for (const Node *p = n->parent; p; p = p->parent)
            if (p == outer) {
                k++;
                break;
            }
    }
    return k;
}

static unsigned attr_u(const Node *n, const char *a)
{
    const char *v = attr(n, a);
    ck_assert_msg(v != NULL, "<%s> has no %s", n->name, a);
    return (unsigned)g_ascii_strtoull(v, NULL, 10);
}

/* ---- JUnit ---- */

START_TEST(junit_counts_and_escaping)
{
    g_autoptr(GPtrArray) run = run_new();
    ReportScenario *a = scn("host/map-unmap", "scenarios/host/map-unmap.scn", "virt-smmuv3", RS_PASS, 1.5);
    g_ptr_array_add(a->log, g_strdup("a map 0 rw ram+0x1000 4096 => ok"));
    ReportScenario *b = scn("host/<weird> & \"name\"", "./scenarios/host/weird.scn", "virt-smmuv3", RS_FAIL, 0.25);
    /* Newlines too: an attribute must keep them, not fold them into spaces. */
    g_autofree char *two_lines = g_strdup_printf("%s\nsecond line", nasty);
    b->message = g_strdup(two_lines);
    g_ptr_array_add(b->log, g_strdup("step one\twith a tab"));
    g_ptr_array_add(b->log, g_strdup("bell \a and bad UTF-8 \xff\xfe here"));
    ReportScenario *c = scn("host/skipped", "scenarios/host/skipped.scn", "q35-vtd", RS_SKIP, 0);
    c->message = g_strdup("no IOMMU on this board");
    ReportScenario *d = scn("host/no-message", "", "q35-vtd", RS_FAIL, 2);
    g_ptr_array_add(run, a);
    g_ptr_array_add(run, b);
    g_ptr_array_add(run, c);
    g_ptr_array_add(run, d);
    g_autofree char *text = write_junit(run);
    ck_assert_ptr_null(strstr(text, "<script>"));
    ck_assert_ptr_null(strstr(text, "\a"));

    Doc *x = parse(text);
    Node *root = find(x, -2, "testsuites", NULL, 0);
    ck_assert_ptr_nonnull(root);
    ck_assert_uint_eq(attr_u(root, "tests"), 4);
    ck_assert_uint_eq(attr_u(root, "failures"), 2);
    ck_assert_uint_eq(attr_u(root, "skipped"), 1);
    ck_assert_str_eq(attr(root, "time"), "3.750");
    ck_assert_uint_eq(count(x, -2, "testsuite", NULL), 2);
    ck_assert_uint_eq(count(x, -2, "testcase", NULL), 4);
    ck_assert_uint_eq(count(x, -2, "failure", NULL), 2);
    ck_assert_uint_eq(count(x, -2, "skipped", NULL), 1);

    /* Each suite's counts are its own cases'. */
    const char *boards[] = { "virt-smmuv3", "q35-vtd" };
    unsigned tests[] = { 2, 2 }, failures[] = { 1, 1 }, skipped[] = { 0, 1 };
    for (unsigned k = 0; k < 2; k++) {
        Node *s = find(x, -2, "testsuite", NULL, k);
        ck_assert_str_eq(attr(s, "name"), boards[k]);
        ck_assert_uint_eq(attr_u(s, "tests"), tests[k]);
        ck_assert_uint_eq(attr_u(s, "failures"), failures[k]);
        ck_assert_uint_eq(attr_u(s, "skipped"), skipped[k]);
    }
    ck_assert_str_eq(attr(find(x, -2, "testsuite", NULL, 0), "time"), "1.750");

    Node *tc = find(x, -2, "testcase", NULL, 0);
    ck_assert_str_eq(attr(tc, "classname"), "scenarios.host.map-unmap");
    ck_assert_str_eq(attr(tc, "name"), "host/map-unmap");
    ck_assert_str_eq(attr(tc, "time"), "1.500");
    tc = find(x, -2, "testcase", NULL, 1);
    ck_assert_str_eq(attr(tc, "classname"), "scenarios.host.weird");
    ck_assert_str_eq(attr(tc, "name"), "host/<weird> & \"name\"");
    ck_assert_str_eq(attr(find(x, -2, "testcase", NULL, 3), "classname"), "scenario");

    /* What the parser gives back is exactly what went in. */
    Node *f = find(x, -2, "failure", NULL, 0);
    ck_assert_str_eq(attr(f, "message"), two_lines);
    ck_assert_ptr_nonnull(strstr(f->text->str, two_lines));
    ck_assert_ptr_nonnull(strstr(f->text->str, "step one\twith a tab"));
    ck_assert_ptr_nonnull(strstr(f->text->str, "bell \xef\xbf\xbd and bad UTF-8"));
    ck_assert_str_eq(attr(find(x, -2, "failure", NULL, 1), "message"), "failed");
    ck_assert_str_eq(attr(find(x, -2, "skipped", NULL, 0), "message"), "no IOMMU on this board");
    ck_assert_ptr_nonnull(strstr(find(x, -2, "system-out", NULL, 0)->text->str, "a map 0 rw ram+0x1000"));
    doc_free(x);
}
END_TEST

START_TEST(junit_empty_run)
{
    g_autoptr(GPtrArray) run = run_new();
    g_autofree char *text = write_junit(run);
    Doc *x = parse(text);
    Node *root = find(x, -2, "testsuites", NULL, 0);
    ck_assert_uint_eq(attr_u(root, "tests"), 0);
    ck_assert_uint_eq(count(x, -2, "testsuite", NULL), 0);
    doc_free(x);
    /* A NULL array is an empty run too. */
    g_autofree char *path = g_build_filename(tmp_dir, "null.xml", NULL);
    ck_assert_int_eq(report_write_junit(path, NULL, NULL), 0);
}
END_TEST

/* ---- HTML ---- */

/* Four runs: a failing one with regions, DMAs and faults, a plain pass,
 * a skip, and one with nothing at all. */
static GPtrArray *sample_run(void)
{
    GPtrArray *run = run_new();
    ReportScenario *a = scn("demo/rogue <device>", "scenarios/demo/03.scn", "virt-smmuv3", RS_FAIL, 3.25);
    a->message = g_strdup(nasty);
    region(a, "alice", 0x40100000, 4096, "rw");
    region(a, "bob", 0x40300000, 8192, "r");
    region(a, "config", 0x40500000, 4096, "w");
    g_array_index(a->regions, ReportRegion, 2).has_target = true;
    g_array_index(a->regions, ReportRegion, 2).target = 0x80000000;
    region(a, "alice", 0x40100000, 4096, NULL);
    dma(a, true, 0x40100000, 4096, true, true);
    dma(a, true, 0x40100000, 4096, true, true);     /* same place: shares the marker */
    dma(a, true, 0x40101000, 4096, false, false);   /* next page: its own */
    dma(a, true, 0x40300000, 256, false, true);     /* went through, should not have */
    dma(a, false, 0x40300000, 256, true, true);
    dma(a, false, POOL_BASE, 256, false, false);
    fault(a, 0x40101000, true, "none");
    fault(a, POOL_BASE, false, "bob");
    g_ptr_array_add(a->log, g_strdup("a map 0 rw ram+0x100000 4096 => ok <fine> & \"done\""));
    g_ptr_array_add(run, a);
    g_ptr_array_add(run, scn("host/plain", "scenarios/host/plain.scn", "virt-smmuv3", RS_PASS, 0.5));
    g_ptr_array_add(run, scn("demo/rogue <device>", "scenarios/demo/03.scn", "q35-vtd", RS_SKIP, 0));
    ReportScenario *e = report_scenario_new("nothing", NULL, "q35-vtd");
    g_ptr_array_add(run, e);
    return run;
}

START_TEST(html_sections_and_escaping)
{
    g_autoptr(GPtrArray) run = sample_run();
    gsize size;
    g_autofree char *text = write_html(run, &size);
    ck_assert_ptr_null(strstr(text, "<script>"));
    ck_assert_ptr_null(strstr(text, "<device>"));
    ck_assert_ptr_null(strstr(text, "<run>"));
    /* Opens offline: nothing fetched. */
    ck_assert_ptr_null(strstr(text, "<link"));
    ck_assert_ptr_null(strstr(text, " src="));
    ck_assert_ptr_null(strstr(text, "url(http"));
    ck_assert_ptr_null(strstr(text, "@import"));
    Doc *x = parse(text);
    ck_assert_str_eq(find(x, -2, "title", NULL, 0)->text->str, "test <run> & co");

    /* One section per run, each with its anchor, linked from the summary, and its picture. */
    ck_assert_uint_eq(count(x, -2, "section", "scenario"), run->len);
    for (guint i = 0; i < run->len; i++) {
        Node *s = find(x, -2, "section", "scenario", i);
        const char *id = attr(s, "id");
        ck_assert_ptr_nonnull(id);
        for (const char *p = id; *p; p++) ck_assert_msg(g_ascii_isalnum(*p) || *p == '-', "id '%s'", id);
        g_autofree char *href = g_strdup_printf("#%s", id);
        bool linked = false;
        for (unsigned k = 0; !linked && find(x, -1, "a", NULL, k); k++) {
            const char *h = attr(find(x, -1, "a", NULL, k), "href");
            linked = h && strcmp(h, href) == 0;
        }
        ck_assert_msg(linked, "no link to %s", id);
        ck_assert_uint_eq(count(x, (int)i, "svg", "mmap"), 1);
        ck_assert_uint_eq(count(x, (int)i, "figcaption", "legend"), 1);
    }
    ck_assert(has_class(find(x, -2, "section", NULL, 0), "fail"));
    ck_assert(has_class(find(x, -2, "section", NULL, 1), "pass"));
    ck_assert(has_class(find(x, -2, "section", NULL, 2), "skip"));
    ck_assert_ptr_nonnull(find(x, -1, "td", "fail", 0));
    ck_assert_ptr_nonnull(find(x, -1, "td", "skip", 0));
    ck_assert_ptr_nonnull(find(x, -1, "td", "none", 0)); /* host/plain never ran on q35-vtd */

    /* The message comes back exactly, and is listed under failures. */
    ck_assert_str_eq(find(x, 0, "pre", "message", 0)->text->str, nasty);
    ck_assert_ptr_nonnull(strstr(find(x, -1, "ul", "failures", 0)->text->str, nasty));
    ck_assert_ptr_nonnull(strstr(find(x, 0, "pre", "log", 0)->text->str, "<fine> & \"done\""));
    ck_assert_ptr_nonnull(strstr(find(x, 0, "h2", NULL, 0)->text->str, "demo/rogue <device>"));

    /* The pool band, the region labels and the unmap. */
    Node *pool = find(x, 0, "g", "pool", 0);
    ck_assert_ptr_nonnull(pool);
    ck_assert_ptr_nonnull(strstr(pool->text->str, "table pool"));
    ck_assert_ptr_nonnull(find(x, 1, "g", "pool", 0));
    ck_assert_uint_eq(count(x, 0, "g", "region"), 4);
    ck_assert_ptr_nonnull(strstr(find(x, 0, "g", "rw", 0)->text->str, "#1 alice obj 0 rw"));
    ck_assert_ptr_nonnull(strstr(find(x, 0, "g", "r", 0)->text->str, "#2 bob obj 0 r"));
    ck_assert_ptr_nonnull(strstr(find(x, 0, "g", "w", 0)->text->str, "\xe2\x86\x92 target 0x80000000"));
    ck_assert_ptr_nonnull(strstr(find(x, 0, "g", "removed", 0)->text->str, "#4 unmap alice"));
    ck_assert_uint_eq(count(x, 0, "table", "regions"), 1);

    /* Runs with nothing recorded still get a picture and a legend, and no tables. */
    ck_assert_uint_eq(count(x, 1, "g", "dma"), 0);
    ck_assert_uint_eq(count(x, 1, "rect", "ram"), 1);
    ck_assert_uint_eq(count(x, 1, "table", "dmas"), 0);
    ck_assert_ptr_nonnull(strstr(find(x, 3, "svg", "mmap", 0)->text->str, "Nothing to draw"));
    doc_free(x);
}
END_TEST

START_TEST(html_dma_markers_and_faults)
{
    g_autoptr(GPtrArray) run = sample_run();
    g_autofree char *text = write_html(run, NULL);
    Doc *x = parse(text);
    /* Distinct (place, direction, outcome): five markers; the twin writes share one. */
    ck_assert_uint_eq(count(x, 0, "g", "dma"), 5);
    ck_assert_uint_eq(count(x, 0, "g", "write"), 3);
    ck_assert_uint_eq(count(x, 0, "g", "read"), 2);
    ck_assert_uint_eq(count(x, 0, "g", "blocked"), 2);
    Node *twin = find(x, 0, "g", "allowed", 0);
    ck_assert(has_class(twin, "write"));
    ck_assert_uint_eq(attr_u(twin, "data-n"), 2);
    ck_assert_ptr_nonnull(strstr(twin->text->str, "2 DMAs here"));
    /* The write that went through against the scenario's expectation stands out, alone. */
    ck_assert_uint_eq(count(x, 0, "g", "unexpected"), 1);
    Node *bad = find(x, 0, "g", "unexpected", 0);
    ck_assert(has_class(bad, "write") && has_class(bad, "allowed"));
    ck_assert_ptr_nonnull(strstr(bad->text->str, "line 13: edu0 writes RAM 0x40300000"));
    ck_assert_ptr_nonnull(strstr(bad->text->str, "UNEXPECTED"));
    ck_assert_ptr_nonnull(find(x, 0, "circle", NULL, 0));
    /* Faults: marked and tabled. */
    ck_assert_uint_eq(count(x, 0, "g", "fault"), 2);
    ck_assert_ptr_nonnull(strstr(find(x, 0, "g", "fault", 0)->text->str, "pci:0:4.0 write 0x40101000"));
    Node *ft = find(x, 0, "table", "faults", 0);
    ck_assert_ptr_nonnull(ft);
    ck_assert_ptr_nonnull(strstr(ft->text->str, "bob"));
    ck_assert_ptr_nonnull(strstr(ft->text->str, "0x5f000000"));
    ck_assert_uint_eq(count(x, 0, "tr", "bad"), 1);
    doc_free(x);
}
END_TEST

static unsigned sum_n(Doc *x, int section, const char *cls)
{
    unsigned sum = 0;
    for (unsigned k = 0; find(x, section, "g", cls, k); k++) sum += attr_u(find(x, section, "g", cls, k), "data-n");
    return sum;
}

START_TEST(html_storms_are_aggregated)
{
    g_autoptr(GPtrArray) run = run_new();
    ReportScenario *one = scn("storm/one-page", "s.scn", "virt-smmuv3", RS_PASS, 9);
    ReportScenario *spread = scn("storm/spread", "s.scn", "virt-smmuv3", RS_PASS, 9);
    for (unsigned i = 0; i < 2000; i++) {
        dma(one, true, 0x40200000, 64, true, true);
        fault(one, 0x40800000, true, "none");
        dma(spread, i & 1, 0x41000000 + i * UINT64_C(0x2000), 4096, true, true);
    }
    for (unsigned i = 0; i < 300; i++) region(spread, "alice", 0x41000000 + i * UINT64_C(0x10000), 4096, "rw");
    g_ptr_array_add(run, one);
    g_ptr_array_add(run, spread);
    gsize size;
    g_autofree char *text = write_html(run, &size);
    ck_assert_msg(size < 320 * 1024, "%zu bytes", (size_t)size);
    Doc *x = parse(text);
    ck_assert_uint_eq(count(x, 0, "g", "dma"), 1);
    ck_assert_uint_eq(attr_u(find(x, 0, "g", "dma", 0), "data-n"), 2000);
    ck_assert_uint_eq(count(x, 0, "g", "fault"), 1);
    ck_assert_uint_eq(attr_u(find(x, 0, "g", "fault", 0), "data-n"), 2000);
    /* The tables too: a header and one row. */
    ck_assert_uint_eq(count_in(x, find(x, 0, "table", "dmas", 0), "tr"), 2);
    ck_assert_uint_eq(count_in(x, find(x, 0, "table", "faults", 0), "tr"), 2);
    /* 2000 places: fewer markers than DMAs, none lost. */
    unsigned markers = count(x, 1, "g", "dma");
    ck_assert_msg(markers > 10 && markers <= 300, "%u markers", markers);
    ck_assert_uint_eq(sum_n(x, 1, "dma"), 2000);
    ck_assert_uint_le(count(x, 1, "g", "region"), 300);
    doc_free(x);
}
END_TEST

START_TEST(html_neighbours_stay_apart)
{
    /* Forty DMAs on consecutive pages: a crowded axis, but forty places. */
    g_autoptr(GPtrArray) run = run_new();
    ReportScenario *a = scn("pages", "p.scn", "virt-smmuv3", RS_PASS, 1);
    region(a, "alice", 0x40400000, 40 * 4096, "rw");
    for (unsigned i = 0; i < 40; i++) dma(a, true, 0x40400000 + i * UINT64_C(4096), 4096, true, true);
    g_ptr_array_add(run, a);
    g_autofree char *text = write_html(run, NULL);
    Doc *x = parse(text);
    ck_assert_uint_eq(count(x, 0, "g", "dma"), 40);
    ck_assert_uint_eq(sum_n(x, 0, "dma"), 40);
    doc_free(x);
}
END_TEST

START_TEST(html_outside_ram_and_odd_values)
{
    g_autoptr(GPtrArray) run = run_new();
    ReportScenario *a = scn("odd", "odd.scn", "virt-smmuv3", RS_FAIL, -1);
    region(a, "alice", RAM_BASE - 4096, 8192, "rw");        /* straddles the start */
    region(a, "bob", UINT64_MAX - 4095, 1 << 20, "r");       /* wraps around */
    region(a, "carol", 0x40100000, 0, "rw");                 /* empty */
    dma(a, true, 0x1000, 4096, false, false);                /* below RAM */
    dma(a, false, UINT64_MAX, 0, false, false);              /* far above */
    dma(a, true, RAM_BASE + RAM_SIZE - 16, 64, true, true);  /* over the end */
    fault(a, 0x1000, true, "none");
    g_strlcpy(g_array_index(a->regions, ReportRegion, 0).perms, "rwx", 4); /* no room for the NUL */
    memset(g_array_index(a->dmas, ReportDma, 0).device, 'D', sizeof(((ReportDma *)0)->device));
    g_ptr_array_add(run, a);
    ReportScenario *b = scn("no-ram-size", "b.scn", "virt-smmuv3", RS_PASS, 1);
    b->ram_size = 0;
    dma(b, true, 0x80000000, 4096, true, true);
    g_ptr_array_add(run, b);
    ReportScenario *c = scn("tiny", "c.scn", "virt-smmuv3", RS_PASS, 1);
    c->pool_size = 0;
    region(c, "a", 0x40000100, 16, NULL);
    region(c, "a", 0x40000110, 1, NULL);
    g_ptr_array_add(run, c);
    g_ptr_array_add(run, NULL); /* a slot the runner left empty */

    g_autofree char *text = write_html(run, NULL);
    Doc *x = parse(text);
    ck_assert_uint_eq(count(x, 0, "g", "outside"), 2);
    Node *notes = find(x, 0, "ul", "notes", 0);
    ck_assert_ptr_nonnull(notes);
    ck_assert_ptr_nonnull(strstr(notes->text->str, "Outside RAM"));
    ck_assert_ptr_nonnull(strstr(notes->text->str, "clipped"));
    ck_assert_ptr_nonnull(strstr(notes->text->str, "not drawn"));
    ck_assert_uint_eq(count(x, 0, "g", "dma"), 3);
    ck_assert_uint_eq(count(x, 0, "g", "fault"), 1);
    ck_assert_ptr_nonnull(strstr(find(x, 0, "table", "dmas", 0)->text->str, "DDDDDDDDDDDDDDDD"));
    ck_assert_ptr_nonnull(strstr(find(x, 1, "ul", "notes", 0)->text->str, "RAM size unknown"));
    ck_assert_uint_eq(count(x, 1, "g", "dma"), 1);
    ck_assert_uint_eq(count(x, 2, "g", "removed"), 2);
    ck_assert_uint_eq(count(x, -2, "section", "scenario"), 3);
    doc_free(x);
}
END_TEST

START_TEST(html_empty_run)
{
    g_autoptr(GPtrArray) run = run_new();
    g_autofree char *text = write_html(run, NULL);
    Doc *x = parse(text);
    ck_assert_uint_eq(count(x, -2, "section", NULL), 0);
    ck_assert_uint_eq(count(x, -2, "table", "matrix"), 0);
    ck_assert_ptr_nonnull(strstr(find(x, -2, "body", NULL, 0)->text->str, "No scenarios were run"));
    doc_free(x);
    g_autofree char *path = g_build_filename(tmp_dir, "null.html", NULL);
    ck_assert_int_eq(report_write_html(path, NULL, NULL, NULL), 0);
}
END_TEST

START_TEST(unwritable_path_is_an_error)
{
    g_autoptr(GPtrArray) run = sample_run();
    g_autofree char *missing = g_build_filename(tmp_dir, "no-such-dir", "r.html", NULL);
    GError *e = NULL;
    ck_assert_int_eq(report_write_html(missing, run, "t", &e), -ENOENT);
    ck_assert_ptr_nonnull(e);
    ck_assert_ptr_nonnull(strstr(e->message, "HTML report"));
    g_clear_error(&e);
    ck_assert_int_eq(report_write_junit(missing, run, &e), -ENOENT);
    ck_assert_ptr_nonnull(e);
    ck_assert_ptr_nonnull(strstr(e->message, "JUnit report"));
    g_clear_error(&e);
    /* A directory in the way. */
    int rc = report_write_html(tmp_dir, run, "t", &e);
    ck_assert_int_lt(rc, 0);
    ck_assert_ptr_nonnull(e);
    g_clear_error(&e);
    ck_assert_int_eq(report_write_junit(NULL, run, &e), -EINVAL);
    ck_assert_ptr_nonnull(e);
    g_clear_error(&e);
    ck_assert_int_eq(report_write_html("", run, NULL, NULL), -EINVAL);
    report_scenario_free(NULL);
}
END_TEST

/* ---- records and their reasons ---- */

START_TEST(record_lines_parse)
{
    ReportFault f;
    memset(&f, 0x5a, sizeof f);
    g_strlcpy(f.owner, "kept", sizeof f.owner);
    /* As smmu-client prints it since records name their reason. */
    ck_assert_int_eq(report_fault_parse("fault device=pci:0:4.0 address=0x100000 access=write reason=1 dropped=0 repeat=0 "
                                        "reason-name=root-entry-not-present", &f), 0);
    ck_assert_str_eq(f.device, "pci:0:4.0");
    ck_assert_uint_eq(f.addr, 0x100000);
    ck_assert(f.write);
    ck_assert_uint_eq(f.reason, 1);
    ck_assert_str_eq(f.reason_name, "root-entry-not-present");
    ck_assert_str_eq(f.owner, "kept"); /* not the parser's */
    /* As it printed it before: no name, and none made up. */
    ck_assert_int_eq(report_fault_parse("fault device=pci:0:5.0 address=0x40300000 access=read reason=19 dropped=1 repeat=2", &f), 0);
    ck_assert_str_eq(f.device, "pci:0:5.0");
    ck_assert(!f.write);
    ck_assert_uint_eq(f.reason, 19);
    ck_assert_str_eq(f.reason_name, "");
    /* "reason=" is not found inside "reason-name=", wherever that stands. */
    ck_assert_int_eq(report_fault_parse("fault device=pci:0:4.0 reason-name=F_PERMISSION address=0x2000 access=read reason=0x13", &f), 0);
    ck_assert_uint_eq(f.reason, 0x13);
    ck_assert_str_eq(f.reason_name, "F_PERMISSION");
    /* A name too long for the record is cut, never overrun. */
    char longline[400];
    snprintf(longline, sizeof longline, "fault device=pci:0:4.0 address=0x0 access=read reason=1 reason-name=%0300d", 7);
    ck_assert_int_eq(report_fault_parse(longline, &f), 0);
    ck_assert_uint_eq(strlen(f.reason_name), sizeof f.reason_name - 1);
    /* Not records. */
    const char *bad[] = { "none", "", "fault", "fault device=pci:0:4.0 address=0x1000 access=read",
                          "fault device=pci:0:4.0 address=0x1000 access=exec reason=1",
                          "fault device=pci:0:4.0 address=zz access=read reason=1",
                          "fault device=pci:0:4.0 address=0x1000 access=read reason=1x",
                          "fault device=pci:0:4.0 address=0x10000000000000000 access=read reason=1",
                          "err EIO fault device=pci:0:4.0 address=0x1000 access=read reason=1", NULL };
    for (unsigned i = 0; bad[i]; i++) ck_assert_msg(report_fault_parse(bad[i], &f) == -EINVAL, "'%s' parsed", bad[i]);
    ck_assert_int_eq(report_fault_parse(NULL, &f), -EINVAL);
}
END_TEST

START_TEST(reason_text_puts_the_name_beside_the_code)
{
    ReportFault f = { .reason = 0x13 };
    g_autofree char *bare = report_reason_text(&f);
    ck_assert_str_eq(bare, "reason 0x13");
    g_strlcpy(f.reason_name, "F_PERMISSION", sizeof f.reason_name);
    g_autofree char *named = report_reason_text(&f);
    ck_assert_str_eq(named, "reason 0x13 (F_PERMISSION)");
    memset(f.reason_name, 'N', sizeof f.reason_name); /* filled to the brim, no NUL */
    g_autofree char *full = report_reason_text(&f);
    ck_assert_uint_eq(strlen(full), strlen("reason 0x13 ()") + sizeof f.reason_name);
}
END_TEST

/* A VT-d run and an SMMUv3 run, each with named records, one without. */
static GPtrArray *named_run(void)
{
    GPtrArray *run = run_new();
    ReportScenario *v = scn("faults/vtd", "scenarios/faults/vtd.scn", "q35-vtd", RS_FAIL, 1);
    v->ram_base = 0;
    v->pool_base = 0x1f000000;
    v->message = g_strdup("vtd.scn:9: expected a record for pci:0:4.0 write at page 0x100000, got ...");
    fault_named(v, 0x100000, true, 0x1, "root-entry-not-present");
    fault_named(v, 0x101000, false, 0x6, "read-not-permitted");
    fault_named(v, 0x102000, true, 0x5, ""); /* from a client that gave no name */
    g_ptr_array_add(run, v);
    ReportScenario *a = scn("faults/arm", "scenarios/faults/arm.scn", "virt-smmuv3", RS_PASS, 1);
    fault_named(a, 0x40100000, true, 0x10, "F_TRANSLATION");
    fault_named(a, 0x40200000, true, 0x13, "F_PERMISSION");
    g_ptr_array_add(run, a);
    return run;
}

START_TEST(html_faults_name_their_reason)
{
    g_autoptr(GPtrArray) run = named_run();
    g_autofree char *text = write_html(run, NULL);
    Doc *x = parse(text);
    /* The table: the code, and its name in the same cell. */
    const char *want[2][3] = { { "0x1 root-entry-not-present", "0x6 read-not-permitted", "0x5" },
                               { "0x10 F_TRANSLATION", "0x13 F_PERMISSION", NULL } };
    for (int sec = 0; sec < 2; sec++) {
        Node *t = find(x, sec, "table", "faults", 0);
        ck_assert_ptr_nonnull(t);
        unsigned cells = 0;
        for (unsigned k = 0; find(x, sec, "td", "reason", k); k++, cells++) {
            const char *cell = find(x, sec, "td", "reason", k)->text->str;
            bool known = false;
            for (int j = 0; j < 3 && want[sec][j]; j++) known |= strcmp(cell, want[sec][j]) == 0;
            ck_assert_msg(known, "section %d: reason cell '%s'", sec, cell);
        }
        ck_assert_uint_eq(cells, sec ? 2 : 3);
    }
    ck_assert_str_eq(find(x, 1, "span", "reason-name", 1)->text->str, "F_PERMISSION");
    ck_assert_uint_eq(count(x, 0, "span", "reason-name"), 2); /* the nameless record has none */
    /* The map's fault markers say it too. */
    ck_assert_ptr_nonnull(strstr(find(x, 1, "g", "fault", 0)->text->str, "reason 0x10 (F_TRANSLATION)"));
    ck_assert_ptr_nonnull(strstr(find(x, 0, "g", "fault", 0)->text->str, "reason 0x1 (root-entry-not-present)"));
    doc_free(x);
}
END_TEST

START_TEST(junit_failure_names_reasons)
{
    g_autoptr(GPtrArray) run = named_run();
    g_autofree char *text = write_junit(run);
    Doc *x = parse(text);
    ck_assert_uint_eq(count(x, -2, "failure", NULL), 1);
    const char *f = find(x, -2, "failure", NULL, 0)->text->str;
    ck_assert_ptr_nonnull(strstr(f, "fault: pci:0:4.0 write 0x100000, reason 0x1 (root-entry-not-present), owner alice"));
    ck_assert_ptr_nonnull(strstr(f, "reason 0x6 (read-not-permitted)"));
    ck_assert_ptr_nonnull(strstr(f, "fault: pci:0:4.0 write 0x102000, reason 0x5, owner alice"));
    doc_free(x);
}
END_TEST

START_TEST(json_event_names_reasons)
{
    g_autoptr(GPtrArray) run = named_run();
    ReportScenario *v = g_ptr_array_index(run, 0), *a = g_ptr_array_index(run, 1);
    g_free(v->message);
    v->message = g_strdup(nasty);
    g_autofree char *jv = report_json_scenario(v);
    g_autofree char *ja = report_json_scenario(a);
    for (const char *j = jv; j; j = j == jv ? ja : NULL) {
        ck_assert(g_str_has_prefix(j, "{\"event\":\"scenario\",") && g_str_has_suffix(j, "}\n"));
        ck_assert_ptr_eq(strchr(j, '\n'), j + strlen(j) - 1); /* one line */
    }
    ck_assert_ptr_nonnull(strstr(jv, "\"status\":\"fail\""));
    ck_assert_ptr_nonnull(strstr(jv, "\"faults\":3,"));
    ck_assert_ptr_nonnull(strstr(jv, "{\"device\":\"pci:0:4.0\",\"address\":\"0x100000\",\"access\":\"write\","
                                     "\"reason\":\"0x1\",\"reason_name\":\"root-entry-not-present\",\"owner\":\"alice\","
                                     "\"seen_by\":null}"));
    ck_assert_ptr_nonnull(strstr(jv, "\"reason\":\"0x5\",\"reason_name\":null"));
    ck_assert_ptr_nonnull(strstr(jv, "\"message\":\"file.scn:7: expected <ok>, got \\\"err\\\" & 'EBUSY'"));
    ck_assert_ptr_nonnull(strstr(ja, "\"reason\":\"0x10\",\"reason_name\":\"F_TRANSLATION\""));
    ck_assert_ptr_nonnull(strstr(ja, "\"reason\":\"0x13\",\"reason_name\":\"F_PERMISSION\""));
    ck_assert_ptr_nonnull(strstr(ja, "\"message\":null"));
    ck_assert_ptr_nonnull(strstr(ja, "\"fault_records_omitted\":0}"));
    /* A storm's records: the first ones, and how many were left out. */
    ReportScenario *st = scn("storm", "s.scn", "q35-vtd", RS_PASS, 1);
    for (unsigned i = 0; i < 300; i++) fault_named(st, 0x8000000000 + i * 4096ull, true, 0x4, "address-beyond-mgaw");
    g_autofree char *js = report_json_scenario(st);
    ck_assert_ptr_nonnull(strstr(js, "\"faults\":300,"));
    ck_assert_ptr_nonnull(strstr(js, "\"fault_records_omitted\":44}"));
    unsigned n = 0;
    for (const char *p = js; (p = strstr(p, "\"reason_name\":\"address-beyond-mgaw\"")); p++) n++;
    ck_assert_uint_eq(n, 256);
    report_scenario_free(st);
    /* Control characters and bad UTF-8 in a name stay inside the string. */
    ReportScenario *odd = scn("odd\x01", "o.scn", "q35-vtd", RS_PASS, 1);
    fault_named(odd, 0, false, 1, "bad\"name\\\n\xff");
    g_autofree char *jo = report_json_scenario(odd);
    ck_assert_ptr_nonnull(strstr(jo, "\"name\":\"odd\\u0001\""));
    ck_assert_ptr_nonnull(strstr(jo, "\"reason_name\":\"bad\\\"name\\\\\\u000a\xef\xbf\xbd\""));
    report_scenario_free(odd);
}
END_TEST

/* ---- guest pass-through: A, B and C ---- */

static void vm_ram(ReportScenario *r, const char *vm, uint64_t gpa, uint64_t size, uint64_t hpa)
{
    ReportVmRam a = { .gpa = gpa, .size = size, .hpa = hpa };
    g_strlcpy(a.vm, vm, sizeof a.vm);
    g_array_append_val(r->vm_ram, a);
}

static void guest_region(ReportScenario *r, const char *client, uint64_t addr, uint64_t len, const char *perms)
{
    ReportRegion rg = { .client = g_strdup(client), .addr = addr, .len = len, .removed = perms == NULL,
                        .vm = g_strdup("vm1"), .devices = g_strdup("pci:0:2.0") };
    g_strlcpy(rg.perms, perms ? perms : "", sizeof rg.perms);
    g_array_append_val(r->regions, rg);
}

static void guest_dma(ReportScenario *r, bool write, uint64_t addr, bool translated, uint64_t hpa, bool landed, bool guest_side)
{
    ReportDma d = { .line = r->dmas->len + 30, .write = write, .addr = addr, .len = 256, .expected_ok = landed,
                    .went_through = landed, .translated = translated, .hpa = hpa, .guest_side = guest_side };
    g_strlcpy(d.device, "edu0", sizeof d.device);
    g_strlcpy(d.vm, "vm1", sizeof d.vm);
    g_array_append_val(r->dmas, d);
}

/* vm1: guest RAM at RAM_BASE, two 32 MiB ranges backed at +64 MiB and
 * +128 MiB, edu0 as its pci:0:2.0; vm2 beside it at +192 MiB (no engine
 * of its own here). */
static ReportScenario *pass_run(void)
{
    ReportScenario *a = scn("guest/b", "b.scn", "virt-smmuv3", RS_PASS, 1);
    vm_ram(a, "vm1", RAM_BASE, 32u << 20, RAM_BASE + (64u << 20));
    vm_ram(a, "vm1", RAM_BASE + (32u << 20), 32u << 20, RAM_BASE + (128u << 20));
    vm_ram(a, "vm2", RAM_BASE, 64u << 20, RAM_BASE + (192u << 20));
    ReportPass p = { .vm = "vm1", .engine = "edu0", .host_dev = "pci:0:4.0", .guest_dev = "pci:0:2.0" };
    g_array_append_val(a->passes, p);
    region(a, "host", RAM_BASE + 0x10000000, 4096, "rw");                       /* the host's own */
    guest_region(a, "drv", RAM_BASE + (32u << 20) - 4096, 8192, "rw");           /* B across both ranges */
    guest_region(a, "drv", RAM_BASE + (32u << 20) - 4096, 4096, NULL);           /* half of it unmapped */
    guest_dma(a, true, RAM_BASE + (32u << 20), true, RAM_BASE + (128u << 20), true, false);    /* C */
    guest_dma(a, true, RAM_BASE + 0x100000, true, RAM_BASE + (64u << 20) + 0x100000, false, true); /* A, not B */
    guest_dma(a, false, RAM_BASE + 0x10000000, false, RAM_BASE + 0x10000000, false, false);    /* the host's memory */
    fault(a, RAM_BASE + 0x100000, true, "drv");
    ReportFault *g = &g_array_index(a->faults, ReportFault, 0); /* the guest's record */
    g_strlcpy(g->seen_by, "g1", sizeof g->seen_by);
    g_strlcpy(g->device, "pci:0:2.0", sizeof g->device);
    fault(a, RAM_BASE + 0x100000, true, "vm1");    /* the host's record of it: guest-physical, not on the map */
    fault(a, RAM_BASE + 0x10000000, false, "vm1"); /* outside the guest's RAM: the host's address, on the map */
    return a;
}

static const Node *in_svg(Doc *x, const char *svg_class, const char *name, const char *cls, unsigned nth)
{
    for (guint i = 0; i < x->nodes->len; i++) {
        const Node *n = g_ptr_array_index(x->nodes, i);
        if (strcmp(n->name, name) || !has_class(n, cls)) continue;
        const Node *up = n->parent;
        while (up && !(strcmp(up->name, "svg") == 0 && has_class(up, svg_class))) up = up->parent;
        if (up && nth-- == 0) return n;
    }
    return NULL;
}

static unsigned count_svg(Doc *x, const char *svg_class, const char *name, const char *cls)
{
    unsigned k = 0;
    while (in_svg(x, svg_class, name, cls, k)) k++;
    return k;
}

START_TEST(html_pass_through_draws_a_b_and_c)
{
    g_autoptr(GPtrArray) run = run_new();
    g_ptr_array_add(run, pass_run());
    g_ptr_array_add(run, scn("host/plain", "p.scn", "virt-smmuv3", RS_PASS, 1));
    g_autofree char *text = write_html(run, NULL);
    Doc *x = parse(text);
    /* one picture, for the one pass-through engine, named by both its addresses */
    ck_assert_uint_eq(count(x, 0, "svg", "abc"), 1);
    ck_assert_uint_eq(count(x, 1, "svg", "abc"), 0);
    const Node *h3 = NULL;
    for (unsigned k = 0; (h3 = find(x, 0, "h3", NULL, k)); k++)
        if (strstr(h3->text->str, "Pass-through")) break;
    ck_assert_ptr_nonnull(h3);
    ck_assert_str_eq(h3->text->str, "Pass-through: edu0 as VM vm1's pci:0:2.0 (host pci:0:4.0): A, B and C");
    /* A: two ranges, guest-physical and where they are backed; the other VM's RAM beside */
    ck_assert_uint_eq(count_svg(x, "abc", "g", "abc-a"), 4);
    ck_assert_uint_eq(count_svg(x, "abc", "g", "abc-other"), 1);
    ck_assert_uint_eq(count_svg(x, "abc", "path", "abc-band"), 2);
    ck_assert_ptr_nonnull(strstr(in_svg(x, "abc", "g", "abc-a", 0)->text->str, "backed at host 0x44000000"));
    ck_assert_ptr_nonnull(strstr(in_svg(x, "abc", "g", "abc-other", 0)->text->str, "vm2"));
    /* B: the guest's grant and its unmap, never the host's region */
    ck_assert_uint_eq(count_svg(x, "abc", "g", "abc-b"), 2);
    ck_assert_uint_eq(count_svg(x, "abc", "g", "removed"), 1 + 1); /* B's unmap and its C */
    ck_assert_ptr_null(strstr(in_svg(x, "abc", "g", "abc-b", 0)->text->str, "host obj"));
    /* C: B translated; across the two ranges, two pieces, each where its range is backed */
    ck_assert_uint_eq(count_svg(x, "abc", "g", "abc-c"), 3);
    ck_assert_ptr_nonnull(strstr(in_svg(x, "abc", "g", "abc-c", 0)->text->str, "host-physical 0x45fff000 to 0x46000000"));
    ck_assert_ptr_nonnull(strstr(in_svg(x, "abc", "g", "abc-c", 1)->text->str, "host-physical 0x48000000 to 0x48001000"));
    /* each DMA twice: where the device aimed it, where it went (or was kept from) */
    ck_assert_uint_eq(count_svg(x, "abc", "g", "guest-view"), 3);
    ck_assert_uint_eq(count_svg(x, "abc", "g", "host-view"), 3);
    const Node *told = in_svg(x, "abc", "g", "guest-side", 0);
    ck_assert(told && has_class(told, "blocked") && has_class(told, "guest-view"));
    ck_assert_ptr_nonnull(strstr(told->text->str, "backed at host 0x44100000; the guest was told"));
    const Node *host_only = in_svg(x, "abc", "g", "host-side", 0);
    ck_assert(host_only && has_class(host_only, "read"));
    ck_assert_ptr_nonnull(strstr(host_only->text->str, "outside its guest RAM"));
    ck_assert_uint_eq(count_svg(x, "abc", "g", "landed"), 2);
    /* the host-physical memory map: the DMAs where they landed, the guest's
     * grants not at all, only the host's records of host addresses */
    ck_assert_uint_eq(count_svg(x, "mmap", "g", "region"), 1);
    ck_assert_uint_eq(count_svg(x, "mmap", "g", "fault"), 1);
    bool at_backing = false;
    for (unsigned k = 0; in_svg(x, "mmap", "text", "addr", k); k++)
        at_backing |= strcmp(in_svg(x, "mmap", "text", "addr", k)->text->str, "0x48000000") == 0;
    ck_assert_msg(at_backing, "the landed DMA is not drawn at its host-physical address");
    /* the tables say whose */
    ck_assert_ptr_nonnull(strstr(find(x, 0, "table", "regions", 0)->text->str, "(a guest of VM vm1, guest-physical, for pci:0:2.0)"));
    ck_assert_ptr_nonnull(strstr(find(x, 0, "table", "faults", 0)->text->str, "pci:0:2.0 (guest g1's record)"));
    ck_assert_ptr_nonnull(strstr(find(x, 0, "table", "dmas", 0)->text->str, "(host 0x48000000)"));
    doc_free(x);
    /* and the event line */
    g_autofree char *j = report_json_scenario(g_ptr_array_index(run, 0));
    ck_assert_ptr_nonnull(strstr(j, "\"owner\":\"drv\",\"seen_by\":\"g1\"}"));
    ck_assert_ptr_nonnull(strstr(j, "\"owner\":\"vm1\",\"seen_by\":null}"));
}
END_TEST

/* A pass-through engine of a VM without RAM recorded, or a board of
 * unknown RAM: a note, still well-formed, nothing made up. */
START_TEST(html_pass_through_without_ram)
{
    g_autoptr(GPtrArray) run = run_new();
    ReportScenario *a = scn("guest/odd", "o.scn", "q35-vtd", RS_FAIL, 1);
    ReportPass p = { .vm = "vm9", .engine = "", .host_dev = "pci:0:6.0", .guest_dev = "pci:0:1.0" };
    g_array_append_val(a->passes, p);
    g_ptr_array_add(run, a);
    g_autofree char *text = write_html(run, NULL);
    Doc *x = parse(text);
    ck_assert_uint_eq(count(x, 0, "svg", "abc"), 0);
    ck_assert_ptr_nonnull(strstr(text, "No guest RAM or no host RAM size known"));
    doc_free(x);
}
END_TEST

static Suite *report_suite(void)
{
    Suite *s = suite_create("report");
    TCase *tc = tcase_create("report");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, junit_counts_and_escaping);
    tcase_add_test(tc, junit_empty_run);
    tcase_add_test(tc, html_sections_and_escaping);
    tcase_add_test(tc, html_dma_markers_and_faults);
    tcase_add_test(tc, html_storms_are_aggregated);
    tcase_add_test(tc, html_neighbours_stay_apart);
    tcase_add_test(tc, html_outside_ram_and_odd_values);
    tcase_add_test(tc, html_empty_run);
    tcase_add_test(tc, unwritable_path_is_an_error);
    tcase_add_test(tc, record_lines_parse);
    tcase_add_test(tc, reason_text_puts_the_name_beside_the_code);
    tcase_add_test(tc, html_faults_name_their_reason);
    tcase_add_test(tc, junit_failure_names_reasons);
    tcase_add_test(tc, json_event_names_reasons);
    tcase_add_test(tc, html_pass_through_draws_a_b_and_c);
    tcase_add_test(tc, html_pass_through_without_ram);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return check_run(report_suite()); }
