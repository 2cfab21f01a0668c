// The one run-time choice of a kernel family's per-ISA table (see src/simd_policy.hpp for how
// the tables are built). A family declares `template <Isa I> Table table();` with an explicit
// specialization per ISA translation unit, and calls
//   for_isa(isa, [](auto i) { return family::table<decltype(i)::value>(); })
// Isa::Scalar is the baseline table (2-lane vectors: SSE2 on x86-64, NEON on arm64, both
// always present; the divergence family's is its 1-lane <cmath> reference instead). On arm64
// Isa::Neon is a table of its own: divergence has a NEON table distinct from its reference,
// and the families whose NEON code is their baseline define table<Isa::Neon> as the baseline
// table in their kernel header. The caller passes a supported ISA (binding/binding.hpp refuses
// others), so no CPU check is repeated here.
#pragma once
#include <type_traits>

#include "cpu_features.hpp"

namespace modeldiff {

template <Isa I>
using IsaTag = std::integral_constant<Isa, I>;

template <class Pick>
auto for_isa(Isa isa, Pick pick) {
  switch (isa) {
#if defined(MODELDIFF_X86)
    case Isa::Avx512:
      return pick(IsaTag<Isa::Avx512>{});
    case Isa::Avx2:
      return pick(IsaTag<Isa::Avx2>{});
#endif
#if defined(MODELDIFF_ARM64)
    case Isa::Neon:
      return pick(IsaTag<Isa::Neon>{});
#endif
    default:
      return pick(IsaTag<Isa::Scalar>{});
  }
}

}  // namespace modeldiff
