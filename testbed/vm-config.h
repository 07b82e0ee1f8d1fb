/* A VM's configuration for smmu-qvm, in the style of a QNX hypervisor qvm
 * configuration file (a subset, plus what the model needs): docs/vm-config.md.
 *
 *   system vm1
 *   ram 0x0,32M=0x4000000
 *   pass loc pci:0:2.0=pci:0:4.0
 *   vdev smmu
 *       loc vdev-smmu.sock
 *   cert qvm yes
 *   cert vdev:smmu yes
 *
 * The parser is pure (text in, structure or one error out) so that it can be
 * unit-tested and fuzzed; the first error stops it and names FILE:LINE:COL
 * and what was expected, as smmuman's own configuration does. */
#ifndef TB_VM_CONFIG_H
#define TB_VM_CONFIG_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#define VM_PAGE      4096u
#define VM_MAX_RAM   64
#define VM_MAX_PASS  32
#define VM_MAX_VDEV  16
#define VM_MAX_FILE  (1024 * 1024) /* bounds reading a runaway file */
#define VM_MAX_LINE  4096
#define VM_MAX_NAME  64

typedef struct {
    uint64_t gpa, size, hpa; /* guest-physical start, length, host-physical start; all page-aligned */
    char *where;             /* FILE:LINE:COL of its word */
} VmRam;

typedef struct {
    unsigned bus, dev, func;
} VmBdf;

typedef struct {
    VmBdf guest, host;
    char *where;
} VmPass;

typedef struct {
    char *type;  /* "smmu", or any other vdev type (only recorded, for its certification) */
    char *name;  /* its name option, else its type: the key of cert.vdev.NAME */
    char *loc;   /* its loc option (for smmu: the socket path), or NULL */
    bool cert;   /* certified: a 'cert vdev:NAME yes' line */
    char *where; /* FILE:LINE:COL of its vdev keyword */
    unsigned line, col; /* the same, for messages about the vdev as a whole */
} VmVdev;

/* Components whose certification the VM's configuration states (the host
 * service's own facts come from the host service, never from here). */
typedef enum {
    VM_CERT_HOST_KERNEL,  /* host-kernel: the host's microkernel */
    VM_CERT_HOST_PROCNTO, /* host-procnto: the host's process manager */
    VM_CERT_LIBSMMU,      /* libsmmu: the client library the VM uses */
    VM_CERT_QVM,          /* qvm: the VM process itself */
    VM_CERT_N
} VmCert;

typedef struct {
    char *file; /* as given to the parser */
    char *name; /* system NAME, else the file's base name without its extension */
    VmRam ram[VM_MAX_RAM];
    unsigned n_ram;
    VmPass pass[VM_MAX_PASS];
    unsigned n_pass;
    VmVdev vdev[VM_MAX_VDEV];
    unsigned n_vdev;
    int smmu; /* index of the 'vdev smmu', or -1: the VM has no vdev-smmu */
    bool cert[VM_CERT_N];
} VmConfig;

/* The keyword of a component in 'cert COMPONENT yes|no' and, with "cert.host."
 * or "cert." before it, in the STATUS text. */
const char *vm_cert_keyword(VmCert c);

/* Parses text[0..len) read from `file` (used in messages and for the default
 * name). 0, or a negative errno with *err set (TB_ERROR, code = errno) and
 * *out left empty. */
int vm_config_parse(const char *file, const char *text, size_t len, VmConfig *out, GError **err);
/* Reads and parses a file (a regular file of at most VM_MAX_FILE bytes). */
int vm_config_load(const char *path, VmConfig *out, GError **err);
void vm_config_clear(VmConfig *c);

/* ---- questions about a parsed configuration ---- */

/* One piece of a guest-physical range: inside one ram range. */
typedef struct {
    uint64_t gpa, len, hpa;
} VmPiece;

/* Translates guest-physical [gpa, gpa + len) to host-physical pieces, in
 * order; pieces whose host ranges are back to back are merged. Every byte
 * must be guest RAM: a range may span two ram ranges only where they are
 * contiguous in guest-physical space. 0 with *n pieces written (at most
 * max; -E2BIG beyond), or -ERANGE (not all RAM), -EINVAL (len 0 or wraps). */
int vm_translate(const VmConfig *c, uint64_t gpa, uint64_t len, VmPiece *out, unsigned max, unsigned *n);
/* The guest RAM's byte at gpa exists. */
bool vm_gpa_is_ram(const VmConfig *c, uint64_t gpa);
const VmPass *vm_pass_by_guest(const VmConfig *c, unsigned bus, unsigned dev, unsigned func);
const VmPass *vm_pass_by_host(const VmConfig *c, unsigned bus, unsigned dev, unsigned func);
/* "0x0-0x1ffffff, 0x2000000-0x3ffffff" (guest-physical, sorted), for messages. */
char *vm_ram_text(const VmConfig *c);
/* "pci:0:2.0, pci:0:3.0" (guest addresses), or "none". */
char *vm_pass_text(const VmConfig *c);

#endif
