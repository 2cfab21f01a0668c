// Node-API glue for the bootstrap kernel (src/bootstrap.hpp), on binding/binding.hpp:
//   bootstrap[Sync]({ numerators: Float64Array[] (m columns of `units` values),
//                     denominators?: Float64Array (`units` values) | null,
//                     units, first, count, seed, threads? })
//     -> Float64Array m*count (replicate statistics, row-major by column)
//   bootstrapUnblocked[Sync](the same) -> the same, from the kernel before cache blocking; only
//     in a MODELDIFF_BENCH_KERNELS build (CMakeLists.txt), for bench/bootstrap.bench.ts
// lib/stats/bootstrap.ts checks values (replicates, seed, threads, lengths) before calling.
#include <vector>

#include "binding.hpp"
#include "bootstrap.hpp"

namespace {

using modeldiff_binding::Args;
using modeldiff_binding::Output;

template <bool Unblocked>
struct Bootstrap {
  size_t units;
  std::vector<const double*> numerators;
  const double* denominators;
  uint64_t first;
  size_t count;
  uint64_t seed;
  unsigned threads;
  Output<double> out;

  explicit Bootstrap(Args& args)
      : units(args.size("units")),
        numerators(args.array_list<double>("numerators", units)),
        denominators(args.has("denominators") ? args.array<double>("denominators", units) : nullptr),
        first(args.size("first")),
        count(args.size("count")),
        seed(args.size("seed")),
        threads(args.threads()),
        out(args.env(), modeldiff_binding::product(args, {numerators.size(), count})) {}
  void run() {
#if defined(MODELDIFF_BENCH_KERNELS)
    if (Unblocked) {
      modeldiff::bootstrap_resample_ratios_unblocked(numerators.data(), numerators.size(), denominators, units, first,
                                                     count, seed, out.data, threads);
      return;
    }
#endif
    modeldiff::bootstrap_resample_ratios(numerators.data(), numerators.size(), denominators, units, first, count, seed,
                                         out.data, threads);
  }
  Napi::Value result(Napi::Env) { return out.value(); }
};

void InitBootstrap(Napi::Env env, Napi::Object exports) {
  modeldiff_binding::export_call<Bootstrap<false>>(env, exports, "bootstrap");
#if defined(MODELDIFF_BENCH_KERNELS)
  modeldiff_binding::export_call<Bootstrap<true>>(env, exports, "bootstrapUnblocked");
#endif
}

modeldiff_binding::Registrar reg("bootstrap", InitBootstrap);

}  // namespace
