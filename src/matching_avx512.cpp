// The matching GEMM (matching_kernel.inl.hpp) compiled with AVX512 flags.
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
namespace avx512 {
#define MD_MT_LANES 8
#include "matching_kernel.inl.hpp"
#undef MD_MT_LANES
}  // namespace avx512
Gemm gemm_avx512() { return Gemm{avx512::MT_NR, avx512::MT_MR, avx512::mt_pack_b, avx512::mt_rows}; }
}  // namespace matching
}  // namespace modeldiff
