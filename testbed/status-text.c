#include "status-text.h"

#include <glib.h>
#include <string.h>

char *status_text_value(const char *text, const char *key)
{
    size_t n = strlen(key);
    for (const char *l = text; l && *l;) {
        const char *eol = strchr(l, '\n');
        if (strncmp(l, key, n) == 0 && l[n] == '=')
            return eol ? g_strndup(l + n + 1, (size_t)(eol - l - n - 1)) : g_strdup(l + n + 1);
        l = eol ? eol + 1 : NULL;
    }
    return NULL;
}

char *status_file_value(const char *path, const char *key)
{
    g_autofree char *text = NULL;
    if (!path || !g_file_get_contents(path, &text, NULL, NULL)) return NULL;
    return status_text_value(text, key);
}
