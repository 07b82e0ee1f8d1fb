/* smmuctl: look at a running smmuman.
 *
 *   smmuctl [--json] status     mode, units, clients, fault counters
 *   smmuctl [--json] objects    objects, devices, regions, owners
 *   smmuctl [--json] faults [--count N] [--timeout MS]   watch records as they come
 *   smmuctl safety
 *   smmuctl --help | --version
 *
 * The socket is $SMMU_SOCKET (default /run/smmuman/attach). smmuctl is a
 * client like any other: it sees faults that happen while it is attached.
 * Exit status: 0 done; 1 failed (or fewer records than --count); 2 usage;
 * 3 smmuman entered its Design Safe State (its reason on stderr); 4 the
 * connection to smmuman was lost without one (killed, crashed). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../include/smmu.h"
#include "../lib/libsmmu-tools.h"
#include "../lib/proto.h"

#ifndef SMMU_VERSION
#error "SMMU_VERSION: the build passes the project's version"
#endif


enum { EXIT_USAGE = 2, EXIT_DSS = 3, EXIT_LOST = 4 };

static const char usage[] =
    "usage: smmuctl [--json] status|objects|safety\n"
    "       smmuctl [--json] faults [--count N] [--timeout MS]\n"
    "       smmuctl --help | --version\n"
    "Looks at the running smmuman through $SMMU_SOCKET (default " SMMU_DEFAULT_SOCKET ").\n"
    "  status    mode, units, clients, fault counters\n"
    "  objects   objects, devices, regions, owners\n"
    "  safety    whether the service and its library are the safety variants\n"
    "  faults    print fault records as they come (while smmuctl is attached)\n"
    "Exit status: 0 done; 1 failed, or fewer records than --count; 2 usage;\n"
    "3 smmuman entered its Design Safe State; 4 the connection to smmuman was lost.\n";

/* After a failed call: if the service is gone, say why and give the status
 * that tells a DSS from a lost connection; else report the error. */
static int failed(const char *what)
{
    int e = errno;
    const char *why = smmu_dss_reason();
    if (why && strncmp(why, SMMU_REASON_LOST, strlen(SMMU_REASON_LOST)) == 0) {
        fprintf(stderr, "smmuctl: %s (smmuman did not enter its Design Safe State: killed or crashed?)\n", why);
        return EXIT_LOST;
    }
    if (why) {
        fprintf(stderr, "smmuctl: smmuman entered its Design Safe State: %s\n", why);
        return EXIT_DSS;
    }
    fprintf(stderr, "smmuctl: %s: %s\n", what, strerror(e));
    return 1;
}

static void json_string(const char *s, size_t n)
{
    putchar('"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c < 0x20) printf("\\u%04x", c);
        else putchar(c);
    }
    putchar('"');
}

/* JSON for tools. status: one object, one key per line (values may hold
 * spaces). objects: an array, one object per line, from its space-separated
 * key=value words; "kind" is the line's first key. Human output: as is. */
static void json_status(const char *text)
{
    printf("{");
    bool first = true;
    for (const char *l = text; *l;) {
        const char *nl = strchr(l, '\n');
        size_t n = nl ? (size_t)(nl - l) : strlen(l);
        const char *eq = memchr(l, '=', n);
        if (eq) {
            printf("%s", first ? "" : ",");
            json_string(l, (size_t)(eq - l));
            printf(":");
            json_string(eq + 1, n - (size_t)(eq - l) - 1);
            first = false;
        }
        l += n + (nl ? 1 : 0);
    }
    printf("}\n");
}

static void json_objects(const char *text)
{
    printf("[");
    bool first_line = true;
    for (const char *l = text; *l;) {
        const char *nl = strchr(l, '\n');
        size_t n = nl ? (size_t)(nl - l) : strlen(l);
        const char *eq = memchr(l, '=', n);
        if (eq) {
            printf("%s{\"kind\":", first_line ? "" : ",");
            json_string(l, (size_t)(eq - l));
            first_line = false;
            for (const char *w = l; w < l + n;) {
                const char *sp = memchr(w, ' ', (size_t)(l + n - w));
                const char *end = sp ? sp : l + n;
                const char *e = memchr(w, '=', (size_t)(end - w));
                if (e) {
                    printf(",");
                    json_string(w, (size_t)(e - w));
                    printf(":");
                    json_string(e + 1, (size_t)(end - e - 1));
                }
                w = end + 1;
            }
            printf("}");
        }
        l += n + (nl ? 1 : 0);
    }
    printf("]\n");
}

static int watch_faults(bool json, long count, long timeout_ms)
{
    int fd = smmu_xfer_fd();
    long seen = 0;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (count < 0 || seen < count) {
        struct smmu_status st;
        int have;
        while ((count < 0 || seen < count) && (have = smmu_xfer_status(&st)) == 1) {
            seen++;
            const char *dir = st.flags & SSF_WRITE ? "write" : st.flags & SSF_READ ? "read" : "?";
            const char *name = smmu_fault_reason_name(&st);
            char dev[48];
            if (st.devid.type == SDT_PCI) snprintf(dev, sizeof dev, "pci:%u:%u.%u", st.devid.pci.bus, st.devid.pci.dev, st.devid.pci.func);
            else snprintf(dev, sizeof dev, "mem:0x%llx", (unsigned long long)st.devid.mmio.phys);
            if (json)
                printf("{\"device\":\"%s\",\"address\":\"0x%llx\",\"access\":\"%s\",\"reason\":%llu,\"reason_name\":\"%s\","
                       "\"dropped_before\":%s}\n",
                       dev, (unsigned long long)st.fault_addr, dir, (unsigned long long)st.hw_specific, name,
                       st.flags & SSF_DROPPED_FAULTS ? "true" : "false");
            else
                printf("fault device=%s address=0x%llx access=%s reason=0x%llx (%s)%s\n", dev,
                       (unsigned long long)st.fault_addr, dir, (unsigned long long)st.hw_specific, name,
                       st.flags & SSF_DROPPED_FAULTS ? " (records were dropped before this one)" : "");
            fflush(stdout);
        }
        if (have < 0) return failed("faults");
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long elapsed = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
        if (timeout_ms >= 0 && elapsed >= timeout_ms) break;
        struct pollfd p = { .fd = fd, .events = POLLIN };
        /* the descriptor also turns readable when the service goes away */
        poll(&p, 1, timeout_ms < 0 ? 1000 : (int)(timeout_ms - elapsed));
    }
    return count < 0 || seen >= count ? 0 : 1;
}

int main(int argc, char **argv)
{
    bool json = false;
    long count = -1, timeout_ms = -1;
    const char *cmd = NULL;
    /* --help and --version answer before anything else is looked at: no
     * connection, whatever else the line says */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, stdout);
            return 0;
        }
        if (strcmp(argv[i], "--version") == 0) {
            printf("smmuctl (smmuman) %s\n", SMMU_VERSION);
            return 0;
        }
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) json = true;
        else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc) count = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) timeout_ms = strtol(argv[++i], NULL, 10);
        else if (!cmd && argv[i][0] != '-') cmd = argv[i];
        else {
            fputs(usage, stderr);
            return EXIT_USAGE;
        }
    }
    /* an unknown command is a usage error, found before connecting */
    static const char *const cmds[] = { "status", "objects", "safety", "faults" };
    bool known = false;
    for (unsigned i = 0; cmd && i < sizeof cmds / sizeof cmds[0]; i++) known |= strcmp(cmd, cmds[i]) == 0;
    if (!known) {
        fputs(usage, stderr);
        return EXIT_USAGE;
    }
    if (smmu_init(0) < 0) {
        fprintf(stderr, "smmuctl: cannot reach smmuman at %s: %s\n",
                getenv("SMMU_SOCKET") ? getenv("SMMU_SOCKET") : SMMU_DEFAULT_SOCKET, strerror(errno));
        return 1;
    }
    int status = 0;
    if (strcmp(cmd, "status") == 0 || strcmp(cmd, "objects") == 0) {
        int op = strcmp(cmd, "status") == 0 ? SMMU_OP_STATUS : SMMU_OP_OBJECTS;
        char *text = NULL;
        /* EAGAIN: the text changed size while it was read page by page
         * (a client came or went): read it again, a few times at most */
        for (int attempt = 0; attempt < 3 && !text; attempt++)
            if (!(text = smmu_query_text_alloc(op)) && errno != EAGAIN) break;
        if (!text) {
            if (errno == EAGAIN) fprintf(stderr, "smmuctl: %s: the service's text kept changing while it was read\n", cmd);
            status = errno == EAGAIN ? 1 : failed(cmd);
        } else if (!json) {
            fputs(text, stdout);
        } else if (strcmp(cmd, "status") == 0) {
            json_status(text);
        } else {
            json_objects(text);
        }
        free(text);
    } else if (strcmp(cmd, "safety") == 0) {
        int r = smmu_safety();
        if (r == SMMUMAN_SAFETY_ERROR) status = failed(cmd);
        printf(json ? "{\"safety\":\"%s\"}\n" : "safety: %s\n",
               r == SMMUMAN_SAFETY_YES ? "yes" : r == SMMUMAN_SAFETY_NO ? "no" : "error");
    } else if (strcmp(cmd, "faults") == 0) {
        status = watch_faults(json, count, timeout_ms);
    } else {
        fputs(usage, stderr);
        status = EXIT_USAGE;
    }
    smmu_fini();
    return status;
}
