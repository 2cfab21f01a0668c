// Each binding/<family>.cpp registers its exports with a static Registrar, so a
// new kernel family is one new file and no edit to the module init. Read arguments, views and
// errors through binding/binding.hpp.
#pragma once
#include <napi.h>

namespace modeldiff_binding {

using InitFn = void (*)(Napi::Env env, Napi::Object exports);

struct Registrar {
  Registrar(const char* family, InitFn fn);
};

void InitAll(Napi::Env env, Napi::Object exports);

}  // namespace modeldiff_binding
