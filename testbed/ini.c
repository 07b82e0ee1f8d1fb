#include "ini.h"

#include <string.h>

static void entry_free(gpointer p)
{
    TbIniEntry *e = p;
    g_free(e->section);
    g_free(e->key);
    g_free(e->value);
    g_free(e);
}

void tb_ini_free(TbIni *ini)
{
    if (!ini) return;
    g_free(ini->path);
    g_ptr_array_unref(ini->entries);
    g_free(ini);
}

TbIni *tb_ini_parse(const char *path, const char *text, size_t len, GError **err)
{
    g_autoptr(TbIni) ini = g_new0(TbIni, 1);
    ini->path = g_strdup(path);
    ini->entries = g_ptr_array_new_with_free_func(entry_free);
    g_autofree char *section = g_strdup("");

    if (memchr(text, '\0', len)) {
        g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: contains a NUL byte", path);
        return NULL;
    }
    g_autofree char *copy = g_strndup(text, len);
    char **lines = g_strsplit(copy, "\n", -1);
    for (unsigned i = 0; lines[i]; i++) {
        unsigned lineno = i + 1;
        char *l = g_strstrip(lines[i]);
        if (*l == '\0' || *l == '#' || *l == ';') continue;
        if (*l == '[') {
            size_t n = strlen(l);
            if (n < 3 || l[n - 1] != ']') {
                g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                            "%s:%u: expected '[section]', got '%s'", path, lineno, l);
                g_strfreev(lines);
                return NULL;
            }
            g_free(section);
            section = g_strndup(l + 1, n - 2);
            g_strstrip(section);
            continue;
        }
        char *eq = strchr(l, '=');
        if (!eq || eq == l) {
            g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                        "%s:%u: expected 'key=value', got '%s'", path, lineno, l);
            g_strfreev(lines);
            return NULL;
        }
        *eq = '\0';
        TbIniEntry *e = g_new0(TbIniEntry, 1);
        e->section = g_strdup(section);
        e->key = g_strdup(g_strstrip(l));
        e->value = g_strdup(g_strstrip(eq + 1));
        e->line = lineno;
        g_ptr_array_add(ini->entries, e);
    }
    g_strfreev(lines);
    return g_steal_pointer(&ini);
}

TbIni *tb_ini_load(const char *path, GError **err)
{
    g_autofree char *text = NULL;
    gsize len = 0;
    if (!g_file_get_contents(path, &text, &len, err)) return NULL;
    return tb_ini_parse(path, text, len, err);
}

const TbIniEntry *tb_ini_get(const TbIni *ini, const char *section, const char *key)
{
    for (guint i = ini->entries->len; i-- > 0;) {
        const TbIniEntry *e = g_ptr_array_index(ini->entries, i);
        if (strcmp(e->section, section) == 0 && strcmp(e->key, key) == 0) return e;
    }
    return NULL;
}

GPtrArray *tb_ini_sections(const TbIni *ini)
{
    GPtrArray *out = g_ptr_array_new();
    for (guint i = 0; i < ini->entries->len; i++) {
        const TbIniEntry *e = g_ptr_array_index(ini->entries, i);
        gboolean seen = FALSE;
        for (guint j = 0; j < out->len && !seen; j++)
            seen = strcmp(g_ptr_array_index(out, j), e->section) == 0;
        if (!seen) g_ptr_array_add(out, e->section);
    }
    return out;
}
