/*
 * driver: the contract between a fuzz target (fuzz_*.c) and what runs it.
 * With ./configure --enable-fuzzing, libFuzzer's main calls
 * LLVMFuzzerTestOneInput with inputs it makes up; in a plain build,
 * driver.c's main calls it once per file named on its command line, which
 * is how make check replays the corpora and the regression files.
 */
#ifndef DRIVER_H
#define DRIVER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/*
 * Runs one input through a parser and checks what its header promises.
 * data is never NULL, even when size is 0, and nothing may be read past
 * data[size). @return 0 (libFuzzer reserves other values).
 */
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * A broken promise: print it and abort, which libFuzzer reports as a
 * crash and make check as a failed file. Unlike assert(), NDEBUG does not
 * remove it.
 */
#define FUZZ_EXPECT(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: expected %s\n", __FILE__,	\
		    __LINE__, #cond);					\
		abort();						\
	}								\
} while (0)

#endif
