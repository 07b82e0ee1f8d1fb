/* libFuzzer target: scenario files. Any text either parses, with every step
 * carrying a file and line, or is refused with a one-line message naming
 * a place; never a crash. Includes are not followed out of the temp dir. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scenario.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char *path;
    if (!path) {
        char *dir = g_dir_make_tmp("fuzz-scn-XXXXXX", NULL);
        if (!dir) abort();
        path = g_build_filename(dir, "input.scn", NULL);
        g_free(dir);
    }
    /* an include would read other files: keep the input to itself */
    if (memmem(data, size, "include", 7) || memchr(data, '\0', size)) return 0;
    if (!g_file_set_contents(path, (const char *)data, (gssize)size, NULL)) abort();
    GError *err = NULL;
    Scenario *s = scenario_load(path, &err);
    if (s) {
        if (err || !s->name || !s->boards || !s->boards[0]) abort();
        for (guint i = 0; i < s->steps->len; i++) {
            ScnStep *st = g_ptr_array_index(s->steps, i);
            if (!st->file || st->line == 0 || !st->words[0]) abort();
        }
        scenario_free(s);
    } else {
        if (!err || !err->message[0] || strchr(err->message, '\n')) abort();
        g_error_free(err);
    }
    return 0;
}
