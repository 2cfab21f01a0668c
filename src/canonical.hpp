// Weight-space canonicalization kernels for one hidden layer (plain C++, no
// Node-API). A layer with `units` hidden units is viewed as
//   win  : units x fan_in, row-major (each unit's incoming weights)
//   bin  : units (bias)
//   wout : out_rows x units x block, row-major (unit u's outgoing weights are
//          wout[o, u, 0..block) for every o)
// Every function here works IN PLACE on these arrays and throws
// modeldiff::Error (INVALID_ARGUMENT) (naming the array) on non-finite input.
#pragma once
#include <cstddef>
#include <cstdint>

namespace modeldiff {

struct LayerView {
  double* win;
  double* bin;
  double* wout;
  size_t units, fan_in, out_rows, block;
};

// Scale symmetry (positively homogeneous activations): per unit,
// norm = sqrt(|win[u,:]|^2 + bin[u]^2); if norm > 0 the incoming weights and
// bias are divided by it and the outgoing weights multiplied by it. Writes the
// factor (norm, or 1 for a dead all-zero unit) to factors_out[units].
void normalize_scale(const LayerView& layer, double* factors_out);

// Sign symmetry (odd activations such as tanh): per unit, the key entry is the
// incoming entry (win[u, 0..fan_in) then bin[u]) of largest magnitude, lowest
// index on ties. If it is negative, the unit's incoming weights, bias and
// outgoing weights are negated. Idempotent. Writes -1 (flipped) or +1 to
// signs_out[units]; an all-zero incoming vector is left alone (+1).
void fix_sign(const LayerView& layer, int8_t* signs_out);

enum class SortKey {
  OutNorm,      // L2 norm of wout[:, u, :]
  Bias,         // bin[u]
  InL1,         // sum_f |win[u, f]|
  FirstWeight,  // win[u, 0] (0 if fan_in == 0)
};

// Per-unit key, keys_out[units].
void sort_keys(const LayerView& layer, SortKey key, double* keys_out);

// Stable descending sort of the keys: perm_out[i] = old unit placed at i;
// ties keep the original order. -0 and +0 compare equal.
void sort_permutation(const LayerView& layer, SortKey key, int32_t* perm_out);

// True when perm[0..n) holds every index 0..n-1 exactly once.
bool is_permutation(const int32_t* perm, size_t n);

// Reorders the middle axis of a rows x units x block tensor in place:
// new [r, i, :] = old [r, perm[i], :]. This is both the outgoing side of a
// layer (wout) and the input side of the next layer's weight matrix (a row of
// it is units x block, e.g. conv channels x kh*kw or Flatten blocks).
// perm must be a permutation (checked by the caller).
void permute_unit_axis(double* data, size_t rows, size_t units, size_t block,
                       const int32_t* perm);

// New unit i = old unit perm[i]: rows of win, entries of bin, and the unit
// axis of wout (a unit's whole block moves).
void apply_permutation(const LayerView& layer, const int32_t* perm);

// Throws modeldiff::Error(INVALID_ARGUMENT, "<name>[index] is NaN/Infinity...") if any of
// data[0..n) is not finite.
void check_finite(const double* data, size_t n, const char* name);

}  // namespace modeldiff
