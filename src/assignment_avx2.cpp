// AVX2 instance (4 doubles per vector) of the assignment kernels (src/assignment_kernel.hpp).
#include "assignment_kernel.hpp"

namespace modeldiff {
namespace lsa {

template <>
Kernels kernels<Isa::Avx2>() {
  return AssignmentKernel<simd::Avx2>::table();
}

}  // namespace lsa
}  // namespace modeldiff
