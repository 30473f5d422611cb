/*
 * httpcrypt - Rspamd's HTTPCrypt primitives: its base32, its key ids, and
 * its authenticated encryption, built on libsodium.
 *
 * What Rspamd does (src/libcryptobox in Rspamd 3.x, curve25519 mode):
 *   - keys are Curve25519, printed in Rspamd's own base32: the z-base-32
 *     alphabet, but bits taken from the least significant end of each
 *     byte first, so it is not interchangeable with other z-base-32 code;
 *   - a key's id is BLAKE2b-512 of the public key; the "Key:" request
 *     header carries the first 5 bytes of the server key's id, '=', and
 *     the client's public key;
 *   - the shared key is HChaCha20(X25519(sk, pk), zero nonce), that is
 *     libsodium's crypto_box_curve25519xchacha20poly1305_beforenm;
 *   - a message is sealed with XChaCha20: keystream block 0 gives the
 *     Poly1305 key, the text is XORed from block 1 on, and the tag is
 *     Poly1305 over the ciphertext.  (libsodium's secretbox uses the second
 *     half of block 0 for text instead, so it cannot be used as is.)
 *   On the wire: nonce (24 bytes), tag (16), ciphertext.
 *
 * This is the only file that includes <sodium.h>.
 *
 * Threads: hc_init once in main before threads.  A struct hc_peer is
 * immutable after hc_peer_new and may be used from any number of threads.
 */
#ifndef SCANMILTER_HTTPCRYPT_H
#define SCANMILTER_HTTPCRYPT_H

#include <stddef.h>
#include <stdint.h>

#define HC_KEY_BYTES	32
#define HC_NONCE_BYTES	24
#define HC_MAC_BYTES	16
#define HC_OVERHEAD	(HC_NONCE_BYTES + HC_MAC_BYTES)
#define HC_ID_BYTES	64	/* a key's full id */
#define HC_SHORT_ID	5	/* bytes of the id in the Key header */
#define HC_B32_KEY_LEN	52	/* base32 characters of a 32-byte key */

/* hc_init - initialise libsodium; -1 if it cannot be. */
int	hc_init(void);

/*
 * hc_b32_encode - Rspamd's base32 of n bytes into out (NUL-terminated).
 * Returns the length, or -1 if outlen is too small.
 */
int	hc_b32_encode(const uint8_t *in, size_t n, char *out, size_t outlen);
/*
 * hc_b32_decode - the reverse; bits left over at the end (under a byte)
 * are dropped, as Rspamd does.  Returns the byte count, or -1 on a
 * character outside the alphabet or more than outmax bytes.
 */
int	hc_b32_decode(const char *s, size_t len, uint8_t *out, size_t outmax);

/*
 * hc_pubkey_parse - a public key as "rspamadm keypair" prints it.  On error
 * returns -1 and says why in err (length, bad character).
 */
int	hc_pubkey_parse(const char *b32, uint8_t pk[HC_KEY_BYTES], char *err,
	    size_t errlen);

/* hc_key_id - a public key's full id (BLAKE2b-512). */
void	hc_key_id(const uint8_t pk[HC_KEY_BYTES], uint8_t id[HC_ID_BYTES]);

/*
 * struct hc_peer - a session with one server key: our key pair, the shared
 * key, and the Key header value that names both.
 */
struct hc_peer;

/*
 * hc_peer_new - a session with the server key peer_pk.  local_sk NULL: a
 * fresh random key pair (the daemon, one per config load); tests pass a
 * fixed one.  NULL if the keys give no shared secret (a low-order point)
 * or libsodium cannot start.
 */
struct hc_peer	*hc_peer_new(const uint8_t peer_pk[HC_KEY_BYTES],
		    const uint8_t *local_sk);
void		 hc_peer_free(struct hc_peer *);
/* hc_peer_key_header - "<short id of the server key>=<our public key>". */
const char	*hc_peer_key_header(const struct hc_peer *);

/*
 * hc_seal - encrypt len bytes at data in place and write the nonce (random
 * unless nonce_in is given, for tests) and the tag.
 */
void	hc_seal(const struct hc_peer *, uint8_t *data, size_t len,
	    const uint8_t *nonce_in, uint8_t nonce[HC_NONCE_BYTES],
	    uint8_t mac[HC_MAC_BYTES]);
/* hc_open - check the tag, then decrypt in place; -1 (data untouched) if
 * the tag is wrong. */
int	hc_open(const struct hc_peer *, uint8_t *data, size_t len,
	    const uint8_t nonce[HC_NONCE_BYTES], const uint8_t mac[HC_MAC_BYTES]);

#endif
