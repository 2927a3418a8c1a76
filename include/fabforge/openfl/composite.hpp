#pragma once
/// Multi-component builtins written once, generic over the scalar representation, so that the
/// reference interpreter (T = float), the IR lowering (T = an IR value handle that emits one
/// instruction per operation) and anything else evaluate them with the same operations in the
/// same order (docs/openfl.md, "Semantics that implementations share").
///
/// T needs +, -, *, / (binary) and unary -, plus these functions found by argument-dependent
/// lookup (provided for float in sm):
///   T sqrt_of(const T&);  T sin_of(const T&);  T cos_of(const T&);
///   T constant_like(const T& any, float value);   // a constant in T's world
/// Matrices are column-major arrays: m[col * n + row].

#include <cmath>

#include "fabforge/openfl/scalar_math.hpp"

namespace fabforge::openfl::sm {

inline float sqrt_of(float a) { return fsqrt(a); }
inline float sin_of(float a) { return fsin(a); }
inline float cos_of(float a) { return fcos(a); }
inline float constant_like(float, float value) { return value; }

}  // namespace fabforge::openfl::sm

namespace fabforge::openfl::composite {

using sm::constant_like;
using sm::cos_of;
using sm::sin_of;
using sm::sqrt_of;

/// ((a0*b0 + a1*b1) + a2*b2) + a3*b3
template <class T>
T dot(const T* a, const T* b, int n) {
  T s = a[0] * b[0];
  for (int k = 1; k < n; ++k) s = s + a[k] * b[k];
  return s;
}

template <class T>
T length(const T* v, int n) {
  return sqrt_of(dot(v, v, n));
}

template <class T>
T distance(const T* a, const T* b, int n) {
  T d[4] = {a[0] - b[0], n > 1 ? a[1] - b[1] : a[0], n > 2 ? a[2] - b[2] : a[0], n > 3 ? a[3] - b[3] : a[0]};
  return length(d, n);
}

/// v / length(v), component-wise division.
template <class T>
void normalize(const T* v, int n, T* out) {
  const T len = length(v, n);
  for (int k = 0; k < n; ++k) out[k] = v[k] / len;
}

template <class T>
void cross(const T* a, const T* b, T* out) {
  out[0] = a[1] * b[2] - a[2] * b[1];
  out[1] = a[2] * b[0] - a[0] * b[2];
  out[2] = a[0] * b[1] - a[1] * b[0];
}

/// i - (2 * dot(n, i)) * n
template <class T>
void reflect(const T* i, const T* nrm, int n, T* out) {
  const T d = constant_like(i[0], 2.0f) * dot(nrm, i, n);
  for (int k = 0; k < n; ++k) out[k] = i[k] - d * nrm[k];
}

/// 0.2126 r + 0.7152 g + 0.0722 b, accumulated left to right.
template <class T>
T luminance(const T* c) {
  return (constant_like(c[0], 0.2126f) * c[0] + constant_like(c[0], 0.7152f) * c[1]) +
         constant_like(c[0], 0.0722f) * c[2];
}

/// (A B) for n x n column-major matrices; each entry is dot(row of A, column of B) accumulated
/// over k from 0.
template <class T>
void mat_mul(const T* a, const T* b, int n, T* out) {
  for (int c = 0; c < n; ++c)
    for (int r = 0; r < n; ++r) {
      T s = a[0 * n + r] * b[c * n + 0];
      for (int k = 1; k < n; ++k) s = s + a[k * n + r] * b[c * n + k];
      out[c * n + r] = s;
    }
}

/// M v (column vector).
template <class T>
void mat_vec(const T* m, const T* v, int n, T* out) {
  for (int r = 0; r < n; ++r) {
    T s = m[0 * n + r] * v[0];
    for (int k = 1; k < n; ++k) s = s + m[k * n + r] * v[k];
    out[r] = s;
  }
}

/// v M (row vector): out[c] = dot(v, column c).
template <class T>
void vec_mat(const T* v, const T* m, int n, T* out) {
  for (int c = 0; c < n; ++c) out[c] = dot(v, m + c * n, n);
}

template <class T>
void transpose(const T* m, int n, T* out) {
  for (int c = 0; c < n; ++c)
    for (int r = 0; r < n; ++r) out[c * n + r] = m[r * n + c];
}

namespace detail {
template <class T>
T det3(const T* m, int stride, int c0, int c1, int c2, int r0, int r1, int r2) {
  auto at = [&](int c, int r) -> const T& { return m[c * stride + r]; };
  return (at(c0, r0) * (at(c1, r1) * at(c2, r2) - at(c2, r1) * at(c1, r2)) -
          at(c1, r0) * (at(c0, r1) * at(c2, r2) - at(c2, r1) * at(c0, r2))) +
         at(c2, r0) * (at(c0, r1) * at(c1, r2) - at(c1, r1) * at(c0, r2));
}
}  // namespace detail

template <class T>
T determinant(const T* m, int n) {
  if (n == 3) return detail::det3(m, 3, 0, 1, 2, 0, 1, 2);
  // Laplace expansion along row 0 with 3x3 minors.
  T s = m[0] * detail::det3(m, 4, 1, 2, 3, 1, 2, 3);
  s = s - m[4] * detail::det3(m, 4, 0, 2, 3, 1, 2, 3);
  s = s + m[8] * detail::det3(m, 4, 0, 1, 3, 1, 2, 3);
  s = s - m[12] * detail::det3(m, 4, 0, 1, 2, 1, 2, 3);
  return s;
}

/// Adjugate divided by the determinant (a singular matrix gives infinities / NaNs).
template <class T>
void inverse(const T* m, int n, T* out) {
  const T inv_det = constant_like(m[0], 1.0f) / determinant(m, n);
  int cols[4], rows[4];
  for (int c = 0; c < n; ++c)
    for (int r = 0; r < n; ++r) {
      // cofactor of entry (row r, column c) goes to out(row c, column r)
      int nc = 0, nr = 0;
      for (int k = 0; k < n; ++k) {
        if (k != c) cols[nc++] = k;
        if (k != r) rows[nr++] = k;
      }
      T minor;
      if (n == 3) {
        minor = m[cols[0] * 3 + rows[0]] * m[cols[1] * 3 + rows[1]] - m[cols[1] * 3 + rows[0]] * m[cols[0] * 3 + rows[1]];
      } else {
        minor = detail::det3(m, 4, cols[0], cols[1], cols[2], rows[0], rows[1], rows[2]);
      }
      const bool negative = ((r + c) & 1) != 0;
      out[r * n + c] = (negative ? -minor : minor) * inv_det;
    }
}

/// Rotation matrices (mat3, column-major) by `a` radians about x, y or z.
template <class T>
void rotation(int axis, const T& a, T* out) {
  const T c = cos_of(a), s = sin_of(a), zero = constant_like(a, 0.0f), one = constant_like(a, 1.0f);
  for (int k = 0; k < 9; ++k) out[k] = zero;
  const int i = (axis + 1) % 3, j = (axis + 2) % 3;
  out[axis * 3 + axis] = one;
  out[i * 3 + i] = c;
  out[j * 3 + j] = c;
  out[i * 3 + j] = s;   // column i, row j
  out[j * 3 + i] = -s;  // column j, row i
}

}  // namespace fabforge::openfl::composite
