/* libFuzzer target: board definitions (INI reader and validation). */
#include <stdint.h>
#include <stdlib.h>

#include "board-def.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    TbBoardDef def;
    GError *err = NULL;
    int rc = tb_board_def_parse("fuzz.board", (const char *)data, size, &def, &err);
    if (rc == 0) {
        if (err || def.n_edu == 0 || def.pool_base < def.ram_base) abort();
        tb_board_def_clear(&def);
    } else {
        if (!err) abort(); /* a refusal always comes with a message */
        g_error_free(err);
    }
    return 0;
}
