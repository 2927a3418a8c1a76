#pragma once
/// Raster images: one value type for every stage, loaded from and saved to files with libpng
/// and libjpeg (PNG 8/16-bit grey, grey+alpha, RGB, RGBA, palette; JPEG grey, RGB, CMYK).
///
/// Image<T> holds width x height pixels of `channels` interleaved samples, rows top to bottom,
/// in RGB(A) order (never OpenCV's BGR). Two sample types are used:
///   - Image8: 8-bit samples as stored in files, gamma-encoded sRGB;
///   - ImageF: float samples in [0, 1] (alpha too), either still sRGB-encoded or linear light,
///     as the `encoding` field says. 16-bit files keep their full precision in ImageF.
/// Alpha is never premultiplied and never gamma-encoded.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <vector>

namespace fabforge {

/// How colour samples relate to light. Alpha samples are always linear coverage.
enum class Encoding : std::uint8_t { srgb, linear };

template <class T>
struct Image {
  int width = 0;
  int height = 0;
  int channels = 0;  ///< 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA
  Encoding encoding = Encoding::srgb;
  std::vector<T> pixels;  ///< width * height * channels samples, row-major, interleaved

  Image() = default;
  Image(int w, int h, int c, Encoding e = Encoding::srgb, T fill = T{})
      : width(w),
        height(h),
        channels(c),
        encoding(e),
        pixels(static_cast<std::size_t>(w) * static_cast<std::size_t>(h) * static_cast<std::size_t>(c), fill) {}

  bool empty() const noexcept { return pixels.empty(); }
  bool has_alpha() const noexcept { return channels == 2 || channels == 4; }
  std::size_t pixel_count() const noexcept {
    return static_cast<std::size_t>(width) * static_cast<std::size_t>(height);
  }
  std::size_t index(int x, int y, int c = 0) const noexcept {
    return (static_cast<std::size_t>(y) * static_cast<std::size_t>(width) + static_cast<std::size_t>(x)) *
               static_cast<std::size_t>(channels) +
           static_cast<std::size_t>(c);
  }
  T& at(int x, int y, int c = 0) noexcept { return pixels[index(x, y, c)]; }
  const T& at(int x, int y, int c = 0) const noexcept { return pixels[index(x, y, c)]; }
};

using Image8 = Image<std::uint8_t>;
using ImageF = Image<float>;

/// What a file held before conversion.
struct ImageFileInfo {
  int width = 0;
  int height = 0;
  int channels = 0;   ///< channels in the file (1..4)
  int bit_depth = 0;  ///< 8 or 16
};

/// Reads the header facts of an image file. Throws Error (input) if it is not a readable image.
ImageFileInfo probe_image(const std::filesystem::path& path);

/// Loads PNG or JPEG as 8-bit sRGB. `channels` = 0 keeps the file's channels; 1, 3 or 4 converts
/// (grey to RGB replicates, RGB to grey uses Rec. 709 luma on encoded values, missing alpha = 255).
/// 16-bit samples are rounded to 8 bits. Throws Error (input) naming the file on any failure.
Image8 load_image8(const std::filesystem::path& path, int channels = 0);

/// Loads PNG or JPEG as float samples in [0, 1], decoded to `encoding` (linear applies the sRGB
/// transfer function to colour channels only). 16-bit files keep full precision.
ImageF load_imagef(const std::filesystem::path& path, Encoding encoding = Encoding::linear, int channels = 0);

/// Saves an 8-bit image as PNG (1..4 channels), atomically. Throws Error on failure.
void save_png(const std::filesystem::path& path, const Image8& image);

/// Saves a float image as PNG with 8 or 16 bits per sample, encoding to sRGB first if it is linear.
void save_png(const std::filesystem::path& path, const ImageF& image, int bit_depth = 8);

/// Encodes an image as PNG bytes in memory (for packages such as 3MF thumbnails and zips).
std::vector<std::uint8_t> encode_png(const Image8& image);

/// 8-bit to float in [0, 1], decoded to `encoding`.
ImageF to_float(const Image8& image, Encoding encoding);

/// Float to 8-bit sRGB (encodes linear images first), rounding and clamping.
Image8 to_image8(const ImageF& image);

/// Converts between sRGB-encoded and linear samples (alpha untouched). Returns a copy.
ImageF convert_encoding(const ImageF& image, Encoding encoding);

/// Converts the channel count (1, 2, 3 or 4) as load_image8 describes.
Image8 convert_channels(const Image8& image, int channels);
ImageF convert_channels(const ImageF& image, int channels);

/// Area-filter resize (each output pixel is the coverage-weighted mean of the input pixels under
/// it), the right filter for shrinking. Averages the samples as they are: resize linear images to
/// average light. Throws Error (usage) for non-positive sizes.
ImageF resize_area(const ImageF& image, int width, int height);
Image8 resize_area(const Image8& image, int width, int height);

}  // namespace fabforge
