#include "fabforge/voxel/nearest.hpp"

#include <embree3/rtcore.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <string>
#include <tuple>
#include <utility>

#include "fabforge/core/error.hpp"
#include "fabforge/core/parallel.hpp"

namespace fabforge::voxel {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// Which part of a triangle holds the closest point.
enum class Feature : std::uint8_t { face, edge_ab, edge_bc, edge_ca, vertex_a, vertex_b, vertex_c };

struct Closest {
  double d2 = 0;           // squared distance
  double bary[3] = {};     // weights of a, b, c at the closest point
  Feature feature = Feature::face;
};

Closest make_closest(double d2, double wa, double wb, double wc, Feature f) {
  Closest r;
  r.d2 = d2;
  r.bary[0] = wa;
  r.bary[1] = wb;
  r.bary[2] = wc;
  r.feature = f;
  return r;
}

double norm2(Vec3d v) { return dot(v, v); }

// Closest point of segment [a, b] to p as the parameter t in [0, 1].
double segment_parameter(Vec3d p, Vec3d a, Vec3d b) {
  const Vec3d ab = b - a;
  const double len2 = norm2(ab);
  if (len2 <= 0) return 0;
  return std::clamp(dot(p - a, ab) / len2, 0.0, 1.0);
}

// Degenerate triangle (zero area): the closest point of its three edges.
Closest closest_on_degenerate(Vec3d p, Vec3d a, Vec3d b, Vec3d c) {
  const Vec3d v[3] = {a, b, c};
  Closest best;
  best.d2 = std::numeric_limits<double>::infinity();
  for (int e = 0; e < 3; ++e) {
    const int i = e;
    const int j = (e + 1) % 3;
    const double t = segment_parameter(p, v[i], v[j]);
    const double d2 = norm2(p - (v[i] + (v[j] - v[i]) * t));
    if (d2 < best.d2) {
      double w[3] = {0, 0, 0};
      w[i] = 1 - t;
      w[j] = t;
      Feature f = static_cast<Feature>(1 + e);  // edge_ab, edge_bc, edge_ca
      if (t <= 0) f = static_cast<Feature>(4 + i);
      if (t >= 1) f = static_cast<Feature>(4 + j);
      best = make_closest(d2, w[0], w[1], w[2], f);
    }
  }
  return best;
}

// Exact closest point of triangle abc to p by Voronoi regions (Ericson, Real-Time Collision
// Detection, 5.1.5), in double precision.
Closest closest_on_triangle(Vec3d p, Vec3d a, Vec3d b, Vec3d c, bool degenerate) {
  if (degenerate) return closest_on_degenerate(p, a, b, c);
  const Vec3d ab = b - a;
  const Vec3d ac = c - a;
  const Vec3d ap = p - a;
  const double d1 = dot(ab, ap);
  const double d2 = dot(ac, ap);
  if (d1 <= 0 && d2 <= 0) return make_closest(norm2(ap), 1, 0, 0, Feature::vertex_a);
  const Vec3d bp = p - b;
  const double d3 = dot(ab, bp);
  const double d4 = dot(ac, bp);
  if (d3 >= 0 && d4 <= d3) return make_closest(norm2(bp), 0, 1, 0, Feature::vertex_b);
  const double vc = d1 * d4 - d3 * d2;
  if (vc <= 0 && d1 >= 0 && d3 <= 0) {
    const double t = d1 / (d1 - d3);
    return make_closest(norm2(p - (a + ab * t)), 1 - t, t, 0, Feature::edge_ab);
  }
  const Vec3d cp = p - c;
  const double d5 = dot(ab, cp);
  const double d6 = dot(ac, cp);
  if (d6 >= 0 && d5 <= d6) return make_closest(norm2(cp), 0, 0, 1, Feature::vertex_c);
  const double vb = d5 * d2 - d1 * d6;
  if (vb <= 0 && d2 >= 0 && d6 <= 0) {
    const double t = d2 / (d2 - d6);
    return make_closest(norm2(p - (a + ac * t)), 1 - t, 0, t, Feature::edge_ca);
  }
  const double va = d3 * d6 - d5 * d4;
  if (va <= 0 && (d4 - d3) >= 0 && (d5 - d6) >= 0) {
    const double t = (d4 - d3) / ((d4 - d3) + (d5 - d6));
    return make_closest(norm2(p - (b + (c - b) * t)), 0, 1 - t, t, Feature::edge_bc);
  }
  const double sum = va + vb + vc;
  if (!(sum > 0)) return closest_on_degenerate(p, a, b, c);
  const double v = vb / sum;
  const double w = vc / sum;
  const Vec3d q = a + ab * v + ac * w;
  return make_closest(norm2(p - q), 1 - v - w, v, w, Feature::face);
}

// Exact position key (-0 equals +0) for welding by position.
std::array<std::uint32_t, 3> position_key(Vec3f v) {
  auto bits = [](float x) { return std::bit_cast<std::uint32_t>(x == 0.0f ? 0.0f : x); };
  return {bits(v.x), bits(v.y), bits(v.z)};
}

Vec3d normalized_or_zero(Vec3d v) {
  const double len = length(v);
  return len > 0 ? v * (1.0 / len) : Vec3d{0, 0, 0};
}

Vec3f to_float(Vec3d v) { return {static_cast<float>(v.x), static_cast<float>(v.y), static_cast<float>(v.z)}; }

struct DeviceDeleter {
  void operator()(RTCDeviceTy* d) const { rtcReleaseDevice(d); }
};
struct SceneDeleter {
  void operator()(RTCSceneTy* s) const { rtcReleaseScene(s); }
};

void check_device(RTCDevice device, const char* what) {
  const RTCError e = rtcGetDeviceError(device);
  if (e != RTC_ERROR_NONE) {
    throw runtime_error(std::string("surface index: Embree failed to ") + what + " (error " +
                        std::to_string(static_cast<int>(e)) + ")");
  }
}

}  // namespace

struct SurfaceIndex::Impl {
  SurfaceMesh mesh;
  SurfaceIndexOptions options;
  std::vector<Vec3f> face_normal;              // unit, or zero for a degenerate triangle
  std::vector<std::uint8_t> degenerate;        // per triangle
  std::vector<std::array<std::uint32_t, 3>> tri_edge;    // pseudo-normal index of ab, bc, ca
  std::vector<std::array<std::uint32_t, 3>> tri_vertex;  // pseudo-normal index of a, b, c
  std::vector<Vec3f> edge_normal;              // angle-weighted (sum of face normals)
  std::vector<Vec3f> vertex_normal;            // angle-weighted
  std::unique_ptr<RTCDeviceTy, DeviceDeleter> device;
  std::unique_ptr<RTCSceneTy, SceneDeleter> scene;

  void validate() const;
  void build_pseudo_normals();
  void build_bvh();

  struct Hit {
    std::int64_t triangle = -1;
    Closest closest;
  };
  // `hint`: a triangle likely to be near p (the previous lane's), or -1. It only bounds the
  // initial search radius, so it changes the speed, never the result.
  Hit nearest(Vec3d p, std::int64_t hint) const;
  struct QueryState {
    const Impl* impl;
    Vec3d p;
    double max_d2;
    std::int64_t best = -1;
    Closest closest;
  };
  static bool point_query_callback(RTCPointQueryFunctionArguments* args);
  // Writes lane i of the requested columns.
  void fill(const Hit& hit, Vec3d p, std::size_t i, float* const* columns, int column_count) const;
};

void SurfaceIndex::Impl::validate() const {
  const std::size_t nv = mesh.positions.size();
  if (mesh.triangles.empty()) throw input_error("surface index: the surface has no triangles");
  if (mesh.normals.size() != nv) {
    throw input_error("surface index: " + std::to_string(mesh.normals.size()) + " normals for " + std::to_string(nv) +
                      " vertices");
  }
  if (mesh.attribute_count < 0) throw input_error("surface index: negative attribute count");
  if (mesh.attributes.size() != nv * static_cast<std::size_t>(mesh.attribute_count)) {
    throw input_error("surface index: " + std::to_string(mesh.attributes.size()) + " attribute values for " +
                      std::to_string(nv) + " vertices with " + std::to_string(mesh.attribute_count) + " attributes");
  }
  for (std::size_t v = 0; v < nv; ++v) {
    if (!is_finite(mesh.positions[v]) || !is_finite(mesh.normals[v])) {
      throw input_error("surface index: vertex " + std::to_string(v) + " has a non-finite position or normal");
    }
  }
  for (std::size_t t = 0; t < mesh.triangles.size(); ++t) {
    for (std::uint32_t idx : mesh.triangles[t]) {
      if (idx >= nv) {
        throw input_error("surface index: triangle " + std::to_string(t) + " refers to vertex " + std::to_string(idx) +
                          " of " + std::to_string(nv));
      }
    }
  }
  if (std::isnan(options.max_distance_mm) || options.max_distance_mm < 0) {
    throw usage_error("surface index: max_distance_mm must be >= 0");
  }
  if (!(options.tolerance_mm >= 0) || !std::isfinite(options.tolerance_mm)) {
    throw usage_error("surface index: tolerance_mm must be finite and >= 0");
  }
  if (options.known_side < -1 || options.known_side > 1) throw usage_error("surface index: known_side must be -1, 0 or 1");
}

void SurfaceIndex::Impl::build_pseudo_normals() {
  const std::size_t nt = mesh.triangles.size();
  const std::size_t nv = mesh.positions.size();
  if (options.known_side != 0) {  // face normals only: the side is known
    face_normal.resize(nt);
    degenerate.resize(nt);
    for (std::size_t t = 0; t < nt; ++t) {
      const Triangle& tri = mesh.triangles[t];
      const Vec3d p0 = to_double(mesh.positions[tri[0]]);
      const Vec3d n = normalized_or_zero(cross(to_double(mesh.positions[tri[1]]) - p0, to_double(mesh.positions[tri[2]]) - p0));
      face_normal[t] = to_float(n);
      degenerate[t] = (n.x == 0 && n.y == 0 && n.z == 0) ? 1 : 0;
    }
    return;
  }
  // Weld by exact position: canonical id per vertex index.
  std::vector<std::uint32_t> order(nv);
  for (std::size_t v = 0; v < nv; ++v) order[v] = static_cast<std::uint32_t>(v);
  std::sort(order.begin(), order.end(), [&](std::uint32_t l, std::uint32_t r) {
    const auto kl = position_key(mesh.positions[l]);
    const auto kr = position_key(mesh.positions[r]);
    return std::tie(kl, l) < std::tie(kr, r);
  });
  std::vector<std::uint32_t> canon(nv);
  std::uint32_t ids = 0;
  for (std::size_t k = 0; k < nv; ++k) {
    if (k > 0 && position_key(mesh.positions[order[k]]) != position_key(mesh.positions[order[k - 1]])) ++ids;
    canon[order[k]] = ids;
  }
  const std::size_t n_canon = nv == 0 ? 0 : ids + 1;

  face_normal.resize(nt);
  degenerate.resize(nt);
  tri_vertex.resize(nt);
  std::vector<Vec3d> vsum(n_canon, Vec3d{0, 0, 0});
  for (std::size_t t = 0; t < nt; ++t) {
    const Triangle& tri = mesh.triangles[t];
    const Vec3d p[3] = {to_double(mesh.positions[tri[0]]), to_double(mesh.positions[tri[1]]),
                        to_double(mesh.positions[tri[2]])};
    const Vec3d n = normalized_or_zero(cross(p[1] - p[0], p[2] - p[0]));
    const bool degen = n.x == 0 && n.y == 0 && n.z == 0;
    face_normal[t] = to_float(n);
    degenerate[t] = degen ? 1 : 0;
    for (int k = 0; k < 3; ++k) {
      tri_vertex[t][k] = canon[tri[k]];
      if (degen) continue;
      const Vec3d e1 = normalized_or_zero(p[(k + 1) % 3] - p[k]);
      const Vec3d e2 = normalized_or_zero(p[(k + 2) % 3] - p[k]);
      const double angle = std::acos(std::clamp(dot(e1, e2), -1.0, 1.0));
      vsum[canon[tri[k]]] = vsum[canon[tri[k]]] + n * angle;
    }
  }
  vertex_normal.resize(n_canon);
  for (std::size_t v = 0; v < n_canon; ++v) vertex_normal[v] = to_float(vsum[v]);

  // Edges by canonical endpoint pair; the sum of the adjacent faces' normals (angle pi each).
  struct EdgeUse {
    std::uint64_t key;
    std::uint32_t slot;  // triangle * 3 + edge
  };
  std::vector<EdgeUse> uses(nt * 3);
  for (std::size_t t = 0; t < nt; ++t) {
    for (int e = 0; e < 3; ++e) {
      std::uint64_t i = tri_vertex[t][e];
      std::uint64_t j = tri_vertex[t][(e + 1) % 3];
      if (i > j) std::swap(i, j);
      uses[t * 3 + e] = {(i << 32) | j, static_cast<std::uint32_t>(t * 3 + e)};
    }
  }
  std::sort(uses.begin(), uses.end(),
            [](const EdgeUse& l, const EdgeUse& r) { return std::tie(l.key, l.slot) < std::tie(r.key, r.slot); });
  tri_edge.resize(nt);
  edge_normal.clear();
  for (std::size_t k = 0; k < uses.size();) {
    std::size_t end = k;
    Vec3d sum{0, 0, 0};
    while (end < uses.size() && uses[end].key == uses[k].key) {
      sum = sum + to_double(face_normal[uses[end].slot / 3]);
      ++end;
    }
    const auto id = static_cast<std::uint32_t>(edge_normal.size());
    edge_normal.push_back(to_float(sum));
    for (std::size_t u = k; u < end; ++u) tri_edge[uses[u].slot / 3][uses[u].slot % 3] = id;
    k = end;
  }
}

void SurfaceIndex::Impl::build_bvh() {
  device.reset(rtcNewDevice(nullptr));
  if (!device) throw runtime_error("surface index: Embree could not create a device");
  scene.reset(rtcNewScene(device.get()));
  check_device(device.get(), "create a scene");
  rtcSetSceneBuildQuality(scene.get(), options.fast_build ? RTC_BUILD_QUALITY_LOW : RTC_BUILD_QUALITY_MEDIUM);
  RTCGeometry geom = rtcNewGeometry(device.get(), RTC_GEOMETRY_TYPE_TRIANGLE);
  check_device(device.get(), "create a geometry");
  if (options.fast_build) rtcSetGeometryBuildQuality(geom, RTC_BUILD_QUALITY_LOW);
  auto* vb = static_cast<float*>(rtcSetNewGeometryBuffer(geom, RTC_BUFFER_TYPE_VERTEX, 0, RTC_FORMAT_FLOAT3,
                                                         3 * sizeof(float), mesh.positions.size()));
  auto* ib = static_cast<std::uint32_t*>(rtcSetNewGeometryBuffer(geom, RTC_BUFFER_TYPE_INDEX, 0, RTC_FORMAT_UINT3,
                                                                 3 * sizeof(std::uint32_t), mesh.triangles.size()));
  if (vb == nullptr || ib == nullptr) {
    rtcReleaseGeometry(geom);
    check_device(device.get(), "allocate buffers");
    throw runtime_error("surface index: Embree could not allocate buffers");
  }
  for (std::size_t v = 0; v < mesh.positions.size(); ++v) {
    vb[3 * v] = mesh.positions[v].x;
    vb[3 * v + 1] = mesh.positions[v].y;
    vb[3 * v + 2] = mesh.positions[v].z;
  }
  std::memcpy(ib, mesh.triangles.data(), mesh.triangles.size() * sizeof(Triangle));
  rtcCommitGeometry(geom);
  rtcAttachGeometry(scene.get(), geom);
  rtcReleaseGeometry(geom);
  rtcCommitScene(scene.get());
  check_device(device.get(), "build the BVH");
}

// Embree calls this for every triangle whose bounds reach the query sphere. Each triangle's
// distance is computed independently of the others, and the winner is the least
// (squared distance, triangle index), so the result does not depend on the visiting order. The
// radius is shrunk to slightly above the best distance so equally close triangles are still seen.
bool SurfaceIndex::Impl::point_query_callback(RTCPointQueryFunctionArguments* args) {
  auto* st = static_cast<QueryState*>(args->userPtr);
  const Impl& impl = *st->impl;
  const std::uint32_t t = args->primID;
  const Triangle& tri = impl.mesh.triangles[t];
  const Closest c =
      closest_on_triangle(st->p, to_double(impl.mesh.positions[tri[0]]), to_double(impl.mesh.positions[tri[1]]),
                          to_double(impl.mesh.positions[tri[2]]), impl.degenerate[t] != 0);
  if (c.d2 > st->max_d2) return false;
  if (st->best >= 0 && (c.d2 > st->closest.d2 || (c.d2 == st->closest.d2 && t > st->best))) return false;
  st->best = t;
  st->closest = c;
  const float tol = impl.options.tolerance_mm;
  const float r = tol > 0 ? static_cast<float>(std::max(0.0, std::sqrt(c.d2) - tol))
                          : static_cast<float>(std::sqrt(c.d2) * (1 + 1e-5) + 1e-7);
  if (r < args->query->radius) {
    args->query->radius = r;
    return true;
  }
  return false;
}

SurfaceIndex::Impl::Hit SurfaceIndex::Impl::nearest(Vec3d p, std::int64_t hint) const {
  QueryState st{this, p, 0, -1, Closest{}};
  const double maxd = options.max_distance_mm;
  st.max_d2 = std::isinf(maxd) ? std::numeric_limits<double>::infinity() : maxd * maxd;
  RTCPointQuery q;
  q.x = static_cast<float>(p.x);
  q.y = static_cast<float>(p.y);
  q.z = static_cast<float>(p.z);
  q.time = 0;
  // Slightly above the limit so that triangles exactly at max_distance_mm are still visited.
  q.radius = std::isinf(maxd) ? std::numeric_limits<float>::infinity()
                              : static_cast<float>(maxd * (1 + 1e-5) + 1e-7);
  if (hint >= 0) {
    const auto t = static_cast<std::size_t>(hint);
    const Triangle& tri = mesh.triangles[t];
    const Closest c = closest_on_triangle(p, to_double(mesh.positions[tri[0]]), to_double(mesh.positions[tri[1]]),
                                          to_double(mesh.positions[tri[2]]), degenerate[t] != 0);
    if (options.tolerance_mm > 0 && c.d2 <= st.max_d2) {
      // Approximate mode: the hint is a candidate; only triangles closer by the tolerance matter.
      st.best = hint;
      st.closest = c;
      q.radius = std::min(q.radius, static_cast<float>(std::max(0.0, std::sqrt(c.d2) - options.tolerance_mm)));
    } else {
      // The same margin as the callback's, so the hinted triangle and any tie are still visited.
      q.radius = std::min(q.radius, static_cast<float>(std::sqrt(c.d2) * (1 + 1e-5) + 1e-7));
    }
  }
  RTCPointQueryContext ctx;
  rtcInitPointQueryContext(&ctx);
  rtcPointQuery(scene.get(), &q, &ctx, point_query_callback, &st);
  return Hit{st.best, st.closest};
}

void SurfaceIndex::Impl::fill(const Hit& hit, Vec3d p, std::size_t i, float* const* columns, int column_count) const {
  auto put = [&](int col, float value) {
    if (col < column_count && columns[col] != nullptr) columns[col][i] = value;
  };
  const int na = mesh.attribute_count;
  if (hit.triangle < 0) {
    put(openfl::kQuerySignedDistance, std::isfinite(p.x + p.y + p.z) ? options.miss_distance : kNaN);
    for (int col = 1; col < column_count; ++col) put(col, kNaN);
    return;
  }
  const auto t = static_cast<std::size_t>(hit.triangle);
  const Triangle& tri = mesh.triangles[t];
  const double* w = hit.closest.bary;
  Vec3d q{0, 0, 0};
  Vec3d nrm{0, 0, 0};
  for (int k = 0; k < 3; ++k) {
    q = q + to_double(mesh.positions[tri[k]]) * w[k];
    nrm = nrm + to_double(mesh.normals[tri[k]]) * w[k];
  }
  // Sign from the pseudo-normal of the feature holding the closest point (or known).
  Vec3f pseudo = face_normal[t];
  if (options.known_side == 0) switch (hit.closest.feature) {
    case Feature::face: pseudo = face_normal[t]; break;
    case Feature::edge_ab: pseudo = edge_normal[tri_edge[t][0]]; break;
    case Feature::edge_bc: pseudo = edge_normal[tri_edge[t][1]]; break;
    case Feature::edge_ca: pseudo = edge_normal[tri_edge[t][2]]; break;
    case Feature::vertex_a: pseudo = vertex_normal[tri_vertex[t][0]]; break;
    case Feature::vertex_b: pseudo = vertex_normal[tri_vertex[t][1]]; break;
    case Feature::vertex_c: pseudo = vertex_normal[tri_vertex[t][2]]; break;
  }
  const double dist = std::sqrt(hit.closest.d2);
  const double side = options.known_side != 0 ? options.known_side : dot(p - q, to_double(pseudo));
  put(openfl::kQuerySignedDistance, static_cast<float>(side < 0 ? -dist : dist));
  put(openfl::kQueryPoint, static_cast<float>(q.x));
  put(openfl::kQueryPoint + 1, static_cast<float>(q.y));
  put(openfl::kQueryPoint + 2, static_cast<float>(q.z));
  if (column_count > openfl::kQueryNormal) {
    Vec3d n = normalized_or_zero(nrm);
    if (n.x == 0 && n.y == 0 && n.z == 0) n = to_double(face_normal[t]);
    if (n.x == 0 && n.y == 0 && n.z == 0) n = normalized_or_zero(to_double(pseudo));
    put(openfl::kQueryNormal, static_cast<float>(n.x));
    put(openfl::kQueryNormal + 1, static_cast<float>(n.y));
    put(openfl::kQueryNormal + 2, static_cast<float>(n.z));
  }
  const int want = std::min(na, column_count - openfl::kQueryOuts);
  for (int a = 0; a < want; ++a) {
    double value = 0;
    for (int k = 0; k < 3; ++k) value += w[k] * mesh.attributes[static_cast<std::size_t>(tri[k]) * na + a];
    put(openfl::kQueryOuts + a, static_cast<float>(value));
  }
}

SurfaceIndex::SurfaceIndex(SurfaceMesh mesh, const SurfaceIndexOptions& options) : impl_(std::make_unique<Impl>()) {
  impl_->mesh = std::move(mesh);
  impl_->options = options;
  impl_->validate();
  impl_->build_pseudo_normals();
  impl_->build_bvh();
}

SurfaceIndex::~SurfaceIndex() = default;
SurfaceIndex::SurfaceIndex(SurfaceIndex&&) noexcept = default;
SurfaceIndex& SurfaceIndex::operator=(SurfaceIndex&&) noexcept = default;

void SurfaceIndex::query(std::size_t n, const float* const xyz[3], float* const* columns, int column_count) const {
  if (column_count < 0 || column_count > openfl::kQueryOuts + impl_->mesh.attribute_count) {
    throw usage_error("surface query: " + std::to_string(column_count) + " columns asked, the surface has " +
                      std::to_string(openfl::kQueryOuts + impl_->mesh.attribute_count));
  }
  if (n == 0 || column_count == 0) return;
  parallel_for(0, n, 512, [&](std::size_t lo, std::size_t hi) {
    std::int64_t hint = -1;  // lanes are usually neighbouring voxels
    for (std::size_t i = lo; i < hi; ++i) {
      const Vec3d p{xyz[0][i], xyz[1][i], xyz[2][i]};
      Impl::Hit hit;
      if (std::isfinite(p.x) && std::isfinite(p.y) && std::isfinite(p.z)) hit = impl_->nearest(p, hint);
      if (hit.triangle >= 0) hint = hit.triangle;
      impl_->fill(hit, p, i, columns, column_count);
    }
  });
}

namespace {

struct AnyState {
  const SurfaceMesh* mesh;
  const std::vector<std::uint8_t>* degenerate;
  Vec3d p;
  double r2;
  bool found = false;
};

bool any_within_callback(RTCPointQueryFunctionArguments* args) {
  auto* st = static_cast<AnyState*>(args->userPtr);
  if (st->found) return false;
  const Triangle& tri = st->mesh->triangles[args->primID];
  const Closest c = closest_on_triangle(st->p, to_double(st->mesh->positions[tri[0]]),
                                        to_double(st->mesh->positions[tri[1]]),
                                        to_double(st->mesh->positions[tri[2]]), (*st->degenerate)[args->primID] != 0);
  if (c.d2 > st->r2) return false;
  st->found = true;
  args->query->radius = 0;  // nothing more to visit
  return true;
}

}  // namespace

void SurfaceIndex::any_within(std::size_t n, const float* const xyz[3], float radius_mm, std::uint8_t* out) const {
  if (!(radius_mm >= 0)) throw usage_error("surface index: any_within radius must be >= 0");
  parallel_for(0, n, 512, [&](std::size_t lo, std::size_t hi) {
    for (std::size_t i = lo; i < hi; ++i) {
      const Vec3d p{xyz[0][i], xyz[1][i], xyz[2][i]};
      out[i] = 0;
      if (!(std::isfinite(p.x) && std::isfinite(p.y) && std::isfinite(p.z))) continue;
      AnyState st{&impl_->mesh, &impl_->degenerate, p, static_cast<double>(radius_mm) * radius_mm};
      RTCPointQuery q;
      q.x = xyz[0][i];
      q.y = xyz[1][i];
      q.z = xyz[2][i];
      q.time = 0;
      q.radius = radius_mm * (1 + 1e-5f) + 1e-7f;
      RTCPointQueryContext ctx;
      rtcInitPointQueryContext(&ctx);
      rtcPointQuery(impl_->scene.get(), &q, &ctx, any_within_callback, &st);
      out[i] = st.found ? 1 : 0;
    }
  });
}

SurfaceIndex::Result SurfaceIndex::query_one(Vec3f p) const {
  const int cols = openfl::kQueryOuts + impl_->mesh.attribute_count;
  std::vector<float> values(static_cast<std::size_t>(cols));
  std::vector<float*> columns(static_cast<std::size_t>(cols));
  for (int c = 0; c < cols; ++c) columns[c] = &values[c];
  const Vec3d pd = to_double(p);
  Impl::Hit hit;
  if (is_finite(p)) hit = impl_->nearest(pd, -1);
  impl_->fill(hit, pd, 0, columns.data(), cols);
  Result r;
  r.triangle = hit.triangle;
  r.signed_distance = values[0];
  r.point = {values[1], values[2], values[3]};
  r.normal = {values[4], values[5], values[6]};
  r.attributes.assign(values.begin() + openfl::kQueryOuts, values.end());
  return r;
}

std::size_t SurfaceIndex::triangle_count() const noexcept { return impl_->mesh.triangles.size(); }
int SurfaceIndex::attribute_count() const noexcept { return impl_->mesh.attribute_count; }
const SurfaceIndexOptions& SurfaceIndex::options() const noexcept { return impl_->options; }

SurfaceHost::SurfaceHost(std::vector<openfl::Texture> textures, const SurfaceIndex* surface)
    : openfl::TextureHost(std::move(textures)), surface_(surface) {}

void SurfaceHost::surface_query(std::size_t n, const float* const xyz[3], float* const* columns,
                                int column_count) const {
  if (surface_ == nullptr) {
    openfl::TextureHost::surface_query(n, xyz, columns, column_count);
    return;
  }
  surface_->query(n, xyz, columns, column_count);
}

}  // namespace fabforge::voxel
