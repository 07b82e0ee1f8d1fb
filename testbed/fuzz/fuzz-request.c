/* libFuzzer target: the agent's request grammar. Any input must either parse
 * into a request that respects the limits the agent relies on, or be refused
 * with a message; never crash, never read past the line. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../qemu-plugin/request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static Request req;
    char err[200];
    /* a private copy of exactly size bytes, so ASan sees any over-read */
    char *line = malloc(size ? size : 1);
    if (!line) return 0;
    memcpy(line, data, size);
    int rc = request_parse(line, size, &req, err, sizeof err);
    if (rc == 0) {
        if (req.kind == REQ_DMA || req.kind == REQ_STORM) {
            if (req.len == 0 || req.offset + req.len > EDU_BUF_SIZE) abort();
        }
        if ((req.kind == REQ_MMIO_READ || req.kind == REQ_MMIO_WRITE) && req.size != 1 &&
            req.size != 2 && req.size != 4 && req.size != 8)
            abort();
    } else if (err[0] == '\0' || memchr(err, '\n', strlen(err))) {
        abort(); /* every refusal says why, on one line */
    }
    free(line);
    return 0;
}
