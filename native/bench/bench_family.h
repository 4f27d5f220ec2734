/*
 * bench_family.h - the `family` group of s4j_bench: the rest of the family
 * (softmax and log-softmax over a middle dimension, softmax rows,
 * LogSumExp, the fused cross-entropy) on one thread, each against its
 * last-dimension twin or log-softmax on the same data, and a copy of the
 * same bytes measured in the same run.
 */
#ifndef S4J_BENCH_FAMILY_H
#define S4J_BENCH_FAMILY_H

#include <stdio.h>

/* Times every case for every variant the CPU runs (or `only_isa`): the
 * median of `samples` samples of at least `sample_ms` each. Prints a table;
 * appends to `csv` (may be NULL). `all` 0: only the float64, bfloat16 and
 * float16 cases against float32. */
void bench_family_run(const char *only_isa, int samples, double sample_ms, FILE *csv, int all);

#endif /* S4J_BENCH_FAMILY_H */
