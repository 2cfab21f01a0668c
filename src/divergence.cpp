// Divergence driver: argument checks, row preparation (softmax / validation / sigmoid),
// ISA dispatch, threading, per-sample and pairwise entry points. The per-element math is in
// src/divergence_kernel.hpp.
#include "divergence.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <exception>
#include <mutex>
#include <vector>

#include "divergence_rows.hpp"
#include "isa_dispatch.hpp"
#include "parallel.hpp"

namespace modeldiff {
namespace divergence {

namespace {

const char* const kNames[kNumMeasures] = {"kl",  "kl-reverse", "kl-symmetric", "js",           "js-distance", "tv",
                                          "hellinger", "emd", "emd-cost",     "disagreement", "l2",          "cosine"};

constexpr double kLn2 = 0.69314718055994530942;

const RowKernels& kernels_for(Isa isa) {
  return *for_isa(isa, [](auto i) { return &row_kernels<decltype(i)::value>(); });
}

// log(1 + e^u) without overflow.
double softplus(double u) { return (u > 0 ? u : 0.0) + std::log1p(std::exp(-std::fabs(u))); }

std::string fmt(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

// Everything a row needs, fixed per call.
struct Plan {
  Kind kind;
  size_t k;        // input columns
  size_t ke;       // classes of the distribution (2 for the sigmoid kinds)
  size_t kpad;     // ke padded
  size_t kpadraw;  // k padded
  double eps;
  bool bits;
  bool need_logs;
  bool need_label;
  bool need_dist;  // some requested measure reads the distributions (not only argmax / raw rows)
  bool need_softmax;  // logits: build p / lp (need_dist, or a target's log-probability)
  // Logits rows are read in place and their softmax kept unnormalized (RowKernels::softmax_row,
  // measure_deferred): no widened copy, no normalized p / lp, the top-k from the max pass.
  bool deferred;
  bool f32;  // Plan::deferred: both inputs float32 (else both float64)
  uint32_t measures;
  const RowExtras* extras;  // per_sample's top-k / targets; null in pairwise
  MeasureSpec spec;
  const double* cost;
  const RowKernels* kern;
};

Plan make_plan(size_t k, uint32_t measures, const Options& opt, const RowExtras* extras = nullptr,
               int dtype = -1) {
  Plan pl{};
  pl.extras = extras != nullptr && extras->any() ? extras : nullptr;
  pl.kind = opt.kind;
  pl.k = k;
  // Values (k = 1 for the sigmoid kinds, the cost matrix, the emd-cost class limit) are
  // checked by lib/function/divergence.ts; sizes by the binding.
  const bool sig = opt.kind == Kind::Sigmoid || opt.kind == Kind::SigmoidLogit;
  pl.ke = sig ? 2 : k;
  pl.kpad = padded(pl.ke);
  pl.kpadraw = padded(k);
  pl.eps = opt.epsilon;
  pl.bits = opt.bits;
  pl.measures = measures;
  auto has = [&](int m) { return (measures >> m) & 1u; };
  MeasureSpec& s = pl.spec;
  s.kl = has(kKl) || has(kKlSymmetric);
  s.kl_reverse = has(kKlReverse) || has(kKlSymmetric);
  s.js = has(kJs) || has(kJsDistance);
  s.tv = has(kTv);
  s.hellinger = has(kHellinger);
  s.emd = has(kEmd);
  s.l2 = has(kL2);
  s.cosine = has(kCosine);
  s.normalized = opt.kind == Kind::Logits || opt.kind == Kind::SigmoidLogit;
  pl.need_logs = opt.kind != Kind::Probs || s.kl || s.kl_reverse;
  s.have_logs = pl.need_logs;
  pl.need_label = has(kDisagreement);
  pl.need_dist = s.kl || s.kl_reverse || s.js || s.tv || s.hellinger || s.emd || has(kEmdCost);
  pl.need_softmax = pl.need_dist || (pl.extras != nullptr && pl.extras->targets != nullptr);
  // Only the measures measure_deferred sums; one dtype for both inputs (one instantiation).
  // dtype: 1 both inputs float32, 0 both float64, -1 mixed or not per_sample.
  pl.f32 = dtype == 1;
  pl.deferred = dtype >= 0 && opt.kind == Kind::Logits && pl.need_softmax && opt.epsilon == 0 && !s.emd && !s.l2 &&
                !s.cosine && !has(kEmdCost);
  pl.cost = opt.cost;
  if (has(kEmdCost)) {
    if (!opt.cost) throw Error("INVALID_ARGUMENT", -1, -1, "measure 'emd-cost' needs a cost matrix (option cost)");
  }
  pl.kern = &kernels_for(opt.isa);
  return pl;
}

// One prepared row: raw values x (kpadraw), distribution p and log-distribution lp (kpad).
struct RowBuf {
  std::vector<double> store;
  std::vector<double> top_vals;  // the top-k kernel's scratch
  double *x, *p, *lp;
  int label = 0;
  // Plan::deferred: the input row (x, p, lp unused but p, which holds e) and its softmax norms.
  const void* src = nullptr;
  RowNorm norm;
  void init(const Plan& pl) {
    top_vals.assign((pl.extras ? pl.extras->topk : 0) + 2, 0.0);
    store.assign(pl.kpadraw + 2 * pl.kpad, 0.0);
    x = store.data();
    p = x + pl.kpadraw;
    lp = p + pl.kpad;
    // Unsmoothed probability rows are their own distribution: read them in place.
    if (pl.kind == Kind::Probs && pl.eps == 0) p = x;
  }
};

// First 64-byte boundary at or after p (p must have 7 spare doubles behind it).
double* aligned64(double* p) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(p);
  return reinterpret_cast<double*>((a + 63) & ~static_cast<uintptr_t>(63));
}

// Value `row` of a one-column input (the sigmoid kinds).
double value_at(const Matrix& m, size_t row) {
  return m.f32 ? static_cast<double>(static_cast<const float*>(m.data)[row]) : static_cast<const double*>(m.data)[row];
}

[[noreturn]] void row_error(int status, long matrix, size_t row, double value) {
  const long r = static_cast<long>(row);
  switch (status) {
    case kRowNonFinite: throw Error("NON_FINITE", matrix, r, "contains NaN or Infinity");
    case kRowNegative: throw Error("INVALID_PROBS", matrix, r, "has a negative probability");
    case kRowBadSum:
      throw Error("INVALID_PROBS", matrix, r, "probabilities sum to " + fmt(value) + ", not 1 (tolerance 1e-4)");
    default:
      throw Error("INVALID_PROBS", matrix, r, "sigmoid probability " + fmt(value) + " is outside [0, 1]");
  }
}

// Where a prepared row comes from and where its extras go: input `matrix` (0 = a, 1 = b, or the
// model in pairwise), input row `row`, output slot `slot` (RowExtras::rows; else the row itself).
struct RowSlot {
  long matrix;
  size_t row, slot;
};

// A row's target under the unsmoothed distribution: p_t and log p_t (ignored without targets).
struct TargetProb {
  double p, lp;
};
const TargetProb kNoTarget{NAN, NAN};

// The scores a row's top-k ranks: the raw row, or the sigmoid kinds' Bernoulli pair.
struct Scores {
  const double* x;
  size_t classes;
};

// The target class of `row`, -1 = none.
int32_t target_of(const Plan& pl, size_t row) {
  return pl.extras != nullptr && pl.extras->targets != nullptr ? pl.extras->targets[row] : -1;
}

// The extras of one prepared row: its target's probability and log-probability, and the top-k
// of its scores, whose first id is the row's label.
void record_extras(const Plan& pl, const RowSlot& at, TargetProb target, const Scores& scores, RowBuf& b) {
  const RowExtras& ex = *pl.extras;
  if (ex.targets) {
    const bool has = ex.targets[at.row] >= 0;
    ex.target_prob[at.matrix][at.slot] = has ? target.p : NAN;
    ex.target_log_prob[at.matrix][at.slot] = has ? target.lp : NAN;
  }
  if (ex.topk > 0) {
    int32_t* ids = ex.top[at.matrix] + at.slot * ex.topk;
    pl.kern->top(scores.x, scores.classes, ex.topk, ids, b.top_vals.data());
    b.label = ids[0];
  }
}

// The target's p and log p read from a prepared row (p, lp), or none.
TargetProb target_from(int32_t t, const double* p, const double* lp) { return t >= 0 ? TargetProb{p[t], lp[t]} : kNoTarget; }

// Plan::deferred: one logits row's softmax in two passes over the input, with the top-k (or
// the argmax label) taken in the first, and the extras from the unnormalized row.
void prepare_deferred(const Plan& pl, const InputRow& src, const RowSlot& at, RowBuf& b) {
  const size_t topk = pl.extras != nullptr ? pl.extras->topk : 0;
  int32_t label_id = 0;
  const TopK top{topk > 0 ? topk : pl.need_label ? 1 : 0, topk > 0 ? pl.extras->top[at.matrix] + at.slot * topk : &label_id,
                 b.top_vals.data()};
  const int st = pl.kern->softmax_row(src, top, b.p, &b.norm);
  if (st != kRowOk) row_error(st, at.matrix, at.row, 0);
  b.src = src.data;
  if (top.K > 0) b.label = top.ids[0];
  const int32_t t = target_of(pl, at.row);
  if (pl.extras != nullptr && pl.extras->targets != nullptr) {
    // p and log p of the target, with the operations a normalizing pass would use.
    const double x = t < 0 ? 0.0
                     : src.f32 ? static_cast<double>(static_cast<const float*>(src.data)[t])
                               : static_cast<const double*>(src.data)[t];
    pl.extras->target_prob[at.matrix][at.slot] = t >= 0 ? b.p[t] * b.norm.inv : NAN;
    pl.extras->target_log_prob[at.matrix][at.slot] = t >= 0 ? (x - b.norm.max) - b.norm.lse : NAN;
  }
}

// Fill `b` from row at.row of `m` (input at.matrix), its extras into at.slot; throws Error naming
// (matrix, row) on bad input.
void prepare(const Plan& pl, const Matrix& m, const RowSlot& at, RowBuf& b) {
  const RowKernels& K = *pl.kern;
  const long matrix = at.matrix;
  const size_t row = at.row;
  if (pl.kind == Kind::Logits || pl.kind == Kind::Probs) {
    const size_t esz = m.f32 ? sizeof(float) : sizeof(double);
    const InputRow src{static_cast<const char*>(m.data) + row * pl.k * esz, m.f32, pl.k};
    if (pl.deferred) return prepare_deferred(pl, src, at, b);
    K.widen(src.data, src.f32, pl.k, pl.kpadraw, b.x);
    bool labelled = false;
    if (pl.kind == Kind::Logits && !pl.need_softmax) {
      // Only argmax / raw-row measures: no softmax needed, just the finiteness check.
      if (!K.finite(b.x, pl.kpadraw)) row_error(kRowNonFinite, matrix, row, 0);
      if (pl.extras) record_extras(pl, at, kNoTarget, Scores{b.x, pl.k}, b), labelled = true;
    } else if (pl.kind == Kind::Logits) {
      int st = K.logits(b.x, pl.k, pl.kpad, b.p, b.lp);
      if (st != kRowOk) row_error(st, matrix, row, 0);
      if (pl.extras) {
        const int32_t t = target_of(pl, row);
        record_extras(pl, at, target_from(t, b.p, b.lp), Scores{b.x, pl.k}, b);
        labelled = true;
      }
      if (pl.eps > 0) {
        K.smooth(b.p, pl.ke, pl.kpad, pl.eps);
        K.logs(b.p, b.lp, pl.ke, pl.kpad);
      }
    } else {
      double sum = 0;
      int st = K.probs(b.x, pl.k, pl.kpad, &sum);
      if (st != kRowOk) row_error(st, matrix, row, sum);
      if (pl.extras) {
        const int32_t t = target_of(pl, row);
        record_extras(pl, at, t >= 0 ? TargetProb{b.x[t], std::log(b.x[t])} : kNoTarget, Scores{b.x, pl.k}, b);
        labelled = true;
      }
      if (pl.eps > 0) {
        std::memcpy(b.p, b.x, pl.kpad * sizeof(double));
        K.smooth(b.p, pl.ke, pl.kpad, pl.eps);
      }
      if (pl.need_logs) K.logs(b.p, b.lp, pl.ke, pl.kpad);
    }
    if (pl.need_label && !(labelled && pl.extras->topk > 0)) b.label = static_cast<int>(K.argmax(b.x, pl.k));
    return;
  }
  // Sigmoid kinds: one column -> Bernoulli [1 - s, s].
  const double v = value_at(m, row);
  if (!std::isfinite(v)) row_error(kRowNonFinite, matrix, row, v);
  std::memset(b.store.data(), 0, b.store.size() * sizeof(double));
  b.x[0] = v;
  if (pl.kind == Kind::Sigmoid) {
    if (!(v >= 0.0 && v <= 1.0)) row_error(kRowOutOfRange, matrix, row, v);
    b.p[0] = 1.0 - v;
    b.p[1] = v;
    b.lp[0] = std::log1p(-v);
    b.lp[1] = std::log(v);
    b.label = v > 0.5 ? 1 : 0;  // argmax([1-s, s]), ties to class 0
  } else {
    b.p[0] = 1.0 / (1.0 + std::exp(v));
    b.p[1] = 1.0 / (1.0 + std::exp(-v));
    b.lp[0] = -softplus(v);
    b.lp[1] = -softplus(-v);
    b.label = v > 0 ? 1 : 0;
  }
  if (pl.extras) {
    // Ranked by the pair's logits [0, v] for sigmoid-logit, so ties (v = 0) go to class 0 as the
    // label does, even where the two probabilities round equal.
    const double logit_pair[2] = {0.0, v};
    const int32_t t = target_of(pl, row);
    record_extras(pl, at, target_from(t, b.p, b.lp), Scores{pl.kind == Kind::Sigmoid ? b.p : logit_pair, 2}, b);
  }
  if (pl.eps > 0) {
    K.smooth(b.p, pl.ke, pl.kpad, pl.eps);
    K.logs(b.p, b.lp, pl.ke, pl.kpad);
  }
}

// How each measure's value comes from a pair of rows' sums (RowSums / BatchSums): the one
// finalize table the row and batch paths share. value = post(scale * (v[first] + v[second]))
// with post = sqrt or identity, scaled by 1/ln 2 for log measures in bits; second < 0: v[first]
// alone. Disagreement (the labels) and emd-cost (an exact transport per row) have no sums.
struct FinalizeRule {
  int first, second;
  double scale;
  bool log_measure;  // in bits when Options::bits
  bool root;
};

constexpr FinalizeRule kFinalize[kNumMeasures] = {
    /* kl */ {kSumKl, -1, 1.0, true, false},
    /* kl-reverse */ {kSumKlReverse, -1, 1.0, true, false},
    /* kl-symmetric */ {kSumKl, kSumKlReverse, 1.0, true, false},
    /* js */ {kSumJs, -1, 1.0, true, false},
    /* js-distance */ {kSumJs, -1, 1.0, true, true},
    /* tv */ {kSumTv, -1, 0.5, false, false},
    /* hellinger */ {kSumHellinger, -1, 0.5, false, true},
    /* emd */ {kSumEmd, -1, 1.0, false, false},
    /* emd-cost */ {-1, -1, 1.0, false, false},
    /* disagreement */ {-1, -1, 1.0, false, false},
    /* l2 */ {kSumL2, -1, 1.0, false, true},
    /* cosine */ {kSumCosine, -1, 1.0, false, false},
};

// Measure m's value from sums v (indexed by Sum, `stride` apart: 1 for RowSums, kRowPad for a
// lane of BatchSums) and the two rows' labels. Not for emd-cost.
inline double finalize(const Plan& pl, int m, const double* v, size_t stride, double label_a, double label_b) {
  if (m == kDisagreement) return label_a != label_b ? 1.0 : 0.0;
  const FinalizeRule& f = kFinalize[m];
  const double sum = f.second < 0 ? v[f.first * stride] : v[f.first * stride] + v[f.second * stride];
  const double scale = f.log_measure && pl.bits ? f.scale / kLn2 : f.scale;
  const double x = scale * sum;
  return f.root ? std::sqrt(x) : x;
}

// Every requested measure of one pair of prepared rows into out[m][row].
void write_row(const Plan& pl, const RowSums& r, const RowBuf& a, const RowBuf& b, size_t row,
               double* const out[kNumMeasures]) {
  for (int m = 0; m < kNumMeasures; ++m) {
    if (!((pl.measures >> m) & 1u)) continue;
    out[m][row] = m == kEmdCost ? transport_cost(a.p, b.p, pl.ke, pl.cost) : finalize(pl, m, r.v, 1, a.label, b.label);
  }
}

void measure_pair(const Plan& pl, const RowBuf& a, const RowBuf& b, RowSums* r) {
  if (pl.deferred)
    return pl.kern->measure_deferred(DeferredRowView{a.src, a.p, a.norm}, DeferredRowView{b.src, b.p, b.norm}, pl.f32,
                                     RowShape{pl.ke, pl.kpad, pl.k, pl.kpadraw}, pl.spec, r);
  pl.kern->measure(RowView{a.x, a.p, a.lp}, RowView{b.x, b.p, b.lp}, RowShape{pl.ke, pl.kpad, pl.k, pl.kpadraw},
                   pl.spec, r);
}

// parallel_ranges with [0, count) handed out in chunks of `chunk` from a shared counter: a
// thread the OS preempts (a loaded machine) or one that drew costlier rows no longer holds the
// others up at the end, as a fixed 1/threads share did. Each result depends only on its row, so
// the values are the same for any schedule. Errors too: a chunk past one that failed is skipped,
// every earlier chunk still runs, and the error of the lowest failing chunk (each chunk stops at
// its first bad row) is rethrown, i.e. the first bad row in order, as with fixed shares.
template <class Init, class F>
void parallel_chunks(size_t count, size_t chunk, unsigned threads, Init init, F fn) {
  const size_t chunks = (count + chunk - 1) / chunk;
  std::atomic<size_t> next{0}, failed{SIZE_MAX};
  std::mutex lock;
  size_t first_bad = SIZE_MAX;
  std::exception_ptr error;
  parallel_ranges(threads, threads, [&](size_t, size_t) {
    auto state = init();
    for (size_t c; (c = next.fetch_add(1)) < chunks;) {
      if (c > failed.load()) continue;
      try {
        fn(state, c * chunk, std::min(count, (c + 1) * chunk));
      } catch (...) {
        std::lock_guard<std::mutex> hold(lock);
        if (c < first_bad) first_bad = c, error = std::current_exception();
        size_t seen = failed.load();
        while (c < seen && !failed.compare_exchange_weak(seen, c)) {
        }
      }
    }
  });
  if (error) std::rethrow_exception(error);
}

// Enough work per thread to be worth a thread start (~50 us).
unsigned threads_for(size_t rows, size_t k, unsigned wanted) {
  const size_t work = rows * (k + 4);
  size_t t = work / 32768 + 1;
  if (t > wanted) t = wanted;
  return static_cast<unsigned>(t < 1 ? 1 : t);
}

}  // namespace

const char* measure_name(int m) { return m >= 0 && m < kNumMeasures ? kNames[m] : "?"; }

int parse_measure(const std::string& name) {
  for (int m = 0; m < kNumMeasures; ++m)
    if (name == kNames[m]) return m;
  return -1;
}

bool parse_kind(const std::string& name, Kind* out) {
  if (name == "logits") *out = Kind::Logits;
  else if (name == "probs") *out = Kind::Probs;
  else if (name == "sigmoid") *out = Kind::Sigmoid;
  else if (name == "sigmoid-logit") *out = Kind::SigmoidLogit;
  else return false;
  return true;
}

// What the SIMD batch kernels need to know of a plan.
BatchSpec batch_spec(const Plan& pl) {
  BatchSpec bs;
  bs.logits = pl.kind == Kind::Logits;
  bs.eps = pl.eps;
  bs.need_logs = pl.need_logs;
  bs.need_label = pl.need_label;
  bs.need_dist = pl.need_dist;
  bs.measure = pl.spec;
  return bs;
}

// Every requested measure of a batch's `rows` lanes into out[m][r0 ..]; emd-cost never takes
// the batch path.
void write_batch(const Plan& pl, const BatchSums& s, size_t rows, size_t r0, double* const out[kNumMeasures]) {
  for (int m = 0; m < kNumMeasures; ++m) {
    if (!((pl.measures >> m) & 1u)) continue;
    double* o = out[m] + r0;
    for (size_t l = 0; l < rows; ++l) o[l] = finalize(pl, m, &s.v[0][l], kRowPad, s.label_a[l], s.label_b[l]);
  }
}

// Rows at or below this many classes go through the lane-per-row batch kernel.
constexpr size_t kBatchMaxClasses = 64;

void per_sample(const Matrix& a, const Matrix& b, size_t n, size_t k, uint32_t measures, const Options& opt,
                double* const out[kNumMeasures], const RowExtras& extras) {
  const Plan pl = make_plan(k, measures, opt, &extras, a.f32 != b.f32 ? -1 : a.f32 ? 1 : 0);
  // Output slots [begin, end): slot i is input row rows[i] with a selection, else row i.
  const int32_t* selected = extras.rows;
  auto row_path = [&](size_t begin, size_t end, RowBuf& ra, RowBuf& rb) {
    for (size_t slot = begin; slot < end; ++slot) {
      const size_t row = selected != nullptr ? static_cast<size_t>(selected[slot]) : slot;
      prepare(pl, a, RowSlot{0, row, slot}, ra);
      prepare(pl, b, RowSlot{1, row, slot}, rb);
      if (measures == 0) continue;
      RowSums r;
      measure_pair(pl, ra, rb, &r);
      write_row(pl, r, ra, rb, slot, out);
    }
  };
  const size_t slots = selected != nullptr ? extras.count : n;
  // The extras (top-k, targets) and selections are row-path work: the lane-per-row tiles have no
  // per-row top-k and load consecutive rows, and rows of at most kBatchMaxClasses are cheap row
  // by row anyway.
  const bool batchable = (pl.kind == Kind::Logits || pl.kind == Kind::Probs) && k <= kBatchMaxClasses &&
                         !((measures >> kEmdCost) & 1u) && pl.extras == nullptr && selected == nullptr;
  if (!batchable) {
    if (slots == 0) return;
    struct Bufs {
      RowBuf a, b;
    };
    // Chunks of ~64k values per input (a few hundred short rows): enough to amortize the
    // counter, small enough to balance the last ones.
    const size_t chunk = std::max<size_t>(1, (size_t{1} << 16) / (k + 4));
    parallel_chunks(
        slots, chunk, threads_for(slots, k, opt.threads),
        [&] {
          Bufs bufs;
          bufs.a.init(pl);
          bufs.b.init(pl);
          return bufs;
        },
        [&](Bufs& bufs, size_t begin, size_t end) { row_path(begin, end, bufs.a, bufs.b); });
    return;
  }
  const BatchSpec bs = batch_spec(pl);
  // Tiles of W rows start at multiples of W whatever the thread count, so every row is
  // computed the same way (batch, or row by row after a failed tile) for any `threads`.
  const size_t W = pl.kern->width, tiles = (n + W - 1) / W;
  // Inputs of one dtype skip the tile buffers when the request needs no second pass over a tile:
  // unsmoothed probabilities without log measures, or logits without the softmax (argmax and
  // L2 only); cosine needs the norms first. Log measures stay on the tile path: their many
  // constants plus two loaded column blocks exceed the vector registers, and the spills cost
  // more than the tile round trip saves (JS +10%).
  const MeasureSpec& sp = pl.spec;
  const bool no_logs = !sp.js && !sp.kl && !sp.kl_reverse;
  const bool one_pass = a.f32 == b.f32 && !sp.cosine &&
                        ((pl.kind == Kind::Probs && pl.eps == 0 && no_logs) || (pl.kind == Kind::Logits && !pl.need_dist));
  parallel_ranges(tiles, threads_for(n, k, opt.threads), [&](size_t t0, size_t t1) {
    // Tiles 64-byte aligned: every W-double vector load / store of the kernels then stays in one
    // cache line (line-split AVX-512 accesses cost about double).
    std::vector<double> buf(6 * k * W + 3 * 8);
    double* xa = aligned64(buf.data());
    double* xb = aligned64(xa + k * W + 1);
    double* scratch = aligned64(xb + k * W + 1);
    RowBuf ra, rb;
    ra.init(pl);
    rb.init(pl);
    BatchSums sums;
    for (size_t tile = t0; tile < t1; ++tile) {
      const size_t r0 = tile * W, rows = r0 + W <= n ? W : n - r0;
      const size_t esz = a.f32 ? sizeof(float) : sizeof(double), bsz = b.f32 ? sizeof(float) : sizeof(double);
      const void* pa = static_cast<const char*>(a.data) + r0 * k * esz;
      const void* pb = static_cast<const char*>(b.data) + r0 * k * bsz;
      if (one_pass) {
        if (pl.kern->batch_one_pass(pa, pb, a.f32, k, rows, bs, &sums)) write_batch(pl, sums, rows, r0, out);
        else row_path(r0, r0 + rows, ra, rb);
        continue;
      }
      pl.kern->batch_load(pa, a.f32, k, rows, xa);
      pl.kern->batch_load(pb, b.f32, k, rows, xb);
      if (!pl.kern->batch(xa, xb, k, bs, scratch, &sums)) {
        row_path(r0, r0 + rows, ra, rb);  // reports the first bad row (or agrees at the 1e-4 edge)
        continue;
      }
      write_batch(pl, sums, rows, r0, out);
    }
  });
}

void pairwise(const Matrix* models, size_t count, size_t n, size_t k, int measure, const Options& opt, double* out) {
  const Plan pl = make_plan(k, 1u << measure, opt);
  const bool symmetric = !(measure == kKl || measure == kKlReverse || measure == kEmdCost);
  const bool batchable = (pl.kind == Kind::Logits || pl.kind == Kind::Probs) && k <= kBatchMaxClasses &&
                         measure != kEmdCost;
  const size_t W = pl.kern->width;
  // Rows per block: all models' prepared rows of a block stay in cache while every pair uses
  // them. Blocks are a multiple of W rows and independent of the thread count, and each
  // block's pair sums are added in block order, so the result does not depend on `threads`.
  const size_t per_row = count * (batchable ? 3 * k : pl.kpadraw + 2 * pl.kpad);
  size_t block = per_row > 0 ? (1u << 17) / per_row : 1;
  if (block > 512) block = 512;
  if (batchable) block = block < W ? W : block / W * W;
  if (block < 1) block = 1;
  const size_t nblocks = (n + block - 1) / block;
  std::vector<double> partial(nblocks * count * count, 0.0);
  const BatchSpec bs = batch_spec(pl);
  const unsigned threads = threads_for(n, k * count * count / 2 + 1, opt.threads);
  parallel_ranges(nblocks, threads, [&](size_t b0, size_t b1) {
    std::vector<RowBuf> rows;
    std::vector<double> tiles;  // per model and tile: x, p, lp (k * W each), labels (W)
    const size_t tile_size = 3 * k * W + W, tiles_per_block = (block + W - 1) / W;
    if (batchable) tiles.assign(count * tiles_per_block * tile_size, 0.0);
    auto row_block = [&](size_t r0, size_t r1, double* acc) {
      if (rows.empty()) {
        rows.resize(count * block);
        for (auto& r : rows) r.init(pl);
      }
      for (size_t row = r0; row < r1; ++row)
        for (size_t m = 0; m < count; ++m)
          prepare(pl, models[m], RowSlot{static_cast<long>(m), row, row}, rows[m * block + row - r0]);
      for (size_t i = 0; i < count; ++i)
        for (size_t j = 0; j < count; ++j) {
          if (i == j || (symmetric && j < i)) continue;
          double s = 0;
          for (size_t row = r0; row < r1; ++row) {
            const RowBuf& ra = rows[i * block + row - r0];
            const RowBuf& rb = rows[j * block + row - r0];
            RowSums r;
            measure_pair(pl, ra, rb, &r);
            s += measure == kEmdCost ? transport_cost(ra.p, rb.p, pl.ke, pl.cost)
                                     : finalize(pl, measure, r.v, 1, ra.label, rb.label);
          }
          acc[i * count + j] = s;
        }
    };
    auto batch_block = [&](size_t r0, size_t r1, double* acc) -> bool {
      const size_t ntiles = (r1 - r0 + W - 1) / W;
      for (size_t m = 0; m < count; ++m) {
        const size_t esz = models[m].f32 ? sizeof(float) : sizeof(double);
        for (size_t t = 0; t < ntiles; ++t) {
          double* x = tiles.data() + (m * tiles_per_block + t) * tile_size;
          const size_t tr0 = r0 + t * W, rows_in = tr0 + W <= r1 ? W : r1 - tr0;
          pl.kern->batch_load(static_cast<const char*>(models[m].data) + tr0 * k * esz, models[m].f32, k, rows_in, x);
          if (!pl.kern->batch_prep(x, k, bs, x + k * W, x + 2 * k * W, x + 3 * k * W)) return false;
        }
      }
      BatchSums sums;
      double vals[kRowPad];
      double* outp[kNumMeasures] = {};
      outp[measure] = vals;
      for (size_t i = 0; i < count; ++i)
        for (size_t j = 0; j < count; ++j) {
          if (i == j || (symmetric && j < i)) continue;
          double s = 0;
          for (size_t t = 0; t < ntiles; ++t) {
            const double* a = tiles.data() + (i * tiles_per_block + t) * tile_size;
            const double* b = tiles.data() + (j * tiles_per_block + t) * tile_size;
            const size_t rows_in = r0 + (t + 1) * W <= r1 ? W : r1 - r0 - t * W;
            pl.kern->batch_measure(RowView{a, a + k * W, a + 2 * k * W}, RowView{b, b + k * W, b + 2 * k * W}, k,
                                   pl.spec, &sums);
            for (size_t l = 0; l < W; ++l) {
              sums.label_a[l] = a[3 * k * W + l];
              sums.label_b[l] = b[3 * k * W + l];
            }
            write_batch(pl, sums, rows_in, 0, outp);
            for (size_t l = 0; l < rows_in; ++l) s += vals[l];
          }
          acc[i * count + j] = s;
        }
      return true;
    };
    for (size_t blk = b0; blk < b1; ++blk) {
      const size_t r0 = blk * block, r1 = r0 + block < n ? r0 + block : n;
      double* acc = partial.data() + blk * count * count;
      // A block that fails batch validation is redone row by row, which reports the first bad row.
      if (!batchable || !batch_block(r0, r1, acc)) row_block(r0, r1, acc);
    }
  });
  for (size_t i = 0; i < count; ++i)
    for (size_t j = 0; j < count; ++j) {
      if (i == j) {
        out[i * count + j] = 0.0;
        continue;
      }
      const size_t ii = symmetric && j < i ? j : i, jj = symmetric && j < i ? i : j;
      double s = 0;
      for (size_t blk = 0; blk < nblocks; ++blk) s += partial[blk * count * count + ii * count + jj];
      out[i * count + j] = s / static_cast<double>(n);
    }
}

#if defined(MODELDIFF_BENCH_KERNELS)
double memory_read_sum(const Matrix& data, size_t count, unsigned threads) {
  const RowKernels& kern = kernels_for(active_isa());
  const size_t chunks = threads < 1 ? 1 : threads;
  std::vector<double> part(chunks, 0.0);
  parallel_ranges(chunks, threads, [&](size_t c0, size_t c1) {
    for (size_t c = c0; c < c1; ++c) {
      const size_t b = count * c / chunks, e = count * (c + 1) / chunks;
      part[c] = kern.read_sum(data.data, data.f32, b, e);
    }
  });
  double s = 0;
  for (double v : part) s += v;
  return s;
}
#endif

}  // namespace divergence
}  // namespace modeldiff
