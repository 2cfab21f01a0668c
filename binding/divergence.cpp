// Node-API glue for the divergence kernels (src/divergence.hpp): argument checks, zero-copy
// views of Float32Array / Float64Array inputs, async workers that run the kernels off the main
// thread. The async worker holds references to its input and output typed arrays and touches
// only raw pointers in Execute(); callers must not mutate the inputs until the promise settles.
#include <napi.h>

#include <string>
#include <thread>
#include <vector>

#include "divergence.hpp"
#include "registry.hpp"

namespace {

namespace dv = modeldiff::divergence;

Napi::Error make_error(Napi::Env env, const std::string& code, long matrix, long row, const std::string& msg) {
  Napi::Error err = Napi::Error::New(env, msg);
  err.Set("code", Napi::String::New(env, code));
  err.Set("matrix", Napi::Number::New(env, static_cast<double>(matrix)));
  err.Set("row", Napi::Number::New(env, static_cast<double>(row)));
  return err;
}

[[noreturn]] void fail(Napi::Env env, const std::string& code, const std::string& msg) {
  throw make_error(env, code, -1, -1, msg);
}

// A typed-array input: raw pointer + a reference keeping it alive.
struct View {
  dv::Matrix m;
  size_t length = 0;
};

View view_of(Napi::Env env, const Napi::Value& v, const char* what) {
  if (!v.IsTypedArray()) fail(env, "INVALID_ARGUMENT", std::string(what) + " must be a Float32Array or Float64Array");
  Napi::TypedArray ta = v.As<Napi::TypedArray>();
  View out;
  if (ta.TypedArrayType() == napi_float32_array) out.m.f32 = true;
  else if (ta.TypedArrayType() == napi_float64_array) out.m.f32 = false;
  else fail(env, "INVALID_ARGUMENT", std::string(what) + " must be a Float32Array or Float64Array");
  out.m.data = modeldiff_binding::typed_array_data(ta);
  out.length = ta.ElementLength();
  return out;
}

size_t size_arg(Napi::Env env, const Napi::Value& v, const char* what) {
  if (!v.IsNumber()) fail(env, "INVALID_ARGUMENT", std::string(what) + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0) || d != static_cast<double>(static_cast<size_t>(d)))
    fail(env, "INVALID_ARGUMENT", std::string(what) + " must be a non-negative integer");
  return static_cast<size_t>(d);
}

// Options object: { kind, epsilon?, bits?, cost?: Float64Array, isa?, threads? }. `cost_ref`
// receives the cost array so async callers can keep it alive.
dv::Options options_of(Napi::Env env, const Napi::Value& v, Napi::Value* cost_value) {
  dv::Options opt;
  opt.isa = modeldiff::active_isa();
  unsigned hw = std::thread::hardware_concurrency();
  opt.threads = hw ? hw : 1;
  if (v.IsUndefined()) return opt;
  if (!v.IsObject()) fail(env, "INVALID_ARGUMENT", "options must be an object");
  Napi::Object o = v.As<Napi::Object>();
  Napi::Value kind = o.Get("kind");
  if (!kind.IsUndefined() && !(kind.IsString() && dv::parse_kind(kind.As<Napi::String>().Utf8Value(), &opt.kind)))
    fail(env, "INVALID_ARGUMENT", "outputs must be one of logits, probs, sigmoid, sigmoid-logit");
  Napi::Value eps = o.Get("epsilon");
  if (!eps.IsUndefined()) {
    if (!eps.IsNumber()) fail(env, "INVALID_ARGUMENT", "epsilon must be a number");
    opt.epsilon = eps.As<Napi::Number>().DoubleValue();
  }
  opt.bits = o.Get("bits").ToBoolean().Value();
  Napi::Value cost = o.Get("cost");
  if (!cost.IsUndefined()) {
    if (!cost.IsTypedArray() || cost.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
      fail(env, "INVALID_ARGUMENT", "cost must be a Float64Array (k x k, row-major)");
    Napi::Float64Array c = cost.As<Napi::Float64Array>();
    opt.cost = c.Data();
    *cost_value = cost;
  }
  Napi::Value isa = o.Get("isa");
  if (!isa.IsUndefined()) {
    modeldiff::Isa wanted;
    if (!isa.IsString() || !modeldiff::parse_isa(isa.As<Napi::String>().Utf8Value(), &wanted))
      fail(env, "INVALID_ARGUMENT", "isa must be one of scalar, avx2, avx512, neon");
    if (!modeldiff::isa_supported(wanted))
      fail(env, "INVALID_ARGUMENT", std::string("isa '") + modeldiff::isa_name(wanted) + "' is not supported on this CPU");
    opt.isa = wanted;
  }
  Napi::Value threads = o.Get("threads");
  if (!threads.IsUndefined()) {
    size_t t = size_arg(env, threads, "threads");
    if (t < 1) fail(env, "INVALID_ARGUMENT", "threads must be >= 1");
    opt.threads = static_cast<unsigned>(t);
  }
  return opt;
}

// Everything a per-sample call needs, parsed on the main thread.
struct PerSampleJob {
  View a, b;
  size_t n = 0, k = 0;
  uint32_t mask = 0;
  dv::Options opt;
  Napi::Value cost;
  std::vector<int> measures;
  // Persistent: the async path builds its result in a later handle scope.
  std::vector<Napi::ObjectReference> outs;
  double* out_ptrs[dv::kNumMeasures] = {};

  void parse(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    a = view_of(env, info[0], "a");
    b = view_of(env, info[1], "b");
    n = size_arg(env, info[2], "n");
    k = size_arg(env, info[3], "k");
    if (a.length != n * k || b.length != n * k)
      fail(env, "SHAPE_MISMATCH", "a has " + std::to_string(a.length) + " and b " + std::to_string(b.length) +
                                      " values; expected n*k = " + std::to_string(n * k));
    if (!info[4].IsArray()) fail(env, "INVALID_ARGUMENT", "measures must be an array of names");
    Napi::Array names = info[4].As<Napi::Array>();
    for (uint32_t i = 0; i < names.Length(); ++i) {
      Napi::Value nm = names.Get(i);
      int m = nm.IsString() ? dv::parse_measure(nm.As<Napi::String>().Utf8Value()) : -1;
      if (m < 0) fail(env, "INVALID_ARGUMENT", "unknown measure '" + nm.ToString().Utf8Value() + "'");
      if (!((mask >> m) & 1u)) measures.push_back(m);
      mask |= 1u << m;
    }
    opt = options_of(env, info[5], &cost);
    for (int m : measures) {
      Napi::Float64Array arr = Napi::Float64Array::New(env, n);
      out_ptrs[m] = arr.Data();
      outs.push_back(Napi::Persistent(static_cast<Napi::Object>(arr)));
    }
  }
  void run() { dv::per_sample(a.m, b.m, n, k, mask, opt, out_ptrs); }
  Napi::Object result(Napi::Env env) {
    Napi::Object o = Napi::Object::New(env);
    for (size_t i = 0; i < measures.size(); ++i) o.Set(dv::measure_name(measures[i]), outs[i].Value());
    return o;
  }
};

// Base for async jobs: keeps JS values alive, maps dv::Error to a JS error with code/matrix/row.
class Worker : public Napi::AsyncWorker {
 public:
  explicit Worker(Napi::Env env) : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise promise() { return deferred_.Promise(); }
  void keep(const Napi::Value& v) {
    if (v.IsObject()) refs_.push_back(Napi::Persistent(v.As<Napi::Object>()));
  }

 protected:
  virtual void run() = 0;
  virtual Napi::Value value(Napi::Env env) = 0;
  void Execute() override {
    try {
      run();
    } catch (const dv::Error& e) {
      code_ = e.code, matrix_ = e.matrix, row_ = e.row;
      SetError(e.what());
    } catch (const std::exception& e) {
      code_ = "INTERNAL";
      SetError(e.what());
    }
  }
  void OnOK() override { deferred_.Resolve(value(Env())); }
  void OnError(const Napi::Error& e) override {
    deferred_.Reject(make_error(Env(), code_, matrix_, row_, e.Message()).Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::vector<Napi::ObjectReference> refs_;
  std::string code_ = "INTERNAL";
  long matrix_ = -1, row_ = -1;
};

class PerSampleWorker : public Worker {
 public:
  PerSampleWorker(Napi::Env env, PerSampleJob&& job) : Worker(env), job_(std::move(job)) {}

 protected:
  void run() override { job_.run(); }
  Napi::Value value(Napi::Env env) override { return job_.result(env); }

 private:
  PerSampleJob job_;
};

Napi::Value Rethrow(Napi::Env env, const dv::Error& e) { throw make_error(env, e.code, e.matrix, e.row, e.what()); }

// divergencePerSample(a, b, n, k, measures, options, async) -> Record<name, Float64Array> | Promise
Napi::Value PerSample(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  PerSampleJob job;
  job.parse(info);
  if (!info[6].ToBoolean().Value()) {
    try {
      job.run();
    } catch (const dv::Error& e) {
      return Rethrow(env, e);
    }
    return job.result(env);
  }
  auto* w = new PerSampleWorker(env, std::move(job));
  w->keep(info[0]);
  w->keep(info[1]);
  w->keep(info[5]);
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
}

class PairwiseWorker : public Worker {
 public:
  PairwiseWorker(Napi::Env env) : Worker(env) {}
  std::vector<dv::Matrix> models;
  size_t n = 0, k = 0;
  int measure = 0;
  dv::Options opt;
  Napi::Float64Array out;
  Napi::ObjectReference out_ref;

 protected:
  void run() override { dv::pairwise(models.data(), models.size(), n, k, measure, opt, out_data_); }
  Napi::Value value(Napi::Env env) override { return out_ref.Value(); }

 public:
  double* out_data_ = nullptr;
};

// divergencePairwise(models[], n, k, measure, options) -> Promise<Float64Array> (N x N)
Napi::Value Pairwise(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArray()) fail(env, "INVALID_ARGUMENT", "models must be an array of typed arrays");
  Napi::Array arr = info[0].As<Napi::Array>();
  const size_t n = size_arg(env, info[1], "n"), k = size_arg(env, info[2], "k");
  std::vector<dv::Matrix> models;
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    View v = view_of(env, arr.Get(i), "model output");
    if (v.length != n * k)
      throw make_error(env, "SHAPE_MISMATCH", i, -1,
                       "has " + std::to_string(v.length) + " values; expected n*k = " + std::to_string(n * k));
    models.push_back(v.m);
  }
  int measure = info[3].IsString() ? dv::parse_measure(info[3].As<Napi::String>().Utf8Value()) : -1;
  if (measure < 0) fail(env, "INVALID_ARGUMENT", "unknown measure '" + info[3].ToString().Utf8Value() + "'");
  Napi::Value cost;
  dv::Options opt = options_of(env, info[4], &cost);
  auto* w = new PairwiseWorker(env);
  w->models = std::move(models);
  w->n = n;
  w->k = k;
  w->measure = measure;
  w->opt = opt;
  Napi::Float64Array out = Napi::Float64Array::New(env, arr.Length() * arr.Length());
  w->out_data_ = out.Data();
  w->out_ref = Napi::Persistent(static_cast<Napi::Object>(out));
  w->keep(info[0]);
  w->keep(info[4]);
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
}

// divergenceMemoryRead(data: Float32Array | Float64Array, threads) -> sum: the benchmark's
// memory-read ceiling.
Napi::Value MemoryRead(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const View v = view_of(env, info[0], "data");
  size_t threads = info[1].IsUndefined() ? 1 : size_arg(env, info[1], "threads");
  return Napi::Number::New(env, dv::memory_read_sum(v.m, v.length, threads < 1 ? 1u : unsigned(threads)));
}

Napi::Value MaxEmdCostClasses(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(dv::kMaxEmdCostClasses));
}

void InitDivergence(Napi::Env env, Napi::Object exports) {
  exports.Set("divergencePerSample", Napi::Function::New(env, PerSample, "divergencePerSample"));
  exports.Set("divergencePairwise", Napi::Function::New(env, Pairwise, "divergencePairwise"));
  exports.Set("divergenceMemoryRead", Napi::Function::New(env, MemoryRead, "divergenceMemoryRead"));
  exports.Set("divergenceMaxEmdCostClasses", Napi::Function::New(env, MaxEmdCostClasses, "divergenceMaxEmdCostClasses"));
}

modeldiff_binding::Registrar reg("divergence", InitDivergence);

}  // namespace
