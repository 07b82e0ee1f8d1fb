/* The agent's Unix socket: many clients, one request at a time, replies and
 * interrupt events routed to the right client. */
#ifndef AGENT_SERVER_H
#define AGENT_SERVER_H

#include "agent.h"

/* A client that stops reading loses its connection past this much backlog. */
#define SERVER_MAX_BACKLOG (8u << 20)

typedef struct Server Server;

Server *server_new(Agent *a, const char *path, int stop_fd, char *err, size_t errlen);
/* Serves until stop_fd becomes readable. */
void server_run(Server *s);
void server_free(Server *s);

#endif
