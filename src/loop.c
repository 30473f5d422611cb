/*
 * loop.c - the scan loop: one thread that owns the curl multi handle, every
 * easy handle and all upstream state.  Milter threads only append to the
 * submission queue and call curl_multi_wakeup(); nothing else here is
 * touched from another thread, so upstream state needs no locks.
 *
 * Each pass: take the whole submission queue, start an attempt per new job,
 * let curl work, collect finished transfers (retry on another upstream while
 * tries and time remain, else complete the job), then sleep in
 * curl_multi_poll() until a socket, a curl timer or a wakeup.
 *
 * This is the only file that includes <curl/curl.h>.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blob.h"
#include "config.h"
#include "log.h"
#include "scan_internal.h"
#include "xalloc.h"

#define POLL_MAX_MS	1000

/* One HTTP request for a job, to one upstream. */
struct attempt {
	struct scan_job		*job;
	CURL			*easy;
	struct curl_slist	*hdrs;
	size_t			 sent;		/* body bytes read by curl */
	size_t			 host;		/* index in the hostlist */
	char			 errbuf[CURL_ERROR_SIZE];
};

static struct {
	pthread_mutex_t	 lock;		/* guards queue, queued, stopping */
	struct scan_queue queue;
	int		 queued;	/* queued + in flight */
	int		 max_queue;
	int		 stopping;
	int		 running;	/* thread started, multi valid */
	CURLM		*multi;
	pthread_t	 thread;
	unsigned long	 rr;		/* round-robin cursor (loop only) */
} L = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
};

int
loop_enqueue(struct scan_job *j, enum scan_status *why)
{
	pthread_mutex_lock(&L.lock);
	if (!L.running || L.stopping) {
		*why = SCAN_ERR_SHUTDOWN;
	} else if (L.queued >= L.max_queue) {
		*why = SCAN_ERR_OVERLOAD;
	} else {
		STAILQ_INSERT_TAIL(&L.queue, j, entry);
		L.queued++;
		/* Under the lock: the multi handle cannot go away meanwhile. */
		curl_multi_wakeup(L.multi);
		pthread_mutex_unlock(&L.lock);
		return 0;
	}
	pthread_mutex_unlock(&L.lock);
	return -1;
}

/* finish_job - complete and forget a job; it leaves the loop's count. */
static void
finish_job(struct scan_job *j, enum scan_status st)
{
	pthread_mutex_lock(&L.lock);
	L.queued--;
	pthread_mutex_unlock(&L.lock);
	scan_complete(j, st);
}

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

/* write_reply - CURLOPT_WRITEFUNCTION: into the bounded reply buffer. */
static size_t
write_reply(char *src, size_t size, size_t nmemb, void *arg)
{
	struct attempt *a = arg;

	if (buf_append(&a->job->reply, src, size * nmemb) == -1)
		return 0;	/* curl fails the transfer: too big */
	return size * nmemb;
}

/* pick_host - next host index for a job (round-robin, skipping none yet). */
static size_t
pick_host(const struct hostlist *hl, int attempt_no, size_t prev)
{
	if (attempt_no > 0)
		return (prev + 1) % hl->nhosts;
	if (hl->strategy == HOSTLIST_MASTER_SLAVE ||
	    hl->strategy == HOSTLIST_SEQUENTIAL)
		return 0;
	return L.rr++ % hl->nhosts;
}

/* attempt_url - the request URL for a host. */
static void
attempt_url(const struct host *h, char *url, size_t len)
{
	if (h->is_unix)
		snprintf(url, len, "http://localhost%s", RSPAMD_PATH_CHECK);
	else if (h->is_ipv6)
		snprintf(url, len, "http://[%s]:%d%s", h->name, h->port,
		    RSPAMD_PATH_CHECK);
	else
		snprintf(url, len, "http://%s:%d%s", h->name, h->port,
		    RSPAMD_PATH_CHECK);
}

/* attempt_setopts - configure an easy handle for one attempt. */
static void
attempt_setopts(struct attempt *a, const struct host *h, long timeout_ms)
{
	struct scan_job *j = a->job;
	const struct group_conf *g = j->group;
	char url[512];
	long cto = (long)(g->connect_timeout * 1000.0);
	CURL *e = a->easy;

	attempt_url(h, url, sizeof(url));
	for (size_t i = 0; i < j->hdrs.n; i++)
		a->hdrs = curl_slist_append(a->hdrs, j->hdrs.v[i]);
	/* No "Expect: 100-continue" round trip; no form content type. */
	a->hdrs = curl_slist_append(a->hdrs, "Expect:");
	a->hdrs = curl_slist_append(a->hdrs, "Content-Type:");
	curl_easy_setopt(e, CURLOPT_URL, url);
	if (h->is_unix)
		curl_easy_setopt(e, CURLOPT_UNIX_SOCKET_PATH, h->name);
	curl_easy_setopt(e, CURLOPT_POST, 1L);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)blob_size(j->blob));
	curl_easy_setopt(e, CURLOPT_READFUNCTION, read_body);
	curl_easy_setopt(e, CURLOPT_READDATA, a);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_reply);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, a);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, a->hdrs);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
	    cto < timeout_ms ? cto : timeout_ms);
	curl_easy_setopt(e, CURLOPT_PRIVATE, a);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, a->errbuf);
	curl_easy_setopt(e, CURLOPT_PROXY, "");
	curl_easy_setopt(e, CURLOPT_USERAGENT, "scanmilter/" SCANMILTER_VERSION);
}

/*
 * attempt_start - send the job to its next upstream.  Returns 0, or -1 if
 * no attempt could be made (the caller completes the job).
 */
static int
attempt_start(struct scan_job *j, size_t prev_host)
{
	const struct hostlist *hl = j->group->hostlist;
	double left = ts_ms_until(&j->deadline);
	long per_try = (long)(j->group->timeout * 1000.0);
	struct attempt *a;
	const struct host *h;

	if (left < 1)
		return -1;
	a = xcalloc(1, sizeof(*a));
	a->job = j;
	a->host = pick_host(hl, j->attempts, prev_host);
	h = &hl->hosts[a->host];
	if ((a->easy = curl_easy_init()) == NULL) {
		free(a);
		return -1;
	}
	attempt_setopts(a, h, per_try < left ? per_try : (long)left);
	buf_reset(&j->reply);
	snprintf(j->upstream, sizeof(j->upstream), "%s", h->label);
	j->attempts++;
	if (curl_multi_add_handle(L.multi, a->easy) != CURLM_OK) {
		curl_slist_free_all(a->hdrs);
		curl_easy_cleanup(a->easy);
		free(a);
		return -1;
	}
	return 0;
}

/* attempt_free - remove from the multi and free. */
static void
attempt_free(struct attempt *a)
{
	curl_multi_remove_handle(L.multi, a->easy);
	curl_easy_cleanup(a->easy);
	curl_slist_free_all(a->hdrs);
	free(a);
}

/* classify - what a finished transfer means; retryable says try another. */
static enum scan_status
classify(struct attempt *a, CURLcode rc, int *retryable)
{
	struct scan_job *j = a->job;
	long code = 0;

	*retryable = 1;
	curl_easy_getinfo(a->easy, CURLINFO_RESPONSE_CODE, &code);
	j->http_code = code;
	switch (rc) {
	case CURLE_OK:
		break;
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
		snprintf(j->error, sizeof(j->error), "%s: %s", j->upstream,
		    a->errbuf[0] ? a->errbuf : curl_easy_strerror(rc));
		return SCAN_ERR_CONNECT;
	case CURLE_OPERATION_TIMEDOUT:
		snprintf(j->error, sizeof(j->error), "%s: %s", j->upstream,
		    a->errbuf[0] ? a->errbuf : "timed out");
		return SCAN_ERR_TIMEOUT;
	case CURLE_WRITE_ERROR:
		*retryable = 0;
		snprintf(j->error, sizeof(j->error), "%s: reply over %u bytes",
		    j->upstream, SCAN_REPLY_MAX);
		return SCAN_ERR_TOO_BIG;
	default:
		snprintf(j->error, sizeof(j->error), "%s: %s", j->upstream,
		    a->errbuf[0] ? a->errbuf : curl_easy_strerror(rc));
		return SCAN_ERR_TRANSFER;
	}
	if (code == 200)
		return SCAN_OK;
	/* 4xx: the request itself is at fault; another upstream agrees. */
	*retryable = code >= 500;
	snprintf(j->error, sizeof(j->error), "%s: HTTP status %ld",
	    j->upstream, code);
	return SCAN_ERR_HTTP;
}

/* attempt_done - a transfer ended: retry or complete the job. */
static void
attempt_done(struct attempt *a, CURLcode rc)
{
	struct scan_job *j = a->job;
	int retryable;
	enum scan_status st = classify(a, rc, &retryable);
	size_t host = a->host;

	attempt_free(a);
	if (st == SCAN_OK) {
		finish_job(j, SCAN_OK);
		return;
	}
	/*
	 * A failure that ends the job is told once, in the milter's summary
	 * line; only one that is retried gets a line of its own here.
	 */
	if (retryable && j->attempts <= j->group->max_retries) {
		char why[sizeof(j->error)];

		snprintf(why, sizeof(why), "%s", j->error);
		if (attempt_start(j, host) == 0) {
			log_warnx("%s: upstream %s (attempt %d), retrying on %s",
			    j->qid, why, j->attempts - 1, j->upstream);
			return;
		}
	}
	finish_job(j, st);
}

/* take_queue - move the submission queue out under the lock. */
static int
take_queue(struct scan_queue *out)
{
	int stopping;

	STAILQ_INIT(out);
	pthread_mutex_lock(&L.lock);
	STAILQ_CONCAT(out, &L.queue);
	stopping = L.stopping;
	pthread_mutex_unlock(&L.lock);
	return stopping;
}

/* start_new - attempts for every newly submitted job. */
static void
start_new(int stopping)
{
	struct scan_queue q;
	struct scan_job *j;

	stopping |= take_queue(&q);
	while ((j = STAILQ_FIRST(&q)) != NULL) {
		STAILQ_REMOVE_HEAD(&q, entry);
		if (stopping) {
			snprintf(j->error, sizeof(j->error), "shutting down");
			finish_job(j, SCAN_ERR_SHUTDOWN);
		} else if (attempt_start(j, 0) == -1) {
			snprintf(j->error, sizeof(j->error), "%s",
			    ts_ms_until(&j->deadline) < 1 ?
			    "deadline passed before sending" :
			    "cannot create a transfer");
			finish_job(j, ts_ms_until(&j->deadline) < 1 ?
			    SCAN_ERR_TIMEOUT : SCAN_ERR_INTERNAL);
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
		attempt_done(a, m->data.result);
	}
}

/* loop_main - the thread. */
static void *
loop_main(void *arg)
{
	int running = 0, stopping = 0;

	for (;;) {
		pthread_mutex_lock(&L.lock);
		stopping = L.stopping;
		/* Leave once stopping and nothing queued or in flight. */
		if (stopping && L.queued == 0 && STAILQ_EMPTY(&L.queue)) {
			pthread_mutex_unlock(&L.lock);
			break;
		}
		pthread_mutex_unlock(&L.lock);
		start_new(stopping);
		curl_multi_perform(L.multi, &running);
		collect();
		curl_multi_poll(L.multi, NULL, 0, POLL_MAX_MS, NULL);
	}
	return NULL;
}

int
scan_loop_start(int max_queue)
{
	STAILQ_INIT(&L.queue);
	L.max_queue = max_queue;
	if ((L.multi = curl_multi_init()) == NULL)
		return -1;
	L.running = 1;
	if (pthread_create(&L.thread, NULL, loop_main, NULL) != 0) {
		L.running = 0;
		curl_multi_cleanup(L.multi);
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
	curl_multi_wakeup(L.multi);
	pthread_mutex_unlock(&L.lock);
	pthread_join(L.thread, NULL);
	pthread_mutex_lock(&L.lock);
	L.running = 0;
	curl_multi_cleanup(L.multi);
	L.multi = NULL;
	pthread_mutex_unlock(&L.lock);
}

/* scan_global_init - curl_global_init, before any thread (libcurl-thread.md). */
int
scan_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}
