#pragma once
/// Binding a program's resources: the images behind its texture uniforms.

#include <filesystem>
#include <vector>

#include "fabforge/openfl/program.hpp"
#include "fabforge/openfl/texture.hpp"

namespace fabforge::openfl {

/// Loads the image of every texture uniform of `program`, in slot order (slot k of the result is
/// the texture that `sample(t, uv)` reads for the k-th texture uniform). Paths come from
/// `values.texts`; relative ones are taken from `base_dir` (usually the fablet file's folder).
/// Throws input_error naming the uniform when an image cannot be read.
std::vector<Texture> load_textures(const Program& program, const UniformValues& values,
                                   const std::filesystem::path& base_dir, Wrap wrap = Wrap::repeat);

}  // namespace fabforge::openfl
