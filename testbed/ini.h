/* A small INI reader that remembers where every key came from, so that a bad
 * value in a board definition is reported as file:line. GKeyFile cannot say
 * which line a value stood on. */
#ifndef TB_INI_H
#define TB_INI_H

#include <glib.h>

typedef struct {
    char *section; /* "" before the first [section] */
    char *key;
    char *value;
    unsigned line;
} TbIniEntry;

typedef struct {
    char *path;
    GPtrArray *entries; /* of TbIniEntry*, in file order */
} TbIni;

/* Parses text (named path in messages). Returns NULL with err set on a
 * malformed line; the message names path:line. */
TbIni *tb_ini_parse(const char *path, const char *text, size_t len, GError **err);
TbIni *tb_ini_load(const char *path, GError **err);
void tb_ini_free(TbIni *ini);
/* Last entry for section/key, or NULL. */
const TbIniEntry *tb_ini_get(const TbIni *ini, const char *section, const char *key);
/* Distinct section names in file order; caller frees the array (not the strings). */
GPtrArray *tb_ini_sections(const TbIni *ini);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(TbIni, tb_ini_free)

#endif
