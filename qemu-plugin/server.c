/* The agent's socket: many clients, served in turn. Each turn, every client
 * with something to do gets one step: a whole short request (a register,
 * RAM or PCI access: one qtest round trip), or one bounded step of a job (a
 * dma, storm or msi; dma.c). So a storm of 100,000 DMAs from one client
 * delays another client's register read by about one step (well under a
 * millisecond), not by the storm; replies still come in each client's order,
 * since a client's next line is not looked at until its job has finished.
 *
 * Interrupt events wait per client in a short list until they can be handed
 * to the socket; while one waits, a repeated pulse on the same line collapses
 * into it (event_add). That keeps a flood (QEMU's SMMUv3 pulses its event
 * interrupt once per record, 1,024 per blocked 4 KiB DMA) from burying the
 * subscribers, without losing an interrupt. */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* Bound on an idle wait, only so that no poll waits forever; the stop pipe
 * and the sockets wake the loop at once. */
#define SERVER_IDLE_POLL_MS 1000
/* Input read ahead of a client's pending request; the rest waits in the
 * kernel, which pushes back on a client that pipelines without end. */
#define SERVER_READ_AHEAD (64u << 10)
/* A job step that took longer than this (DMAs that are costly for QEMU, as
 * blocked ones on virt-smmuv3 with their event records: ~7 ms each) is
 * followed by a pause of the same length for that job while other clients
 * are active, so that a storm takes at most about half of the agent's time
 * from them, whatever its DMAs cost. Ordinary rounds (0.3-2 ms) are never
 * paused: a client waits at most one of them per request anyway. */
#define SERVER_THROTTLE_MIN_US 5000
/* Another client counts as active if it was served this recently. */
#define SERVER_ACTIVE_WINDOW_US 50000

typedef struct {
    uint16_t irq;
    bool raised;
} Event;

typedef struct {
    int fd;
    unsigned id;
    GString *in, *out;
    GArray *events;  /* Event: interrupt events not yet in out */
    Job *job;        /* the engine request being run, over several turns */
    uint64_t ticket; /* the job's place in the queue for engines */
    int64_t pause_until; /* the job's next step not before (monotonic us) */
    int64_t served_at;   /* when a request or step of this client last ended */
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
    uint64_t next_ticket;
    struct pollfd *pfd;
    guint npfd;
};

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void client_free(gpointer p)
{
    Client *c = p;
    if (c->fd >= 0) close(c->fd);
    job_free(c->job);
    g_string_free(c->in, TRUE);
    g_string_free(c->out, TRUE);
    g_array_unref(c->events);
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

/* Waiting events go out, in the order they happened. */
static void put_events(Client *c)
{
    for (guint i = 0; i < c->events->len; i++) {
        const Event *e = &g_array_index(c->events, Event, i);
        char line[48];
        int n = snprintf(line, sizeof line, "! irq %u %s\n", e->irq, e->raised ? "raise" : "lower");
        queue(c, line, (size_t)n);
    }
    g_array_set_size(c->events, 0);
}

/* Adds an event to a client's waiting list. Events of one line alternate
 * (QEMU reports changes only). If the line's last two waiting events are
 * "raise" then "lower" and it rises again, that "lower" is dropped and so is
 * the new "raise": the waiting "raise" still reaches the client after this
 * interrupt happened, so whoever handles it sees its effects, and the level
 * the client ends up with is the true one. At most three events per line
 * ever wait: "lower raise lower". */
static void event_add(Client *c, unsigned irq, bool raised)
{
    int last = -1, prev = -1;
    for (int i = (int)c->events->len - 1; i >= 0 && prev < 0; i--) {
        if (g_array_index(c->events, Event, i).irq != irq) continue;
        if (last < 0) last = i;
        else prev = i;
    }
    if (raised && prev >= 0 && g_array_index(c->events, Event, prev).raised &&
        !g_array_index(c->events, Event, last).raised) {
        g_array_remove_index(c->events, (guint)last);
        return;
    }
    Event e = { (uint16_t)irq, raised };
    g_array_append_val(c->events, e);
}

static bool has_line(const Client *c)
{
    return c->in->len && memchr(c->in->str, '\n', c->in->len);
}

static void flush(Client *c)
{
    while (!c->dead) {
        /* Events join the output only once the socket took everything
         * before them: until then they stay in the list, where they collapse. */
        if (!c->out->len && c->events->len) put_events(c);
        if (!c->out->len) break;
        ssize_t n = send(c->fd, c->out->str, c->out->len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        if (n <= 0) {
            c->dead = true; /* gone, possibly mid-request: nothing else to do */
            return;
        }
        g_string_erase(c->out, 0, n);
    }
    if ((c->closing || (c->eof && !has_line(c))) && !c->job && !c->out->len) c->dead = true;
}

static void irq_event(Agent *a, unsigned irq, bool raised)
{
    Server *s = a->server;
    for (guint i = 0; i < s->clients->len; i++) {
        Client *c = g_ptr_array_index(s->clients, i);
        if (c->subscribed && !c->dead) event_add(c, irq, raised);
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
    g_ptr_array_unref(s->clients); /* jobs go with their clients, releasing their engines */
    close(s->listen_fd);
    unlink(s->path);
    g_free(s->path);
    g_free(s->pfd);
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
        c->events = g_array_new(FALSE, FALSE, sizeof(Event));
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
        if (c->in->len >= SERVER_READ_AHEAD && has_line(c)) return;
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

static bool shares_engine(const Job *x, const Job *y)
{
    AgentDevice *const *dx, *const *dy;
    unsigned nx = job_engines(x, &dx), ny = job_engines(y, &dy);
    for (unsigned i = 0; i < nx; i++)
        for (unsigned k = 0; k < ny; k++)
            if (dx[i] == dy[k]) return true;
    return false;
}

/* A job may start when its engines are free and no job queued before it
 * wants one of them: engines go first come, first served. */
static bool may_start(Server *s, const Client *c)
{
    AgentDevice *const *devs;
    unsigned n = job_engines(c->job, &devs);
    for (unsigned i = 0; i < n; i++)
        if (devs[i]->held) return false;
    for (guint i = 0; i < s->clients->len; i++) {
        const Client *o = g_ptr_array_index(s->clients, i);
        if (o != c && o->job && !job_started(o->job) && o->ticket < c->ticket && shares_engine(o->job, c->job))
            return false;
    }
    return true;
}

/* The reply and the events that came before it, in that order. */
static void reply(Client *c, const GString *out)
{
    put_events(c);
    queue(c, out->str, out->len);
}

static bool has_line(const Client *c);

/* Has a client other than c work now, or had it some a moment ago? */
static bool others_active(Server *s, const Client *c, int64_t now)
{
    for (guint i = 0; i < s->clients->len; i++) {
        const Client *o = g_ptr_array_index(s->clients, i);
        if (o == c || o->dead) continue;
        if ((has_line(o) && !o->closing) || now - o->served_at < SERVER_ACTIVE_WINDOW_US) return true;
    }
    return false;
}

/* One step of the client's job; true if it did any work. */
static bool step_job(Server *s, Client *c)
{
    int64_t t0 = now_us();
    if (t0 < c->pause_until) return false; /* its last step was long: others first */
    if (c->dead) job_cancel(c->job); /* its reply would go nowhere */
    if (!job_started(c->job) && !c->dead) { /* a gone client's job ends without its engines */
        if (!may_start(s, c)) return false; /* its engines are busy: the turn passes */
        job_start(c->job);
    }
    g_autoptr(GString) out = g_string_new(NULL);
    bool finished = job_step(s->a, c->job, out);
    int64_t t1 = now_us();
    c->served_at = t1;
    if (finished) {
        job_free(c->job);
        c->job = NULL;
        c->pause_until = 0;
        reply(c, out);
    } else if (t1 - t0 > SERVER_THROTTLE_MIN_US && others_active(s, c, t1)) {
        c->pause_until = t1 + (t1 - t0);
    }
    return true;
}

/* The client's turn: one step of its job, or its next line; true if it did
 * any work. */
static bool serve_turn(Server *s, Client *c)
{
    static Request req; /* 4 KiB of data: not on the thread's stack */
    char err[200];
    if (c->job) return step_job(s, c);
    if (!has_line(c) || c->closing || c->dead) return false;
    char *nl = memchr(c->in->str, '\n', c->in->len);
    size_t len = (size_t)(nl - c->in->str);
    g_autoptr(GString) out = g_string_new(NULL);
    size_t l = len;
    if (l && c->in->str[l - 1] == '\r') l--; /* tolerate CRLF from terminals */
    int rc = request_parse(c->in->str, l, &req, err, sizeof err);
    g_string_erase(c->in, 0, (gssize)len + 1);
    s->a->current_client = c->id;
    if (rc) {
        reply_error(out, rc, err);
    } else if (request_is_job(&req)) {
        if (!dispatch_refused(s->a, &req, out) && (c->job = job_new(s->a, &req, c->id, out))) {
            c->ticket = ++s->next_ticket;
            step_job(s, c); /* its first step is this turn's work */
            return true;
        }
    } else {
        bool change = false, sub = c->subscribed;
        dispatch(s->a, &req, out, &change, &sub);
        if (change) c->subscribed = sub;
        if (req.kind == REQ_QUIT) c->closing = true;
    }
    c->served_at = now_us();
    reply(c, out);
    return true;
}

/* Flushes every client and lets the gone ones go. A gone client's job is
 * cancelled but kept until the transfers it has in flight are done, so that
 * its engines are free and its DMAs logged when it ends. */
static void flush_all(Server *s)
{
    for (guint i = 0; i < s->clients->len;) {
        Client *c = g_ptr_array_index(s->clients, i);
        flush(c);
        if (c->dead && c->job) {
            job_cancel(c->job);
            if (c->fd >= 0) close(c->fd);
            c->fd = -1;
        }
        if (c->dead && !c->job) g_ptr_array_remove_index(s->clients, i);
        else i++;
    }
}

void server_run(Server *s)
{
    for (;;) {
        /* One step per client per round: nobody waits behind another's
         * pipeline or storm for more than a step. */
        for (guint i = 0; i < s->clients->len; i++) serve_turn(s, g_ptr_array_index(s->clients, i));
        flush_all(s);
        bool busy = false;
        int64_t now = now_us(), wake = INT64_MAX; /* the first paused job's next step */
        guint n = s->clients->len;
        if (s->npfd < n + 3) {
            s->npfd = n + 3;
            s->pfd = g_renew(struct pollfd, s->pfd, s->npfd);
        }
        struct pollfd *p = s->pfd;
        p[0] = (struct pollfd){ .fd = s->stop_fd, .events = POLLIN };
        p[1] = (struct pollfd){ .fd = s->listen_fd, .events = POLLIN };
        p[2] = (struct pollfd){ .fd = s->a->qt.broken ? -1 : s->a->qt.fd, .events = POLLIN };
        for (guint i = 0; i < n; i++) {
            Client *c = g_ptr_array_index(s->clients, i);
            bool ready = has_line(c) && !c->closing;
            if (c->job && c->pause_until > now) wake = MIN(wake, c->pause_until);
            else busy |= c->job != NULL;
            busy |= ready;
            /* Input is read only when there is no request waiting: the
             * kernel holds the rest. Hang-ups are reported regardless. */
            p[i + 3].fd = c->fd;
            p[i + 3].events = (c->closing || c->eof || ready ? 0 : POLLIN) | (c->out->len ? POLLOUT : 0);
            p[i + 3].revents = 0;
        }
        int timeout = busy ? 0 : SERVER_IDLE_POLL_MS;
        if (!busy && wake != INT64_MAX) timeout = (int)MIN((wake - now + 999) / 1000, SERVER_IDLE_POLL_MS);
        int rc = poll(p, n + 3, timeout);
        if (rc < 0 && errno != EINTR) return;
        if (rc <= 0) continue;
        if (p[0].revents) return;
        if (p[2].revents) qt_pump(&s->a->qt); /* interrupt lines between requests */
        for (guint i = 0; i < n; i++) {
            Client *c = g_ptr_array_index(s->clients, i);
            if (c->fd < 0 || !(p[i + 3].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            if (c->eof || (p[i + 3].revents & (POLLHUP | POLLERR) && !(p[i + 3].revents & POLLIN)))
                c->dead = true; /* hung up for good */
            else read_client(c);
        }
        if (p[1].revents) accept_clients(s);
    }
}
