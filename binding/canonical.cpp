// Node-API glue for the canonicalization kernels (src/canonical.hpp), on binding/binding.hpp.
// A layer is read by binding/layer.hpp (LayerWeights in lib/weights/kernels.ts).
//   normalizeScale[Sync]({ layer })               -> Float64Array factors   (in place)
//   fixSign[Sync]({ layer })                      -> Int8Array signs        (in place)
//   sortPermutation[Sync]({ layer, key })         -> Int32Array perm        (key: out-norm | bias | in-l1 | first-weight)
//   sortKeys[Sync]({ layer, key })                -> Float64Array keys
//   applyPermutation[Sync]({ layer, perm })       -> undefined              (in place)
//   permuteUnitAxis[Sync]({ data, rows, units, block, perm }) -> undefined  (in place)
// lib/weights/kernels.ts checks values (permutations) before calling; matchingSimilarity is
// binding/matching.cpp.
#include <string>

#include "binding.hpp"
#include "canonical.hpp"
#include "layer.hpp"

namespace {

using modeldiff::LayerView;
using modeldiff_binding::Args;
using modeldiff_binding::Output;
using modeldiff_binding::layer_of;

// An index out of range would write outside the layer's arrays: refused here, with the buffer
// sizes, although lib/weights/kernels.ts has already checked it.
const int32_t* permutation_of(Args& args, size_t units) {
  const int32_t* perm = args.array<int32_t>("perm", units);
  if (!modeldiff::is_permutation(perm, units)) args.fail("perm is not a permutation of 0.." + std::to_string(units) + "-1");
  return perm;
}

modeldiff::SortKey key_of(const Args& args) {
  const std::string key = args.string("key");
  if (key == "out-norm") return modeldiff::SortKey::OutNorm;
  if (key == "bias") return modeldiff::SortKey::Bias;
  if (key == "in-l1") return modeldiff::SortKey::InL1;
  if (key == "first-weight") return modeldiff::SortKey::FirstWeight;
  args.fail("key must be one of out-norm, bias, in-l1, first-weight");
}

struct NormalizeScale {
  LayerView layer;
  Output<double> factors;
  explicit NormalizeScale(Args& args) : layer(layer_of(args.object("layer"))), factors(args.env(), layer.units) {}
  void run() { modeldiff::normalize_scale(layer, factors.data); }
  Napi::Value result(Napi::Env) { return factors.value(); }
};

struct FixSign {
  LayerView layer;
  Output<int8_t> signs;
  explicit FixSign(Args& args) : layer(layer_of(args.object("layer"))), signs(args.env(), layer.units) {}
  void run() { modeldiff::fix_sign(layer, signs.data); }
  Napi::Value result(Napi::Env) { return signs.value(); }
};

struct SortPermutation {
  LayerView layer;
  modeldiff::SortKey key;
  Output<int32_t> perm;
  explicit SortPermutation(Args& args)
      : layer(layer_of(args.object("layer"))), key(key_of(args)), perm(args.env(), layer.units) {}
  void run() { modeldiff::sort_permutation(layer, key, perm.data); }
  Napi::Value result(Napi::Env) { return perm.value(); }
};

struct SortKeys {
  LayerView layer;
  modeldiff::SortKey key;
  Output<double> keys;
  explicit SortKeys(Args& args) : layer(layer_of(args.object("layer"))), key(key_of(args)), keys(args.env(), layer.units) {}
  void run() { modeldiff::sort_keys(layer, key, keys.data); }
  Napi::Value result(Napi::Env) { return keys.value(); }
};

struct ApplyPermutation {
  LayerView layer;
  const int32_t* perm;
  explicit ApplyPermutation(Args& args)
      : layer(layer_of(args.object("layer"))), perm(permutation_of(args, layer.units)) {}
  void run() { modeldiff::apply_permutation(layer, perm); }
  Napi::Value result(Napi::Env env) { return env.Undefined(); }
};

struct PermuteUnitAxis {
  size_t rows, units, block;
  double* data;
  const int32_t* perm;
  explicit PermuteUnitAxis(Args& args)
      : rows(args.size("rows")),
        units(args.size("units")),
        block(args.size("block")),
        data(args.array<double>("data", modeldiff_binding::product(args, {rows, units, block}))),
        perm(permutation_of(args, units)) {}
  void run() { modeldiff::permute_unit_axis(data, rows, units, block, perm); }
  Napi::Value result(Napi::Env env) { return env.Undefined(); }
};


void InitCanonical(Napi::Env env, Napi::Object exports) {
  using modeldiff_binding::export_call;
  export_call<NormalizeScale>(env, exports, "normalizeScale");
  export_call<FixSign>(env, exports, "fixSign");
  export_call<SortPermutation>(env, exports, "sortPermutation");
  export_call<SortKeys>(env, exports, "sortKeys");
  export_call<ApplyPermutation>(env, exports, "applyPermutation");
  export_call<PermuteUnitAxis>(env, exports, "permuteUnitAxis");
}

modeldiff_binding::Registrar reg("canonical", InitCanonical);

}  // namespace
