// The one error type every kernel family throws for a failure its caller caused. Plain C++,
// no Node-API: binding/binding.hpp turns it into a JS error carrying the same three fields, and
// lib/native/call.ts into a ModeldiffError.
#pragma once
#include <stdexcept>
#include <string>
#include <utility>

namespace modeldiff {

struct Error : std::runtime_error {
  // One of the ErrorCode strings of lib/errors.ts (INVALID_ARGUMENT, NON_FINITE, ...).
  std::string code;
  // Which input is at fault, as the call's inputs are numbered (0 = first matrix, or the model
  // index of a pairwise call); -1 = none in particular.
  long input;
  // Row of that input, -1 = none.
  long row;
  Error(std::string code_, long input_, long row_, const std::string& detail)
      : std::runtime_error(detail), code(std::move(code_)), input(input_), row(row_) {}
  Error(std::string code_, const std::string& detail) : Error(std::move(code_), -1, -1, detail) {}
};

}  // namespace modeldiff
