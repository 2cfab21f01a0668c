// Internal to the assignment solver: the two O(n) passes that dominate LAPJV's
// running time, written once over a vector policy V (src/simd_policy.hpp) and
// instantiated per ISA by src/assignment_baseline.cpp, assignment_avx2.cpp and
// assignment_avx512.cpp, each defining its kernels<Isa>() below; src/assignment.cpp
// picks one with for_isa(). Every variant returns bit-identical results: the
// per-element arithmetic is the same (additions only, in the same order) and
// selections pick the lowest index among equal values.
#pragma once
#include <cstddef>
#include <cstdint>
#include <limits>

#include "cpu_features.hpp"
#include "simd_policy.hpp"

namespace modeldiff {
namespace lsa {

struct Argmin {
  double value;
  int64_t col;
  bool tie;
};

struct Kernels {
  // Shortest-path relaxation from row i: for every column j with mask[j] == 0,
  // v2 = ((sign * row[j] - v[j]) - h) + mask[j]; if v2 < d[j] then d[j] = v2,
  // pred[j] = i. (sign is -1 when maximizing: exact, so no negated copy;
  // mask[j] is 0 for unscanned and +Inf for scanned columns.) Returns the
  // smallest key d[j] + mask[j], the lowest column attaining it, and whether
  // another column attains it too (value +Inf, col -1 if every key is +Inf).
  Argmin (*relax)(const double* row, double sign, const double* v, const double* mask, double h,
                  int64_t i, double* d, int64_t* pred, size_t n);
  // Column reduction, one row at a time: for each j, if sign * src[j] <
  // vmin[j] it becomes the column minimum with imin[j] = i and count[j] = 1;
  // if equal, count[j] += 1. Returns false if the row holds a non-finite
  // value (the caller then validates it properly).
  bool (*reduce_row)(const double* src, double sign, int64_t i, double* vmin, int64_t* imin,
                     int64_t* count, size_t n);
};

template <Isa I>
Kernels kernels();
template <>
Kernels kernels<Isa::Scalar>();
template <>
Kernels kernels<Isa::Avx2>();
template <>
Kernels kernels<Isa::Avx512>();
#if defined(MODELDIFF_ARM64)
// NEON is arm64's baseline: the baseline table serves Isa::Neon (src/isa_dispatch.hpp).
template <>
inline Kernels kernels<Isa::Neon>() {
  return kernels<Isa::Scalar>();
}
#endif

namespace {

template <class V>
struct AssignmentKernel {
  using T = typename V::T;
  using I = typename V::I;
  using M = typename V::M;
  static constexpr size_t L = V::W;

  static Argmin relax(const double* row, double sign, const double* v, const double* mask, double h, int64_t i,
                      double* d, int64_t* pred, size_t n) {
    const double inf = std::numeric_limits<double>::infinity();
    const T vh = V::set1(h), vsign = V::set1(sign);
    const I vrow = V::seti(i);
    // Per lane: the smallest key, and the first and last column attaining it
    // (they differ exactly when the lane holds a tie).
    T best = V::set1(inf);
    I first = V::seti(-1), last = V::seti(-1);
    I jv = V::iotai();
    const I step = V::seti(static_cast<int64_t>(L));
    size_t j = 0;
    for (; j + L <= n; j += L) {
      const T m = V::load(mask + j);
      const T v2 = V::add(V::sub(V::sub(V::mul(V::load(row + j), vsign), V::load(v + j)), vh), m);
      T dd = V::load(d + j);
      const M lt = V::lt(v2, dd);
      dd = V::select(lt, v2, dd);
      V::store(d + j, dd);
      V::storei(pred + j, V::selecti(lt, vrow, V::loadi(pred + j)));
      const T key = V::add(dd, m);
      const M better = V::lt(key, best), tie = V::eq(key, best);
      best = V::select(better, key, best);
      first = V::selecti(better, jv, first);
      last = V::selecti(V::mor(better, tie), jv, last);
      jv = V::addi(jv, step);
    }
    Argmin r{inf, -1, false};
    for (size_t l = 0; l < L; ++l) {
      const int64_t f = V::lanei(first, l);
      const double b = V::lane(best, l);
      if (f < 0) continue;  // only +Inf keys in this lane
      if (b < r.value) {
        r.value = b;
        r.col = f;
        r.tie = f != V::lanei(last, l);
      } else if (b == r.value) {
        r.tie = true;
        if (f < r.col) r.col = f;
      }
    }
    for (; j < n; ++j) {  // tail: higher columns than any above
      const double v2 = ((row[j] * sign - v[j]) - h) + mask[j];
      if (v2 < d[j]) {
        d[j] = v2;
        pred[j] = i;
      }
      const double key = d[j] + mask[j];
      if (key < r.value) {
        r.value = key;
        r.col = static_cast<int64_t>(j);
        r.tie = false;
      } else if (key == r.value && r.col >= 0) {
        r.tie = true;
      }
    }
    return r;
  }

  static bool reduce_row(const double* src, double sign, int64_t i, double* vmin, int64_t* imin, int64_t* count,
                         size_t n) {
    const T vsign = V::set1(sign), zero = V::zero();
    const I vrow = V::seti(i), one = V::seti(1);
    T nonfinite = V::zero();  // stays 0 unless some x*0 is NaN (x = +-Inf or NaN)
    size_t j = 0;
    for (; j + L <= n; j += L) {
      const T x = V::mul(V::load(src + j), vsign);
      nonfinite = V::add(nonfinite, V::mul(x, zero));
      const T mn = V::load(vmin + j);
      const M lt = V::lt(x, mn), eq = V::eq(x, mn);
      V::store(vmin + j, V::select(lt, x, mn));
      V::storei(imin + j, V::selecti(lt, vrow, V::loadi(imin + j)));
      V::storei(count + j, V::selecti(lt, one, V::count_if(V::loadi(count + j), eq)));
    }
    double tail = 0;
    for (; j < n; ++j) {
      const double x = src[j] * sign;
      tail += x * 0.0;
      if (x < vmin[j]) {
        vmin[j] = x;
        imin[j] = i;
        count[j] = 1;
      } else if (x == vmin[j]) {
        count[j] += 1;
      }
    }
    bool finite = tail == 0;
    for (size_t l = 0; l < L; ++l) finite = finite && V::lane(nonfinite, l) == 0;
    return finite;
  }

  static Kernels table() { return Kernels{relax, reduce_row}; }
};

}  // namespace

}  // namespace lsa
}  // namespace modeldiff
