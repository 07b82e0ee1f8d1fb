#include "host-query.h"

#include <errno.h>
#include <glib.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../smmuman/lib/proto.h"

#define PAGE_TRIES 3 /* a text whose line count changes while it is read is read again */

typedef struct {
    int fd;
    gint64 deadline_us;
    uint32_t seq;
    SmmuMsg *req, *rep;
    uint8_t *buf;
} Conn;

/* Sends c->req and reads until its reply (events skipped). 0, or -errno. */
static int transact(Conn *c, char *err, size_t errlen)
{
    c->req->hdr.seq = ++c->seq;
    int n = smmu_msg_encode(c->req, false, c->buf, SMMU_MSG_MAX);
    if (n < 0 || send(c->fd, c->buf, (size_t)n, MSG_NOSIGNAL) != n) {
        snprintf(err, errlen, "sending %s: %s", smmu_op_name(c->req->hdr.op), g_strerror(n < 0 ? -n : errno));
        return n < 0 ? n : -errno;
    }
    for (;;) {
        gint64 left = (c->deadline_us - g_get_monotonic_time()) / 1000;
        struct pollfd p = { .fd = c->fd, .events = POLLIN };
        if (left <= 0 || poll(&p, 1, (int)left) <= 0) {
            snprintf(err, errlen, "no answer to %s", smmu_op_name(c->req->hdr.op));
            return -ETIMEDOUT;
        }
        ssize_t got = recv(c->fd, c->buf, SMMU_MSG_MAX + 1, MSG_TRUNC);
        if (got <= 0) {
            snprintf(err, errlen, "the service hung up");
            return -EPIPE;
        }
        char why[200] = "";
        if (got > SMMU_MSG_MAX || smmu_msg_decode(c->buf, (size_t)got, true, c->rep, why, sizeof why)) {
            snprintf(err, errlen, "undecodable reply: %s", why[0] ? why : "too large");
            return -EPROTO;
        }
        if (smmu_op_is_event(c->rep->hdr.op)) continue; /* a fault notice or the service's DSS: not ours to handle */
        if (c->rep->hdr.seq != c->req->hdr.seq) continue;
        if (c->rep->hdr.status) {
            snprintf(err, errlen, "%s refused: %s%s%s", smmu_op_name(c->req->hdr.op), g_strerror(-c->rep->hdr.status),
                     c->rep->text && c->rep->text[0] ? ": " : "", c->rep->text ? c->rep->text : "");
            return c->rep->hdr.status;
        }
        return 0;
    }
}

static void new_request(Conn *c, uint16_t op)
{
    memset(c->req, 0, offsetof(SmmuMsg, entry_buf));
    c->req->hdr.op = op;
}

/* One reading of the text, page by page; -EAGAIN when its total changed. */
static int read_text(Conn *c, GString *out, char *err, size_t errlen)
{
    uint32_t lines = 0, total = 0;
    g_string_truncate(out, 0);
    for (bool first = true;; first = false) {
        new_request(c, SMMU_OP_STATUS);
        c->req->offset = lines;
        int rc = transact(c, err, errlen);
        if (rc) return rc;
        if (first) total = c->rep->total;
        else if (c->rep->total != total) return -EAGAIN;
        uint32_t k = 0;
        for (uint32_t i = 0; i < c->rep->text_len; i++) k += c->rep->text[i] == '\n';
        if (c->rep->text_len && c->rep->text[c->rep->text_len - 1] != '\n') k++; /* a line cut to fit */
        if (k == 0 && lines >= total) return 0;
        if (k == 0 || lines + k > total) {
            snprintf(err, errlen, "STATUS: the service's pages do not add up to its total of %u lines", total);
            return -EPROTO;
        }
        g_string_append_len(out, c->rep->text, c->rep->text_len);
        if (out->len && out->str[out->len - 1] != '\n') g_string_append_c(out, '\n');
        lines += k;
        if (lines >= total) return 0;
    }
}

char *host_query_status(const char *path, int timeout_ms, char *err, size_t errlen)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof sa.sun_path) {
        snprintf(err, errlen, "%s: socket path too long", path);
        return NULL;
    }
    strcpy(sa.sun_path, path);
    Conn c = { .fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0),
               .deadline_us = g_get_monotonic_time() + (gint64)timeout_ms * 1000 };
    if (c.fd < 0 || connect(c.fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        snprintf(err, errlen, "%s: %s", path, g_strerror(errno));
        if (c.fd >= 0) close(c.fd);
        return NULL;
    }
    c.req = g_new0(SmmuMsg, 1);
    c.rep = g_new0(SmmuMsg, 1);
    c.buf = g_malloc(SMMU_MSG_MAX + 1);
    GString *text = g_string_new(NULL);
    new_request(&c, SMMU_OP_HELLO);
    c.req->client_version = SMMU_PROTO_VERSION;
    int rc = transact(&c, err, errlen);
    for (int tries = 0; !rc && tries < PAGE_TRIES; tries++)
        if ((rc = read_text(&c, text, err, errlen)) != -EAGAIN) break;
    if (rc == -EAGAIN) snprintf(err, errlen, "STATUS: the text kept changing while it was read");
    close(c.fd);
    g_free(c.req);
    g_free(c.rep);
    g_free(c.buf);
    if (rc) {
        g_string_free(text, TRUE);
        return NULL;
    }
    return g_string_free(text, FALSE);
}

char *host_status_value(const char *text, const char *key)
{
    size_t n = strlen(key);
    for (const char *l = text; l && *l;) {
        const char *eol = strchr(l, '\n');
        if (strncmp(l, key, n) == 0 && l[n] == '=') return eol ? g_strndup(l + n + 1, (size_t)(eol - l - n - 1)) : g_strdup(l + n + 1);
        l = eol ? eol + 1 : NULL;
    }
    return NULL;
}
