// Module init: runs every family registered through binding/registry.hpp.
#include <utility>
#include <vector>

#include "registry.hpp"

namespace modeldiff_binding {

namespace {
std::vector<std::pair<const char*, InitFn>>& registry() {
  // Function-local static: safe against static-initialization order across files.
  static std::vector<std::pair<const char*, InitFn>> r;
  return r;
}
}  // namespace

Registrar::Registrar(const char* family, InitFn fn) { registry().emplace_back(family, fn); }

void InitAll(Napi::Env env, Napi::Object exports) {
  for (auto& [family, fn] : registry()) fn(env, exports);
}

}  // namespace modeldiff_binding

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  modeldiff_binding::InitAll(env, exports);
  return exports;
}

NODE_API_MODULE(modeldiff, Init)
