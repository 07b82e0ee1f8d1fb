/* A run's records (report.h) as the runner keeps them: a fault record
 * read from smmu-client's line, a record's words as a person reads them,
 * and the JSON line of each finished run (--events), which the runner
 * writes live. The report files made of them at the end, JUnit and the
 * HTML page, are report-files.c's; every other file of the reports but
 * report-text.c stands on this one. */
#include "report.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "report-internal.h"
#include "report-text.h"

/* ------------------------------------------------------------------------ */
/* Scenario records */

static void region_clear(gpointer p)
{
    ReportRegion *r = p;
    g_free(r->client);
    g_free(r->vm);
    g_free(r->devices);
}

ReportScenario *report_scenario_new(const char *name, const char *file, const char *board)
{
    ReportScenario *r = g_new0(ReportScenario, 1);
    r->name = g_strdup(name ? name : "");
    r->file = g_strdup(file ? file : "");
    r->board = g_strdup(board ? board : "");
    r->status = RS_PASS;
    r->regions = g_array_new(FALSE, TRUE, sizeof(ReportRegion));
    /* The record owns each region's client string, as it owns its own. */
    g_array_set_clear_func(r->regions, region_clear);
    r->dmas = g_array_new(FALSE, TRUE, sizeof(ReportDma));
    r->faults = g_array_new(FALSE, TRUE, sizeof(ReportFault));
    r->log = g_ptr_array_new_with_free_func(g_free);
    r->vm_ram = g_array_new(FALSE, TRUE, sizeof(ReportVmRam));
    r->passes = g_array_new(FALSE, TRUE, sizeof(ReportPass));
    return r;
}

void report_scenario_free(ReportScenario *r)
{
    if (!r) return;
    g_free(r->name);
    g_free(r->file);
    g_free(r->purpose);
    g_free(r->board);
    g_free(r->message);
    if (r->regions) g_array_unref(r->regions);
    if (r->dmas) g_array_unref(r->dmas);
    if (r->faults) g_array_unref(r->faults);
    if (r->log) g_ptr_array_unref(r->log);
    if (r->vm_ram) g_array_unref(r->vm_ram);
    if (r->passes) g_array_unref(r->passes);
    g_free(r);
}

/* The runner may hand over NULL arrays; a report must still come out. */
guint rp_len_of(const GArray *a) { return a ? a->len : 0; }

const char *rp_status_word(ReportStatus st)
{
    switch (st) {
    case RS_PASS: return "pass";
    case RS_FAIL: return "fail";
    case RS_SKIP: return "skip";
    }
    return "fail"; /* an out-of-range status must not look like a pass */
}

ReportStatus rp_status_of(const ReportScenario *s)
{
    return s->status == RS_PASS || s->status == RS_SKIP ? s->status : RS_FAIL;
}

/* ------------------------------------------------------------------------ */
/* Records: what smmu-client says about a fault, the reason's words, and a
 * record as a person reads it */

/* The value of " KEY=" in line, up to the next space (NULL if absent). The
 * leading space keeps "reason=" from matching inside "reason-name=". */
static char *field(const char *line, const char *key)
{
    g_autofree char *needle = g_strdup_printf(" %s=", key);
    const char *p = strstr(line, needle);
    if (!p) return NULL;
    p += strlen(needle);
    return g_strndup(p, strcspn(p, " \t\r\n"));
}

int report_fault_parse(const char *line, ReportFault *f)
{
    if (!line || !g_str_has_prefix(line, "fault ")) return -EINVAL;
    g_autofree char *dev = field(line, "device"), *addr = field(line, "address"), *acc = field(line, "access");
    g_autofree char *reason = field(line, "reason"), *name = field(line, "reason-name");
    if (!dev || !addr || !acc || !reason || (strcmp(acc, "read") && strcmp(acc, "write"))) return -EINVAL;
    char *end;
    errno = 0;
    unsigned long long a = g_ascii_strtoull(addr, &end, 0);
    if (errno || end == addr || *end) return -EINVAL;
    unsigned long long r = g_ascii_strtoull(reason, &end, 0); /* smmu-client prints decimal; 0x is taken too */
    if (errno || end == reason || *end) return -EINVAL;
    g_strlcpy(f->device, dev, sizeof f->device);
    f->addr = a;
    f->write = strcmp(acc, "write") == 0;
    f->reason = r;
    /* Absent (a client from before reason-name=): no name, never a guess. */
    g_strlcpy(f->reason_name, name ? name : "", sizeof f->reason_name);
    return 0;
}

char *report_reason_text(const ReportFault *f)
{
    size_t n = strnlen(f->reason_name, sizeof f->reason_name);
    if (!n) return g_strdup_printf("reason 0x%" PRIx64, f->reason);
    return g_strdup_printf("reason 0x%" PRIx64 " (%.*s)", f->reason, (int)n, f->reason_name);
}

/* A DMA that did not do what the scenario expected; a DMA or a fault as a
 * person reads it (the pictures' tooltips, JUnit's failure text). */
bool rp_unexpected(const ReportDma *d) { return d->expected_ok != d->went_through; }

void rp_dma_text(GString *t, const ReportDma *d)
{
    char sz[32];
    rp_size_str(sz, sizeof sz, d->len, false);
    g_string_append_printf(t, "line %u: %.*s %s 0x%" PRIx64 ", %s: %s", d->line, FX(d->device),
                           d->write ? "writes RAM" : "reads RAM", d->addr, sz, d->went_through ? "went through" : "blocked");
    if (d->vm[0] && d->translated) /* a pass-through engine inside its VM's guest RAM */
        g_string_append_printf(t, " (VM %.*s's guest-physical, backed at host 0x%" PRIx64 "; %s)", FX(d->vm), d->hpa,
                               d->went_through ? "landed there" : d->guest_side ? "the guest was told" : "the host's record only");
    else if (d->vm[0])
        g_string_append_printf(t, " (passed through to VM %.*s, outside its guest RAM: the host's address)", FX(d->vm));
    if (rp_unexpected(d)) g_string_append_printf(t, " - UNEXPECTED, the scenario expected it %s", d->expected_ok ? "to go through" : "to be blocked");
    else g_string_append(t, " (as expected)");
}

void rp_fault_text(GString *t, const ReportFault *f)
{
    g_autofree char *why = report_reason_text(f);
    g_string_append_printf(t, "fault: %.*s %s 0x%" PRIx64 ", %s, owner %.*s", FX(f->device),
                           f->write ? "write" : "read", f->addr, why, FX(f->owner));
    if (f->seen_by[0]) g_string_append_printf(t, " (guest %.*s's record, guest-physical)", FX(f->seen_by));
}

/* ------------------------------------------------------------------------ */
/* JSON lines (the --events log) */

/* A JSON string: quotes, backslashes and control characters escaped,
 * invalid UTF-8 replaced (a record holds whatever a client printed). */
static void json_strn(GString *o, const char *s, gssize len)
{
    g_string_append_c(o, '"');
    if (s) {
        if (len < 0) len = (gssize)strlen(s);
        g_autofree char *valid = g_utf8_make_valid(s, len);
        for (const char *p = valid; *p; p++) {
            unsigned char c = (unsigned char)*p;
            if (c == '"' || c == '\\') g_string_append_printf(o, "\\%c", c);
            else if (c < 0x20 || c == 0x7f) g_string_append_printf(o, "\\u%04x", c);
            else g_string_append_c(o, (char)c);
        }
    }
    g_string_append_c(o, '"');
}

static void json_str(GString *o, const char *s) { json_strn(o, s, -1); }

#define JSON_MAX_RECORDS 256u /* a storm's thousands of records stay a readable line */

char *report_json_scenario(const ReportScenario *s)
{
    GString *o = g_string_new("{\"event\":\"scenario\",\"name\":");
    json_str(o, s->name);
    g_string_append(o, ",\"board\":");
    json_str(o, s->board);
    g_string_append(o, ",\"file\":");
    json_str(o, s->file);
    g_string_append_printf(o, ",\"status\":\"%s\",\"seconds\":", rp_status_word(rp_status_of(s)));
    rp_put_secs(o, s->seconds, "%.3f");
    g_string_append_printf(o, ",\"dmas\":%u,\"faults\":%u,\"message\":", rp_len_of(s->dmas), rp_len_of(s->faults));
    if (s->message) json_str(o, s->message);
    else g_string_append(o, "null");
    /* what each DMA did ("LINE DEV write ADDR LEN went-through|blocked"), and
     * whether the run's board was a kept one, reset (docs/scenarios.md) */
    g_string_append_printf(o, ",\"board_reused\":%s,\"dma_outcomes\":[", s->board_reused ? "true" : "false");
    guint nd = MIN(rp_len_of(s->dmas), JSON_MAX_RECORDS);
    for (guint i = 0; i < nd; i++) {
        const ReportDma *d = &g_array_index(s->dmas, ReportDma, i);
        g_autofree char *one = g_strdup_printf("%u %.*s %s 0x%" PRIx64 " %" PRIu64 " %s", d->line,
                                               (int)strnlen(d->device, sizeof d->device), d->device,
                                               d->write ? "write" : "read", d->addr, d->len,
                                               d->went_through ? "went-through" : "blocked");
        if (i) g_string_append_c(o, ',');
        json_str(o, one);
    }
    g_string_append_printf(o, "],\"dma_outcomes_omitted\":%u", rp_len_of(s->dmas) - nd);
    g_string_append(o, ",\"fault_records\":[");
    guint n = MIN(rp_len_of(s->faults), JSON_MAX_RECORDS);
    for (guint i = 0; i < n; i++) {
        const ReportFault *f = &g_array_index(s->faults, ReportFault, i);
        g_string_append(o, i ? ",{\"device\":" : "{\"device\":");
        json_strn(o, f->device, (gssize)strnlen(f->device, sizeof f->device));
        g_string_append_printf(o, ",\"address\":\"0x%" PRIx64 "\",\"access\":\"%s\",\"reason\":\"0x%" PRIx64 "\",\"reason_name\":",
                               f->addr, f->write ? "write" : "read", f->reason);
        size_t nl = strnlen(f->reason_name, sizeof f->reason_name);
        if (nl) json_strn(o, f->reason_name, (gssize)nl);
        else g_string_append(o, "null");
        g_string_append(o, ",\"owner\":");
        json_strn(o, f->owner, (gssize)strnlen(f->owner, sizeof f->owner));
        /* whose record: null the host service's, else the guest's (guest PCI address, guest-physical) */
        g_string_append(o, ",\"seen_by\":");
        if (f->seen_by[0]) json_strn(o, f->seen_by, (gssize)strnlen(f->seen_by, sizeof f->seen_by));
        else g_string_append(o, "null");
        g_string_append_c(o, '}');
    }
    g_string_append_printf(o, "],\"fault_records_omitted\":%u}\n", rp_len_of(s->faults) - n);
    return g_string_free(o, FALSE);
}
