// Compiler diagnostics: the exact text the user sees, for lexer, parser and checker errors,
// and several errors in one file all reported.

#include <gtest/gtest.h>

#include <string>

#include "fabforge/openfl/program.hpp"

namespace fabforge::openfl {
namespace {

/// Compiles `text` as test.fl and returns every diagnostic as the user sees it; a program that
/// compiled returns "".
std::string diagnose(const std::string& text) {
  const CompileResult r = compile("test.fl", text);
  EXPECT_EQ(r.program == nullptr, r.diagnostics.has_errors());
  return r.diagnostics.format_all();
}

TEST(OpenflErrors, ValidProgramHasNoDiagnostics) {
  EXPECT_EQ(diagnose("fablet T { uniform material a = \"A\"; }\n"), "");
}

TEST(OpenflErrors, BadCharacter) {
  EXPECT_EQ(diagnose(R"fl(fablet T {
  uniform material m = "M";
  uniform float x = 1.0 @ 2.0;
}
)fl"),
            R"txt(test.fl:3:25: error: unexpected character '@'
      uniform float x = 1.0 @ 2.0;
                            ^
1 error generated.
)txt");
}

TEST(OpenflErrors, UnterminatedComment) {
  EXPECT_EQ(diagnose(R"fl(fablet T { uniform material m = "M"; }
/* never closed
)fl"),
            R"txt(test.fl:2:1: error: unterminated comment
    /* never closed
    ^~
1 error generated.
)txt");
}

TEST(OpenflErrors, MalformedNumber) {
  EXPECT_EQ(diagnose(R"fl(fablet T {
  uniform material a = "A";
  volume(vec3 P) -> mixture {
    float x = 12abc;
    return mixture(a, 1.0);
  }
}
)fl"),
            R"txt(test.fl:4:15: error: malformed number '12abc'
        float x = 12abc;
                  ^~~~~
1 error generated.
)txt");
}

TEST(OpenflErrors, MalformedExponent) {
  EXPECT_EQ(diagnose(R"fl(fablet T {
  uniform material a = "A";
  volume(vec3 P) -> mixture {
    float x = 1e+;
    return mixture(a, 1.0);
  }
}
)fl"),
            R"txt(test.fl:4:15: error: malformed number '1e+'
        float x = 1e+;
                  ^~~
1 error generated.
)txt");
}

TEST(OpenflErrors, FloatLiteralOutOfRange) {
  EXPECT_EQ(diagnose(R"fl(fablet T {
  uniform material a = "A";
  volume(vec3 P) -> mixture {
    float x = 1e99;
    return mixture(a, 1.0);
  }
}
)fl"),
            R"txt(test.fl:4:15: error: float literal '1e99' is out of range
        float x = 1e99;
                  ^~~~
1 error generated.
)txt");
}

TEST(OpenflErrors, MissingSemicolon) {
  EXPECT_EQ(diagnose(R"fl(fablet T {
  uniform material a = "A";
  volume(vec3 P) -> mixture {
    float x = 1.0
    float y = 2.0;
    return mixture(a, 1.0);
  }
}
)fl"),
            R"txt(test.fl:4:18: error: expected ';', found 'float'
        float x = 1.0
                     ^
1 error generated.
)txt");
}

TEST(OpenflErrors, ExpectedExpression) {
  EXPECT_EQ(diagnose(R"fl(fablet T {
  uniform material a = "A";
  volume(vec3 P) -> mixture {
    float x = (1.0 + );
    return mixture(a, 1.0);
  }
}
)fl"),
            R"txt(test.fl:4:22: error: expected an expression, found ')'
        float x = (1.0 + );
                         ^
1 error generated.
)txt");
}

TEST(OpenflErrors, UnknownType) {
  EXPECT_EQ(diagnose(R"fl(fablet T {
  uniform material a = "A";
  volume(vec3 P) -> mixture {
    vec5 v = P;
    return mixture(a, 1.0);
  }
}
)fl"),
            R"txt(test.fl:4:5: error: unknown type 'vec5' (did you mean 'vec2'?)
        vec5 v = P;
        ^~~~
1 error generated.
)txt");
}

TEST(OpenflErrors, ElseWithoutIf) {
  EXPECT_EQ(diagnose(R"fl(fablet T {
  uniform material a = "A";
  volume(vec3 P) -> mixture {
    else { }
    return mixture(a, 1.0);
  }
}
)fl"),
            R"txt(test.fl:4:5: error: 'else' without a matching 'if'
        else { }
        ^~~~
1 error generated.
)txt");
}

TEST(OpenflErrors, TopLevelGarbage) {
  EXPECT_EQ(diagnose(R"fl(42;
fablet T { uniform material m = "M"; }
)fl"),
            R"txt(test.fl:1:1: error: expected a constant, function or fablet, found '42'
    42;
    ^~
1 error generated.
)txt");
}

TEST(OpenflErrors, UniformOutsideFablet) {
  EXPECT_EQ(diagnose(R"fl(uniform float x = 1.0;
fablet T { uniform material m = "M"; }
)fl"),
            R"txt(test.fl:1:1: error: 'uniform' is only allowed inside the fablet
    uniform float x = 1.0;
    ^~~~~~~
1 error generated.
)txt");
}

TEST(OpenflErrors, NonConstGlobal) {
  EXPECT_EQ(diagnose(R"fl(float g = 1.0;
fablet T { uniform material m = "M"; }
)fl"),
            R"txt(test.fl:1:7: error: variables outside functions must be 'const' (or a uniform inside the fablet)
    float g = 1.0;
          ^
1 error generated.
)txt");
}

TEST(OpenflErrors, SecondFablet) {
  EXPECT_EQ(diagnose(R"fl(fablet A { uniform material m = "M"; }
fablet B { uniform material m = "M"; }
)fl"),
            R"txt(test.fl:2:8: error: a second fablet 'B'; a file holds exactly one fablet
    fablet B { uniform material m = "M"; }
           ^
1 error generated.
)txt");
}

TEST(OpenflErrors, DuplicatePhase) {
  EXPECT_EQ(diagnose(R"fl(fablet T {
  uniform material m = "M";
  volume(vec3 P) -> mixture { return mixture(m, 1.0); }
  volume(vec3 Q) -> mixture { return mixture(m, 1.0); }
}
)fl"),
            R"txt(test.fl:4:3: error: the fablet already has a volume phase
      volume(vec3 Q) -> mixture { return mixture(m, 1.0); }
      ^~~~~~
1 error generated.
)txt");
}

TEST(OpenflErrors, WrongPhaseReturnType) {
  EXPECT_EQ(diagnose(R"fl(fablet T {
  uniform material m = "M";
  surface(vec3 P) -> float { return 1.0; }
}
)fl"),
            R"txt(test.fl:3:22: error: the surface phase returns 'vec3', not 'float'
      surface(vec3 P) -> float { return 1.0; }
                         ^~~~~
1 error generated.
)txt");
}

TEST(OpenflErrors, UnknownFunction) {
  EXPECT_EQ(diagnose(R"fl(fablet Marble {
  uniform material m = "M";
  volume(vec3 P) -> mixture {
    float n = fbm(nois(P), 3);
    return mixture(m, n);
  }
}
)fl"),
            R"txt(test.fl:4:19: error: no function 'nois' (did you mean 'noise'?)
        float n = fbm(nois(P), 3);
                      ^~~~
1 error generated.
)txt");
}

TEST(OpenflErrors, UnknownName) {
  EXPECT_EQ(diagnose(R"fl(fablet T {
  uniform material a = "A";
  volume(vec3 P) -> mixture {
    float x = scal;
    return mixture(a, 1.0);
  }
}
)fl"),
            R"txt(test.fl:4:15: error: unknown name 'scal'
        float x = scal;
                  ^~~~
1 error generated.
)txt");
}

TEST(OpenflErrors, UnknownNameSuggestsLocal) {
  EXPECT_EQ(diagnose(R"fl(fablet T {
  uniform material a = "A";
  volume(vec3 P) -> mixture {
    float height = 1.0;
    float x = heigth * 2.0;
    return mixture(a, 1.0);
  }
}
)fl"),
            R"txt(test.fl:5:15: error: unknown name 'heigth' (did you mean 'height'?)
        float x = heigth * 2.0;
                  ^~~~~~
1 error generated.
)txt");
}

TEST(OpenflErrors, NoMatchingOverload) {
  EXPECT_EQ(
      diagnose(R"fl(fablet T {
  uniform material a = "A";
  volume(vec3 P) -> mixture {
    float x = dot(P.xy, 1);
    return mixture(a, 1.0);
  }
}
)fl"),
      R"txt(test.fl:4:15: error: no matching overload for 'dot(vec2, int)'; candidates: dot(vec2, vec2), dot(vec3, vec3), dot(vec4, vec4)
        float x = dot(P.xy, 1);
                  ^~~
1 error generated.
)txt");
}

TEST(OpenflErrors, AmbiguousCall) {
  EXPECT_EQ(diagnose(R"fl(float f(float a, int b) { return a; }
float f(int a, float b) { return b; }
fablet T {
  uniform material a = "A";
  volume(vec3 P) -> mixture {
    float x = f(1, 2);
    return mixture(a, 1.0);
  }
}
)fl"),
            R"txt(test.fl:6:15: error: ambiguous call to 'f(int, int)'; candidates: f(float, int), f(int, float)
        float x = f(1, 2);
                  ^
1 error generated.
)txt");
}

TEST(OpenflErrors, WrongInitType) {
  EXPECT_EQ(diagnose(R"fl(fablet T {
  uniform material a = "A";
  volume(vec3 P) -> mixture {
    vec2 v = P;
    return mixture(a, 1.0);
  }
}
)fl"),
            R"txt(test.fl:4:14: error: cannot initialise variable 'v' of type 'vec2' with a value of type 'vec3'
        vec2 v = P;
                 ^
1 error generated.
)txt");
}

TEST(OpenflErrors, IntLiteralOutOfRange) {
  EXPECT_EQ(diagnose(R"fl(fablet T {
  uniform material a = "A";
  volume(vec3 P) -> mixture {
    int i = 2147483648;
    return mixture(a, 1.0);
  }
}
)fl"),
            R"txt(test.fl:4:13: error: integer literal is out of range for 'int' (the largest is 2147483647)
        int i = 2147483648;
                ^~~~~~~~~~
1 error generated.
)txt");
}

TEST(OpenflErrors, BadOperands) {
  EXPECT_EQ(diagnose(R"fl(fablet T {
  uniform material a = "A";
  volume(vec3 P) -> mixture {
    vec3 v = P + P.xy;
    return mixture(a, 1.0);
  }
}
)fl"),
            R"txt(test.fl:4:14: error: invalid operands to '+': 'vec3' and 'vec2'
        vec3 v = P + P.xy;
                 ^~~~~~~~
1 error generated.
)txt");
}

TEST(OpenflErrors, FloatRemainder) {
  EXPECT_EQ(diagnose(R"fl(fablet T {
  uniform material a = "A";
  volume(vec3 P) -> mixture {
    float x = P.x % 2.0;
    return mixture(a, 1.0);
  }
}
)fl"),
            R"txt(test.fl:4:15: error: invalid operands to '%': 'float' and 'float' (use mod() for floats)
        float x = P.x % 2.0;
                  ^~~~~~~~~
1 error generated.
)txt");
}

TEST(OpenflErrors, BadSwizzle) {
  EXPECT_EQ(diagnose(R"fl(fablet T {
  uniform material a = "A";
  volume(vec3 P) -> mixture {
    vec2 v = P.xq;
    return mixture(a, 1.0);
  }
}
)fl"),
            R"txt(test.fl:4:16: error: no component 'q' in 'vec3'
        vec2 v = P.xq;
                   ^~
1 error generated.
)txt");
}

TEST(OpenflErrors, MixedSwizzle) {
  EXPECT_EQ(diagnose(R"fl(fablet T {
  uniform material a = "A";
  volume(vec3 P) -> mixture {
    vec2 v = P.xg;
    return mixture(a, 1.0);
  }
}
)fl"),
            R"txt(test.fl:4:16: error: swizzle 'xg' mixes 'xyzw' and 'rgba'
        vec2 v = P.xg;
                   ^~
1 error generated.
)txt");
}

TEST(OpenflErrors, RepeatedSwizzleAssign) {
  EXPECT_EQ(diagnose(R"fl(fablet T {
  uniform material a = "A";
  volume(vec3 P) -> mixture {
    vec3 v = P;
    v.xx = vec2(1.0);
    return mixture(a, 1.0);
  }
}
)fl"),
            R"txt(test.fl:5:7: error: swizzle 'xx' assigns a component twice
        v.xx = vec2(1.0);
          ^~
1 error generated.
)txt");
}

TEST(OpenflErrors, IndexOutOfRange) {
  EXPECT_EQ(diagnose(R"fl(fablet T {
  uniform material a = "A";
  volume(vec3 P) -> mixture {
    float x = P[3];
    return mixture(a, 1.0);
  }
}
)fl"),
            R"txt(test.fl:4:17: error: index 3 is out of range for 'vec3' (0 to 2)
        float x = P[3];
                    ^
1 error generated.
)txt");
}

TEST(OpenflErrors, FloatIndex) {
  EXPECT_EQ(diagnose(R"fl(fablet T {
  uniform material a = "A";
  volume(vec3 P) -> mixture {
    float x = P[1.0];
    return mixture(a, 1.0);
  }
}
)fl"),
            R"txt(test.fl:4:17: error: an index must be an 'int', not 'float'
        float x = P[1.0];
                    ^~~
1 error generated.
)txt");
}

TEST(OpenflErrors, BreakOutsideLoop) {
  EXPECT_EQ(diagnose(R"fl(fablet T {
  uniform material a = "A";
  volume(vec3 P) -> mixture {
    break;
    return mixture(a, 1.0);
  }
}
)fl"),
            R"txt(test.fl:4:5: error: 'break' outside a loop
        break;
        ^~~~~~
1 error generated.
)txt");
}

TEST(OpenflErrors, ExpressionStatement) {
  EXPECT_EQ(diagnose(R"fl(fablet T {
  uniform material a = "A";
  volume(vec3 P) -> mixture {
    P.x + 1.0;
    return mixture(a, 1.0);
  }
}
)fl"),
            R"txt(test.fl:4:5: error: only calls can be used as statements
        P.x + 1.0;
        ^~~~~~~~~
1 error generated.
)txt");
}

TEST(OpenflErrors, AssignUniform) {
  EXPECT_EQ(diagnose(R"fl(fablet T {
  uniform material a = "A";
  uniform float s = 1.0;
  volume(vec3 P) -> mixture {
    s = 2.0;
    return mixture(a, s);
  }
}
)fl"),
            R"txt(test.fl:5:5: error: cannot assign to uniform 's'
        s = 2.0;
        ^
1 error generated.
)txt");
}

TEST(OpenflErrors, AssignConst) {
  EXPECT_EQ(diagnose(R"fl(const float K = 1.0;
fablet T {
  uniform material a = "A";
  volume(vec3 P) -> mixture {
    K += 1.0;
    return mixture(a, 1.0);
  }
}
)fl"),
            R"txt(test.fl:5:5: error: cannot assign to constant 'K'
        K += 1.0;
        ^
1 error generated.
)txt");
}

TEST(OpenflErrors, ConstNotConstant) {
  EXPECT_EQ(diagnose(R"fl(fablet T {
  uniform material a = "A";
  volume(vec3 P) -> mixture {
    const float k = P.x;
    return mixture(a, k);
  }
}
)fl"),
            R"txt(test.fl:4:21: error: the value of constant 'k' is not a constant
        const float k = P.x;
                        ^~~
1 error generated.
)txt");
}

TEST(OpenflErrors, UniformDefaultNotConstant) {
  EXPECT_EQ(diagnose(R"fl(fablet T {
  uniform material a = "A";
  uniform float s = 1.0;
  uniform float t = s * 2.0;
}
)fl"),
            R"txt(test.fl:4:21: error: the value of uniform 't' is not a constant
      uniform float t = s * 2.0;
                        ^~~~~~~
1 error generated.
)txt");
}

TEST(OpenflErrors, MaterialDefaultNotString) {
  EXPECT_EQ(diagnose(R"fl(fablet T {
  uniform material a = 1.0;
}
)fl"),
            R"txt(test.fl:2:24: error: the default of material uniform 'a' must be a string (a material name)
      uniform material a = 1.0;
                           ^~~
1 error generated.
)txt");
}

TEST(OpenflErrors, StringDefaultForFloat) {
  EXPECT_EQ(diagnose(R"fl(fablet T {
  uniform material a = "A";
  uniform float s = "one";
}
)fl"),
            R"txt(test.fl:3:21: error: a string default is only allowed for material and texture uniforms
      uniform float s = "one";
                        ^~~~~
1 error generated.
)txt");
}

TEST(OpenflErrors, Redeclaration) {
  EXPECT_EQ(diagnose(R"fl(fablet T {
  uniform material a = "A";
  volume(vec3 P) -> mixture {
    float x = 1.0;
    float x = 2.0;
    return mixture(a, 1.0);
  }
}
)fl"),
            R"txt(test.fl:5:11: error: redeclaration of 'x'
        float x = 2.0;
              ^
1 error generated.
)txt");
}

TEST(OpenflErrors, DuplicateUniform) {
  EXPECT_EQ(diagnose(R"fl(fablet T {
  uniform material a = "A";
  uniform float a = 1.0;
}
)fl"),
            R"txt(test.fl:3:17: error: redeclaration of 'a'
      uniform float a = 1.0;
                    ^
1 error generated.
)txt");
}

TEST(OpenflErrors, DuplicateFunction) {
  EXPECT_EQ(diagnose(R"fl(float f(float x) { return x; }
float f(float y) { return y; }
fablet T { uniform material a = "A"; }
)fl"),
            R"txt(test.fl:2:7: error: function 'f(float)' is already defined
    float f(float y) { return y; }
          ^
1 error generated.
)txt");
}

TEST(OpenflErrors, RedefineBuiltin) {
  EXPECT_EQ(diagnose(R"fl(float noise(vec3 p) { return 0.0; }
fablet T { uniform material a = "A"; }
)fl"),
            R"txt(test.fl:1:7: error: 'noise' is a builtin function and cannot be redefined
    float noise(vec3 p) { return 0.0; }
          ^~~~~
1 error generated.
)txt");
}

TEST(OpenflErrors, DirectRecursion) {
  EXPECT_EQ(diagnose(R"fl(float f(float x) { return f(x - 1.0); }
fablet T { uniform material a = "A"; }
)fl"),
            R"txt(test.fl:1:27: error: recursive call: 'f' -> 'f'
    float f(float x) { return f(x - 1.0); }
                              ^
1 error generated.
)txt");
}

TEST(OpenflErrors, IndirectRecursion) {
  EXPECT_EQ(diagnose(R"fl(float f(float x) { return g(x); }
float g(float x) { return h(x); }
float h(float x) { return f(x); }
fablet T { uniform material a = "A"; }
)fl"),
            R"txt(test.fl:3:27: error: recursive call: 'f' -> 'g' -> 'h' -> 'f'
    float h(float x) { return f(x); }
                              ^
1 error generated.
)txt");
}

TEST(OpenflErrors, MissingReturn) {
  EXPECT_EQ(diagnose(R"fl(float f(float x) {
  if (x > 0.0) return 1.0;
}
fablet T { uniform material a = "A"; }
)fl"),
            R"txt(test.fl:1:7: error: function 'f' does not return a value on every path
    float f(float x) {
          ^
1 error generated.
)txt");
}

TEST(OpenflErrors, PhaseMissingReturn) {
  EXPECT_EQ(diagnose(R"fl(fablet T {
  uniform material a = "A";
  volume(vec3 P) -> mixture {
    if (P.x > 0.0) return mixture(a, 1.0);
  }
}
)fl"),
            R"txt(test.fl:3:3: error: the volume phase does not return a value on every path
      volume(vec3 P) -> mixture {
      ^~~~~~
1 error generated.
)txt");
}

TEST(OpenflErrors, VoidReturnsValue) {
  EXPECT_EQ(diagnose(R"fl(void f() { return 1.0; }
fablet T { uniform material a = "A"; }
)fl"),
            R"txt(test.fl:1:19: error: void function 'f' cannot return a value
    void f() { return 1.0; }
                      ^~~
1 error generated.
)txt");
}

TEST(OpenflErrors, MissingReturnValue) {
  EXPECT_EQ(diagnose(R"fl(float f() { return; }
fablet T { uniform material a = "A"; }
)fl"),
            R"txt(test.fl:1:13: error: missing return value (function 'f' returns 'float')
    float f() { return; }
                ^~~~~~~
1 error generated.
)txt");
}

TEST(OpenflErrors, SurfaceQueryInSurface) {
  EXPECT_EQ(diagnose(R"fl(fablet T {
  uniform material a = "A";
  surface(vec3 P, vec3 N) -> vec3 {
    return P + N * surface_distance();
  }
}
)fl"),
            R"txt(test.fl:4:20: error: 'surface_distance()' can only be called in the volume phase
        return P + N * surface_distance();
                       ^~~~~~~~~~~~~~~~
1 error generated.
)txt");
}

TEST(OpenflErrors, SurfaceQueryThroughFunction) {
  EXPECT_EQ(
      diagnose(R"fl(float depth() { return surface_distance(); }
fablet T {
  uniform material a = "A";
  surface(vec3 P, vec3 N) -> vec3 { return P + N * depth(); }
}
)fl"),
      R"txt(test.fl:1:24: error: 'surface_distance()' can only be called in the volume phase, but 'depth' is called from the surface phase
    float depth() { return surface_distance(); }
                           ^~~~~~~~~~~~~~~~
1 error generated.
)txt");
}

TEST(OpenflErrors, ReadOutInSurface) {
  EXPECT_EQ(diagnose(R"fl(fablet T {
  uniform material a = "A";
  out float h;
  surface(vec3 P, vec3 N) -> vec3 {
    h = 1.0;
    return P + N * h;
  }
}
)fl"),
            R"txt(test.fl:6:20: error: out 'h' can only be read in the volume phase
        return P + N * h;
                       ^
1 error generated.
)txt");
}

TEST(OpenflErrors, AssignOutInVolume) {
  EXPECT_EQ(diagnose(R"fl(fablet T {
  uniform material a = "A";
  out float h;
  volume(vec3 P) -> mixture {
    h = 1.0;
    return mixture(a, h);
  }
}
)fl"),
            R"txt(test.fl:5:5: error: out 'h' can only be assigned in the surface phase
        h = 1.0;
        ^
1 error generated.
)txt");
}

TEST(OpenflErrors, AssignOutInFunction) {
  EXPECT_EQ(diagnose(R"fl(fablet T {
  uniform material a = "A";
  out float h;
  void set_h() { h = 1.0; }
}
)fl"),
            R"txt(test.fl:4:18: error: functions cannot assign out variables (only the surface phase does)
      void set_h() { h = 1.0; }
                     ^
1 error generated.
)txt");
}

TEST(OpenflErrors, TextureMisuse) {
  EXPECT_EQ(diagnose(R"fl(fablet T {
  uniform material a = "A";
  uniform texture t = "t.png";
  volume(vec3 P) -> mixture {
    vec4 c = t;
    return mixture(a, c.r);
  }
}
)fl"),
            R"txt(test.fl:5:14: error: texture 't' can only be the first argument of sample() or sample_lod()
        vec4 c = t;
                 ^
1 error generated.
)txt");
}

TEST(OpenflErrors, MaterialArithmetic) {
  EXPECT_EQ(diagnose(R"fl(fablet T {
  uniform material a = "A";
  volume(vec3 P) -> mixture {
    material m = a + 1;
    return mixture(m, 1.0);
  }
}
)fl"),
            R"txt(test.fl:4:18: error: invalid operands to '+': 'material' and 'int'
        material m = a + 1;
                     ^~~~~
1 error generated.
)txt");
}

TEST(OpenflErrors, MixtureArguments) {
  EXPECT_EQ(
      diagnose(R"fl(fablet T {
  uniform material a = "A";
  volume(vec3 P) -> mixture {
    mixture m = mixture(a, 1.0, 2.0);
    return mixture(a, 1.0);
  }
}
)fl"),
      R"txt(test.fl:4:17: error: no matching overload for 'mixture(material, float, float)'; mixture() takes material, weight pairs: mixture(material, float, ...)
        mixture m = mixture(a, 1.0, 2.0);
                    ^~~~~~~
1 error generated.
)txt");
}

TEST(OpenflErrors, NoFablet) {
  EXPECT_EQ(diagnose(R"fl(const float K = 1.0;
)fl"),
            R"txt(test.fl:1:1: error: the file declares no fablet
    const float K = 1.0;
    ^
1 error generated.
)txt");
}

TEST(OpenflErrors, NoVolumeNoMaterial) {
  EXPECT_EQ(diagnose(R"fl(fablet Empty {
  uniform float x = 1.0;
}
)fl"),
            R"txt(test.fl:1:8: error: fablet 'Empty' has no volume phase and no material uniform to fill it with
    fablet Empty {
           ^~~~~
1 error generated.
)txt");
}

TEST(OpenflErrors, VolumeSignature) {
  EXPECT_EQ(diagnose(R"fl(fablet T {
  uniform material a = "A";
  volume(vec2 P) -> mixture { return mixture(a, 1.0); }
}
)fl"),
            R"txt(test.fl:3:3: error: the volume phase takes exactly one parameter, the voxel centre 'vec3 P'
      volume(vec2 P) -> mixture { return mixture(a, 1.0); }
      ^~~~~~
1 error generated.
)txt");
}

TEST(OpenflErrors, SurfaceParameterType) {
  EXPECT_EQ(diagnose(R"fl(fablet T {
  uniform material a = "A";
  surface(vec3 P, vec2 N) -> vec3 { return P; }
}
)fl"),
            R"txt(test.fl:3:24: error: surface parameter 'N' must have type 'vec3'
      surface(vec3 P, vec2 N) -> vec3 { return P; }
                           ^
1 error generated.
)txt");
}

TEST(OpenflErrors, ConditionNotBool) {
  EXPECT_EQ(diagnose(R"fl(fablet T {
  uniform material a = "A";
  volume(vec3 P) -> mixture {
    if (P.x) { }
    return mixture(a, 1.0);
  }
}
)fl"),
            R"txt(test.fl:4:9: error: the condition of 'if' must be 'bool', not 'float'
        if (P.x) { }
            ^~~
1 error generated.
)txt");
}

TEST(OpenflErrors, TernaryMismatch) {
  EXPECT_EQ(diagnose(R"fl(fablet T {
  uniform material a = "A";
  volume(vec3 P) -> mixture {
    vec3 v = P.x > 0.0 ? P : 1.0;
    return mixture(a, 1.0);
  }
}
)fl"),
            R"txt(test.fl:4:14: error: the two sides of '?:' have different types: 'vec3' and 'float'
        vec3 v = P.x > 0.0 ? P : 1.0;
                 ^~~~~~~~~~~~~~~~~~~
1 error generated.
)txt");
}

TEST(OpenflErrors, ConstructorCount) {
  EXPECT_EQ(
      diagnose(R"fl(fablet T {
  uniform material a = "A";
  volume(vec3 P) -> mixture {
    vec3 v = vec3(P.xy, P.xy);
    return mixture(a, 1.0);
  }
}
)fl"),
      R"txt(test.fl:4:14: error: cannot construct 'vec3' from 'vec3(vec2, vec2)'; it needs 3 components in all, or one scalar
        vec3 v = vec3(P.xy, P.xy);
                 ^~~~
1 error generated.
)txt");
}

TEST(OpenflErrors, OctavesOutOfRange) {
  EXPECT_EQ(diagnose(R"fl(fablet T {
  uniform material a = "A";
  volume(vec3 P) -> mixture {
    float n = fbm(P, 20);
    return mixture(a, 1.0);
  }
}
)fl"),
            R"txt(test.fl:4:22: error: octaves must be between 1 and 16, not 20
        float n = fbm(P, 20);
                         ^~
1 error generated.
)txt");
}

TEST(OpenflErrors, CompoundAssignType) {
  EXPECT_EQ(diagnose(R"fl(fablet T {
  uniform material a = "A";
  volume(vec3 P) -> mixture {
    int i = 0;
    i += 1.5;
    return mixture(a, 1.0);
  }
}
)fl"),
            R"txt(test.fl:5:5: error: invalid operands to '+=': 'int' and 'float'
        i += 1.5;
        ^~~~~~~~~
1 error generated.
)txt");
}

TEST(OpenflErrors, OutType) {
  EXPECT_EQ(diagnose(R"fl(fablet T {
  uniform material a = "A";
  out int k;
}
)fl"),
            R"txt(test.fl:3:11: error: an out variable must be float, a vector or a matrix, not 'int'
      out int k;
              ^
1 error generated.
)txt");
}

TEST(OpenflErrors, TabAlignment) {
  EXPECT_EQ(diagnose(R"fl(fablet T {
	uniform material a = "A";
	volume(vec3 P) -> mixture {
		return mixture(a, foo);
	}
}
)fl"),
            R"txt(test.fl:4:21: error: unknown name 'foo'
    		return mixture(a, foo);
    		                  ^~~
1 error generated.
)txt");
}

TEST(OpenflErrors, SeveralSyntaxErrors) {
  EXPECT_EQ(diagnose(R"fl(fablet T {
  uniform material a = "A";
  volume(vec3 P) -> mixture {
    float x = ;
    float y = 2.0 +;
    vec3 z = vec3(1.0;
    return mixture(a, 1.0);
  }
}
)fl"),
            R"txt(test.fl:4:15: error: expected an expression, found ';'
        float x = ;
                  ^
test.fl:5:20: error: expected an expression, found ';'
        float y = 2.0 +;
                       ^
test.fl:6:22: error: expected ')', found ';'
        vec3 z = vec3(1.0;
                         ^
3 errors generated.
)txt");
}

TEST(OpenflErrors, SeveralSemanticErrors) {
  EXPECT_EQ(diagnose(R"fl(fablet T {
  uniform material a = "A";
  volume(vec3 P) -> mixture {
    float x = undefined1;
    vec2 y = P;
    int z = 1.5;
    w = 2;
    return mixture(a, 1.0);
  }
}
)fl"),
            R"txt(test.fl:4:15: error: unknown name 'undefined1'
        float x = undefined1;
                  ^~~~~~~~~~
test.fl:5:14: error: cannot initialise variable 'y' of type 'vec2' with a value of type 'vec3'
        vec2 y = P;
                 ^
test.fl:6:13: error: cannot initialise variable 'z' of type 'int' with a value of type 'float'
        int z = 1.5;
                ^~~
test.fl:7:5: error: unknown name 'w'
        w = 2;
        ^
4 errors generated.
)txt");
}

TEST(OpenflErrors, MixedErrors) {
  EXPECT_EQ(diagnose(R"fl(float f(float x) { return x }
fablet T {
  uniform material a = "A";
  volume(vec3 P) -> mixture {
    float q = $;
    return mixture(a, f(P));
  }
}
)fl"),
            R"txt(test.fl:1:29: error: expected ';', found '}'
    float f(float x) { return x }
                                ^
test.fl:5:15: error: unexpected character '$'
        float q = $;
                  ^
test.fl:6:23: error: no matching overload for 'f(vec3)'; candidates: f(float)
        return mixture(a, f(P));
                          ^
3 errors generated.
)txt");
}

TEST(OpenflErrors, UnterminatedStringKeepsUniform) {
  EXPECT_EQ(diagnose(R"fl(fablet T {
  uniform material m = "Vero;
}
)fl"),
            R"txt(test.fl:2:24: error: unterminated string
      uniform material m = "Vero;
                           ^
1 error generated.
)txt");
}

TEST(OpenflErrors, StrayCharacterInExpression) {
  EXPECT_EQ(diagnose(R"fl(fablet T {
  uniform material m = "M";
  volume(vec3 P) -> mixture {
    float q = $;
    return mixture(m, q);
  }
}
)fl"),
            R"txt(test.fl:4:15: error: unexpected character '$'
        float q = $;
                  ^
1 error generated.
)txt");
}

TEST(OpenflErrors, RecoveryAcrossMembers) {
  EXPECT_EQ(diagnose(R"fl(fablet T {
  uniform material m = "M";
  uniform float = 1.0;
  out vec3;
  uniform float k = 2.0;
  volume(vec3 P) -> mixture { return mixture(m, k); }
}
)fl"),
            R"txt(test.fl:3:17: error: expected a uniform name, found '='
      uniform float = 1.0;
                    ^
test.fl:4:11: error: expected an out variable name, found ';'
      out vec3;
              ^
2 errors generated.
)txt");
}

TEST(OpenflErrors, ErrorsInEveryFunction) {
  EXPECT_EQ(diagnose(R"fl(float f(float x) { return x + true; }
float g(vec2 v) { return v; }
fablet T {
  uniform material m = "M";
  volume(vec3 P) -> mixture { return mixture(m, f(P.x) + g(P.xy) + h(1.0)); }
}
)fl"),
            R"txt(test.fl:1:27: error: invalid operands to '+': 'float' and 'bool'
    float f(float x) { return x + true; }
                              ^~~~~~~~
test.fl:2:26: error: cannot return a value of type 'vec2' from function 'g' (it returns 'float')
    float g(vec2 v) { return v; }
                             ^
test.fl:5:68: error: no function 'h'
      volume(vec3 P) -> mixture { return mixture(m, f(P.x) + g(P.xy) + h(1.0)); }
                                                                       ^
3 errors generated.
)txt");
}

}  // namespace
}  // namespace fabforge::openfl
