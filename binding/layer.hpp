// A hidden layer as the weight kernels read it (modeldiff::LayerView, src/canonical.hpp): the
// object { win, bin, wout, units, fanIn, outRows, block } of LayerWeights in
// lib/weights/kernels.ts, its arrays checked against those sizes. Shared by
// binding/canonical.cpp and binding/matching.cpp.
#pragma once
#include "binding.hpp"
#include "canonical.hpp"

namespace modeldiff_binding {

inline modeldiff::LayerView layer_of(Args args) {
  const size_t units = args.size("units"), fan_in = args.size("fanIn"), out_rows = args.size("outRows"),
               block = args.size("block");
  return modeldiff::LayerView{args.array<double>("win", product(args, {units, fan_in})),
                              args.array<double>("bin", units),
                              args.array<double>("wout", product(args, {out_rows, units, block})),
                              units,
                              fan_in,
                              out_rows,
                              block};
}

}  // namespace modeldiff_binding
