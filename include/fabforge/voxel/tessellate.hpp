#pragma once
/// Tessellation of base triangles into micropolygons and the fablet's surface phase (issue 6,
/// setup and slab loop: "tessellate the base triangles that reach the slab into micropolygons no
/// larger than half a voxel; run the surface phase (displacement and attributes)"), plus the
/// displacement bounds of a shape, inferred by running the surface phase in interval arithmetic.
///
/// Tessellation (crack-free by construction, per-edge factors as in GPU tessellators):
///   - every base edge {u, v} gets n_e = ceil(length / h) segments, computed from that edge alone
///     (in its canonical direction, from the lower vertex index to the higher), and its points lie
///     at parameters i / n_e from the lower vertex. Both triangles sharing the edge therefore
///     compute bit-identical positions and attributes there, in any call, in any order;
///   - the inside is a staggered lattice in rows parallel to the longest edge: rows h sqrt(3) / 2
///     apart (or less), points L / n_e apart along a row (L the longest edge), odd rows shifted by
///     half a step, so micropolygons between inner points are near equilateral with edges <= h.
///     Each strip between two rows is stitched to the side edges' points by merging the two
///     chains that bound it. The result is accepted when every micropolygon keeps the base
///     triangle's orientation, the areas add up, the edges are <= h between inner points and
///     <= 1.5 h next to the boundary, and there are at most n^2 (n = max n_e) of them; a few
///     margins between rows' ends and the sides are tried. On the creature's base mesh (halves
///     of lat-long quads) that makes 8.5 M micropolygons where the lattice below made 14.2 M;
///   - otherwise (degenerate triangles, or no margin fits) a regular barycentric lattice of level
///     n >= max n_e (i, j, n - i - j): its points on the triangle's boundary are snapped to the
///     nearest edge point (corners stay), and the lattice triangles that collapse are dropped.
///     Snapping moves points only along their edge, so no triangle flips. n = max n_e, so every
///     lattice step is <= h; a snapped point moves by at most half an edge segment (<= h / 2), so
///     a micropolygon edge next to the boundary is <= 1.5 h (n would grow if rounding ever made
///     one longer). Requiring <= h there too would grow n by a third or more and the
///     micropolygon count by 2-3x (measured: 12.6 micropolygons per h^2 on a sphere, against 4.6);
///   - per-vertex inputs are interpolated from the base triangle's corners (the normal is
///     renormalised, other columns are clamped to the corners' range, so interval bounds hold).
///
/// Surface phase: the lanes are 2x2 quads (lanes 4k..4k+3 = (0,0), (1,0), (0,1), (1,1)), so that
/// `sample()` gets texture derivatives (docs/openfl.md, "Textures"):
///   - inner points run in quads of their lattice: the rows' in columns k, k + 1 (k even) of rows
///     r, r + 1 (r odd; the upper pair is offset by half a step), the barycentric lattice's tiled
///     at even (i, j); points of a tile outside the triangle or on its
///     boundary run as helper lanes (extrapolated inputs) and are discarded, like a GPU's helper
///     pixels;
///   - edge points run in quads (p_i, p_i+1, p_i, p_i+1) along their edge only (odd i), so their
///     texture level, hence their displacement, depends on the edge alone;
///   - base corners run as (v, v, v, v): zero derivatives, the finest texture level.
/// The outputs are identical for a shared vertex whichever triangles are tessellated with it.
///
/// Inputs of the surface phase are bound by name (Program::phase_inputs(Phase::surface)): `P` is
/// the base mesh's positions, `N` the attribute "N" if given, else the area-weighted vertex
/// normals of the base mesh; every other name (`uv` included) is the BaseMesh attribute of that
/// name, whose component count must match the parameter's; a name with no attribute reads zeros.
///
/// Thread safety: BaseMesh and displacement_bounds() are safe to share; a SurfaceTessellator holds
/// interpreter scratch, so use one per thread. Results never depend on the thread count.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fabforge/core/mesh.hpp"
#include "fabforge/openfl/exec.hpp"
#include "fabforge/openfl/host.hpp"
#include "fabforge/openfl/program.hpp"
#include "fabforge/voxel/nearest.hpp"

namespace fabforge::voxel {

/// One per-vertex attribute of a base mesh (e.g. "uv" with 2 components).
struct VertexAttribute {
  std::string name;
  int components = 1;         ///< 1..16
  std::vector<float> values;  ///< vertex-major: values[v * components + c]
};

/// A shape's base mesh with its per-vertex attributes, prepared once (normals computed) and then
/// shared by every tessellation call and the bounds.
class BaseMesh {
 public:
  /// Validates the mesh (validate_mesh: finite vertices, indices in range; input_error) and the
  /// attributes (usage_error: empty or duplicate name, "P", components outside 1..16, wrong value
  /// count, "N" without 3 components, non-finite values). The normals are the attribute "N"
  /// normalised when given, else the area-weighted normals of the faces around each vertex
  /// (zero for a vertex of degenerate faces only). Vertices shared by index get one normal, so
  /// a mesh must share its vertices between faces (weld it) to be displaced without cracks.
  explicit BaseMesh(Mesh mesh, std::vector<VertexAttribute> attributes = {});

  const Mesh& mesh() const noexcept { return mesh_; }
  const std::vector<Vec3f>& normals() const noexcept { return normals_; }
  const std::vector<VertexAttribute>& attributes() const noexcept { return attributes_; }
  /// The attribute named `name`, or null.
  const VertexAttribute* find(std::string_view name) const;

 private:
  Mesh mesh_;
  std::vector<Vec3f> normals_;
  std::vector<VertexAttribute> attributes_;
};

/// True for a triangle with a repeated index or zero area (computed in double); such triangles
/// are skipped by tessellation and bounds.
bool is_degenerate_triangle(const Mesh& mesh, std::uint32_t triangle);

/// The micropolygons of some base triangles after the surface phase.
struct Micropolygons {
  /// Displaced positions; normals recomputed from the displaced micropolygons (area-weighted over
  /// the micropolygons of this call; where they cancel, the interpolated input normal); the
  /// fablet's out columns per vertex (attribute_count = Program::out_columns()). Vertices are
  /// shared between micropolygons, across base edges too (welded by base edge and parameter).
  SurfaceMesh surface;
  /// For each micropolygon, the index of the base triangle it came from.
  std::vector<std::uint32_t> base_triangle;
};

/// Runs a fablet's surface phase over tessellated base triangles.
class SurfaceTessellator {
 public:
  /// `surface_kernel` is program->kernel(Phase::surface, values). Throws usage_error when the
  /// kernel is not a surface kernel of this program (phase or column counts differ).
  SurfaceTessellator(std::shared_ptr<const openfl::Program> program,
                     std::shared_ptr<const openfl::Kernel> surface_kernel, openfl::ExecOptions options = {});
  ~SurfaceTessellator();
  SurfaceTessellator(SurfaceTessellator&&) noexcept;
  SurfaceTessellator& operator=(SurfaceTessellator&&) noexcept;

  /// Tessellates base triangles `triangles` (indices into base.mesh().triangles, in this order;
  /// degenerate ones are skipped, repeats are tessellated once) with lattice steps <= max_edge_mm
  /// (every micropolygon edge of the undisplaced surface <= 1.5 max_edge_mm, see above), runs the
  /// surface phase and returns the
  /// micropolygons. Throws usage_error when max_edge_mm is not positive and finite, a triangle
  /// index is out of range, a parameter's attribute has the wrong component count, or an edge
  /// would need more than 65536 segments; runtime errors of the fablet propagate.
  Micropolygons tessellate(const BaseMesh& base, std::span<const std::uint32_t> triangles, double max_edge_mm,
                           const openfl::Host& host);
  /// All triangles of the base mesh.
  Micropolygons tessellate(const BaseMesh& base, double max_edge_mm, const openfl::Host& host);

 private:
  std::shared_ptr<const openfl::Program> program_;
  std::unique_ptr<openfl::BatchExecutor> executor_;
};

/// Bounds of a shape's displaced surface.
struct DisplacementBounds {
  /// Per base triangle (degenerate ones: the box of their corners, as they produce nothing).
  std::vector<BoundingBox> triangles;
  BoundingBox shape;  ///< union over the non-degenerate triangles (zero box when there are none)
  /// False when some inferred bound is infinite (e.g. a division in the displacement) and no
  /// user bound was given: the shape cannot be bounded; ask the user for a displacement bound.
  bool finite = true;
};

/// Splits a base mesh's long triangles, before tessellation, by conforming longest-edge
/// bisection: while some edge is longer than max_edge_mm, the longest one (ties: the lower
/// vertex pair) is split at its midpoint in every triangle that uses it, each of those triangles
/// becoming two through the opposite corner. The result is welded and crack-free wherever the
/// input was, keeps the surface and its orientation exactly (midpoints are rounded to float), and
/// interpolates every attribute linearly; the normals are carried as the attribute "N" (the
/// normalised sum of the edge ends' normals at a midpoint), so a displacement along N follows the
/// original mesh's normals, not the pieces' faces. Triangles with a repeated index are dropped
/// (they tessellate to nothing).
///
/// Unlike a regular lattice of max_edge_mm steps, which cuts a sliver into n^2 slivers as long as
/// the steps (n = its length / max_edge_mm), bisection only ever halves a longest edge, so fewer
/// pieces follow, each with fewer micropolygons: an 80 x 1.6 mm side triangle of a box gives 2.0 M micropolygons at
/// 21 um after 1 mm bisection against 14.4 M after a 1 mm lattice (the whole 80 x 54 x 1.6 mm box:
/// 82 M against 168 M; tests/voxel/tessellate_test.cpp measures it). Every piece is a longest-
/// edge bisection of its parent, so its angles are at least half the input's smallest angle
/// (Rosenberg and Stenger 1975).
/// Deterministic. Throws usage_error when max_edge_mm is not positive and finite.
BaseMesh bisect_long_edges(const BaseMesh& base, double max_edge_mm);

/// For each base triangle: runs openfl::evaluate_intervals on the surface kernel over the box
/// hull of its corners' inputs (P, N widened for renormalisation, attributes) and takes the box
/// of the displaced position intervals. Every displaced vertex of any tessellation of that
/// triangle lies in its box.
///
/// User bound (the fab world's optional displacement bound, mm): the box of the base triangle's
/// corners grown by user_bound_mm on every side. The result is the smaller of the two, i.e. their
/// intersection per axis (the "the smaller of inferred and user bound"). A user bound is
/// therefore a promise that can only tighten what was proven: if the fablet displaces farther,
/// the part outside is lost. Throws usage_error for a negative or non-finite user bound, or a
/// kernel that does not belong to the program. Parallel over triangles; deterministic.
DisplacementBounds displacement_bounds(const BaseMesh& base, const openfl::Program& program,
                                       const openfl::Kernel& surface_kernel, const openfl::Host& host,
                                       std::optional<double> user_bound_mm = std::nullopt,
                                       openfl::ExecOptions options = {});

/// How far a volume kernel's surface queries need to look: the smallest distance R (up to the
/// bisection's float precision) for which interval analysis proves that the kernel's outputs are
/// one constant for every voxel of `box` whose nearest surface point is at least R away, misses
/// included. A search limited to R then changes no output: a voxel it leaves as a miss would have
/// given that same constant with any farther distance (the zebra's `if (surface_distance() >
/// skin) return mixture(white, 1.0)` gives R = skin). The analysis runs
/// openfl::evaluate_intervals with P over `box` and the query columns as the volume phase fills
/// them for an inside voxel at distance R or more (SurfaceIndexOptions::known_side -1, a miss
/// reported as -inf): signed distance in [-inf, -R], every other column unknown (NaN included).
/// Returns a value <= limit_mm, rounded to a float; +inf when the kernel makes no surface query
/// or no such R is found below limit_mm (below the box's diagonal when limit_mm is +inf: every
/// voxel of the box is nearer its shape's surface than that). Deterministic, a few dozen interval
/// evaluations. Throws usage_error for a kernel of the surface phase or a negative or NaN limit.
double query_saturation_mm(const openfl::Kernel& volume_kernel, const openfl::Host& host, const BoundingBox& box,
                           double limit_mm, openfl::ExecOptions options = {});

}  // namespace fabforge::voxel
