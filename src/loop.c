/*
 * loop.c - the scan loop: one thread that owns the curl multi handle, every
 * easy handle and all upstream state (upstream.c).  Milter threads only
 * append to the submission queue, and write an eventfd to wake the loop if
 * it sleeps; nothing else here is touched from another thread, so the
 * balancer needs no locks.
 *
 * I/O follows libcurl's socket interface: curl tells us which sockets it
 * waits on (sock_cb) and when it next needs a timeout (timer_cb); epoll
 * says which are ready, and only those transfers are stepped.  (Stepping
 * every transfer on every pass, as curl_multi_perform does, cost more the
 * more messages were in flight.)
 *
 * Each pass: wait in epoll until a socket, the curl timer, a wakeup or at
 * most POLL_MAX_MS; hand ready sockets and due timeouts to curl; bring the
 * upstream groups in line with the live config; start an attempt per newly
 * submitted job and the due /ping checks; collect finished transfers (a
 * failed attempt is retried on another live upstream while tries and time
 * remain, else the job completes); log counters when due.
 *
 * This is the only file that includes <curl/curl.h>.
 */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/queue.h>
#include <unistd.h>

#include "blob.h"
#include "config.h"
#include "compare.h"
#include "linger.h"
#include "log.h"
#include "milterio.h"
#include "mworkers.h"
#include "mirror.h"
#include "monotime.h"
#include "scan_internal.h"
#include "upstream.h"
#include "wire.h"
#include "xalloc.h"

#define POLL_MAX_MS	1000
#define PING_REPLY_MAX	1024	/* "pong", or sealed: a whole response */
/*
 * Idle keep-alive connections kept to the scanners.  libcurl's default is
 * four per easy handle currently added, and ours come and go with each
 * attempt, so under load the cache would shrink and reconnect.
 */
#define MAX_IDLE_CONNS	512
/* Easy handles kept for reuse: each new one costs several allocations. */
#define EASY_POOL	64
/* Sockets held between two curl calls (settle); past it, epoll at once. */
#define SOCK_PENDING	64

/* One HTTP request to one upstream: a scan attempt, or a ping (job NULL). */
struct attempt {
	struct scan_job		*job;
	struct upstream		*u;
	CURL			*easy;
	struct curl_slist	*hdrs;
	const struct wire_req	*req;		/* what to send */
	const struct wire_opts	*wire;		/* how to read the reply */
	struct config		*cfg;		/* keeps wire alive (pings) */
	struct wire_req		 ping_req;	/* pings: their own request */
	int			 compressed;	/* wire_header_compressed said */
	size_t			 sent;		/* body bytes read by curl */
	double			 started;	/* seconds, monotonic */
	struct buf		 ping_reply;
	char			 errbuf[CURL_ERROR_SIZE];
	LIST_ENTRY(attempt)	 entry;
};

/* The loop's view of one configured upstream group. */
struct lgroup {
	char			*name;
	char			*hosts;		/* as configured, to see changes */
	struct ups_params	 params;
	double			 check_interval;
	double			 connect_timeout;
	double			 next_check;
	struct ups_group	*g;
	struct config		*cfg;		/* the live config seen last */
	const struct wire_opts	*wire;		/* its settings, for pings */
	int			 seen;		/* in the live config */
	LIST_ENTRY(lgroup)	 entry;
};

static struct {
	pthread_mutex_t	 lock;		/* guards queue, stopping, running */
	struct scan_queue queue;
	/*
	 * Counts go up under the lock (where stopping is checked) and down
	 * without it, as jobs finish: the loop thread takes the lock about
	 * twice a pass, not once more for every job it completes.
	 */
	atomic_int	 queued;	/* queued + in flight */
	atomic_int	 detached;	/* the same, of detached jobs */
	int		 max_queue;
	int		 stopping;
	atomic_int	 asleep;	/* loop in epoll_wait: a submit wakes it */
	int		 running;	/* thread started, multi valid */
	CURLM		*multi;
	int		 ep;		/* epoll: curl's sockets and wake */
	int		 wake;		/* eventfd: milter threads -> loop */
	double		 timer_due;	/* curl's next timeout, -1: none */
	pthread_t	 thread;
	atomic_int	 dump;		/* SIGUSR2: log the counters */
	/* loop only */
	/*
	 * Sockets between two curl calls (sock_cb, settle): new ones that
	 * curl waits to see writable, to try once before asking epoll, and
	 * removed ones still open, whose epoll entry goes with their close.
	 */
	curl_socket_t	 probe[SOCK_PENDING];
	int		 nprobe;
	curl_socket_t	 probing;	/* being tried; -1 once curl says more */
	curl_socket_t	 unwatch[SOCK_PENDING];
	int		 nunwatch;
	bool		 linger;	/* closes wait for the scanner's */
	CURL		*pool[EASY_POOL];
	int		 npool;
	LIST_HEAD(, lgroup) groups;
	LIST_HEAD(, attempt) pings;
	double		 next_sync;
	double		 next_stats;
} L = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.ep = -1,
	.wake = -1,
	.probing = CURL_SOCKET_BAD,
};

/* now_s - monotonic seconds. */
static double
now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/*
 * loop_wake - make the loop's epoll_wait return (any thread).  The eventfd
 * is made once and never closed (loop_close), so a submitter may write it
 * after letting go of L.lock, even while the loop is stopping.
 */
static void
loop_wake(void)
{
	uint64_t one = 1;

	while (write(L.wake, &one, sizeof(one)) == -1 && errno == EINTR)
		;
}

int
loop_enqueue(struct scan_job *j, enum scan_status *why)
{
	int wake;

	pthread_mutex_lock(&L.lock);
	if (!L.running || L.stopping) {
		*why = SCAN_ERR_SHUTDOWN;
	} else if (j->done == NULL && L.queued >= L.max_queue) {
		*why = SCAN_ERR_OVERLOAD;
	} else {
		STAILQ_INSERT_TAIL(&L.queue, j, entry);
		if (j->done != NULL)
			L.detached++;
		else
			L.queued++;
		/*
		 * Only a sleeping loop needs the eventfd: an awake one finds
		 * the job on its next pass (run_io looks under this lock).
		 * The write comes after the unlock: the loop it wakes takes
		 * this lock first thing, and would sleep again on it if the
		 * write were still holding it.
		 */
		wake = atomic_exchange(&L.asleep, 0);
		pthread_mutex_unlock(&L.lock);
		if (wake)
			loop_wake();
		return 0;
	}
	pthread_mutex_unlock(&L.lock);
	return -1;
}

void
scan_loop_dump(void)
{
	atomic_store(&L.dump, 1);
	pthread_mutex_lock(&L.lock);
	if (L.running)
		loop_wake();
	pthread_mutex_unlock(&L.lock);
}

/* finish_job - complete and forget a job; it leaves the loop's count. */
static void
finish_job(struct scan_job *j, enum scan_status st)
{
	if (j->done != NULL)
		atomic_fetch_sub(&L.detached, 1);
	else
		atomic_fetch_sub(&L.queued, 1);
	scan_complete(j, st);
}

/* ---- upstream groups ------------------------------------------------ */

/* params_of - a group's health parameters. */
static struct ups_params
params_of(const struct group_conf *gc)
{
	struct ups_params p = { gc->max_errors, gc->error_time,
	    gc->revive_time };

	return p;
}

/* lgroup_matches - is lg still what gc says. */
static int
lgroup_matches(const struct lgroup *lg, const struct group_conf *gc)
{
	/* Field by field: the struct has padding. */
	return strcmp(lg->hosts, gc->hosts) == 0 &&
	    lg->params.max_errors == gc->max_errors &&
	    lg->params.error_time == gc->error_time &&
	    lg->params.revive_time == gc->revive_time;
}

static void
lgroup_free(struct lgroup *lg)
{
	LIST_REMOVE(lg, entry);
	ups_group_free(lg->g);
	config_release(lg->cfg);
	free(lg->name);
	free(lg->hosts);
	free(lg);
}

/*
 * lgroup_get - the loop's group for gc, built or rebuilt when its hosts or
 * health parameters changed.  Upstreams keep their state across rebuilds
 * (upstream.c finds them by label), and attempts in flight keep pointing
 * at them.
 */
static struct lgroup *
lgroup_get(const struct group_conf *gc)
{
	struct lgroup *lg;

	LIST_FOREACH(lg, &L.groups, entry)
		if (strcmp(lg->name, gc->name) == 0)
			break;
	if (lg != NULL && lgroup_matches(lg, gc)) {
		lg->check_interval = gc->check_interval;
		lg->connect_timeout = gc->connect_timeout;
		return lg;
	}
	if (lg != NULL)
		lgroup_free(lg);
	lg = xcalloc(1, sizeof(*lg));
	lg->name = xstrdup(gc->name);
	lg->hosts = xstrdup(gc->hosts);
	lg->params = params_of(gc);
	lg->check_interval = gc->check_interval;
	lg->connect_timeout = gc->connect_timeout;
	lg->g = ups_group_new(gc->hostlist, &lg->params);
	LIST_INSERT_HEAD(&L.groups, lg, entry);
	log_debug("upstream group %s: %s (%zu hosts)", gc->name, gc->hosts,
	    ups_group_size(lg->g));
	return lg;
}

/*
 * lgroup_find - the loop's group of that name for an attempt.  A job may
 * come from a connection that still holds an older config: it uses the
 * live group (the reload's hosts and state) rather than rebuilding the old
 * one, which sync_groups would rebuild back a second later, resetting
 * round-robin state and health each time.  Only a group the live config
 * lacks is built here.
 */
static struct lgroup *
lgroup_find(const struct group_conf *gc)
{
	struct lgroup *lg;

	LIST_FOREACH(lg, &L.groups, entry)
		if (strcmp(lg->name, gc->name) == 0)
			return lg;
	return lgroup_get(gc);
}

/* sync_groups - one group per group of the live config, no others. */
static void
sync_groups(double now)
{
	struct config *cfg;
	struct lgroup *lg, *next;

	if (now < L.next_sync)
		return;
	L.next_sync = now + 1.0;
	if ((cfg = config_current()) == NULL)
		return;
	LIST_FOREACH(lg, &L.groups, entry)
		lg->seen = 0;
	for (size_t i = 0; i < cfg->ngroups + cfg->nmirrors; i++) {
		const struct group_conf *gc = i < cfg->ngroups ?
		    &cfg->groups[i] : &cfg->mirrors[i - cfg->ngroups];

		if (gc->self_scan)
			continue;	/* no hosts: scanned in process */
		lg = lgroup_get(gc);
		lg->seen = 1;
		if (lg->cfg != cfg) {
			config_release(lg->cfg);
			lg->cfg = config_acquire(cfg);
		}
		lg->wire = &gc->wire;
	}
	for (lg = LIST_FIRST(&L.groups); lg != NULL; lg = next) {
		next = LIST_NEXT(lg, entry);
		if (!lg->seen)
			lgroup_free(lg);
	}
	if (L.next_stats == 0)
		L.next_stats = now + cfg->stats_interval;
	else if (cfg->stats_interval > 0 && now >= L.next_stats) {
		atomic_store(&L.dump, 1);
		L.next_stats = now + cfg->stats_interval;
	}
	config_release(cfg);
}

/* ---- transfers ------------------------------------------------------ */

/* read_body - CURLOPT_READFUNCTION: the blob, from where we were. */
static size_t
read_body(char *dst, size_t size, size_t nmemb, void *arg)
{
	struct attempt *a = arg;
	ssize_t n = blob_read(a->job->blob, a->sent, dst, size * nmemb);

	if (n < 0)
		return CURL_READFUNC_ABORT;
	a->sent += (size_t)n;
	return (size_t)n;
}

/* read_header - CURLOPT_HEADERFUNCTION: notice a compressed reply. */
static size_t
read_header(char *src, size_t size, size_t nmemb, void *arg)
{
	struct attempt *a = arg;
	int c = wire_header_compressed(src, size * nmemb);

	if (c != 0)
		a->compressed = c;
	return size * nmemb;
}

/* write_reply - CURLOPT_WRITEFUNCTION: into the bounded reply buffer. */
static size_t
write_reply(char *src, size_t size, size_t nmemb, void *arg)
{
	struct attempt *a = arg;
	struct buf *b = a->job != NULL ? &a->job->reply : &a->ping_reply;

	if (buf_append(b, src, size * nmemb) == -1)
		return 0;	/* curl fails the transfer: too big */
	return size * nmemb;
}

/* host_url - the URL of path on host h. */
static void
host_url(const struct host *h, const char *path, char *url, size_t len)
{
	if (h->is_unix)
		snprintf(url, len, "http://localhost%s", path);
	else if (h->is_ipv6)
		snprintf(url, len, "http://[%s]:%d%s", h->name, h->port, path);
	else
		snprintf(url, len, "http://%s:%d%s", h->name, h->port, path);
}

static int	close_cb(void *, curl_socket_t);

/* easy_common - options every transfer shares. */
static void
easy_common(struct attempt *a, const char *path, long timeout_ms,
    long connect_ms)
{
	const struct host *h = upstream_host(a->u);
	char url[512];
	CURL *e = a->easy;

	host_url(h, path, url, sizeof(url));
	curl_easy_setopt(e, CURLOPT_URL, url);
	if (h->is_unix)
		curl_easy_setopt(e, CURLOPT_UNIX_SOCKET_PATH, h->name);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_reply);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, a);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, read_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, a);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
	    connect_ms < timeout_ms ? connect_ms : timeout_ms);
	curl_easy_setopt(e, CURLOPT_PRIVATE, a);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, a->errbuf);
	curl_easy_setopt(e, CURLOPT_PROXY, "");
	curl_easy_setopt(e, CURLOPT_USERAGENT, "scanmilter/" SCANMILTER_VERSION);
	curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, close_cb);
}

/* easy_get - a clean easy handle, from the pool if it has one. */
static CURL *
easy_get(void)
{
	return L.npool > 0 ? L.pool[--L.npool] : curl_easy_init();
}

/* easy_put - back to the pool with its options reset, or freed. */
static void
easy_put(CURL *e)
{
	if (L.npool < EASY_POOL) {
		curl_easy_reset(e);
		L.pool[L.npool++] = e;
	} else {
		curl_easy_cleanup(e);
	}
}

/* attempt_new - an attempt on u with a clean easy handle; NULL if none. */
static struct attempt *
attempt_new(struct scan_job *j, struct upstream *u)
{
	struct attempt *a = xcalloc(1, sizeof(*a));

	a->job = j;
	a->u = u;
	a->started = now_s();
	buf_init(&a->ping_reply, PING_REPLY_MAX);
	if ((a->easy = easy_get()) == NULL) {
		free(a);
		return NULL;
	}
	return a;
}

/* attempt_free - remove from the multi and free. */
static void
attempt_free(struct attempt *a)
{
	curl_multi_remove_handle(L.multi, a->easy);
	easy_put(a->easy);
	curl_slist_free_all(a->hdrs);
	buf_free(&a->ping_reply);
	wire_req_free(&a->ping_req);
	config_release(a->cfg);
	free(a);
}

/* attempt_add - hand the attempt to curl; -1 (attempt freed) if refused. */
static int
attempt_add(struct attempt *a)
{
	if (curl_multi_add_handle(L.multi, a->easy) == CURLM_OK) {
		if (a->job != NULL)
			upstream_started(a->u, a->started);
		return 0;
	}
	attempt_free(a);
	return -1;
}

/*
 * post_setopts - a POST of a->req: its headers (with the job's own when it
 * says so), and its body, built or straight from the blob.
 */
static void
post_setopts(struct attempt *a, const struct strlist *hdrs)
{
	const struct wire_req *r = a->req;
	CURL *e = a->easy;

	for (size_t i = 0; r->send_hdrs && hdrs != NULL && i < hdrs->n; i++)
		a->hdrs = curl_slist_append(a->hdrs, hdrs->v[i]);
	for (size_t i = 0; i < r->extra.n; i++)
		a->hdrs = curl_slist_append(a->hdrs, r->extra.v[i]);
	/* No "Expect: 100-continue" round trip; no form content type. */
	a->hdrs = curl_slist_append(a->hdrs, "Expect:");
	if (r->send_hdrs)	/* else encrypted: its type is in extra */
		a->hdrs = curl_slist_append(a->hdrs, "Content-Type:");
	curl_easy_setopt(e, CURLOPT_POST, 1L);
	if (r->built) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body.data);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)r->body.len);
	} else {
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)blob_size(a->job->blob));
		curl_easy_setopt(e, CURLOPT_READFUNCTION, read_body);
		curl_easy_setopt(e, CURLOPT_READDATA, a);
	}
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, a->hdrs);
}

/* scan_setopts - the scan request of a job. */
static void
scan_setopts(struct attempt *a, long timeout_ms)
{
	struct scan_job *j = a->job;

	a->req = &j->wire;
	a->wire = &j->group->wire;
	easy_common(a, j->wire.path, timeout_ms,
	    (long)(j->group->connect_timeout * 1000.0));
	post_setopts(a, &j->hdrs);
}

/*
 * attempt_start - send the job to the next upstream the balancer gives.
 * Returns SCAN_OK if an attempt is under way, else why none could be made.
 */
static enum scan_status
attempt_start(struct scan_job *j)
{
	double left = ts_ms_until(&j->deadline);
	long per_try = (long)(j->group->timeout * 1000.0);
	struct lgroup *lg = lgroup_find(j->group);
	struct upstream *u;
	struct attempt *a;

	if (left < 1)
		return SCAN_ERR_TIMEOUT;
	if (j->ntried >= SCAN_MAX_TRIES ||
	    (u = upstream_select(lg->g, now_s(), j->tried, j->ntried,
	    j->hash_key)) == NULL)
		return SCAN_ERR_NO_UPSTREAM;
	if ((a = attempt_new(j, u)) == NULL)
		return SCAN_ERR_INTERNAL;
	scan_setopts(a, per_try < left ? per_try : (long)left);
	buf_reset(&j->reply);
	snprintf(j->upstream, sizeof(j->upstream), "%s", upstream_label(u));
	j->tried[j->ntried++] = u;
	return attempt_add(a) == 0 ? SCAN_OK : SCAN_ERR_INTERNAL;
}

/*
 * plausible - does the reply look like a JSON object: '{' first and '}'
 * last, blanks aside.  A full parse is the milter thread's job (decode
 * there, move bytes here); this only catches an upstream that answers 200
 * with something else entirely, or a reply cut short, so that the attempt
 * counts against that upstream and is retried on another.
 */
/* blank - JSON whitespace. */
static int
blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int
plausible(const struct buf *b)
{
	size_t i = 0, n = b->len;

	while (i < n && blank(b->data[i]))
		i++;
	while (n > i && blank(b->data[n - 1]))
		n--;
	return n - i >= 2 && b->data[i] == '{' && b->data[n - 1] == '}';
}

/*
 * transfer_why - a failed transfer in words: curl's own text, and for an
 * empty reply to a sealed request the likely cause (Rspamd closes without
 * a word when the request is sealed to a key it does not hold).
 */
static void
transfer_why(const struct attempt *a, CURLcode rc, char *out, size_t len)
{
	snprintf(out, len, "%s%s", a->errbuf[0] ? a->errbuf :
	    curl_easy_strerror(rc), rc == CURLE_GOT_NOTHING &&
	    a->wire->peer != NULL ? " (encrypted request refused: wrong "
	    "key?)" : "");
}

/* classify - what a finished transfer means; retryable says try another. */
static enum scan_status
classify(struct attempt *a, CURLcode rc, int *retryable)
{
	struct scan_job *j = a->job;
	long code = 0;
	char why[200];

	*retryable = 1;
	curl_easy_getinfo(a->easy, CURLINFO_RESPONSE_CODE, &code);
	if (rc == CURLE_WRITE_ERROR) {
		*retryable = 0;
		snprintf(j->error, sizeof(j->error), "%s: reply over %u bytes",
		    j->upstream, SCAN_REPLY_MAX);
		return SCAN_ERR_TOO_BIG;
	}
	if (rc != CURLE_OK) {
		transfer_why(a, rc, why, sizeof(why));
		snprintf(j->error, sizeof(j->error), "%s: %s", j->upstream, why);
		return rc == CURLE_COULDNT_CONNECT ||
		    rc == CURLE_COULDNT_RESOLVE_HOST ? SCAN_ERR_CONNECT :
		    rc == CURLE_OPERATION_TIMEDOUT ? SCAN_ERR_TIMEOUT :
		    SCAN_ERR_TRANSFER;
	}
	if (wire_reply(a->wire, &j->reply, &code, a->compressed, why,
	    sizeof(why)) == -1) {
		snprintf(j->error, sizeof(j->error), "%s: %s", j->upstream,
		    why);
		return SCAN_ERR_BAD_REPLY;
	}
	if (code == 200 && plausible(&j->reply))
		return SCAN_OK;
	if (code == 200) {
		snprintf(j->error, sizeof(j->error), "%s: reply of %zu bytes "
		    "is not a JSON object", j->upstream, j->reply.len);
		return SCAN_ERR_BAD_REPLY;
	}
	/* 4xx: the request itself is at fault; another upstream agrees. */
	*retryable = code >= 500;
	snprintf(j->error, sizeof(j->error), "%s: HTTP status %ld",
	    j->upstream, code);
	return SCAN_ERR_HTTP;
}

/* note_outcome - tell the balancer how the attempt went. */
static void
note_outcome(struct attempt *a, enum scan_status st, int retryable)
{
	double now = now_s();

	if (st == SCAN_OK || !retryable) {
		/* It answered: healthy, even if the answer is no use. */
		upstream_ok(a->u, now, (now - a->started) * 1000.0);
		return;
	}
	if (upstream_fail(a->u, now))
		log_warnx("upstream %s: marked dead for %.0fs after %d errors "
		    "(last: %s)", upstream_label(a->u), a->job->group->revive_time,
		    a->job->group->max_errors, a->job->error);
}

/*
 * note_retry - add why (upstream and cause) to the job's list of failed
 * attempts; a list that no longer fits ends in "...".
 */
static void
note_retry(struct scan_job *j, const char *why)
{
	size_t n = strlen(j->retries), room = sizeof(j->retries) - n;

	if (j->retries_full)
		return;
	if ((size_t)snprintf(j->retries + n, room, "%s%s", n ? "; " : "",
	    why) >= room) {
		memcpy(j->retries + sizeof(j->retries) - 4, "...", 4);
		j->retries_full = 1;
	}
}

/* attempt_done - a scan transfer ended: retry or complete the job. */
static void
attempt_done(struct attempt *a, CURLcode rc)
{
	struct scan_job *j = a->job;
	int retryable;
	enum scan_status st = classify(a, rc, &retryable);
	enum scan_status again;
	char why[sizeof(j->error)];

	note_outcome(a, st, retryable);
	attempt_free(a);
	if (st == SCAN_OK || !retryable || (int)j->ntried > j->group->max_retries) {
		finish_job(j, st);
		return;
	}
	/*
	 * Every failure is told in the message's one summary line: the one
	 * that ends the job as its error, a retried one in j->retries.
	 */
	snprintf(why, sizeof(why), "%s", j->error);
	if ((again = attempt_start(j)) == SCAN_OK) {
		note_retry(j, why);
		return;
	}
	/* No other upstream: the error that ended it is the one to tell. */
	finish_job(j, again == SCAN_ERR_NO_UPSTREAM ? st : again);
}

/* ---- active checks -------------------------------------------------- */

/* ping_busy - is a ping to u under way. */
static int
ping_busy(const struct upstream *u)
{
	struct attempt *a;

	LIST_FOREACH(a, &L.pings, entry)
		if (a->u == u)
			return 1;
	return 0;
}

/*
 * ping_start - GET /ping to u, sealed like the scans when the group has a
 * key: a scanner that only takes encrypted requests must still be seen.
 */
static void
ping_start(struct upstream *u, const struct lgroup *lg)
{
	struct attempt *a = attempt_new(NULL, u);
	long ms = (long)(lg->connect_timeout * 1000.0) + 1000;
	char err[200];

	if (a == NULL)
		return;
	a->cfg = config_acquire(lg->cfg);
	a->wire = lg->wire;
	a->req = &a->ping_req;
	if (wire_request(a->wire, RSPAMD_PATH_PING, NULL, NULL, &a->ping_req,
	    err, sizeof(err)) == -1) {
		attempt_free(a);
		return;
	}
	easy_common(a, a->ping_req.path, ms, ms);
	if (a->ping_req.built)
		post_setopts(a, NULL);
	else
		curl_easy_setopt(a->easy, CURLOPT_HTTPGET, 1L);
	if (attempt_add(a) == 0)
		LIST_INSERT_HEAD(&L.pings, a, entry);
}

/* start_pings - every group whose check is due pings each member. */
static void
start_pings(double now, int stopping)
{
	struct lgroup *lg;

	if (stopping)
		return;
	LIST_FOREACH(lg, &L.groups, entry) {
		if (lg->check_interval <= 0 || now < lg->next_check ||
		    lg->wire == NULL)
			continue;
		lg->next_check = now + lg->check_interval;
		for (size_t i = 0; i < ups_group_size(lg->g); i++) {
			struct upstream *u = ups_group_member(lg->g, i);

			if (!ping_busy(u))
				ping_start(u, lg);
		}
	}
}

/* ping_done - Rspamd answers "pong"; anything else is an error. */
static void
ping_done(struct attempt *a, CURLcode rc)
{
	double now = now_s();
	long code = 0;
	int was_alive = upstream_alive(a->u, now);
	char why[200];

	curl_easy_getinfo(a->easy, CURLINFO_RESPONSE_CODE, &code);
	LIST_REMOVE(a, entry);
	snprintf(why, sizeof(why), "no pong");
	if (rc != CURLE_OK)
		transfer_why(a, rc, why, sizeof(why));
	if (rc == CURLE_OK && wire_reply(a->wire, &a->ping_reply, &code,
	    a->compressed, why, sizeof(why)) == 0 && code == 200 &&
	    a->ping_reply.len >= 4 &&
	    memcmp(a->ping_reply.data, "pong", 4) == 0) {
		upstream_ping_ok(a->u, now);
		if (!was_alive)
			log_info("upstream %s: answers /ping again, alive",
			    upstream_label(a->u));
	} else if (upstream_ping_fail(a->u, now)) {
		log_warnx("upstream %s: marked dead after failed checks "
		    "(last: %s)", upstream_label(a->u), why);
	}
	attempt_free(a);
}

/* ---- the loop ------------------------------------------------------- */

/* log_stats - one line per upstream with its counters and state. */
static void
log_stats(double now)
{
	struct milterio_stats io;
	struct mworkers_stats mw;
	struct linger_stats ls;
	struct lgroup *lg;

	LIST_FOREACH(lg, &L.groups, entry) {
		for (size_t i = 0; i < ups_group_size(lg->g); i++) {
			struct upstream *u = ups_group_member(lg->g, i);
			const struct ups_stats *s = upstream_stats(u);
			char state[64];

			upstream_state_text(u, now, state, sizeof(state));
			log_info("upstream %s (group %s): %s, requests=%lu "
			    "ok=%lu errors=%lu avg=%.1fms max=%.1fms "
			    "inflight=%d pings=%lu failed=%lu",
			    upstream_label(u), lg->name, state, s->requests,
			    s->ok, s->errors, s->ok ? s->latency_sum_ms /
			    (double)s->ok : 0.0, s->latency_max_ms,
			    s->inflight, s->pings, s->ping_errors);
		}
	}
	mirror_log_stats();
	compare_log_stats();
	linger_stats(&ls);
	log_info("scanner connections closed after the scanner's own close=%lu "
	    "of %lu held, failed or with bytes unread=%lu, after %d ms=%lu, "
	    "at once (no room)=%lu", ls.peer_closed, ls.held, ls.unclean,
	    LINGER_MS, ls.timed_out, ls.full);
	milterio_stats(&io);
	log_info("milter I/O: reads served=%lu polls served=%lu "
	    "changes held=%lu idle waits kept=%lu (system calls and thread "
	    "switches saved by milter.buffered_io); accepts held for a "
	    "worker=%lu, late=%lu", io.reads_served, io.polls_served,
	    io.writes_held, io.waits_kept, io.accepts_held, io.claims_late);
	mworkers_stats(&mw);
	log_info("milter workers: threads started=%lu, sessions given to a "
	    "kept thread=%lu, kept now=%lu", mw.started, mw.reused,
	    mw.parked);
}

/*
 * take_queue - move the submission queue out, under the lock, and say
 * whether the loop is stopping (1), or stopping with nothing queued or
 * in flight, so that it may leave (2).  A stopping loop refuses new jobs
 * (loop_enqueue checks under the same lock), so 2 stays true.
 */
static int
take_queue(struct scan_queue *out)
{
	int stopping;

	STAILQ_INIT(out);
	pthread_mutex_lock(&L.lock);
	STAILQ_CONCAT(out, &L.queue);
	stopping = L.stopping;
	pthread_mutex_unlock(&L.lock);
	if (stopping && STAILQ_EMPTY(out) && atomic_load(&L.queued) == 0 &&
	    atomic_load(&L.detached) == 0)
		return 2;
	return stopping;
}

/* start_new - attempts for every job in q. */
static void
start_new(struct scan_queue *q, int stopping)
{
	struct scan_job *j;
	enum scan_status st;

	while ((j = STAILQ_FIRST(q)) != NULL) {
		STAILQ_REMOVE_HEAD(q, entry);
		if (stopping) {
			snprintf(j->error, sizeof(j->error), "shutting down");
			finish_job(j, SCAN_ERR_SHUTDOWN);
		} else if ((st = attempt_start(j)) != SCAN_OK) {
			snprintf(j->error, sizeof(j->error), "%s",
			    st == SCAN_ERR_TIMEOUT ? "deadline passed before "
			    "sending" : st == SCAN_ERR_NO_UPSTREAM ? "every "
			    "upstream of the group is dead" :
			    "cannot create a transfer");
			finish_job(j, st);
		}
	}
}

/* collect - handle every finished transfer. */
static void
collect(void)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(L.multi, &left)) != NULL) {
		struct attempt *a;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&a);
		if (a->job != NULL)
			attempt_done(a, m->data.result);
		else
			ping_done(a, m->data.result);
	}
}

/* drop_pings - at exit: pings are nobody's answer, just end them. */
static void
drop_pings(void)
{
	struct attempt *a;

	while ((a = LIST_FIRST(&L.pings)) != NULL) {
		LIST_REMOVE(a, entry);
		attempt_free(a);
	}
}

/* drop_fd - take fd off list[] (of *n); whether it was there. */
static int
drop_fd(curl_socket_t *list, int *n, curl_socket_t fd)
{
	for (int i = 0; i < *n; i++)
		if (list[i] == fd) {
			list[i] = list[--*n];
			return 1;
		}
	return 0;
}

/* epoll_event_of - curl's wish for fd as an epoll event. */
static struct epoll_event
epoll_event_of(curl_socket_t fd, int what)
{
	struct epoll_event ev = { 0 };

	ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) |
	    (what & CURL_POLL_OUT ? EPOLLOUT : 0);
	ev.data.fd = fd;
	return ev;
}

/* watch - have epoll report what for fd, and tell curl it is known. */
static void
watch(curl_socket_t fd, int what)
{
	struct epoll_event ev = epoll_event_of(fd, what);

	if (epoll_ctl(L.ep, EPOLL_CTL_ADD, fd, &ev) == -1 && errno == EEXIST)
		epoll_ctl(L.ep, EPOLL_CTL_MOD, fd, &ev);
	curl_multi_assign(L.multi, fd, &L);
}

/*
 * sock_cb - CURLMOPT_SOCKETFUNCTION: keep epoll in step with curl.
 *
 * Two system calls per scan are spared here, each for a reason:
 *   - a connect to a scanner on this host is done before connect()
 *     returns, so a new socket curl waits to see writable is first handed
 *     straight back to curl (settle), which checks it itself; only if it
 *     is still connecting does it go to epoll.  That spares adding it for
 *     writing, one epoll_wait, and changing it to reading after.
 *   - curl removes a socket just before it closes it, and a close takes
 *     the socket out of epoll anyway, so the removal waits for close_cb;
 *     one that stays open (kept for reuse) is removed in settle.
 */
static int
sock_cb(CURL *e, curl_socket_t fd, int what, void *arg, void *known)
{
	struct epoll_event ev;

	(void)e;
	(void)arg;
	if (fd == L.probing)
		L.probing = CURL_SOCKET_BAD;	/* curl has said more */
	if (what == CURL_POLL_REMOVE) {
		drop_fd(L.probe, &L.nprobe, fd);
		if (known != NULL && L.nunwatch < SOCK_PENDING)
			L.unwatch[L.nunwatch++] = fd;
		else if (known != NULL)
			epoll_ctl(L.ep, EPOLL_CTL_DEL, fd, NULL);
		curl_multi_assign(L.multi, fd, NULL);
		return 0;
	}
	if (known != NULL) {
		ev = epoll_event_of(fd, what);
		epoll_ctl(L.ep, EPOLL_CTL_MOD, fd, &ev);
		return 0;
	}
	/*
	 * A socket whose removal still waits (curl took a kept connection
	 * back before settle ran) is still in epoll with its old events:
	 * change them now, or nobody would take it out again.
	 */
	drop_fd(L.probe, &L.nprobe, fd);
	if (drop_fd(L.unwatch, &L.nunwatch, fd))
		watch(fd, what);
	else if (what == CURL_POLL_OUT && L.nprobe < SOCK_PENDING)
		L.probe[L.nprobe++] = fd;
	else
		watch(fd, what);
	return 0;
}

/*
 * close_cb - CURLOPT_CLOSESOCKETFUNCTION: a waiting removal goes with it.
 * A socket whose removal waits is still in epoll as curl last had it
 * (reading, after a reply; or whatever a transfer cut short was doing):
 * linger takes it from there (its epoll entry too) and closes it once the
 * scanner has closed its end, so that the TIME_WAIT is the scanner's
 * (linger.h).
 */
static int
close_cb(void *arg, curl_socket_t fd)
{
	(void)arg;
	drop_fd(L.probe, &L.nprobe, fd);
	if (drop_fd(L.unwatch, &L.nunwatch, fd) && L.linger &&
	    linger_hold(fd, now_s()))
		return 0;
	return close(fd);
}

/*
 * settle - after each curl call: hand new connecting sockets back to curl
 * once (sock_cb), and take from epoll the removed ones still open.
 */
static void
settle(void)
{
	int running;

	while (L.nprobe > 0) {
		curl_socket_t fd = L.probe[--L.nprobe];

		L.probing = fd;
		curl_multi_socket_action(L.multi, fd, CURL_CSELECT_OUT,
		    &running);
		/* Still connecting: curl said nothing new, so ask epoll. */
		if (L.probing == fd)
			watch(fd, CURL_POLL_OUT);
		L.probing = CURL_SOCKET_BAD;
	}
	while (L.nunwatch > 0)
		epoll_ctl(L.ep, EPOLL_CTL_DEL, L.unwatch[--L.nunwatch], NULL);
}

/* act - let curl act on fd (or its timer), then settle. */
static void
act(curl_socket_t fd, int how)
{
	int running;

	curl_multi_socket_action(L.multi, fd, how, &running);
	settle();
}

/* timer_cb - CURLMOPT_TIMERFUNCTION: when curl next wants a timeout. */
static int
timer_cb(CURLM *m, long ms, void *arg)
{
	(void)m;
	(void)arg;
	L.timer_due = ms < 0 ? -1 : now_s() + (double)ms / 1000.0;
	return 0;
}

/* wait_ms - how long epoll may sleep: curl's timer, at most POLL_MAX_MS. */
static int
wait_ms(void)
{
	double now = now_s(), left;
	int held = linger_expire(now), ms = POLL_MAX_MS;

	/* Wake for the next held socket's close too (linger.h). */
	if (held >= 0 && held < ms)
		ms = held;
	if (L.timer_due < 0)
		return ms;
	left = (L.timer_due - now) * 1000.0;
	if (left <= 0)
		return 0;
	return left < ms ? (int)left + 1 : ms;
}

/* run_timer - curl's timeout, if it is due. */
static void
run_timer(void)
{
	if (L.timer_due >= 0 && now_s() >= L.timer_due) {
		L.timer_due = -1;
		act(CURL_SOCKET_TIMEOUT, 0);
	}
}

/* run_io - wait for readiness, then let curl act on what is ready. */
static void
run_io(void)
{
	struct epoll_event evs[64];
	int n, ms;

	/*
	 * A transfer just added is due at once (curl's timer says 0):
	 * starting it before the wait spares an epoll_wait that could only
	 * return at once.
	 */
	run_timer();
	/* Removals from collect() and friends, before epoll may see them. */
	settle();
	/*
	 * What curl did just now can have ended transfers: a refused
	 * connect (settle's probe), or a 5xx read back at once on a kept
	 * connection.  Their retries must start now, not after a sleep of
	 * up to POLL_MAX_MS with nothing left to wake it; a retry's new
	 * transfer sets curl's timer to 0, so the wait below is none.
	 */
	collect();
	/* Scanner connections curl closed in this pass: closed now if the
	 * scanner has closed its end, else out of epoll until their time,
	 * so that a late FIN does not wake the loop (linger.h). */
	linger_settle();
	ms = wait_ms();
	/*
	 * Sleep only with nothing queued, and say so: a submitter writes
	 * the eventfd only then, which spares a write, a read and a wakeup
	 * per message while the loop is busy.
	 */
	pthread_mutex_lock(&L.lock);
	if (!STAILQ_EMPTY(&L.queue))
		ms = 0;
	atomic_store(&L.asleep, ms != 0);
	pthread_mutex_unlock(&L.lock);
	n = epoll_wait(L.ep, evs, 64, ms);
	/* A submit that still sees 1 just writes the eventfd once more. */
	atomic_store(&L.asleep, 0);

	for (int i = 0; i < n; i++) {
		int fd = evs[i].data.fd, how = 0;

		/* Edge-triggered: each write is one wakeup, with no read
		 * (scan_loop_start). */
		if (fd == L.wake)
			continue;
		/* A held socket's event is linger's, not curl's. */
		if (linger_event(fd))
			continue;
		if (evs[i].events & EPOLLIN)
			how |= CURL_CSELECT_IN;
		if (evs[i].events & EPOLLOUT)
			how |= CURL_CSELECT_OUT;
		if (evs[i].events & (EPOLLERR | EPOLLHUP))
			how |= CURL_CSELECT_ERR;
		act(fd, how);
	}
	run_timer();
}

/* loop_main - the thread. */
static void *
loop_main(void *arg)
{
	int stopping = 0;

	/* Named, so that top -H and perf tell the threads apart. */
	pthread_setname_np(pthread_self(), "sm-loop");

	(void)arg;
	for (;;) {
		double now = now_s();
		struct scan_queue q;

		/* Leave once stopping and nothing queued or in flight. */
		if ((stopping = take_queue(&q)) == 2)
			break;
		sync_groups(now);
		start_new(&q, stopping);
		start_pings(now, stopping);
		if (atomic_exchange(&L.dump, 0))
			log_stats(now);
		run_io();
		collect();
	}
	/* Closes from here on are at once: nothing is left to wait for them. */
	L.linger = false;
	linger_close_all();
	drop_pings();
	while (L.npool > 0)
		curl_easy_cleanup(L.pool[--L.npool]);
	while (!LIST_EMPTY(&L.groups))
		lgroup_free(LIST_FIRST(&L.groups));
	upstream_registry_clear();
	return NULL;
}

/*
 * loop_close - release what scan_loop_start made, but the eventfd: a
 * submitter that saw the loop asleep writes it after its unlock, and may
 * do so after the loop has gone (loop_enqueue).  It is one descriptor for
 * the life of the process; a new start takes it again.
 */
static void
loop_close(void)
{
	if (L.multi != NULL)
		curl_multi_cleanup(L.multi);
	if (L.ep != -1)
		close(L.ep);
	L.multi = NULL;
	L.ep = -1;
}

int
scan_loop_start(int max_queue)
{
	/*
	 * The wake eventfd is edge-triggered and never read: every write
	 * wakes epoll_wait once, which spares a read per wakeup.  Its count
	 * only grows; it would stop taking writes after 2^64 - 2 of them.
	 */
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET };

	STAILQ_INIT(&L.queue);
	LIST_INIT(&L.groups);
	LIST_INIT(&L.pings);
	L.max_queue = max_queue;
	L.timer_due = -1;
	if ((L.multi = curl_multi_init()) == NULL ||
	    (L.ep = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    (L.wake == -1 &&
	    (L.wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1)) {
		loop_close();
		return -1;
	}
	ev.data.fd = L.wake;
	epoll_ctl(L.ep, EPOLL_CTL_ADD, L.wake, &ev);
	/* Without its table every close is at once, as curl's own would be. */
	L.linger = linger_init(L.ep);
	curl_multi_setopt(L.multi, CURLMOPT_MAXCONNECTS, (long)MAX_IDLE_CONNS);
	curl_multi_setopt(L.multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(L.multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	L.running = 1;
	if (pthread_create(&L.thread, NULL, loop_main, NULL) != 0) {
		L.running = 0;
		loop_close();
		return -1;
	}
	return 0;
}

void
scan_loop_stop(void)
{
	pthread_mutex_lock(&L.lock);
	if (!L.running) {
		pthread_mutex_unlock(&L.lock);
		return;
	}
	L.stopping = 1;
	loop_wake();
	pthread_mutex_unlock(&L.lock);
	pthread_join(L.thread, NULL);
	pthread_mutex_lock(&L.lock);
	L.running = 0;
	loop_close();
	pthread_mutex_unlock(&L.lock);
}

/* scan_global_init - curl_global_init, before any thread (libcurl-thread.md). */
int
scan_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}
