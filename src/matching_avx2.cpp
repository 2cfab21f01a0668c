// The matching GEMM (matching_kernel.inl.hpp) compiled with AVX2 flags.
// Contraction stays off: the flags enable FMA, which would change rounding
// and break bit-equality with the other paths.
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif
#include <algorithm>
#include <cstddef>
#include <cstring>

#include "matching_kernel.hpp"

namespace modeldiff {
namespace matching {
namespace avx2 {
#define MD_MT_LANES 4
#include "matching_kernel.inl.hpp"
#undef MD_MT_LANES
}  // namespace avx2
Gemm gemm_avx2() { return Gemm{avx2::MT_NR, avx2::MT_MR, avx2::mt_pack_b, avx2::mt_rows}; }
}  // namespace matching
}  // namespace modeldiff
