#include "fabforge/core/threemf.hpp"

#include <pugixml.hpp>
#include <zip.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <set>
#include <span>
#include <system_error>
#include <utility>

#include "fabforge/core/atomic_file.hpp"
#include "fabforge/core/error.hpp"
#include "fabforge/core/text.hpp"

namespace fabforge {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kCoreNamespace = "http://schemas.microsoft.com/3dmanufacturing/core/2015/02";
constexpr std::string_view kProductionNamespace = "http://schemas.microsoft.com/3dmanufacturing/production/2015/06";
constexpr std::string_view kRelationshipsNamespace = "http://schemas.openxmlformats.org/package/2006/relationships";
constexpr std::string_view kContentTypesNamespace = "http://schemas.openxmlformats.org/package/2006/content-types";
constexpr std::string_view kStartPartType = "http://schemas.microsoft.com/3dmanufacturing/2013/01/3dmodel";
constexpr std::string_view kRelsContentType = "application/vnd.openxmlformats-package.relationships+xml";
constexpr std::string_view kModelContentType = "application/vnd.ms-package.3dmanufacturing-3dmodel+xml";
constexpr std::string_view kContentTypesPath = "[Content_Types].xml";
constexpr std::string_view kRelsPath = "_rels/.rels";
constexpr std::string_view kModelPath = "3D/3dmodel.model";

/// Metadata name prefixes whose namespaces slicers declare; a prefixed name needs its xmlns.
constexpr std::array<std::pair<std::string_view, std::string_view>, 2> kKnownMetadataPrefixes{{
    {"slic3rpe", "http://schemas.slic3r.org/3mf/2017/06"},
    {"BambuStudio", "http://schemas.bambulab.com/package/2021"},
}};

/// Fixed entry time (2020-01-01 00:00, DOS format) so that the same model gives the same bytes.
constexpr zip_uint16_t kDosDate = (40 << 9) | (1 << 5) | 1;
constexpr zip_uint16_t kDosTime = 0;

/// libzip's default deflate level is 9, about 8x slower than 4 on mesh XML for files ~20% smaller.
constexpr zip_uint32_t kDeflateLevel = 4;

/// Components nested deeper than this are taken for a cycle or an attack, not a model.
constexpr std::size_t kMaxComponentDepth = 32;
constexpr zip_uint64_t kMaxEntryBytes = zip_uint64_t{4} << 30;

bool same_part_name(std::string_view a, std::string_view b) { return to_lower(a) == to_lower(b); }

std::string in_quotes(std::string_view s) { return "'" + std::string(s) + "'"; }

struct ZipDiscard {
  void operator()(zip_t* z) const { zip_discard(z); }
};
using ZipPtr = std::unique_ptr<zip_t, ZipDiscard>;

std::string zip_error_message(int code) {
  zip_error_t error;
  zip_error_init_with_code(&error, code);
  std::string message = zip_error_strerror(&error);
  zip_error_fini(&error);
  return message;
}

void check_xml_string(const std::string& file, std::string_view s, const std::string& what) {
  for (unsigned char c : s) {
    if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
      throw usage_error(file + ": " + what + " contains control character " + std::to_string(c) +
                        ", which XML cannot hold");
    }
  }
}

void validate_object(const std::string& file, const ThreeMFObjectRef& object, std::size_t index) {
  const std::string label = "object " + std::to_string(index + 1) + " " + in_quotes(object.name);
  check_xml_string(file, object.name, label + " name");
  if (object.mesh == nullptr) throw usage_error(file + ": " + label + " has no mesh");
  if (object.mesh->empty()) throw usage_error(file + ": " + label + " has no triangles");
  try {
    validate_mesh(*object.mesh, file + ": " + label);
  } catch (const Error& e) {
    throw usage_error(e.what());  // the caller's data, not an input file, is wrong
  }
}

void validate_extra_files(const std::string& file, const std::vector<PackageFile>& extras) {
  const std::set<std::string> reserved{to_lower(kContentTypesPath), to_lower(kRelsPath), to_lower(kModelPath)};
  std::set<std::string> seen;
  for (const PackageFile& f : extras) {
    const std::string what = "extra package file " + in_quotes(f.path);
    if (f.path.empty()) throw usage_error(file + ": an extra package file has an empty path");
    if (f.path.front() == '/' || f.path.back() == '/' || f.path.find('\\') != std::string::npos ||
        f.path.find("//") != std::string::npos) {
      throw usage_error(file + ": " + what + ": expected a relative path like 'Metadata/name.xml'");
    }
    for (std::string_view part : {"./", "../"}) {
      if (f.path.starts_with(part) || f.path.find("/" + std::string(part)) != std::string::npos) {
        throw usage_error(file + ": " + what + ": '.' and '..' are not allowed in package paths");
      }
    }
    check_xml_string(file, f.path, what + " path");
    check_xml_string(file, f.content_type, what + " content type");
    const std::string key = to_lower(f.path);
    if (reserved.count(key)) throw usage_error(file + ": " + what + " is reserved for the 3MF package itself");
    if (!seen.insert(key).second) throw usage_error(file + ": " + what + " appears twice");
  }
}

void validate_for_writing(const std::string& file, const std::vector<ThreeMFObjectRef>& objects,
                          const std::map<std::string, std::string>& metadata, const std::vector<PackageFile>& extras) {
  if (objects.empty()) throw usage_error(file + ": nothing to write: the model has no objects");
  for (std::size_t i = 0; i < objects.size(); ++i) validate_object(file, objects[i], i);
  for (const auto& [name, value] : metadata) {
    if (name.empty()) throw usage_error(file + ": a metadata entry has an empty name");
    check_xml_string(file, name, "metadata name " + in_quotes(name));
    check_xml_string(file, value, "metadata " + in_quotes(name));
  }
  validate_extra_files(file, extras);
}

/// Escapes for XML; in attributes also tab and line breaks, which parsers would turn into spaces.
void append_escaped(std::string& out, std::string_view s, bool attribute) {
  constexpr std::string_view kSpecial = "&<>\"\r\n\t";
  constexpr std::array<std::string_view, 7> kEntities{"&amp;", "&lt;", "&gt;", "&quot;", "&#13;", "&#10;", "&#9;"};
  for (char c : s) {
    const std::size_t k = kSpecial.find(c);
    const bool plain = k == std::string_view::npos || (!attribute && (c == '"' || c == '\n' || c == '\t'));
    if (plain) {
      out += c;
    } else {
      out += kEntities[k];
    }
  }
}

void append_attribute(std::string& out, std::string_view name, std::string_view value) {
  out += ' ';
  out += name;
  out += "=\"";
  append_escaped(out, value, true);
  out += '"';
}

/// One line `<tag a="..." b="..."/>` (or an open tag), attribute values escaped.
void append_element(std::string& out, std::string_view indent_and_tag,
                    std::initializer_list<std::pair<std::string_view, std::string_view>> attributes,
                    bool empty = true) {
  out += indent_and_tag;
  for (const auto& [name, value] : attributes) append_attribute(out, name, value);
  out += empty ? "/>\n" : ">\n";
}

std::string hex_rgba(color::Rgb8 c) { return color::to_hex(c) + "FF"; }

char* put(char* p, std::string_view s) {
  std::memcpy(p, s.data(), s.size());
  return p + s.size();
}

/// Shortest decimal that reads back as the same float.
char* put_number(char* p, float v) { return std::to_chars(p, p + 32, v).ptr; }
char* put_number(char* p, std::uint32_t v) { return std::to_chars(p, p + 16, v).ptr; }

void append_model_header(std::string& out, const std::map<std::string, std::string>& metadata) {
  out += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<model unit=\"millimeter\" xml:lang=\"en-US\"";
  append_attribute(out, "xmlns", kCoreNamespace);
  for (const auto& [prefix, uri] : kKnownMetadataPrefixes) {
    // (explicit capture: Clang before 16 cannot capture structured bindings)
    const bool used = std::any_of(metadata.begin(), metadata.end(), [&p = prefix](const auto& entry) {
      return entry.first.size() > p.size() && entry.first.starts_with(p) && entry.first[p.size()] == ':';
    });
    if (used) append_attribute(out, "xmlns:" + std::string(prefix), uri);
  }
  out += ">\n";
  for (const auto& [name, value] : metadata) {
    out += " <metadata";
    append_attribute(out, "name", name);
    out += '>';
    append_escaped(out, value, false);
    out += "</metadata>\n";
  }
}

/// The model part's XML, made piece by piece as the zip compresses it: a mesh of tens of millions
/// of triangles never exists as one string (its text is about five times the mesh's memory).
/// next() appends the next piece (a header, or up to kElements vertices or triangles) to `out`
/// and returns false once everything was produced; restart() begins again (libzip may read a
/// source twice). The concatenated pieces are the same bytes whatever the piece size.
class ModelXml {
 public:
  ModelXml(const std::vector<ThreeMFObjectRef>& objects, const std::map<std::string, std::string>& metadata)
      : objects_(objects), metadata_(metadata) {}

  void restart() {
    stage_ = Stage::head;
    object_ = 0;
    at_ = 0;
    pindex_ = 0;
  }

  bool next(std::string& out) {
    constexpr std::uint32_t kMaterialsId = 1;
    switch (stage_) {
      case Stage::head: {
        append_model_header(out, metadata_);
        out += " <resources>\n";
        const bool any_color = std::any_of(objects_.begin(), objects_.end(), [](const auto& o) { return o.color; });
        if (any_color) {
          out += "  <basematerials id=\"" + std::to_string(kMaterialsId) + "\">\n";
          for (std::size_t i = 0; i < objects_.size(); ++i) {
            const ThreeMFObjectRef& o = objects_[i];
            if (!o.color) continue;
            const std::string name = o.name.empty() ? "object " + std::to_string(i + 1) : o.name;
            append_element(out, "   <base", {{"name", name}, {"displaycolor", hex_rgba(*o.color)}});
          }
          out += "  </basematerials>\n";
        }
        stage_ = Stage::object;
        return true;
      }
      case Stage::object: {
        if (object_ == objects_.size()) {
          out += " </resources>\n <build>\n";
          for (std::size_t i = 0; i < objects_.size(); ++i)
            out += "  <item objectid=\"" + std::to_string(i + 2) + "\"/>\n";
          out += " </build>\n</model>\n";
          stage_ = Stage::done;
          return true;
        }
        const ThreeMFObjectRef& o = objects_[object_];
        out += "  <object id=\"" + std::to_string(object_ + 2) + "\" type=\"model\"";
        if (!o.name.empty()) append_attribute(out, "name", o.name);
        if (o.color) out += " pid=\"" + std::to_string(kMaterialsId) + "\" pindex=\"" + std::to_string(pindex_++) + "\"";
        out += ">\n   <mesh>\n    <vertices>\n";
        stage_ = Stage::vertices;
        at_ = 0;
        return true;
      }
      case Stage::vertices: {
        const MeshReader& mesh = *objects_[object_].mesh;
        mesh.read_vertices(at_, piece(vertices_, mesh.vertex_count()));
        append_lines(out, vertices_, {"<vertex x=\"", "\" y=\"", "\" z=\"", "\"/>\n"});
        at_ += vertices_.size();
        if (at_ == mesh.vertex_count()) {
          out += "    </vertices>\n    <triangles>\n";
          stage_ = Stage::triangles;
          at_ = 0;
        }
        return true;
      }
      case Stage::triangles: {
        const MeshReader& mesh = *objects_[object_].mesh;
        mesh.read_triangles(at_, piece(triangles_, mesh.triangle_count()));
        append_lines(out, triangles_, {"<triangle v1=\"", "\" v2=\"", "\" v3=\"", "\"/>\n"});
        at_ += triangles_.size();
        if (at_ == mesh.triangle_count()) {
          out += "    </triangles>\n   </mesh>\n  </object>\n";
          stage_ = Stage::object;
          ++object_;
        }
        return true;
      }
      case Stage::done:
        return false;
    }
    return false;
  }

 private:
  static constexpr std::size_t kElements = 8192;

  /// `buffer` sized for the next piece of a sequence of `count` elements.
  template <class T>
  std::span<T> piece(std::vector<T>& buffer, std::size_t count) const {
    buffer.resize(std::min(count - at_, kElements));
    return buffer;
  }

  /// One line per element: parts[0], component 0, parts[1], component 1, parts[2], component 2,
  /// parts[3]. The hot loop: one stack buffer and one append per element.
  template <class T>
  static void append_lines(std::string& out, const std::vector<T>& elements, const std::array<std::string_view, 4>& parts) {
    char line[160];
    for (const T& e : elements) {
      char* p = put(line, parts[0]);
      p = put(put_number(p, component(e, 0)), parts[1]);
      p = put(put_number(p, component(e, 1)), parts[2]);
      p = put(put_number(p, component(e, 2)), parts[3]);
      out.append(line, p);
    }
  }
  static float component(const Vec3f& v, int k) { return k == 0 ? v.x : k == 1 ? v.y : v.z; }
  static std::uint32_t component(const Triangle& t, int k) { return t[static_cast<std::size_t>(k)]; }

  enum class Stage { head, object, vertices, triangles, done };
  const std::vector<ThreeMFObjectRef>& objects_;
  const std::map<std::string, std::string>& metadata_;
  Stage stage_ = Stage::head;
  std::size_t object_ = 0, at_ = 0;
  std::uint32_t pindex_ = 0;
  std::vector<Vec3f> vertices_;  // the piece being formatted
  std::vector<Triangle> triangles_;
};

std::string content_type_for_extension(const std::string& ext) {
  static const std::map<std::string, std::string, std::less<>> types{
      {"png", "image/png"},         {"jpg", "image/jpeg"},    {"jpeg", "image/jpeg"}, {"xml", "application/xml"},
      {"json", "application/json"}, {"config", "text/plain"}, {"txt", "text/plain"},  {"gcode", "text/x.gcode"},
  };
  auto it = types.find(ext);
  return it == types.end() ? "application/octet-stream" : it->second;
}

std::string content_types_xml(const std::vector<PackageFile>& extras) {
  std::map<std::string, std::string> defaults{{"rels", std::string(kRelsContentType)},
                                              {"model", std::string(kModelContentType)}};
  std::vector<std::pair<std::string, std::string>> overrides;
  for (const PackageFile& f : extras) {
    const std::string name = fs::path(f.path).filename().string();
    const std::size_t dot = name.rfind('.');
    const std::string ext = dot == std::string::npos || dot == 0 ? "" : to_lower(name.substr(dot + 1));
    if (!f.content_type.empty()) {
      overrides.emplace_back("/" + f.path, f.content_type);
    } else if (ext.empty()) {
      overrides.emplace_back("/" + f.path, "application/octet-stream");  // a Default needs an extension
    } else {
      defaults.emplace(ext, content_type_for_extension(ext));
    }
  }
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  append_element(out, "<Types", {{"xmlns", kContentTypesNamespace}}, false);
  for (const auto& [ext, type] : defaults)
    append_element(out, " <Default", {{"Extension", ext}, {"ContentType", type}});
  for (const auto& [part, type] : overrides)
    append_element(out, " <Override", {{"PartName", part}, {"ContentType", type}});
  return out + "</Types>\n";
}

std::string rels_xml() {
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  append_element(out, "<Relationships", {{"xmlns", kRelationshipsNamespace}}, false);
  const std::string target = "/" + std::string(kModelPath);
  append_element(out, " <Relationship", {{"Target", target}, {"Id", "rel0"}, {"Type", kStartPartType}});
  return out + "</Relationships>\n";
}

/// A libzip source that pulls the model XML from a ModelXml while the zip is written.
struct ModelSource {
  explicit ModelSource(ModelXml generator) : xml(std::move(generator)) { zip_error_init(&error); }
  ~ModelSource() { zip_error_fini(&error); }
  ModelSource(const ModelSource&) = delete;
  ModelSource& operator=(const ModelSource&) = delete;

  ModelXml xml;
  std::string piece;
  std::size_t used = 0;  // bytes of `piece` already handed out
  zip_error_t error{};
  std::uint64_t size = 0;  // the total, when known (needed above 4 GiB for the zip64 header)
  bool size_known = false;

  static zip_int64_t callback(void* user, void* data, zip_uint64_t len, zip_source_cmd_t cmd) {
    auto* self = static_cast<ModelSource*>(user);
    try {
      switch (cmd) {
        case ZIP_SOURCE_OPEN:
          self->xml.restart();
          self->piece.clear();
          self->used = 0;
          return 0;
        case ZIP_SOURCE_READ: {
          auto* dst = static_cast<char*>(data);
          zip_uint64_t done = 0;
          while (done < len) {
            if (self->used == self->piece.size()) {
              self->piece.clear();
              self->used = 0;
              if (!self->xml.next(self->piece)) break;
              continue;
            }
            const std::size_t n = std::min<std::size_t>(len - done, self->piece.size() - self->used);
            std::memcpy(dst + done, self->piece.data() + self->used, n);
            self->used += n;
            done += n;
          }
          return static_cast<zip_int64_t>(done);
        }
        case ZIP_SOURCE_CLOSE:
          return 0;
        case ZIP_SOURCE_STAT: {
          auto* st = static_cast<zip_stat_t*>(data);
          zip_stat_init(st);
          if (self->size_known) {
            st->size = self->size;
            st->valid |= ZIP_STAT_SIZE;
          }
          return sizeof(zip_stat_t);
        }
        case ZIP_SOURCE_ERROR:
          return zip_error_to_data(&self->error, data, len);
        case ZIP_SOURCE_FREE:
          return 0;
        case ZIP_SOURCE_SUPPORTS:
          return zip_source_make_command_bitmap(ZIP_SOURCE_OPEN, ZIP_SOURCE_READ, ZIP_SOURCE_CLOSE, ZIP_SOURCE_STAT,
                                                ZIP_SOURCE_ERROR, ZIP_SOURCE_FREE, -1);
        default:
          zip_error_set(&self->error, ZIP_ER_OPNOTSUPP, 0);
          return -1;
      }
    } catch (...) {  // (out of memory) must not cross libzip's C frames
      zip_error_set(&self->error, ZIP_ER_MEMORY, 0);
      return -1;
    }
  }
};

/// Writes a zip at `path` of `entries` (name, bytes) and, if `model` is given, of the model part
/// made while the zip is compressed; on failure libzip leaves nothing there.
void write_zip(const fs::path& path, const std::string& file,
               const std::vector<std::pair<std::string_view, std::string_view>>& entries,
               ModelSource* model = nullptr) {
  int code = 0;
  ZipPtr zip(zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &code));
  if (!zip) throw runtime_error("cannot write '" + file + "': " + zip_error_message(code));
  const auto fail = [&](std::string_view name) {
    return runtime_error("cannot write '" + file + "': " + std::string(name) + ": " + zip_strerror(zip.get()));
  };
  auto add = [&](std::string_view name, zip_source_t* source) {
    if (!source) throw fail(name);
    const zip_int64_t index = zip_file_add(zip.get(), std::string(name).c_str(), source, ZIP_FL_ENC_UTF_8);
    if (index < 0) {
      zip_source_free(source);
      throw fail(name);
    }
    const auto i = static_cast<zip_uint64_t>(index);
    if (zip_set_file_compression(zip.get(), i, ZIP_CM_DEFLATE, kDeflateLevel) != 0 ||
        zip_file_set_dostime(zip.get(), i, kDosTime, kDosDate, 0) != 0) {
      throw fail(name);
    }
  };
  for (const auto& [name, bytes] : entries) {
    add(name, zip_source_buffer(zip.get(), bytes.data(), bytes.size(), 0));
    if (model != nullptr && name == kRelsPath) {  // the model part in its usual place, third
      add(kModelPath, zip_source_function(zip.get(), &ModelSource::callback, model));
    }
  }
  if (zip_close(zip.get()) != 0) throw fail("write failed");
  static_cast<void>(zip.release());  // zip_close freed it
}

/// Every file in the zip with its bytes, in zip order (directory entries left out).
std::vector<PackageFile> read_package(const fs::path& path, const std::string& file) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) throw input_error(file + ": cannot open: " + ec.message());
  if (size == 0) throw input_error(file + ": the file is empty (0 bytes), not a 3MF package");
  int code = 0;
  ZipPtr zip(zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &code));
  if (!zip) {
    if (code == ZIP_ER_NOZIP) {
      throw input_error(file + ": not a 3MF package: not a zip archive (no zip directory found; truncated?)");
    }
    if (code == ZIP_ER_INCONS) throw input_error(file + ": not a 3MF package: the zip archive is damaged or truncated");
    throw input_error(file + ": cannot open the zip archive: " + zip_error_message(code));
  }
  std::vector<PackageFile> files;
  const zip_int64_t count = zip_get_num_entries(zip.get(), 0);
  for (zip_uint64_t i = 0; i < static_cast<zip_uint64_t>(std::max<zip_int64_t>(count, 0)); ++i) {
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(zip.get(), i, 0, &st) != 0 || !(st.valid & ZIP_STAT_NAME) || !(st.valid & ZIP_STAT_SIZE)) {
      throw input_error(file + ": damaged zip entry " + std::to_string(i) + ": " + zip_strerror(zip.get()));
    }
    std::string name = st.name;
    if (name.empty() || name.back() == '/') continue;
    if (st.size > kMaxEntryBytes)
      throw input_error(file + ": " + name + " is too large (" + std::to_string(st.size) + " bytes)");
    std::unique_ptr<zip_file_t, decltype(&zip_fclose)> entry(zip_fopen_index(zip.get(), i, 0), &zip_fclose);
    if (!entry) throw input_error(file + ": cannot read " + name + ": " + zip_strerror(zip.get()));
    std::string bytes(static_cast<std::size_t>(st.size), '\0');
    const zip_int64_t got = zip_fread(entry.get(), bytes.data(), st.size);
    char extra = 0;
    // Reading past the end makes libzip compare the CRC.
    if (got != static_cast<zip_int64_t>(st.size) || zip_fread(entry.get(), &extra, 1) != 0) {
      throw input_error(file + ": cannot read " + name + ": " + zip_file_strerror(entry.get()));
    }
    files.push_back({std::move(name), std::move(bytes), {}});
  }
  return files;
}

template <typename Files>
auto* find_part(Files& files, std::string_view name) {
  const auto it = std::find_if(files.begin(), files.end(), [&](const auto& f) { return same_part_name(f.path, name); });
  return it == files.end() ? nullptr : &*it;
}

std::string strip_leading_slash(std::string_view s) { return std::string(s.starts_with('/') ? s.substr(1) : s); }

/// The model part named by the package's StartPart relationship, else the conventional name.
std::string find_model_part(const std::string& file, const std::vector<PackageFile>& files) {
  std::string target;
  if (const PackageFile* rels = find_part(files, kRelsPath)) {
    pugi::xml_document doc;
    const pugi::xml_parse_result parsed = doc.load_buffer(rels->content.data(), rels->content.size());
    if (!parsed) {
      throw input_error(file + ": malformed XML in " + std::string(kRelsPath) + " at byte " +
                        std::to_string(parsed.offset) + ": " + parsed.description());
    }
    for (pugi::xml_node rel : doc.child("Relationships").children("Relationship")) {
      if (kStartPartType == rel.attribute("Type").value()) {
        target = strip_leading_slash(rel.attribute("Target").value());
        break;
      }
    }
  }
  const std::string name = target.empty() ? std::string(kModelPath) : target;
  const PackageFile* model = find_part(files, name);
  if (!model) {
    throw input_error(file + ": not a 3MF package: no 3D model part (" + name + " is missing" +
                      (target.empty() ? ")" : ", named by _rels/.rels)"));
  }
  return model->path;
}

/// A 3MF affine transform in its own layout: rows m0., m1., m2. then the translation m3.,
/// applied to row vectors (x' = x*m00 + y*m10 + z*m20 + m30).
struct Affine {
  std::array<double, 12> m{1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0};
  bool is_identity() const { return m == Affine{}.m; }
  Vec3d apply(Vec3d v) const {
    return {v.x * m[0] + v.y * m[3] + v.z * m[6] + m[9], v.x * m[1] + v.y * m[4] + v.z * m[7] + m[10],
            v.x * m[2] + v.y * m[5] + v.z * m[8] + m[11]};
  }
  double determinant() const {
    return m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) + m[2] * (m[3] * m[7] - m[4] * m[6]);
  }
};

/// `first` applied, then `second`.
Affine then(const Affine& first, const Affine& second) {
  Affine c;
  for (int row = 0; row < 4; ++row) {
    for (int col = 0; col < 3; ++col) {
      double sum = row == 3 ? second.m[9 + col] : 0.0;
      for (int k = 0; k < 3; ++k) sum += first.m[row * 3 + k] * second.m[k * 3 + col];
      c.m[row * 3 + col] = sum;
    }
  }
  return c;
}

/// from_chars for a whole attribute, allowing the leading '+' that XML Schema numbers may have.
template <typename T>
bool parse_number(std::string_view s, T& out) {
  s = trim(s);
  if (s.size() > 1 && s.front() == '+' && s[1] != '-') s.remove_prefix(1);
  if (s.empty()) return false;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

std::optional<color::Rgb8> parse_display_color(std::string_view s) {
  s = trim(s);
  if (s.empty() || s.front() != '#') return std::nullopt;  // the '#' is optional elsewhere, not in 3MF
  return color::parse_hex(s);
}

double unit_scale_mm(std::string_view unit) {
  static const std::map<std::string, double, std::less<>> scales{
      {"micron", 0.001}, {"millimeter", 1.0}, {"centimeter", 10.0}, {"inch", 25.4}, {"foot", 304.8}, {"meter", 1000.0},
  };
  auto it = scales.find(unit);
  return it == scales.end() ? 0.0 : it->second;
}

struct ComponentRef {
  std::string part;  ///< model part holding the object (production extension); empty: this part
  std::uint32_t object_id = 0;
  Affine transform;
};

struct ObjectDef {
  std::string name;
  bool is_model = true;
  std::optional<color::Rgb8> color;
  Mesh mesh;  ///< in model units, untransformed
  std::vector<ComponentRef> components;
};

struct ModelPart {
  std::string unit = "millimeter";
  std::map<std::string, std::string> metadata;
  std::map<std::uint32_t, ObjectDef> objects;
  std::vector<ComponentRef> build;
};

/// Parses one model part; errors start with "<file>: " (and name the part if it is not the root).
class PartParser {
 public:
  PartParser(std::string where, std::string path_attribute)
      : where_(std::move(where)), path_attribute_(std::move(path_attribute)) {}

  ModelPart parse(const pugi::xml_node& model) {
    ModelPart part;
    part.unit = model.attribute("unit").as_string("millimeter");
    for (pugi::xml_node m : model.children("metadata")) part.metadata[m.attribute("name").value()] = m.text().get();
    const pugi::xml_node resources = model.child("resources");
    parse_materials(resources);
    for (pugi::xml_node node : resources.children("object")) {
      const std::uint32_t id = id_attribute(node, "id", "<object>");
      if (materials_.count(id) || !part.objects.emplace(id, parse_object(node, id)).second) {
        fail("resource id " + std::to_string(id) + " is used twice");
      }
    }
    std::size_t index = 0;
    for (pugi::xml_node item : model.child("build").children("item")) {
      part.build.push_back(reference(item, "build item " + std::to_string(index++)));
    }
    return part;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const { throw input_error(where_ + what); }

  std::uint32_t id_attribute(const pugi::xml_node& node, const char* name, const std::string& what) const {
    const pugi::xml_attribute a = node.attribute(name);
    if (!a) fail(what + ": missing attribute " + name);
    std::uint32_t id = 0;
    if (!parse_number(a.value(), id))
      fail(what + ": attribute " + name + " is not a valid index: " + in_quotes(a.value()));
    return id;
  }

  Affine transform_attribute(const pugi::xml_node& node, const std::string& what) const {
    Affine t;
    const pugi::xml_attribute a = node.attribute("transform");
    if (!a) return t;
    std::string_view rest = a.value();
    std::size_t n = 0;
    for (rest = trim(rest); !rest.empty(); rest = trim(rest)) {
      const std::size_t end = std::min(rest.find_first_of(" \t\r\n"), rest.size());
      double v = 0;
      if (n == 12 || !parse_number(rest.substr(0, end), v) || !std::isfinite(v)) break;
      t.m[n++] = v;
      rest.remove_prefix(end);
    }
    if (n != 12 || !rest.empty()) fail(what + ": transform must be 12 finite numbers, got " + in_quotes(a.value()));
    return t;
  }

  ComponentRef reference(const pugi::xml_node& node, const std::string& what) const {
    return {strip_leading_slash(node.attribute(path_attribute_.c_str()).value()), id_attribute(node, "objectid", what),
            transform_attribute(node, what)};
  }

  void parse_materials(const pugi::xml_node& resources) {
    for (pugi::xml_node group : resources.children("basematerials")) {
      const std::uint32_t id = id_attribute(group, "id", "<basematerials>");
      std::vector<color::Rgb8> colors;
      for (pugi::xml_node base : group.children("base")) {
        const char* text = base.attribute("displaycolor").value();
        const std::optional<color::Rgb8> c = parse_display_color(text);
        if (!c) {
          fail("basematerials " + std::to_string(id) + ", base " + std::to_string(colors.size()) +
               ": displaycolor must be #RRGGBB or #RRGGBBAA, got " + in_quotes(text));
        }
        colors.push_back(*c);
      }
      if (!materials_.emplace(id, std::move(colors)).second)
        fail("resource id " + std::to_string(id) + " is used twice");
    }
  }

  ObjectDef parse_object(const pugi::xml_node& node, std::uint32_t id) const {
    const std::string what = "object " + std::to_string(id);
    ObjectDef def;
    def.name = node.attribute("name").value();
    if (def.name.empty()) def.name = what;
    def.is_model = std::string_view(node.attribute("type").as_string("model")) == "model";
    if (node.attribute("pid")) {
      auto group = materials_.find(id_attribute(node, "pid", what));
      if (group != materials_.end()) {  // a pid naming another kind of property group is not a colour
        const std::uint32_t index = node.attribute("pindex") ? id_attribute(node, "pindex", what) : 0;
        if (index >= group->second.size()) {
          fail(what + ": pindex " + std::to_string(index) + " but basematerials " + std::to_string(group->first) +
               " has " + std::to_string(group->second.size()) + " entries");
        }
        def.color = group->second[index];
      }
    }
    if (pugi::xml_node mesh = node.child("mesh")) {
      parse_vertices(mesh.child("vertices"), id, def.mesh);
      parse_triangles(mesh.child("triangles"), id, def.mesh);
    } else if (pugi::xml_node components = node.child("components")) {
      for (pugi::xml_node c : components.children("component"))
        def.components.push_back(reference(c, what + ", component"));
    } else {
      fail(what + " has neither <mesh> nor <components>");
    }
    return def;
  }

  void parse_vertices(const pugi::xml_node& vertices, std::uint32_t id, Mesh& mesh) const {
    for (pugi::xml_node v = vertices.first_child(); v; v = v.next_sibling()) {
      if (std::strcmp(v.name(), "vertex") != 0) continue;
      const auto what = [&] {
        return "object " + std::to_string(id) + ", vertex " + std::to_string(mesh.vertices.size());
      };
      std::array<float, 3> xyz{};
      std::array<bool, 3> seen{};
      for (pugi::xml_attribute a = v.first_attribute(); a; a = a.next_attribute()) {
        const char* name = a.name();
        if (name[0] < 'x' || name[0] > 'z' || name[1] != '\0') continue;
        const int axis = name[0] - 'x';
        seen[axis] = true;
        if (!parse_number(a.value(), xyz[axis]))
          fail(what() + ": " + name + " is not a valid number: " + in_quotes(a.value()));
      }
      for (int axis = 0; axis < 3; ++axis) {
        if (!seen[axis]) fail(what() + ": missing attribute " + std::string(1, static_cast<char>('x' + axis)));
      }
      const Vec3f p{xyz[0], xyz[1], xyz[2]};
      if (!is_finite(p)) fail(what() + " has a NaN or infinite coordinate");
      mesh.vertices.push_back(p);
    }
  }

  void parse_triangles(const pugi::xml_node& triangles, std::uint32_t id, Mesh& mesh) const {
    const std::size_t n = mesh.vertices.size();
    for (pugi::xml_node t = triangles.first_child(); t; t = t.next_sibling()) {
      if (std::strcmp(t.name(), "triangle") != 0) continue;
      const auto what = [&] { return "triangle " + std::to_string(mesh.triangles.size()); };
      Triangle tri{};
      std::array<bool, 3> seen{};
      for (pugi::xml_attribute a = t.first_attribute(); a; a = a.next_attribute()) {
        const char* name = a.name();
        if (name[0] != 'v' || name[1] < '1' || name[1] > '3' || name[2] != '\0') continue;
        const int k = name[1] - '1';
        seen[k] = true;
        if (!parse_number(a.value(), tri[k])) {
          fail("object " + std::to_string(id) + ", " + what() + ": " + name +
               " is not a valid vertex index: " + in_quotes(a.value()));
        }
        if (tri[k] >= n) {
          fail(what() + " refers to vertex " + std::to_string(tri[k]) + " but object " + std::to_string(id) + " has " +
               std::to_string(n) + " vertices");
        }
      }
      for (int k = 0; k < 3; ++k) {
        if (!seen[k])
          fail("object " + std::to_string(id) + ", " + what() + ": missing attribute v" + std::to_string(k + 1));
      }
      mesh.triangles.push_back(tri);
    }
  }

  std::string where_;
  std::string path_attribute_;
  std::map<std::uint32_t, std::vector<color::Rgb8>> materials_;
};

/// The name the production extension's path attribute has in this document, e.g. "p:path".
std::string production_path_attribute(const pugi::xml_node& model) {
  for (pugi::xml_attribute a = model.first_attribute(); a; a = a.next_attribute()) {
    std::string_view name = a.name();
    if (name.starts_with("xmlns:") && kProductionNamespace == a.value()) return std::string(name.substr(6)) + ":path";
  }
  return "p:path";
}

/// The model XML of the package, parsed part by part as build items and components need them.
class ModelReader {
 public:
  /// Takes the root part's bytes out of `files` when it parses it.
  ModelReader(std::string file, std::vector<PackageFile>& files, std::string root)
      : file_(std::move(file)), files_(files), root_(std::move(root)) {}

  ModelPart& part(const std::string& name) {
    const std::string key = to_lower(name);
    if (auto it = parts_.find(key); it != parts_.end()) return it->second;
    PackageFile* file = find_part(files_, name);
    if (!file) throw input_error(file_ + ": the model refers to part " + in_quotes(name) + ", which the package lacks");
    // In-place parsing needs a mutable buffer. Other parts stay as extra files, so they are copied.
    std::string buffer = same_part_name(name, root_) ? std::move(file->content) : file->content;
    pugi::xml_document doc;
    const pugi::xml_parse_result parsed = doc.load_buffer_inplace(buffer.data(), buffer.size());
    if (!parsed) {
      throw input_error(file_ + ": malformed XML in " + name + " at byte " + std::to_string(parsed.offset) + ": " +
                        parsed.description());
    }
    const pugi::xml_node model = doc.document_element();
    if (std::string_view(model.name()) != "model") {
      throw input_error(where(name) + "the root element is <" + model.name() + ">, expected <model>");
    }
    PartParser parser(where(name), production_path_attribute(model));
    return parts_.emplace(key, parser.parse(model)).first->second;
  }

  const ObjectDef& object(const std::string& part_name, std::uint32_t id) {
    const ModelPart& p = part(part_name);
    const auto it = p.objects.find(id);
    if (it == p.objects.end()) {
      throw input_error(where(part_name) + "there is no object " + std::to_string(id) +
                        " (referred to by a build item or component)");
    }
    return it->second;
  }

  void set_unit_scale(double scale) { scale_ = scale; }
  /// Appends object `id` of part `part_name`, transformed by `transform`, to `out`.
  void place(const std::string& part_name, std::uint32_t id, const Affine& transform, ThreeMFObject& out) {
    const std::string what = "object " + std::to_string(id);
    for (const auto& [p, i] : stack_) {
      if (i == id && same_part_name(p, part_name))
        throw input_error(where(part_name) + what + " contains itself through its components");
    }
    if (stack_.size() >= kMaxComponentDepth) {
      throw input_error(where(part_name) + "components nested more than " + std::to_string(kMaxComponentDepth) +
                        " deep");
    }
    const ObjectDef& def = object(part_name, id);
    if (!def.is_model) return;
    if (!out.color) out.color = def.color;
    if (out.mesh.vertices.size() + def.mesh.vertices.size() > std::numeric_limits<std::uint32_t>::max()) {
      throw input_error(where(part_name) + what + ": too many vertices for 32-bit indices");
    }
    append_transformed(def.mesh, transform, out.mesh);
    stack_.emplace_back(part_name, id);
    for (const ComponentRef& c : def.components) {
      place(c.part.empty() ? part_name : c.part, c.object_id, then(c.transform, transform), out);
    }
    stack_.pop_back();
  }

 private:
  std::string where(const std::string& part_name) const {
    return same_part_name(part_name, root_) ? file_ + ": " : file_ + ": " + part_name + ": ";
  }

  void append_transformed(const Mesh& mesh, const Affine& transform, Mesh& out) const {
    // No reserve: an object may be appended thousands of times, and exact reserves are quadratic.
    const bool exact = scale_ == 1.0 && transform.is_identity();  // no arithmetic on the coordinates
    const auto offset = static_cast<std::uint32_t>(out.vertices.size());
    for (const Vec3f& v : mesh.vertices) {
      const Vec3d p = transform.apply(to_double(v)) * scale_;
      const Vec3f q = exact ? v : Vec3f{static_cast<float>(p.x), static_cast<float>(p.y), static_cast<float>(p.z)};
      if (!is_finite(q)) throw input_error(file_ + ": a transform moves a vertex out of the float range");
      out.vertices.push_back(q);
    }
    const bool mirrored = transform.determinant() < 0;  // keep the outside outside
    for (const Triangle& t : mesh.triangles) {
      out.triangles.push_back(mirrored ? Triangle{t[0] + offset, t[2] + offset, t[1] + offset}
                                       : Triangle{t[0] + offset, t[1] + offset, t[2] + offset});
    }
  }

  std::string file_;
  std::vector<PackageFile>& files_;
  std::string root_;
  double scale_ = 1.0;
  std::map<std::string, ModelPart> parts_;                    // by lowercase name
  std::vector<std::pair<std::string, std::uint32_t>> stack_;  // objects being placed, for cycles
};

}  // namespace

namespace {

void write_package(const fs::path& path, const std::vector<ThreeMFObjectRef>& objects,
                   const std::map<std::string, std::string>& metadata, const std::vector<PackageFile>& extras,
                   std::uint64_t in_memory_limit) {
  const std::string file = path.string();
  validate_for_writing(file, objects, metadata, extras);
  const std::string content_types = content_types_xml(extras);
  const std::string rels = rels_xml();
  ModelSource model(ModelXml(objects, metadata));
  std::uint64_t bound = 4096;  // the text's size is at most this
  for (const ThreeMFObjectRef& o : objects) bound += 96 * o.mesh->vertex_count() + 80 * o.mesh->triangle_count();
  // A model whose text fits in_memory_limit is made in one string and stored with its size known
  // up front; a larger one streams, and libzip then gives its entry a zip64 local header (which
  // zip64 readers, PrusaSlicer's among them, take). Past 4 GiB libzip needs the size before it
  // starts, so the text is made twice, the first time only to count it.
  const bool in_memory = bound <= in_memory_limit;
  std::string whole;
  if (in_memory) {
    whole.reserve(bound);
    while (model.xml.next(whole)) {
    }
  } else if (bound >= (std::uint64_t{1} << 32)) {
    std::string piece;
    while (model.xml.next(piece)) {
      model.size += piece.size();
      piece.clear();
    }
    model.size_known = true;
  }
  std::vector<std::pair<std::string_view, std::string_view>> entries{{kContentTypesPath, content_types},
                                                                    {kRelsPath, rels}};
  if (in_memory) entries.emplace_back(kModelPath, whole);
  for (const PackageFile& f : extras) entries.emplace_back(f.path, f.content);
  AtomicFile out(path);
  write_zip(out.temp_path(), file, entries, in_memory ? nullptr : &model);
  out.commit();
}

}  // namespace

void write_3mf(const fs::path& path, const ThreeMFModel& model) {
  std::vector<MeshRef> meshes;
  meshes.reserve(model.objects.size());
  for (const ThreeMFObject& o : model.objects) meshes.emplace_back(o.mesh);
  std::vector<ThreeMFObjectRef> objects;
  objects.reserve(model.objects.size());
  for (std::size_t i = 0; i < model.objects.size(); ++i) {
    objects.push_back({model.objects[i].name, &meshes[i], model.objects[i].color});
  }
  write_package(path, objects, model.metadata, model.extra_files, kThreeMFInMemoryModelBytes);
}

void write_3mf(const fs::path& path, const std::vector<ThreeMFObjectRef>& objects,
               const std::map<std::string, std::string>& metadata, std::uint64_t in_memory_limit) {
  write_package(path, objects, metadata, {}, in_memory_limit);
}

ThreeMFModel read_3mf(const fs::path& path) {
  const std::string file = path.string();
  std::vector<PackageFile> files = read_package(path, file);
  const std::string root = find_model_part(file, files);
  ModelReader reader(file, files, root);
  const ModelPart& model = reader.part(root);
  const double scale = unit_scale_mm(model.unit);
  if (scale == 0) throw input_error(file + ": unknown unit " + in_quotes(model.unit));
  reader.set_unit_scale(scale);
  if (model.build.empty()) throw input_error(file + ": the model has no build items, so nothing to print");
  ThreeMFModel result;
  result.metadata = model.metadata;
  for (const ComponentRef& item : model.build) {
    const std::string part_name = item.part.empty() ? root : item.part;
    const ObjectDef& def = reader.object(part_name, item.object_id);
    if (!def.is_model) continue;  // support and other non-printing objects
    ThreeMFObject object;
    object.name = def.name;
    reader.place(part_name, item.object_id, item.transform, object);
    result.objects.push_back(std::move(object));
  }
  if (result.objects.empty()) throw input_error(file + ": the build has no objects of type model");
  for (PackageFile& f : files) {
    if (same_part_name(f.path, kContentTypesPath) || same_part_name(f.path, kRelsPath) || same_part_name(f.path, root))
      continue;
    result.extra_files.push_back(std::move(f));
  }
  return result;
}

Mesh merge_objects(const ThreeMFModel& model) {
  Mesh merged;
  std::size_t vertices = 0, triangles = 0;
  for (const ThreeMFObject& o : model.objects) {
    vertices += o.mesh.vertices.size();
    triangles += o.mesh.triangles.size();
  }
  // Reserved once: append_mesh reserves exactly, which is quadratic over many appends.
  merged.vertices.reserve(vertices);
  merged.triangles.reserve(triangles);
  for (const ThreeMFObject& o : model.objects) append_mesh(merged, o.mesh);
  return merged;
}

}  // namespace fabforge
