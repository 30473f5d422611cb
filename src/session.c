/*
 * session.c - connection and message state; see session.h.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "blob.h"
#include "buf.h"
#include "config.h"
#include "log.h"
#include "monotime.h"
#include "session.h"
#include "xalloc.h"

void
kv_set(struct kvlist *kv, const char *name, const char *value)
{
	for (size_t i = 0; i < kv->n; i++)
		if (strcmp(kv->names[i], name) == 0) {
			free(kv->values[i]);
			kv->values[i] = xstrdup(value);
			return;
		}
	kv->names = xgrow(kv->names, kv->n, sizeof(char *));
	kv->values = xgrow(kv->values, kv->n, sizeof(char *));
	kv->names[kv->n] = xstrdup(name);
	kv->values[kv->n] = xstrdup(value);
	kv->n++;
}

const char *
kv_get(const struct kvlist *kv, const char *name)
{
	for (size_t i = 0; i < kv->n; i++)
		if (strcmp(kv->names[i], name) == 0)
			return kv->values[i];
	return NULL;
}

void
kv_clear(struct kvlist *kv)
{
	for (size_t i = 0; i < kv->n; i++) {
		free(kv->names[i]);
		free(kv->values[i]);
	}
	free(kv->names);
	free(kv->values);
	memset(kv, 0, sizeof(*kv));
}

/*
 * The register: messages between MAIL FROM and their end, over every
 * connection, so that a stop can wait for each and name those it cannot
 * wait for.  Four lock round trips per message (begin, queue id, end of
 * message, end), uncontended but for the moments main looks while
 * stopping.
 */
static struct {
	pthread_mutex_t	 mu;
	struct msg	*head;
	atomic_int	 n;	/* read without the lock */
} live = { .mu = PTHREAD_MUTEX_INITIALIZER };

static void
live_add(struct msg *m)
{
	pthread_mutex_lock(&live.mu);
	m->live_next = live.head;
	if (live.head != NULL)
		live.head->live_prev = m;
	live.head = m;
	atomic_fetch_add(&live.n, 1);
	pthread_mutex_unlock(&live.mu);
}

static void
live_remove(struct msg *m)
{
	pthread_mutex_lock(&live.mu);
	if (m->live_prev != NULL)
		m->live_prev->live_next = m->live_next;
	else
		live.head = m->live_next;
	if (m->live_next != NULL)
		m->live_next->live_prev = m->live_prev;
	atomic_fetch_sub(&live.n, 1);
	pthread_mutex_unlock(&live.mu);
}

int
session_messages_in_progress(void)
{
	return atomic_load(&live.n);
}

void
session_set_qid(struct conn *c, const char *qid)
{
	char *copy;

	if (c->msg == NULL || c->msg->qid != NULL)
		return;
	copy = xstrdup(qid);
	pthread_mutex_lock(&live.mu);
	c->msg->qid = copy;
	pthread_mutex_unlock(&live.mu);
}

void
session_note_eom(struct conn *c)
{
	struct timespec now;

	if (c->msg == NULL)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&live.mu);
	c->msg->eom = now;
	pthread_mutex_unlock(&live.mu);
}

/* claim - move a message's fate from `from` to `to`; true if this call did
 * it or it was there already (a claim may be asked twice). */
static bool
claim(struct conn *c, int from, int to)
{
	int seen = from;

	if (c->msg == NULL)
		return true;
	return atomic_compare_exchange_strong(&c->msg->fate, &seen, to) ||
	    seen == to;
}

bool
session_claim_summary(struct conn *c)
{
	return claim(c, MSG_FATE_OPEN, MSG_FATE_SUMMARY);
}

bool
session_claim_logged(struct conn *c)
{
	return claim(c, MSG_FATE_SUMMARY, MSG_FATE_LOGGED);
}

struct timespec
session_stop_deadline(struct timespec since, double grace_s)
{
	struct timespec latest = ts_add_ms(since, grace_s * 1000.0);

	pthread_mutex_lock(&live.mu);
	for (struct msg *m = live.head; m != NULL; m = m->live_next) {
		int at_eom = m->eom.tv_sec != 0 || m->eom.tv_nsec != 0;
		struct timespec t = ts_add_ms(at_eom ? m->eom : since,
		    (m->scan_timeout + grace_s) * 1000.0);

		if (ts_later(t, latest))
			latest = t;
	}
	pthread_mutex_unlock(&live.mu);
	return latest;
}

/*
 * take_for_cut_off - main: claim m if it is OPEN, or SUMMARY (its owner is
 * telling the MTA the changes); LOGGED and CUT_OFF have their line.  *was
 * gets the fate it was taken from.
 */
static bool
take_for_cut_off(struct msg *m, int *was)
{
	*was = MSG_FATE_OPEN;
	if (atomic_compare_exchange_strong(&m->fate, was, MSG_FATE_CUT_OFF))
		return true;
	/* *was holds the fate now; the owner may move SUMMARY on meanwhile,
	 * and then the second exchange fails too. */
	return *was == MSG_FATE_SUMMARY &&
	    atomic_compare_exchange_strong(&m->fate, was, MSG_FATE_CUT_OFF);
}

int
session_cut_off(void)
{
	int n = 0;

	pthread_mutex_lock(&live.mu);
	for (struct msg *m = live.head; m != NULL; m = m->live_next) {
		int fate;
		int at_eom = m->eom.tv_sec != 0 || m->eom.tv_nsec != 0;

		if (!take_for_cut_off(m, &fate))
			continue;
		n++;
		if (fate == MSG_FATE_SUMMARY)
			log_warnx("%s: unanswered (stopping): the verdict was "
			    "still being passed to the MTA %.0f s after end of "
			    "message, when scanmilter stopped; an answer that "
			    "still gets out is tempfail, else the MTA applies "
			    "its milter_default_action",
			    m->qid != NULL ? m->qid : "NOQUEUE",
			    ts_ms_since(&m->eom) / 1000.0);
		else if (at_eom)
			log_warnx("%s: unanswered (stopping): no verdict %.0f s "
			    "after end of message, when scanmilter stopped; "
			    "an answer that still gets out is tempfail, else "
			    "the MTA applies its milter_default_action",
			    m->qid != NULL ? m->qid : "NOQUEUE",
			    ts_ms_since(&m->eom) / 1000.0);
		else
			log_warnx("%s: unanswered (stopping): the MTA was "
			    "still sending the message (%.0f s after MAIL) when "
			    "scanmilter stopped; an answer that still gets out "
			    "is tempfail, else the MTA applies its "
			    "milter_default_action",
			    m->qid != NULL ? m->qid : "NOQUEUE",
			    ts_ms_since(&m->start) / 1000.0);
	}
	pthread_mutex_unlock(&live.mu);
	return n;
}

int
session_lines_due(void)
{
	int n = 0;

	pthread_mutex_lock(&live.mu);
	for (struct msg *m = live.head; m != NULL; m = m->live_next)
		n += atomic_load(&m->fate) == MSG_FATE_LOGGED;
	pthread_mutex_unlock(&live.mu);
	return n;
}

struct conn *
session_conn_new(struct config *cfg)
{
	struct conn *c = xcalloc(1, sizeof(*c));

	c->cfg = cfg;
	return c;
}

void
session_conn_free(struct conn *c)
{
	if (c == NULL)
		return;
	session_msg_drop(c, "the connection closed");
	free(c->hostname);
	free(c->addr);
	free(c->helo);
	kv_clear(&c->macros);
	config_release(c->cfg);
	free(c);
}

struct msg *
session_msg_begin(struct conn *c, const char *from)
{
	struct msg *m;

	session_msg_drop(c, "a new MAIL FROM came");
	m = xcalloc(1, sizeof(*m));
	m->from = xstrdup(from);
	m->blob = blob_new(c->cfg->spill_size, c->cfg->tmpdir);
	clock_gettime(CLOCK_MONOTONIC, &m->start);
	m->scan_timeout = c->cfg->scan_timeout;
	atomic_init(&m->fate, MSG_FATE_OPEN);
	c->msg = m;
	c->msgs++;
	live_add(m);
	return m;
}

void
session_msg_drop(struct conn *c, const char *why)
{
	if (c->msg != NULL && claim(c, MSG_FATE_OPEN, MSG_FATE_LOGGED))
		log_info("%s: dropped before its end: %s (not scanned, no "
		    "answer owed)", session_qid(c), why);
	session_msg_end(c);
}

void
session_msg_end(struct conn *c)
{
	struct msg *m = c->msg;

	if (m == NULL)
		return;
	live_remove(m);
	free(m->qid);
	free(m->from);
	for (size_t i = 0; i < m->nrcpts; i++)
		free(m->rcpts[i]);
	free(m->rcpts);
	for (size_t i = 0; i < m->nhdrs; i++) {
		free(m->hdrs[i].name);
		free(m->hdrs[i].value);
	}
	free(m->hdrs);
	blob_unref(m->blob);
	kv_clear(&m->macros);
	free(m);
	c->msg = NULL;
}

void
session_add_rcpt(struct conn *c, const char *rcpt)
{
	struct msg *m = c->msg;

	m->nrcpts_seen++;
	if (m->nrcpts >= (size_t)c->cfg->max_rcpts)
		return;
	m->rcpts = xgrow(m->rcpts, m->nrcpts, sizeof(char *));
	m->rcpts[m->nrcpts++] = xstrdup(rcpt);
}

/* msg_oversize - stop collecting; the answer comes at end of message. */
static void
msg_oversize(struct msg *m, const char *why)
{
	if (m->state != MSG_OK)
		return;
	m->state = MSG_OVERSIZE;
	m->why = why;
	/* Release the body now: we will not scan it. */
	blob_unref(m->blob);
	m->blob = NULL;
}

void
session_add_header(struct conn *c, const char *name, const char *value)
{
	struct msg *m = c->msg;
	size_t n = strlen(name) + strlen(value) + 4;

	if (m->state != MSG_OK)
		return;
	if (m->hdr_bytes + n > c->cfg->max_header_size) {
		msg_oversize(m, "header size limit");
		return;
	}
	m->hdr_bytes += n;
	m->hdrs = xgrow(m->hdrs, m->nhdrs, sizeof(*m->hdrs));
	m->hdrs[m->nhdrs].name = xstrdup(name);
	m->hdrs[m->nhdrs].value = xstrdup(value);
	m->nhdrs++;
}

void
session_add_body(struct conn *c, const unsigned char *p, size_t n)
{
	struct msg *m = c->msg;

	if (m->state != MSG_OK)
		return;
	if (m->hdr_bytes + blob_body_size(m->blob) + n > c->cfg->max_size) {
		msg_oversize(m, "message size limit");
		return;
	}
	if (blob_body_append(m->blob, p, n) == -1) {
		log_warn("%s: cannot spill body to %s", session_qid(c),
		    c->cfg->tmpdir);
		m->state = MSG_IOERR;
		m->why = "temporary file error";
		blob_unref(m->blob);
		m->blob = NULL;
	}
}

/*
 * append_value - a header value with its line breaks as CRLF.  The MTA hands
 * folded headers over with bare LF between the lines; the message on the
 * wire has CRLF, and that is what the scanner must see.
 */
static int
append_value(struct buf *b, const char *v)
{
	for (const char *p = v; *p != '\0'; p++) {
		if (*p == '\n' && (p == v || p[-1] != '\r') &&
		    buf_append(b, "\r", 1) == -1)
			return -1;
		if (buf_append(b, p, 1) == -1)
			return -1;
	}
	return 0;
}

int
session_finish_head(struct conn *c)
{
	struct msg *m = c->msg;
	struct buf b;
	char *data;
	size_t len;

	if (m->state != MSG_OK)
		return -1;
	/* Twice the collected size leaves room for LF -> CRLF. */
	buf_init(&b, 2 * m->hdr_bytes + 16);
	for (size_t i = 0; i < m->nhdrs; i++) {
		if (buf_puts(&b, m->hdrs[i].name) == -1 ||
		    buf_puts(&b, c->leadspc ? ":" : ": ") == -1 ||
		    append_value(&b, m->hdrs[i].value) == -1 ||
		    buf_append(&b, "\r\n", 2) == -1) {
			buf_free(&b);
			msg_oversize(m, "header size limit");
			return -1;
		}
	}
	if (buf_append(&b, "\r\n", 2) == -1 ||
	    b.len + blob_body_size(m->blob) > c->cfg->max_size) {
		buf_free(&b);
		msg_oversize(m, "message size limit");
		return -1;
	}
	data = buf_steal(&b, &len);
	blob_set_head(m->blob, data, len);
	return 0;
}

size_t
session_header_count(const struct msg *m, const char *name)
{
	size_t n = 0;

	if (name == NULL)
		return m->nhdrs;
	for (size_t i = 0; i < m->nhdrs; i++)
		if (strcasecmp(m->hdrs[i].name, name) == 0)
			n++;
	return n;
}

const char *
session_qid(const struct conn *c)
{
	if (c->msg != NULL && c->msg->qid != NULL)
		return c->msg->qid;
	return "NOQUEUE";
}

const char *
session_macro(const struct conn *c, const char *name)
{
	const char *v = NULL;

	if (c->msg != NULL)
		v = kv_get(&c->msg->macros, name);
	return v != NULL ? v : kv_get(&c->macros, name);
}
