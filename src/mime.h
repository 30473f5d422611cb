/*
 * mime - enough MIME for the self-scan rules: the top header fields
 * (unfolded, RFC 2047 words decoded), and every leaf part with its type,
 * charset, file name, decoded size and, for text parts, decoded content.
 * multipart types are walked to a depth limit; base64 and quoted-printable are
 * decoded; message/rfc822 is a leaf (an attachment).  Charsets are not
 * converted: rules see the bytes.
 *
 * Hostile input: every count and size has a ceiling (struct mime_limits);
 * past one the parser stops adding, sets truncated, and still returns what
 * it has.  Work is linear in the input times the depth limit.  Nothing in
 * the input can make it fail: mime_parse always succeeds.
 *
 * Thread: any; pure.  The struct owns its memory; free with mime_free.
 */
#ifndef SCANMILTER_MIME_H
#define SCANMILTER_MIME_H

#include <stddef.h>

struct mime_limits {
	size_t	max_headers;	/* header fields kept per header block */
	size_t	max_parts;	/* leaf parts kept */
	int	max_depth;	/* multipart nesting walked */
	size_t	max_text;	/* decoded text kept, all parts together */
};

extern const struct mime_limits mime_default_limits;

struct mime_header {
	char	*name;		/* as written */
	char	*value;		/* unfolded, blanks trimmed, words decoded */
};

struct mime_part {
	char	 type[64];	/* "text/plain", lower case */
	char	 charset[32];	/* lower case, "" if none */
	char	*filename;	/* NULL if none */
	int	 attachment;	/* Content-Disposition: attachment, or named */
	size_t	 size;		/* decoded bytes */
	char	*text;		/* text parts: decoded, NUL-terminated */
	size_t	 text_len;
};

struct mime_msg {
	struct mime_header *hdr;
	size_t		 nhdr;
	struct mime_part *parts;
	size_t		 nparts;
	int		 truncated;	/* a limit was reached */
};

/* mime_parse - parse the message (header block, blank line, body). */
void		 mime_parse(const char *data, size_t len,
		    const struct mime_limits *, struct mime_msg *out);
void		 mime_free(struct mime_msg *);
/* mime_header - the first field of that name (any case), or NULL. */
const char	*mime_header(const struct mime_msg *, const char *name);

/*
 * mime_decode_words - RFC 2047 encoded words (=?cs?B?..?= and Q) in s
 * replaced by their bytes; the blank between two words goes.  New string.
 */
char		*mime_decode_words(const char *s);

#endif
