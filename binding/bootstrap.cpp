// Node-API glue for the bootstrap kernel (src/bootstrap.hpp).
//   bootstrapResampleRatios(numerators: Float64Array[] (m columns of G), denominators: Float64Array | null,
//                           first, count, seed, threads (0 = all cores), async: boolean)
//     -> Float64Array m*count (or a Promise of it when async)
// The async form runs on a worker thread holding references to the inputs; do not mutate them
// until the promise settles. Errors carry code 'INVALID_ARGUMENT' or 'INTERNAL'.
#include <cmath>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "bootstrap.hpp"
#include "registry.hpp"

namespace {

Napi::Error coded(Napi::Env env, const std::string& code, const std::string& msg) {
  Napi::Error e = Napi::Error::New(env, msg);
  e.Value().Set("code", Napi::String::New(env, code));
  return e;
}

double integer_arg(const Napi::CallbackInfo& info, size_t i, const char* name, double lo, double hi) {
  if (info.Length() <= i || !info[i].IsNumber())
    throw coded(info.Env(), "INVALID_ARGUMENT", std::string(name) + " must be a number");
  const double d = info[i].As<Napi::Number>().DoubleValue();
  if (!(d >= lo) || !(d <= hi) || d != std::floor(d))
    throw coded(info.Env(), "INVALID_ARGUMENT", std::string(name) + " must be an integer in [" +
                                                    std::to_string(static_cast<long long>(lo)) + ", " +
                                                    std::to_string(static_cast<long long>(hi)) + "]");
  return d;
}

unsigned resolve_threads(double t) {
  if (t >= 1) return static_cast<unsigned>(t);
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : hw;
}

struct Inputs {
  std::vector<Napi::Reference<Napi::Float64Array>> refs;  // keep the arrays alive on the worker
  std::vector<const double*> numerators;
  const double* denominators = nullptr;
  size_t m = 0, G = 0;
};

Inputs read_inputs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto float64 = [&](Napi::Value v) {
    return v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_float64_array;
  };
  if (info.Length() < 1 || !info[0].IsArray()) throw coded(env, "INVALID_ARGUMENT", "numerators must be an array of Float64Array");
  Napi::Array cols = info[0].As<Napi::Array>();
  Inputs in;
  in.m = cols.Length();
  if (in.m < 1 || in.m > 65535) throw coded(env, "INVALID_ARGUMENT", "numerators must hold 1 to 65535 columns");
  for (uint32_t s = 0; s < in.m; ++s) {
    Napi::Value v = cols.Get(s);
    if (!float64(v)) throw coded(env, "INVALID_ARGUMENT", "numerators[" + std::to_string(s) + "] must be a Float64Array");
    Napi::Float64Array a = v.As<Napi::Float64Array>();
    if (s == 0) in.G = a.ElementLength();
    if (a.ElementLength() != in.G || in.G == 0)
      throw coded(env, "INVALID_ARGUMENT", "numerators must be non-empty and of one length");
    in.refs.push_back(Napi::Persistent(a));
    in.numerators.push_back(a.Data());
  }
  if (info.Length() > 1 && !info[1].IsNull() && !info[1].IsUndefined()) {
    if (!float64(info[1])) throw coded(env, "INVALID_ARGUMENT", "denominators must be a Float64Array or null");
    Napi::Float64Array d = info[1].As<Napi::Float64Array>();
    if (d.ElementLength() != in.G)
      throw coded(env, "INVALID_ARGUMENT", "denominators has " + std::to_string(d.ElementLength()) + " values, expected " + std::to_string(in.G));
    in.refs.push_back(Napi::Persistent(d));
    in.denominators = d.Data();
  }
  return in;
}

class BootstrapWorker : public Napi::AsyncWorker {
 public:
  BootstrapWorker(Napi::Env env, Inputs in, uint64_t first, size_t count, uint64_t seed, unsigned threads)
      : Napi::AsyncWorker(env, "modeldiff:bootstrap"),
        deferred_(Napi::Promise::Deferred::New(env)),
        in_(std::move(in)),
        first_(first), count_(count), seed_(seed), threads_(threads) {
    Napi::Float64Array out = Napi::Float64Array::New(env, in_.m * count);
    out_ref_ = Napi::Persistent(out);
    out_ = out.Data();
  }
  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override {
    try {
      modeldiff::bootstrap_resample_ratios(in_.numerators.data(), in_.m, in_.denominators, in_.G, first_, count_, seed_, out_, threads_);
    } catch (const std::exception& e) {
      SetError(std::string("bootstrap kernel failed: ") + e.what());
    }
  }
  void OnOK() override { deferred_.Resolve(out_ref_.Value()); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(coded(Env(), "INTERNAL", e.Message()).Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  Inputs in_;
  Napi::Reference<Napi::Float64Array> out_ref_;
  double* out_ = nullptr;
  uint64_t first_;
  size_t count_;
  uint64_t seed_;
  unsigned threads_;
};

Napi::Value ResampleRatios(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Inputs in = read_inputs(info);
  const uint64_t first = static_cast<uint64_t>(integer_arg(info, 2, "first", 0, 9007199254740991.0));
  const size_t count = static_cast<size_t>(integer_arg(info, 3, "count", 1, 100000000));
  const uint64_t seed = static_cast<uint64_t>(integer_arg(info, 4, "seed", 0, 9007199254740991.0));
  const unsigned threads = resolve_threads(integer_arg(info, 5, "threads", 0, 4096));
  const bool async = info.Length() > 6 && info[6].IsBoolean() && info[6].As<Napi::Boolean>().Value();
  if (async) {
    auto* w = new BootstrapWorker(env, std::move(in), first, count, seed, threads);
    w->Queue();
    return w->Promise();
  }
  Napi::Float64Array out = Napi::Float64Array::New(env, in.m * count);
  try {
    modeldiff::bootstrap_resample_ratios(in.numerators.data(), in.m, in.denominators, in.G, first, count, seed, out.Data(), threads);
  } catch (const std::exception& e) {
    throw coded(env, "INTERNAL", std::string("bootstrap kernel failed: ") + e.what());
  }
  return out;
}

void InitBootstrap(Napi::Env env, Napi::Object exports) {
  exports.Set("bootstrapResampleRatios", Napi::Function::New(env, ResampleRatios, "bootstrapResampleRatios"));
}

modeldiff_binding::Registrar reg("bootstrap", InitBootstrap);

}  // namespace
