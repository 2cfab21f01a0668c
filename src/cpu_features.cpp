#include "cpu_features.hpp"

#include <cstdlib>
#include <cstring>

#if defined(MODELDIFF_X86) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#endif

namespace modeldiff {

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Avx2: return "avx2";
    case Isa::Avx512: return "avx512";
    case Isa::Neon: return "neon";
    default: return "scalar";
  }
}

bool parse_isa(const std::string& name, Isa* out) {
  if (name == "scalar") { *out = Isa::Scalar; return true; }
  if (name == "avx2") { *out = Isa::Avx2; return true; }
  if (name == "avx512") { *out = Isa::Avx512; return true; }
  if (name == "neon") { *out = Isa::Neon; return true; }
  return false;
}

namespace {

#if defined(MODELDIFF_X86) && (defined(__GNUC__) || defined(__clang__))
// XGETBV: the OS must have enabled the wide register state, not just the CPU.
unsigned long long xgetbv0() {
  unsigned int eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<unsigned long long>(edx) << 32) | eax;
}

void detect_x86(std::vector<Isa>& out) {
  unsigned int a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return;
  const bool osxsave = c & (1u << 27);
  const bool fma = c & (1u << 12);
  if (!osxsave) return;
  const unsigned long long xcr0 = xgetbv0();
  const bool ymm = (xcr0 & 0x6) == 0x6;
  const bool zmm = (xcr0 & 0xe6) == 0xe6;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return;
  const bool avx2 = b & (1u << 5);
  const bool avx512f = b & (1u << 16);
  const bool avx512dq = b & (1u << 17);
  const bool avx512bw = b & (1u << 30);
  const bool avx512vl = b & (1u << 31);
  if (ymm && avx2 && fma) out.push_back(Isa::Avx2);
  if (zmm && avx512f && avx512dq && avx512bw && avx512vl && fma) out.push_back(Isa::Avx512);
}
#endif

std::vector<Isa> detect() {
  std::vector<Isa> isas{Isa::Scalar};
#if defined(MODELDIFF_X86) && (defined(__GNUC__) || defined(__clang__))
  detect_x86(isas);
#elif defined(MODELDIFF_ARM64)
  isas.push_back(Isa::Neon);  // Advanced SIMD is mandatory on AArch64.
#endif
  return isas;
}

}  // namespace

const std::vector<Isa>& supported_isas() {
  static const std::vector<Isa> isas = detect();
  return isas;
}

bool isa_supported(Isa isa) {
  for (Isa s : supported_isas())
    if (s == isa) return true;
  return false;
}

Isa active_isa() {
  static const Isa chosen = [] {
    const char* env = std::getenv("MODELDIFF_ISA");
    Isa wanted;
    if (env && *env && parse_isa(env, &wanted) && isa_supported(wanted)) return wanted;
    return supported_isas().back();
  }();
  return chosen;
}

}  // namespace modeldiff
