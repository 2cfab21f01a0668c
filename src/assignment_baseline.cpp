// Baseline instance (2 doubles per vector: SSE2 on x86-64, NEON on arm64) of the assignment kernels (src/assignment_kernel.hpp).
#include "assignment_kernel.hpp"

namespace modeldiff {
namespace lsa {

template <>
Kernels kernels<Isa::Scalar>() {
  return AssignmentKernel<simd::Baseline>::table();
}

}  // namespace lsa
}  // namespace modeldiff
