#include "scenario.h"

#include <errno.h>
#include <string.h>

#include "tb-error.h"

#define MAX_INCLUDE_DEPTH 8

static const char *const header_verbs[] = { "scenario", "purpose", "board", "service", "config", "start", "client",
                                            "include", NULL };
static const char *const step_verbs[] = { "dma", "storm", "ram", "expect-fault", "expect-no-fault", "expect-state",
                                          "kill", "wait", "corrupt-table", NULL };

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

void scenario_free(Scenario *s)
{
    if (!s) return;
    g_free(s->name);
    g_free(s->file);
    g_free(s->purpose);
    g_strfreev(s->boards);
    g_free(s->service);
    g_ptr_array_unref(s->config);
    g_free(s->start_reason);
    g_ptr_array_unref(s->clients);
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
    } else if (strcmp(v, "service") == 0) {
        if (n != 2 || (strcmp(w[1], "smmuman") && strcmp(w[1], "smmuman-safety")))
            return fail(err, file, line, "service: expected smmuman or smmuman-safety");
        g_free(s->service);
        s->service = g_strdup(w[1]);
    } else if (strcmp(v, "config") == 0) {
        if (n < 2) return fail(err, file, line, "config: expected a configuration line");
        g_ptr_array_add(s->config, g_strstrip(g_strdup(rest)));
    } else if (strcmp(v, "start") == 0) {
        if (n < 2 || (strcmp(w[1], "running") && strcmp(w[1], "dss")))
            return fail(err, file, line, "start: expected 'running' or 'dss [REASON TEXT]'");
        s->start_dss = strcmp(w[1], "dss") == 0;
        g_free(s->start_reason);
        s->start_reason = n > 2 ? g_strjoinv(" ", w + 2) : NULL;
    } else if (strcmp(v, "client") == 0) {
        if (n < 2 || n > 3 || (n == 3 && strcmp(w[2], "target")) || in(header_verbs, w[1]) || in(step_verbs, w[1]) ||
            strcmp(w[1], "service") == 0)
            return fail(err, file, line, "client: expected NAME [target] (NAME not a keyword)");
        if (scenario_has_client(s, w[1])) return fail(err, file, line, "client: '%s' declared twice", w[1]);
        g_ptr_array_add(s->clients, g_strjoinv(" ", w + 1));
    }
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
        return 0;
    }
    if (strcmp(v, "ram") == 0) {
        if (n != 5 || (strcmp(w[1], "fill") && strcmp(w[1], "expect")))
            return fail(err, file, line, "ram: expected fill|expect ADDR LEN BYTE");
        return 0;
    }
    if (strcmp(v, "expect-fault") == 0 && (n < 4 || (strcmp(w[3], "read") && strcmp(w[3], "write"))))
        return fail(err, file, line, "expect-fault: expected DEV ADDR read|write");
    if (strcmp(v, "expect-state") == 0 && (n < 2 || (strcmp(w[1], "running") && strcmp(w[1], "dss"))))
        return fail(err, file, line, "expect-state: expected running | dss [REASON TEXT]");
    if (strcmp(v, "kill") == 0 && (n < 2 || n > 3 || (strcmp(w[1], "service") && !scenario_has_client(s, w[1]))))
        return fail(err, file, line, "kill: expected a client name or 'service [TERM|KILL]'");
    if (strcmp(v, "wait") == 0 && n != 2) return fail(err, file, line, "wait: expected milliseconds");
    if (in(step_verbs, v)) return 0;
    if (!scenario_has_client(s, v))
        return fail(err, file, line, "unknown statement '%s' (a step, a header keyword, or a declared client)", v);
    if (n < 2) return fail(err, file, line, "%s: expected a client command", v);
    return 0;
}

static int parse_file(Scenario *s, const char *path, unsigned depth, GError **err)
{
    g_autofree char *text = NULL;
    GError *e = NULL;
    if (!g_file_get_contents(path, &text, NULL, &e)) {
        g_set_error(err, TB_ERROR, ENOENT, "%s: %s", path, e->message);
        g_error_free(e);
        return -ENOENT;
    }
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
        if (in(header_verbs, w[0])) {
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

Scenario *scenario_load(const char *path, GError **err)
{
    Scenario *s = g_new0(Scenario, 1);
    s->file = g_strdup(path);
    s->service = g_strdup("smmuman");
    s->config = g_ptr_array_new_with_free_func(g_free);
    s->clients = g_ptr_array_new_with_free_func(g_free);
    s->steps = g_ptr_array_new_with_free_func(step_free);
    if (parse_file(s, path, 0, err)) {
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
