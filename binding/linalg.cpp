// Node-API glue for the Gram kernels (src/linalg.hpp). Both run on a worker
// thread (Napi::AsyncWorker) and resolve a promise; the worker holds references
// to its input and output typed arrays and only touches raw pointers in
// Execute(), so inputs must not be mutated until the promise settles.
//   linalgFeatureGram(x, n, px, y | null, py, center, isa, threads)
//     -> Promise<{ gram: Float64Array P*P, mean: Float64Array P, rowSqX: Float64Array n, rowSqY: Float64Array n | null }>
//   linalgSampleGram(x, n, p, center, kind ('dot' | 'sqdist'), isa, threads) -> Promise<Float64Array n*n>
// x and y are Float32Array or Float64Array, row-major. Errors carry `code`:
// 'NON_FINITE' (NaN/Inf in an input, message names matrix, row and column),
// 'INVALID_ARGUMENT' (bad argument), 'INTERNAL' (e.g. out of memory).
#include <cmath>
#include <stdexcept>
#include <string>

#include "cpu_features.hpp"
#include "linalg.hpp"
#include "registry.hpp"

namespace {

using modeldiff::Isa;
using modeldiff::linalg::MatrixView;

Napi::Error coded(Napi::Env env, const std::string& code, const std::string& msg) {
  Napi::Error e = Napi::Error::New(env, msg);
  e.Value().Set("code", Napi::String::New(env, code));
  return e;
}

size_t dim(const Napi::CallbackInfo& info, size_t i, const std::string& name) {
  if (info.Length() <= i || !info[i].IsNumber())
    throw coded(info.Env(), "INVALID_ARGUMENT", name + " must be a number");
  const double d = info[i].As<Napi::Number>().DoubleValue();
  if (!(d >= 0) || d != std::floor(d) || d > 4294967295.0)
    throw coded(info.Env(), "INVALID_ARGUMENT", name + " must be a non-negative integer");
  return static_cast<size_t>(d);
}

// A Float32Array/Float64Array of exactly rows*cols elements.
MatrixView matrix(const Napi::CallbackInfo& info, size_t i, size_t rows, size_t cols, const char* name) {
  Napi::Env env = info.Env();
  if (info.Length() <= i || !info[i].IsTypedArray())
    throw coded(env, "INVALID_ARGUMENT", std::string(name) + " must be a Float32Array or Float64Array");
  Napi::TypedArray t = info[i].As<Napi::TypedArray>();
  const napi_typedarray_type type = t.TypedArrayType();
  if (type != napi_float32_array && type != napi_float64_array)
    throw coded(env, "INVALID_ARGUMENT", std::string(name) + " must be a Float32Array or Float64Array");
  if (t.ElementLength() != rows * cols)
    throw coded(env, "INVALID_ARGUMENT",
                std::string(name) + " has " + std::to_string(t.ElementLength()) + " elements, expected " +
                    std::to_string(rows) + " x " + std::to_string(cols));
  MatrixView m;
  m.f64 = type == napi_float64_array;
  m.data = modeldiff_binding::typed_array_data(t);
  m.rows = rows;
  m.cols = cols;
  m.name = name;
  return m;
}

Isa isa_arg(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || info[i].IsUndefined() || info[i].IsNull()) return modeldiff::active_isa();
  if (!info[i].IsString()) throw coded(info.Env(), "INVALID_ARGUMENT", "isa must be a string");
  Isa isa;
  const std::string name = info[i].As<Napi::String>().Utf8Value();
  if (!modeldiff::parse_isa(name, &isa) || !modeldiff::isa_supported(isa))
    throw coded(info.Env(), "INVALID_ARGUMENT", "isa '" + name + "' is not supported on this machine");
  return isa;
}

int threads_arg(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || info[i].IsUndefined() || info[i].IsNull()) return 0;
  return static_cast<int>(dim(info, i, "threads"));
}

bool bool_arg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info.Length() <= i || !info[i].IsBoolean())
    throw coded(info.Env(), "INVALID_ARGUMENT", std::string(name) + " must be a boolean");
  return info[i].As<Napi::Boolean>().Value();
}

// Shared worker: runs `job` in Execute, maps C++ exceptions to coded errors,
// resolves with whatever `result` builds on the JS thread.
class GramWorker : public Napi::AsyncWorker {
 public:
  GramWorker(Napi::Env env, const char* name)
      : Napi::AsyncWorker(env, name), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Promise() const { return deferred_.Promise(); }

  // Keeps a JS input array alive while the worker runs.
  void Keep(Napi::Value v) {
    if (v.IsObject()) refs_.push_back(Napi::Persistent(v.As<Napi::Object>()));
  }

  // Allocates an output array on the JS thread, held by a persistent reference
  // (a plain handle would not outlive the calling scope); returns its storage.
  static double* Output(Napi::Env env, Napi::Reference<Napi::Float64Array>& ref, size_t len) {
    Napi::Float64Array a = Napi::Float64Array::New(env, len);
    ref = Napi::Persistent(a);
    return a.Data();
  }

 protected:
  virtual void Run() = 0;
  virtual Napi::Value Result(Napi::Env env) = 0;

  void Execute() override {
    try {
      Run();
    } catch (const modeldiff::linalg::NonFiniteError& e) {
      code_ = "NON_FINITE";
      SetError(e.what());
    } catch (const std::invalid_argument& e) {
      code_ = "INVALID_ARGUMENT";
      SetError(e.what());
    } catch (const std::exception& e) {
      code_ = "INTERNAL";
      SetError(std::string("linalg kernel failed: ") + e.what());
    }
  }
  void OnOK() override { deferred_.Resolve(Result(Env())); }
  void OnError(const Napi::Error& e) override {
    deferred_.Reject(coded(Env(), code_, e.Message()).Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::vector<Napi::ObjectReference> refs_;
  std::string code_ = "INTERNAL";
};

class FeatureGramWorker : public GramWorker {
 public:
  FeatureGramWorker(Napi::Env env, MatrixView x, bool has_y, MatrixView y, bool center, Isa isa, int threads)
      : GramWorker(env, "modeldiff:featureGram"), x_(x), has_y_(has_y), y_(y), center_(center), isa_(isa),
        threads_(threads) {
    const size_t P = x.cols + (has_y ? y.cols : 0);
    gram_p_ = Output(env, gram_, P * P);
    mean_p_ = Output(env, mean_, P);
    rowsq_x_p_ = Output(env, rowsq_x_, x.rows);
    rowsq_y_p_ = has_y ? Output(env, rowsq_y_, x.rows) : nullptr;
  }

 protected:
  void Run() override {
    modeldiff::linalg::feature_gram(x_, has_y_ ? &y_ : nullptr, center_, isa_, threads_, gram_p_, mean_p_,
                                    rowsq_x_p_, rowsq_y_p_);
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("gram", gram_.Value());
    o.Set("mean", mean_.Value());
    o.Set("rowSqX", rowsq_x_.Value());
    o.Set("rowSqY", has_y_ ? Napi::Value(rowsq_y_.Value()) : env.Null());
    return o;
  }

 private:
  MatrixView x_;
  bool has_y_;
  MatrixView y_;
  bool center_;
  Isa isa_;
  int threads_;
  Napi::Reference<Napi::Float64Array> gram_, mean_, rowsq_x_, rowsq_y_;
  double *gram_p_, *mean_p_, *rowsq_x_p_, *rowsq_y_p_;
};

class SampleGramWorker : public GramWorker {
 public:
  SampleGramWorker(Napi::Env env, MatrixView x, bool center, modeldiff::linalg::SampleKernel kind, Isa isa,
                   int threads)
      : GramWorker(env, "modeldiff:sampleGram"), x_(x), center_(center), kind_(kind), isa_(isa), threads_(threads) {
    out_p_ = Output(env, out_, x.rows * x.rows);
  }

 protected:
  void Run() override { modeldiff::linalg::sample_gram(x_, center_, kind_, isa_, threads_, out_p_); }
  Napi::Value Result(Napi::Env) override { return out_.Value(); }

 private:
  MatrixView x_;
  bool center_;
  modeldiff::linalg::SampleKernel kind_;
  Isa isa_;
  int threads_;
  Napi::Reference<Napi::Float64Array> out_;
  double* out_p_;
};

Napi::Value FeatureGram(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const size_t n = dim(info, 1, "n"), px = dim(info, 2, "px");
  MatrixView x = matrix(info, 0, n, px, "X");
  const bool has_y = info.Length() > 3 && !info[3].IsNull() && !info[3].IsUndefined();
  MatrixView y;
  if (has_y) y = matrix(info, 3, n, dim(info, 4, "py"), "Y");
  const bool center = bool_arg(info, 5, "center");
  auto* w = new FeatureGramWorker(env, x, has_y, y, center, isa_arg(info, 6), threads_arg(info, 7));
  w->Keep(info[0]);
  if (has_y) w->Keep(info[3]);
  w->Queue();
  return w->Promise();
}

Napi::Value SampleGram(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const size_t n = dim(info, 1, "n"), p = dim(info, 2, "p");
  MatrixView x = matrix(info, 0, n, p, "X");
  const bool center = bool_arg(info, 3, "center");
  if (info.Length() <= 4 || !info[4].IsString())
    throw coded(env, "INVALID_ARGUMENT", "kind must be 'dot' or 'sqdist'");
  const std::string kind = info[4].As<Napi::String>().Utf8Value();
  if (kind != "dot" && kind != "sqdist") throw coded(env, "INVALID_ARGUMENT", "kind must be 'dot' or 'sqdist'");
  auto* w = new SampleGramWorker(env, x, center,
                                 kind == "dot" ? modeldiff::linalg::SampleKernel::Dot
                                               : modeldiff::linalg::SampleKernel::SquaredDistance,
                                 isa_arg(info, 5), threads_arg(info, 6));
  w->Keep(info[0]);
  w->Queue();
  return w->Promise();
}

void InitLinalg(Napi::Env env, Napi::Object exports) {
  exports.Set("linalgFeatureGram", Napi::Function::New(env, FeatureGram, "linalgFeatureGram"));
  exports.Set("linalgSampleGram", Napi::Function::New(env, SampleGram, "linalgSampleGram"));
}

modeldiff_binding::Registrar reg("linalg", InitLinalg);

}  // namespace
