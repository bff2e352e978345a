/*
 * hist: a latency histogram with fixed memory, so recording a sample in
 * the load generator's hot loop allocates nothing. Buckets are log-linear
 * (64 per power of two): a reported percentile is within 1.6% of the true
 * sample, and values below 128 are exact.
 */
#ifndef HIST_H
#define HIST_H

#include <stdint.h>

struct hist;

/* @return a new empty histogram, or NULL when out of memory. */
struct hist	*hist_create(void);
/* Frees h; accepts NULL. */
void		 hist_free(struct hist *h);
void		 hist_add(struct hist *h, uint64_t value);
uint64_t	 hist_count(const struct hist *h);
uint64_t	 hist_max(const struct hist *h);
/*
 * @return the smallest recorded value v such that at least pct percent of
 * the samples are <= v (within the bucket's precision, never above the
 * maximum); 0 if the histogram is empty.
 */
uint64_t	 hist_percentile(const struct hist *h, double pct);

#endif
