// AVX-512 instance of the Gram micro-kernel (src/linalg_kernel.hpp): 8 doubles per vector,
// a 4x4 register tile (32 zmm registers).
#include "linalg_kernel.hpp"

namespace modeldiff {
namespace linalg {

template <>
SyrkFn syrk_kernel<Isa::Avx512>() {
  return GramKernel<simd::Avx512, 4>::syrk_upper;
}

}  // namespace linalg
}  // namespace modeldiff
