#pragma once
/// Parallel loops over index ranges, on oneTBB when fabforge is built with it (FABFORGE_WITH_TBB)
/// and serial otherwise.
///
/// Contract for deterministic output at any thread count:
///   - parallel_for bodies write disjoint slots;
///   - parallel_reduce splits the range into chunks whose boundaries depend only on the range
///     and the grain (never on the thread count or the scheduler), reduces each chunk serially,
///     then combines the chunk results left to right on the calling thread. Floating-point sums
///     are therefore bit-identical on 1 or 64 threads.
/// Loops run in the calling thread's task arena, so RunContext::run limits their thread count.

#include <algorithm>
#include <cstddef>
#include <utility>
#include <vector>

#if FABFORGE_WITH_TBB
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#endif

namespace fabforge {

/// Calls body(lo, hi) on disjoint sub-ranges covering [begin, end), each at most `grain` long
/// (grain 0 means 1). Exceptions thrown by a body propagate to the caller.
template <class Body>
void parallel_for(std::size_t begin, std::size_t end, std::size_t grain, Body&& body) {
  if (end <= begin) return;
  grain = std::clamp<std::size_t>(grain, 1, end - begin);  // also keeps lo + grain from overflowing
#if FABFORGE_WITH_TBB
  if (end - begin > grain) {  // a range of one grain runs serially
    tbb::parallel_for(
        tbb::blocked_range<std::size_t>(begin, end, grain),
        [&](const tbb::blocked_range<std::size_t>& r) { body(r.begin(), r.end()); }, tbb::simple_partitioner());
    return;
  }
#endif
  for (std::size_t lo = begin; lo < end; lo += grain) body(lo, std::min(end, lo + grain));
}

/// Calls body(i) for every i in [begin, end).
template <class Body>
void parallel_for_each_index(std::size_t begin, std::size_t end, std::size_t grain, Body&& body) {
  parallel_for(begin, end, grain, [&](std::size_t lo, std::size_t hi) {
    for (std::size_t i = lo; i < hi; ++i) body(i);
  });
}

/// Deterministic reduction: map(lo, hi) -> T on fixed chunks of `grain` items, then
/// combine(T, T) -> T left to right starting from `identity`.
template <class T, class Map, class Combine>
T parallel_reduce(std::size_t begin, std::size_t end, std::size_t grain, T identity, Map&& map, Combine&& combine) {
  if (end <= begin) return identity;
  grain = std::clamp<std::size_t>(grain, 1, end - begin);  // also keeps lo + grain from overflowing
  const std::size_t chunks = (end - begin + grain - 1) / grain;
  std::vector<T> partial(chunks, identity);
  parallel_for(0, chunks, 1, [&](std::size_t lo, std::size_t hi) {
    for (std::size_t c = lo; c < hi; ++c) {
      const std::size_t b = begin + c * grain;
      partial[c] = map(b, std::min(end, b + grain));
    }
  });
  T result = std::move(identity);
  for (auto& p : partial) result = combine(std::move(result), std::move(p));
  return result;
}

}  // namespace fabforge
