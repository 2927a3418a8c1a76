#include "fabforge/core/image.hpp"

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <utility>

#include "fabforge/core/atomic_file.hpp"
#include "fabforge/core/color.hpp"
#include "fabforge/core/error.hpp"
#include "fabforge/core/parallel.hpp"

#include "image_codec.hpp"

namespace fabforge {

namespace fs = std::filesystem;

namespace {

/// Limits checked on the header before anything is decoded, so that a small file claiming a
/// gigantic image (a decompression bomb) fails fast instead of exhausting memory.
constexpr std::int64_t kMaxSide = 30000;
constexpr std::int64_t kMaxPixels = 400'000'000;
/// No PNG or JPEG within the pixel limits needs more; the file is held in memory to decode.
constexpr std::size_t kMaxFileBytes = std::size_t{1} << 30;

constexpr std::size_t kPixelGrain = 1 << 14;

// ---------------------------------------------------------------------------------------------
// File headers. The container structure is checked here before decoding, so that probe_image is
// cheap and a cut file gets a message saying where it ends rather than a decoder's complaint.

enum class Format { png, jpeg };

struct Header {
  Format format = Format::png;
  ImageFileInfo info;
  int png_color_type = -1;
  int orientation = 1;  ///< JPEG EXIF orientation, 1..8
};

std::uint32_t be32(const unsigned char* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}
std::uint16_t be16(const unsigned char* p) { return static_cast<std::uint16_t>((p[0] << 8) | p[1]); }

const unsigned char* bytes_of(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

constexpr std::string_view kPngSignature{"\x89PNG\r\n\x1a\n", 8};

/// Channels the PNG decoder produces for a colour type, with alpha from tRNS where it keeps it
/// (RGB and palette; a grey image's tRNS is dropped, as OpenCV did before).
int png_channels(int color_type, bool has_trns) {
  switch (color_type) {
    case 0:
      return 1;
    case 2:
    case 3:
      return has_trns ? 4 : 3;
    case 4:
      return 2;
    case 6:
      return 4;
    default:
      return 0;
  }
}

bool valid_png_depth(int color_type, int depth) {
  switch (color_type) {
    case 0:
      return depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16;
    case 3:
      return depth == 1 || depth == 2 || depth == 4 || depth == 8;
    case 2:
    case 4:
    case 6:
      return depth == 8 || depth == 16;
    default:
      return false;
  }
}

Header parse_png(std::string_view file, const std::string& name) {
  const unsigned char* b = bytes_of(file);
  if (file.size() < 33 || be32(b + 8) != 13 || std::memcmp(b + 12, "IHDR", 4) != 0) {
    throw input_error(name + ": not a valid PNG image: missing IHDR header");
  }
  Header h;
  h.info.width = static_cast<int>(std::min<std::uint32_t>(be32(b + 16), std::numeric_limits<int>::max()));
  h.info.height = static_cast<int>(std::min<std::uint32_t>(be32(b + 20), std::numeric_limits<int>::max()));
  const int depth = b[24];
  h.png_color_type = b[25];
  if (!valid_png_depth(h.png_color_type, depth)) {
    throw input_error(name + ": unsupported PNG: colour type " + std::to_string(h.png_color_type) + " with bit depth " +
                      std::to_string(depth));
  }
  h.info.bit_depth = depth == 16 ? 16 : 8;  // 1, 2 and 4-bit samples are widened to 8 on load

  // Walk the chunks to IEND: a file cut short fails here with a clear message.
  const std::string size = std::to_string(file.size());
  bool has_trns = false, has_idat = false, has_iend = false;
  std::size_t pos = 8;
  while (!has_iend && pos + 12 <= file.size()) {
    const std::uint32_t length = be32(b + pos);
    const std::string type(file.substr(pos + 4, 4));
    if (length > file.size() - pos - 12) {
      throw input_error(name + ": truncated PNG: chunk '" + type + "' at byte " + std::to_string(pos) +
                        " runs past the end of the file (" + size + " bytes)");
    }
    if (type == "tRNS" && !has_idat) has_trns = true;
    has_idat = has_idat || type == "IDAT";
    has_iend = type == "IEND";
    pos += 12 + std::size_t{length};
  }
  if (!has_idat) throw input_error(name + ": not a valid PNG: no image data (IDAT chunk) in " + size + " bytes");
  if (!has_iend) throw input_error(name + ": truncated PNG: no IEND chunk (the file ends after " + size + " bytes)");
  h.info.channels = png_channels(h.png_color_type, has_trns);
  return h;
}

/// EXIF orientation (1..8) from an APP1 payload, 1 when absent or unreadable.
int exif_orientation(std::string_view app1) {
  if (app1.size() < 14 || app1.substr(0, 6) != std::string_view("Exif\0\0", 6)) return 1;
  const std::string_view tiff = app1.substr(6);
  const unsigned char* t = bytes_of(tiff);
  const bool little = tiff.substr(0, 2) == "II";
  if (!little && tiff.substr(0, 2) != "MM") return 1;
  auto u16 = [&](std::size_t at) -> std::uint32_t {
    return little ? std::uint32_t{t[at]} | (std::uint32_t{t[at + 1]} << 8) : be16(t + at);
  };
  auto u32 = [&](std::size_t at) { return little ? u16(at) | (u16(at + 2) << 16) : be32(t + at); };
  const std::size_t ifd = u32(4);
  if (u16(2) != 42 || ifd > tiff.size() - 2) return 1;
  const std::size_t entries = u16(ifd);
  for (std::size_t i = 0; i < entries; ++i) {
    const std::size_t e = ifd + 2 + 12 * i;
    if (e + 12 > tiff.size()) break;
    if (u16(e) == 0x0112 && u16(e + 2) == 3) {
      const std::uint32_t v = u16(e + 8);
      return v >= 1 && v <= 8 ? static_cast<int>(v) : 1;
    }
  }
  return 1;
}

/// True if an end-of-image marker follows the first scan. Inside entropy-coded data 0xFF is always
/// followed by 0x00 or a restart marker, so FF D9 can only be the real end (or trailing data).
bool jpeg_has_end(std::string_view file, std::size_t scan_start) {
  for (std::size_t i = file.size(); i-- > scan_start + 1;) {
    if (static_cast<unsigned char>(file[i]) == 0xD9 && static_cast<unsigned char>(file[i - 1]) == 0xFF) return true;
  }
  return false;
}

Header parse_jpeg(std::string_view file, const std::string& name) {
  const unsigned char* b = bytes_of(file);
  Header h;
  h.format = Format::jpeg;
  int orientation = 1;
  bool have_frame = false;
  std::size_t pos = 2;
  const std::string bad = name + ": truncated or corrupt JPEG: ";
  while (true) {
    if (pos >= file.size() || b[pos] != 0xFF) throw input_error(bad + "no marker at byte " + std::to_string(pos));
    while (pos < file.size() && b[pos] == 0xFF) ++pos;  // a marker, after any fill bytes
    if (pos >= file.size()) throw input_error(bad + "the header ends early");
    const int marker = b[pos];
    if (marker == 0xD9) throw input_error(bad + "it ends before any image data");
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {  // stand-alone markers
      ++pos;
      continue;
    }
    if (pos + 3 > file.size()) throw input_error(bad + "the header ends early");
    const std::size_t length = be16(b + pos + 1);
    if (length < 2 || pos + 1 + length > file.size()) throw input_error(bad + "a header segment runs past the end");
    const std::string_view payload = file.substr(pos + 3, length - 2);
    const bool is_frame = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    if (is_frame && payload.size() >= 6) {
      const unsigned char* p = bytes_of(payload);
      if (p[0] != 8) throw input_error(name + ": unsupported JPEG with " + std::to_string(p[0]) + "-bit samples");
      h.info.height = be16(p + 1);
      h.info.width = be16(p + 3);
      h.info.channels = p[5] == 1 ? 1 : 3;  // CMYK and YCCK are converted to RGB on load
      h.info.bit_depth = 8;
      have_frame = true;
    } else if (marker == 0xE1 && orientation == 1) {
      orientation = exif_orientation(payload);
    } else if (marker == 0xDA) {
      if (!have_frame) throw input_error(bad + "image data before the frame header");
      if (!jpeg_has_end(file, pos + 1 + length)) throw input_error(bad + "no end-of-image marker");
      break;
    }
    pos += 1 + length;
  }
  // The EXIF orientation is applied on load, as viewers (and OpenCV before) do; 5 to 8 turn the
  // image a quarter.
  h.orientation = orientation;
  if (orientation >= 5) std::swap(h.info.width, h.info.height);
  return h;
}

Header parse_header(std::string_view file, const std::string& name) {
  Header h;
  if (file.substr(0, 8) == kPngSignature) {
    h = parse_png(file, name);
  } else if (file.size() >= 3 && file.substr(0, 3) == "\xFF\xD8\xFF") {
    h = parse_jpeg(file, name);
  } else {
    throw input_error(name + ": not a PNG or JPEG image (unrecognised signature)");
  }
  const std::int64_t w = h.info.width, ht = h.info.height;
  const std::string size = std::to_string(w) + " x " + std::to_string(ht);
  if (w <= 0 || ht <= 0) throw input_error(name + ": image has no pixels (" + size + ")");
  if (w > kMaxSide || ht > kMaxSide || w * ht > kMaxPixels) {
    throw input_error(name + ": image too large: " + size + " pixels (the limit is " + std::to_string(kMaxSide) +
                      " on a side and " + std::to_string(kMaxPixels / 1'000'000) + " megapixels)");
  }
  return h;
}

/// Reads the whole file with the checks that give a user a message naming it.
std::string read_image_file(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec) && !ec) throw input_error(path.string() + ": no such file");
  const auto size = fs::is_regular_file(path, ec) ? fs::file_size(path, ec) : 0;
  if (!ec && size > kMaxFileBytes) throw input_error(path.string() + ": file too large for an image (over 1 GiB)");
  std::string bytes = read_file(path);  // throws for directories and unreadable files
  if (bytes.empty()) throw input_error(path.string() + ": empty file, expected a PNG or JPEG image");
  return bytes;
}

/// Decodes a file to 8 or 16-bit samples in RGB(A) order with the file's channel count.
codec::Samples decode(const fs::path& path) {
  const std::string file = read_image_file(path);
  const std::string name = path.string();
  const Header h = parse_header(file, name);
  codec::Samples samples;
  if (h.format == Format::png) {
    samples = codec::decode_png(file, name);
  } else {
    samples = codec::decode_jpeg(file, name);
    codec::apply_exif_orientation(samples, h.orientation);
  }
  if (samples.width != h.info.width || samples.height != h.info.height) {
    throw input_error(name + ": not a valid image: the header says " + std::to_string(h.info.width) + " x " +
                      std::to_string(h.info.height) + " pixels but the decoder found " + std::to_string(samples.width) +
                      " x " + std::to_string(samples.height));
  }
  return samples;
}

// ---------------------------------------------------------------------------------------------
// Sample conversions.

/// Conversions accept an empty (0 x 0) image and return one; encoders and resizing do not.
template <class T>
void check_image(const Image<T>& image, std::string_view operation, bool allow_empty = false) {
  if (allow_empty && image.width == 0 && image.height == 0 && image.pixels.empty()) return;
  const bool ok = image.width > 0 && image.height > 0 && image.channels >= 1 && image.channels <= 4 &&
                  image.pixels.size() == image.pixel_count() * static_cast<std::size_t>(image.channels);
  if (!ok) {
    throw usage_error(std::string(operation) + ": invalid image (" + std::to_string(image.width) + " x " +
                      std::to_string(image.height) + " x " + std::to_string(image.channels) + " with " +
                      std::to_string(image.pixels.size()) + " samples)");
  }
}

void check_channels(int channels) {
  if (channels < 1 || channels > 4) {
    throw usage_error("channel count must be 1, 2, 3 or 4, not " + std::to_string(channels));
  }
}

/// A cv::Mat header over an image's samples (no copy). OpenCV takes a non-const pointer even for
/// inputs; only headers over non-const images are ever written through.
template <class T>
cv::Mat wrap(const Image<T>& image) {
  constexpr int depth = std::is_same_v<T, float> ? CV_32F : (sizeof(T) == 2 ? CV_16U : CV_8U);
  return cv::Mat(image.height, image.width, CV_MAKETYPE(depth, image.channels), const_cast<T*>(image.pixels.data()));
}

/// Applies colour(x) to colour samples and alpha(x) to alpha samples, in parallel over pixels.
template <class In, class Out, class Colour, class Alpha>
void map_samples(const In* in, Out* out, std::size_t pixels, int channels, Colour colour, Alpha alpha) {
  const auto ch = static_cast<std::size_t>(channels);
  const std::size_t colour_channels = channels == 2 || channels == 4 ? ch - 1 : ch;
  parallel_for(0, pixels, kPixelGrain, [&](std::size_t lo, std::size_t hi) {
    for (std::size_t p = lo; p < hi; ++p) {
      const std::size_t base = p * ch;
      for (std::size_t c = 0; c < colour_channels; ++c) out[base + c] = colour(in[base + c]);
      if (colour_channels != ch) out[base + ch - 1] = alpha(in[base + ch - 1]);
    }
  });
}

/// 8-bit sample to linear light, one table for all.
const std::array<float, 256>& linear_table() {
  static const std::array<float, 256> table = [] {
    std::array<float, 256> t{};
    for (int i = 0; i < 256; ++i) t[static_cast<std::size_t>(i)] = static_cast<float>(color::srgb_to_linear(i / 255.0));
    return t;
  }();
  return table;
}

/// 16-bit sample to linear light: 256 KiB, built once on first use, cheaper than a pow per sample
/// for any image larger than a thumbnail.
const std::vector<float>& linear_table16() {
  static const std::vector<float> table = [] {
    std::vector<float> t(65536);
    for (std::size_t i = 0; i < t.size(); ++i) {
      t[i] = static_cast<float>(color::srgb_to_linear(static_cast<double>(i) / 65535.0));
    }
    return t;
  }();
  return table;
}

/// Linear values at which the 8-bit sRGB code steps up: code k+1 begins at the linear value of
/// encoded (k + 0.5) / 255. Counting thresholds below a sample rounds it exactly as
/// round(linear_to_srgb(v) * 255) would, without a pow per sample.
const std::array<double, 255>& linear_thresholds() {
  static const std::array<double, 255> table = [] {
    std::array<double, 255> t{};
    for (int k = 0; k < 255; ++k) t[static_cast<std::size_t>(k)] = color::srgb_to_linear((k + 0.5) / 255.0);
    return t;
  }();
  return table;
}

float clamp01(float v) { return v > 0.0f ? (v < 1.0f ? v : 1.0f) : 0.0f; }  // NaN -> 0

std::uint8_t quantize8(float v) { return static_cast<std::uint8_t>(clamp01(v) * 255.0f + 0.5f); }

std::uint8_t linear_to_code8(float v) {
  if (!(v > 0.0f)) return 0;
  const auto& t = linear_thresholds();
  return static_cast<std::uint8_t>(std::upper_bound(t.begin(), t.end(), static_cast<double>(v)) - t.begin());
}

std::uint16_t quantize16(float v) { return static_cast<std::uint16_t>(clamp01(v) * 65535.0 + 0.5); }

float srgb_to_linear_f(float v) { return static_cast<float>(color::srgb_to_linear(v)); }
float linear_to_srgb_f(float v) { return static_cast<float>(color::linear_to_srgb(v)); }

/// A cv::Mat header over decoded samples (no copy).
cv::Mat view(const codec::Samples& s) {
  if (s.bit_depth == 16) {
    return cv::Mat(s.height, s.width, CV_16UC(s.channels), const_cast<std::uint16_t*>(s.words.data()));
  }
  return cv::Mat(s.height, s.width, CV_8UC(s.channels), const_cast<std::uint8_t*>(s.bytes.data()));
}

/// Decoded 8 or 16-bit RGB(A) samples as an sRGB-encoded or linear float image.
ImageF decoded_to_float(const cv::Mat& rgb, Encoding encoding) {
  ImageF out(rgb.cols, rgb.rows, rgb.channels(), encoding);
  const std::size_t pixels = out.pixel_count();
  if (rgb.depth() == CV_8U) {
    const auto* in = rgb.ptr<std::uint8_t>();
    const auto& lut = linear_table();
    if (encoding == Encoding::linear) {
      map_samples(
          in, out.pixels.data(), pixels, out.channels, [&](std::uint8_t v) { return lut[v]; },
          [](std::uint8_t v) { return v / 255.0f; });
    } else {
      map_samples(
          in, out.pixels.data(), pixels, out.channels, [](std::uint8_t v) { return v / 255.0f; },
          [](std::uint8_t v) { return v / 255.0f; });
    }
  } else {
    const auto* in = rgb.ptr<std::uint16_t>();
    auto unit = [](std::uint16_t v) { return static_cast<float>(v / 65535.0); };
    if (encoding == Encoding::linear) {
      const auto& lut = linear_table16();
      map_samples(
          in, out.pixels.data(), pixels, out.channels, [&](std::uint16_t v) { return lut[v]; }, unit);
    } else {
      map_samples(in, out.pixels.data(), pixels, out.channels, unit, unit);
    }
  }
  return out;
}

/// One pixel read as RGBA whatever its channel count.
template <class T>
struct Rgba {
  T r, g, b, a;
};

template <class T>
constexpr T kOpaque = std::is_same_v<T, float> ? T(1) : T(255);

template <class T>
T luma(T r, T g, T b) {
  // Rec. 709 weights on the samples as they are (encoded values for sRGB images).
  const double y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  if constexpr (std::is_same_v<T, float>) {
    return static_cast<float>(y);
  } else {
    return static_cast<T>(std::min(255.0, std::round(y)));
  }
}

template <class T>
Image<T> convert_channels_impl(const Image<T>& image, int channels) {
  check_channels(channels);
  check_image(image, "convert_channels", true);
  if (channels == image.channels) return image;
  Image<T> out(image.width, image.height, channels, image.encoding);
  const int from = image.channels;
  const bool from_grey = from <= 2;
  const T* in = image.pixels.data();
  T* dst = out.pixels.data();
  parallel_for(0, image.pixel_count(), kPixelGrain, [&](std::size_t lo, std::size_t hi) {
    for (std::size_t p = lo; p < hi; ++p) {
      const T* s = in + p * static_cast<std::size_t>(from);
      Rgba<T> px{s[0], s[0], s[0], kOpaque<T>};
      if (from == 2) px.a = s[1];
      if (from >= 3) {
        px.g = s[1];
        px.b = s[2];
      }
      if (from == 4) px.a = s[3];
      T* d = dst + p * static_cast<std::size_t>(channels);
      if (channels <= 2) {
        d[0] = from_grey ? px.r : luma(px.r, px.g, px.b);
        if (channels == 2) d[1] = px.a;
      } else {
        d[0] = px.r;
        d[1] = px.g;
        d[2] = px.b;
        if (channels == 4) d[3] = px.a;
      }
    }
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
// PNG encoding.

/// Encodes in memory first, so that a failure leaves the destination as it was (see AtomicFile).
template <class T>
void save_encoded(const fs::path& path, const T* samples, int width, int height, int channels) {
  std::vector<unsigned char> png;
  try {
    png = codec::encode_png(samples, width, height, channels, 8 * static_cast<int>(sizeof(T)));
  } catch (const Error& e) {
    throw runtime_error(path.string() + ": " + e.what());
  }
  write_file_atomic(path, std::string_view(reinterpret_cast<const char*>(png.data()), png.size()));
}

/// Float samples as 16-bit sRGB-encoded integers.
std::vector<std::uint16_t> to_samples16(const ImageF& image) {
  std::vector<std::uint16_t> out(image.pixels.size());
  if (image.encoding == Encoding::linear) {
    map_samples(
        image.pixels.data(), out.data(), image.pixel_count(), image.channels,
        [](float v) { return quantize16(linear_to_srgb_f(clamp01(v))); }, quantize16);
  } else {
    map_samples(image.pixels.data(), out.data(), image.pixel_count(), image.channels, quantize16, quantize16);
  }
  return out;
}

template <class T>
Image<T> resize_area_impl(const Image<T>& image, int width, int height) {
  if (width <= 0 || height <= 0) {
    throw usage_error("resize: target size must be positive, not " + std::to_string(width) + " x " +
                      std::to_string(height));
  }
  check_image(image, "resize");
  if (width == image.width && height == image.height) return image;
  Image<T> out(width, height, image.channels, image.encoding);
  cv::Mat dst = wrap(out);
  const void* before = dst.data;
  cv::resize(wrap(image), dst, dst.size(), 0, 0, cv::INTER_AREA);
  FABFORGE_CHECK(dst.data == before, "cv::resize reallocated its output");
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Public interface.

ImageFileInfo probe_image(const fs::path& path) {
  const std::string file = read_image_file(path);
  return parse_header(file, path.string()).info;
}

Image8 load_image8(const fs::path& path, int channels) {
  if (channels != 0) check_channels(channels);
  codec::Samples decoded = decode(path);
  Image8 out;
  if (decoded.bit_depth == 16) {
    out = Image8(decoded.width, decoded.height, decoded.channels, Encoding::srgb);
    cv::Mat dst = wrap(out);
    view(decoded).convertTo(dst, CV_8U, 1.0 / 257.0);  // 65535 -> 255, rounded (no ties: 257 is odd)
  } else {
    out.width = decoded.width;
    out.height = decoded.height;
    out.channels = decoded.channels;
    out.pixels = std::move(decoded.bytes);
  }
  if (channels == 0 || channels == out.channels) return out;
  return convert_channels(out, channels);
}

ImageF load_imagef(const fs::path& path, Encoding encoding, int channels) {
  if (channels != 0) check_channels(channels);
  const codec::Samples decoded = decode(path);
  const cv::Mat rgb = view(decoded);
  if (channels == 0 || channels == rgb.channels()) return decoded_to_float(rgb, encoding);
  // Grey from colour is taken on encoded values, so change channels before decoding the curve.
  ImageF encoded = convert_channels(decoded_to_float(rgb, Encoding::srgb), channels);
  return encoding == Encoding::srgb ? encoded : convert_encoding(encoded, encoding);
}

std::vector<std::uint8_t> encode_png(const Image8& image) {
  check_image(image, "encode_png");
  return codec::encode_png(image.pixels.data(), image.width, image.height, image.channels, 8);
}

void save_png(const fs::path& path, const Image8& image) {
  check_image(image, "save_png");
  save_encoded(path, image.pixels.data(), image.width, image.height, image.channels);
}

void save_png(const fs::path& path, const ImageF& image, int bit_depth) {
  if (bit_depth != 8 && bit_depth != 16) {
    throw usage_error("save_png: bit depth must be 8 or 16, not " + std::to_string(bit_depth));
  }
  check_image(image, "save_png");
  if (bit_depth == 8) {
    save_png(path, to_image8(image));
    return;
  }
  std::vector<std::uint16_t> samples = to_samples16(image);
  save_encoded(path, samples.data(), image.width, image.height, image.channels);
}

ImageF to_float(const Image8& image, Encoding encoding) {
  check_image(image, "to_float", true);
  if (image.empty()) return ImageF(image.width, image.height, image.channels, encoding);
  return decoded_to_float(wrap(image), encoding);
}

Image8 to_image8(const ImageF& image) {
  check_image(image, "to_image8", true);
  Image8 out(image.width, image.height, image.channels, Encoding::srgb);
  if (image.encoding == Encoding::linear) {
    map_samples(image.pixels.data(), out.pixels.data(), image.pixel_count(), image.channels, linear_to_code8,
                quantize8);
  } else {
    map_samples(image.pixels.data(), out.pixels.data(), image.pixel_count(), image.channels, quantize8, quantize8);
  }
  return out;
}

ImageF convert_encoding(const ImageF& image, Encoding encoding) {
  if (image.encoding == encoding) return image;
  check_image(image, "convert_encoding", true);
  ImageF out(image.width, image.height, image.channels, encoding);
  auto keep = [](float v) { return v; };
  if (encoding == Encoding::linear) {
    map_samples(image.pixels.data(), out.pixels.data(), image.pixel_count(), image.channels, srgb_to_linear_f, keep);
  } else {
    map_samples(image.pixels.data(), out.pixels.data(), image.pixel_count(), image.channels, linear_to_srgb_f, keep);
  }
  return out;
}

Image8 convert_channels(const Image8& image, int channels) { return convert_channels_impl(image, channels); }
ImageF convert_channels(const ImageF& image, int channels) { return convert_channels_impl(image, channels); }

ImageF resize_area(const ImageF& image, int width, int height) { return resize_area_impl(image, width, height); }
Image8 resize_area(const Image8& image, int width, int height) { return resize_area_impl(image, width, height); }

}  // namespace fabforge
