// The assignment kernels (assignment_kernel.inl.hpp) compiled with AVX2 flags.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>

#include "assignment_kernel.hpp"

namespace modeldiff {
namespace lsa {
namespace avx2 {
#define MD_LSA_LANES 4
#include "assignment_kernel.inl.hpp"
#undef MD_LSA_LANES
}  // namespace avx2
Kernels kernels_avx2() { return Kernels{avx2::lsa_relax, avx2::lsa_reduce_row}; }
}  // namespace lsa
}  // namespace modeldiff
