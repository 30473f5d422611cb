/*
 * httpcrypt.c - Rspamd's HTTPCrypt primitives on libsodium.  See
 * httpcrypt.h for the scheme; this file only says how each step maps onto
 * libsodium calls.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpcrypt.h"
#include "xalloc.h"

static const char b32_alphabet[] = "ybndrfg8ejkmcpqxot1uwisza345h769";

struct hc_peer {
	uint8_t	local_pk[HC_KEY_BYTES];
	uint8_t	local_sk[HC_KEY_BYTES];
	uint8_t	nm[crypto_box_curve25519xchacha20poly1305_BEFORENMBYTES];
	char	key_header[2 * HC_B32_KEY_LEN];
};

int
hc_init(void)
{
	return sodium_init() < 0 ? -1 : 0;
}

int
hc_b32_encode(const uint8_t *in, size_t n, char *out, size_t outlen)
{
	unsigned acc = 0, nbits = 0;
	size_t o = 0;

	/* Least significant bits first: each byte joins above what is left. */
	for (size_t i = 0; i < n; i++) {
		acc |= (unsigned)in[i] << nbits;
		nbits += 8;
		while (nbits >= 5) {
			if (o + 1 >= outlen)
				return -1;
			out[o++] = b32_alphabet[acc & 0x1f];
			acc >>= 5;
			nbits -= 5;
		}
	}
	if (nbits > 0) {
		if (o + 1 >= outlen)
			return -1;
		out[o++] = b32_alphabet[acc & 0x1f];
	}
	if (o >= outlen)
		return -1;
	out[o] = '\0';
	return (int)o;
}

/* b32_value - a character's 5 bits, -1 if not in the alphabet. */
static int
b32_value(char c)
{
	const char *p = c != '\0' ? strchr(b32_alphabet, c) : NULL;

	return p != NULL ? (int)(p - b32_alphabet) : -1;
}

int
hc_b32_decode(const char *s, size_t len, uint8_t *out, size_t outmax)
{
	unsigned acc = 0, nbits = 0;
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		int v = b32_value(s[i]);

		if (v < 0)
			return -1;
		acc |= (unsigned)v << nbits;
		nbits += 5;
		if (nbits >= 8) {
			if (o >= outmax)
				return -1;
			out[o++] = acc & 0xff;
			acc >>= 8;
			nbits -= 8;
		}
	}
	return (int)o;
}

int
hc_pubkey_parse(const char *b32, uint8_t pk[HC_KEY_BYTES], char *err,
    size_t errlen)
{
	size_t len = strlen(b32);

	if (len != HC_B32_KEY_LEN) {
		snprintf(err, errlen, "a public key is %d base32 characters "
		    "(as 'rspamadm keypair' prints it), not %zu",
		    HC_B32_KEY_LEN, len);
		return -1;
	}
	for (size_t i = 0; i < len; i++)
		if (b32_value(b32[i]) < 0) {
			snprintf(err, errlen, "character %zu ('%c') is not in "
			    "Rspamd's base32 alphabet", i + 1, b32[i]);
			return -1;
		}
	if (hc_b32_decode(b32, len, pk, HC_KEY_BYTES) != HC_KEY_BYTES) {
		snprintf(err, errlen, "does not decode to %d bytes",
		    HC_KEY_BYTES);
		return -1;
	}
	return 0;
}

void
hc_key_id(const uint8_t pk[HC_KEY_BYTES], uint8_t id[HC_ID_BYTES])
{
	crypto_generichash_blake2b(id, HC_ID_BYTES, pk, HC_KEY_BYTES, NULL, 0);
}

struct hc_peer *
hc_peer_new(const uint8_t peer_pk[HC_KEY_BYTES], const uint8_t *local_sk)
{
	struct hc_peer *p = xcalloc(1, sizeof(*p));
	uint8_t id[HC_ID_BYTES];
	char b32id[16], b32pk[HC_B32_KEY_LEN + 1];

	/* Idempotent and thread safe; here so no caller can forget it. */
	if (sodium_init() < 0) {
		free(p);
		return NULL;
	}
	if (local_sk != NULL) {
		memcpy(p->local_sk, local_sk, HC_KEY_BYTES);
		crypto_scalarmult_curve25519_base(p->local_pk, p->local_sk);
	} else {
		crypto_box_curve25519xchacha20poly1305_keypair(p->local_pk,
		    p->local_sk);
	}
	/* X25519 then HChaCha20 with a zero nonce: Rspamd's "nm". */
	if (crypto_box_curve25519xchacha20poly1305_beforenm(p->nm, peer_pk,
	    p->local_sk) != 0) {
		hc_peer_free(p);
		return NULL;
	}
	hc_key_id(peer_pk, id);
	hc_b32_encode(id, HC_SHORT_ID, b32id, sizeof(b32id));
	hc_b32_encode(p->local_pk, HC_KEY_BYTES, b32pk, sizeof(b32pk));
	snprintf(p->key_header, sizeof(p->key_header), "%s=%s", b32id, b32pk);
	return p;
}

void
hc_peer_free(struct hc_peer *p)
{
	if (p == NULL)
		return;
	sodium_memzero(p, sizeof(*p));
	free(p);
}

const char *
hc_peer_key_header(const struct hc_peer *p)
{
	return p->key_header;
}

/* poly_key - keystream block 0, whose first half keys Poly1305. */
static void
poly_key(const struct hc_peer *p, const uint8_t nonce[HC_NONCE_BYTES],
    uint8_t block0[64])
{
	memset(block0, 0, 64);
	crypto_stream_xchacha20_xor(block0, block0, 64, nonce, p->nm);
}

void
hc_seal(const struct hc_peer *p, uint8_t *data, size_t len,
    const uint8_t *nonce_in, uint8_t nonce[HC_NONCE_BYTES],
    uint8_t mac[HC_MAC_BYTES])
{
	uint8_t block0[64];

	if (nonce_in != NULL)
		memcpy(nonce, nonce_in, HC_NONCE_BYTES);
	else
		randombytes_buf(nonce, HC_NONCE_BYTES);
	poly_key(p, nonce, block0);
	/* The text starts at block 1: block 0 went to the MAC key. */
	crypto_stream_xchacha20_xor_ic(data, data, len, nonce, 1, p->nm);
	crypto_onetimeauth_poly1305(mac, data, len, block0);
	sodium_memzero(block0, sizeof(block0));
}

int
hc_open(const struct hc_peer *p, uint8_t *data, size_t len,
    const uint8_t nonce[HC_NONCE_BYTES], const uint8_t mac[HC_MAC_BYTES])
{
	uint8_t block0[64];
	int ok;

	poly_key(p, nonce, block0);
	ok = crypto_onetimeauth_poly1305_verify(mac, data, len, block0) == 0;
	sodium_memzero(block0, sizeof(block0));
	if (!ok)
		return -1;
	crypto_stream_xchacha20_xor_ic(data, data, len, nonce, 1, p->nm);
	return 0;
}
