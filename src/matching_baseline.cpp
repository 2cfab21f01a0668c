// Baseline instance (2 doubles per vector: SSE2 on x86-64, NEON on arm64) of the matching GEMM (src/matching_kernel.hpp).
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
Gemm gemm_kernel<Isa::Scalar>() {
  return GemmKernel<simd::Baseline>::table();
}

}  // namespace matching
}  // namespace modeldiff
