#!/usr/bin/env python3
"""Derives the exp polynomial of exp_f32.h (needs mpmath; not part of the build).

p(r) = 1 + r + C2 r^2 + ... + C6 r^6 minimises max |(p(r) - e^r) / e^r| over
|r| <= ln2/2 + 1e-5 (a little slack for the rounding of n = round(x/ln2)).
The terms of degree 0 and 1 are pinned to 1: exp(0) is then exactly 1 and
nothing is lost rounding C1 (the unconstrained optimum, 1.00000003, rounds to
1.0f anyway). Remez exchange: with the pinned terms, the error has a double
zero at 0, so it equioscillates with N + 1 extrema for N free coefficients.

The coefficients go to float one at a time: solve for C2..C6, round C2, solve
again for C3..C6, round C3, ... Prints the coefficients as hex floats and the
relative error of the final float polynomial.

    python3 native/src/math/exp_f32_remez.py

With the argument sum-p5 it derives the sum-only polynomial instead (P1..P5
of exp_f32.h): degree 5, only the term of degree 0 pinned to 1. The error
then has a simple zero at r = 0, where it changes sign without being an
extremum, so the alternation is that of sign(r) * error.

    python3 native/src/math/exp_f32_remez.py sum-p5
"""
import sys
import struct

import mpmath as mp

mp.mp.dps = 40
DEGREE = 6
HALF = mp.log(2) / 2 + mp.mpf("1e-5")
A, B = -HALF, HALF


def to_f32(v):
    return mp.mpf(struct.unpack("f", struct.pack("f", float(v)))[0])


def hex_f32(v):
    """0x1.fffffcp-2 rather than Python's 0x1.fffffc0000000p-2."""
    mant, exp = float(v).hex().split("p")
    return "%sp%s" % (mant.rstrip("0").rstrip("."), exp)


def poly(coeffs, r):
    """coeffs[i] is the coefficient of r^i."""
    acc = mp.mpf(0)
    for c in reversed(coeffs):
        acc = acc * r + c
    return acc


def rel_error(coeffs, r):
    e = mp.e ** r
    return (poly(coeffs, r) - e) / e


def sign_at_zero(r, signed):
    return (1 if r >= 0 else -1) if signed else 1


def remez(fixed, iterations=30, grid_size=3001, signed=False):
    """fixed = [c0, c1, ..., ck]; solves for c_{k+1}..c_DEGREE. signed: the
    error alternates in sign(r) * error (only c0 pinned)."""
    free = list(range(len(fixed), DEGREE + 1))
    n = len(free)
    # start from the Chebyshev nodes, then exchange with the error's extrema
    pts = [(A + B) / 2 - (B - A) / 2 * mp.cos(mp.pi * (j + mp.mpf(0.5)) / (n + 1))
           for j in range(n + 1)]
    grid = [A + (B - A) * mp.mpf(j) / grid_size for j in range(grid_size + 1)]
    for _ in range(iterations):
        rows, rhs = [], []
        for j, r in enumerate(pts):
            e = mp.e ** r
            rows.append([r ** i for i in free] + [-((-1) ** j) * sign_at_zero(r, signed) * e])
            rhs.append(e - poly(fixed, r))
        sol = mp.lu_solve(mp.matrix(rows), mp.matrix(rhs))
        coeffs = list(fixed) + [sol[i] for i in range(n)]
        vals = [rel_error(coeffs, r) * sign_at_zero(r, signed) for r in grid]
        # one extremum per run of equal sign
        runs, cur = [], [0]
        for j in range(1, len(grid)):
            if vals[j] * vals[cur[-1]] < 0:
                runs.append(cur)
                cur = [j]
            else:
                cur.append(j)
        runs.append(cur)
        ext = [max(run, key=lambda j: abs(vals[j])) for run in runs]
        # the extrema alternate in sign; drop the smaller end until n + 1 remain
        while len(ext) > n + 1:
            ext.pop(0 if abs(vals[ext[0]]) < abs(vals[ext[-1]]) else -1)
        if len(ext) == n + 1:
            pts = [grid[j] for j in ext]
    return coeffs


def main():
    global DEGREE
    sum_p5 = sys.argv[1:] == ["sum-p5"]
    if sum_p5:
        DEGREE = 5
    fixed = [mp.mpf(1)] if sum_p5 else [mp.mpf(1), mp.mpf(1)]
    while len(fixed) < DEGREE:
        coeffs = remez(fixed, signed=sum_p5)
        fixed.append(to_f32(coeffs[len(fixed)]))
    coeffs = remez(fixed, signed=sum_p5)
    final = fixed + [to_f32(coeffs[DEGREE])]
    grid = [A + (B - A) * mp.mpf(j) / 20001 for j in range(20002)]
    err = max(abs(rel_error(final, r)) for r in grid)
    first, name = (1, "SUM_P") if sum_p5 else (2, "C")
    for i, c in enumerate(final[first:], start=first):
        print("#define S4J_EXP_F32_%s%d %sf  /* %s */" % (name, i, hex_f32(c), mp.nstr(c, 9)))
    print("relative error %s (2^%s)" % (mp.nstr(err, 3), mp.nstr(mp.log(err, 2), 3)))


if __name__ == "__main__":
    main()
