/*
 * mime.c - a bounded MIME walker for the self-scan rules; see mime.h.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mime.h"
#include "xalloc.h"

const struct mime_limits mime_default_limits = {
	.max_headers = 1000,
	.max_parts = 256,
	.max_depth = 8,
	.max_text = 2u << 20,
};

struct walk {
	const struct mime_limits *lim;
	struct mime_msg	*m;
	size_t		 text_used;
};

/* A part's own headers, as far as the walk needs them. */
struct part_head {
	char	type[64];
	char	charset[32];
	char	boundary[80];
	char	cte[32];
	char	name[256];
	char	filename[256];
	int	attachment;
};

/* head_end - length of the header block and where the body starts. */
static void
head_end(const char *p, size_t n, size_t *hlen, size_t *body)
{
	size_t i;

	if (n >= 2 && p[0] == '\r' && p[1] == '\n') {
		*hlen = 0;
		*body = 2;
		return;
	}
	if (n >= 1 && p[0] == '\n') {
		*hlen = 0;
		*body = 1;
		return;
	}
	for (i = 0; i < n; i++) {
		if (p[i] != '\n')
			continue;
		if (i + 1 < n && p[i + 1] == '\n') {
			*hlen = i + 1;
			*body = i + 2;
			return;
		}
		if (i + 2 < n && p[i + 1] == '\r' && p[i + 2] == '\n') {
			*hlen = i + 1;
			*body = i + 3;
			return;
		}
	}
	*hlen = n;	/* no body */
	*body = n;
}

/* unfold - a field's value: line breaks out, blanks around trimmed. */
static char *
unfold(const char *v, size_t n)
{
	char *out = xmalloc(n + 1);
	size_t o = 0;

	for (size_t i = 0; i < n; i++)
		if (v[i] != '\r' && v[i] != '\n')
			out[o++] = v[i] == '\t' ? ' ' : v[i];
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
	{
		size_t s = 0;

		while (out[s] == ' ')
			s++;
		memmove(out, out + s, o - s + 1);
	}
	return out;
}

/*
 * each_field - call fn for every "Name: value" field of the header block
 * p[0..n), value unfolded; stops after max fields (returns 1 if it did).
 */
static int
each_field(const char *p, size_t n, size_t max,
    void (*fn)(void *, const char *, size_t, const char *, size_t),
    void *arg)
{
	size_t i = 0, count = 0;

	while (i < n) {
		size_t start = i, colon = 0, end;

		/* The field runs to a line break not followed by a blank. */
		while (i < n) {
			if (p[i] == ':' && colon == 0)
				colon = i;
			if (p[i] == '\n' && (i + 1 >= n ||
			    (p[i + 1] != ' ' && p[i + 1] != '\t'))) {
				i++;
				break;
			}
			i++;
		}
		end = i;
		if (colon == 0 || colon == start || p[start] == ' ' ||
		    p[start] == '\t')
			continue;
		if (count++ >= max)
			return 1;
		fn(arg, p + start, colon - start, p + colon + 1,
		    end - colon - 1);
	}
	return 0;
}

/* hexval - a hex digit's value, -1 if none. */
static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* b64val - a base64 character's value, -1 if none. */
static int
b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/*
 * decode_b64, decode_qp - decode n bytes into out (which has room for n);
 * out NULL only counts.  Junk is skipped, as mail readers do.
 */
static size_t
decode_b64(const char *p, size_t n, char *out)
{
	unsigned acc = 0;
	int bits = 0;
	size_t o = 0;

	for (size_t i = 0; i < n && p[i] != '='; i++) {
		int v = b64val((unsigned char)p[i]);

		if (v < 0)
			continue;
		acc = (acc << 6) | (unsigned)v;
		if ((bits += 6) >= 8) {
			bits -= 8;
			if (out != NULL)
				out[o] = (char)((acc >> bits) & 0xff);
			o++;
		}
	}
	return o;
}

static size_t
decode_qp(const char *p, size_t n, char *out, int header)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		char c = p[i];

		if (c == '=' && i + 2 < n + 0 && hexval(p[i + 1]) >= 0 &&
		    hexval(p[i + 2]) >= 0) {
			c = (char)(hexval(p[i + 1]) * 16 + hexval(p[i + 2]));
			i += 2;
		} else if (c == '=' && i + 1 < n && (p[i + 1] == '\n' ||
		    (p[i + 1] == '\r' && i + 2 < n && p[i + 2] == '\n'))) {
			i += p[i + 1] == '\r' ? 2 : 1;	/* soft break */
			continue;
		} else if (c == '_' && header) {
			c = ' ';
		}
		if (out != NULL)
			out[o] = c;
		o++;
	}
	return o;
}

/*
 * word_at - whether an encoded word "=?charset?B|Q?text?=" starts at s[i];
 * if so *enc points at its B or Q and *end at its "?=".  Once no "?="
 * follows at all, none will for any later word either: *no_end is set and
 * the caller stops looking, or "=?a?B?" repeated would cost a scan to the
 * end for each.
 */
static int
word_at(const char *s, size_t i, const char **enc, const char **end,
    int *no_end)
{
	const char *q1;

	if (*no_end || s[i] != '=' || s[i + 1] != '?' ||
	    (q1 = strchr(s + i + 2, '?')) == NULL || q1[1] == '\0' ||
	    strchr("BbQq", q1[1]) == NULL || q1[2] != '?')
		return 0;
	if ((*end = strstr(q1 + 3, "?=")) == NULL) {
		*no_end = 1;
		return 0;
	}
	*enc = q1 + 1;
	return 1;
}

char *
mime_decode_words(const char *s)
{
	size_t n = strlen(s), o = 0, i = 0;
	char *out = xmalloc(n + 1);
	int last_was_word = 0, no_end = 0;

	while (i < n) {
		const char *enc, *end;

		if (word_at(s, i, &enc, &end, &no_end)) {
			const char *text = enc + 2;

			/* Blanks between two encoded words are not text. */
			if (last_was_word)
				while (o > 0 && (out[o - 1] == ' ' ||
				    out[o - 1] == '\t'))
					o--;
			if (*enc == 'B' || *enc == 'b')
				o += decode_b64(text, end - text, out + o);
			else
				o += decode_qp(text, end - text, out + o, 1);
			i = end + 2 - s;
			last_was_word = 1;
			continue;
		}
		if (s[i] != ' ' && s[i] != '\t')
			last_was_word = 0;
		out[o++] = s[i++];
	}
	out[o] = '\0';
	return out;
}

/* lower - copy at most len-1 bytes of s[0..n) lowercased into out. */
static void
lower(char *out, size_t len, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n && i + 1 < len; i++)
		out[i] = (char)tolower((unsigned char)s[i]);
	out[i] = '\0';
}

/*
 * param - the value of parameter name in a structured field value
 * ("text/plain; charset=\"utf-8\""), into out; 0 if absent.  name*= (RFC
 * 2231) is taken too, with its charset'language' prefix dropped and %XX
 * decoded.
 */
static int
param(const char *v, const char *name, char *out, size_t len)
{
	size_t nl = strlen(name);
	const char *p = v;

	while ((p = strchr(p, ';')) != NULL) {
		int ext = 0;
		size_t o = 0;

		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncasecmp(p, name, nl) != 0)
			continue;
		p += nl;
		if (*p == '*') {
			ext = 1;
			p++;
			while (isdigit((unsigned char)*p) || *p == '*')
				p++;
		}
		while (*p == ' ')
			p++;
		if (*p != '=')
			continue;
		p++;
		while (*p == ' ')
			p++;
		if (*p == '"') {
			for (p++; *p != '\0' && *p != '"' && o + 1 < len; p++) {
				if (*p == '\\' && p[1] != '\0')
					p++;
				out[o++] = *p;
			}
		} else {
			if (ext && strchr(p, '\'') != NULL &&
			    strchr(p, '\'') < (strchr(p, ';') ? strchr(p, ';') :
			    p + strlen(p)))
				p = strrchr(p, '\'') + 1;
			for (; *p != '\0' && *p != ';' && *p != ' ' &&
			    o + 1 < len; p++) {
				if (ext && *p == '%' && hexval(p[1]) >= 0 &&
				    hexval(p[2]) >= 0) {
					out[o++] = (char)(hexval(p[1]) * 16 +
					    hexval(p[2]));
					p += 2;
				} else {
					out[o++] = *p;
				}
			}
		}
		out[o] = '\0';
		return 1;
	}
	return 0;
}

/* part_field - collect the fields a part's walk needs. */
static void
part_field(void *arg, const char *name, size_t nl, const char *v, size_t vl)
{
	struct part_head *h = arg;
	char *val;

	if (nl == 12 && strncasecmp(name, "Content-Type", 12) == 0) {
		val = unfold(v, vl);
		lower(h->type, sizeof(h->type), val, strcspn(val, "; "));
		param(val, "charset", h->charset, sizeof(h->charset));
		lower(h->charset, sizeof(h->charset), h->charset,
		    strlen(h->charset));
		param(val, "boundary", h->boundary, sizeof(h->boundary));
		param(val, "name", h->name, sizeof(h->name));
		free(val);
	} else if (nl == 25 &&
	    strncasecmp(name, "Content-Transfer-Encoding", 25) == 0) {
		val = unfold(v, vl);
		lower(h->cte, sizeof(h->cte), val, strcspn(val, "; "));
		free(val);
	} else if (nl == 19 &&
	    strncasecmp(name, "Content-Disposition", 19) == 0) {
		val = unfold(v, vl);
		h->attachment = strncasecmp(val, "attachment", 10) == 0;
		param(val, "filename", h->filename, sizeof(h->filename));
		free(val);
	}
}

/* top_field - keep a top-level header field. */
static void
top_field(void *arg, const char *name, size_t nl, const char *v, size_t vl)
{
	struct mime_msg *m = arg;
	char *raw = unfold(v, vl);
	struct mime_header *h;

	m->hdr = xgrow(m->hdr, m->nhdr, sizeof(*m->hdr));
	h = &m->hdr[m->nhdr++];
	h->name = xstrndup(name, nl);
	h->value = mime_decode_words(raw);
	free(raw);
}

/* add_leaf - one leaf part, its body decoded. */
static void
add_leaf(struct walk *w, const struct part_head *h, const char *p,
    size_t n)
{
	struct mime_part *part;
	int b64 = strcmp(h->cte, "base64") == 0;
	int qp = strcmp(h->cte, "quoted-printable") == 0;
	const char *fn = h->filename[0] ? h->filename : h->name;

	if (w->m->nparts >= w->lim->max_parts) {
		w->m->truncated = 1;
		return;
	}
	w->m->parts = xgrow(w->m->parts, w->m->nparts,
	    sizeof(*w->m->parts));
	part = &w->m->parts[w->m->nparts++];
	memset(part, 0, sizeof(*part));
	snprintf(part->type, sizeof(part->type), "%s",
	    h->type[0] ? h->type : "text/plain");
	snprintf(part->charset, sizeof(part->charset), "%s", h->charset);
	if (fn[0] != '\0')
		part->filename = mime_decode_words(fn);
	part->attachment = h->attachment || fn[0] != '\0';
	part->size = b64 ? decode_b64(p, n, NULL) : qp ?
	    decode_qp(p, n, NULL, 0) : n;
	if (strncmp(part->type, "text/", 5) != 0 || part->attachment)
		return;
	if (w->text_used + part->size > w->lim->max_text) {
		w->m->truncated = 1;
		return;
	}
	part->text = xmalloc(part->size + 1);
	part->text_len = b64 ? decode_b64(p, n, part->text) : qp ?
	    decode_qp(p, n, part->text, 0) : (memcpy(part->text, p, n), n);
	part->text[part->text_len] = '\0';
	w->text_used += part->text_len;
}

/*
 * delim_end_ok - after "--boundary" at q: only "--", or blanks up to the
 * end of the line ("--b1" must not match a line "--b10").
 */
static int
delim_end_ok(const char *q, const char *end)
{
	if (end - q >= 2 && q[0] == '-' && q[1] == '-')
		return 1;
	while (q < end && (*q == ' ' || *q == '\t'))
		q++;
	return q == end || *q == '\n' || (*q == '\r' && (q + 1 == end ||
	    q[1] == '\n'));
}

/*
 * next_delim - the next delimiter line ("--boundary") at or after from;
 * its offset, or n if none.
 */
static size_t
next_delim(const char *p, size_t n, size_t from, const char *b, size_t bl)
{
	for (size_t i = from; i + 2 + bl <= n; ) {
		const char *nl;

		if ((i == 0 || p[i - 1] == '\n') && p[i] == '-' &&
		    p[i + 1] == '-' && memcmp(p + i + 2, b, bl) == 0 &&
		    delim_end_ok(p + i + 2 + bl, p + n))
			return i;
		if ((nl = memchr(p + i, '\n', n - i)) == NULL)
			break;
		i = (size_t)(nl - p) + 1;
	}
	return n;
}

static void walk(struct walk *, const char *, size_t, int);

/* walk_multipart - each body part between the boundary lines. */
static void
walk_multipart(struct walk *w, const char *p, size_t n, const char *b,
    int depth)
{
	size_t bl = strlen(b), d = next_delim(p, n, 0, b, bl);

	while (d < n) {
		size_t start, next, end;
		const char *nl;

		/* "--boundary--" closes the multipart. */
		if (d + 2 + bl + 1 < n && p[d + 2 + bl] == '-' &&
		    p[d + 3 + bl] == '-')
			return;
		if ((nl = memchr(p + d, '\n', n - d)) == NULL)
			return;
		start = (size_t)(nl - p) + 1;
		next = next_delim(p, n, start, b, bl);
		/* The line break before the delimiter belongs to it. */
		end = next;
		if (end > start && p[end - 1] == '\n')
			end--;
		if (end > start && p[end - 1] == '\r')
			end--;
		walk(w, p + start, end - start, depth + 1);
		d = next;
	}
}

/* walk - one entity: a multipart to descend into, or a leaf. */
static void
walk(struct walk *w, const char *p, size_t n, int depth)
{
	struct part_head h;
	size_t hlen, body;

	memset(&h, 0, sizeof(h));
	head_end(p, n, &hlen, &body);
	if (each_field(p, hlen, w->lim->max_headers, part_field, &h))
		w->m->truncated = 1;
	if (strncmp(h.type, "multipart/", 10) == 0 && h.boundary[0] != '\0') {
		if (depth >= w->lim->max_depth) {
			w->m->truncated = 1;
			return;
		}
		walk_multipart(w, p + body, n - body, h.boundary, depth);
		return;
	}
	add_leaf(w, &h, p + body, n - body);
}

void
mime_parse(const char *data, size_t len, const struct mime_limits *lim,
    struct mime_msg *out)
{
	struct walk w = { lim, out, 0 };
	size_t hlen, body;

	memset(out, 0, sizeof(*out));
	head_end(data, len, &hlen, &body);
	if (each_field(data, hlen, lim->max_headers, top_field, out))
		out->truncated = 1;
	walk(&w, data, len, 0);
}

void
mime_free(struct mime_msg *m)
{
	for (size_t i = 0; i < m->nhdr; i++) {
		free(m->hdr[i].name);
		free(m->hdr[i].value);
	}
	for (size_t i = 0; i < m->nparts; i++) {
		free(m->parts[i].filename);
		free(m->parts[i].text);
	}
	free(m->hdr);
	free(m->parts);
	memset(m, 0, sizeof(*m));
}

const char *
mime_header(const struct mime_msg *m, const char *name)
{
	for (size_t i = 0; i < m->nhdr; i++)
		if (strcasecmp(m->hdr[i].name, name) == 0)
			return m->hdr[i].value;
	return NULL;
}
