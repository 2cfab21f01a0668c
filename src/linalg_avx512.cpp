// AVX-512 instantiation of the Gram micro-kernel (32 zmm registers: a 4x4 tile).
#include <cstddef>
#include <cstring>

#include "linalg.hpp"

namespace modeldiff {
namespace linalg {
namespace avx512_impl {
#define MD_LANES 8
#define MD_TILE4 1
#include "linalg_kernel.inl.hpp"
}  // namespace avx512_impl

void syrk_upper_avx512(const double* A, std::size_t m, std::size_t len, std::size_t lda, double* C,
                       std::size_t ldc, std::size_t i0, std::size_t i1) {
  avx512_impl::syrk_upper_rows(A, m, len, lda, C, ldc, i0, i1);
}

}  // namespace linalg
}  // namespace modeldiff
