/* bench_stats.c - see bench_stats.h. */
#include "bench_stats.h"

#include <stdlib.h>
#include <string.h>

static int by_value(const void *a, const void *b) {
  const double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

double bench_median(const double *t, int n, double *min) {
  double v[BENCH_MAX_SAMPLES];
  memcpy(v, t, (size_t) n * sizeof v[0]);
  qsort(v, (size_t) n, sizeof v[0], by_value);
  if (min != NULL) *min = v[0];
  return v[n / 2];
}

double bench_median_ratio(const double *a, const double *b, int n) {
  double v[BENCH_MAX_SAMPLES];
  for (int i = 0; i < n; i++) v[i] = a[i] / b[i];
  return bench_median(v, n, NULL);
}
