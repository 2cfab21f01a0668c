// Linear sum assignment. See assignment.hpp for the contract.
//
// Square finite matrices: Jonker-Volgenant (LAPJV): column reduction,
// reduction transfer, then a Dijkstra shortest augmenting path from each free
// row. The augmenting row reduction phase of the 1987 paper is left out on
// purpose: on uniform random costs (n = 1024) it needed 2.5x more full-row
// scans than the shortest-path phase needs to place the same free rows, and
// was the slowest phase. The shortest-path phase runs on dense rows with a
// +Inf mask for scanned columns instead of the paper's column list, so its one
// pass per step (relax + argmin) vectorizes (src/assignment_kernel.hpp).
//
// Rectangular matrices, or ones with forbidden entries: the same vectorized
// shortest augmenting path phase from every row, without the column reduction
// (which assumes a square, finite matrix), on a rows <= cols view (taller
// inputs are transposed). Maximizing multiplies by -1 on the fly (exact).
//
// AssignmentMethod::ShortestPath instead runs the Crouse (2016) method as in
// scipy (scalar, an independent implementation the tests cross-check).
#include "assignment.hpp"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "assignment_kernel.hpp"
#include "error.hpp"
#include "isa_dispatch.hpp"

namespace modeldiff {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

lsa::Kernels kernels_for(Isa isa) {
  return for_isa(isa, [](auto i) { return lsa::kernels<decltype(i)::value>(); });
}

std::string at(size_t r, size_t c) {
  return "[" + std::to_string(r) + ", " + std::to_string(c) + "]";
}

// ---------------------------------------------------------------------------
// Jonker-Volgenant augmentation phase on the nr x nc (nr <= nc) matrix
// sign * c: a Dijkstra shortest augmenting path from each row of free_rows,
// given column prices v (dual feasible for the current partial assignment
// x: row -> column, y: column -> row; all zero and empty is valid). d[j]:
// distance to column j; mask[j]: +Inf once j is scanned (distance final).
// Returns false if some row cannot be assigned: every remaining distance is
// +Inf (forbidden entries, or overflow for costs near DBL_MAX).
bool augment(const double* c, double sign, int nr, int nc, const lsa::Kernels& k,
             std::vector<double>& v, int32_t* x, std::vector<int>& y,
             const std::vector<int>& free_rows) {
  std::vector<double> d(nc), mask(nc);
  std::vector<int64_t> pred(nc);
  std::vector<int> ready(nc);
  // Among equally distant columns a free one ends the search at once, so on
  // a tie whose lowest column is assigned, take the lowest free one if any
  // ties too. On integer costs with many ties this saves most of the steps.
  // (Ties are common after the reduction transfer, which leaves each such row
  // with two columns of equal reduced cost, so only free columns are checked.)
  std::vector<int> free_cols;
  for (int j = 0; j < nc; ++j)
    if (y[j] < 0) free_cols.push_back(j);
  auto prefer_free = [&](lsa::Argmin a) {
    if (a.tie && y[a.col] >= 0) {
      int best = -1;
      for (const int j : free_cols)
        if (mask[j] == 0 && d[j] == a.value && (best < 0 || j < best)) best = j;
      if (best >= 0) a.col = best;
    }
    return a;
  };
  for (const int f : free_rows) {
    std::fill(d.begin(), d.end(), kInf);
    std::fill(mask.begin(), mask.end(), 0.0);
    lsa::Argmin next = prefer_free(k.relax(c + static_cast<size_t>(f) * nc, sign, v.data(),
                                           mask.data(), 0.0, f, d.data(), pred.data(), nc));
    int nready = 0;
    while (next.col >= 0 && y[next.col] >= 0) {
      const int j = static_cast<int>(next.col);
      mask[j] = kInf;
      ready[nready++] = j;
      const int i = y[j];
      const double* ci = c + static_cast<size_t>(i) * nc;
      const double h = ci[j] * sign - v[j] - next.value;
      next = prefer_free(k.relax(ci, sign, v.data(), mask.data(), h, i, d.data(), pred.data(), nc));
    }
    if (next.col < 0) return false;
    // Price update keeps the reduced costs of the scanned columns non-negative.
    for (int r = 0; r < nready; ++r) v[ready[r]] += d[ready[r]] - next.value;
    int endofpath = static_cast<int>(next.col), i;
    for (size_t r = 0; r < free_cols.size(); ++r)
      if (free_cols[r] == endofpath) {
        free_cols[r] = free_cols.back();
        free_cols.pop_back();
        break;
      }
    do {
      i = static_cast<int>(pred[endofpath]);
      y[endofpath] = i;
      const int j1 = endofpath;
      endofpath = x[i];
      x[i] = j1;
    } while (i != f);
  }
  return true;
}

// LAPJV on the n x n finite matrix sign * c, after its column minima (vmin,
// first arg-min row imin, tie count) are known. Fills x (row -> column).
bool lapjv(const double* c, double sign, int n, const std::vector<double>& vmin,
           const std::vector<int64_t>& imin, const std::vector<int64_t>& count,
           const lsa::Kernels& k, int32_t* x) {
  std::vector<int> y(n, -1), matches(n, 0), free_rows;
  std::vector<double> v(vmin);
  for (int i = 0; i < n; ++i) x[i] = -1;

  // 1. Column reduction: the row that is the minimum of exactly one column
  // gets it. Among tied minima an unassigned row is preferred, so a constant
  // matrix is solved here, as the identity.
  for (int j = 0; j < n; ++j) {
    int i = static_cast<int>(imin[j]);
    if (x[i] >= 0 && count[j] > 1) {
      for (int r = 0; r < n; ++r)
        if (x[r] < 0 && c[static_cast<size_t>(r) * n + j] * sign == v[j]) {
          i = r;
          break;
        }
    }
    if (++matches[i] == 1) {
      x[i] = j;
      y[j] = i;
    } else if (v[j] < v[x[i]]) {
      const int j1 = x[i];
      x[i] = j;
      y[j] = i;
      y[j1] = -1;
    }
  }

  // 2. Reduction transfer from rows matched once; collect the free rows.
  for (int i = 0; i < n; ++i) {
    if (matches[i] == 0) {
      free_rows.push_back(i);
    } else if (matches[i] == 1 && n > 1) {
      const int j1 = x[i];
      const double* ci = c + static_cast<size_t>(i) * n;
      double mn = kInf;
      for (int j = 0; j < n; ++j)
        if (j != j1 && ci[j] * sign - v[j] < mn) mn = ci[j] * sign - v[j];
      v[j1] -= mn;
    }
  }

  // 3. Shortest augmenting paths for the rows still free.
  return augment(c, sign, n, n, k, v, x, y, free_rows);
}

// ---------------------------------------------------------------------------
// Crouse (2016) shortest augmenting path for nr <= nc, +Inf = forbidden.
// Returns false when infeasible.
bool shortest_path(const double* c, size_t nr_, size_t nc_, int32_t* col4row) {
  const int nr = static_cast<int>(nr_), nc = static_cast<int>(nc_);
  std::vector<double> u(nr, 0.0), v(nc, 0.0), spc(nc);
  std::vector<int> path(nc, -1), row4col(nc, -1), remaining(nc);
  std::vector<char> SR(nr), SC(nc);
  for (int i = 0; i < nr; ++i) col4row[i] = -1;

  for (int cur = 0; cur < nr; ++cur) {
    double minval = 0;
    int i = cur, sink = -1, num_remaining = nc;
    // Reverse order + "prefer an unassigned column on ties" below makes
    // a constant matrix come out as the identity.
    for (int it = 0; it < nc; ++it) remaining[it] = nc - it - 1;
    std::fill(SR.begin(), SR.end(), 0);
    std::fill(SC.begin(), SC.end(), 0);
    std::fill(spc.begin(), spc.end(), kInf);
    while (sink == -1) {
      int index = -1;
      double lowest = kInf;
      SR[i] = 1;
      const double* ci = c + static_cast<size_t>(i) * nc;
      const double base = minval - u[i];
      for (int it = 0; it < num_remaining; ++it) {
        const int j = remaining[it];
        const double r = base + ci[j] - v[j];
        if (r < spc[j]) {
          path[j] = i;
          spc[j] = r;
        }
        if (spc[j] < lowest || (spc[j] == lowest && row4col[j] == -1)) {
          lowest = spc[j];
          index = it;
        }
      }
      minval = lowest;
      if (minval == kInf) return false;
      const int j = remaining[index];
      if (row4col[j] == -1)
        sink = j;
      else
        i = row4col[j];
      SC[j] = 1;
      remaining[index] = remaining[--num_remaining];
    }
    u[cur] += minval;
    for (int r = 0; r < nr; ++r)
      if (SR[r] && r != cur) u[r] += minval - spc[col4row[r]];
    for (int j = 0; j < nc; ++j)
      if (SC[j]) v[j] -= minval - spc[j];
    for (int j = sink;;) {
      const int r = path[j];
      row4col[j] = r;
      const int prev = col4row[r];
      col4row[r] = j;
      j = prev;
      if (r == cur) break;
    }
  }
  return true;
}

// Throws on NaN and on an infinity of the unbounded sign (input 0 = cost, and its row); returns whether a
// forbidden (+Inf minimizing, -Inf maximizing) entry is present.
bool validate(const double* cost, size_t rows, size_t cols, bool maximize) {
  const double forbidden = maximize ? -kInf : kInf;
  bool has_forbidden = false;
  for (size_t r = 0; r < rows; ++r) {
    const double* src = cost + r * cols;
    for (size_t col = 0; col < cols; ++col) {
      const double h = src[col];
      if (std::isfinite(h)) continue;
      if (std::isnan(h)) throw Error("INVALID_ARGUMENT", 0, static_cast<long>(r), "cost" + at(r, col) + " is NaN");
      if (h != forbidden)
        throw Error("INVALID_ARGUMENT", 0, static_cast<long>(r),
            "cost" + at(r, col) + " is " + (h > 0 ? "+Infinity" : "-Infinity") +
            ", which makes the " + (maximize ? "maximum" : "minimum") + " unbounded; only " +
            (maximize ? "-Infinity" : "+Infinity") + " may mark a forbidden pair");
      has_forbidden = true;
    }
  }
  return has_forbidden;
}

double total_of(const double* cost, size_t rows, size_t cols, const int32_t* row_to_col) {
  double total = 0.0;
  for (size_t r = 0; r < rows; ++r)
    if (row_to_col[r] >= 0) total += cost[r * cols + row_to_col[r]];
  return total;
}

}  // namespace

double linear_sum_assignment(const double* cost, size_t rows, size_t cols, bool maximize,
                             int32_t* row_to_col_out, AssignmentMethod method, Isa isa) {
  for (size_t i = 0; i < rows; ++i) row_to_col_out[i] = -1;
  if (rows == 0 || cols == 0) return 0.0;

  // Square: LAPJV, unless a non-finite entry turns up in the first pass.
  const double sign = maximize ? -1.0 : 1.0;
  const lsa::Kernels k = kernels_for(isa);
  const char* overflow =
      "cost: entries too large in magnitude for float64 arithmetic (overflow); rescale the matrix";
  if (rows == cols && method != AssignmentMethod::ShortestPath) {
    const size_t n = rows;
    std::vector<double> vmin(n, kInf);
    std::vector<int64_t> imin(n, -1), count(n, 0);
    bool finite = true;
    for (size_t i = 0; i < n; ++i)
      finite &= k.reduce_row(cost + i * n, sign, static_cast<int64_t>(i), vmin.data(), imin.data(),
                             count.data(), n);
    if (finite) {
      if (!lapjv(cost, sign, static_cast<int>(n), vmin, imin, count, k, row_to_col_out))
        throw Error("INVALID_ARGUMENT", overflow);
      return total_of(cost, rows, cols, row_to_col_out);
    }
  }

  const bool has_forbidden = validate(cost, rows, cols, maximize);
  const std::string infeasible =
      "cost: infeasible, no complete assignment avoids the forbidden (" +
      std::string(maximize ? "-Infinity" : "+Infinity") + ") entries";
  // Working matrix: rows <= cols (taller inputs transposed).
  const bool transpose = rows > cols;
  const size_t nr = transpose ? cols : rows, nc = transpose ? rows : cols;
  const double* work = cost;
  std::vector<double> w;
  if (transpose) {
    w.resize(nr * nc);
    for (size_t r = 0; r < rows; ++r)
      for (size_t col = 0; col < cols; ++col) w[col * nc + r] = cost[r * cols + col];
    work = w.data();
  }
  std::vector<int32_t> col4row(nr, -1);
  if (method == AssignmentMethod::ShortestPath) {
    // Crouse 2016 (scalar), minimizing its own signed copy.
    std::vector<double> signed_copy;
    if (maximize) {
      signed_copy.assign(work, work + nr * nc);
      for (double& h : signed_copy) h = -h;
      work = signed_copy.data();
    }
    if (!shortest_path(work, nr, nc, col4row.data())) throw Error("INVALID_ARGUMENT", infeasible);
  } else {
    // Jonker-Volgenant shortest augmenting paths from every row, no
    // initialization (zero prices are dual feasible for rows <= cols and keep
    // unassigned columns at price 0, as optimality requires).
    std::vector<double> v(nc, 0.0);
    std::vector<int> y(nc, -1), all_rows(nr);
    for (size_t i = 0; i < nr; ++i) all_rows[i] = static_cast<int>(i);
    if (!augment(work, sign, static_cast<int>(nr), static_cast<int>(nc), k, v, col4row.data(), y,
                 all_rows))
      throw Error("INVALID_ARGUMENT", has_forbidden ? infeasible : std::string(overflow));
  }
  if (transpose) {
    for (size_t j = 0; j < nr; ++j) row_to_col_out[col4row[j]] = static_cast<int32_t>(j);
  } else {
    for (size_t i = 0; i < nr; ++i) row_to_col_out[i] = col4row[i];
  }
  return total_of(cost, rows, cols, row_to_col_out);
}

}  // namespace modeldiff
