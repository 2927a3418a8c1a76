#include "image_codec.hpp"

// jpeglib.h uses size_t and FILE without including their headers.
// clang-format off
#include <cstddef>
#include <cstdio>
#include <jpeglib.h>
// clang-format on

#include <png.h>
#include <zlib.h>

#include <bit>
#include <csetjmp>
#include <cstring>
#include <string>
#include <utility>

#include "fabforge/core/error.hpp"

namespace fabforge::codec {

namespace {

constexpr bool kLittleEndian = std::endian::native == std::endian::little;

/// A library's error text, kept in a plain array: it must outlive a longjmp and needs no
/// destructor. Longer texts are cut (libjpeg's are at most JMSG_LENGTH_MAX with the nul).
struct Message {
  char text[JMSG_LENGTH_MAX] = {};

  void set(const char* s) noexcept {
    std::size_t i = 0;
    for (; s != nullptr && s[i] != '\0' && i + 1 < sizeof text; ++i) text[i] = s[i];
    text[i] = '\0';
  }
};

// ---------------------------------------------------------------------------------------------
// libpng callbacks. libpng calls the error callback and expects it not to return; when it does,
// libpng prints the message to stderr itself, so this one jumps back to the caller's setjmp.

[[noreturn]] void png_error_to_message(png_structp png, png_const_charp text) {
  static_cast<Message*>(png_get_error_ptr(png))->set(text);
  png_longjmp(png, 1);
}

/// Warnings (a damaged ancillary chunk, an unusual colour profile) never stop a decode and
/// library code does not print: they are dropped.
void png_drop_warning(png_structp, png_const_charp) {}

/// The file being decoded. Trivially destructible, like everything a longjmp crosses.
struct PngInput {
  const unsigned char* data = nullptr;
  std::size_t size = 0;
  std::size_t pos = 0;
  Message error;
};

void png_read_from_memory(png_structp png, png_bytep out, std::size_t n) {
  auto* in = static_cast<PngInput*>(png_get_io_ptr(png));
  if (n > in->size - in->pos) png_error(png, "the data ends early");
  std::memcpy(out, in->data + in->pos, n);
  in->pos += n;
}

struct PngOutput {
  std::vector<unsigned char>* bytes = nullptr;
  Message error;
};

void png_write_to_memory(png_structp png, png_bytep data, std::size_t n) {
  auto* out = static_cast<PngOutput*>(png_get_io_ptr(png));
  bool failed = false;
  try {
    out->bytes->insert(out->bytes->end(), data, data + n);
  } catch (...) {  // no exception may cross libpng's C frames; report it as a libpng error
    failed = true;
  }
  if (failed) png_error(png, "out of memory");
}

void png_flush_nothing(png_structp) {}

/// Owns libpng's structures for one decode or encode, whichever way it ends.
struct PngStructs {
  bool writing = false;
  png_structp png = nullptr;
  png_infop info = nullptr;

  explicit PngStructs(bool write) : writing(write) {}
  PngStructs(const PngStructs&) = delete;
  PngStructs& operator=(const PngStructs&) = delete;
  ~PngStructs() {
    if (writing) {
      png_destroy_write_struct(&png, &info);
    } else {
      png_destroy_read_struct(&png, &info, nullptr);
    }
  }
};

/// The decoded layout after libpng's transforms.
struct PngLayout {
  png_uint_32 width = 0;
  png_uint_32 height = 0;
  int channels = 0;
  int bit_depth = 0;
  std::size_t row_bytes = 0;
};

// The functions that call setjmp hold no C++ objects and return right after a longjmp, so no
// destructor is skipped and no local is used after being clobbered.

/// Reads the header and sets the transforms that give OpenCV's samples; false after an error.
bool png_begin(png_structp png, png_infop info, PngLayout* layout) {
  if (setjmp(png_jmpbuf(png)) != 0) return false;
  png_read_info(png, info);
  const int color_type = png_get_color_type(png, info);
  const int depth = png_get_bit_depth(png, info);
  if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);  // with tRNS: to RGBA
  if (color_type == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  if (color_type == PNG_COLOR_TYPE_RGB && png_get_valid(png, info, PNG_INFO_tRNS) != 0) png_set_tRNS_to_alpha(png);
  if (depth == 16 && kLittleEndian) png_set_swap(png);  // PNG stores 16-bit samples big-endian
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  layout->width = png_get_image_width(png, info);
  layout->height = png_get_image_height(png, info);
  layout->channels = png_get_channels(png, info);
  layout->bit_depth = png_get_bit_depth(png, info);
  layout->row_bytes = png_get_rowbytes(png, info);
  return true;
}

/// Decodes every row (all passes of an interlaced file) and reads the chunks after the image.
bool png_rows(png_structp png, png_bytepp rows) {
  if (setjmp(png_jmpbuf(png)) != 0) return false;
  png_read_image(png, rows);
  png_read_end(png, nullptr);
  return true;
}

struct PngFrame {
  png_uint_32 width = 0;
  png_uint_32 height = 0;
  int channels = 0;
  int bit_depth = 0;
};

/// Writes a whole PNG. OpenCV's defaults, kept so that files do not change: the SUB filter only
/// (one fast pass per row), deflate level 1 and the run-length strategy.
bool png_write_all(png_structp png, png_infop info, const PngFrame* frame, png_bytepp rows) {
  if (setjmp(png_jmpbuf(png)) != 0) return false;
  png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_FILTER_SUB);
  png_set_compression_level(png, Z_BEST_SPEED);
  png_set_compression_strategy(png, Z_RLE);
  const int color_type = frame->channels == 1   ? PNG_COLOR_TYPE_GRAY
                         : frame->channels == 2 ? PNG_COLOR_TYPE_GRAY_ALPHA
                         : frame->channels == 3 ? PNG_COLOR_TYPE_RGB
                                                : PNG_COLOR_TYPE_RGB_ALPHA;
  png_set_IHDR(png, info, frame->width, frame->height, frame->bit_depth, color_type, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  if (frame->bit_depth == 16 && kLittleEndian) png_set_swap(png);
  png_write_image(png, rows);
  png_write_end(png, info);
  return true;
}

// ---------------------------------------------------------------------------------------------
// libjpeg callbacks.

/// libjpeg's error manager with a place to jump back to. `manager` comes first: libjpeg hands
/// the callbacks only a pointer to it.
struct JpegErrors {
  jpeg_error_mgr manager;
  std::jmp_buf jump;
  Message message;
};

[[noreturn]] void jpeg_error_to_message(j_common_ptr cinfo) {
  auto* errors = reinterpret_cast<JpegErrors*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, errors->message.text);
  std::longjmp(errors->jump, 1);
}

/// Warnings ("corrupt JPEG data: N extraneous bytes", a premature end that libjpeg pads) are
/// counted, as libjpeg does, and never printed; trace messages are dropped.
void jpeg_count_warning(j_common_ptr cinfo, int level) {
  if (level < 0) ++cinfo->err->num_warnings;
}

void jpeg_print_nothing(j_common_ptr) {}

/// Owns libjpeg's decompressor; destroying one that was never created is a no-op.
struct JpegReader {
  jpeg_decompress_struct cinfo{};

  JpegReader() = default;
  JpegReader(const JpegReader&) = delete;
  JpegReader& operator=(const JpegReader&) = delete;
  ~JpegReader() { jpeg_destroy_decompress(&cinfo); }
};

/// Reads the header and starts decompressing to grey, RGB or CMYK (four components, which
/// libjpeg also gives for YCCK); false after an error.
bool jpeg_begin(jpeg_decompress_struct* cinfo, JpegErrors* errors, const unsigned char* data, unsigned long size) {
  if (setjmp(errors->jump) != 0) return false;
  jpeg_create_decompress(cinfo);
  jpeg_mem_src(cinfo, data, size);
  jpeg_read_header(cinfo, TRUE);
  cinfo->out_color_space = cinfo->num_components == 1 ? JCS_GRAYSCALE : cinfo->num_components == 4 ? JCS_CMYK : JCS_RGB;
  jpeg_start_decompress(cinfo);
  return true;
}

/// Decodes every scanline into `rows`.
bool jpeg_rows(jpeg_decompress_struct* cinfo, JpegErrors* errors, JSAMPARRAY rows) {
  if (setjmp(errors->jump) != 0) return false;
  while (cinfo->output_scanline < cinfo->output_height) {
    const JDIMENSION done = cinfo->output_scanline;
    if (jpeg_read_scanlines(cinfo, rows + done, cinfo->output_height - done) == 0) {
      errors->message.set("the decoder stopped before the last row");
      return false;
    }
  }
  return true;
}

/// CMYK to RGB. Adobe's applications, which write nearly all CMYK JPEGs, store the samples
/// inverted (255 = no ink); the light a channel passes is then its sample times black's, / 255.
void cmyk_to_rgb(const std::vector<unsigned char>& cmyk, std::vector<std::uint8_t>& rgb) {
  const std::size_t pixels = cmyk.size() / 4;
  rgb.resize(pixels * 3);
  for (std::size_t p = 0; p < pixels; ++p) {
    const unsigned k = cmyk[4 * p + 3];
    for (std::size_t c = 0; c < 3; ++c) rgb[3 * p + c] = static_cast<std::uint8_t>((cmyk[4 * p + c] * k + 127) / 255);
  }
}

}  // namespace

Samples decode_png(std::string_view file, const std::string& name) {
  PngInput input;
  input.data = reinterpret_cast<const unsigned char*>(file.data());
  input.size = file.size();
  PngStructs s(false);
  s.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &input.error, png_error_to_message, png_drop_warning);
  if (s.png != nullptr) s.info = png_create_info_struct(s.png);
  if (s.info == nullptr) throw runtime_error(name + ": cannot start the PNG decoder (out of memory)");
  png_set_read_fn(s.png, &input, png_read_from_memory);

  const std::string bad = name + ": not a valid PNG image (corrupt or truncated data): ";
  PngLayout layout;
  if (!png_begin(s.png, s.info, &layout)) throw input_error(bad + input.error.text);
  const int sample_bytes = layout.bit_depth / 8;
  const bool ok =
      layout.channels >= 1 && layout.channels <= 4 && (layout.bit_depth == 8 || layout.bit_depth == 16) &&
      layout.row_bytes == std::size_t{layout.width} * static_cast<std::size_t>(layout.channels * sample_bytes);
  if (!ok) throw input_error(name + ": unsupported sample format after decoding");

  Samples out;
  out.width = static_cast<int>(layout.width);
  out.height = static_cast<int>(layout.height);
  out.channels = layout.channels;
  out.bit_depth = layout.bit_depth;
  const std::size_t samples = std::size_t{layout.width} * layout.height * static_cast<std::size_t>(layout.channels);
  unsigned char* base = nullptr;
  if (out.bit_depth == 16) {
    out.words.resize(samples);
    base = reinterpret_cast<unsigned char*>(out.words.data());
  } else {
    out.bytes.resize(samples);
    base = out.bytes.data();
  }
  std::vector<png_bytep> rows(layout.height);
  for (std::size_t y = 0; y < rows.size(); ++y) rows[y] = base + y * layout.row_bytes;
  if (!png_rows(s.png, rows.data())) throw input_error(bad + input.error.text);
  return out;
}

Samples decode_jpeg(std::string_view file, const std::string& name) {
  JpegErrors errors{};
  jpeg_std_error(&errors.manager);
  errors.manager.error_exit = jpeg_error_to_message;
  errors.manager.emit_message = jpeg_count_warning;
  errors.manager.output_message = jpeg_print_nothing;
  JpegReader reader;
  reader.cinfo.err = &errors.manager;

  const std::string bad = name + ": not a valid JPEG image (corrupt or truncated data): ";
  const auto* data = reinterpret_cast<const unsigned char*>(file.data());
  if (!jpeg_begin(&reader.cinfo, &errors, data, static_cast<unsigned long>(file.size()))) {
    throw input_error(bad + errors.message.text);
  }
  const jpeg_decompress_struct& cinfo = reader.cinfo;
  const int components = cinfo.output_components;
  if (components != 1 && components != 3 && components != 4) {
    throw input_error(name + ": unsupported JPEG with " + std::to_string(components) + " colour components");
  }
  Samples out;
  out.width = static_cast<int>(cinfo.output_width);
  out.height = static_cast<int>(cinfo.output_height);
  out.channels = components == 1 ? 1 : 3;
  const std::size_t row_bytes = std::size_t{cinfo.output_width} * static_cast<std::size_t>(components);
  std::vector<unsigned char> cmyk;
  std::vector<unsigned char>& target = components == 4 ? cmyk : out.bytes;
  target.resize(row_bytes * cinfo.output_height);
  std::vector<JSAMPROW> rows(cinfo.output_height);
  for (std::size_t y = 0; y < rows.size(); ++y) rows[y] = target.data() + y * row_bytes;
  if (!jpeg_rows(&reader.cinfo, &errors, rows.data())) throw input_error(bad + errors.message.text);
  if (components == 4) cmyk_to_rgb(cmyk, out.bytes);
  return out;
}

void apply_exif_orientation(Samples& image, int orientation) {
  if (orientation < 2 || orientation > 8) return;
  FABFORGE_CHECK(image.bit_depth == 8, "EXIF orientation is applied to 8-bit (JPEG) samples only");
  const std::ptrdiff_t w = image.width, h = image.height;
  const bool turned = orientation >= 5;  // 5..8 swap width and height
  const std::ptrdiff_t out_w = turned ? h : w, out_h = turned ? w : h;
  // Output row y starts at source pixel (x0, y0) and walks `step` source pixels per output pixel.
  struct Walk {
    std::ptrdiff_t x0, y0, step;
  };
  auto walk = [&](std::ptrdiff_t y) -> Walk {
    switch (orientation) {
      case 2:
        return {w - 1, y, -1};  // mirrored left to right
      case 3:
        return {w - 1, h - 1 - y, -1};  // turned half a turn
      case 4:
        return {0, h - 1 - y, 1};  // mirrored top to bottom
      case 5:
        return {y, 0, w};  // transposed
      case 6:
        return {y, h - 1, -w};  // shown turned a quarter clockwise
      case 7:
        return {w - 1 - y, h - 1, -w};  // transverse
      default:
        return {w - 1 - y, 0, w};  // 8: shown turned a quarter anticlockwise
    }
  };
  std::vector<std::uint8_t> out(image.bytes.size());
  const auto ch = static_cast<std::size_t>(image.channels);
  for (std::ptrdiff_t y = 0; y < out_h; ++y) {
    const Walk k = walk(y);
    std::ptrdiff_t src = k.y0 * w + k.x0;
    std::uint8_t* dst = out.data() + static_cast<std::size_t>(y * out_w) * ch;
    for (std::ptrdiff_t x = 0; x < out_w; ++x, src += k.step, dst += ch) {
      std::memcpy(dst, image.bytes.data() + static_cast<std::size_t>(src) * ch, ch);
    }
  }
  image.bytes = std::move(out);
  image.width = static_cast<int>(out_w);
  image.height = static_cast<int>(out_h);
}

std::vector<unsigned char> encode_png(const void* samples, int width, int height, int channels, int bit_depth) {
  FABFORGE_CHECK(width > 0 && height > 0 && channels >= 1 && channels <= 4 && (bit_depth == 8 || bit_depth == 16),
                 "encode_png: invalid layout");
  std::vector<unsigned char> bytes;
  PngOutput output;
  output.bytes = &bytes;
  PngStructs s(true);
  s.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &output.error, png_error_to_message, png_drop_warning);
  if (s.png != nullptr) s.info = png_create_info_struct(s.png);
  if (s.info == nullptr) throw runtime_error("cannot encode PNG: cannot start the encoder (out of memory)");
  png_set_write_fn(s.png, &output, png_write_to_memory, png_flush_nothing);

  const std::size_t row_bytes =
      static_cast<std::size_t>(width) * static_cast<std::size_t>(channels) * static_cast<std::size_t>(bit_depth / 8);
  // libpng takes non-const rows but only reads them (its transforms work on a copy).
  auto* base = const_cast<unsigned char*>(static_cast<const unsigned char*>(samples));
  std::vector<png_bytep> rows(static_cast<std::size_t>(height));
  for (std::size_t y = 0; y < rows.size(); ++y) rows[y] = base + y * row_bytes;
  const PngFrame frame{static_cast<png_uint_32>(width), static_cast<png_uint_32>(height), channels, bit_depth};
  if (!png_write_all(s.png, s.info, &frame, rows.data())) {
    throw runtime_error(std::string("cannot encode PNG: ") + output.error.text);
  }
  return bytes;
}

}  // namespace fabforge::codec
