// Node-API glue for linear sum assignment (src/assignment.hpp):
//   lsaSync(cost, rows, cols, maximize, method, isa?) -> { rowToCol: Int32Array, total }
//   lsaAsync(cost, rows, cols, maximize, method, isa?) -> Promise<same>
// method: 0 auto, 1 lapjv, 2 shortest-path; isa: 'scalar' | 'avx2' | 'avx512'
// | 'neon' (default: the active ISA), for SIMD parity tests. Kernel argument errors come back
// as Error objects with code "INVALID_ARGUMENT" (lib/weights/kernels.ts turns
// them into ModeldiffError). The async worker keeps a reference to `cost` and
// reads it off the main thread: callers must not mutate it until it settles.
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "assignment.hpp"
#include "cpu_features.hpp"
#include "registry.hpp"

namespace {

using modeldiff::AssignmentMethod;
using modeldiff::Isa;

Napi::Error invalid(Napi::Env env, const std::string& msg) {
  Napi::Error e = Napi::Error::New(env, msg);
  e.Value().Set("code", Napi::String::New(env, "INVALID_ARGUMENT"));
  return e;
}

struct LsaArgs {
  Napi::Float64Array cost;
  size_t rows, cols;
  bool maximize;
  AssignmentMethod method;
  Isa isa;
};

size_t dim(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsNumber()) throw invalid(info.Env(), std::string(name) + " must be a number");
  const double d = info[i].As<Napi::Number>().DoubleValue();
  if (!(d >= 0) || d != std::floor(d) || d > 2147483647.0)
    throw invalid(info.Env(), std::string(name) + " must be a non-negative integer");
  return static_cast<size_t>(d);
}

LsaArgs parse(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 5 || !info[0].IsTypedArray() ||
      info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
    throw invalid(env, "cost must be a Float64Array");
  LsaArgs a{info[0].As<Napi::Float64Array>(), dim(info, 1, "rows"), dim(info, 2, "cols"),
            info[3].ToBoolean().Value(), AssignmentMethod::Auto, modeldiff::active_isa()};
  const size_t m = dim(info, 4, "method");
  if (m > 2) throw invalid(env, "method must be 0 (auto), 1 (lapjv) or 2 (shortest-path)");
  a.method = static_cast<AssignmentMethod>(m);
  if (info.Length() > 5 && !info[5].IsUndefined()) {
    const std::string name = info[5].IsString() ? info[5].As<Napi::String>().Utf8Value() : "";
    if (!modeldiff::parse_isa(name, &a.isa) || !modeldiff::isa_supported(a.isa))
      throw invalid(env, "isa '" + name + "' is not supported on this machine");
  }
  if (a.cost.ElementLength() != a.rows * a.cols)
    throw invalid(env, "cost has " + std::to_string(a.cost.ElementLength()) +
                           " elements, expected rows*cols = " + std::to_string(a.rows * a.cols));
  return a;
}

Napi::Object result(Napi::Env env, const std::vector<int32_t>& row_to_col, double total) {
  Napi::Int32Array r = Napi::Int32Array::New(env, row_to_col.size());
  std::copy(row_to_col.begin(), row_to_col.end(), r.Data());
  Napi::Object out = Napi::Object::New(env);
  out.Set("rowToCol", r);
  out.Set("total", Napi::Number::New(env, total));
  return out;
}

Napi::Value LsaSync(const Napi::CallbackInfo& info) {
  LsaArgs a = parse(info);
  std::vector<int32_t> row_to_col(a.rows);
  double total;
  try {
    total = modeldiff::linear_sum_assignment(a.cost.Data(), a.rows, a.cols, a.maximize,
                                             row_to_col.data(), a.method, a.isa);
  } catch (const std::invalid_argument& e) {
    throw invalid(info.Env(), e.what());
  }
  return result(info.Env(), row_to_col, total);
}

class LsaWorker : public Napi::AsyncWorker {
 public:
  LsaWorker(Napi::Env env, const LsaArgs& a)
      : Napi::AsyncWorker(env, "modeldiff:linearSumAssignment"),
        deferred_(Napi::Promise::Deferred::New(env)),
        cost_ref_(Napi::Persistent(a.cost)),
        cost_(a.cost.Data()),
        rows_(a.rows),
        cols_(a.cols),
        maximize_(a.maximize),
        method_(a.method),
        isa_(a.isa),
        row_to_col_(a.rows) {}

  Napi::Promise Promise() const { return deferred_.Promise(); }

  void Execute() override {
    try {
      total_ = modeldiff::linear_sum_assignment(cost_, rows_, cols_, maximize_, row_to_col_.data(),
                                                method_, isa_);
    } catch (const std::invalid_argument& e) {
      SetError(e.what());
    } catch (const std::exception& e) {  // e.g. bad_alloc
      internal_ = true;
      SetError(e.what());
    }
  }
  void OnOK() override { deferred_.Resolve(result(Env(), row_to_col_, total_)); }
  void OnError(const Napi::Error& e) override {
    if (internal_) {
      deferred_.Reject(e.Value());
    } else {
      deferred_.Reject(invalid(Env(), e.Message()).Value());
    }
  }

 private:
  Napi::Promise::Deferred deferred_;
  Napi::Reference<Napi::Float64Array> cost_ref_;
  const double* cost_;
  size_t rows_, cols_;
  bool maximize_;
  AssignmentMethod method_;
  Isa isa_;
  std::vector<int32_t> row_to_col_;
  double total_ = 0;
  bool internal_ = false;
};

Napi::Value LsaAsync(const Napi::CallbackInfo& info) {
  LsaArgs a = parse(info);
  auto* worker = new LsaWorker(info.Env(), a);
  Napi::Promise p = worker->Promise();
  worker->Queue();
  return p;
}

void InitAssignment(Napi::Env env, Napi::Object exports) {
  exports.Set("lsaSync", Napi::Function::New(env, LsaSync, "lsaSync"));
  exports.Set("lsaAsync", Napi::Function::New(env, LsaAsync, "lsaAsync"));
}

modeldiff_binding::Registrar reg("assignment", InitAssignment);

}  // namespace
