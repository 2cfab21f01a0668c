// capabilities(): which SIMD paths this build and CPU support, and which one is active.
#include <thread>

#include "cpu_features.hpp"
#include "registry.hpp"

namespace {

Napi::Value Capabilities(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  const auto& isas = modeldiff::supported_isas();
  Napi::Array supported = Napi::Array::New(env, isas.size());
  for (size_t i = 0; i < isas.size(); ++i) supported.Set(i, modeldiff::isa_name(isas[i]));
  out.Set("isa", modeldiff::isa_name(modeldiff::active_isa()));
  out.Set("supported", supported);
  out.Set("threads", Napi::Number::New(env, std::thread::hardware_concurrency()));
  out.Set("napiVersion", Napi::Number::New(env, NAPI_VERSION));
  return out;
}

void InitCapabilities(Napi::Env env, Napi::Object exports) {
  exports.Set("capabilities", Napi::Function::New(env, Capabilities, "capabilities"));
}

modeldiff_binding::Registrar reg("capabilities", InitCapabilities);

}  // namespace
