/*
 * session - what the milter learns about one SMTP connection (struct conn)
 * and about each message on it (struct msg).
 *
 * Two lifetimes, as in OpenDKIM: a conn lives from xxfi_connect to
 * xxfi_close and holds a config reference for that long; a msg lives from
 * MAIL FROM to end of message or abort, and session_msg_end() frees it, so
 * every message-lifetime string has one free point.  Everything that input
 * can grow is bounded by the limits of the conn's config; passing one sets
 * msg->state and stops collecting, and the end-of-message step answers by
 * policy.
 *
 * Thread: a conn and its msg are used by the libmilter thread that runs the
 * connection's callbacks (one at a time).  The one shared part is the
 * register of messages in progress, which main reads while it stops
 * (session_stop_deadline, session_cut_off): a msg's qid, eom time and
 * fate are written under the register's lock, and its owner thread reads
 * them without it (it is their only writer).
 */
#ifndef SCANMILTER_SESSION_H
#define SCANMILTER_SESSION_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct blob;
struct config;

/* A small name -> value list (macros). */
struct kvlist {
	char	**names;
	char	**values;
	size_t	  n;
};

void		 kv_set(struct kvlist *, const char *name, const char *value);
const char	*kv_get(const struct kvlist *, const char *name);
void		 kv_clear(struct kvlist *);

struct header {
	char	*name;
	char	*value;		/* as received; leading blank kept if leadspc */
};

enum msg_state {
	MSG_OK,
	MSG_OVERSIZE,		/* a size limit was passed; see msg->why */
	MSG_IOERR		/* spilling the body failed */
};

struct msg {
	char		*qid;		/* "{i}" once known, else NULL */
	char		*from;		/* envelope sender as given */
	char		**rcpts;	/* kept recipients */
	size_t		 nrcpts;
	size_t		 nrcpts_seen;	/* including those past max_rcpts */
	struct header	*hdrs;
	size_t		 nhdrs;
	size_t		 hdr_bytes;
	struct blob	*blob;		/* body, then head at eom */
	enum msg_state	 state;
	const char	*why;		/* static text for state != MSG_OK */
	struct kvlist	 macros;	/* message-stage macros */
	struct timespec	 start;		/* CLOCK_MONOTONIC at MAIL FROM */
	struct timespec	 eom;		/* at end of message; 0 before */
	double		 scan_timeout;	/* the conn's config's, for stopping */
	atomic_int	 fate;		/* MSG_FATE_*: who logs its line */
	struct msg	*live_prev, *live_next;	/* the register */
};

/*
 * Who writes a message's one log line: its own thread (the summary at end
 * of message), or main when it stops before the message could be answered.
 * The owner claims twice: once with its verdict in hand, before it tells
 * the MTA the changes (SUMMARY), and again before it writes the line
 * (LOGGED), because telling the changes can block on a slow MTA for as
 * long as the milter timeout.  Main may take the message from OPEN or
 * SUMMARY; whoever moves it to LOGGED or CUT_OFF writes the line, and the
 * other stays silent.
 */
enum {
	MSG_FATE_OPEN,
	MSG_FATE_SUMMARY,	/* the owner has a verdict and applies it */
	MSG_FATE_LOGGED,	/* the owner logs (and answers) */
	MSG_FATE_CUT_OFF	/* main logged it as cut off by the stop */
};

struct conn {
	struct config	*cfg;		/* reference held until close */
	char		*hostname;	/* as the MTA gave it */
	char		*addr;		/* client IP text, NULL if not IP */
	char		*helo;
	int		 leadspc;	/* header values keep their blank */
	unsigned long	 nr_mask;	/* SMFIP_NR_* the MTA agreed to */
	unsigned long	 msgs;		/* messages so far */
	struct kvlist	 macros;	/* connection-stage macros */
	struct msg	*msg;		/* current message or NULL */
};

struct conn	*session_conn_new(struct config *);
/* session_conn_free - drops an open msg (session_msg_drop), frees the
 * conn and drops the config. */
void		 session_conn_free(struct conn *);

/*
 * session_msg_begin - start a message; a previous one still open is
 * dropped (session_msg_drop: "a new MAIL FROM came").
 */
struct msg	*session_msg_begin(struct conn *, const char *from);
void		 session_msg_end(struct conn *);
/*
 * session_msg_drop - the message ends before its end of message (the
 * MTA aborted it, a new MAIL FROM came, the connection closed): no answer
 * is owed, but it gets its one log line (info, with the queue id) unless
 * a stop already gave it one; then session_msg_end.  No-op without one.
 */
void		 session_msg_drop(struct conn *, const char *why);

/* session_add_rcpt - keep a recipient (up to limits.max_rcpts). */
void		 session_add_rcpt(struct conn *, const char *rcpt);
/* session_add_header - keep a header unless limits say otherwise. */
void		 session_add_header(struct conn *, const char *name,
		    const char *value);
/* session_add_body - append body bytes (spilled to disk past spill_size). */
void		 session_add_body(struct conn *, const unsigned char *,
		    size_t);
/*
 * session_finish_head - build the header block (byte-exact, CRLF) and attach
 * it to the blob.  Returns 0, or -1 if it would pass the limits (state set).
 */
int		 session_finish_head(struct conn *);

/*
 * session_header_count - occurrences of a header name (case-insensitive);
 * name NULL: every header of the message.
 */
size_t		 session_header_count(const struct msg *, const char *name);
/*
 * session_messages_in_progress - messages begun and not yet ended, over all
 * connections (any thread; main uses it to stop without cutting one off).
 */
int		 session_messages_in_progress(void);
/* session_set_qid - the message's queue id, once known (first one kept). */
void		 session_set_qid(struct conn *, const char *qid);
/* session_note_eom - the message is complete: its scan starts now. */
void		 session_note_eom(struct conn *);
/*
 * session_claim_summary - the owner thread, with the verdict decided and
 * before it tells the MTA any change: true if it may go on; false if main
 * already logged the message as cut off by a stop (answer tempfail, change
 * nothing, log nothing).
 */
bool		 session_claim_summary(struct conn *);
/*
 * session_claim_logged - the owner thread, after session_claim_summary and
 * the changes, before it writes the summary line: true if the line is its
 * to write; false if the stop cut the message off while the MTA took the
 * changes (answer tempfail, log nothing: main's line stands).
 */
bool		 session_claim_logged(struct conn *);
/*
 * session_stop_deadline - main, while stopping: the time (CLOCK_MONOTONIC)
 * until which a message in progress may still get its answer from us.
 * For each message at end of message: when it got there, plus its scan
 * timeout, plus grace_s; for one still being received: since (the stop)
 * plus its scan timeout plus grace_s.  The latest of these; since plus
 * grace_s if no message is in progress.
 */
struct timespec	 session_stop_deadline(struct timespec since, double grace_s);
/*
 * session_cut_off - main, once that deadline has passed: every message
 * still in progress that has no summary line gets one, with its queue id,
 * saying the stop cut it off: an answer its thread still sends is
 * tempfail (session_claim_summary, session_claim_logged), else the MTA
 * applies its milter_default_action.  That includes a message whose
 * verdict is being applied, so that no message can be in mid-change when
 * the process exits without a line.  Returns how many.
 */
int		 session_cut_off(void);
/*
 * session_lines_due - main, after session_cut_off: messages whose owner
 * has claimed its line (session_claim_logged) and not yet ended them; the
 * line is microseconds away, and main waits for it before exiting.
 */
int		 session_lines_due(void);
/* session_qid - queue id for logs: the {i} macro, or "NOQUEUE". */
const char	*session_qid(const struct conn *);
/* session_macro - message macro, else connection macro, else NULL. */
const char	*session_macro(const struct conn *, const char *name);

#endif
