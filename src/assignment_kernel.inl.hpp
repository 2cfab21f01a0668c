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
                                        const double* mask, const int64_t* taken, double h,
                                        int64_t i, double* d, int64_t* pred, size_t n) {
  constexpr size_t L = MD_LSA_LANES;
  const double inf = std::numeric_limits<double>::infinity();
  const lsa_vd vh = lsa_vd{} + h, vsign = lsa_vd{} + sign;
  const lsa_vi vrow = lsa_vi{} + i;
  // Per lane, the best (key, taken, column) so far, compared in that order.
  lsa_vd best = lsa_vd{} + inf;
  lsa_vi btaken = lsa_vi{} - 1, bidx = lsa_vi{} - 1;
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
    const lsa_vi tk = lsa_load<lsa_vi>(taken + j);
    // btaken starts at -1, so +Inf keys never count as a tie.
    const lsa_vi better = (key < best) | ((key == best) & (tk < btaken));
    best = better ? key : best;
    btaken = better ? tk : btaken;
    bidx = better ? jv : bidx;
    jv += static_cast<int64_t>(L);
  }
  modeldiff::lsa::Argmin r{inf, -1};
  int64_t rtaken = -1;
  auto consider = [&](double key, int64_t tk, int64_t col) {
    if (key < r.value ||
        (key == r.value && r.col >= 0 && (tk < rtaken || (tk == rtaken && col < r.col)))) {
      r.value = key;
      r.col = col;
      rtaken = tk;
    }
  };
  for (size_t l = 0; l < L; ++l)
    if (bidx[l] >= 0) consider(best[l], btaken[l], bidx[l]);
  for (; j < n; ++j) {  // tail
    const double v2 = ((row[j] * sign - v[j]) - h) + mask[j];
    if (v2 < d[j]) {
      d[j] = v2;
      pred[j] = i;
    }
    consider(d[j] + mask[j], taken[j], static_cast<int64_t>(j));
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
