// Baseline instance of the Gram micro-kernel (src/linalg_kernel.hpp): 2 doubles per vector,
// a 2x4 register tile.
#include "linalg_kernel.hpp"

namespace modeldiff {
namespace linalg {

template <>
SyrkFn syrk_kernel<Isa::Scalar>() {
  return GramKernel<simd::Baseline, 2>::syrk_upper;
}

}  // namespace linalg
}  // namespace modeldiff
