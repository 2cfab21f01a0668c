// AVX-512 instance (8 doubles per vector) of the matching GEMM (src/matching_kernel.hpp).
// Contraction stays off: FMA would change the rounding and break bit-equality across ISAs
// (and the pragma must come before the kernel's templates are defined).
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif
#include "matching_kernel.hpp"

namespace modeldiff {
namespace matching {

template <>
Gemm gemm_kernel<Isa::Avx512>() {
  return GemmKernel<simd::Avx512>::table();
}

}  // namespace matching
}  // namespace modeldiff
