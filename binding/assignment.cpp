// Node-API glue for linear sum assignment (src/assignment.hpp), on binding/binding.hpp:
//   linearSumAssignment[Sync]({ cost: Float64Array rows*cols, rows, cols, maximize?, method?, isa? })
//     -> { rowToCol: Int32Array, total }
// method: 'auto' (default) | 'lapjv' | 'shortest-path'; isa (default the active one) is for SIMD
// parity tests. lib/weights/kernels.ts checks values before calling.
#include <string>

#include "assignment.hpp"
#include "binding.hpp"

namespace {

using modeldiff::AssignmentMethod;
using modeldiff_binding::Args;
using modeldiff_binding::Output;

AssignmentMethod method_of(const Args& args) {
  if (!args.has("method")) return AssignmentMethod::Auto;
  const std::string m = args.string("method");
  if (m == "auto") return AssignmentMethod::Auto;
  if (m == "lapjv") return AssignmentMethod::Lapjv;
  if (m == "shortest-path") return AssignmentMethod::ShortestPath;
  args.fail("method must be one of auto, lapjv, shortest-path");
}

struct LinearSumAssignment {
  size_t rows, cols;
  const double* cost;
  bool maximize;
  AssignmentMethod method;
  modeldiff::Isa isa;
  Output<int32_t> row_to_col;
  double total = 0;

  explicit LinearSumAssignment(Args& args)
      : rows(args.size("rows")),
        cols(args.size("cols")),
        cost(args.array<double>("cost", modeldiff_binding::product(args, {rows, cols}))),
        maximize(args.flag("maximize")),
        method(method_of(args)),
        isa(args.isa()),
        row_to_col(args.env(), rows) {}
  void run() { total = modeldiff::linear_sum_assignment(cost, rows, cols, maximize, row_to_col.data, method, isa); }
  Napi::Value result(Napi::Env env) {
    Napi::Object out = Napi::Object::New(env);
    out.Set("rowToCol", row_to_col.value());
    out.Set("total", Napi::Number::New(env, total));
    return out;
  }
};

void InitAssignment(Napi::Env env, Napi::Object exports) {
  modeldiff_binding::export_call<LinearSumAssignment>(env, exports, "linearSumAssignment");
}

modeldiff_binding::Registrar reg("assignment", InitAssignment);

}  // namespace
