// Node-API glue for the bootstrap kernel (src/bootstrap.hpp).
//   bootstrapResampleMeans(rows: Float64Array n*m, n, m, B, seed, threads (0 = all cores), async: boolean)
//     -> Float64Array m*B (or a Promise of it when async)
// The async form runs on a worker thread holding a reference to `rows`; do
// not mutate it until the promise settles. Errors carry code 'INVALID_ARGUMENT'
// or 'INTERNAL'.
#include <cmath>
#include <stdexcept>
#include <string>
#include <thread>

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

class BootstrapWorker : public Napi::AsyncWorker {
 public:
  BootstrapWorker(Napi::Env env, Napi::Float64Array rows, size_t n, size_t m, size_t B, uint64_t seed, unsigned threads)
      : Napi::AsyncWorker(env, "modeldiff:bootstrap"),
        deferred_(Napi::Promise::Deferred::New(env)),
        rows_ref_(Napi::Persistent(rows)),
        rows_(rows.Data()),
        n_(n), m_(m), B_(B), seed_(seed), threads_(threads) {
    Napi::Float64Array out = Napi::Float64Array::New(env, m * B);
    out_ref_ = Napi::Persistent(out);
    out_ = out.Data();
  }
  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override {
    try {
      modeldiff::bootstrap_resample_means(rows_, n_, m_, B_, seed_, out_, threads_);
    } catch (const std::exception& e) {
      SetError(std::string("bootstrap kernel failed: ") + e.what());
    }
  }
  void OnOK() override { deferred_.Resolve(out_ref_.Value()); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(coded(Env(), "INTERNAL", e.Message()).Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  Napi::Reference<Napi::Float64Array> rows_ref_;
  Napi::Reference<Napi::Float64Array> out_ref_;
  const double* rows_;
  double* out_ = nullptr;
  size_t n_, m_, B_;
  uint64_t seed_;
  unsigned threads_;
};

Napi::Value ResampleMeans(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
    throw coded(env, "INVALID_ARGUMENT", "rows must be a Float64Array");
  Napi::Float64Array rows = info[0].As<Napi::Float64Array>();
  const size_t n = static_cast<size_t>(integer_arg(info, 1, "n", 1, 4294967295.0));
  const size_t m = static_cast<size_t>(integer_arg(info, 2, "m", 1, 65535));
  const size_t B = static_cast<size_t>(integer_arg(info, 3, "replicates", 1, 100000000));
  const uint64_t seed = static_cast<uint64_t>(integer_arg(info, 4, "seed", 0, 9007199254740991.0));
  const unsigned threads = resolve_threads(integer_arg(info, 5, "threads", 0, 4096));
  const bool async = info.Length() > 6 && info[6].IsBoolean() && info[6].As<Napi::Boolean>().Value();
  if (rows.ElementLength() != n * m)
    throw coded(env, "INVALID_ARGUMENT",
                "rows has " + std::to_string(rows.ElementLength()) + " values, expected n*m = " + std::to_string(n * m));
  if (async) {
    auto* w = new BootstrapWorker(env, rows, n, m, B, seed, threads);
    w->Queue();
    return w->Promise();
  }
  Napi::Float64Array out = Napi::Float64Array::New(env, m * B);
  try {
    modeldiff::bootstrap_resample_means(rows.Data(), n, m, B, seed, out.Data(), threads);
  } catch (const std::exception& e) {
    throw coded(env, "INTERNAL", std::string("bootstrap kernel failed: ") + e.what());
  }
  return out;
}

void InitBootstrap(Napi::Env env, Napi::Object exports) {
  exports.Set("bootstrapResampleMeans", Napi::Function::New(env, ResampleMeans, "bootstrapResampleMeans"));
}

modeldiff_binding::Registrar reg("bootstrap", InitBootstrap);

}  // namespace
