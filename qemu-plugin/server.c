#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

typedef struct {
    int fd;
    unsigned id;
    GString *in, *out;
    bool subscribed;
    bool discarding; /* inside an over-long line: drop until its newline */
    bool closing;    /* close once the output is flushed */
    bool eof;        /* the peer sent all it will: serve what is left, then close */
    bool dead;
} Client;

struct Server {
    Agent *a;
    char *path;
    int listen_fd, stop_fd;
    GPtrArray *clients;
    unsigned next_id;
};

static void client_free(gpointer p)
{
    Client *c = p;
    if (c->fd >= 0) close(c->fd);
    g_string_free(c->in, TRUE);
    g_string_free(c->out, TRUE);
    g_free(c);
}

static void queue(Client *c, const char *text, size_t len)
{
    if (c->dead) return;
    if (c->out->len + len > SERVER_MAX_BACKLOG) {
        c->dead = true; /* not reading its replies: let it go rather than grow */
        return;
    }
    g_string_append_len(c->out, text, (gssize)len);
}

static void flush(Client *c)
{
    while (!c->dead && c->out->len) {
        ssize_t n = send(c->fd, c->out->str, c->out->len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        if (n <= 0) {
            c->dead = true; /* gone, possibly mid-request: nothing else to do */
            return;
        }
        g_string_erase(c->out, 0, n);
    }
    bool more = c->in->len && memchr(c->in->str, '\n', c->in->len);
    if ((c->closing || (c->eof && !more)) && !c->out->len) c->dead = true;
}

static void irq_event(Agent *a, unsigned irq, bool raised)
{
    Server *s = a->server;
    char line[64];
    int n = snprintf(line, sizeof line, "! irq %u %s\n", irq, raised ? "raise" : "lower");
    for (guint i = 0; i < s->clients->len; i++) {
        Client *c = g_ptr_array_index(s->clients, i);
        if (c->subscribed) queue(c, line, (size_t)n);
    }
}

Server *server_new(Agent *a, const char *path, int stop_fd, char *err, size_t errlen)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof sa.sun_path) {
        snprintf(err, errlen, "socket path too long: %s", path);
        return NULL;
    }
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return NULL;
    }
    unlink(path);
    /* Owner only: the agent can write any device register and any RAM. */
    mode_t old = umask(0077);
    int rc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
    umask(old);
    if (rc < 0 || listen(fd, 16) < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    Server *s = g_new0(Server, 1);
    s->a = a;
    s->path = g_strdup(path);
    s->listen_fd = fd;
    s->stop_fd = stop_fd;
    s->clients = g_ptr_array_new_with_free_func(client_free);
    a->server = s;
    a->irq_event = irq_event;
    return s;
}

void server_free(Server *s)
{
    if (!s) return;
    s->a->irq_event = NULL;
    s->a->server = NULL;
    g_ptr_array_unref(s->clients);
    close(s->listen_fd);
    unlink(s->path);
    g_free(s->path);
    g_free(s);
}

static void accept_clients(Server *s)
{
    for (;;) {
        int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) return;
        Client *c = g_new0(Client, 1);
        c->fd = fd;
        c->id = ++s->next_id;
        c->in = g_string_new(NULL);
        c->out = g_string_new(NULL);
        if (s->clients->len >= AGENT_MAX_CLIENTS) {
            static const char full[] = "ERR EBUSY too many clients\n";
            queue(c, full, sizeof full - 1);
            c->closing = true;
        } else {
            char hello[160];
            int n = snprintf(hello, sizeof hello, "HELLO smmu-board-agent protocol=%d board=%s\n",
                             AGENT_PROTOCOL_VERSION, s->a->def.name);
            queue(c, hello, (size_t)n);
        }
        g_ptr_array_add(s->clients, c);
        flush(c);
    }
}

static void read_client(Client *c)
{
    char buf[65536];
    for (;;) {
        ssize_t n = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        if (n < 0) {
            c->dead = true;
            return;
        }
        if (n == 0) {
            c->eof = true;
            return;
        }
        g_string_append_len(c->in, buf, n);
        if (c->discarding) {
            char *nl = memchr(c->in->str, '\n', c->in->len);
            if (!nl) {
                g_string_truncate(c->in, 0);
                continue;
            }
            g_string_erase(c->in, 0, nl - c->in->str + 1);
            c->discarding = false;
        }
        if (!memchr(c->in->str, '\n', c->in->len) && c->in->len > REQ_MAX_LINE) {
            static const char big[] = "ERR E2BIG request longer than 16384 bytes\n";
            queue(c, big, sizeof big - 1);
            g_string_truncate(c->in, 0);
            c->discarding = true;
        }
    }
}

/* Handles at most one complete line of this client; true if it did. */
static bool serve_one(Server *s, Client *c)
{
    static Request req; /* 4 KiB of data: not on the thread's stack */
    char err[200];
    char *nl = c->in->len ? memchr(c->in->str, '\n', c->in->len) : NULL;
    if (!nl || c->closing || c->dead) return false;
    size_t len = (size_t)(nl - c->in->str);
    g_autoptr(GString) out = g_string_new(NULL);
    size_t l = len;
    if (l && c->in->str[l - 1] == '\r') l--; /* tolerate CRLF from terminals */
    int rc = request_parse(c->in->str, l, &req, err, sizeof err);
    g_string_erase(c->in, 0, (gssize)len + 1);
    if (rc) {
        reply_error(out, rc, err);
    } else {
        bool change = false, sub = c->subscribed;
        s->a->current_client = c->id;
        dispatch(s->a, &req, out, &change, &sub);
        if (change) c->subscribed = sub;
        if (req.kind == REQ_QUIT) c->closing = true;
    }
    queue(c, out->str, out->len);
    return true;
}

void server_run(Server *s)
{
    for (;;) {
        bool pending = false;
        /* One request per client per round: nobody starves behind a pipeline. */
        for (guint i = 0; i < s->clients->len; i++) {
            Client *c = g_ptr_array_index(s->clients, i);
            if (serve_one(s, c)) pending |= memchr(c->in->str, '\n', c->in->len) != NULL;
        }
        for (guint i = 0; i < s->clients->len;) {
            Client *c = g_ptr_array_index(s->clients, i);
            flush(c);
            if (c->dead) g_ptr_array_remove_index(s->clients, i);
            else i++;
        }
        guint n = s->clients->len;
        struct pollfd *p = g_new0(struct pollfd, n + 3);
        p[0] = (struct pollfd){ .fd = s->stop_fd, .events = POLLIN };
        p[1] = (struct pollfd){ .fd = s->listen_fd, .events = POLLIN };
        p[2] = (struct pollfd){ .fd = s->a->qt.broken ? -1 : s->a->qt.fd, .events = POLLIN };
        for (guint i = 0; i < n; i++) {
            Client *c = g_ptr_array_index(s->clients, i);
            p[i + 3].fd = c->fd;
            p[i + 3].events = (c->closing || c->eof ? 0 : POLLIN) | (c->out->len ? POLLOUT : 0);
        }
        int rc = poll(p, n + 3, pending ? 0 : -1);
        if (rc < 0 && errno != EINTR) {
            g_free(p);
            return;
        }
        if (rc > 0 && p[0].revents) {
            g_free(p);
            return;
        }
        if (rc > 0 && p[2].revents) qt_pump(&s->a->qt); /* interrupt lines while idle */
        for (guint i = 0; rc > 0 && i < n; i++) {
            Client *c = g_ptr_array_index(s->clients, i);
            if (p[i + 3].revents & (POLLIN | POLLHUP | POLLERR)) {
                if (c->eof) c->dead = true; /* hung up for good */
                else read_client(c);
            }
        }
        if (rc > 0 && p[1].revents) accept_clients(s);
        g_free(p);
    }
}
