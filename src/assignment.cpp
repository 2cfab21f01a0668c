// Linear sum assignment. See assignment.hpp for the contract.
//
// Both solvers work on a private "working" copy that is square-or-wide
// (rows <= cols; taller inputs are transposed) and always minimized (maximize
// negates), so the solver bodies have a single, well-tested shape.
#include "assignment.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace modeldiff {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

std::string at(size_t r, size_t c) {
  return "[" + std::to_string(r) + ", " + std::to_string(c) + "]";
}

// ---------------------------------------------------------------------------
// LAPJV (Jonker & Volgenant 1987) for a square, finite n x n matrix `c`.
// x[i] = column of row i, y[j] = row of column j.
void lapjv(const double* c, size_t n_, int32_t* x) {
  const int n = static_cast<int>(n_);
  std::vector<int> y(n, -1), free_rows(n), collist(n), pred(n), matches(n, 0);
  std::vector<double> v(n), d(n);
  for (int i = 0; i < n; ++i) x[i] = -1;

  // 1. Column reduction: v[j] = min_i c[i][j]; a row that is the minimum of
  // exactly one column gets it. Among tied minima an unassigned row is
  // preferred, so a constant matrix is solved here as the identity.
  for (int j = 0; j < n; ++j) {
    int imin = 0;
    double mn = c[j];
    for (int i = 1; i < n; ++i) {
      const double h = c[static_cast<size_t>(i) * n + j];
      if (h < mn || (h == mn && x[imin] >= 0 && x[i] < 0)) {
        mn = h;
        imin = i;
      }
    }
    v[j] = mn;
    if (++matches[imin] == 1) {
      x[imin] = j;
      y[j] = imin;
    } else if (v[j] < v[x[imin]]) {
      const int j1 = x[imin];
      x[imin] = j;
      y[j] = imin;
      y[j1] = -1;
    }
  }

  // 2. Reduction transfer from rows matched once; collect free rows.
  int numfree = 0;
  for (int i = 0; i < n; ++i) {
    if (matches[i] == 0) {
      free_rows[numfree++] = i;
    } else if (matches[i] == 1 && n > 1) {
      const int j1 = x[i];
      const double* ci = c + static_cast<size_t>(i) * n;
      double mn = kInf;
      for (int j = 0; j < n; ++j)
        if (j != j1 && ci[j] - v[j] < mn) mn = ci[j] - v[j];
      v[j1] -= mn;
    }
  }

  // 3. Augmenting row reduction, twice. The step counter bounds the work
  // (floating-point near-ties could otherwise make it cycle); rows it gives
  // up on are simply left to the augmentation phase.
  for (int loop = 0; loop < 2 && numfree > 0; ++loop) {
    const int prvnumfree = numfree;
    numfree = 0;
    int k = 0;
    long long steps = 0;
    const long long max_steps = static_cast<long long>(n) * prvnumfree + n;
    while (k < prvnumfree) {
      const int i = free_rows[k++];
      ++steps;
      const double* ci = c + static_cast<size_t>(i) * n;
      double umin = ci[0] - v[0], usubmin = kInf;
      int j1 = 0, j2 = -1;
      for (int j = 1; j < n; ++j) {
        const double h = ci[j] - v[j];
        if (h < usubmin) {
          if (h >= umin) {
            usubmin = h;
            j2 = j;
          } else {
            usubmin = umin;
            umin = h;
            j2 = j1;
            j1 = j;
          }
        }
      }
      int i0 = y[j1];
      const double vnew = v[j1] - (usubmin - umin);
      const bool lowers = j2 >= 0 && vnew < v[j1];
      if (steps < max_steps) {
        if (lowers) {
          v[j1] = vnew;
        } else if (i0 >= 0 && j2 >= 0) {
          j1 = j2;
          i0 = y[j2];
        }
        if (i0 >= 0) {
          if (lowers)
            free_rows[--k] = i0;  // reprocess the displaced row right away
          else
            free_rows[numfree++] = i0;
        }
      } else if (i0 >= 0) {
        free_rows[numfree++] = i0;
      }
      x[i] = j1;
      y[j1] = i;
      if (i0 >= 0) x[i0] = -1;
    }
  }

  // 4. Augmentation: Dijkstra shortest augmenting path from each free row.
  for (int f = 0; f < numfree; ++f) {
    const int freerow = free_rows[f];
    const double* cf = c + static_cast<size_t>(freerow) * n;
    for (int j = 0; j < n; ++j) {
      d[j] = cf[j] - v[j];
      pred[j] = freerow;
      collist[j] = j;
    }
    // collist[0, low): scanned; [low, up): at the current minimum distance; [up, n): rest.
    int low = 0, up = 0, last = 0, endofpath = -1;
    double mn = 0;
    bool found = false;
    do {
      if (up == low) {
        last = low - 1;
        mn = d[collist[up++]];
        for (int k = up; k < n; ++k) {
          const int j = collist[k];
          const double h = d[j];
          if (h <= mn) {
            if (h < mn) {
              up = low;
              mn = h;
            }
            collist[k] = collist[up];
            collist[up++] = j;
          }
        }
        for (int k = low; k < up; ++k) {
          if (y[collist[k]] < 0) {
            endofpath = collist[k];
            found = true;
            break;
          }
        }
      }
      if (!found) {
        const int j1 = collist[low++];
        const int i = y[j1];
        const double* ci = c + static_cast<size_t>(i) * n;
        const double h = ci[j1] - v[j1] - mn;
        for (int k = up; k < n; ++k) {
          const int j = collist[k];
          const double v2 = ci[j] - v[j] - h;
          if (v2 < d[j]) {
            pred[j] = i;
            if (v2 == mn) {
              if (y[j] < 0) {
                endofpath = j;
                found = true;
                break;
              }
              collist[k] = collist[up];
              collist[up++] = j;
            }
            d[j] = v2;
          }
        }
      }
    } while (!found);

    for (int k = 0; k <= last; ++k) {
      const int j1 = collist[k];
      v[j1] += d[j1] - mn;
    }
    int i;
    do {
      i = pred[endofpath];
      y[endofpath] = i;
      const int j1 = endofpath;
      endofpath = x[i];
      x[i] = j1;
    } while (i != freerow);
  }
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

}  // namespace

double linear_sum_assignment(const double* cost, size_t rows, size_t cols, bool maximize,
                             int32_t* row_to_col_out, AssignmentMethod method) {
  for (size_t i = 0; i < rows; ++i) row_to_col_out[i] = -1;
  if (rows == 0 || cols == 0) return 0.0;
  if (rows > static_cast<size_t>(INT32_MAX) || cols > static_cast<size_t>(INT32_MAX))
    throw std::invalid_argument("cost: too many rows or columns");

  // Validate and build the working matrix (transposed if tall, negated if maximizing).
  const bool transpose = rows > cols;
  const size_t nr = transpose ? cols : rows, nc = transpose ? rows : cols;
  std::vector<double> w(nr * nc);
  bool has_forbidden = false;
  const double forbidden = maximize ? -kInf : kInf;
  for (size_t r = 0; r < rows; ++r) {
    const double* src = cost + r * cols;
    for (size_t col = 0; col < cols; ++col) {
      const double h = src[col];
      if (std::isnan(h)) throw std::invalid_argument("cost" + at(r, col) + " is NaN");
      if (std::isinf(h)) {
        if (h != forbidden)
          throw std::invalid_argument(
              "cost" + at(r, col) + " is " + (h > 0 ? "+Infinity" : "-Infinity") +
              ", which makes the " + (maximize ? "maximum" : "minimum") + " unbounded; only " +
              (maximize ? "-Infinity" : "+Infinity") + " may mark a forbidden pair");
        has_forbidden = true;
      }
      const double wv = maximize ? -h : h;
      if (transpose)
        w[col * nc + r] = wv;
      else
        w[r * nc + col] = wv;
    }
  }

  std::vector<int32_t> col4row(nr);
  const bool use_lapjv = method != AssignmentMethod::ShortestPath && nr == nc && !has_forbidden;
  if (use_lapjv) {
    lapjv(w.data(), nr, col4row.data());
  } else if (!shortest_path(w.data(), nr, nc, col4row.data())) {
    throw std::invalid_argument(
        "cost: infeasible, no complete assignment avoids the forbidden (" +
        std::string(maximize ? "-Infinity" : "+Infinity") + ") entries");
  }

  if (transpose) {
    for (size_t j = 0; j < nr; ++j) row_to_col_out[col4row[j]] = static_cast<int32_t>(j);
  } else {
    for (size_t i = 0; i < nr; ++i) row_to_col_out[i] = col4row[i];
  }
  double total = 0.0;
  for (size_t r = 0; r < rows; ++r)
    if (row_to_col_out[r] >= 0) total += cost[r * cols + row_to_col_out[r]];
  return total;
}

}  // namespace modeldiff
