/*
 * bench_stats.h - medians of timing samples for s4j_bench and its family
 * group: a job's median time, and the median over rounds of two jobs'
 * times taken in the same round.
 */
#ifndef S4J_BENCH_STATS_H
#define S4J_BENCH_STATS_H

/* Most samples a figure takes. */
#define BENCH_MAX_SAMPLES 64

/* The median of t[0 .. n) (0 < n <= BENCH_MAX_SAMPLES, t left as it is);
 * with min, also the smallest there. */
double bench_median(const double *t, int n, double *min);

/* The median over i of a[i] / b[i]. */
double bench_median_ratio(const double *a, const double *b, int n);

#endif /* S4J_BENCH_STATS_H */
