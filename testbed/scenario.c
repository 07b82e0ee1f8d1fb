#include "scenario.h"

#include <errno.h>
#include <string.h>

#include "num.h"
#include "ram-span.h"
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

int scenario_parse_addr(const char *w, ScnBase *base, uint64_t *off)
{
    ScnBase b = SCN_ABS;
    const char *num = w;
    if (!w) return -EINVAL;
    if (g_str_has_prefix(w, "ram+")) b = SCN_RAM, num = w + 4;
    else if (g_str_has_prefix(w, "pool+")) b = SCN_POOL, num = w + 5;
    int rc = tb_parse_size(num, off);
    if (rc == 0 && base) *base = b;
    return rc;
}

/* The numbers of dma and storm, checked here so that a scenario that would
 * send the engine past its buffer, or ask for a range past 2^64, stops
 * before any board starts. What depends on the board (ram+N past the end
 * of RAM, say) the runner checks when it plays the step. */
static int check_dma(const char *file, unsigned line, char **w, bool storm, GError **err)
{
    const char *v = w[0];
    uint64_t off, len, count = 1, stride = 4096, offset = 0;
    if (scenario_parse_addr(w[3], NULL, &off))
        return fail(err, file, line, "%s: ADDR: expected N, ram+N or pool+N, got '%s'", v, w[3]);
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

static int check_ms(const char *file, unsigned line, const char *v, const char *word, unsigned max, GError **err)
{
    uint64_t ms;
    if (tb_parse_u64(word, &ms) || ms > max)
        return fail(err, file, line, "%s: expected milliseconds 0..%u, got '%s'", v, max, word);
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
        return check_dma(file, line, w, storm, err);
    }
    if (strcmp(v, "ram") == 0) {
        if (n != 5 || (strcmp(w[1], "fill") && strcmp(w[1], "expect")))
            return fail(err, file, line, "ram: expected fill|expect ADDR LEN BYTE");
        uint64_t off, len, byte;
        if (scenario_parse_addr(w[2], NULL, &off))
            return fail(err, file, line, "ram %s: ADDR: expected N, ram+N or pool+N, got '%s'", w[1], w[2]);
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
            return fail(err, file, line, "expect-fault: expected DEV ADDR read|write");
        if (scenario_parse_addr(w[2], NULL, &(uint64_t){ 0 }))
            return fail(err, file, line, "expect-fault: ADDR: expected N, ram+N or pool+N, got '%s'", w[2]);
    }
    if (strcmp(v, "expect-no-fault") == 0) {
        if (n > 2) return fail(err, file, line, "expect-no-fault: expected [MS]");
        if (n == 2) return check_ms(file, line, v, w[1], SCN_NO_FAULT_MAX_MS, err);
    }
    if (strcmp(v, "expect-state") == 0 && (n < 2 || (strcmp(w[1], "running") && strcmp(w[1], "dss"))))
        return fail(err, file, line, "expect-state: expected running | dss [REASON TEXT]");
    if (strcmp(v, "kill") == 0 &&
        (n < 2 || n > 3 || (strcmp(w[1], "service") && (n > 2 || !scenario_has_client(s, w[1]))) ||
         (n == 3 && strcmp(w[2], "TERM") && strcmp(w[2], "INT") && strcmp(w[2], "HUP") && strcmp(w[2], "KILL"))))
        return fail(err, file, line, "kill: expected a client name or 'service [TERM|INT|HUP|KILL]'");
    if (strcmp(v, "wait") == 0) {
        if (n != 2) return fail(err, file, line, "wait: expected milliseconds");
        return check_ms(file, line, v, w[1], SCN_WAIT_MAX_MS, err);
    }
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
