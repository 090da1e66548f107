/*
 * One client connection: framing (max_line, LF/CRLF), reply ordering,
 * backpressure and the connection's lifetime.  Loop thread only.
 */
#ifndef PICMD_CONN_H
#define PICMD_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

struct server;
struct conn;
struct request;
struct job;

/* Take over an accepted socket; NULL (socket closed) on failure. */
struct conn *conn_new(struct server *s, int fd, const struct sockaddr *sa,
	    socklen_t salen, bool is_unix);
/* Close at once; replies still pending are dropped. */
void	conn_close(struct conn *c);
/* Stop reading; close once every pending request has been answered. */
void	conn_shutdown(struct conn *c);
/* Answer QUIT: "OK BYE" after all earlier replies, then close. */
void	conn_quit(struct conn *c);
struct server *conn_server(struct conn *c);
struct strbuf;
/* CALLBACK <port>|OFF: a reply code, with a message in text on error. */
int	conn_set_callback(struct conn *c, const char *arg, struct strbuf *text);
/* AUTH <token>: a reply code, with a message in text on error. */
int	conn_auth(struct conn *c, const char *token, struct strbuf *text);
/* Close connections idle, or unauthenticated, for too long. */
void	conn_sweep(struct server *s);
/* Connections open from the same IP address as sa. */
unsigned conn_count_from(struct server *s, const struct sockaddr *sa);
/* Drain: every connection stops reading and closes once answered. */
void	conn_shutdown_all(struct server *s);
/* Close every connection now. */
void	conn_close_all(struct server *s);
/* A request's deadline passed (the deadline list's callback). */
void	conn_expire(struct request *r, void *arg);
/* The drain deadline passed: answer every request still queued (now
 * never run) or running (its result to be discarded) with ERR TIMEOUT,
 * on its connection or to its callback port.  Call with drain_expired
 * set, so lines taken up from here on start nothing new. */
void	conn_answer_unfinished(struct server *s);
/* Send the output of every connection with replies waiting. */
void	conn_flush_dirty(struct server *s);

/* A job came back from the pool (called from the server's drain). */
void	conn_job_done(struct job *job, void *arg);

#endif
