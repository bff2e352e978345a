/*
 * sha1: SHA-1 (FIPS 180-4) for the load generator's WebSocket handshake,
 * where the server proves it read our key by hashing it (RFC 6455, 4.2.2).
 * Not for anything that needs a secure hash: SHA-1 is broken for that.
 */
#ifndef SHA1_H
#define SHA1_H

#include <stddef.h>
#include <stdint.h>

#define SHA1_DIGEST_LEN	20

/* Hashes len bytes at data into out; cannot fail. */
void	 sha1_digest(const void *data, size_t len,
	    uint8_t out[SHA1_DIGEST_LEN]);

#endif
