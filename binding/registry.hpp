// Each binding/<family>.cpp registers its exports with a static Registrar, so a
// new kernel family is one new file and no edit to the module init.
#pragma once
#include <napi.h>

namespace modeldiff_binding {

using InitFn = void (*)(Napi::Env env, Napi::Object exports);

struct Registrar {
  Registrar(const char* family, InitFn fn);
};

void InitAll(Napi::Env env, Napi::Object exports);

// First element of a typed array, whether its buffer is an ArrayBuffer or a SharedArrayBuffer
// (TypedArray::ArrayBuffer() only accepts the former and throws a bare "Invalid argument").
inline const void* typed_array_data(const Napi::TypedArray& t) {
  void* data = nullptr;
  NAPI_THROW_IF_FAILED(t.Env(), napi_get_typedarray_info(t.Env(), t, nullptr, nullptr, &data, nullptr, nullptr), nullptr);
  return data;
}

}  // namespace modeldiff_binding
