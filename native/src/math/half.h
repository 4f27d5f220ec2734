/*
 * half.h - the two 16-bit storage formats and their exact conversions to
 * and from float, for the bfloat16 and float16 kernels (which load to
 * float, compute in float with double sums, and store once).
 *
 *   bfloat16  1 sign, 8 exponent, 7 fraction bits: the top half of a float.
 *             To float: a 16-bit shift (exact). From float: round to nearest
 *             even on the 16 bits dropped, with an integer add:
 *             (bits + 0x7fff + lsb) >> 16, where lsb is bit 16. A carry out
 *             of the fraction moves the exponent up, which is the right
 *             rounding, up to +inf for values at or above the halfway point
 *             past the largest finite bfloat16.
 *   float16   1 sign, 5 exponent, 10 fraction bits (IEEE binary16): max
 *             65504, smallest normal 2^-14, subnormals down to 2^-24. Every
 *             float16 is a float, so to float is exact. From float: round to
 *             nearest even on the fraction (subnormal results included), +inf
 *             from 65520 up (the halfway point to 2^16).
 *
 * NaN stays NaN, with its sign, quieted, and the top of its payload (as
 * vcvtneps2bf16 and vcvtps2ph do); +-inf and +-0 map to themselves.
 *
 * Tested by test_half: every one of the 65536 values of each format round
 * trips through float, and 2^32 / 61 evenly spread floats plus the
 * neighbourhood of every halfway point round as a binary search over the
 * format's ordered values says they must; the AVX2 and AVX-512 store paths
 * give the scalar bits on all of them.
 */
#ifndef S4J_MATH_HALF_H
#define S4J_MATH_HALF_H

#include <stdint.h>
#include <string.h>

/* Which 16-bit format a half kernel loads and stores. */
enum s4j_half_format {
  S4J_HALF_BF16 = 0,
  S4J_HALF_F16 = 1,
};

static inline uint32_t s4j_half_float_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}

static inline float s4j_half_bits_float(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

static inline float s4j_bf16_to_f32(uint16_t h) {
  return s4j_half_bits_float((uint32_t) h << 16);
}

static inline uint16_t s4j_f32_to_bf16(float f) {
  const uint32_t u = s4j_half_float_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t) ((u >> 16) | 0x0040u); /* NaN */
  return (uint16_t) ((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

static inline float s4j_f16_to_f32(uint16_t h) {
  const uint32_t sign = (uint32_t) (h & 0x8000u) << 16;
  const uint32_t exponent = (h >> 10) & 0x1fu;
  const uint32_t fraction = h & 0x3ffu;
  if (exponent == 0) {
    /* Zero or subnormal: fraction * 2^-24, exact in float. */
    const float magnitude = (float) fraction * 0x1p-24f;
    return s4j_half_bits_float(s4j_half_float_bits(magnitude) | sign);
  }
  if (exponent == 0x1f) return s4j_half_bits_float(sign | 0x7f800000u | (fraction << 13));
  return s4j_half_bits_float(sign | ((exponent + 112u) << 23) | (fraction << 13));
}

static inline uint16_t s4j_f32_to_f16(float f) {
  const uint32_t u = s4j_half_float_bits(f);
  const uint16_t sign = (uint16_t) ((u >> 16) & 0x8000u);
  const uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return (uint16_t) (sign | 0x7e00u | ((a >> 13) & 0x3ffu)); /* NaN */
  if (a >= 0x477ff000u) return (uint16_t) (sign | 0x7c00u); /* >= 65520: +-inf */
  const uint32_t e = a >> 23; /* biased float exponent */
  if (e >= 113) {
    /* Normal float16: rebias, round the 13 bits dropped to nearest even;
     * a carry out of the fraction moves the exponent up, as it should. */
    uint32_t h = ((e - 112u) << 10) | ((a >> 13) & 0x3ffu);
    const uint32_t rest = a & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) h++;
    return (uint16_t) (sign | h);
  }
  /* Subnormal float16 (or zero): the count of 2^-24 units, rounded to
   * nearest even. The float is m * 2^(e - 150) with the implicit bit in m,
   * so the count is m >> (126 - e) before rounding. */
  if (e < 102) return sign; /* below 2^-25: rounds to zero */
  const uint32_t m = (a & 0x7fffffu) | 0x800000u;
  const uint32_t shift = 126u - e; /* 14..24 */
  uint32_t q = m >> shift;
  const uint32_t rest = m & ((1u << shift) - 1u);
  const uint32_t half = 1u << (shift - 1u);
  if (rest > half || (rest == half && (q & 1u))) q++;
  return (uint16_t) (sign | q);
}

static inline float s4j_half_to_f32(enum s4j_half_format fmt, uint16_t h) {
  return fmt == S4J_HALF_BF16 ? s4j_bf16_to_f32(h) : s4j_f16_to_f32(h);
}

static inline uint16_t s4j_f32_to_half(enum s4j_half_format fmt, float f) {
  return fmt == S4J_HALF_BF16 ? s4j_f32_to_bf16(f) : s4j_f32_to_f16(f);
}

/* A double rounded once to the 16-bit format, as LogSumExp stores its
 * m + log(s). Two steps: to float with round-to-odd (an inexact result
 * whose last bit came out even moves one float away from zero or towards
 * it, whichever brackets the double, so the odd last bit records that
 * something was dropped), then to nearest even. Rounding to odd with at
 * least 2 more bits than the target, and the float grid has 13 or more
 * beyond either format's at every magnitude they reach (subnormals
 * included), makes the pair round as a single step would; a plain double
 * -> float -> half could round twice across a halfway point. */
static inline uint16_t s4j_f64_to_half(enum s4j_half_format fmt, double d) {
  float f = (float) d;
  if (f - f == 0.0f && (double) f != d) {
    uint32_t u = s4j_half_float_bits(f);
    if ((u & 1u) == 0) {
      /* |f| < |d|: one step away from zero, else one step towards it
       * (sign-magnitude bits: +1 grows the magnitude, -1 shrinks it). */
      const int below = ((double) f < d) == (d > 0.0);
      u = below ? u + 1u : u - 1u;
      f = s4j_half_bits_float(u);
    }
  }
  return s4j_f32_to_half(fmt, f);
}

/* n floats narrowed by each ISA's store path, for the sweep test (defined
 * in the kernel file of the same ISA). */
#include <stddef.h>
void s4j_math_half_narrow__scalar(enum s4j_half_format fmt, size_t n, const float *x, uint16_t *y);
void s4j_math_half_narrow__avx2(enum s4j_half_format fmt, size_t n, const float *x, uint16_t *y);
void s4j_math_half_narrow__avx512(enum s4j_half_format fmt, size_t n, const float *x, uint16_t *y);

#endif /* S4J_MATH_HALF_H */
