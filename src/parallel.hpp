// Split [0, count) into `threads` contiguous ranges and run fn(begin, end) on each, the first
// range on the calling thread. Exceptions are caught per range and the one from the earliest
// range is rethrown, so which error a caller sees does not depend on scheduling.
#pragma once
#include <cstddef>
#include <exception>
#include <thread>
#include <vector>

namespace modeldiff {

template <class F>
void parallel_ranges(size_t count, unsigned threads, F fn) {
  if (threads < 1) threads = 1;
  if (threads > count) threads = static_cast<unsigned>(count == 0 ? 1 : count);
  std::vector<std::exception_ptr> errors(threads);
  auto run = [&](unsigned t) {
    const size_t begin = count * t / threads, end = count * (t + 1) / threads;
    try {
      fn(begin, end);
    } catch (...) {
      errors[t] = std::current_exception();
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(threads - 1);
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(run, t);
  run(0);
  for (auto& th : pool) th.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace modeldiff
