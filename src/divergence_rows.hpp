// The per-row kernels each ISA implements (src/divergence_{scalar,avx2,avx512,neon}.cpp all
// instantiate src/divergence_kernel.hpp). Rows arrive as float64 buffers padded to a multiple
// of kRowPad; pads must read as zero probability after preparation.
#pragma once
#include <cstddef>
#include <cstdint>

#include "cpu_features.hpp"

namespace modeldiff {
namespace divergence {

constexpr size_t kRowPad = 8;  // widest vector (AVX-512) in doubles
inline size_t padded(size_t k) { return (k + kRowPad - 1) / kRowPad * kRowPad; }

enum RowStatus : int { kRowOk = 0, kRowNonFinite, kRowNegative, kRowBadSum, kRowOutOfRange };

// Which per-row sums measure_row accumulates.
struct MeasureSpec {
  bool kl = false, kl_reverse = false, js = false, tv = false, hellinger = false, emd = false;
  bool l2 = false, cosine = false;
  // Rows are normalized by construction (logits, sigmoid-logit): KL is the cancellation-free
  // sum q*g(lp - lq), g(d) = d e^d - expm1(d) >= 0. Otherwise (probabilities, which sum to 1
  // only within a tolerance) the mass difference sum (p - q) over p > 0 is added, which makes
  // it the literal sum p log(p/q).
  bool normalized = false;
  // lp / lq hold log-probabilities (saves logs in JS).
  bool have_logs = false;
};

// The per-row sums the kernels accumulate; the driver's one finalize table (src/divergence.cpp)
// turns them into measure values for the row and batch paths alike.
enum Sum : int {
  kSumKl = 0,     // KL(p||q)
  kSumKlReverse,  // KL(q||p)
  kSumJs,
  kSumTv,         // sum |p - q|
  kSumHellinger,  // sum (sqrt p - sqrt q)^2
  kSumEmd,        // sum over classes of |CDF_p - CDF_q|
  kSumL2,         // sum (x - y)^2 of the raw rows
  kSumCosine,     // 1 - cos(x, y) of the raw rows
  kNumSums
};

// A logits row's softmax kept unnormalized (RowKernels::softmax_row): the row holds
// e = exp(x - max), and p = e * inv, log p = (x - max) - lse are applied where they are read,
// with the same operations a normalizing pass would use, so the values are identical.
struct RowNorm {
  double max = 0, lse = 0, inv = 1;
};

// One input row read in place: k float32 or float64 values, no pads (padded(k) is the length
// of any float64 buffer prepared from it).
struct InputRow {
  const void* data;
  bool f32;
  size_t k;
};

// Where a row's top K classes go (K = 0: none): best first, ties to the lower index; ids and
// vals hold K entries each (vals: the scores, the kernel's scratch).
struct TopK {
  size_t K = 0;
  int32_t* ids = nullptr;
  double* vals = nullptr;
};

// One logits row read in place (RowKernels::measure_deferred): x the input row (k float32 or
// float64 values, no pads), e its softmax_row output, norm its RowNorm.
struct DeferredRowView {
  const void* x;
  const double* e;
  const RowNorm& norm;
};

// One pair of rows' sums.
struct RowSums {
  double v[kNumSums] = {};
};

// Sums for a batch of up to kRowPad rows processed lane-parallel (one row per lane), and each
// lane's argmax labels.
struct BatchSums {
  double v[kNumSums][kRowPad];
  double label_a[kRowPad], label_b[kRowPad];
};

// One prepared row as the measure kernels read it: raw values x, distribution p, log-distribution
// lp (padded; see RowKernels). On the batch path the same three pointers address a tile of
// `width` transposed rows (x[j * width + lane]).
struct RowView {
  const double* x;
  const double* p;
  const double* lp;
};

// A row's lengths: classes of the distribution k (2 for the sigmoid kinds) and input columns
// kraw, each with its padded length.
struct RowShape {
  size_t k, kpad, kraw, kpadraw;
};

// How a batch prepares its rows (logits or probs only; the sigmoid kinds go row by row).
struct BatchSpec {
  bool logits = true;
  double eps = 0;
  bool need_logs = true;
  bool need_label = false;
  bool need_dist = true;  // false: only argmax / raw-row measures, so logits skip the softmax
  MeasureSpec measure;
};

struct RowKernels {
  size_t width;  // doubles per vector = rows per batch
  // x: k logits then pads (overwritten). Writes p = softmax(x), lp = log-softmax(x); zeroes
  // the pads of x, p, lp. Returns a RowStatus.
  int (*logits)(double* x, size_t k, size_t kpad, double* p, double* lp);
  // One logits row read straight from the input: pass 1 checks finiteness, takes the max and
  // the row's `top` classes (as `top` below); pass 2 writes e[0..padded(k)) = exp(x - max)
  // (pads 0) and sums it in the blocks `logits` uses. *norm gets max, log-sum and 1/sum.
  // Returns a RowStatus. Nothing else is written: no widened copy, no p / lp.
  int (*softmax_row)(const InputRow& src, const TopK& top, double* e, RowNorm* norm);
  // `measure` for two softmax_row rows (inputs of one dtype, both float32 when f32); only the kl / kl_reverse / js / tv / hellinger sums. Same values as `measure`
  // on the normalized rows.
  void (*measure_deferred)(const DeferredRowView& a, const DeferredRowView& b, bool f32, const RowShape& shape,
                           const MeasureSpec& spec, RowSums* out);
  // x: k probabilities, pads zero. Checks finite, >= 0 and |sum - 1| <= 1e-4 (sum in *sum).
  int (*probs)(const double* x, size_t k, size_t kpad, double* sum);
  // lp = log(p) over the row; pads of lp set to 0.
  void (*logs)(const double* p, double* lp, size_t k, size_t kpad);
  // p <- (p + eps) / (1 + k eps) over the row; pads stay 0.
  void (*smooth)(double* p, size_t k, size_t kpad, double eps);
  void (*measure)(const RowView& a, const RowView& b, const RowShape& shape, const MeasureSpec& spec, RowSums* out);
  // Small k: `width` rows at once, transposed (x[j * width + lane] = class j of row lane), so
  // every vector op works on `width` different rows and needs no horizontal reduction.
  // scratch: 4 * k * width doubles. Returns false if any lane fails validation; the caller
  // then redoes those rows one by one to report the first bad one.
  // Transpose `rows` <= width input rows (float32 or float64, k values each, starting at base)
  // into x[j * width + lane]; spare lanes repeat the first row.
  void (*batch_load)(const void* base, bool f32, size_t k, size_t rows, double* x);
  bool (*batch)(const double* xa, const double* xb, size_t k, const BatchSpec& spec, double* scratch,
                BatchSums* out);
  // batch_load + batch in one pass, reading the inputs directly (a, b: `rows` rows of k values
  // each, both float32 or both float64), for requests that need one pass over a tile: unsmoothed
  // probabilities without log measures, logits without the softmax; no cosine. Same values.
  bool (*batch_one_pass)(const void* a, const void* b, bool f32, size_t k, size_t rows, const BatchSpec& spec,
                         BatchSums* out);
  // The two halves of `batch`, for pairwise use (each model's tile prepared once):
  // batch_prep fills p / lp (k * width each) and label[0..width); batch_measure leaves labels.
  bool (*batch_prep)(const double* x, size_t k, const BatchSpec& spec, double* p, double* lp, double* label);
  void (*batch_measure)(const RowView& a, const RowView& b, size_t k, const MeasureSpec& spec, BatchSums* out);
  // Index of the first maximum of x[0..k) (x finite).
  size_t (*argmax)(const double* x, size_t k);
  // The K <= k largest of x[0..k) (x finite), best first, ties to the lower index: ids and
  // values.
  void (*top)(const double* x, size_t k, size_t K, int32_t* ids, double* vals);
  // True if x[0..kpad) (a row with its zero pads) holds no NaN or infinity.
  bool (*finite)(const double* x, size_t kpad);
  // One input row (float32 or float64) into x as doubles, pads [k, kpad) zeroed; kpad a multiple
  // of kRowPad. The row path's load: a plain conversion loop in the baseline build took ~45% of
  // the time of TV at k = 1000.
  void (*widen)(const void* src, bool f32, size_t k, size_t kpad, double* x);
  // Sum of x[b..e) (float32 or float64) in float64: the benchmark's memory-read ceiling, so it
  // must run at this ISA's load speed, as the kernels do.
  double (*read_sum)(const void* x, bool f32, size_t b, size_t e);
};

// Each ISA's table, one explicit specialization per ISA translation unit
// (src/divergence_{scalar,avx2,avx512,neon}.cpp); src/divergence.cpp picks one with for_isa()
// (src/isa_dispatch.hpp).
template <Isa I>
const RowKernels& row_kernels();
template <>
const RowKernels& row_kernels<Isa::Scalar>();
#if defined(MODELDIFF_X86)
template <>
const RowKernels& row_kernels<Isa::Avx2>();
template <>
const RowKernels& row_kernels<Isa::Avx512>();
#endif
#if defined(MODELDIFF_ARM64)
template <>
const RowKernels& row_kernels<Isa::Neon>();
#endif

}  // namespace divergence
}  // namespace modeldiff
