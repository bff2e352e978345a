/*
 * driver: main() for the fuzz targets in a build without libFuzzer. Reads
 * each file named on the command line into a buffer of exactly its size
 * (so a sanitizer build sees any read past the end, as under libFuzzer)
 * and runs it through LLVMFuzzerTestOneInput. tests/fuzz/regress.sh runs
 * it once per file of the corpora and of tests/fuzz/regress/, so every
 * seed and every crash ever found is replayed by make check.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "driver.h"

/* Reads path whole. @return 0, or -errno with *cause naming the step. */
static int
driver_read(const char *path, uint8_t **out, size_t *out_len,
    const char **cause)
{
	struct stat	 st;
	uint8_t		*data = NULL;
	FILE		*f = NULL;
	size_t		 len = 0;
	int		 err = 0;

	if ((f = fopen(path, "rb")) == NULL) {
		err = -errno;
		*cause = "open";
		goto fail;
	}
	if (fstat(fileno(f), &st) != 0) {
		err = -errno;
		*cause = "stat";
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		err = -EINVAL;
		*cause = "not a regular file";
		goto fail;
	}
	len = (size_t)st.st_size;
	/* One byte more than needed only when empty: data is never NULL. */
	if ((data = malloc(len > 0 ? len : 1)) == NULL) {
		err = -ENOMEM;
		*cause = "malloc";
		goto fail;
	}
	if (fread(data, 1, len, f) != len) {
		err = -EIO;
		*cause = "short read";
		goto fail;
	}
	fclose(f);
	*out = data;
	*out_len = len;
	return 0;
fail:
	if (f != NULL)
		fclose(f);
	free(data);
	return err;
}

int
main(int argc, char **argv)
{
	const char	*cause = NULL;
	uint8_t		*data = NULL;
	size_t		 len = 0;
	int		 i, err;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE...\n", argv[0]);
		return 2;
	}
	for (i = 1; i < argc; i++) {
		if ((err = driver_read(argv[i], &data, &len, &cause)) != 0) {
			fprintf(stderr, "%s: %s: %s\n", argv[i], cause,
			    strerror(-err));
			return 2;
		}
		LLVMFuzzerTestOneInput(data, len);
		free(data);
	}
	return 0;
}
