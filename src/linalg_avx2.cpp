// AVX2+FMA instance of the Gram micro-kernel (src/linalg_kernel.hpp): 4 doubles per vector,
// a 2x4 register tile (16 ymm registers: 8 accumulators plus 5 operands; 4x4 would spill).
#include "linalg_kernel.hpp"

namespace modeldiff {
namespace linalg {

template <>
SyrkFn syrk_kernel<Isa::Avx2>() {
  return GramKernel<simd::Avx2, 2>::syrk_upper;
}

}  // namespace linalg
}  // namespace modeldiff
