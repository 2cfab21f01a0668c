// Node-API glue for the weight-matching similarity kernel (src/matching.hpp), on
// binding/binding.hpp:
//   matchingSimilarity[Sync]({ a, b, isa?, threads?, out? }) -> Float64Array a.units x b.units (out, if given)
// a and b are layers (binding/layer.hpp). lib/weights/kernels.ts checks values (matching
// shapes, isa, threads) before calling.
#include "binding.hpp"
#include "layer.hpp"
#include "matching.hpp"

namespace {

using modeldiff::LayerView;
using modeldiff_binding::Args;
using modeldiff_binding::Output;
using modeldiff_binding::layer_of;

struct MatchingSimilarity {
  LayerView a, b;
  modeldiff::Isa isa;
  unsigned threads;
  Output<double> out;
  explicit MatchingSimilarity(Args& args)
      : a(layer_of(args.object("a"))),
        b(layer_of(args.object("b"))),
        isa(args.isa()),
        threads(args.threads()),
        out(args.output<double>("out", a.units * b.units)) {
    // The kernel reads b's rows with a's length: unequal dimensions would read past b's arrays.
    if (b.fan_in != a.fan_in || b.out_rows != a.out_rows || b.block != a.block)
      args.fail("b.fanIn, b.outRows and b.block must equal a's");
  }
  void run() { modeldiff::matching_similarity(a, b, out.data, threads, isa); }
  Napi::Value result(Napi::Env) { return out.value(); }
};

void InitMatching(Napi::Env env, Napi::Object exports) {
  modeldiff_binding::export_call<MatchingSimilarity>(env, exports, "matchingSimilarity");
}

modeldiff_binding::Registrar reg("matching", InitMatching);

}  // namespace
