// AVX-512 instance (8 doubles per vector) of the assignment kernels (src/assignment_kernel.hpp).
#include "assignment_kernel.hpp"

namespace modeldiff {
namespace lsa {

template <>
Kernels kernels<Isa::Avx512>() {
  return AssignmentKernel<simd::Avx512>::table();
}

}  // namespace lsa
}  // namespace modeldiff
