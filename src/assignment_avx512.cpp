// The assignment kernels (assignment_kernel.inl.hpp) compiled with AVX512 flags.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>

#include "assignment_kernel.hpp"

namespace modeldiff {
namespace lsa {
namespace avx512 {
#define MD_LSA_LANES 8
#include "assignment_kernel.inl.hpp"
#undef MD_LSA_LANES
}  // namespace avx512
Kernels kernels_avx512() { return Kernels{avx512::lsa_relax, avx512::lsa_reduce_row}; }
}  // namespace lsa
}  // namespace modeldiff
