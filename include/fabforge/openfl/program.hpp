#pragma once
/// Compiling an OpenFL file into a Program, and a Program's phases into Kernels.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fabforge/openfl/ast.hpp"
#include "fabforge/openfl/ir.hpp"
#include "fabforge/openfl/source.hpp"
#include "fabforge/openfl/types.hpp"

namespace fabforge::openfl {

namespace bytecode {
struct Code;  // bytecode.hpp
}

enum class Phase : std::uint8_t { surface, volume };
std::string_view phase_name(Phase phase);

struct UniformInfo {
  std::string name;
  Type type = Type::error;
  std::optional<Value> default_value;  ///< bool/int/float/vector/matrix
  std::string default_text;            ///< material name / texture path ("" = none)
  int first_column = -1;               ///< bool/int/float/vector/matrix: first uniform scalar column
  int slot = -1;                       ///< material / texture slot
};

struct OutInfo {
  std::string name;
  Type type = Type::error;
  int first_column = 0;  ///< among all out columns
};

/// Values for every uniform of a program, by uniform index: values[i] for scalar-ish uniforms,
/// texts[i] for material names and texture paths. A value with type error = not set.
struct UniformValues {
  std::vector<Value> values;
  std::vector<std::string> texts;
};

struct KernelOptions {
  bool specialize = true;  ///< fold the uniform values into the code (else they are loaded)
  bool optimize = true;    ///< constant folding and dead-code elimination
};

/// One phase, lowered to IR, optimised and assembled to bytecode. Immutable, shareable across
/// threads.
struct Kernel {
  Phase phase = Phase::volume;
  int input_count = 0;   ///< scalar input columns (volume: 3; surface: the parameters' components)
  int output_count = 0;  ///< volume: material count; surface: 3 + out columns
  int query_count = 0;   ///< surface query columns requested per lane (0: none)
  ir::Function ir;
  std::vector<bool> uniformity;          ///< per ValueId
  ir::UniformColumns uniform_values;     ///< when not specialised: the values loaded at run time
  std::shared_ptr<const bytecode::Code> code;
  std::shared_ptr<const SourceFile> file;
};

/// A checked fablet: its typed syntax tree and its interface.
class Program {
 public:
  explicit Program(ast::Module module);
  const ast::Module& module() const noexcept { return module_; }
  const ast::Fablet& fablet() const noexcept { return *module_.fablet; }
  const std::string& name() const noexcept { return module_.fablet->name; }
  const std::vector<UniformInfo>& uniforms() const noexcept { return uniforms_; }
  const std::vector<OutInfo>& outs() const noexcept { return outs_; }
  int out_columns() const noexcept { return out_columns_; }
  int uniform_columns() const noexcept { return uniform_columns_; }
  int material_count() const noexcept { return material_count_; }
  int texture_count() const noexcept { return texture_count_; }
  /// Uniform index of material / texture slot k.
  int material_uniform(int slot) const;
  int texture_uniform(int slot) const;
  bool has_phase(Phase phase) const;
  /// Parameter names and types of a phase, in order (volume: {P: vec3}; a missing surface phase
  /// takes {P, N}).
  std::vector<std::pair<std::string, Type>> phase_inputs(Phase phase) const;
  int input_columns(Phase phase) const;
  int output_columns(Phase phase) const;

  /// The defaults of every uniform (unset ones have type error / empty text).
  UniformValues defaults() const;
  /// Sets uniform `name` from text: "1.5", "3", "true", "1,2,3" (vectors, matrices in column-major
  /// order), a material name or a texture path. Throws usage_error naming the uniform on an
  /// unknown name or a value that does not parse or has the wrong number of components.
  void set_uniform(UniformValues& values, std::string_view name, std::string_view text) const;
  /// Throws usage_error when some uniform has no value.
  void check_complete(const UniformValues& values) const;
  /// The scalar columns of the bool/int/float/vector/matrix uniforms.
  ir::UniformColumns uniform_columns_of(const UniformValues& values) const;

  /// Lowers, specialises, optimises and assembles one phase (phases the fablet lacks get their
  /// default: identity surface, first-material volume). Throws usage_error for missing uniforms.
  std::shared_ptr<const Kernel> kernel(Phase phase, const UniformValues& values, KernelOptions options = {}) const;

 private:
  ast::Module module_;
  std::vector<UniformInfo> uniforms_;
  std::vector<OutInfo> outs_;
  int out_columns_ = 0, uniform_columns_ = 0, material_count_ = 0, texture_count_ = 0;
};

struct CompileResult {
  std::shared_ptr<const Program> program;  ///< null when there were errors
  Diagnostics diagnostics;
};

/// Parses and checks one file. Never throws for bad source: everything goes to diagnostics.
CompileResult compile(std::string file_name, std::string text);
/// Reads and compiles a file; throws input_error when it cannot be read.
CompileResult compile_file(const std::string& path);

/// Lowers one phase of a checked module to IR (src/openfl/lower.cpp). Uniform scalar columns are
/// `uniform` leaves; outputs as described in Kernel.
ir::Function lower_phase(const Program& program, Phase phase);

}  // namespace fabforge::openfl
