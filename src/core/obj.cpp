#include "fabforge/core/obj.hpp"

#include <charconv>
#include <cmath>
#include <limits>
#include <string>

#include "fabforge/core/atomic_file.hpp"
#include "fabforge/core/error.hpp"

#include "text_number.hpp"

namespace fabforge {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

// Splits one line into whitespace-separated fields, stopping at a comment.
class Fields {
 public:
  explicit Fields(std::string_view line) : line_(line) {}
  std::string_view next() {
    while (pos_ < line_.size() && is_space(line_[pos_])) ++pos_;
    if (pos_ < line_.size() && line_[pos_] == '#') pos_ = line_.size();
    const std::size_t start = pos_;
    while (pos_ < line_.size() && !is_space(line_[pos_])) ++pos_;
    return line_.substr(start, pos_ - start);
  }

 private:
  std::string_view line_;
  std::size_t pos_ = 0;
};

struct Parser {
  std::string_view source;
  std::size_t line_no = 0;
  Mesh mesh;
  std::vector<std::size_t> triangle_line;  // for reporting indices that turn out out of range
  std::vector<std::int64_t> polygon;

  [[noreturn]] void fail(const std::string& what) const {
    throw input_error(std::string(source) + ":" + std::to_string(line_no) + ": OBJ: " + what);
  }

  float number(std::string_view tok) const {
    float value = 0;
    if (tok.empty()) fail("vertex needs three coordinates");
    if (!detail::parse_float(tok, value)) fail("expected a number, found '" + std::string(tok) + "'");
    if (!std::isfinite(value)) fail("NaN or infinite coordinate '" + std::string(tok) + "'");
    return value;
  }

  void vertex(Fields& f) {
    Vec3f v;
    v.x = number(f.next());
    v.y = number(f.next());
    v.z = number(f.next());
    mesh.vertices.push_back(v);
  }

  // "i", "i/t", "i//n" or "i/t/n": only the position index matters. Negative counts back from
  // the last vertex read so far; positive indices may refer to vertices defined further down.
  std::int64_t index(std::string_view tok) const {
    std::string_view head = tok.substr(0, tok.find('/'));
    std::int64_t i = 0;
    auto [ptr, ec] = std::from_chars(head.data(), head.data() + head.size(), i);
    if (ec != std::errc() || ptr != head.data() + head.size() || i == 0) {
      fail("bad vertex reference '" + std::string(tok) + "' (indices start at 1)");
    }
    if (i < 0) {
      i += static_cast<std::int64_t>(mesh.vertices.size()) + 1;
      if (i < 1) fail("relative vertex reference '" + std::string(tok) + "' points before the first vertex");
    }
    return i - 1;
  }

  void face(Fields& f) {
    polygon.clear();
    for (std::string_view tok = f.next(); !tok.empty(); tok = f.next()) polygon.push_back(index(tok));
    if (polygon.size() < 3) fail("a face needs at least three vertices, found " + std::to_string(polygon.size()));
    for (std::size_t k = 1; k + 1 < polygon.size(); ++k) {  // fan triangulation
      Triangle t;
      const std::int64_t idx[3] = {polygon[0], polygon[k], polygon[k + 1]};
      for (int c = 0; c < 3; ++c) {
        if (idx[c] >= std::numeric_limits<std::uint32_t>::max()) fail("vertex index too large");
        t[c] = static_cast<std::uint32_t>(idx[c]);
      }
      mesh.triangles.push_back(t);
      triangle_line.push_back(line_no);
    }
  }

  void line(std::string_view text) {
    Fields f(text);
    std::string_view key = f.next();
    if (key == "v") {
      vertex(f);
    } else if (key == "f") {
      face(f);
    }
    // vt, vn, vp, o, g, s, l, usemtl, mtllib and unknown statements carry no geometry we use.
  }

  void check_indices() {
    const std::size_t n = mesh.vertices.size();
    for (std::size_t t = 0; t < mesh.triangles.size(); ++t) {
      for (std::uint32_t v : mesh.triangles[t]) {
        if (v >= n) {
          line_no = triangle_line[t];
          fail("face refers to vertex " + std::to_string(v + 1) + " but the file has " + std::to_string(n) +
               " vertices");
        }
      }
    }
  }
};

}  // namespace

Mesh parse_obj(std::string_view text, std::string_view source) {
  if (text.empty()) throw input_error(std::string(source) + ": empty file, expected an OBJ mesh");
  Parser p;
  p.source = source;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    ++p.line_no;
    p.line(text.substr(pos, end - pos));
    pos = end + 1;
  }
  if (p.mesh.triangles.empty()) throw input_error(std::string(source) + ": OBJ file has no faces");
  p.check_indices();
  return std::move(p.mesh);
}

Mesh read_obj(const std::filesystem::path& path) {
  const std::string text = read_file(path);
  return parse_obj(text, path.string());
}

}  // namespace fabforge
