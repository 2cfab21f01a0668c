// Output divergences between two models' per-sample outputs (n rows x k classes).
// Plain C++17, no Node-API: binding/divergence.cpp is the only caller from JS.
//
// Conventions (docs/design.md): natural logs (optionally bits),
// float64 accumulation, identical inputs give exactly 0, KL is +Infinity
// where q = 0 < p, NaN/Inf in an input is an error naming the matrix and row.
#pragma once
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "cpu_features.hpp"
#include "error.hpp"

namespace modeldiff {
namespace divergence {

enum Measure : int {
  kKl = 0,
  kKlReverse,
  kKlSymmetric,
  kJs,
  kJsDistance,
  kTv,
  kHellinger,
  kEmd,
  kEmdCost,
  kDisagreement,
  kL2,
  kCosine,
  kNumMeasures
};

// Measure names as the TypeScript API spells them; index = Measure.
const char* measure_name(int m);
// Returns -1 for an unknown name.
int parse_measure(const std::string& name);

enum class Kind { Logits, Probs, Sigmoid, SigmoidLogit };
bool parse_kind(const std::string& name, Kind* out);

// Largest number of classes the exact cost-matrix EMD accepts (transportation simplex,
// O(k^2) work per pivot per sample).
constexpr size_t kMaxEmdCostClasses = 128;

// One n x k row-major input matrix, float32 or float64, not owned.
struct Matrix {
  const void* data = nullptr;
  bool f32 = false;
};

struct Options {
  Kind kind = Kind::Logits;
  double epsilon = 0.0;           // smoothing p <- (p + eps) / (1 + k_eff * eps); 0 = off
  bool bits = false;              // log measures in bits instead of nats
  const double* cost = nullptr;   // k_eff x k_eff cost matrix for emd-cost
  Isa isa = Isa::Scalar;
  unsigned threads = 1;           // >= 1
};

// Failures the caller caused are thrown as modeldiff::Error (src/error.hpp) with `input`
// 0 = first input, 1 = second, or the model index for pairwise, and the row at fault.
using modeldiff::Error;

// What the token summaries read besides the measures, computed in the same pass over each row
// (so a [rows, V] logits batch is read and softmaxed once). Per input i (0 = a, 1 = b):
//   top[i][row * topk ..]: the topk classes with the largest inputs (logits or probabilities;
//     for the sigmoid kinds the Bernoulli pair [1 - s, s]), best first, ties to the lower id;
//     top-1 is the argmax.
//   target_log_prob[i][row], target_prob[i][row]: log p and p of class targets[row] under the
//     input's distribution before smoothing (float64; log p stays exact where p underflows to
//     0); NaN where targets[row] < 0.
// Valid values are the caller's to check: 1 <= topk <= classes, -1 <= targets[row] < classes.
//
// rows (count entries, each in [0, n)): compute only these input rows, in this order, reading
// them in place (a token batch's unmasked rows, with no gathered copy). Every output, measures
// included, then has `count` entries, entry i for input row rows[i]; targets stay indexed by
// input row (n entries); errors name the input row. Null = every row, count ignored.
struct RowExtras {
  size_t topk = 0;  // 0 = no top-k
  int32_t* top[2] = {nullptr, nullptr};
  const int32_t* targets = nullptr;  // n entries; null = no targets
  double* target_log_prob[2] = {nullptr, nullptr};
  double* target_prob[2] = {nullptr, nullptr};
  const int32_t* rows = nullptr;
  size_t count = 0;
  bool any() const { return topk > 0 || targets != nullptr; }
};

// Per-sample values of every measure whose bit is set in `measures` (bit m = Measure m),
// written to out[m][0..n) (0..extras.count with extras.rows), and the `extras` asked for.
// Throws Error. Results do not depend on options.threads.
void per_sample(const Matrix& a, const Matrix& b, size_t n, size_t k, uint32_t measures,
                const Options& opt, double* const out[kNumMeasures], const RowExtras& extras = RowExtras());

// N models' outputs (each n x k) -> N x N row-major matrix of the mean per-sample
// `measure`; diagonal 0. Each model's row is prepared (softmax / logs) once per pair block.
void pairwise(const Matrix* models, size_t count, size_t n, size_t k, int measure, const Options& opt,
              double* out);

// Exact optimal transport cost between histograms a and b (length k, each normalized to
// unit mass inside) under the k x k row-major cost matrix (entries finite and >= 0, k at most
// kMaxEmdCostClasses: both checked by lib/function/divergence.ts).
double transport_cost(const double* a, const double* b, size_t k, const double* cost);

// Plain sum of a float32 or float64 array in float64, vectorized with the active ISA's kernels
// (as the measures are): the memory-read ceiling the benchmark compares them to, run on the same
// input arrays.
// Built only for the benchmark (CMake option MODELDIFF_BENCH_KERNELS).
#if defined(MODELDIFF_BENCH_KERNELS)
double memory_read_sum(const Matrix& data, size_t count, unsigned threads);
#endif

}  // namespace divergence
}  // namespace modeldiff
