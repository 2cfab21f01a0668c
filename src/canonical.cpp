// Canonicalization kernels. See canonical.hpp for the contract.
#include "canonical.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

#include "error.hpp"
#include <string>
#include <vector>

namespace modeldiff {

void check_finite(const double* data, size_t n, const char* name) {
  for (size_t i = 0; i < n; ++i) {
    if (!std::isfinite(data[i]))
      throw Error("INVALID_ARGUMENT", std::string(name) + "[" + std::to_string(i) + "] is " +
                                  (std::isnan(data[i]) ? "NaN" : "infinite") +
                                  "; weights must be finite");
  }
}

namespace {

void check_layer(const LayerView& l) {
  check_finite(l.win, l.units * l.fan_in, "win");
  check_finite(l.bin, l.units, "bin");
  check_finite(l.wout, l.out_rows * l.units * l.block, "wout");
}

// Multiplies unit u's outgoing weights by s.
void scale_out(const LayerView& l, size_t u, double s) {
  for (size_t o = 0; o < l.out_rows; ++o) {
    double* p = l.wout + (o * l.units + u) * l.block;
    for (size_t t = 0; t < l.block; ++t) p[t] *= s;
  }
}

// L2 norm without overflow/underflow: scale by the largest magnitude first.
double unit_in_norm(const LayerView& l, size_t u) {
  const double* w = l.win + u * l.fan_in;
  double mx = std::fabs(l.bin[u]);
  for (size_t f = 0; f < l.fan_in; ++f) mx = std::max(mx, std::fabs(w[f]));
  if (mx == 0) return 0;
  double s = (l.bin[u] / mx) * (l.bin[u] / mx);
  for (size_t f = 0; f < l.fan_in; ++f) s += (w[f] / mx) * (w[f] / mx);
  return mx * std::sqrt(s);
}

}  // namespace

void normalize_scale(const LayerView& l, double* factors_out) {
  check_layer(l);
  for (size_t u = 0; u < l.units; ++u) {
    const double norm = unit_in_norm(l, u);
    if (!(norm > 0)) {
      factors_out[u] = 1.0;
      continue;
    }
    double* w = l.win + u * l.fan_in;
    for (size_t f = 0; f < l.fan_in; ++f) w[f] /= norm;
    l.bin[u] /= norm;
    scale_out(l, u, norm);
    factors_out[u] = norm;
  }
}

void fix_sign(const LayerView& l, int8_t* signs_out) {
  check_layer(l);
  for (size_t u = 0; u < l.units; ++u) {
    double* w = l.win + u * l.fan_in;
    double key = 0, mag = 0;
    for (size_t f = 0; f < l.fan_in; ++f) {
      if (std::fabs(w[f]) > mag) {
        mag = std::fabs(w[f]);
        key = w[f];
      }
    }
    if (std::fabs(l.bin[u]) > mag) key = l.bin[u];
    if (key < 0) {
      for (size_t f = 0; f < l.fan_in; ++f) w[f] = -w[f];
      l.bin[u] = -l.bin[u];
      scale_out(l, u, -1.0);
      signs_out[u] = -1;
    } else {
      signs_out[u] = 1;
    }
  }
}

void sort_keys(const LayerView& l, SortKey key, double* keys_out) {
  for (size_t u = 0; u < l.units; ++u) {
    const double* w = l.win + u * l.fan_in;
    double k = 0;
    switch (key) {
      case SortKey::OutNorm:
        for (size_t o = 0; o < l.out_rows; ++o) {
          const double* p = l.wout + (o * l.units + u) * l.block;
          for (size_t t = 0; t < l.block; ++t) k += p[t] * p[t];
        }
        k = std::sqrt(k);
        break;
      case SortKey::Bias:
        k = l.bin[u];
        break;
      case SortKey::InL1:
        for (size_t f = 0; f < l.fan_in; ++f) k += std::fabs(w[f]);
        break;
      case SortKey::FirstWeight:
        k = l.fan_in > 0 ? w[0] : 0.0;
        break;
    }
    keys_out[u] = k;
  }
}

void sort_permutation(const LayerView& l, SortKey key, int32_t* perm_out) {
  check_layer(l);
  std::vector<double> keys(l.units);
  sort_keys(l, key, keys.data());
  std::iota(perm_out, perm_out + l.units, 0);
  std::stable_sort(perm_out, perm_out + l.units,
                   [&](int32_t a, int32_t b) { return keys[a] > keys[b]; });
}

bool is_permutation(const int32_t* perm, size_t n) {
  std::vector<char> seen(n, 0);
  for (size_t i = 0; i < n; ++i) {
    const int32_t p = perm[i];
    if (p < 0 || static_cast<size_t>(p) >= n || seen[p]) return false;
    seen[p] = 1;
  }
  return true;
}

// In place, cycle by cycle, holding one unit's block aside: a copy of the whole slab would
// double the memory of a layer's incoming weights (units x fan-in, 134 MB at 4096 x 4096)
// for every permutation. Only values move, so the result is the same as through a copy.
void permute_unit_axis(double* data, size_t rows, size_t units, size_t block,
                       const int32_t* perm) {
  // The cycles of perm once, as (start, next, next, ...) runs, each ended by a -1.
  std::vector<int32_t> cycles;
  std::vector<char> seen(units, 0);
  for (size_t start = 0; start < units; ++start) {
    if (seen[start] || static_cast<size_t>(perm[start]) == start) continue;
    for (size_t j = start; !seen[j]; j = static_cast<size_t>(perm[j])) {
      seen[j] = 1;
      cycles.push_back(static_cast<int32_t>(j));
    }
    cycles.push_back(-1);
  }
  if (cycles.empty()) return;
  std::vector<double> held(block);
  for (size_t r = 0; r < rows; ++r) {
    double* slab = data + r * units * block;
    for (size_t c = 0; c < cycles.size(); ++c) {
      // Run j0, j1 = perm[j0], ...: new[j0] = old[j1], new[j1] = old[j2], ..., new[last] = old[j0].
      const size_t first = static_cast<size_t>(cycles[c]);
      std::copy_n(slab + first * block, block, held.data());
      size_t j = first;
      for (++c; cycles[c] >= 0; ++c) {
        const size_t k = static_cast<size_t>(cycles[c]);
        std::copy_n(slab + k * block, block, slab + j * block);
        j = k;
      }
      std::copy_n(held.data(), block, slab + j * block);
    }
  }
}

void apply_permutation(const LayerView& l, const int32_t* perm) {
  permute_unit_axis(l.win, 1, l.units, l.fan_in, perm);
  permute_unit_axis(l.bin, 1, l.units, 1, perm);
  permute_unit_axis(l.wout, l.out_rows, l.units, l.block, perm);
}

}  // namespace modeldiff
