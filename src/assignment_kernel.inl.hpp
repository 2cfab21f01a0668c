// Body of the per-ISA assignment kernels (see assignment_kernel.hpp). NOT a
// normal header: each translation unit defines MD_LSA_LANES (doubles per SIMD
// register) and includes it inside its own namespace, after <cstddef>,
// <cstdint>, <cstring> and <limits>. GCC/Clang vector extensions let the
// compiler use the widest registers its flags allow, without -ffast-math.

#ifndef MD_LSA_LANES
#error "define MD_LSA_LANES before including assignment_kernel.inl.hpp"
#endif

typedef double lsa_vd __attribute__((vector_size(MD_LSA_LANES * sizeof(double))));
typedef int64_t lsa_vi __attribute__((vector_size(MD_LSA_LANES * sizeof(int64_t))));

template <class V, class T>
static inline V lsa_load(const T* p) {
  V v;
  std::memcpy(&v, p, sizeof(V));
  return v;
}

template <class V, class T>
static inline void lsa_store(T* p, V v) {
  std::memcpy(p, &v, sizeof(V));
}

static modeldiff::lsa::Argmin lsa_relax(const double* row, double sign, const double* v,
                                        const double* mask, double h, int64_t i, double* d,
                                        int64_t* pred, size_t n) {
  constexpr size_t L = MD_LSA_LANES;
  const double inf = std::numeric_limits<double>::infinity();
  const lsa_vd vh = lsa_vd{} + h, vsign = lsa_vd{} + sign;
  const lsa_vi vrow = lsa_vi{} + i;
  // Per lane: the smallest key, and the first and last column attaining it
  // (they differ exactly when the lane holds a tie).
  lsa_vd best = lsa_vd{} + inf;
  lsa_vi first = lsa_vi{} - 1, last = lsa_vi{} - 1;
  lsa_vi jv;
  for (size_t l = 0; l < L; ++l) jv[l] = static_cast<int64_t>(l);
  size_t j = 0;
  for (; j + L <= n; j += L) {
    const lsa_vd m = lsa_load<lsa_vd>(mask + j);
    const lsa_vd v2 = ((lsa_load<lsa_vd>(row + j) * vsign - lsa_load<lsa_vd>(v + j)) - vh) + m;
    lsa_vd dd = lsa_load<lsa_vd>(d + j);
    const lsa_vi lt = v2 < dd;
    dd = lt ? v2 : dd;
    lsa_store(d + j, dd);
    lsa_store(pred + j, lt ? vrow : lsa_load<lsa_vi>(pred + j));
    const lsa_vd key = dd + m;
    const lsa_vi better = key < best, tie = key == best;
    best = better ? key : best;
    first = better ? jv : first;
    last = (better | tie) ? jv : last;
    jv += static_cast<int64_t>(L);
  }
  modeldiff::lsa::Argmin r{inf, -1, false};
  for (size_t l = 0; l < L; ++l) {
    if (first[l] < 0) continue;  // only +Inf keys in this lane
    if (best[l] < r.value) {
      r.value = best[l];
      r.col = first[l];
      r.tie = first[l] != last[l];
    } else if (best[l] == r.value) {
      r.tie = true;
      if (first[l] < r.col) r.col = first[l];
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

static bool lsa_reduce_row(const double* src, double sign, int64_t i, double* vmin, int64_t* imin,
                           int64_t* count, size_t n) {
  constexpr size_t L = MD_LSA_LANES;
  const lsa_vd vsign = lsa_vd{} + sign;
  const lsa_vi vrow = lsa_vi{} + i;
  lsa_vd nonfinite = lsa_vd{};  // stays 0 unless some x*0 is NaN (x = +-Inf or NaN)
  size_t j = 0;
  for (; j + L <= n; j += L) {
    const lsa_vd x = lsa_load<lsa_vd>(src + j) * vsign;
    nonfinite += x * 0.0;
    const lsa_vd mn = lsa_load<lsa_vd>(vmin + j);
    const lsa_vi lt = x < mn, eq = x == mn;
    lsa_store(vmin + j, lt ? x : mn);
    lsa_store(imin + j, lt ? vrow : lsa_load<lsa_vi>(imin + j));
    // eq is -1 where equal, so subtracting it counts a tie.
    lsa_store(count + j, lt ? (lsa_vi{} + 1) : lsa_load<lsa_vi>(count + j) - eq);
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
  for (size_t l = 0; l < L; ++l) finite = finite && nonfinite[l] == 0;
  return finite;
}
