// The one way across the native boundary, shared by every binding/<family>.cpp:
//
//   * every addon call takes ONE options object, read with `Args`, which checks only types and
//     buffer sizes (the TypeScript wrappers in lib/ own value checks: epsilon, threads, shapes;
//     the kernels in src/ assume valid input);
//   * every call is exported twice by `export_call<Job>(exports, "name")`: `name(options)`
//     returns a Promise and runs the kernel on a worker thread, `nameSync(options)` runs it on
//     the calling thread;
//   * every failure reaches JS as an Error with `code`, `input` and `row` (-1 = none): kernels
//     throw modeldiff::Error (src/error.hpp), Args throws INVALID_ARGUMENT, anything else is
//     INTERNAL. lib/native/call.ts turns these into ModeldiffError.
//
// A Job is a struct with
//   explicit Job(Args& args);               // main thread: read arguments, allocate outputs
//   void run();                             // any thread: the kernel, raw pointers only
//   Napi::Value result(Napi::Env env);      // main thread: the value the call returns
// Typed arrays the Job reads are kept alive by the worker (Args records them); callers must not
// mutate them until the promise settles. Outputs are `Output<T>`s (persistent, so they outlive
// the handle scope of the call that created them).
#pragma once
#include <napi.h>

#include <cmath>
#include <initializer_list>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cpu_features.hpp"
#include "error.hpp"
#include "registry.hpp"

namespace modeldiff_binding {

// A JS Error carrying the three fields every kernel failure has.
inline Napi::Error js_error(Napi::Env env, const std::string& code, const std::string& message, long input = -1,
                            long row = -1) {
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("code", Napi::String::New(env, code));
  e.Set("input", Napi::Number::New(env, static_cast<double>(input)));
  e.Set("row", Napi::Number::New(env, static_cast<double>(row)));
  return e;
}

// A Float32Array or Float64Array input, not owned (Args keeps it alive for async calls).
struct FloatView {
  const void* data = nullptr;
  bool f32 = false;
  size_t length = 0;
};

// Element type -> Node-API typed-array type and the name used in messages.
template <typename T>
struct TypedArrayTraits;
template <>
struct TypedArrayTraits<double> {
  static constexpr napi_typedarray_type type = napi_float64_array;
  static constexpr const char* name = "Float64Array";
};
template <>
struct TypedArrayTraits<int32_t> {
  static constexpr napi_typedarray_type type = napi_int32_array;
  static constexpr const char* name = "Int32Array";
};
template <>
struct TypedArrayTraits<int8_t> {
  static constexpr napi_typedarray_type type = napi_int8_array;
  static constexpr const char* name = "Int8Array";
};

// A typed array the call returns, allocated on the main thread.
template <typename T>
struct Output {
  Napi::Reference<Napi::TypedArrayOf<T>> ref;
  T* data = nullptr;
  Output() = default;
  Output(Napi::Env env, size_t length) {
    Napi::TypedArrayOf<T> a = Napi::TypedArrayOf<T>::New(env, length);
    data = a.Data();
    ref = Napi::Persistent(a);
  }
  // The caller's typed array (an `out` option), written in place and returned as it is.
  explicit Output(Napi::TypedArrayOf<T> given) : ref(Napi::Persistent(given)), data(given.Data()) {}
  Napi::Value value() const { return ref.Value(); }
};

// Reads the call's one options object. A failure names the field: SHAPE_MISMATCH for a typed array
// of the wrong length, INVALID_ARGUMENT for anything else.
class Args {
 public:
  Args(const Napi::CallbackInfo& info, const char* call)
      : env_(info.Env()), call_(call), kept_(std::make_shared<std::vector<Napi::Object>>()) {
    if (info.Length() < 1 || !info[0].IsObject()) fail("expects one options object");
    obj_ = info[0].As<Napi::Object>();
    kept_->push_back(obj_);
  }
  Napi::Env env() const { return env_; }

  // The object in field `key`, read the same way (its arrays are kept alive with the call's).
  Args object(const char* key) const {
    Napi::Value v = obj_.Get(key);
    if (!v.IsObject()) fail(std::string(key) + " must be an object");
    Args child(*this);
    child.obj_ = v.As<Napi::Object>();
    child.prefix_ = prefix_ + key + ".";
    return child;
  }

  [[noreturn]] void fail(const std::string& msg) const {
    throw js_error(env_, "INVALID_ARGUMENT", std::string(call_) + ": " + prefix_ + msg);
  }

  bool has(const char* key) const {
    Napi::Value v = obj_.Get(key);
    return !v.IsUndefined() && !v.IsNull();
  }

  // A non-negative integer below 2^53.
  size_t size(const char* key) const { return size_of(obj_.Get(key), key); }

  double number(const char* key) const {
    Napi::Value v = obj_.Get(key);
    if (!v.IsNumber()) fail(std::string(key) + " must be a number");
    return v.As<Napi::Number>().DoubleValue();
  }

  bool flag(const char* key, bool fallback = false) const {
    Napi::Value v = obj_.Get(key);
    if (v.IsUndefined()) return fallback;
    if (!v.IsBoolean()) fail(std::string(key) + " must be a boolean");
    return v.As<Napi::Boolean>().Value();
  }

  std::string string(const char* key) const {
    Napi::Value v = obj_.Get(key);
    if (!v.IsString()) fail(std::string(key) + " must be a string");
    return v.As<Napi::String>().Utf8Value();
  }

  // A Float32Array or Float64Array of exactly `length` elements.
  FloatView floats(const char* key, size_t length) { return floats_of(obj_.Get(key), key, length); }

  // A typed array of element type T and exactly `length` elements.
  template <typename T>
  T* array(const char* key, size_t length) {
    return array_of<T>(obj_.Get(key), key, length);
  }

  // The call's result array: the caller's typed array in field `key` when given (exactly
  // `length` elements of type T; the kernel overwrites it, so one buffer serves many calls),
  // else a new one.
  template <typename T>
  Output<T> output(const char* key, size_t length) {
    if (!has(key)) return Output<T>(env_, length);
    array_of<T>(obj_.Get(key), key, length);
    return Output<T>(obj_.Get(key).As<Napi::TypedArrayOf<T>>());
  }

  // An array of Float32Array/Float64Array, each of `length` elements.
  std::vector<FloatView> float_list(const char* key, size_t length) {
    Napi::Value v = obj_.Get(key);
    if (!v.IsArray()) fail(std::string(key) + " must be an array of Float32Array or Float64Array");
    Napi::Array arr = v.As<Napi::Array>();
    std::vector<FloatView> out;
    for (uint32_t i = 0; i < arr.Length(); ++i)
      out.push_back(floats_of(arr.Get(i), (std::string(key) + "[" + std::to_string(i) + "]").c_str(), length));
    return out;
  }

  // An array of typed arrays of element type T, each of exactly `length` elements.
  template <typename T>
  std::vector<const T*> array_list(const char* key, size_t length) {
    Napi::Value v = obj_.Get(key);
    if (!v.IsArray()) fail(std::string(key) + " must be an array of " + TypedArrayTraits<T>::name);
    Napi::Array arr = v.As<Napi::Array>();
    std::vector<const T*> out;
    for (uint32_t i = 0; i < arr.Length(); ++i)
      out.push_back(array_of<T>(arr.Get(i), std::string(key) + "[" + std::to_string(i) + "]", length));
    return out;
  }

  // An array of strings.
  std::vector<std::string> strings(const char* key) const {
    Napi::Value v = obj_.Get(key);
    if (!v.IsArray()) fail(std::string(key) + " must be an array of strings");
    Napi::Array arr = v.As<Napi::Array>();
    std::vector<std::string> out;
    for (uint32_t i = 0; i < arr.Length(); ++i) {
      Napi::Value s = arr.Get(i);
      if (!s.IsString()) fail(std::string(key) + " must be an array of strings");
      out.push_back(s.As<Napi::String>().Utf8Value());
    }
    return out;
  }

  // `isa`: default the active one. A name this CPU cannot run is refused here as well as in
  // TypeScript, because running it would not be an error but a crash (illegal instruction).
  modeldiff::Isa isa() const {
    modeldiff::Isa isa = modeldiff::active_isa();
    if (!has("isa")) return isa;
    const std::string name = string("isa");
    if (!modeldiff::parse_isa(name, &isa) || !modeldiff::isa_supported(isa))
      fail("isa '" + name + "' is not supported on this machine");
    return isa;
  }

  // `threads`: default (or 0) all hardware threads.
  unsigned threads() const {
    const size_t t = has("threads") ? size("threads") : 0;
    if (t > 0) return static_cast<unsigned>(t);
    const unsigned hw = std::thread::hardware_concurrency();
    return hw ? hw : 1;
  }

  // JS values the job reads from; the async worker holds references to them.
  const std::vector<Napi::Object>& kept() const { return *kept_; }

 private:
  size_t size_of(const Napi::Value& v, const std::string& key) const {
    if (!v.IsNumber()) fail(key + " must be a number");
    const double d = v.As<Napi::Number>().DoubleValue();
    if (!(d >= 0) || d != std::floor(d) || d > 9007199254740991.0) fail(key + " must be a non-negative integer");
    return static_cast<size_t>(d);
  }

  static void* data_of(const Napi::TypedArray& t) {
    // napi_get_typedarray_info, not TypedArray::ArrayBuffer(): the latter rejects a
    // SharedArrayBuffer with a bare "Invalid argument".
    void* data = nullptr;
    NAPI_THROW_IF_FAILED(t.Env(), napi_get_typedarray_info(t.Env(), t, nullptr, nullptr, &data, nullptr, nullptr),
                         nullptr);
    return data;
  }

  void check_length(const Napi::TypedArray& t, const std::string& key, size_t length) const {
    if (t.ElementLength() != length)
      throw js_error(env_, "SHAPE_MISMATCH", std::string(call_) + ": " + prefix_ + key + " has " +
                                                 std::to_string(t.ElementLength()) + " elements, expected " +
                                                 std::to_string(length));
  }

  FloatView floats_of(const Napi::Value& v, const std::string& key, size_t length) {
    const napi_typedarray_type type = v.IsTypedArray() ? v.As<Napi::TypedArray>().TypedArrayType() : napi_int8_array;
    if (type != napi_float32_array && type != napi_float64_array) fail(key + " must be a Float32Array or Float64Array");
    Napi::TypedArray t = v.As<Napi::TypedArray>();
    check_length(t, key, length);
    kept_->push_back(t);
    return FloatView{data_of(t), type == napi_float32_array, length};
  }

  template <typename T>
  T* array_of(const Napi::Value& v, const std::string& key, size_t length) {
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != TypedArrayTraits<T>::type)
      fail(key + " must be a " + TypedArrayTraits<T>::name);
    Napi::TypedArray t = v.As<Napi::TypedArray>();
    check_length(t, key, length);
    kept_->push_back(t);
    return static_cast<T*>(data_of(t));
  }

  Napi::Env env_;
  const char* call_;
  std::shared_ptr<std::vector<Napi::Object>> kept_;
  Napi::Object obj_;
  std::string prefix_;  // "a." inside field a, for messages
};

// The element count of a shape, refusing products past 2^53 (no size_t wrap-around can then make
// a huge shape match a small buffer).
inline size_t product(const Args& args, std::initializer_list<size_t> dims) {
  double p = 1;
  size_t r = 1;
  for (size_t d : dims) p *= static_cast<double>(d), r *= d;
  if (p > 9007199254740992.0) args.fail("shape too large");
  return r;
}

// Runs `fn`, recording a kernel failure as (code, message, input, row) instead of throwing.
struct Failure {
  std::string code, message;
  long input = -1, row = -1;
  bool failed = false;

  template <typename Fn>
  void guard(Fn&& fn) {
    try {
      fn();
    } catch (const modeldiff::Error& e) {
      *this = Failure{e.code, e.what(), e.input, e.row, true};
    } catch (const std::exception& e) {  // e.g. bad_alloc: a bug or the machine, not the input
      *this = Failure{"INTERNAL", e.what(), -1, -1, true};
    }
  }
  Napi::Error error(Napi::Env env) const { return js_error(env, code, message, input, row); }
};

// `name(options)`: the job on a worker thread, settling a promise.
template <typename Job>
class PromiseWorker : public Napi::AsyncWorker {
 public:
  PromiseWorker(Napi::Env env, const char* name, Args& args)
      : Napi::AsyncWorker(env, name), deferred_(Napi::Promise::Deferred::New(env)), job_(args) {
    for (const Napi::Object& o : args.kept()) refs_.push_back(Napi::Persistent(o));
  }
  Napi::Promise promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override {
    failure_.guard([&] { job_.run(); });
  }
  void OnOK() override {
    if (failure_.failed) deferred_.Reject(failure_.error(Env()).Value());
    else deferred_.Resolve(job_.result(Env()));
  }

 private:
  Napi::Promise::Deferred deferred_;
  Job job_;
  std::vector<Napi::ObjectReference> refs_;
  Failure failure_;
};

// A bad argument rejects the promise too: a promise-returning call never throws.
template <typename Job>
Napi::Value call_async(const Napi::CallbackInfo& info, const char* name) {
  try {
    Args args(info, name);
    auto* worker = new PromiseWorker<Job>(info.Env(), name, args);
    Napi::Promise p = worker->promise();
    worker->Queue();
    return p;
  } catch (const Napi::Error& e) {
    Napi::Promise::Deferred rejected = Napi::Promise::Deferred::New(info.Env());
    rejected.Reject(e.Value());
    return rejected.Promise();
  }
}

template <typename Job>
Napi::Value call_sync(const Napi::CallbackInfo& info, const char* name) {
  Args args(info, name);
  Job job(args);
  Failure failure;
  failure.guard([&] { job.run(); });
  if (failure.failed) throw failure.error(info.Env());
  return job.result(info.Env());
}

// Exports `name` (Promise, worker thread) and `nameSync` (calling thread) for one Job.
template <typename Job>
void export_call(Napi::Env env, Napi::Object exports, const char* name) {
  // `name` must outlive the call: the family files pass string literals.
  exports.Set(name, Napi::Function::New(
                        env, [name](const Napi::CallbackInfo& info) { return call_async<Job>(info, name); }, name));
  const std::string sync = std::string(name) + "Sync";
  exports.Set(sync, Napi::Function::New(
                        env, [name](const Napi::CallbackInfo& info) { return call_sync<Job>(info, name); }, sync));
}

}  // namespace modeldiff_binding
