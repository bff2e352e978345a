/*
 * selftest: `loadgen --self-test`, known-answer checks of the parts a
 * benchmark silently depends on: SHA-1 and base64 (through the handshake),
 * the 101 response check, client frame encoding and the server frame
 * decoder (16- and 64-bit lengths, fragments, split reads, bad frames).
 */
#ifndef SELFTEST_H
#define SELFTEST_H

/* Prints TAP: a line per check, the plan last. @return 0 if all pass. */
int	 selftest_run(void);

#endif
