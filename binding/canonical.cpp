// Node-API glue for the canonicalization and matching kernels
// (src/canonical.hpp, src/matching.hpp). All synchronous: they are linear in
// the layer size, except matchingSimilarity, which threads internally and
// also has an async variant.
//   normalizeScale(win, bin, wout, units, fanIn, outRows, block) -> Float64Array factors   (in place)
//   fixSign(...same)                                               -> Int8Array signs      (in place)
//   sortPermutation(...same, key)                                  -> Int32Array perm      (key 0..3)
//   sortKeys(...same, key)                                         -> Float64Array keys
//   applyPermutation(...same, perm)                                -> undefined            (in place)
//   permuteUnitAxis(data, rows, units, block, perm)                -> undefined            (in place)
//   matchingSimilarity(...A, ...B, isa?)                           -> Float64Array A.units x B.units
//   matchingSimilarityAsync(...A, ...B, isa?)                      -> Promise<same> (worker thread)
// Errors come back with code "INVALID_ARGUMENT".
#include <cmath>
#include <initializer_list>
#include <stdexcept>
#include <string>

#include "canonical.hpp"
#include "cpu_features.hpp"
#include "matching.hpp"
#include "registry.hpp"

namespace {

using modeldiff::LayerView;

Napi::Error invalid(Napi::Env env, const std::string& msg) {
  Napi::Error e = Napi::Error::New(env, msg);
  e.Value().Set("code", Napi::String::New(env, "INVALID_ARGUMENT"));
  return e;
}

size_t dim(const Napi::CallbackInfo& info, size_t i, const std::string& name) {
  if (info.Length() <= i || !info[i].IsNumber())
    throw invalid(info.Env(), name + " must be a number");
  const double d = info[i].As<Napi::Number>().DoubleValue();
  if (!(d >= 0) || d != std::floor(d) || d > 2147483647.0)
    throw invalid(info.Env(), name + " must be a non-negative integer");
  return static_cast<size_t>(d);
}

template <typename T>
T typed(const Napi::CallbackInfo& info, size_t i, napi_typedarray_type type, size_t expected,
        const std::string& name, const char* type_name) {
  if (info.Length() <= i || !info[i].IsTypedArray() ||
      info[i].As<Napi::TypedArray>().TypedArrayType() != type)
    throw invalid(info.Env(), name + " must be a " + type_name);
  T a = info[i].As<T>();
  if (a.ElementLength() != expected)
    throw invalid(info.Env(), name + " has " + std::to_string(a.ElementLength()) +
                                  " elements, expected " + std::to_string(expected));
  return a;
}

Napi::Float64Array f64(const Napi::CallbackInfo& info, size_t i, size_t n, const std::string& name) {
  return typed<Napi::Float64Array>(info, i, napi_float64_array, n, name, "Float64Array");
}

// a*b*c, refusing products past 2^53 (no size_t wrap-around can then make a
// huge shape match a small buffer).
size_t product(Napi::Env env, std::initializer_list<size_t> dims, const std::string& what) {
  double p = 1;
  for (size_t d : dims) p *= static_cast<double>(d);
  if (p > 9007199254740992.0) throw invalid(env, what + ": shape too large");
  size_t r = 1;
  for (size_t d : dims) r *= d;
  return r;
}

// Reads (win, bin, wout, units, fanIn, outRows, block) starting at argument i.
LayerView layer(const Napi::CallbackInfo& info, size_t i, const std::string& prefix = "") {
  const size_t units = dim(info, i + 3, prefix + "units"), fan_in = dim(info, i + 4, prefix + "fanIn"),
               out_rows = dim(info, i + 5, prefix + "outRows"), block = dim(info, i + 6, prefix + "block");
  Napi::Env env = info.Env();
  return LayerView{f64(info, i, product(env, {units, fan_in}, prefix + "win"), prefix + "win").Data(),
                   f64(info, i + 1, units, prefix + "bin").Data(),
                   f64(info, i + 2, product(env, {out_rows, units, block}, prefix + "wout"), prefix + "wout").Data(),
                   units, fan_in, out_rows, block};
}

const int32_t* permutation(const Napi::CallbackInfo& info, size_t i, size_t units) {
  const int32_t* p =
      typed<Napi::Int32Array>(info, i, napi_int32_array, units, "perm", "Int32Array").Data();
  if (!modeldiff::is_permutation(p, units))
    throw invalid(info.Env(), "perm is not a permutation of 0.." + std::to_string(units) + "-1");
  return p;
}

template <typename F>
auto kernel(Napi::Env env, F&& f) {
  try {
    return f();
  } catch (const std::invalid_argument& e) {
    throw invalid(env, e.what());
  }
}

Napi::Value NormalizeScale(const Napi::CallbackInfo& info) {
  LayerView l = layer(info, 0);
  Napi::Float64Array factors = Napi::Float64Array::New(info.Env(), l.units);
  kernel(info.Env(), [&] { modeldiff::normalize_scale(l, factors.Data()); return 0; });
  return factors;
}

Napi::Value FixSign(const Napi::CallbackInfo& info) {
  LayerView l = layer(info, 0);
  Napi::Int8Array signs = Napi::Int8Array::New(info.Env(), l.units);
  kernel(info.Env(), [&] { modeldiff::fix_sign(l, signs.Data()); return 0; });
  return signs;
}

Napi::Value SortPermutation(const Napi::CallbackInfo& info) {
  LayerView l = layer(info, 0);
  const size_t key = dim(info, 7, "key");
  if (key > 3) throw invalid(info.Env(), "key must be 0..3");
  Napi::Int32Array perm = Napi::Int32Array::New(info.Env(), l.units);
  kernel(info.Env(), [&] {
    modeldiff::sort_permutation(l, static_cast<modeldiff::SortKey>(key), perm.Data());
    return 0;
  });
  return perm;
}

Napi::Value SortKeys(const Napi::CallbackInfo& info) {
  LayerView l = layer(info, 0);
  const size_t key = dim(info, 7, "key");
  if (key > 3) throw invalid(info.Env(), "key must be 0..3");
  Napi::Float64Array keys = Napi::Float64Array::New(info.Env(), l.units);
  modeldiff::sort_keys(l, static_cast<modeldiff::SortKey>(key), keys.Data());
  return keys;
}

Napi::Value ApplyPermutation(const Napi::CallbackInfo& info) {
  LayerView l = layer(info, 0);
  modeldiff::apply_permutation(l, permutation(info, 7, l.units));
  return info.Env().Undefined();
}

Napi::Value PermuteUnitAxis(const Napi::CallbackInfo& info) {
  const size_t rows = dim(info, 1, "rows"), units = dim(info, 2, "units"), block = dim(info, 3, "block");
  double* data = f64(info, 0, product(info.Env(), {rows, units, block}, "data"), "data").Data();
  modeldiff::permute_unit_axis(data, rows, units, block, permutation(info, 4, units));
  return info.Env().Undefined();
}

modeldiff::Isa isa_arg(const Napi::CallbackInfo& info, size_t i) {
  modeldiff::Isa isa = modeldiff::active_isa();
  if (info.Length() > i && !info[i].IsUndefined()) {
    const std::string name = info[i].IsString() ? info[i].As<Napi::String>().Utf8Value() : "";
    if (!modeldiff::parse_isa(name, &isa) || !modeldiff::isa_supported(isa))
      throw invalid(info.Env(), "isa '" + name + "' is not supported on this machine");
  }
  return isa;
}

Napi::Value MatchingSimilarity(const Napi::CallbackInfo& info) {
  LayerView a = layer(info, 0, "a."), b = layer(info, 7, "b.");
  const modeldiff::Isa isa = isa_arg(info, 14);
  Napi::Float64Array out = Napi::Float64Array::New(info.Env(), a.units * b.units);
  kernel(info.Env(), [&] { modeldiff::matching_similarity(a, b, out.Data(), 0, isa); return 0; });
  return out;
}

// Off the main thread: keeps the six input arrays and the output alive and
// touches only their raw pointers in Execute(). Inputs must not be mutated
// until the promise settles.
class MatchingWorker : public Napi::AsyncWorker {
 public:
  MatchingWorker(const Napi::CallbackInfo& info, const LayerView& a, const LayerView& b,
                 modeldiff::Isa isa)
      : Napi::AsyncWorker(info.Env(), "modeldiff:matchingSimilarity"),
        deferred_(Napi::Promise::Deferred::New(info.Env())),
        a_(a),
        b_(b),
        isa_(isa) {
    for (size_t i = 0; i < 3; ++i) {
      inputs_[i] = Napi::Persistent(info[i].As<Napi::Object>());
      inputs_[3 + i] = Napi::Persistent(info[7 + i].As<Napi::Object>());
    }
    Napi::Float64Array out = Napi::Float64Array::New(info.Env(), a.units * b.units);
    out_ = out.Data();
    out_ref_ = Napi::Persistent(out);
  }
  Napi::Promise Promise() const { return deferred_.Promise(); }
  void Execute() override {
    try {
      modeldiff::matching_similarity(a_, b_, out_, 0, isa_);
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  void OnOK() override { deferred_.Resolve(out_ref_.Value()); }
  void OnError(const Napi::Error& e) override {
    deferred_.Reject(invalid(Env(), e.Message()).Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  LayerView a_, b_;
  modeldiff::Isa isa_;
  Napi::ObjectReference inputs_[6];
  Napi::Reference<Napi::Float64Array> out_ref_;
  double* out_ = nullptr;
};

Napi::Value MatchingSimilarityAsync(const Napi::CallbackInfo& info) {
  LayerView a = layer(info, 0, "a."), b = layer(info, 7, "b.");
  auto* worker = new MatchingWorker(info, a, b, isa_arg(info, 14));
  Napi::Promise p = worker->Promise();
  worker->Queue();
  return p;
}

void InitCanonical(Napi::Env env, Napi::Object exports) {
  exports.Set("normalizeScale", Napi::Function::New(env, NormalizeScale, "normalizeScale"));
  exports.Set("fixSign", Napi::Function::New(env, FixSign, "fixSign"));
  exports.Set("sortPermutation", Napi::Function::New(env, SortPermutation, "sortPermutation"));
  exports.Set("sortKeys", Napi::Function::New(env, SortKeys, "sortKeys"));
  exports.Set("applyPermutation", Napi::Function::New(env, ApplyPermutation, "applyPermutation"));
  exports.Set("permuteUnitAxis", Napi::Function::New(env, PermuteUnitAxis, "permuteUnitAxis"));
  exports.Set("matchingSimilarity",
              Napi::Function::New(env, MatchingSimilarity, "matchingSimilarity"));
  exports.Set("matchingSimilarityAsync",
              Napi::Function::New(env, MatchingSimilarityAsync, "matchingSimilarityAsync"));
}

modeldiff_binding::Registrar reg("canonical", InitCanonical);

}  // namespace
