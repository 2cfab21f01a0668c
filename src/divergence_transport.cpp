// Exact optimal transport cost between two histograms under a user cost matrix (the
// `emd-cost` measure): the transportation simplex (MODI / u-v method) on the supports of the
// two histograms. Start: north-west corner basis (m + n - 1 cells, degenerate zeros kept, so
// the basis is always a spanning tree of rows + columns). Pivot: most negative reduced cost
// enters, the cycle it closes in the tree is found through parent pointers, the smallest
// flow on a "-" cell leaves. O(m n) per pivot; meant for small k (<= kMaxEmdCostClasses).
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "divergence.hpp"

namespace modeldiff {
namespace divergence {

double transport_cost(const double* a_in, const double* b_in, size_t k, const double* cost) {
  std::vector<size_t> rows, cols;
  double sa = 0, sb = 0;
  for (size_t i = 0; i < k; ++i)
    if (a_in[i] > 0) rows.push_back(i), sa += a_in[i];
  for (size_t j = 0; j < k; ++j)
    if (b_in[j] > 0) cols.push_back(j), sb += b_in[j];
  if (rows.empty() || cols.empty()) return 0.0;
  const size_t m = rows.size(), n = cols.size();
  std::vector<double> a(m), b(n);
  for (size_t i = 0; i < m; ++i) a[i] = a_in[rows[i]] / sa;
  for (size_t j = 0; j < n; ++j) b[j] = b_in[cols[j]] / sb;

  // Identical histograms with a zero-cost diagonal: exactly 0, not a simplex round-off residue.
  bool same = m == n;
  for (size_t i = 0; same && i < m; ++i)
    same = rows[i] == cols[i] && a[i] == b[i] && cost[rows[i] * k + rows[i]] == 0.0;
  if (same) return 0.0;

  std::vector<double> c(m * n);
  double cmax = 0;
  for (size_t i = 0; i < m; ++i)
    for (size_t j = 0; j < n; ++j) {
      c[i * n + j] = cost[rows[i] * k + cols[j]];
      cmax = std::fmax(cmax, std::fabs(c[i * n + j]));
    }

  struct Cell {
    size_t i, j;
    double x;
  };
  std::vector<Cell> cells;
  std::vector<long> basic(m * n, -1);
  {
    std::vector<double> ra = a, rb = b;
    size_t i = 0, j = 0;
    for (;;) {
      const double x = std::fmin(ra[i], rb[j]);
      basic[i * n + j] = static_cast<long>(cells.size());
      cells.push_back({i, j, x});
      ra[i] -= x;
      rb[j] -= x;
      if (i == m - 1 && j == n - 1) break;
      if (j == n - 1) ++i;
      else if (i == m - 1) ++j;
      else if (ra[i] <= rb[j]) ++i;
      else ++j;
    }
  }

  const size_t nodes = m + n;  // rows 0..m-1, columns m..m+n-1
  std::vector<double> u(m), v(n);
  std::vector<long> parent(nodes), parent_cell(nodes), depth(nodes);
  std::vector<std::vector<size_t>> adj(nodes);
  std::vector<size_t> queue(nodes), path_a, path_b;
  const double tol = 1e-12 * (cmax > 0 ? cmax : 1.0);
  const size_t max_pivots = 50 * nodes * nodes + 1000;

  for (size_t pivot = 0;; ++pivot) {
    if (pivot > max_pivots) throw Error("INTERNAL", -1, -1, "emd-cost: transportation simplex did not converge");
    // Potentials u_i + v_j = c_ij on the basis tree, rooted at row 0.
    for (auto& l : adj) l.clear();
    for (size_t e = 0; e < cells.size(); ++e) {
      adj[cells[e].i].push_back(e);
      adj[m + cells[e].j].push_back(e);
    }
    std::fill(parent.begin(), parent.end(), -2);
    parent[0] = -1;
    parent_cell[0] = -1;
    depth[0] = 0;
    u[0] = 0;
    size_t qh = 0, qt = 0;
    queue[qt++] = 0;
    while (qh < qt) {
      const size_t node = queue[qh++];
      for (size_t e : adj[node]) {
        const Cell& cell = cells[e];
        const size_t other = node < m ? m + cell.j : cell.i;
        if (parent[other] != -2) continue;
        parent[other] = static_cast<long>(node);
        parent_cell[other] = static_cast<long>(e);
        depth[other] = depth[node] + 1;
        if (node < m) v[cell.j] = c[cell.i * n + cell.j] - u[cell.i];
        else u[cell.i] = c[cell.i * n + cell.j] - v[cell.j];
        queue[qt++] = other;
      }
    }
    // Entering cell: most negative reduced cost.
    double best = -tol;
    long ei = -1, ej = -1;
    for (size_t i = 0; i < m; ++i)
      for (size_t j = 0; j < n; ++j) {
        if (basic[i * n + j] >= 0) continue;
        const double rc = c[i * n + j] - u[i] - v[j];
        if (rc < best) best = rc, ei = static_cast<long>(i), ej = static_cast<long>(j);
      }
    if (ei < 0) break;
    // Tree path from column ej to row ei; with the entering cell it closes the cycle.
    path_a.clear();
    path_b.clear();
    long x = static_cast<long>(m) + ej, y = ei;
    while (depth[x] > depth[y]) path_a.push_back(parent_cell[x]), x = parent[x];
    while (depth[y] > depth[x]) path_b.push_back(parent_cell[y]), y = parent[y];
    while (x != y) {
      path_a.push_back(parent_cell[x]), x = parent[x];
      path_b.push_back(parent_cell[y]), y = parent[y];
    }
    path_a.insert(path_a.end(), path_b.rbegin(), path_b.rend());
    // Signs alternate -, +, -, ... from the column end; theta = smallest "-" flow.
    double theta = INFINITY;
    size_t leave = 0;
    for (size_t s = 0; s < path_a.size(); s += 2)
      if (cells[path_a[s]].x < theta) theta = cells[path_a[s]].x, leave = path_a[s];
    for (size_t s = 0; s < path_a.size(); ++s) cells[path_a[s]].x += (s % 2 == 0) ? -theta : theta;
    basic[cells[leave].i * n + cells[leave].j] = -1;
    cells[leave] = {static_cast<size_t>(ei), static_cast<size_t>(ej), theta};
    basic[static_cast<size_t>(ei) * n + static_cast<size_t>(ej)] = static_cast<long>(leave);
  }
  double total = 0;
  for (const Cell& cell : cells) total += cell.x * c[cell.i * n + cell.j];
  return total;
}

}  // namespace divergence
}  // namespace modeldiff
