/*
 * s4j_bench.c - throughput of every log-softmax kernel variant this CPU runs,
 * forward and backward, over a fixed list of shapes, next to the bandwidth
 * of a copy and of a read-2-write-1 pass over the same buffers measured in
 * the same run (and oneDNN's log-softmax where the build found it).
 *
 * Build and run (release tree; the bench is part of `all`):
 *   cmake -S native -B build -DCMAKE_BUILD_TYPE=Release
 *   cmake --build build --parallel --target s4j_bench
 *   build/bench/s4j_bench [--quick] [--threads 2] [--csv out.csv] ...
 * (`s4j_bench --help` lists every option.)
 *
 * What is counted: a forward call moves 8 bytes per element (read x, write
 * y), a backward call 12 (read gy and y, write gx); a row is re-read from
 * cache, not from memory. So forward time is compared with a copy of the
 * same bytes and backward time with c = a + b over the same bytes: ratio =
 * kernel time / reference time, 1.00 meaning "as fast as moving the data".
 * Each figure is the median over samples of the time per call (each sample
 * runs enough calls to last --sample-ms); the references take the faster of
 * cached and non-temporal stores. The jobs of one pass (references, oneDNN,
 * variants) are sampled in rounds, one sample of each per round, and a
 * ratio is the median over rounds of the two jobs' times in the same round:
 * this machine's speed moves from one second to the next, and two figures
 * taken seconds apart compare its moods as much as the code.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_family.h"
#include "bench_ref.h"
#include "bench_stats.h"
#include "kernels/registry.h"
#include "softmax4j.h"

#if defined(S4J_BENCH_ONEDNN) && S4J_BENCH_ONEDNN
#  include "bench_onednn.h"
#  define HAVE_ONEDNN 1
#else
#  define HAVE_ONEDNN 0
#endif

#define MAX_THREADS 64

/* --- the variants: the registry, through the exported per-variant functions */

typedef int (*fwd_fn)(const float *x, float *y, int64_t rows, int64_t cols);
typedef int (*bwd_fn)(const float *gy, const float *y, float *gx, int64_t rows, int64_t cols);

struct variant {
  const char *name;
  fwd_fn fwd;
  bwd_fn bwd;
};

#define BENCH_VARIANT(name, required, fwd, bwd, vexp) \
  {#name, s4j_log_softmax_forward_f32_##name, s4j_log_softmax_backward_f32_##name},
static const struct variant variants[] = {S4J_VARIANTS(BENCH_VARIANT)};
#undef BENCH_VARIANT
#define VARIANT_COUNT (sizeof variants / sizeof variants[0])

/* --- shapes ----------------------------------------------------------------- */

enum group { GROUP_OUT, GROUP_CACHE, GROUP_SERIES, GROUP_TINY, GROUP_FAMILY, GROUP_DTYPES };
static const char *const group_names[] = {"out", "cache", "series", "tiny", "family", "dtypes"};

struct shape {
  enum group group;
  size_t rows, cols;
  /* x, y, gy and gx back to back in one buffer, as small arrays are often
   * allocated, instead of each in a page-aligned buffer of its own: a
   * masked access to one's last partial vector then reaches into the next
   * (math/lanes_avx512.h, s4j_load_exact). */
  int packed;
};

/* Out of cache: each tensor is 16-64 MiB. Cache-resident: 4 KiB - 256 KiB.
 * Tiny: rows of 10 (one row: the per-call cost; 64 rows: the per-row cost;
 * one row again with the tensors packed). */
static const struct shape fixed_shapes[] = {
    {GROUP_OUT, 256, 32000, 0},  {GROUP_OUT, 4096, 4096, 0}, {GROUP_OUT, 32, 128256, 0},
    {GROUP_OUT, 65536, 128, 0},  {GROUP_CACHE, 1, 1000, 0},  {GROUP_CACHE, 1, 32000, 0},
    {GROUP_CACHE, 64, 1000, 0},  {GROUP_TINY, 1, 10, 0},     {GROUP_TINY, 64, 10, 0},
    {GROUP_TINY, 1, 10, 1},
};

/* The row-length series: cols 16 .. 262144 at SERIES_ELEMENTS per tensor
 * (32 MiB, out of cache), for a chart of throughput against row length. */
#define SERIES_ELEMENTS ((size_t) 1 << 23)
#define SERIES_MIN_COLS ((size_t) 16)
#define SERIES_MAX_COLS ((size_t) 262144)

/* --- targets (issue 3) ---------------------------------------------------------- */

#define TARGET_OUT_RATIO 1.15          /* one thread: time <= 1.15 x reference */
#define TARGET_OUT_RATIO_MT (1.0 / 0.9) /* threads: >= 0.9 x their bandwidth */
#define TARGET_FWD_AVX512 6.0          /* elements/ns, cache-resident */
#define TARGET_BWD_AVX512 8.0

/* --- options ------------------------------------------------------------------- */

struct options {
  int threads;
  int quick;
  int samples;
  double sample_ms;
  int groups; /* bit per enum group */
  const char *isa;
  const char *csv;
  int onednn;
};

static void usage(FILE *out) {
  fprintf(out,
          "usage: s4j_bench [options]\n"
          "  --quick           fewer samples and a coarser row-length series (~15 s)\n"
          "  --threads N       split rows over N threads (kernels and references alike;\n"
          "                    oneDNN gets N OpenMP threads); default 1\n"
          "  --groups LIST     comma-separated: out,cache,series,tiny,family,dtypes (default:\n"
          "                    all; family: the other ops, one thread, see bench_family.c;\n"
          "                    dtypes: only family's float64/bfloat16/float16 part)\n"
          "  --isa NAME        only this kernel variant (default: every one the CPU runs)\n"
          "  --samples N       samples per figure (default 9, quick 5); the median is shown\n"
          "  --sample-ms MS    minimum length of one sample (default 2, quick 1)\n"
          "  --csv FILE        also write every figure to FILE as CSV\n"
          "  --no-onednn       skip the oneDNN column%s\n"
          "  --help\n",
          HAVE_ONEDNN ? "" : " (not built in: oneDNN was not found)");
}

static int parse_groups(const char *text) {
  int groups = 0;
  char buf[64];
  snprintf(buf, sizeof buf, "%s", text);
  for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok != NULL;
       tok = strtok_r(NULL, ",", &save)) {
    int found = 0;
    for (int g = 0; g < (int) (sizeof group_names / sizeof group_names[0]); g++) {
      if (strcmp(tok, group_names[g]) == 0) {
        groups |= 1 << g;
        found = 1;
      }
    }
    if (!found) return -1;
  }
  return groups;
}

static int parse_options(int argc, char **argv, struct options *o) {
  *o = (struct options){1, 0, 0, 0.0, 31, NULL, NULL, HAVE_ONEDNN};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage(stdout);
      exit(0);
    } else if (strcmp(a, "--quick") == 0) {
      o->quick = 1;
    } else if (strcmp(a, "--no-onednn") == 0) {
      o->onednn = 0;
    } else if (v != NULL && strcmp(a, "--threads") == 0) {
      o->threads = atoi(v), i++;
    } else if (v != NULL && strcmp(a, "--samples") == 0) {
      o->samples = atoi(v), i++;
    } else if (v != NULL && strcmp(a, "--sample-ms") == 0) {
      o->sample_ms = atof(v), i++;
    } else if (v != NULL && strcmp(a, "--isa") == 0) {
      o->isa = v, i++;
    } else if (v != NULL && strcmp(a, "--csv") == 0) {
      o->csv = v, i++;
    } else if (v != NULL && strcmp(a, "--groups") == 0) {
      o->groups = parse_groups(v), i++;
    } else {
      fprintf(stderr, "s4j_bench: unknown or incomplete option '%s'\n", a);
      return -1;
    }
  }
  if (o->samples <= 0) o->samples = o->quick ? 5 : 9;
  if (o->sample_ms <= 0.0) o->sample_ms = o->quick ? 1.0 : 2.0;
  if (o->threads < 1 || o->threads > MAX_THREADS) {
    fprintf(stderr, "s4j_bench: --threads must be 1..%d\n", MAX_THREADS);
    return -1;
  }
  if (o->groups <= 0) {
    fprintf(stderr, "s4j_bench: --groups takes out, cache, series, tiny, family, dtypes, comma-separated\n");
    return -1;
  }
  if (o->isa != NULL && !s4j_isa_supported(o->isa)) {
    fprintf(stderr, "s4j_bench: variant '%s' is unknown or this CPU cannot run it\n", o->isa);
    return -1;
  }
  return 0;
}

/* --- jobs: one timed operation over rows [r0, r1) -------------------------------- */

enum op { OP_FWD, OP_BWD, OP_COPY, OP_R2W1, OP_ONEDNN_FWD, OP_ONEDNN_BWD };

struct job {
  enum op op;
  const struct variant *variant;
  enum bench_store store;
  void *onednn;
  size_t rows, cols;
  float *x, *y, *gy, *gx;
};

static void job_run(const struct job *j, size_t r0, size_t r1) {
  if (r1 <= r0) return;
  const size_t off = r0 * j->cols, rows = r1 - r0, n = rows * j->cols;
  switch (j->op) {
    case OP_FWD:
      j->variant->fwd(j->x + off, j->y + off, (int64_t) rows, (int64_t) j->cols);
      break;
    case OP_BWD:
      j->variant->bwd(j->gy + off, j->y + off, j->gx + off, (int64_t) rows, (int64_t) j->cols);
      break;
    case OP_COPY:
      bench_copy(j->store, n, j->x + off, j->y + off);
      break;
    case OP_R2W1:
      bench_r2w1(j->store, n, j->gy + off, j->y + off, j->gx + off);
      break;
#if HAVE_ONEDNN
    case OP_ONEDNN_FWD:
      bench_onednn_forward(j->onednn);
      break;
    case OP_ONEDNN_BWD:
      bench_onednn_backward(j->onednn);
      break;
#endif
    default:
      break;
  }
}

/* oneDNN threads itself: its jobs run whole, on the calling thread. */
static int job_splits(const struct job *j) {
  return j->op != OP_ONEDNN_FWD && j->op != OP_ONEDNN_BWD;
}

/* --- a fixed pool of threads that run the same job on their share of rows --------- */

struct pool {
  int threads;
  pthread_t tid[MAX_THREADS];
  pthread_barrier_t start, done;
  const struct job *job;
  long reps;
  int quit;
};

struct worker_arg {
  struct pool *pool;
  int index;
};

static struct worker_arg worker_args[MAX_THREADS];

static void pool_run_share(struct pool *p, int t) {
  const struct job *j = p->job;
  size_t r0 = 0, r1 = j->rows;
  if (job_splits(j)) {
    r0 = j->rows * (size_t) t / (size_t) p->threads;
    r1 = j->rows * (size_t) (t + 1) / (size_t) p->threads;
  } else if (t != 0) {
    return;
  }
  for (long k = 0; k < p->reps; k++) job_run(j, r0, r1);
}

static void *worker_main(void *arg) {
  const struct worker_arg *w = arg;
  for (;;) {
    pthread_barrier_wait(&w->pool->start);
    if (w->pool->quit) break;
    pool_run_share(w->pool, w->index);
    pthread_barrier_wait(&w->pool->done);
  }
  return NULL;
}

static void pool_start(struct pool *p, int threads) {
  memset(p, 0, sizeof *p);
  p->threads = threads;
  if (threads == 1) return;
  pthread_barrier_init(&p->start, NULL, (unsigned) threads);
  pthread_barrier_init(&p->done, NULL, (unsigned) threads);
  for (int t = 1; t < threads; t++) {
    worker_args[t] = (struct worker_arg){p, t};
    if (pthread_create(&p->tid[t], NULL, worker_main, &worker_args[t]) != 0) {
      fprintf(stderr, "s4j_bench: cannot start thread %d\n", t);
      exit(1);
    }
  }
}

static void pool_stop(struct pool *p) {
  if (p->threads == 1) return;
  p->quit = 1;
  pthread_barrier_wait(&p->start);
  for (int t = 1; t < p->threads; t++) pthread_join(p->tid[t], NULL);
  pthread_barrier_destroy(&p->start);
  pthread_barrier_destroy(&p->done);
}

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec * 1e9 + (double) ts.tv_nsec;
}

/* Wall time of `reps` calls of the job on every thread, per call. */
static double pool_time(struct pool *p, const struct job *j, long reps) {
  p->job = j;
  p->reps = reps;
  if (p->threads > 1) pthread_barrier_wait(&p->start);
  const double t0 = now_ns();
  pool_run_share(p, 0);
  if (p->threads > 1) pthread_barrier_wait(&p->done);
  return (now_ns() - t0) / (double) reps;
}

/* --- measuring: the jobs of one pass in rounds ---------------------------------- */

#define MAX_JOBS 8

/* Each round times every job of a pass once (one sample of >= sample_ms), so
 * that a slow spell of the shared machine, which lasts seconds, falls on a
 * reference and on the kernels compared with it alike. */
struct rounds {
  int jobs, samples;
  double t[MAX_JOBS][BENCH_MAX_SAMPLES];
};

static void measure_rounds(struct pool *p, const struct job *jobs, int n,
                           const struct options *o, struct rounds *r) {
  long reps[MAX_JOBS];
  for (int k = 0; k < n; k++) {
    double one = pool_time(p, &jobs[k], 1); /* warm-up: code, caches, page tables */
    one = pool_time(p, &jobs[k], 1);
    reps[k] = (long) (o->sample_ms * 1e6 / (one > 1.0 ? one : 1.0));
    if (reps[k] < 1) reps[k] = 1;
  }
  r->jobs = n;
  r->samples = o->samples < BENCH_MAX_SAMPLES ? o->samples : BENCH_MAX_SAMPLES;
  for (int s = 0; s < r->samples; s++) {
    for (int k = 0; k < n; k++) {
      /* One call untimed: a sample of a large shape may be one call, which
       * would otherwise find the caches as the previous job left them. */
      pool_time(p, &jobs[k], 1);
      r->t[k][s] = pool_time(p, &jobs[k], reps[k]);
    }
  }
}

struct stats {
  double median_ns, min_ns;
};

static struct stats job_stats(const struct rounds *r, int k) {
  struct stats st;
  st.median_ns = bench_median(r->t[k], r->samples, &st.min_ns);
  return st;
}

/* The median over rounds of job a's time over job b's time in the same round. */
static double paired_ratio(const struct rounds *r, int a, int b) {
  return bench_median_ratio(r->t[a], r->t[b], r->samples);
}

/* --- output ----------------------------------------------------------------------- */

static FILE *csv;

static void print_machine(const struct options *o) {
  char model[256] = "unknown CPU";
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (f != NULL) {
    char line[512];
    while (fgets(line, sizeof line, f) != NULL) {
      if (strncmp(line, "model name", 10) == 0) {
        const char *colon = strchr(line, ':');
        if (colon != NULL) {
          snprintf(model, sizeof model, "%s", colon + 2);
          model[strcspn(model, "\n")] = '\0';
        }
        break;
      }
    }
    fclose(f);
  }
  const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  printf("machine: %s, %ld logical CPUs; features: %s\n", model, cpus, s4j_cpu_features());
  printf("softmax4j: dispatched variant %s; threads %d; reference loops %s; compiler %s\n",
         s4j_isa(), o->threads, bench_ref_isa(), __VERSION__);
#if HAVE_ONEDNN
  if (o->onednn) printf("comparison: %s\n", bench_onednn_version());
#endif
  printf("median of %d samples of >= %.1f ms each; fwd counts 8 B/element, bwd 12 B/element;\n"
         "ratio = time / time of the reference pass (copy for fwd, c=a+b for bwd) on the same "
         "buffers\n\n",
         o->samples, o->sample_ms);
  if (csv != NULL) {
    fprintf(csv, "# machine: %s; features: %s; threads %d\n", model, s4j_cpu_features(),
            o->threads);
    fprintf(csv, "threads,group,rows,cols,pass,impl,median_ns,min_ns,elements_per_ns,"
                 "gb_per_s,ratio,target\n");
  }
}

static void print_header(void) {
  printf("%-12s %-6s %-4s %-14s %11s %9s %8s %7s %8s  %s\n", "shape", "group", "pass", "impl",
         "us/call", "elem/ns", "GB/s", "ratio", "vs-onednn", "target");
}

/* One line of the table (and of the CSV). ratio, vs_onednn: 0 for none;
 * target: NULL for none. */
static void report(const struct options *o, const struct shape *s, const char *pass,
                   const char *impl, struct stats st, double bytes_per_elem, double ratio,
                   double vs_onednn, const char *target) {
  const double n = (double) s->rows * (double) s->cols;
  const double epns = n / st.median_ns;
  const double gbps = n * bytes_per_elem / st.median_ns;
  char shape[32], ratio_text[16] = "", vs[16] = "";
  snprintf(shape, sizeof shape, "%zux%zu%s", s->rows, s->cols, s->packed ? " packed" : "");
  if (ratio > 0.0) snprintf(ratio_text, sizeof ratio_text, "%.2f", ratio);
  if (vs_onednn > 0.0) snprintf(vs, sizeof vs, "%.2fx", vs_onednn);
  printf("%-12s %-6s %-4s %-14s %11.3f %9.3f %8.2f %7s %8s  %s\n", shape,
         group_names[s->group], pass, impl, st.median_ns / 1e3, epns, gbps, ratio_text, vs,
         target != NULL ? target : "");
  fflush(stdout);
  if (csv != NULL) {
    fprintf(csv, "%d,%s%s,%zu,%zu,%s,%s,%.1f,%.1f,%.4f,%.3f,%.4f,%s\n", o->threads,
            group_names[s->group], s->packed ? "-packed" : "", s->rows, s->cols, pass, impl,
            st.median_ns, st.min_ns, epns, gbps, ratio, target != NULL ? target : "");
  }
}

/* --- targets --------------------------------------------------------------------- */

static int targets_met, targets_missed;

static const char *judge(const struct options *o, const struct shape *s, int backward,
                         const char *variant, double ns, double ratio, char *buf, size_t size) {
  if (s->group == GROUP_OUT) {
    const double limit = o->threads > 1 ? TARGET_OUT_RATIO_MT : TARGET_OUT_RATIO;
    const int ok = ratio <= limit;
    snprintf(buf, size, "%s (ratio <= %.2f)", ok ? "met" : "MISSED", limit);
    ok ? targets_met++ : targets_missed++;
    return buf;
  }
  if (s->group == GROUP_CACHE && o->threads == 1) {
    double want = backward ? TARGET_BWD_AVX512 : TARGET_FWD_AVX512;
    if (strcmp(variant, "avx2") == 0) {
      want /= 2.0;
    } else if (strcmp(variant, "avx512") != 0) {
      return NULL;
    }
    const int ok = (double) s->rows * (double) s->cols / ns >= want;
    snprintf(buf, size, "%s (>= %.0f elem/ns)", ok ? "met" : "MISSED", want);
    ok ? targets_met++ : targets_missed++;
    return buf;
  }
  return NULL;
}

/* --- one shape -------------------------------------------------------------------- */

struct buffers {
  float *x, *y, *gy, *gx;
};

/* One pass of one shape: its reference with cached and with non-temporal
 * stores, oneDNN (dnn: NULL for none) and the kernel variants, all measured
 * in the same rounds. The faster reference is the one ratios refer to. */
static void bench_pass(const struct options *o, struct pool *p, const struct shape *s,
                       const struct buffers *b, int backward, void *dnn) {
  const char *pass = backward ? "bwd" : "fwd";
  const double bytes = backward ? 12.0 : 8.0;
  const struct job base = {OP_COPY, NULL, BENCH_STORE_CACHED, dnn, s->rows, s->cols,
                           b->x, b->y, b->gy, b->gx};
  struct job jobs[MAX_JOBS];
  const char *names[MAX_JOBS];
  int n = 0;
  jobs[n] = base, jobs[n].op = backward ? OP_R2W1 : OP_COPY, names[n++] = "";
  jobs[n] = jobs[0], jobs[n].store = BENCH_STORE_STREAM, names[n++] = "";
  int onednn = -1;
  if (dnn != NULL) {
    onednn = n;
    jobs[n] = base, jobs[n].op = backward ? OP_ONEDNN_BWD : OP_ONEDNN_FWD, names[n++] = "onednn";
  }
  const int first_variant = n;
  for (size_t v = 0; v < VARIANT_COUNT && n < MAX_JOBS; v++) {
    if (!s4j_isa_supported(variants[v].name)) continue;
    if (o->isa != NULL && strcmp(o->isa, variants[v].name) != 0) continue;
    jobs[n] = base, jobs[n].op = backward ? OP_BWD : OP_FWD, jobs[n].variant = &variants[v];
    names[n++] = variants[v].name;
  }

  struct rounds r;
  measure_rounds(p, jobs, n, o, &r);

  const struct stats cached = job_stats(&r, 0), streamed = job_stats(&r, 1);
  const int ref = streamed.median_ns < cached.median_ns;
  char impl[32], target[48];
  snprintf(impl, sizeof impl, "ref:%s%s", ref ? "nt-" : "", backward ? "a+b" : (ref ? "copy" : "memcpy"));
  report(o, s, pass, impl, ref ? streamed : cached, bytes, 1.0, 0.0, NULL);
  if (onednn >= 0) {
    report(o, s, pass, names[onednn], job_stats(&r, onednn), bytes, paired_ratio(&r, onednn, ref),
           0.0, NULL);
  }
  for (int k = first_variant; k < n; k++) {
    const struct stats st = job_stats(&r, k);
    const double ratio = paired_ratio(&r, k, ref);
    report(o, s, pass, names[k], st, bytes, ratio, onednn >= 0 ? paired_ratio(&r, onednn, k) : 0.0,
           judge(o, s, backward, names[k], st.median_ns, ratio, target, sizeof target));
  }
}

static void bench_shape(const struct options *o, struct pool *p, const struct shape *s,
                        const struct buffers *b) {
  void *dnn = NULL;
#if HAVE_ONEDNN
  if (o->onednn) dnn = bench_onednn_create(s->rows, s->cols, o->threads, b->x, b->y, b->gy, b->gx);
#endif
  /* The copy reference overwrites y; the kernels leave a log-softmax in it. */
  bench_pass(o, p, s, b, 0, dnn);
  /* The backward reads y: make sure it holds the dispatched forward's output. */
  s4j_log_softmax_forward_f32(b->x, b->y, (int64_t) s->rows, (int64_t) s->cols);
  bench_pass(o, p, s, b, 1, dnn);
#if HAVE_ONEDNN
  if (dnn != NULL) bench_onednn_destroy(dnn);
#endif
}

/* --- buffers: allocated once, first touched before any timing --------------------- */

static float *alloc_floats(size_t n) {
  void *p = NULL;
  if (posix_memalign(&p, 4096, n * sizeof(float)) != 0) {
    fprintf(stderr, "s4j_bench: cannot allocate %zu MiB\n", n * sizeof(float) >> 20);
    exit(1);
  }
  return p;
}

static void fill_uniform(float *v, size_t n, float lo, float hi, uint64_t seed) {
  uint64_t s = seed;
  for (size_t i = 0; i < n; i++) {
    s = s * 6364136223846793005u + 1442695040888963407u;
    const float u = (float) (s >> 40) * 0x1p-24f;
    v[i] = lo + (hi - lo) * u;
  }
}

int main(int argc, char **argv) {
  struct options o;
  if (parse_options(argc, argv, &o) != 0) {
    usage(stderr);
    return 2;
  }
  if (o.csv != NULL) {
    csv = fopen(o.csv, "w");
    if (csv == NULL) {
      fprintf(stderr, "s4j_bench: cannot write %s: %s\n", o.csv, strerror(errno));
      return 1;
    }
  }

  struct shape shapes[64];
  size_t count = 0;
  for (size_t i = 0; i < sizeof fixed_shapes / sizeof fixed_shapes[0]; i++) {
    if (o.groups & (1 << fixed_shapes[i].group)) shapes[count++] = fixed_shapes[i];
  }
  if (o.groups & (1 << GROUP_SERIES)) {
    for (size_t cols = SERIES_MIN_COLS; cols <= SERIES_MAX_COLS; cols *= o.quick ? 4 : 2) {
      shapes[count++] = (struct shape){GROUP_SERIES, SERIES_ELEMENTS / cols, cols, 0};
    }
  }
  size_t max_n = 0;
  for (size_t i = 0; i < count; i++) {
    if (shapes[i].rows * shapes[i].cols > max_n) max_n = shapes[i].rows * shapes[i].cols;
  }

  print_machine(&o);
  struct buffers b = {alloc_floats(max_n), alloc_floats(max_n), alloc_floats(max_n),
                      alloc_floats(max_n)};
  fill_uniform(b.x, max_n, -10.0f, 10.0f, 1);
  fill_uniform(b.gy, max_n, -1.0f, 1.0f, 2);
  memset(b.y, 0, max_n * sizeof(float));
  memset(b.gx, 0, max_n * sizeof(float));

  struct pool pool;
  pool_start(&pool, o.threads);
  print_header();
  for (size_t i = 0; i < count; i++) {
    fprintf(stderr, "[%zu/%zu] %zux%zu\r", i + 1, count, shapes[i].rows, shapes[i].cols);
    if (shapes[i].packed) {
      const size_t n = shapes[i].rows * shapes[i].cols;
      float *one = alloc_floats(4 * n);
      const struct buffers packed = {one, one + n, one + 2 * n, one + 3 * n};
      memcpy(packed.x, b.x, n * sizeof(float));
      memcpy(packed.gy, b.gy, n * sizeof(float));
      memset(packed.y, 0, n * sizeof(float));
      memset(packed.gx, 0, n * sizeof(float));
      bench_shape(&o, &pool, &shapes[i], &packed);
      free(one);
    } else {
      bench_shape(&o, &pool, &shapes[i], &b);
    }
  }
  pool_stop(&pool);
  fprintf(stderr, "%40s\r", "");
  printf("\ntargets: %d met, %d missed\n", targets_met, targets_missed);
  if (o.groups & (1 << GROUP_FAMILY)) {
    bench_family_run(o.isa, o.samples, o.sample_ms, csv, 1);
  } else if (o.groups & (1 << GROUP_DTYPES)) {
    bench_family_run(o.isa, o.samples, o.sample_ms, csv, 0);
  }

  if (csv != NULL) fclose(csv);
  free(b.x);
  free(b.y);
  free(b.gy);
  free(b.gx);
  return 0;
}
