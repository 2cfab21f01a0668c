// Node-API glue for the bootstrap kernel (src/bootstrap.hpp), on binding/binding.hpp:
//   bootstrap[Sync]({ numerators: Float64Array[] (m columns of `units` values),
//                     denominators?: Float64Array (`units` values) | null,
//                     units, first, count, seed, threads? })
//     -> Float64Array m*count (replicate statistics, row-major by column)
// lib/stats/bootstrap.ts checks values (replicates, seed, threads, lengths) before calling.
#include <vector>

#include "binding.hpp"
#include "bootstrap.hpp"

namespace {

using modeldiff_binding::Args;
using modeldiff_binding::Output;

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
    modeldiff::bootstrap_resample_ratios(numerators.data(), numerators.size(), denominators, units, first, count, seed,
                                         out.data, threads);
  }
  Napi::Value result(Napi::Env) { return out.value(); }
};

void InitBootstrap(Napi::Env env, Napi::Object exports) {
  modeldiff_binding::export_call<Bootstrap>(env, exports, "bootstrap");
}

modeldiff_binding::Registrar reg("bootstrap", InitBootstrap);

}  // namespace
