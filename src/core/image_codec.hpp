#pragma once
/// PNG and JPEG coding with libpng and libjpeg directly (private to core; image.cpp is the user).
///
/// OpenCV's imgcodecs used to do this, but on Debian it links about 120 shared libraries (GDAL,
/// GDCM, OpenEXR...) and made every fabforge command take 0.15 s to start. The two C libraries
/// report errors by longjmp; every setjmp here sits in a small function without C++ objects, so
/// no destructor is ever skipped, and their warnings are dropped instead of printed to stderr.
///
/// The decoders produce what OpenCV's imdecode did for fabforge's flags, in RGB order:
///   - PNG: 8 or 16-bit samples as stored; 1, 2 and 4-bit grey widened to 8 bits (scaled to
///     0..255); palettes expanded to RGB; tRNS becomes alpha for RGB and palette images but is
///     ignored for grey ones; grey+alpha stays 2 channels; interlaced files de-interlaced; no gamma.
///   - JPEG: 8-bit grey or RGB; CMYK (Adobe's inverted storage) and YCCK converted to RGB.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fabforge::codec {

/// Decoded samples, rows top to bottom, packed, channels interleaved (grey, grey+alpha, RGB, RGBA).
struct Samples {
  int width = 0;
  int height = 0;
  int channels = 0;
  int bit_depth = 8;                 ///< 8: `bytes` holds the samples; 16: `words` does
  std::vector<std::uint8_t> bytes;   ///< 8-bit samples
  std::vector<std::uint16_t> words;  ///< 16-bit samples, native byte order
};

/// Decodes a whole PNG file held in memory. Throws Error (input) whose message starts with `name`.
Samples decode_png(std::string_view file, const std::string& name);

/// Decodes a whole JPEG file held in memory, without applying any EXIF orientation.
/// Throws Error (input) whose message starts with `name`. Recoverable damage (libjpeg's
/// "corrupt data" warnings) is not an error: the decoder fills what it cannot read, as before.
Samples decode_jpeg(std::string_view file, const std::string& name);

/// Turns and mirrors 8-bit samples as EXIF orientation 2..8 asks (1 or anything else: unchanged).
void apply_exif_orientation(Samples& image, int orientation);

/// Encodes packed 8-bit (`bit_depth` 8, unsigned char samples) or 16-bit (std::uint16_t samples)
/// images with 1..4 channels as PNG, with the fast settings OpenCV used (SUB filter, deflate
/// level 1, run-length strategy), so files stay byte-identical to earlier releases.
/// Throws Error (runtime) "cannot encode PNG: ..." if libpng fails.
std::vector<unsigned char> encode_png(const void* samples, int width, int height, int channels, int bit_depth);

}  // namespace fabforge::codec
