#include "fabforge/core/stl.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "fabforge/core/atomic_file.hpp"
#include "fabforge/core/error.hpp"
#include "fabforge/core/mesh_stream.hpp"

#include "text_number.hpp"

namespace fabforge {

namespace {

constexpr std::size_t kHeaderBytes = 80;
constexpr std::size_t kBinaryPrefix = 84;   // header + uint32 triangle count
constexpr std::size_t kTriangleBytes = 50;  // normal, 3 vertices, attribute word

std::uint32_t read_u32le(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return std::uint32_t(u[0]) | std::uint32_t(u[1]) << 8 | std::uint32_t(u[2]) << 16 | std::uint32_t(u[3]) << 24;
}

float read_f32le(const char* p) {
  std::uint32_t bits = read_u32le(p);
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

void write_u32le(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

void write_f32le(std::string& out, float f) {
  std::uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  write_u32le(out, bits);
}

bool starts_with_solid(std::string_view bytes) {
  std::size_t i = 0;
  while (i < bytes.size() && std::isspace(static_cast<unsigned char>(bytes[i]))) ++i;
  return bytes.substr(i, 5) == "solid";
}

// ASCII STL is text: a NUL or other control byte in the first kilobyte means a binary file
// whose header happens to begin with "solid".
bool looks_like_text(std::string_view bytes) {
  const std::size_t n = std::min<std::size_t>(bytes.size(), 1024);
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c < 0x09 || (c > 0x0D && c < 0x20)) return false;
  }
  return true;
}

// The unit normal of a triangle wound counter-clockwise, zero for a degenerate one.
Vec3f unit_normal(const Vec3f& pa, const Vec3f& pb, const Vec3f& pc) {
  const Vec3d a = to_double(pa), b = to_double(pb), c = to_double(pc);
  const Vec3d n = cross(b - a, c - a);
  const double len = length(n);
  return len > 0 ? Vec3f{float(n.x / len), float(n.y / len), float(n.z / len)} : Vec3f{0, 0, 0};
}

// Binary STL: an 80-byte header, the triangle count, then 50 bytes per triangle.
void append_binary_prefix(std::string& out, std::size_t triangles, std::string_view name) {
  // The header must not begin with "solid", or naive readers take the file for ASCII.
  std::string header = "fabforge binary STL " + std::string(name.substr(0, 50));
  header.resize(kHeaderBytes, ' ');
  out += header;
  write_u32le(out, static_cast<std::uint32_t>(triangles));
}

void append_binary_triangle(std::string& out, const Vec3f& a, const Vec3f& b, const Vec3f& c) {
  const Vec3f n = unit_normal(a, b, c);
  for (const Vec3f& p : {n, a, b, c}) {
    for (float f : {p.x, p.y, p.z}) write_f32le(out, f);
  }
  out.push_back('\0');
  out.push_back('\0');
}

std::string source_prefix(std::string_view source) { return std::string(source) + ": "; }

Mesh parse_binary(std::string_view bytes, std::string_view source, std::uint32_t count) {
  std::vector<Vec3f> corners(std::size_t(count) * 3);
  const char* p = bytes.data() + kBinaryPrefix;
  for (std::uint32_t t = 0; t < count; ++t, p += kTriangleBytes) {
    for (int k = 0; k < 3; ++k) {
      const char* v = p + 12 + 12 * k;
      Vec3f c{read_f32le(v), read_f32le(v + 4), read_f32le(v + 8)};
      if (!is_finite(c)) {
        throw input_error(source_prefix(source) + "triangle " + std::to_string(t) +
                          " has a NaN or infinite coordinate (binary STL)");
      }
      corners[std::size_t(t) * 3 + std::size_t(k)] = c;
    }
  }
  return index_triangle_soup(corners);
}

// A whitespace tokenizer that tracks line numbers for error messages.
class Tokens {
 public:
  Tokens(std::string_view text, std::string_view source) : text_(text), source_(source) {}

  bool at_end() {
    skip_space();
    return pos_ >= text_.size();
  }
  std::string_view next() {
    skip_space();
    const std::size_t start = pos_;
    while (pos_ < text_.size() && !std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
    return text_.substr(start, pos_ - start);
  }
  void expect(std::string_view word) {
    std::string_view got = next();
    if (got != word) fail("expected '" + std::string(word) + "', found " + describe(got));
  }
  float number() {
    std::string_view tok = next();
    float value = 0;
    if (!detail::parse_float(tok, value)) fail("expected a number, found " + describe(tok));
    if (!std::isfinite(value)) fail("NaN or infinite coordinate '" + std::string(tok) + "'");
    return value;
  }
  void skip_line() {
    while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
  }
  [[noreturn]] void fail(const std::string& what) const {
    throw input_error(std::string(source_) + ":" + std::to_string(line_) + ": ASCII STL: " + what);
  }

 private:
  static std::string describe(std::string_view tok) {
    return tok.empty() ? std::string("end of file") : "'" + std::string(tok.substr(0, 40)) + "'";
  }
  void skip_space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) {
      if (text_[pos_] == '\n') ++line_;
      ++pos_;
    }
  }
  std::string_view text_;
  std::string_view source_;
  std::size_t pos_ = 0;
  std::size_t line_ = 1;
};

Mesh parse_ascii(std::string_view bytes, std::string_view source) {
  Tokens tok(bytes, source);
  tok.expect("solid");
  tok.skip_line();  // the solid's name, possibly empty or with spaces
  std::vector<Vec3f> corners;
  for (;;) {
    std::string_view word = tok.next();
    if (word == "endsolid") break;
    if (word != "facet")
      tok.fail(word.empty() ? "missing 'endsolid'"
                            : "expected 'facet' or 'endsolid', found '" + std::string(word) + "'");
    tok.expect("normal");
    for (int k = 0; k < 3; ++k) tok.number();
    tok.expect("outer");
    tok.expect("loop");
    for (int k = 0; k < 3; ++k) {
      tok.expect("vertex");
      Vec3f v;
      v.x = tok.number();
      v.y = tok.number();
      v.z = tok.number();
      corners.push_back(v);
    }
    tok.expect("endloop");
    tok.expect("endfacet");
  }
  if (corners.empty()) throw input_error(source_prefix(source) + "ASCII STL has no facets");
  return index_triangle_soup(corners);
}

}  // namespace

Mesh parse_stl(std::string_view bytes, std::string_view source) {
  if (bytes.empty()) throw input_error(source_prefix(source) + "empty file, expected an STL mesh");
  if (bytes.size() >= kBinaryPrefix) {
    const std::uint32_t count = read_u32le(bytes.data() + kHeaderBytes);
    const std::uint64_t expected = kBinaryPrefix + std::uint64_t(count) * kTriangleBytes;
    if (expected == bytes.size()) {
      if (count == 0) throw input_error(source_prefix(source) + "binary STL has no triangles");
      return parse_binary(bytes, source, count);
    }
    if (!starts_with_solid(bytes) || !looks_like_text(bytes)) {
      throw input_error(source_prefix(source) + "truncated or corrupt binary STL: header says " +
                        std::to_string(count) + " triangles (" + std::to_string(expected) +
                        " bytes) but the file has " + std::to_string(bytes.size()) + " bytes");
    }
  } else if (!starts_with_solid(bytes) || !looks_like_text(bytes)) {
    throw input_error(source_prefix(source) + "not an STL file: " + std::to_string(bytes.size()) +
                      " bytes is too short for binary STL and it does not start with 'solid'");
  }
  return parse_ascii(bytes, source);
}

Mesh read_stl(const std::filesystem::path& path) {
  const std::string bytes = read_file(path);
  return parse_stl(bytes, path.string());
}

std::string format_stl(const Mesh& mesh, StlFormat format, std::string_view name) {
  std::string out;
  if (format == StlFormat::binary) {
    if (mesh.triangles.size() > 0xFFFFFFFFull) throw usage_error("mesh has too many triangles for binary STL");
    out.reserve(kBinaryPrefix + mesh.triangles.size() * kTriangleBytes);
    append_binary_prefix(out, mesh.triangles.size(), name);
    for (const auto& t : mesh.triangles) {
      append_binary_triangle(out, mesh.vertices[t[0]], mesh.vertices[t[1]], mesh.vertices[t[2]]);
    }
    return out;
  }
  std::string solid_name(name);
  std::replace_if(
      solid_name.begin(), solid_name.end(), [](char c) { return std::isspace(static_cast<unsigned char>(c)); }, '_');
  out.reserve(mesh.triangles.size() * 250 + 64);
  char buf[32];
  auto put = [&](float f) {
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, f);  // shortest form that reads back exactly
    out.push_back(' ');
    out.append(buf, end);
  };
  out += "solid " + solid_name + "\n";
  for (const auto& t : mesh.triangles) {
    const Vec3f n = unit_normal(mesh.vertices[t[0]], mesh.vertices[t[1]], mesh.vertices[t[2]]);
    out += "  facet normal";
    put(n.x), put(n.y), put(n.z);
    out += "\n    outer loop\n";
    for (std::uint32_t v : t) {
      out += "      vertex";
      const Vec3f p = mesh.vertices[v];
      put(p.x), put(p.y), put(p.z);
      out += "\n";
    }
    out += "    endloop\n  endfacet\n";
  }
  out += "endsolid " + solid_name + "\n";
  return out;
}

void write_stl(const std::filesystem::path& path, const Mesh& mesh, StlFormat format, std::string_view name) {
  if (format == StlFormat::binary) return write_stl(path, MeshRef(mesh), name);
  validate_mesh(mesh, path.string());
  if (mesh.triangles.empty()) throw usage_error("cannot write '" + path.string() + "': the mesh has no triangles");
  write_file_atomic(path, format_stl(mesh, format, name));
}

void write_stl(const std::filesystem::path& path, const MeshReader& mesh, std::string_view name) {
  const std::string file = path.string();
  validate_mesh(mesh, file);
  if (mesh.empty()) throw usage_error("cannot write '" + file + "': the mesh has no triangles");
  if (mesh.triangle_count() > 0xFFFFFFFFull) throw usage_error("mesh has too many triangles for binary STL");
  AtomicFile out(path);
  const auto io_error = [&] { return runtime_error("cannot write '" + file + "': " + std::strerror(errno)); };
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(out.temp_path().c_str(), "wb"), &std::fclose);
  if (!f) throw io_error();
  // Pieces of triangles, formatted into a buffer of about a megabyte; vertices come through a
  // small cache, so a mesh held on disk is read in order (once here, once by the validation).
  constexpr std::size_t kPiece = 1 << 14;
  std::string buffer;
  buffer.reserve(kPiece * kTriangleBytes + kBinaryPrefix);
  append_binary_prefix(buffer, mesh.triangle_count(), name);
  VertexCache vertices(mesh);
  std::vector<Triangle> triangles(std::min(kPiece, mesh.triangle_count()));
  for (std::size_t first = 0; first < mesh.triangle_count(); first += kPiece) {
    const std::size_t n = std::min(kPiece, mesh.triangle_count() - first);
    mesh.read_triangles(first, std::span(triangles.data(), n));
    for (std::size_t i = 0; i < n; ++i) {
      const Triangle& t = triangles[i];
      append_binary_triangle(buffer, vertices[t[0]], vertices[t[1]], vertices[t[2]]);
    }
    if (std::fwrite(buffer.data(), 1, buffer.size(), f.get()) != buffer.size()) throw io_error();
    buffer.clear();
  }
  if (std::fflush(f.get()) != 0 || std::fclose(f.release()) != 0) throw io_error();
  out.commit();
}

}  // namespace fabforge
