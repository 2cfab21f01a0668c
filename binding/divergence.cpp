// Node-API glue for the divergence kernels (src/divergence.hpp), on binding/binding.hpp:
//   divergencePerSample[Sync]({ a, b, n, k, measures, kind, epsilon?, bits?, cost?, isa?, threads?,
//                               topk?, targets?, rows?, rowCount? })
//     -> { values: Record<measure, Float64Array n>, top?: [Int32Array n*topk, same for b],
//          targetLogProb?: [Float64Array n, same for b], targetProb?: [...] }; error `input` 0 = a,
//     1 = b. top / targetLogProb / targetProb (dv::RowExtras) only when topk >= 1 / targets
//     (Int32Array n, -1 = none) are given. rows (Int32Array rowCount, input row indices): only
//     those rows, read in place; every result then has rowCount entries (targets stay n).
//   divergencePairwise[Sync]({ models, n, k, measure, kind, epsilon?, bits?, cost?, isa?, threads? })
//     -> Float64Array N x N; error `input` = model index
//   divergenceMemoryRead[Sync]({ data, length, threads? }) -> sum: the benchmark's memory-read
//     ceiling, only in a MODELDIFF_BENCH_KERNELS build (CMakeLists.txt)
//   divergenceMeasures: the measure names the kernels know, in kernel order
//   divergenceMaxEmdCostClasses: the largest class count emd-cost accepts
// Values (epsilon, threads, cost entries and shape, measure list, k = 1 for the sigmoid kinds, the
// emd-cost class limit) are checked by lib/function/divergence.ts. This file checks types and
// sizes only, including what the kernels would otherwise read out of bounds: n, k >= 1 and each
// selected row inside [0, n).
#include <string>
#include <vector>

#include "binding.hpp"
#include "divergence.hpp"

namespace {

namespace dv = modeldiff::divergence;
using modeldiff_binding::Args;
using modeldiff_binding::FloatView;
using modeldiff_binding::Output;

dv::Matrix matrix_of(const FloatView& v) { return dv::Matrix{v.data, v.f32}; }

int measure_of(const Args& args, const std::string& name) {
  const int m = dv::parse_measure(name);
  if (m < 0) args.fail("unknown measure '" + name + "'");
  return m;
}

// Rows and columns to read: the kernels index row 0 and column 0 unconditionally.
void check_shape(const Args& args, size_t n, size_t k) {
  if (n == 0 || k == 0) args.fail("inputs must have at least one row and one column");
}

// The options shared by both calls.
dv::Options options_of(Args& args, size_t k) {
  dv::Options opt;
  if (!dv::parse_kind(args.string("kind"), &opt.kind))
    args.fail("kind must be one of logits, probs, sigmoid, sigmoid-logit");
  if (args.has("epsilon")) opt.epsilon = args.number("epsilon");
  opt.bits = args.flag("bits");
  if (args.has("cost")) {
    const size_t ke = opt.kind == dv::Kind::Sigmoid || opt.kind == dv::Kind::SigmoidLogit ? 2 : k;
    opt.cost = args.array<double>("cost", ke * ke);
  }
  opt.isa = args.isa();
  opt.threads = args.threads();
  return opt;
}

struct PerSample {
  FloatView a, b;
  size_t n, k;
  size_t slots;  // result rows: n, or rowCount with a row selection
  uint32_t mask = 0;
  std::vector<int> measures;
  dv::Options opt;
  std::vector<Output<double>> outs;
  double* out_ptrs[dv::kNumMeasures] = {};
  dv::RowExtras extras;
  Output<int32_t> top[2];
  Output<double> target_log_prob[2], target_prob[2];

  explicit PerSample(Args& args) : n(args.size("n")), k(args.size("k")) {
    check_shape(args, n, k);
    a = args.floats("a", n * k);
    b = args.floats("b", n * k);
    for (const std::string& name : args.strings("measures")) {
      const int m = measure_of(args, name);
      if (!((mask >> m) & 1u)) measures.push_back(m);
      mask |= 1u << m;
    }
    opt = options_of(args, k);
    slots = n;
    if (args.has("rows")) {
      extras.count = slots = args.size("rowCount");
      extras.rows = args.array<int32_t>("rows", slots);
      for (size_t i = 0; i < slots; ++i)
        if (extras.rows[i] < 0 || static_cast<size_t>(extras.rows[i]) >= n)
          args.fail("rows[" + std::to_string(i) + "] = " + std::to_string(extras.rows[i]) + " is outside [0, " +
                    std::to_string(n) + ")");
    }
    for (int m : measures) {
      outs.emplace_back(args.env(), slots);
      out_ptrs[m] = outs.back().data;
    }
    if (args.has("topk")) extras.topk = args.size("topk");
    if (args.has("targets")) extras.targets = args.array<int32_t>("targets", n);
    for (int i = 0; i < 2; ++i) {
      if (extras.topk > 0) {
        top[i] = Output<int32_t>(args.env(), modeldiff_binding::product(args, {slots, extras.topk}));
        extras.top[i] = top[i].data;
      }
      if (extras.targets) {
        target_log_prob[i] = Output<double>(args.env(), slots);
        target_prob[i] = Output<double>(args.env(), slots);
        extras.target_log_prob[i] = target_log_prob[i].data;
        extras.target_prob[i] = target_prob[i].data;
      }
    }
  }
  void run() { dv::per_sample(matrix_of(a), matrix_of(b), n, k, mask, opt, out_ptrs, extras); }
  Napi::Value result(Napi::Env env) {
    Napi::Object values = Napi::Object::New(env);
    for (size_t i = 0; i < measures.size(); ++i) values.Set(dv::measure_name(measures[i]), outs[i].value());
    Napi::Object o = Napi::Object::New(env);
    o.Set("values", values);
    auto pair = [&](const char* key, const auto& outs2) {
      Napi::Array p = Napi::Array::New(env, 2);
      p.Set(0u, outs2[0].value());
      p.Set(1u, outs2[1].value());
      o.Set(key, p);
    };
    if (extras.topk > 0) pair("top", top);
    if (extras.targets) {
      pair("targetLogProb", target_log_prob);
      pair("targetProb", target_prob);
    }
    return o;
  }
};

struct Pairwise {
  size_t n, k;
  std::vector<dv::Matrix> models;
  int measure;
  dv::Options opt;
  Output<double> out;

  explicit Pairwise(Args& args) : n(args.size("n")), k(args.size("k")) {
    check_shape(args, n, k);
    for (const FloatView& v : args.float_list("models", n * k)) models.push_back(matrix_of(v));
    measure = measure_of(args, args.string("measure"));
    opt = options_of(args, k);
    out = Output<double>(args.env(), models.size() * models.size());
  }
  void run() { dv::pairwise(models.data(), models.size(), n, k, measure, opt, out.data); }
  Napi::Value result(Napi::Env) { return out.value(); }
};

#if defined(MODELDIFF_BENCH_KERNELS)
// The benchmark's memory-read ceiling: a plain vectorized sum of one float array.
struct MemoryRead {
  FloatView data;
  unsigned threads;
  double sum = 0;

  explicit MemoryRead(Args& args) : data(args.floats("data", args.size("length"))), threads(args.threads()) {}
  void run() { sum = dv::memory_read_sum(matrix_of(data), data.length, threads); }
  Napi::Value result(Napi::Env env) { return Napi::Number::New(env, sum); }
};
#endif

void InitDivergence(Napi::Env env, Napi::Object exports) {
  modeldiff_binding::export_call<PerSample>(env, exports, "divergencePerSample");
  modeldiff_binding::export_call<Pairwise>(env, exports, "divergencePairwise");
#if defined(MODELDIFF_BENCH_KERNELS)
  modeldiff_binding::export_call<MemoryRead>(env, exports, "divergenceMemoryRead");
#endif
  Napi::Array names = Napi::Array::New(env, dv::kNumMeasures);
  for (int m = 0; m < dv::kNumMeasures; ++m) names.Set(m, dv::measure_name(m));
  exports.Set("divergenceMeasures", names);
  exports.Set("divergenceMaxEmdCostClasses", Napi::Number::New(env, static_cast<double>(dv::kMaxEmdCostClasses)));
}

modeldiff_binding::Registrar reg("divergence", InitDivergence);

}  // namespace
