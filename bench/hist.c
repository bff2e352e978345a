/*
 * hist: log-linear buckets. A value v has msb k; values below 128 get a
 * bucket each, larger ones keep their top 7 bits (64..127) and the shift
 * that removed the rest, so the bucket index is shift * 64 + (v >> shift)
 * and every power of two is split into 64 equal buckets.
 */
#include <stdlib.h>

#include "hist.h"

#define HIST_SUB	64
#define HIST_BUCKETS	((64 - 6) * HIST_SUB + 2 * HIST_SUB)

struct hist {
	uint64_t	count;
	uint64_t	max;
	uint64_t	bucket[HIST_BUCKETS];
};

struct hist *
hist_create(void)
{
	return calloc(1, sizeof(struct hist));
}

void
hist_free(struct hist *h)
{
	free(h);
}

static unsigned int
hist_index(uint64_t v)
{
	unsigned int	shift;

	if (v < 2 * HIST_SUB)
		return (unsigned int)v;
	shift = (unsigned int)(63 - __builtin_clzll(v)) - 6;
	return shift * HIST_SUB + (unsigned int)(v >> shift);
}

/* The largest value that falls in bucket i. */
static uint64_t
hist_upper(unsigned int i)
{
	unsigned int	shift;
	uint64_t	m;

	if (i < 2 * HIST_SUB)
		return i;
	shift = i / HIST_SUB - 1;
	m = i - shift * HIST_SUB;
	return ((m + 1) << shift) - 1;
}

void
hist_add(struct hist *h, uint64_t value)
{
	h->bucket[hist_index(value)]++;
	h->count++;
	if (value > h->max)
		h->max = value;
}

uint64_t
hist_count(const struct hist *h)
{
	return h->count;
}

uint64_t
hist_max(const struct hist *h)
{
	return h->max;
}

uint64_t
hist_percentile(const struct hist *h, double pct)
{
	double		want = pct / 100.0 * (double)h->count;
	uint64_t	rank, seen = 0, v;
	unsigned int	i;

	if (h->count == 0)
		return 0;
	/* the rank rounded up, without pulling in libm for ceil() */
	rank = (uint64_t)want;
	if ((double)rank < want)
		rank++;
	if (rank < 1)
		rank = 1;
	for (i = 0; i < HIST_BUCKETS; i++) {
		seen += h->bucket[i];
		if (seen >= rank) {
			v = hist_upper(i);
			return v < h->max ? v : h->max;
		}
	}
	return h->max;
}
