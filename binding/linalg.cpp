// Node-API glue for the Gram kernels (src/linalg.hpp), on binding/binding.hpp. x and y are
// Float32Array or Float64Array, row-major; NaN/Inf is a NON_FINITE error with `input` 0 = x,
// 1 = y and the row.
//   featureGram[Sync]({ x, n, px, y?, py?, center, isa?, threads? })
//     -> { gram: Float64Array P*P, mean: Float64Array P, rowSqX: Float64Array n, rowSqY: Float64Array n | null }
//   sampleGram[Sync]({ x, n, p, center, kind: 'dot' | 'sqdist', isa?, threads? }) -> Float64Array n*n
#include <string>

#include "binding.hpp"
#include "linalg.hpp"

namespace {

using modeldiff::linalg::MatrixView;
using modeldiff_binding::Args;
using modeldiff_binding::Output;

MatrixView matrix_of(Args& args, const char* key, size_t rows, size_t cols, const char* name, long input) {
  const modeldiff_binding::FloatView v = args.floats(key, modeldiff_binding::product(args, {rows, cols}));
  MatrixView m;
  m.f64 = !v.f32;
  m.data = v.data;
  m.rows = rows;
  m.cols = cols;
  m.name = name;
  m.input = input;
  return m;
}

struct FeatureGram {
  size_t n;
  MatrixView x, y;
  bool has_y;
  bool center;
  modeldiff::Isa isa;
  int threads;
  Output<double> gram, mean, rowsq_x, rowsq_y;

  explicit FeatureGram(Args& args)
      : n(args.size("n")),
        x(matrix_of(args, "x", n, args.size("px"), "X", 0)),
        has_y(args.has("y")),
        center(args.flag("center")),
        isa(args.isa()),
        threads(static_cast<int>(args.threads())) {
    if (has_y) y = matrix_of(args, "y", n, args.size("py"), "Y", 1);
    const size_t P = x.cols + (has_y ? y.cols : 0);
    gram = Output<double>(args.env(), P * P);
    mean = Output<double>(args.env(), P);
    rowsq_x = Output<double>(args.env(), n);
    if (has_y) rowsq_y = Output<double>(args.env(), n);
  }
  void run() {
    modeldiff::linalg::feature_gram(x, has_y ? &y : nullptr, center, isa, threads, gram.data, mean.data, rowsq_x.data,
                                    rowsq_y.data);
  }
  Napi::Value result(Napi::Env env) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("gram", gram.value());
    o.Set("mean", mean.value());
    o.Set("rowSqX", rowsq_x.value());
    o.Set("rowSqY", has_y ? rowsq_y.value() : env.Null());
    return o;
  }
};

modeldiff::linalg::SampleKernel kind_of(const Args& args) {
  const std::string kind = args.string("kind");
  if (kind == "dot") return modeldiff::linalg::SampleKernel::Dot;
  if (kind == "sqdist") return modeldiff::linalg::SampleKernel::SquaredDistance;
  args.fail("kind must be 'dot' or 'sqdist'");
}

struct SampleGram {
  size_t n;
  MatrixView x;
  bool center;
  modeldiff::linalg::SampleKernel kind;
  modeldiff::Isa isa;
  int threads;
  Output<double> out;

  explicit SampleGram(Args& args)
      : n(args.size("n")),
        x(matrix_of(args, "x", n, args.size("p"), "X", 0)),
        center(args.flag("center")),
        kind(kind_of(args)),
        isa(args.isa()),
        threads(static_cast<int>(args.threads())),
        out(args.env(), modeldiff_binding::product(args, {n, n})) {}
  void run() { modeldiff::linalg::sample_gram(x, center, kind, isa, threads, out.data); }
  Napi::Value result(Napi::Env) { return out.value(); }
};

void InitLinalg(Napi::Env env, Napi::Object exports) {
  modeldiff_binding::export_call<FeatureGram>(env, exports, "featureGram");
  modeldiff_binding::export_call<SampleGram>(env, exports, "sampleGram");
}

modeldiff_binding::Registrar reg("linalg", InitLinalg);

}  // namespace
