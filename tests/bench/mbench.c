/*
 * mbench - push a corpus of messages at a milter, an Rspamd HTTP worker or
 * an SMTP server with C concurrent clients, and report throughput and
 * latency.  Used by tests/bench/run.sh; measures, never asserts.
 *
 *   mbench -m milter|http|smtp -a HOST:PORT -c CONC -n TOTAL [-k PER_CONN]
 *          [-t TIMEOUT_S] FILE...
 *
 * FILEs are whole messages (CRLF).  Message i is FILE[i % nfiles].  Each
 * client thread opens a connection, sends PER_CONN messages on it (the
 * milter client as an MTA would: connect, helo, then mail/rcpt/headers/
 * body/eom per message), closes it, and repeats until TOTAL are done.
 * Latency is from the first byte of a message to its final answer.
 *
 * Output, one line: mode conc n ok reject tempfail other errors secs
 * msgs_per_s p50_ms p99_ms.  With MBENCH_SLOW_MS=T in the environment,
 * each message that took T ms or more is also told on stderr, with
 * whether it opened its connection (so the time includes connecting and
 * negotiating).
 *
 * The milter client offers SMFIP_HDR_LEADSPC and the SMFIP_NR_* steps and
 * follows what the filter takes, like Postfix; the HTTP client reuses its connection
 * (keep-alive), like a proxy; the SMTP client speaks plain ESMTP.
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define NR_CONN		0x1000
#define NR_HELO		0x2000
#define NR_MAIL		0x4000
#define NR_RCPT		0x8000
#define NR_HDR		0x0080
#define NR_EOH		0x40000
#define NR_BODY		0x80000
#define LEADSPC		0x100000
#define NR_OFFER	(NR_CONN | NR_HELO | NR_MAIL | NR_RCPT | NR_HDR | \
			 NR_EOH | NR_BODY | 0x10000 | 0x20000)

enum result { RES_OK, RES_REJECT, RES_TEMPFAIL, RES_OTHER, RES_ERROR, RES_MAX };

struct msgfile {
	char	*data;
	size_t	 len;
	size_t	 head_len;	/* up to and including the empty line */
};

static struct {
	const char	*mode;
	char		 host[256];
	int		 port;
	int		 conc;
	int		 total;
	int		 per_conn;
	double		 slow_ms;	/* MBENCH_SLOW_MS: tell slower ones */
	int		 timeout;
	struct msgfile	*files;
	int		 nfiles;
	atomic_int	 next;
	atomic_int	 counts[RES_MAX];
	double		*lat;		/* ms, by message number */
} B;

static double
now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000.0 + t.tv_nsec / 1e6;
}

static void
die(const char *what)
{
	fprintf(stderr, "mbench: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void
load(const char *path, struct msgfile *m)
{
	FILE *fp = fopen(path, "rb");
	char *sep;

	if (fp == NULL)
		die(path);
	fseek(fp, 0, SEEK_END);
	m->len = (size_t)ftell(fp);
	rewind(fp);
	m->data = malloc(m->len + 1);
	if (fread(m->data, 1, m->len, fp) != m->len)
		die(path);
	m->data[m->len] = '\0';
	fclose(fp);
	sep = strstr(m->data, "\r\n\r\n");
	m->head_len = sep ? (size_t)(sep - m->data) + 4 : m->len;
}

/* tcp_open - a connected socket with send/receive timeouts, or -1. */
static int
tcp_open(void)
{
	struct sockaddr_in sa;
	struct timeval tv = { B.timeout, 0 };
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)B.port);
	inet_pton(AF_INET, B.host, &sa.sin_addr);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = write(fd, c, n);

		if (w <= 0) {
			if (w == -1 && errno == EINTR)
				continue;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
read_all(int fd, void *p, size_t n)
{
	char *c = p;

	while (n > 0) {
		ssize_t r = read(fd, c, n);

		if (r <= 0) {
			if (r == -1 && errno == EINTR)
				continue;
			return -1;
		}
		c += r;
		n -= (size_t)r;
	}
	return 0;
}

/* ---- milter ---------------------------------------------------------- */

/* Output buffer of packets, written at once where no reply is awaited. */
struct obuf {
	char	*d;
	size_t	 len, cap;
};

static void
ob_packet(struct obuf *o, char cmd, const void *data, size_t len)
{
	uint32_t n = htonl((uint32_t)len + 1);

	if (o->len + len + 5 > o->cap) {
		o->cap = (o->len + len + 5) * 2;
		o->d = realloc(o->d, o->cap);
	}
	memcpy(o->d + o->len, &n, 4);
	o->d[o->len + 4] = cmd;
	memcpy(o->d + o->len + 5, data, len);
	o->len += len + 5;
}

static int
ob_flush(int fd, struct obuf *o)
{
	int rc = write_all(fd, o->d, o->len);

	o->len = 0;
	return rc;
}

/* mread - one packet: command and (truncated) data. */
static int
mread(int fd, char *cmd, char *data, size_t cap, size_t *lenp)
{
	uint32_t n;
	char skip[4096];

	if (read_all(fd, &n, 4) == -1)
		return -1;
	n = ntohl(n);
	if (n == 0 || read_all(fd, cmd, 1) == -1)
		return -1;
	n--;
	*lenp = n;
	if (n <= cap)
		return read_all(fd, data, n);
	if (read_all(fd, data, cap) == -1)
		return -1;
	for (n -= (uint32_t)cap; n > 0;) {
		size_t k = n < sizeof(skip) ? n : sizeof(skip);

		if (read_all(fd, skip, k) == -1)
			return -1;
		n -= (uint32_t)k;
	}
	return 0;
}

/* mstep - send what is buffered; if the step wants a reply, expect 'c'. */
static int
mstep(int fd, struct obuf *o, int noreply)
{
	char cmd, data[512];
	size_t len;

	if (noreply)
		return 0;
	if (ob_flush(fd, o) == -1 || mread(fd, &cmd, data, sizeof(data),
	    &len) == -1)
		return -1;
	return cmd == 'c' ? 0 : -1;
}

/* milter_open - connect, negotiate, connection info and HELO. */
static int
milter_open(uint32_t *proto)
{
	int fd = tcp_open();
	uint32_t neg[3] = { htonl(6), htonl(0x1ff), htonl(NR_OFFER | LEADSPC) };
	struct obuf o = { NULL, 0, 0 };
	char cmd, data[512];
	size_t len;
	static const char conninfo[] = "client.example.net\0" "4\x00\x19"
	    "192.0.2.7";

	if (fd == -1)
		return -1;
	ob_packet(&o, 'O', neg, sizeof(neg));
	if (ob_flush(fd, &o) == -1 || mread(fd, &cmd, data, sizeof(data),
	    &len) == -1 || cmd != 'O' || len < 12)
		goto fail;
	memcpy(proto, data + 8, 4);
	*proto = ntohl(*proto);
	ob_packet(&o, 'D', "Cj\0mx.bench.example", 20);
	ob_packet(&o, 'C', conninfo, sizeof(conninfo));
	if (mstep(fd, &o, *proto & NR_CONN) == -1)
		goto fail;
	ob_packet(&o, 'H', "client.example.net", 19);
	if (mstep(fd, &o, *proto & NR_HELO) == -1)
		goto fail;
	if (o.len > 0 && ob_flush(fd, &o) == -1)
		goto fail;
	free(o.d);
	return fd;
fail:
	free(o.d);
	close(fd);
	return -1;
}

/* milter_headers - each header of the message as a packet. */
static int
milter_headers(int fd, struct obuf *o, const struct msgfile *m,
    uint32_t proto)
{
	const char *p = m->data, *end = m->data + m->head_len - 2;
	char *pkt = malloc(m->head_len + 2);
	int rc = 0;

	while (p < end && rc == 0) {
		const char *colon = memchr(p, ':', (size_t)(end - p));
		const char *e = p;
		size_t nl, vl, k = 0;

		/* The field ends at a CRLF not followed by a blank. */
		while (e + 1 < end && !(e[0] == '\r' && e[1] == '\n' &&
		    e + 2 < end && e[2] != ' ' && e[2] != '\t'))
			e++;
		if (e + 1 >= end)
			e = end - 2 > p ? end - 2 : end;
		if (colon == NULL || colon > e)
			break;
		nl = (size_t)(colon - p);
		memcpy(pkt, p, nl);
		pkt[nl] = '\0';
		/* Value as an MTA hands it over: line breaks as LF, and,
		 * to a filter that did not ask for SMFIP_HDR_LEADSPC, without
		 * the one space after the colon (as Postfix and Sendmail). */
		for (const char *v = colon + 1 + (!(proto & LEADSPC) &&
		    colon + 1 < e && colon[1] == ' '); v < e; v++)
			if (!(v[0] == '\r' && v + 1 < e && v[1] == '\n'))
				pkt[nl + 1 + k++] = *v;
		vl = k;
		pkt[nl + 1 + vl] = '\0';
		ob_packet(o, 'L', pkt, nl + vl + 2);
		rc = mstep(fd, o, proto & NR_HDR);
		p = e + 2;
	}
	free(pkt);
	return rc;
}

/* milter_final - read replies until the final one. */
static enum result
milter_final(int fd)
{
	char cmd, data[1024];
	size_t len;

	for (;;) {
		if (mread(fd, &cmd, data, sizeof(data), &len) == -1)
			return RES_ERROR;
		switch (cmd) {
		case 'a': case 'c': return RES_OK;
		case 'r': return RES_REJECT;
		case 't': return RES_TEMPFAIL;
		case 'd': return RES_OTHER;
		case 'y': return data[0] == '5' ? RES_REJECT : RES_TEMPFAIL;
		case 'p': case 'h': case 'i': case 'm': case 'e': case '+':
		case '-': case 'q': case '2': case 'b':
			continue;
		default:
			return RES_ERROR;
		}
	}
}

/* milter_message - one message on an open connection. */
static enum result
milter_message(int fd, uint32_t proto, const struct msgfile *m, int no)
{
	struct obuf o = { NULL, 0, 0 };
	char qid[64];
	size_t off;
	enum result r = RES_ERROR;
	int n = snprintf(qid, sizeof(qid), "Mi%cB%08X", '\0', no);

	ob_packet(&o, 'D', qid, (size_t)n + 1);
	ob_packet(&o, 'M', "<sender@example.org>", 21);
	if (mstep(fd, &o, proto & NR_MAIL) == -1)
		goto out;
	ob_packet(&o, 'R', "<rcpt@bench.example>", 21);
	if (mstep(fd, &o, proto & NR_RCPT) == -1 ||
	    milter_headers(fd, &o, m, proto) == -1)
		goto out;
	ob_packet(&o, 'N', "", 0);
	if (mstep(fd, &o, proto & NR_EOH) == -1)
		goto out;
	for (off = m->head_len; off < m->len; off += 65535) {
		size_t k = m->len - off < 65535 ? m->len - off : 65535;

		ob_packet(&o, 'B', m->data + off, k);
		if (mstep(fd, &o, proto & NR_BODY) == -1)
			goto out;
	}
	ob_packet(&o, 'E', "", 0);
	if (ob_flush(fd, &o) == -1)
		goto out;
	r = milter_final(fd);
out:
	free(o.d);
	return r;
}

/* ---- http ------------------------------------------------------------ */

static size_t
sink(char *p, size_t s, size_t n, void *arg)
{
	struct obuf *o = arg;
	size_t k = s * n;

	/* Keep the first 2047 bytes: "action" comes first in the reply. */
	if (o->len < 2047)
		memcpy(o->d + o->len, p, k < 2047 - o->len ? k : 2047 - o->len);
	o->len += k;
	return s * n;
}

static enum result
http_message(CURL *e, const struct msgfile *m, int no)
{
	char url[300], qid[64];
	struct curl_slist *h = NULL;
	struct obuf reply = { NULL, 0, 0 };
	char buf[2048];
	long code = 0;
	CURLcode rc;

	reply.d = buf;
	snprintf(url, sizeof(url), "http://%s:%d/checkv2", B.host, B.port);
	snprintf(qid, sizeof(qid), "Queue-Id: B%08X", no);
	h = curl_slist_append(h, "IP: 192.0.2.7");
	h = curl_slist_append(h, "Helo: client.example.net");
	h = curl_slist_append(h, "Hostname: client.example.net");
	h = curl_slist_append(h, "From: <sender@example.org>");
	h = curl_slist_append(h, "Rcpt: <rcpt@bench.example>");
	h = curl_slist_append(h, qid);
	h = curl_slist_append(h, "Expect:");
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, m->data);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)m->len);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &reply);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, (long)B.timeout);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	rc = curl_easy_perform(e);
	curl_slist_free_all(h);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
	if (rc != CURLE_OK || code != 200)
		return RES_ERROR;
	buf[reply.len < 2047 ? reply.len : 2047] = '\0';
	if (strstr(buf, "\"action\":\"reject\"") != NULL)
		return RES_REJECT;
	if (strstr(buf, "soft reject") != NULL)
		return RES_TEMPFAIL;
	return RES_OK;
}

/* ---- smtp ------------------------------------------------------------ */

/* smtp_reply - read a (multiline) reply; its code, or -1. */
static int
smtp_reply(int fd)
{
	char line[1024];
	size_t n = 0;

	for (;;) {
		char c;

		if (read(fd, &c, 1) != 1)
			return -1;
		if (n < sizeof(line) - 1)
			line[n++] = c;
		if (c != '\n')
			continue;
		line[n] = '\0';
		if (n >= 4 && line[3] == ' ')
			return atoi(line);
		n = 0;
	}
}

static int
smtp_cmd(int fd, const char *s)
{
	return write_all(fd, s, strlen(s)) == -1 ? -1 : smtp_reply(fd);
}

static int
smtp_open(void)
{
	int fd = tcp_open();

	if (fd == -1)
		return -1;
	if (smtp_reply(fd) != 220 ||
	    smtp_cmd(fd, "EHLO client.example.net\r\n") != 250) {
		close(fd);
		return -1;
	}
	return fd;
}

static enum result
smtp_message(int fd, const struct msgfile *m)
{
	int code;

	if (smtp_cmd(fd, "MAIL FROM:<sender@example.org>\r\n") != 250 ||
	    smtp_cmd(fd, "RCPT TO:<rcpt@bench.example>\r\n") != 250 ||
	    smtp_cmd(fd, "DATA\r\n") != 354)
		return RES_ERROR;
	/* The corpus has no line starting with a dot: no stuffing needed. */
	if (write_all(fd, m->data, m->len) == -1 ||
	    (code = smtp_cmd(fd, ".\r\n")) == -1)
		return RES_ERROR;
	if (code / 100 == 2)
		return RES_OK;
	return code / 100 == 5 ? RES_REJECT : RES_TEMPFAIL;
}

/* ---- driver ---------------------------------------------------------- */

static void *
worker(void *arg)
{
	CURL *e = strcmp(B.mode, "http") == 0 ? curl_easy_init() : NULL;
	int fd = -1, used = 0, opened;
	uint32_t proto = 0;

	(void)arg;
	for (;;) {
		int no = atomic_fetch_add(&B.next, 1);
		const struct msgfile *m;
		enum result r;
		double t0;

		if (no >= B.total)
			break;
		m = &B.files[no % B.nfiles];
		t0 = now_ms();
		opened = 0;
		if (e != NULL) {
			r = http_message(e, m, no);
		} else {
			if (fd == -1) {
				fd = B.mode[0] == 'm' ? milter_open(&proto) :
				    smtp_open();
				used = 0;
				opened = 1;
			}
			if (fd == -1)
				r = RES_ERROR;
			else if (B.mode[0] == 'm')
				r = milter_message(fd, proto, m, no);
			else
				r = smtp_message(fd, m);
			if (r == RES_ERROR || ++used >= B.per_conn) {
				if (fd != -1 && B.mode[0] == 's' && r != RES_ERROR)
					smtp_cmd(fd, "QUIT\r\n");
				if (fd != -1)
					close(fd);
				fd = -1;
			}
		}
		B.lat[no] = now_ms() - t0;
		if (B.slow_ms > 0 && B.lat[no] >= B.slow_ms)
			fprintf(stderr, "mbench: message %d took %.0f ms "
			    "(%s, result %d)\n", no, B.lat[no], opened ?
			    "first on a new connection" : "on an open connection",
			    (int)r);
		atomic_fetch_add(&B.counts[r], 1);
	}
	if (fd != -1)
		close(fd);
	if (e != NULL)
		curl_easy_cleanup(e);
	return NULL;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
	pthread_t *t;
	double t0, secs;
	int ch;
	char *colon;

	B.conc = 1;
	B.total = 1000;
	B.per_conn = 10;
	if (getenv("MBENCH_SLOW_MS") != NULL)
		B.slow_ms = atof(getenv("MBENCH_SLOW_MS"));
	B.timeout = 60;
	B.mode = "milter";
	while ((ch = getopt(argc, argv, "m:a:c:n:k:t:")) != -1) {
		switch (ch) {
		case 'm': B.mode = optarg; break;
		case 'a':
			snprintf(B.host, sizeof(B.host), "%s", optarg);
			if ((colon = strrchr(B.host, ':')) == NULL)
				return 2;
			*colon = '\0';
			B.port = atoi(colon + 1);
			break;
		case 'c': B.conc = atoi(optarg); break;
		case 'n': B.total = atoi(optarg); break;
		case 'k': B.per_conn = atoi(optarg); break;
		case 't': B.timeout = atoi(optarg); break;
		default: return 2;
		}
	}
	if (optind >= argc || B.port == 0 || B.conc < 1 || B.total < 1) {
		fprintf(stderr, "usage: mbench -m milter|http|smtp -a HOST:PORT "
		    "-c CONC -n TOTAL [-k PER_CONN] [-t SECS] FILE...\n");
		return 2;
	}
	B.nfiles = argc - optind;
	B.files = calloc((size_t)B.nfiles, sizeof(*B.files));
	for (int i = 0; i < B.nfiles; i++)
		load(argv[optind + i], &B.files[i]);
	B.lat = calloc((size_t)B.total, sizeof(double));
	curl_global_init(CURL_GLOBAL_DEFAULT);
	t = calloc((size_t)B.conc, sizeof(*t));
	t0 = now_ms();
	for (int i = 0; i < B.conc; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	for (int i = 0; i < B.conc; i++)
		pthread_join(t[i], NULL);
	secs = (now_ms() - t0) / 1000.0;
	qsort(B.lat, (size_t)B.total, sizeof(double), cmp_double);
	printf("%s %d %d %d %d %d %d %d %.2f %.1f %.2f %.2f\n", B.mode, B.conc,
	    B.total, B.counts[RES_OK], B.counts[RES_REJECT], B.counts[RES_TEMPFAIL],
	    B.counts[RES_OTHER], B.counts[RES_ERROR], secs, B.total / secs,
	    B.lat[B.total / 2], B.lat[(size_t)(B.total * 0.99)]);
	return 0;
}
