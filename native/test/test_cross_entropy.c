/*
 * test_cross_entropy.c - the cross-entropy and NLL entry points, every
 * variant the CPU runs (named exports) and the dispatched one, against a
 * long double reference written from the definitions in softmax4j.h:
 * random shapes that hit every vector path, every target kind, weights,
 * ignore_index, label smoothing, special values and every error code.
 */
#include "softmax4j.h"

#include "kernels/registry.h"
#include "test_util.h"

typedef int (*t_xent_fwd_fn)(const float *, int64_t, int64_t, int64_t, const void *, int,
                             const float *, int64_t, float, float *, float *, double *);
typedef int (*t_xent_bwd_fn)(const float *, const float *, int64_t, int64_t, int64_t,
                             const void *, int, const float *, int64_t, float, const float *,
                             float, float *);

struct t_variant {
  const char *name;
  t_xent_fwd_fn fwd;
  t_xent_bwd_fn bwd;
};

#define T_VARIANT(name, stats, grad) \
  {#name, s4j_cross_entropy_forward_f32_##name, s4j_cross_entropy_backward_f32_##name},
static const struct t_variant t_variants[] = {
    S4J_XENT_VARIANTS(T_VARIANT){"dispatched", s4j_cross_entropy_forward_f32,
                                 s4j_cross_entropy_backward_f32}};
#undef T_VARIANT
#define T_VARIANT_COUNT (sizeof t_variants / sizeof t_variants[0])

#define IGNORE (-100)

/* One problem: logits [n, classes, inner] and its targets and options. */
struct t_case {
  int64_t n, classes, inner;
  int kind;
  float *x;
  int32_t *t32;
  int64_t *t64;
  float *probs;
  float *weight; /* NULL = ones */
  float eps;
  float *grad_loss; /* NULL: scalar grad_scale only */
  float grad_scale;
};

static const void *t_target(const struct t_case *c) {
  return c->kind == S4J_TARGET_INT32 ? (const void *) c->t32
         : c->kind == S4J_TARGET_INT64 ? (const void *) c->t64
                                       : (const void *) c->probs;
}

static int64_t t_index(const struct t_case *c, size_t p) {
  return c->kind == S4J_TARGET_INT32 ? c->t32[p] : c->t64[p];
}

static long double t_w(const struct t_case *c, int64_t k) {
  return c->weight != NULL ? (long double) c->weight[k] : 1.0L;
}

/* q for position p into q[classes]; returns 0 when the position is ignored. */
static int t_ref_q(const struct t_case *c, size_t i, size_t j, long double *q) {
  const size_t C = (size_t) c->classes, in = (size_t) c->inner;
  const long double eps = c->eps;
  if (c->kind == S4J_TARGET_PROB_F32) {
    for (size_t k = 0; k < C; k++) {
      q[k] = t_w(c, (int64_t) k) * ((1 - eps) * c->probs[(i * C + k) * in + j] + eps / C);
    }
    return 1;
  }
  const int64_t t = t_index(c, i * in + j);
  if (t == IGNORE) return 0;
  for (size_t k = 0; k < C; k++) q[k] = eps / C * t_w(c, (int64_t) k);
  q[t] += (1 - eps) * t_w(c, t);
  return 1;
}

/* The reference: per-position loss, totals, and the gradient. */
static void t_reference(const struct t_case *c, long double *loss, long double *totals,
                        long double *grad) {
  const size_t C = (size_t) c->classes, in = (size_t) c->inner, n = (size_t) c->n;
  long double *q = malloc(C * sizeof *q);
  totals[0] = totals[1] = 0;
  for (size_t i = 0; i < n; i++) {
    for (size_t j = 0; j < in; j++) {
      const size_t p = i * in + j;
      const float *x = c->x + i * C * in + j;
      if (!t_ref_q(c, i, j, q)) {
        loss[p] = 0;
        for (size_t k = 0; k < C; k++) grad[(i * C + k) * in + j] = 0;
        continue;
      }
      long double m = -INFINITY, s = 0, qsum = 0, l = 0;
      for (size_t k = 0; k < C; k++) m = fmaxl(m, x[k * in]);
      for (size_t k = 0; k < C; k++) s += expl(x[k * in] - m);
      for (size_t k = 0; k < C; k++) {
        qsum += q[k];
        l += q[k] * ((m - x[k * in]) + logl(s));
      }
      loss[p] = l;
      totals[0] += l;
      totals[1] += c->kind == S4J_TARGET_PROB_F32 ? 1 : t_w(c, t_index(c, p));
      const long double scale = (long double) c->grad_scale * (c->grad_loss ? c->grad_loss[p] : 1);
      for (size_t k = 0; k < C; k++) {
        const long double prob = expl((x[k * in] - m) - logl(s));
        grad[(i * C + k) * in + j] = scale * (prob * qsum - q[k]);
      }
    }
  }
  free(q);
}

static void t_fill_case(struct t_case *c, t_rng *r, float lo, float hi) {
  const size_t C = (size_t) c->classes, in = (size_t) c->inner, n = (size_t) c->n;
  const size_t positions = n * in, total = positions * C;
  for (size_t e = 0; e < total; e++) c->x[e] = t_rng_uniform(r, lo, hi);
  for (size_t p = 0; p < positions; p++) {
    int64_t t = (int64_t) (t_rng_next(r) % C);
    if (t_rng_next(r) % 5 == 0) t = IGNORE;
    c->t32[p] = (int32_t) t;
    c->t64[p] = t;
    if (c->grad_loss) c->grad_loss[p] = t_rng_uniform(r, -2.0f, 2.0f);
  }
  for (size_t i = 0; i < n; i++) {
    for (size_t j = 0; j < in; j++) {
      float sum = 0;
      for (size_t k = 0; k < C; k++) {
        const float v = t_rng_uniform(r, 0.0f, 1.0f);
        c->probs[(i * C + k) * in + j] = v;
        sum += v;
      }
      for (size_t k = 0; k < C; k++) c->probs[(i * C + k) * in + j] /= sum;
    }
  }
  if (c->weight) {
    for (size_t k = 0; k < C; k++) c->weight[k] = t_rng_uniform(r, 0.1f, 2.0f);
  }
}

/* Runs one variant on one case and compares with the reference. */
static void t_check_case(const struct t_variant *v, const struct t_case *c, const char *what) {
  const size_t C = (size_t) c->classes, in = (size_t) c->inner, n = (size_t) c->n;
  const size_t positions = n * in, total = positions * C;
  float *loss = malloc((positions + 1) * sizeof *loss);
  float *stats = malloc((2 * positions + 1) * sizeof *stats);
  float *grad = malloc((total + 1) * sizeof *grad);
  long double *rloss = malloc((positions + 1) * sizeof *rloss);
  long double *rgrad = malloc((total + 1) * sizeof *rgrad);
  long double rtot[2];
  double totals[2] = {-1, -1};
  t_reference(c, rloss, rtot, rgrad);
  int rc = v->fwd(c->x, c->n, c->classes, c->inner, t_target(c), c->kind, c->weight, IGNORE,
                  c->eps, loss, stats, totals);
  if (!t_check(rc == S4J_OK, "%s %s: forward returned %d", v->name, what, rc)) goto done;
  rc = v->bwd(c->x, stats, c->n, c->classes, c->inner, t_target(c), c->kind, c->weight, IGNORE,
              c->eps, c->grad_loss, c->grad_scale, grad);
  if (!t_check(rc == S4J_OK, "%s %s: backward returned %d", v->name, what, rc)) goto done;
  int ok = 1;
  for (size_t p = 0; p < positions && ok; p++) {
    /* The loss is formed in double from float stats: a few float ulps of
     * the logits' magnitude, relative. */
    ok = t_check(t_close(loss[p], (double) rloss[p], 4e-6), "%s %s: loss[%zu] = %.9g, want %.9Lg",
                 v->name, what, p, (double) loss[p], rloss[p]);
  }
  t_check(t_close((float) totals[0], (double) rtot[0], 4e-6) &&
              t_close((float) totals[1], (double) rtot[1], 1e-6),
          "%s %s: totals {%.9g, %.9g}, want {%.9Lg, %.9Lg}", v->name, what, totals[0], totals[1],
          rtot[0], rtot[1]);
  for (size_t e = 0; e < total && ok; e++) {
    /* Each gradient is alpha * p - w * q in float: bound by the size of
     * its terms, |scale| * (sum q + max q) ~ a few units. */
    ok = t_check(fabsl((long double) grad[e] - rgrad[e]) <= 3e-6L * (1 + fabsl(rgrad[e]) +
                                                                      fabsl((long double) c->grad_scale) * 4),
                 "%s %s: grad[%zu] = %.9g, want %.9Lg", v->name, what, e, (double) grad[e],
                 rgrad[e]);
  }
done:
  free(loss);
  free(stats);
  free(grad);
  free(rloss);
  free(rgrad);
}

static void test_random(const struct t_variant *v) {
  static const int64_t class_counts[] = {1, 2, 7, 8, 9, 15, 16, 17, 31, 33, 63, 64, 65, 100, 1000, 1025, 3001};
  static const int64_t inners[] = {1, 3};
  static const int kinds[] = {S4J_TARGET_INT32, S4J_TARGET_INT64, S4J_TARGET_PROB_F32};
  t_rng r = {t_seed()};
  for (size_t a = 0; a < sizeof class_counts / sizeof class_counts[0]; a++) {
    for (size_t b = 0; b < 2; b++) {
      for (size_t k = 0; k < 3; k++) {
        for (int option = 0; option < 4; option++) {
          struct t_case c = {.n = 3, .classes = class_counts[a], .inner = inners[b], .kind = kinds[k]};
          const size_t positions = (size_t) (c.n * c.inner), total = positions * (size_t) c.classes;
          c.x = malloc(total * sizeof *c.x);
          c.probs = malloc(total * sizeof *c.probs);
          c.t32 = malloc(positions * sizeof *c.t32);
          c.t64 = malloc(positions * sizeof *c.t64);
          c.weight = option & 1 ? malloc((size_t) c.classes * sizeof *c.weight) : NULL;
          c.grad_loss = option & 2 ? malloc(positions * sizeof *c.grad_loss) : NULL;
          c.eps = option >= 2 ? 0.1f : 0.0f;
          c.grad_scale = option & 2 ? 1.0f : 0.37f;
          /* Values around 90-100 would overflow a plain exp; every other
           * case mixes signs. */
          const int high = (a + b + k) % 3 == 0;
          t_fill_case(&c, &r, high ? 90.0f : -8.0f, high ? 100.0f : 8.0f);
          char what[96];
          snprintf(what, sizeof what, "n=%" PRId64 " C=%" PRId64 " inner=%" PRId64 " kind=%d option=%d",
                   c.n, c.classes, c.inner, c.kind, option);
          t_check_case(v, &c, what);
          free(c.x);
          free(c.probs);
          free(c.t32);
          free(c.t64);
          free(c.weight);
          free(c.grad_loss);
        }
      }
    }
  }
}

/* One row of 5 classes, target 2, through variant v: loss and gradient. */
static void t_one_row(const struct t_variant *v, const float *x, int64_t target, float *loss,
                      float *grad) {
  float stats[2];
  double totals[2];
  int rc = v->fwd(x, 1, 5, 1, &target, S4J_TARGET_INT64, NULL, IGNORE, 0.0f, loss, stats, totals);
  t_check(rc == S4J_OK, "%s: special forward returned %d", v->name, rc);
  rc = v->bwd(x, stats, 1, 5, 1, &target, S4J_TARGET_INT64, NULL, IGNORE, 0.0f, NULL, 1.0f, grad);
  t_check(rc == S4J_OK, "%s: special backward returned %d", v->name, rc);
}

static void test_special_values(const struct t_variant *v) {
  const float inf = INFINITY;
  float loss, grad[5];

  /* -inf at the target: the loss is +inf, the gradient softmax - onehot. */
  const float at_target[5] = {1, 2, -inf, 0, 1};
  t_one_row(v, at_target, 2, &loss, grad);
  t_check(loss == inf, "%s: -inf at the target gives loss %g, want +inf", v->name, (double) loss);
  t_check(t_close(grad[2], -1.0, 1e-6), "%s: grad at a -inf target %g, want -1", v->name, (double) grad[2]);

  /* -inf elsewhere: it drops out, its gradient is exactly 0. */
  const float elsewhere[5] = {-inf, 0, 0, 0, 0};
  t_one_row(v, elsewhere, 2, &loss, grad);
  t_check(t_close(loss, log(4.0), 1e-6) && grad[0] == 0.0f && t_close(grad[2], -0.75, 1e-6),
          "%s: a -inf logit gives loss %g grad0 %g grad2 %g", v->name, (double) loss,
          (double) grad[0], (double) grad[2]);

  /* All -inf, +inf anywhere, NaN anywhere: NaN loss and gradients. */
  const float rows[3][5] = {{-inf, -inf, -inf, -inf, -inf}, {0, inf, 0, 0, 0}, {0, 0, 0, NAN, 0}};
  for (int k = 0; k < 3; k++) {
    t_one_row(v, rows[k], 2, &loss, grad);
    t_check(isnan(loss) && isnan(grad[0]) && isnan(grad[2]), "%s: special row %d gives loss %g grad %g",
            v->name, k, (double) loss, (double) grad[0]);
  }

  /* Huge magnitudes: the max shift keeps them exact. */
  const float huge[5] = {1e30f, -1e30f, 1e30f, 0, -3e29f};
  t_one_row(v, huge, 2, &loss, grad);
  t_check(t_close(loss, log(2.0), 1e-6) && t_close(grad[2], -0.5, 1e-6) && grad[1] == 0.0f,
          "%s: huge logits give loss %g grad2 %g", v->name, (double) loss, (double) grad[2]);
  t_one_row(v, huge, 1, &loss, grad);
  t_check(t_close(loss, 2e30, 1e-6), "%s: huge logits, low target: loss %g, want 2e30", v->name,
          (double) loss);

  /* One class: log-softmax is 0, so are the loss and the gradient. */
  const float one = 42.0f;
  float stats[2], g1 = -1.0f;
  double totals[2];
  int64_t t0 = 0;
  v->fwd(&one, 1, 1, 1, &t0, S4J_TARGET_INT64, NULL, IGNORE, 0.3f, &loss, stats, totals);
  v->bwd(&one, stats, 1, 1, 1, &t0, S4J_TARGET_INT64, NULL, IGNORE, 0.3f, NULL, 1.0f, &g1);
  t_check(loss == 0.0f && g1 == 0.0f, "%s: C=1 gives loss %g grad %g, want 0, 0", v->name,
          (double) loss, (double) g1);

  /* No positions: success, totals {0, 0}, nothing read. */
  totals[0] = totals[1] = 5;
  const int rc = v->fwd(NULL, 0, 4, 1, NULL, S4J_TARGET_INT32, NULL, IGNORE, 0.0f, NULL, NULL, totals);
  t_check(rc == S4J_OK && totals[0] == 0 && totals[1] == 0, "%s: N=0 returned %d totals {%g, %g}",
          v->name, rc, totals[0], totals[1]);

  /* Every position ignored: losses 0, denominator 0 (the mean is 0/0). */
  const float xs[4] = {1, 2, 3, 4};
  const int32_t ignored[2] = {IGNORE, IGNORE};
  float losses[2] = {9, 9}, grads[4] = {9, 9, 9, 9}, st[4];
  v->fwd(xs, 2, 2, 1, ignored, S4J_TARGET_INT32, NULL, IGNORE, 0.2f, losses, st, totals);
  v->bwd(xs, st, 2, 2, 1, ignored, S4J_TARGET_INT32, NULL, IGNORE, 0.2f, NULL, 1.0f, grads);
  t_check(losses[0] == 0 && losses[1] == 0 && totals[0] == 0 && totals[1] == 0 && grads[0] == 0 && grads[3] == 0,
          "%s: all ignored gives losses %g %g totals %g %g", v->name, (double) losses[0],
          (double) losses[1], totals[0], totals[1]);
}

static int t_untouched(const float *a, size_t count) {
  for (size_t e = 0; e < count; e++) {
    if (t_bits(a[e]) != t_bits(7.5f)) return 0;
  }
  return 1;
}

static void test_errors(const struct t_variant *v) {
  const float x[6] = {1, 2, 3, 4, 5, 6};
  int32_t t[2] = {0, 1};
  float loss[2], stats[4], grad[6];
  double totals[2];
#define T_EXPECT(call, code)                                                                    \
  do {                                                                                          \
    for (int e = 0; e < 2; e++) loss[e] = 7.5f;                                                 \
    for (int e = 0; e < 4; e++) stats[e] = 7.5f;                                                \
    for (int e = 0; e < 6; e++) grad[e] = 7.5f;                                                 \
    const int rc_ = (call);                                                                     \
    t_check(rc_ == (code) && t_untouched(loss, 2) && t_untouched(stats, 4) && t_untouched(grad, 6), \
            "%s: %s returned %d (%s), want %d, outputs untouched", v->name, #call, rc_,           \
            s4j_strerror(rc_), code);                                                             \
  } while (0)
  T_EXPECT(v->fwd(x, -1, 3, 1, t, S4J_TARGET_INT32, NULL, IGNORE, 0, loss, stats, totals), S4J_ERR_NEGATIVE_SIZE);
  T_EXPECT(v->fwd(x, 2, 3, -1, t, S4J_TARGET_INT32, NULL, IGNORE, 0, loss, stats, totals), S4J_ERR_NEGATIVE_SIZE);
  T_EXPECT(v->fwd(x, 2, 3, 1, t, 9, NULL, IGNORE, 0, loss, stats, totals), S4J_ERR_BAD_ARGUMENT);
  T_EXPECT(v->fwd(x, 2, 3, 1, t, S4J_TARGET_INT32, NULL, IGNORE, -0.1f, loss, stats, totals), S4J_ERR_BAD_ARGUMENT);
  T_EXPECT(v->fwd(x, 2, 3, 1, t, S4J_TARGET_INT32, NULL, IGNORE, 1.5f, loss, stats, totals), S4J_ERR_BAD_ARGUMENT);
  T_EXPECT(v->fwd(x, 2, 3, 1, t, S4J_TARGET_INT32, NULL, IGNORE, NAN, loss, stats, totals), S4J_ERR_BAD_ARGUMENT);
  T_EXPECT(v->fwd(x, 2, 0, 1, t, S4J_TARGET_INT32, NULL, IGNORE, 0, loss, stats, totals), S4J_ERR_BAD_ARGUMENT);
  T_EXPECT(v->fwd(x, INT64_MAX / 2, 3, 5, t, S4J_TARGET_INT32, NULL, IGNORE, 0, loss, stats, totals), S4J_ERR_SIZE_OVERFLOW);
  T_EXPECT(v->fwd(NULL, 2, 3, 1, t, S4J_TARGET_INT32, NULL, IGNORE, 0, loss, stats, totals), S4J_ERR_NULL_POINTER);
  T_EXPECT(v->fwd(x, 2, 3, 1, NULL, S4J_TARGET_INT32, NULL, IGNORE, 0, loss, stats, totals), S4J_ERR_NULL_POINTER);
  T_EXPECT(v->bwd(x, NULL, 2, 3, 1, t, S4J_TARGET_INT32, NULL, IGNORE, 0, NULL, 1, grad), S4J_ERR_NULL_POINTER);
  T_EXPECT(v->bwd(x, stats, 2, 3, 1, t, S4J_TARGET_INT32, NULL, IGNORE, 0, NULL, 1, NULL), S4J_ERR_NULL_POINTER);
  t[1] = 3; /* == classes */
  T_EXPECT(v->fwd(x, 2, 3, 1, t, S4J_TARGET_INT32, NULL, IGNORE, 0, loss, stats, totals), S4J_ERR_TARGET_OUT_OF_RANGE);
  T_EXPECT(v->bwd(x, stats, 2, 3, 1, t, S4J_TARGET_INT32, NULL, IGNORE, 0, NULL, 1, grad), S4J_ERR_TARGET_OUT_OF_RANGE);
  t[1] = -1; /* negative but not ignore_index */
  T_EXPECT(v->fwd(x, 2, 3, 1, t, S4J_TARGET_INT32, NULL, IGNORE, 0, loss, stats, totals), S4J_ERR_TARGET_OUT_OF_RANGE);
  const int64_t t64[2] = {0, (int64_t) 1 << 33}; /* would wrap in 32 bits */
  T_EXPECT(v->fwd(x, 2, 3, 1, t64, S4J_TARGET_INT64, NULL, IGNORE, 0, loss, stats, totals), S4J_ERR_TARGET_OUT_OF_RANGE);
#undef T_EXPECT
}

/* NLL: the same reference at eps = 0 with the log-probabilities as input. */
static void test_nll(void) {
  t_rng r = {t_seed() ^ 0x11u};
  const int64_t n = 4, C = 7, inner = 3;
  const size_t positions = (size_t) (n * inner), total = positions * (size_t) C;
  float lp[84], w[7], gl[12], loss[12], grad[84];
  int64_t t[12];
  double totals[2];
  for (size_t e = 0; e < total; e++) lp[e] = t_rng_uniform(&r, -9.0f, 0.0f);
  for (int k = 0; k < C; k++) w[k] = t_rng_uniform(&r, 0.0f, 2.0f);
  for (size_t p = 0; p < positions; p++) {
    t[p] = p % 4 == 3 ? IGNORE : (int64_t) (t_rng_next(&r) % (uint64_t) C);
    gl[p] = t_rng_uniform(&r, -1.0f, 1.0f);
  }
  int rc = s4j_nll_loss_forward_f32(lp, n, C, inner, t, S4J_TARGET_INT64, w, IGNORE, loss, totals);
  t_check(rc == S4J_OK, "nll forward returned %d", rc);
  rc = s4j_nll_loss_backward_f32(n, C, inner, t, S4J_TARGET_INT64, w, IGNORE, gl, 0.5f, grad);
  t_check(rc == S4J_OK, "nll backward returned %d", rc);
  long double sum = 0, den = 0;
  for (size_t p = 0; p < positions; p++) {
    const size_t i = p / (size_t) inner, j = p % (size_t) inner;
    long double want = 0;
    for (int64_t k = 0; k < C; k++) {
      const long double g = t[p] == k ? -0.5L * gl[p] * w[k] : 0;
      t_check(t_close(grad[(i * (size_t) C + (size_t) k) * (size_t) inner + j], (double) g, 1e-7),
              "nll grad at %zu, %" PRId64, p, k);
    }
    if (t[p] != IGNORE) {
      want = -(long double) w[t[p]] * lp[(i * (size_t) C + (size_t) t[p]) * (size_t) inner + j];
      sum += want;
      den += w[t[p]];
    }
    t_check(t_close(loss[p], (double) want, 1e-6), "nll loss[%zu] = %g, want %Lg", p, (double) loss[p], want);
  }
  t_check(t_close((float) totals[0], (double) sum, 1e-6) && t_close((float) totals[1], (double) den, 1e-6),
          "nll totals %g %g, want %Lg %Lg", totals[0], totals[1], sum, den);
  float keep[12];
  for (int e = 0; e < 12; e++) keep[e] = loss[e] = 7.5f;
  t[5] = C;
  rc = s4j_nll_loss_forward_f32(lp, n, C, inner, t, S4J_TARGET_INT64, w, IGNORE, loss, totals);
  t_check(rc == S4J_ERR_TARGET_OUT_OF_RANGE && memcmp(keep, loss, sizeof keep) == 0,
          "nll out-of-range target returned %d", rc);
  rc = s4j_nll_loss_forward_f32(lp, n, C, inner, lp, S4J_TARGET_PROB_F32, w, IGNORE, loss, totals);
  t_check(rc == S4J_ERR_BAD_ARGUMENT, "nll with probabilities returned %d", rc);
}

int main(void) {
  printf("test_cross_entropy (seed 0x%" PRIx64 ", isa %s)\n", t_seed(), s4j_isa());
  for (size_t i = 0; i < T_VARIANT_COUNT; i++) {
    const struct t_variant *v = &t_variants[i];
    if (strcmp(v->name, "dispatched") != 0 && !s4j_isa_supported(v->name)) {
      t_skip(v->name);
      continue;
    }
    test_random(v);
    test_special_values(v);
    test_errors(v);
  }
  test_nll();
  return t_finish("test_cross_entropy");
}
