// Split [0, count) into `threads` contiguous ranges and run fn(begin, end) on each, the first
// range on the calling thread. Exceptions are caught per range and the one from the earliest
// range is rethrown, so which error a caller sees does not depend on scheduling.
#pragma once
#include <cstddef>
#include <exception>
#include <system_error>
#include <thread>
#include <vector>

namespace modeldiff {

// At most one thread per hardware thread: more cannot help (no result depends on the count) and
// an absurd request (threads: 1e5) would exhaust the process. If the system still refuses a
// thread, its range runs on the calling thread instead of aborting.
template <class F>
void parallel_ranges(size_t count, unsigned threads, F fn) {
  const unsigned hw = std::thread::hardware_concurrency();
  if (threads > (hw > 0 ? hw : 1)) threads = hw > 0 ? hw : 1;
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
  unsigned started = 1;
  try {
    for (; started < threads; ++started) pool.emplace_back(run, started);
  } catch (const std::system_error&) {  // no more threads: the rest run here
  }
  run(0);
  for (unsigned t = started; t < threads; ++t) run(t);
  for (auto& th : pool) th.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace modeldiff
