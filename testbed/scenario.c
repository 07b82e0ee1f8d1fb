#include "scenario.h"

#include <errno.h>
#include <string.h>

#include "expect-value.h"
#include "num.h"
#include "ram-span.h"
#include "tb-error.h"

#define MAX_INCLUDE_DEPTH 8

static const char *const header_verbs[] = { "scenario", "purpose", "board", "service", "config", "start", "client",
                                            "include", "qvm", "qvm-config", "guest", "guest-config", "board-fresh", NULL };
/* "start" is both: without "=>" the host service's expected start-up (a
 * header), with it a VM or guest started at that point of the story. */
static const char *const step_verbs[] = { "dma", "storm", "ram", "expect-fault", "expect-no-fault", "expect-counters",
                                          "expect-state",
                                          "kill", "wait", "corrupt-table", "start", NULL };
/* Words a VM, guest or client may not be called: the steps' own words,
 * where a name and a state or keyword stand in the same place. */
static const char *const state_words[] = { "service", "running", "dss", "stopped", "exited", "refused", "any", NULL };

static bool in(const char *const *list, const char *w)
{
    for (unsigned i = 0; list[i]; i++)
        if (strcmp(list[i], w) == 0) return true;
    return false;
}

static void step_free(gpointer p)
{
    ScnStep *s = p;
    g_free(s->file);
    g_strfreev(s->words);
    g_strfreev(s->expect);
    g_free(s->text);
    g_free(s);
}

static void vm_free(gpointer p)
{
    ScnVm *v = p;
    g_free(v->name);
    g_free(v->fixture);
    g_ptr_array_unref(v->config);
    g_ptr_array_unref(v->origin);
    g_free(v->file);
    g_free(v);
}

static void guest_free(gpointer p)
{
    ScnGuest *g = p;
    g_free(g->name);
    g_free(g->vm);
    g_free(g->service);
    g_ptr_array_unref(g->config);
    g_ptr_array_unref(g->origin);
    g_free(g->file);
    g_free(g);
}

void scenario_free(Scenario *s)
{
    if (!s) return;
    g_free(s->name);
    g_free(s->file);
    g_free(s->purpose);
    g_strfreev(s->boards);
    g_free(s->service);
    g_ptr_array_unref(s->config);
    g_ptr_array_unref(s->config_origin);
    g_free(s->start_reason);
    g_ptr_array_unref(s->clients);
    g_ptr_array_unref(s->vms);
    g_ptr_array_unref(s->guests);
    g_ptr_array_unref(s->steps);
    g_free(s);
}

bool scenario_has_client(const Scenario *s, const char *name)
{
    for (guint i = 0; i < s->clients->len; i++) {
        const char *c = g_ptr_array_index(s->clients, i);
        size_t n = strlen(name);
        if (strncmp(c, name, n) == 0 && (c[n] == '\0' || c[n] == ' ')) return true;
    }
    return false;
}

const char *scenario_client_guest(const Scenario *s, const char *name)
{
    for (guint i = 0; i < s->clients->len; i++) {
        const char *c = g_ptr_array_index(s->clients, i);
        size_t n = strlen(name);
        if (strncmp(c, name, n) == 0 && c[n] == ' ' && g_str_has_prefix(c + n + 1, "guest=")) return c + n + 7;
    }
    return NULL;
}

const ScnVm *scenario_vm(const Scenario *s, const char *name)
{
    for (guint i = 0; name && i < s->vms->len; i++) {
        const ScnVm *v = g_ptr_array_index(s->vms, i);
        if (strcmp(v->name, name) == 0) return v;
    }
    return NULL;
}

const ScnGuest *scenario_guest(const Scenario *s, const char *name)
{
    for (guint i = 0; name && i < s->guests->len; i++) {
        const ScnGuest *g = g_ptr_array_index(s->guests, i);
        if (strcmp(g->name, name) == 0) return g;
    }
    return NULL;
}

static char **split(const char *text)
{
    GPtrArray *w = g_ptr_array_new();
    char **raw = g_strsplit_set(text, " \t", -1);
    for (unsigned i = 0; raw[i]; i++)
        if (*raw[i]) g_ptr_array_add(w, g_strdup(raw[i]));
    g_strfreev(raw);
    g_ptr_array_add(w, NULL);
    return (char **)g_ptr_array_free(w, FALSE);
}

static int fail(GError **err, const char *file, unsigned line, const char *fmt, ...) G_GNUC_PRINTF(4, 5);
static int fail(GError **err, const char *file, unsigned line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error(err, TB_ERROR, EINVAL, "%s:%u: %s", file, line, msg);
    return -EINVAL;
}

static int parse_file(Scenario *s, const char *path, unsigned depth, GError **err);

static bool reserved(const char *w) { return in(header_verbs, w) || in(step_verbs, w) || in(state_words, w); }

/* A new VM, guest or client name: one namespace, since kill, expect-state
 * and start name any of them. */
static int new_name(const Scenario *s, const char *file, unsigned line, const char *v, const char *name, GError **err)
{
    size_t n = strlen(name);
    bool ok = n > 0 && n <= SCN_NAME_MAX && name[0] != '.' && name[0] != '-';
    for (size_t i = 0; ok && i < n; i++) ok = g_ascii_isalnum(name[i]) || strchr("_-.", name[i]);
    if (!ok || reserved(name) || g_str_has_prefix(name, "gpa("))
        return fail(err, file, line, "%s: '%s' is not a name (letters, digits, '_', '-', '.', at most %d; not a keyword)",
                    v, name, SCN_NAME_MAX);
    if (scenario_has_client(s, name) || scenario_vm(s, name) || scenario_guest(s, name))
        return fail(err, file, line, "%s: '%s' declared twice (VMs, guests and clients share one set of names)", v, name);
    return 0;
}

/* Every "gpa(VM)" in text names a VM declared before. */
static int check_gpa_vms(const Scenario *s, const char *file, unsigned line, const char *v, const char *text, GError **err)
{
    for (const char *p = text; (p = strstr(p, "gpa(")); p += 4) {
        const char *e = strchr(p + 4, ')');
        if (!e) return fail(err, file, line, "%s: 'gpa(' without ')'", v);
        g_autofree char *name = g_strndup(p + 4, (gsize)(e - p - 4));
        if (!scenario_vm(s, name)) return fail(err, file, line, "%s: gpa(%s): no VM '%s' declared before", v, name, name);
    }
    return 0;
}

static int header(Scenario *s, const char *file, unsigned line, char **w, const char *rest, unsigned depth, GError **err)
{
    const char *v = w[0];
    unsigned n = g_strv_length(w);
    if (strcmp(v, "include") == 0) {
        if (n != 2) return fail(err, file, line, "include: expected one file name");
        if (depth >= MAX_INCLUDE_DEPTH) return fail(err, file, line, "include: nested deeper than %d", MAX_INCLUDE_DEPTH);
        g_autofree char *dir = g_path_get_dirname(file);
        g_autofree char *path = g_path_is_absolute(w[1]) ? g_strdup(w[1]) : g_build_filename(dir, w[1], NULL);
        return parse_file(s, path, depth + 1, err);
    }
    if (strcmp(v, "scenario") == 0) {
        if (n != 2) return fail(err, file, line, "scenario: expected one name (no spaces)");
        g_free(s->name);
        s->name = g_strdup(w[1]);
    } else if (strcmp(v, "purpose") == 0) {
        g_free(s->purpose);
        s->purpose = g_strstrip(g_strdup(rest));
    } else if (strcmp(v, "board") == 0) {
        if (n < 2) return fail(err, file, line, "board: expected 'any' or board names");
        g_strfreev(s->boards);
        s->boards = g_strdupv(w + 1);
    } else if (strcmp(v, "board-fresh") == 0) {
        if (n != 1) return fail(err, file, line, "board-fresh: takes no arguments");
        s->board_fresh = true;
    } else if (strcmp(v, "service") == 0) {
        if (n != 2 || (strcmp(w[1], "smmuman") && strcmp(w[1], "smmuman-safety")))
            return fail(err, file, line, "service: expected smmuman or smmuman-safety");
        g_free(s->service);
        s->service = g_strdup(w[1]);
    } else if (strcmp(v, "config") == 0) {
        if (n < 2) return fail(err, file, line, "config: expected a configuration line");
        g_autofree char *cl = g_strstrip(g_strdup(rest));
        GError *e = NULL;
        g_autofree char *checked = scenario_subst_addrs(cl, true, NULL, NULL, &e);
        if (!checked) {
            fail(err, file, line, "config: %s", e->message);
            g_error_free(e);
            return -EINVAL;
        }
        int rc = check_gpa_vms(s, file, line, v, cl, err);
        if (rc) return rc;
        g_ptr_array_add(s->config, g_steal_pointer(&cl));
        g_ptr_array_add(s->config_origin, g_strdup_printf("%s:%u", file, line));
    } else if (strcmp(v, "start") == 0) {
        if (n >= 2 && (scenario_vm(s, w[1]) || scenario_guest(s, w[1])))
            return fail(err, file, line, "start %s: a VM or guest starts at a step of its own: 'start %s => running'", w[1], w[1]);
        if (n < 2 || (strcmp(w[1], "running") && strcmp(w[1], "dss")))
            return fail(err, file, line, "start: expected 'running' or 'dss [REASON TEXT]'");
        s->start_dss = strcmp(w[1], "dss") == 0;
        g_free(s->start_reason);
        s->start_reason = n > 2 ? g_strjoinv(" ", w + 2) : NULL;
    } else if (strcmp(v, "client") == 0) {
        bool guest = n == 3 && g_str_has_prefix(w[2], "guest=");
        if (n < 2 || n > 3 || (n == 3 && strcmp(w[2], "target") && !guest) || reserved(w[1]))
            return fail(err, file, line, "client: expected NAME [target] or NAME guest=GUEST (NAME not a keyword)");
        int rc = new_name(s, file, line, v, w[1], err);
        if (rc) return rc;
        if (guest && !scenario_guest(s, w[2] + 6))
            return fail(err, file, line, "client: no guest '%s' declared before (guest NAME vm=VM)", w[2] + 6);
        g_ptr_array_add(s->clients, g_strjoinv(" ", w + 1));
    } else if (strcmp(v, "qvm") == 0) {
        if (n < 2 || n > 3 || (n == 3 && (!g_str_has_prefix(w[2], "fixture=") || !w[2][8])))
            return fail(err, file, line, "qvm: expected NAME [fixture=PATH]");
        int rc = new_name(s, file, line, v, w[1], err);
        if (rc) return rc;
        ScnVm *vm = g_new0(ScnVm, 1);
        vm->name = g_strdup(w[1]);
        if (n == 3) {
            /* relative to the scenario's file, as include is */
            g_autofree char *dir = g_path_get_dirname(file);
            vm->fixture = g_path_is_absolute(w[2] + 8) ? g_strdup(w[2] + 8) : g_build_filename(dir, w[2] + 8, NULL);
        }
        vm->config = g_ptr_array_new_with_free_func(g_free);
        vm->origin = g_ptr_array_new_with_free_func(g_free);
        vm->file = g_strdup(file);
        vm->line = line;
        g_ptr_array_add(s->vms, vm);
    } else if (strcmp(v, "guest") == 0) {
        ScnGuest g = { .service = NULL };
        for (unsigned i = 2; i < n; i++) {
            if (g_str_has_prefix(w[i], "vm=") && !g.vm) g.vm = w[i] + 3;
            else if ((strcmp(w[i], "smmuman") == 0 || strcmp(w[i], "smmuman-safety") == 0) && !g.service) g.service = w[i];
            else if (strcmp(w[i], "vdev=none") == 0) g.no_vdev = true;
            else return fail(err, file, line, "guest: expected NAME vm=VM [smmuman|smmuman-safety] [vdev=none], got '%s'", w[i]);
        }
        if (n < 3 || !g.vm) return fail(err, file, line, "guest: expected NAME vm=VM [smmuman|smmuman-safety] [vdev=none]");
        int rc = new_name(s, file, line, v, w[1], err);
        if (rc) return rc;
        if (!scenario_vm(s, g.vm)) return fail(err, file, line, "guest: no VM '%s' declared before (qvm NAME)", g.vm);
        for (guint i = 0; i < s->guests->len; i++)
            if (strcmp(((ScnGuest *)g_ptr_array_index(s->guests, i))->vm, g.vm) == 0)
                return fail(err, file, line, "guest: VM '%s' already has a guest service (vdev-smmu takes one)", g.vm);
        ScnGuest *gs = g_new0(ScnGuest, 1);
        gs->name = g_strdup(w[1]);
        gs->vm = g_strdup(g.vm);
        gs->service = g_strdup(g.service ? g.service : "smmuman");
        gs->no_vdev = g.no_vdev;
        gs->config = g_ptr_array_new_with_free_func(g_free);
        gs->origin = g_ptr_array_new_with_free_func(g_free);
        gs->file = g_strdup(file);
        gs->line = line;
        g_ptr_array_add(s->guests, gs);
    } else if (strcmp(v, "qvm-config") == 0 || strcmp(v, "guest-config") == 0) {
        bool is_vm = v[0] == 'q';
        if (n < 3) return fail(err, file, line, "%s: expected NAME and a configuration line", v);
        ScnVm *vm = is_vm ? (ScnVm *)scenario_vm(s, w[1]) : NULL;
        ScnGuest *g = is_vm ? NULL : (ScnGuest *)scenario_guest(s, w[1]);
        if (is_vm ? !vm : !g)
            return fail(err, file, line, "%s: no %s '%s' declared before", v, is_vm ? "VM" : "guest", w[1]);
        if (vm && vm->fixture)
            return fail(err, file, line, "qvm-config: VM '%s' takes its configuration from fixture=%s", w[1], vm->fixture);
        /* the line after the name, as written */
        const char *l = strstr(rest, w[1]) + strlen(w[1]);
        g_autofree char *cl = g_strstrip(g_strdup(l));
        GError *e = NULL;
        g_autofree char *checked = scenario_subst_addrs(cl, !is_vm, NULL, NULL, &e);
        if (!checked) {
            fail(err, file, line, "%s: %s", v, e->message);
            g_error_free(e);
            return -EINVAL;
        }
        if (!is_vm) {
            int rc = check_gpa_vms(s, file, line, v, cl, err);
            if (rc) return rc;
        }
        g_ptr_array_add(is_vm ? vm->config : g->config, g_steal_pointer(&cl));
        g_ptr_array_add(is_vm ? vm->origin : g->origin, g_strdup_printf("%s:%u", file, line));
    }
    return 0;
}

int scenario_parse_addr_vm(const char *w, ScnBase *base, char *vm, size_t cap, uint64_t *off)
{
    ScnBase b = SCN_ABS;
    const char *num = w;
    char name[SCN_NAME_MAX + 1] = "";
    if (!w) return -EINVAL;
    if (g_str_has_prefix(w, "ram+")) b = SCN_RAM, num = w + 4;
    else if (g_str_has_prefix(w, "pool+")) b = SCN_POOL, num = w + 5;
    else if (g_str_has_prefix(w, "gpa(")) {
        const char *e = strstr(w, ")+");
        if (!e || e == w + 4 || (size_t)(e - w - 4) > SCN_NAME_MAX) return -EINVAL;
        memcpy(name, w + 4, (size_t)(e - w - 4));
        name[e - w - 4] = '\0';
        b = SCN_GPA, num = e + 2;
    }
    int rc = tb_parse_size(num, off);
    if (rc == 0 && base) *base = b;
    if (rc == 0 && vm) g_strlcpy(vm, name, cap);
    return rc;
}

int scenario_parse_addr(const char *w, ScnBase *base, uint64_t *off) { return scenario_parse_addr_vm(w, base, NULL, 0, off); }

/* Where a configuration word may hold an address word: its start, or after
 * ',' or '=' ("START,LEN", "GPA,SIZE=HPA"). */
static bool addr_boundary(const char *line, const char *p) { return p == line || strchr(" \t,=", p[-1]); }

char *scenario_subst_addrs(const char *line, bool gpa_ok, ScnResolve resolve, void *ctx, GError **err)
{
    GString *out = g_string_new(NULL);
    const char *p = line;
    while (*p) {
        bool gpa = g_str_has_prefix(p, "gpa(");
        if (!addr_boundary(line, p) || !(g_str_has_prefix(p, "ram+") || g_str_has_prefix(p, "pool+") || gpa)) {
            g_string_append_c(out, *p++);
            continue;
        }
        size_t n = strcspn(p, " \t,=");
        g_autofree char *word = g_strndup(p, n);
        ScnBase b;
        char vm[SCN_NAME_MAX + 1];
        uint64_t off, addr = 0;
        if (gpa && !gpa_ok) {
            g_set_error(err, TB_ERROR, EINVAL, "'%s': a guest-physical address has no meaning here (ram+N or pool+N)", word);
            g_string_free(out, TRUE);
            return NULL;
        }
        if (scenario_parse_addr_vm(word, &b, vm, sizeof vm, &off)) {
            g_set_error(err, TB_ERROR, EINVAL, "'%s': expected ram+N, pool+N%s", word, gpa_ok ? " or gpa(VM)+N" : "");
            g_string_free(out, TRUE);
            return NULL;
        }
        if (resolve && !resolve(ctx, b, vm, off, &addr, err)) {
            g_string_free(out, TRUE);
            return NULL;
        }
        if (resolve) g_string_append_printf(out, "0x%llx", (unsigned long long)addr);
        else g_string_append(out, word);
        p += n;
    }
    return g_string_free(out, FALSE);
}

/* The numbers of dma and storm, checked here so that a scenario that would
 * send the engine past its buffer, or ask for a range past 2^64, stops
 * before any board starts. What depends on the board (ram+N past the end
 * of RAM, say) the runner checks when it plays the step. */
/* An address word of a step: N, ram+N, pool+N or gpa(VM)+N of a VM
 * declared before. */
static int check_addr(const Scenario *s, const char *file, unsigned line, const char *v, const char *w, uint64_t *off,
                      GError **err)
{
    ScnBase b;
    char vm[SCN_NAME_MAX + 1];
    if (scenario_parse_addr_vm(w, &b, vm, sizeof vm, off))
        return fail(err, file, line, "%s: ADDR: expected N, ram+N, pool+N or gpa(VM)+N, got '%s'", v, w ? w : "");
    if (b == SCN_GPA && !scenario_vm(s, vm)) return fail(err, file, line, "%s: %s: no VM '%s' declared before", v, w, vm);
    return 0;
}

static int check_dma(const Scenario *s, const char *file, unsigned line, char **w, bool storm, GError **err)
{
    const char *v = w[0];
    uint64_t off, len, count = 1, stride = 4096, offset = 0;
    int rc = check_addr(s, file, line, v, w[3], &off, err);
    if (rc) return rc;
    if (tb_parse_size(w[4], &len) || len == 0 || len > SCN_DMA_MAX)
        return fail(err, file, line, "%s: LEN: expected 1..%u (the engine's buffer), got '%s'", v, SCN_DMA_MAX, w[4]);
    unsigned opt = 5;
    if (storm) {
        if (tb_parse_u64(w[5], &count) || count == 0 || count > SCN_STORM_MAX)
            return fail(err, file, line, "storm: COUNT: expected 1..%u, got '%s'", SCN_STORM_MAX, w[5]);
        opt = 6;
    }
    for (unsigned i = opt; w[i]; i++) {
        if (g_str_has_prefix(w[i], "stride=") && !tb_parse_size(w[i] + 7, &stride)) continue;
        if (g_str_has_prefix(w[i], "offset=") && !tb_parse_size(w[i] + 7, &offset)) continue;
        return fail(err, file, line, "%s: unknown option or bad number '%s' (stride=N, offset=N)", v, w[i]);
    }
    if (offset > SCN_DMA_MAX - len)
        return fail(err, file, line, "%s: offset=%llu with LEN %llu runs past the engine's %u-byte buffer", v,
                    (unsigned long long)offset, (unsigned long long)len, SCN_DMA_MAX);
    /* the last transfer, ADDR + (COUNT-1) * stride + LEN, even from base 0 */
    if ((count > 1 && stride > (UINT64_MAX - off) / (count - 1)) || tb_span_wraps(off + (count - 1) * stride, len))
        return fail(err, file, line, "%s: ADDR %s%s + LEN %llu runs past the end of the 64-bit address space", v, w[3],
                    count > 1 ? " + (COUNT-1) * stride" : "", (unsigned long long)len);
    return 0;
}

/* The FIELD=VALUE words of expect-fault and expect-counters: known keys,
 * each once, values as expect-value.h takes them. */
typedef struct {
    const char *key;
    bool numeric;
} FieldKey;

static const FieldKey fault_fields[] = { { "from", false },   { "repeat", true },       { "dropped", true },
                                         { "reason", true },  { "reason-name", false }, { NULL, false } };
static const FieldKey counters[] = { { "seen", true }, { "unowned", true }, { "overflows", true }, { NULL, false } };
static const FieldKey client_counters[] = { { "seen", true },   { "unowned", true }, { "overflows", true },
                                            { "queued", true }, { "dropped", true }, { NULL, false } };

static int check_fields(const Scenario *s, const char *file, unsigned line, const char *v, char **w, const FieldKey *keys,
                        GError **err)
{
    GString *known = g_string_new(NULL);
    for (unsigned k = 0; keys[k].key; k++) g_string_append_printf(known, "%s%s=", k ? ", " : "", keys[k].key);
    g_autofree char *names = g_string_free(known, FALSE);
    for (unsigned i = 0; w[i]; i++) {
        const char *eq = strchr(w[i], '=');
        unsigned k = 0;
        while (keys[k].key && (!eq || strlen(keys[k].key) != (size_t)(eq - w[i]) || strncmp(w[i], keys[k].key, (size_t)(eq - w[i]))))
            k++;
        if (!keys[k].key) return fail(err, file, line, "%s: '%s': expected one of %s", v, w[i], names);
        for (unsigned j = 0; j < i; j++)
            if (strncmp(w[j], w[i], (size_t)(eq - w[i]) + 1) == 0) return fail(err, file, line, "%s: %s given twice", v, keys[k].key);
        if (strcmp(keys[k].key, "from") == 0) {
            if (!scenario_has_client(s, eq + 1) || scenario_client_guest(s, eq + 1))
                return fail(err, file, line, "%s: from=%s: not a host client declared before", v, eq + 1);
            continue;
        }
        char why[160];
        if (!ev_valid(eq + 1, keys[k].numeric, why, sizeof why)) return fail(err, file, line, "%s: %s=: %s", v, keys[k].key, why);
    }
    return 0;
}

static int check_ms(const char *file, unsigned line, const char *v, const char *word, unsigned max, GError **err)
{
    uint64_t ms;
    if (tb_parse_u64(word, &ms) || ms > max)
        return fail(err, file, line, "%s: expected milliseconds 0..%u, got '%s'", v, max, word);
    return 0;
}

/* expect-state [NAME] running | dss [TEXT] | refused [TEXT] | stopped | exited N,
 * as the process NAME (the host service when absent or "service") can be. */
static int check_state(const Scenario *s, const char *file, unsigned line, char **w, GError **err)
{
    unsigned n = g_strv_length(w), k = 1;
    const char *kind = "service";
    if (n >= 2 && scenario_vm(s, w[1])) kind = "vm", k = 2;
    else if (n >= 2 && scenario_guest(s, w[1])) kind = "guest", k = 2;
    else if (n >= 2 && strcmp(w[1], "service") == 0) k = 2;
    static const char *const allowed[][6] = { { "running", "dss", "exited", NULL },
                                              { "running", "dss", "refused", "stopped", "exited", NULL },
                                              { "running", "dss", "exited", NULL } };
    static const char *const usage[] = { "[service] running | dss [REASON TEXT] | exited N",
                                         "VM running | dss [TEXT] | refused [TEXT] | stopped [TEXT] | exited N",
                                         "GUEST running | dss [REASON TEXT] | exited N" };
    unsigned which = kind[0] == 's' ? 0 : kind[0] == 'v' ? 1 : 2;
    const char *st = k < n ? w[k] : NULL;
    uint64_t code;
    if (!st || !in(allowed[which], st) || (!strcmp(st, "running") && n > k + 1) ||
        (!strcmp(st, "exited") && (n != k + 2 || tb_parse_u64(w[k + 1], &code) || code > 255)))
        return fail(err, file, line, "expect-state: expected %s%s", usage[which],
                    which == 0 ? " (or a VM's or guest's name first)" : "");
    return 0;
}

/* start VM|GUEST => running | refused [TEXT] (a VM) | dss [TEXT] (a guest) */
static int check_start(const Scenario *s, const char *file, unsigned line, char **w, char **expect, GError **err)
{
    bool vm = w[1] && scenario_vm(s, w[1]), guest = w[1] && scenario_guest(s, w[1]);
    if (g_strv_length(w) != 2 || (!vm && !guest))
        return fail(err, file, line, "start: expected VM or GUEST (declared before) => running | %s", "refused|dss [TEXT]");
    const char *e = expect ? expect[0] : NULL;
    if (!e || (strcmp(e, "running") && strcmp(e, vm ? "refused" : "dss")) || (!strcmp(e, "running") && expect[1]))
        return fail(err, file, line, "start %s: expected '=> running' or '=> %s [REASON TEXT]'", w[1], vm ? "refused" : "dss");
    return 0;
}

static int check_step(const Scenario *s, const char *file, unsigned line, char **w, char **expect, GError **err)
{
    const char *v = w[0];
    unsigned n = g_strv_length(w);
    if (strcmp(v, "dma") == 0 || strcmp(v, "storm") == 0) {
        bool storm = v[0] == 's';
        if (n < (storm ? 6u : 5u) || (strcmp(w[2], "read") && strcmp(w[2], "write")))
            return fail(err, file, line, "%s: expected DEV read|write ADDR LEN%s => ok|blocked", v, storm ? " COUNT [stride=N]" : "");
        if (!expect || !expect[0] || (strcmp(expect[0], "ok") && strcmp(expect[0], "blocked") && strcmp(expect[0], "interrupt")))
            return fail(err, file, line, "%s: expected '=> ok', '=> blocked' or '=> interrupt'", v);
        return check_dma(s, file, line, w, storm, err);
    }
    if (strcmp(v, "ram") == 0) {
        if (n != 5 || (strcmp(w[1], "fill") && strcmp(w[1], "expect")))
            return fail(err, file, line, "ram: expected fill|expect ADDR LEN BYTE");
        uint64_t off, len, byte;
        g_autofree char *what = g_strdup_printf("ram %s", w[1]);
        int rc = check_addr(s, file, line, what, w[2], &off, err);
        if (rc) return rc;
        if (tb_parse_size(w[3], &len)) return fail(err, file, line, "ram %s: LEN: expected a size, got '%s'", w[1], w[3]);
        if (tb_parse_u64(w[4], &byte) || byte > 255)
            return fail(err, file, line, "ram %s: BYTE: expected 0..255, got '%s'", w[1], w[4]);
        if (tb_span_wraps(off, len))
            return fail(err, file, line, "ram %s: %s + LEN %llu runs past the end of the 64-bit address space", w[1], w[2],
                        (unsigned long long)len);
        return 0;
    }
    if (strcmp(v, "expect-fault") == 0) {
        if (n < 4 || (strcmp(w[3], "read") && strcmp(w[3], "write")))
            return fail(err, file, line, "expect-fault: expected DEV ADDR read|write [from=CLIENT] [FIELD=VALUE ...]");
        int rc = check_addr(s, file, line, v, w[2], &(uint64_t){ 0 }, err);
        if (rc) return rc;
        return check_fields(s, file, line, v, w + 4, fault_fields, err);
    }
    if (strcmp(v, "expect-counters") == 0) {
        /* [CLIENT] KEY=VALUE ...: a client's own queue needs the client */
        bool client = n >= 2 && !strchr(w[1], '=');
        if (client && (!scenario_has_client(s, w[1]) || scenario_client_guest(s, w[1])))
            return fail(err, file, line, "expect-counters: '%s' is not a host client declared before", w[1]);
        if (n < (client ? 3u : 2u))
            return fail(err, file, line, "expect-counters: expected [CLIENT] KEY=VALUE ... (seen, unowned, overflows; "
                                         "with CLIENT also queued, dropped)");
        return check_fields(s, file, line, v, w + (client ? 2 : 1), client ? client_counters : counters, err);
    }
    if (strcmp(v, "expect-no-fault") == 0) {
        if (n > 2) return fail(err, file, line, "expect-no-fault: expected [MS]");
        if (n == 2) return check_ms(file, line, v, w[1], SCN_NO_FAULT_MAX_MS, err);
    }
    if (strcmp(v, "expect-state") == 0) return check_state(s, file, line, w, err);
    if (strcmp(v, "start") == 0) return check_start(s, file, line, w, expect, err);
    if (strcmp(v, "kill") == 0) {
        bool process = n >= 2 && (strcmp(w[1], "service") == 0 || scenario_vm(s, w[1]) || scenario_guest(s, w[1]));
        if (n < 2 || n > 3 || (!process && (n > 2 || !scenario_has_client(s, w[1]))) ||
            (n == 3 && strcmp(w[2], "TERM") && strcmp(w[2], "INT") && strcmp(w[2], "HUP") && strcmp(w[2], "KILL")))
            return fail(err, file, line, "kill: expected a client name or 'service|VM|GUEST [TERM|INT|HUP|KILL]'");
    }
    if (strcmp(v, "wait") == 0) {
        if (n != 2) return fail(err, file, line, "wait: expected milliseconds");
        return check_ms(file, line, v, w[1], SCN_WAIT_MAX_MS, err);
    }
    if (in(step_verbs, v)) return 0;
    if (!scenario_has_client(s, v))
        return fail(err, file, line, "unknown statement '%s' (a step, a header keyword, or a declared client)", v);
    if (n < 2) return fail(err, file, line, "%s: expected a client command", v);
    /* guest clients speak guest-physical addresses: gpa(VM)+N in their commands */
    for (unsigned i = 1; i < n; i++) {
        const char *eq = strchr(w[i], '=');
        const char *val = eq ? eq + 1 : w[i];
        if (g_str_has_prefix(val, "gpa(")) {
            int rc = check_addr(s, file, line, v, val, &(uint64_t){ 0 }, err);
            if (rc) return rc;
        }
    }
    return 0;
}

static int parse_text(Scenario *s, const char *path, const char *text, unsigned depth, GError **err);

static int parse_file(Scenario *s, const char *path, unsigned depth, GError **err)
{
    g_autofree char *text = NULL;
    GError *e = NULL;
    if (!g_file_get_contents(path, &text, NULL, &e)) {
        g_set_error(err, TB_ERROR, ENOENT, "%s: %s", path, e->message);
        g_error_free(e);
        return -ENOENT;
    }
    return parse_text(s, path, text, depth, err);
}

/* The statements of text, as if read from the file path (messages name it;
 * includes are relative to it). */
static int parse_text(Scenario *s, const char *path, const char *text, unsigned depth, GError **err)
{
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    for (unsigned i = 0; lines[i]; i++) {
        unsigned line = i + 1;
        char *hash = strchr(lines[i], '#');
        if (hash) *hash = '\0';
        char *l = g_strstrip(lines[i]);
        if (!*l) continue;
        char *arrow = strstr(l, "=>");
        char **expect = NULL;
        if (arrow) {
            *arrow = '\0';
            expect = split(arrow + 2);
        }
        g_auto(GStrv) w = split(l);
        if (!w[0]) {
            g_strfreev(expect);
            return fail(err, path, line, "'=>' without a statement");
        }
        if (in(header_verbs, w[0]) && !(strcmp(w[0], "start") == 0 && expect)) {
            if (expect) {
                g_strfreev(expect);
                return fail(err, path, line, "%s takes no '=>'", w[0]);
            }
            const char *rest = l + strlen(w[0]);
            int rc = header(s, path, line, w, rest, depth, err);
            if (rc) return rc;
            continue;
        }
        int rc = check_step(s, path, line, w, expect, err);
        if (rc) {
            g_strfreev(expect);
            return rc;
        }
        ScnStep *st = g_new0(ScnStep, 1);
        st->file = g_strdup(path);
        st->line = line;
        st->words = g_strdupv(w);
        st->expect = expect;
        st->text = g_strdup_printf("%s%s%s", l, arrow ? " => " : "", arrow ? arrow + 2 + strspn(arrow + 2, " \t") : "");
        g_ptr_array_add(s->steps, st);
    }
    return 0;
}

static Scenario *load(const char *path, const char *text, GError **err)
{
    Scenario *s = g_new0(Scenario, 1);
    s->file = g_strdup(path);
    s->service = g_strdup("smmuman");
    s->config = g_ptr_array_new_with_free_func(g_free);
    s->config_origin = g_ptr_array_new_with_free_func(g_free);
    s->clients = g_ptr_array_new_with_free_func(g_free);
    s->vms = g_ptr_array_new_with_free_func(vm_free);
    s->guests = g_ptr_array_new_with_free_func(guest_free);
    s->steps = g_ptr_array_new_with_free_func(step_free);
    if (text ? parse_text(s, path, text, 0, err) : parse_file(s, path, 0, err)) {
        scenario_free(s);
        return NULL;
    }
    if (!s->name) {
        g_autofree char *base = g_path_get_basename(path);
        char *dot = strrchr(base, '.');
        if (dot) *dot = '\0';
        s->name = g_strdup(base);
    }
    if (!s->boards) s->boards = g_strsplit("any", " ", -1);
    return s;
}

Scenario *scenario_load(const char *path, GError **err) { return load(path, NULL, err); }

Scenario *scenario_parse_text(const char *text, const char *path, GError **err) { return load(path, text, err); }
