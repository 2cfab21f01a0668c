// Runtime CPU feature detection and ISA selection, chosen once per process.
// Every SIMD kernel family asks `active_isa()` which implementation to call.
#pragma once
#include <string>
#include <vector>

namespace modeldiff {

enum class Isa { Scalar = 0, Avx2 = 1, Avx512 = 2, Neon = 3 };

const char* isa_name(Isa isa);

// ISAs this CPU (and this build) can execute, best last. Scalar is always present.
const std::vector<Isa>& supported_isas();

// The ISA kernels use by default: the best supported one, unless the environment
// variable MODELDIFF_ISA names another supported one (scalar|avx2|avx512|neon),
// which tests use to force each path.
Isa active_isa();

// Parse an ISA name; returns false if unknown.
bool parse_isa(const std::string& name, Isa* out);

bool isa_supported(Isa isa);

}  // namespace modeldiff
