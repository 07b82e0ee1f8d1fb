/* libFuzzer target: VM configurations (testbed/vm-config.c). A file either
 * reads, and then keeps the parser's promises (guest RAM, a name, ranges
 * that translate to themselves), or is refused with a message. */
#include <stdint.h>
#include <stdlib.h>

#include "vm-config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    VmConfig c;
    GError *err = NULL;
    int rc = vm_config_parse("fuzz.vm", (const char *)data, size, &c, &err);
    if (rc != 0) {
        if (!err) abort(); /* a refusal always comes with a message */
        g_error_free(err);
        return 0;
    }
    if (err || c.n_ram == 0 || !c.name || !c.name[0]) abort();
    for (unsigned k = 0; k < c.n_ram; k++) {
        /* every ram range is guest RAM, all of it, backed where it says */
        VmPiece p[VM_MAX_RAM];
        unsigned n;
        if (vm_translate(&c, c.ram[k].gpa, c.ram[k].size, p, VM_MAX_RAM, &n) || n == 0) abort();
        uint64_t total = 0;
        for (unsigned i = 0; i < n; i++) total += p[i].len;
        if (total != c.ram[k].size || p[0].hpa != c.ram[k].hpa) abort();
    }
    if (c.smmu >= 0 && !c.vdev[c.smmu].loc) abort();
    g_free(vm_ram_text(&c));
    g_free(vm_pass_text(&c));
    vm_config_clear(&c);
    return 0;
}
