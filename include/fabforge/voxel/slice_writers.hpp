#pragma once
/// Slice writers: the voxel pipeline's backends for dithered slices (issue 6, stage 5). The slab
/// loop hands finished slices to a SliceSink in layer order; the sink writes each one out at once
/// and keeps none, so memory stays fixed however tall the job is. Outputs are never half-written:
/// every sink writes under a temporary name beside the target (a hidden `.NAME.tmp-...` file or
/// folder) and renames it onto the target in finish(); a sink destroyed without finish() (an
/// error, a cancellation) removes its temporary output and leaves the target untouched.
///
/// Formats written (voxel (i, j, k) as in grid.hpp; row j = 0 is the first row of every image):
///
/// PNG stack (make_png_stack_sink) — a folder with one PNG per layer, `slice_00000.png`,
///   `slice_00001.png`, ... (the number zero-padded to max(5, digits of nz - 1) so names sort).
///   Each PNG is nx x ny, 8-bit indexed colour: palette index 0 = void, shown black and fully
///   transparent (tRNS alpha 0); index m = material m - 1 of the material table, its RGB in the
///   palette and its alpha in tRNS. The index is the slice's byte, so the file is lossless. If the
///   folder exists it must be empty or hold only `slice_*.png` files (an earlier stack), which are
///   replaced as a whole; any other folder is refused rather than overwritten.
///
/// GrabCAD Voxel Print package (make_grabcad_sink) — a zip holding `layer_0.png` ...
///   `layer_{nz-1}.png` (stored, not recompressed), one 8-bit RGBA PNG of nx x ny per layer, each
///   voxel its material's exact RGBA and void the background 0 0 0 255, then `ConfigFile.xml`:
///     <GCVF><Version>2</Version>
///       <Resolution><XDpi>25.4/dx</XDpi><YDpi>25.4/dy</YDpi>
///         <SliceThicknessNanoMeter>dz * 1e6, rounded</SliceThicknessNanoMeter></Resolution>
///       <SliceDimensions><SliceWidth>nx</SliceWidth><SliceHeight>ny</SliceHeight></SliceDimensions>
///       <SliceRange><StartIndex>0</StartIndex><NumberOfSlices>nz</NumberOfSlices></SliceRange>
///       <BitDepth>4</BitDepth><MaxNumberOfColors>material count</MaxNumberOfColors>
///       <DataSemantics>Materials</DataSemantics><CreationMode>MODEL_ONLY</CreationMode>
///       <ImageFilePrefix>layer_</ImageFilePrefix>
///       <MaterialList><BackGroundMaterialRGBA>0 0 0 255</BackGroundMaterialRGBA>
///         <Material><Name>name</Name><RGBA>r g b a</RGBA></Material>... (table order)
///       </MaterialList></GCVF>
///   The dpi values are written as integers when dx, dy are whole-dpi pitches (as printers use),
///   otherwise with the shortest decimal that reads back exactly. At most 15 materials (BitDepth
///   4: 16 values with the background); their RGBA values must differ from each other and from
///   the background, since the colour is all that identifies a material. Layer PNGs are staged
///   in a temporary folder beside the zip while the job runs and zipped in finish().
///
/// Raw 4-bit (make_raw4_sink) — one file, little-endian throughout:
///     offset  size  field
///     0       4     magic "FFVX"
///     4       4     u32 version = 1
///     8       4     u32 header size in bytes (where the voxel data starts)
///     12      12    u32 nx, ny, nz
///     24      24    f64 dx, dy, dz: voxel pitch in mm
///     48      24    f64 origin x, y, z: min corner of voxel (0, 0, 0) in mm
///     72      4     u32 material count M (0..15)
///     76      ...   M entries: i32 id, u8 r, g, b, a, u32 name length L, L bytes of UTF-8 name
///   then nz slices, slice k at offset header size + k * ceil(nx * ny / 2): voxel (i, j) is the
///   n-th of the slice, n = j * nx + i, and sits in byte n / 2, in the low nibble when n is even,
///   in the high nibble when odd. A nibble is 0 for void, m for material m - 1; an odd slice ends
///   with a zero high nibble. 4 bits give 16 values, and void takes one of them, so a raw job has
///   at most 15 materials (the paper's 16 materials per job, counting the empty one).
///
/// Errors: begin() throws Error (input) naming the path when the output cannot be created (no such
/// folder, not writable, a folder in the way) and when the material table does not fit the format,
/// and Error (usage) for an empty grid or a non-positive pitch;
/// write() and finish() throw Error (runtime) when writing fails. Passing slices out of order, of
/// the wrong size or with indices beyond the material table is a programming error
/// (fabforge::InternalError). Sinks are not thread-safe: one thread feeds a sink.

#include <filesystem>
#include <memory>
#include <span>
#include <vector>

#include "fabforge/voxel/grid.hpp"

namespace fabforge::voxel {

/// Receives a job's slices in layer order: begin() once, write() for k = 0 .. nz - 1, finish().
class SliceSink {
 public:
  virtual ~SliceSink() = default;

  /// Starts the output for `grid` (nx, ny, nz >= 1) with the printer's material table (slice
  /// index m names materials[m - 1]). Creates the temporary output, so a bad path fails here.
  virtual void begin(const Grid& grid, const std::vector<Material>& materials) = 0;

  /// Writes the next slice (slice.k = 0, 1, ...; width nx, height ny) and keeps no copy of it.
  virtual void write(const Slice& slice) = 0;

  /// Writes the next slices in layer order, as write() on each (the default). A sink whose
  /// slices are independent files may write them in parallel (within the caller's threads).
  virtual void write_slab(std::span<const Slice> slices) {
    for (const Slice& slice : slices) write(slice);
  }

  /// Completes the output after all nz slices and renames it onto the target.
  virtual void finish() = 0;
};

/// A folder of indexed PNGs, `slice_00000.png` ... (format above).
std::unique_ptr<SliceSink> make_png_stack_sink(std::filesystem::path folder);

/// A GrabCAD Voxel Print-style zip of RGBA `layer_N.png` and `ConfigFile.xml` (format above).
std::unique_ptr<SliceSink> make_grabcad_sink(std::filesystem::path zip_file);

/// The raw 4-bit format (above). At most 15 materials.
std::unique_ptr<SliceSink> make_raw4_sink(std::filesystem::path file);

/// The most materials a raw 4-bit file or a GrabCAD package holds (16 nibble values, one void).
inline constexpr int kMaxMaterials4Bit = 15;

}  // namespace fabforge::voxel
