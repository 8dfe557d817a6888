// Selective scan for training on CPU: forward and hand-written backward.
//
// Layouts (all contiguous): u, delta, y (batch, channels, L); A (channels, N);
// B, C token-major (batch, groups, L, N); D, delta_bias (channels). The scan kernels take the
// effective step size, which `effective_delta` computes from the raw one (delta_bias added,
// then softplus), and `effective_delta_backward` turns its gradient back into the gradients
// of the raw delta and of delta_bias. Each is one vectorised pass over a (batch, channels, L)
// tensor, where torch's operations took two passes forward and five backward.
// The maths and the gradient formulas are documented in fssm/ops/scan_train.py.
//
// The loops vectorise across kLanes channels of one group, which share B and C, so each
// lane runs its own recurrence. The forward stores the state at the start of every chunk
// of `chunk` tokens. The backward walks the chunks from last to first, recomputes one
// chunk's states and hold weights into a per-task buffer, then runs the adjoint
// recurrence through it. Written in C++14, which torch 1.13's extension builder uses.

#include <torch/extension.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

namespace {

enum Mode : int { kZoh = 0, kFoh = 1, kFoh1 = 2 };

// exp(x) that the compiler can vectorise (std::exp is a library call per element without
// -ffast-math). Range reduction x = k ln2 + r, a polynomial for e^r, then 2^k through the
// exponent bits. Accurate to a few ulp; returns 0 below the smallest normal result.
inline float vector_exp(float x) {
  const float lowest = -87.3f;
  const float highest = 88.7f;
  const float xc = std::min(std::max(x, lowest), highest);
  // Round to nearest by adding and subtracting 1.5 * 2^23: unlike std::floor, GCC 12
  // vectorises this without -ffast-math.
  const float k = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  float r = xc - k * 0.693359375f;
  r = r - k * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(k) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  return x < lowest ? 0.0f : p * scale;
}

inline double vector_exp(double x) {
  const double lowest = -708.0;
  const double highest = 709.0;
  const double xc = std::min(std::max(x, lowest), highest);
  const double k = (xc * 1.4426950408889634 + 6755399441055744.0) - 6755399441055744.0;
  double r = xc - k * 6.93147180369123816490e-01;
  r = r - k * 1.90821492927058770002e-10;
  // Taylor series of e^r to r^13: |r| <= ln2 / 2 gives a truncation error below 2e-17.
  double p = 1.0 / 6227020800.0;
  const double inverse_factorials[13] = {
      1.0 / 479001600.0, 1.0 / 39916800.0, 1.0 / 3628800.0, 1.0 / 362880.0, 1.0 / 40320.0,
      1.0 / 5040.0, 1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0, 1.0};
  for (int j = 0; j < 13; ++j) p = p * r + inverse_factorials[j];
  const int64_t bits = static_cast<int64_t>(static_cast<int32_t>(k) + 1023) << 52;
  double scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  return x < lowest ? 0.0 : p * scale;
}

// Number of terms of log1p_unit's series. Their truncation error is below
// (1/9)^terms / (2 terms + 1): 1.4e-9 for float, 2e-19 for double.
template <typename T> struct Log1pTerms { static constexpr int value = 18; };
template <> struct Log1pTerms<float> { static constexpr int value = 8; };

// 1 / (2k + 1) for k = 0 .. 17: the coefficients of atanh(s) / s in powers of s^2.
constexpr double kAtanhCoefficients[18] = {
    1.0, 1.0 / 3.0, 1.0 / 5.0, 1.0 / 7.0, 1.0 / 9.0, 1.0 / 11.0, 1.0 / 13.0, 1.0 / 15.0, 1.0 / 17.0,
    1.0 / 19.0, 1.0 / 21.0, 1.0 / 23.0, 1.0 / 25.0, 1.0 / 27.0, 1.0 / 29.0, 1.0 / 31.0, 1.0 / 33.0, 1.0 / 35.0};

// log(1 + t) for t in [0, 1], as 2 atanh(s) with s = t / (2 + t) in [0, 1/3]. The series in
// s^2 has no cancellation, so a tiny t keeps its relative precision.
template <typename T>
inline T log1p_unit(T t) {
  const T s = t / (T(2) + t);
  const T s2 = s * s;
  T series = T(0);
  for (int k = Log1pTerms<T>::value - 1; k >= 0; --k) series = series * s2 + T(kAtanhCoefficients[k]);
  return T(2) * s * series;
}

// softplus(x) = log(1 + e^x) = max(x, 0) + log1p(e^-|x|), without branches so that a loop
// vectorises. Unlike torch's softplus it does not return x itself above x = 20.
template <typename T>
inline T softplus(T x) {
  return std::max(x, T(0)) + log1p_unit(vector_exp(-std::abs(x)));
}

// sigmoid(x), the slope of softplus: 1 / (1 + e^-x), through t = e^-|x| so that nothing overflows.
template <typename T>
inline T sigmoid(T x) {
  const T t = vector_exp(-std::abs(x));
  const T inverse = T(1) / (T(1) + t);
  return x >= T(0) ? inverse : t * inverse;
}

// Series radius of the first-order-hold weights, and the number of terms of phi3's series
// that reaches the type's precision at |z| = 1 (1 / (terms + 3)! below its epsilon).
constexpr double kSeriesRadius = 1.0;
template <typename T> struct SeriesTerms { static constexpr int value = 17; };
template <> struct SeriesTerms<float> { static constexpr int value = 9; };

// 1 / (k + 3)! for k = 0 .. 16: the coefficients of phi3's series.
constexpr double kPhi3Coefficients[17] = {
    1.0 / 6.0, 1.0 / 24.0, 1.0 / 120.0, 1.0 / 720.0, 1.0 / 5040.0, 1.0 / 40320.0, 1.0 / 362880.0,
    1.0 / 3628800.0, 1.0 / 39916800.0, 1.0 / 479001600.0, 1.0 / 6227020800.0, 1.0 / 87178291200.0,
    1.0 / 1307674368000.0, 1.0 / 20922789888000.0, 1.0 / 355687428096000.0, 1.0 / 6402373705728000.0,
    1.0 / 121645100408832000.0};

// Hold weights (P, Q) of u_i and u_{i+1} and their slopes dP/dz, dQ/dz at one z, without
// branches so that a loop over lanes vectorises. `e` is exp(z).
template <typename T, int MODE>
inline void hold_weights(T z, T e, T& p, T& q, T& dp, T& dq) {
  if (MODE == kZoh) {
    p = T(1); q = T(0); dp = T(0); dq = T(0);
  } else if (MODE == kFoh1) {
    p = T(0.5) + z * T(1.0 / 3.0);
    q = T(0.5) + z * T(1.0 / 6.0);
    dp = T(1.0 / 3.0);
    dq = T(1.0 / 6.0);
  } else {
    // Series inside the radius: phi3 = sum_k z^k / (k + 3)!, then phi2 = 1/2 + z phi3,
    // P = 1/2 + z (phi2 - phi3), Q = phi2, Q' = phi2 - 2 phi3, P' = z Q' + 2 phi3.
    T phi3 = T(0);
    for (int k = SeriesTerms<T>::value - 1; k >= 0; --k) phi3 = phi3 * z + T(kPhi3Coefficients[k]);
    const T phi2 = T(0.5) + z * phi3;
    const T q_series = phi2;
    const T p_series = T(0.5) + z * (phi2 - phi3);
    const T dq_series = phi2 - T(2) * phi3;
    const T dp_series = z * dq_series + T(2) * phi3;

    // Closed forms outside. z_large keeps the unused lanes away from 1 / 0.
    const bool small = std::abs(z) < T(kSeriesRadius);
    const T z_large = small ? T(-1) : z;
    const T e_large = small ? T(0.36787944117144233) : e;
    const T inverse = T(1) / z_large;
    const T inverse2 = inverse * inverse;
    const T inverse3 = inverse2 * inverse;
    const T p_closed = (T(1) + (z_large - T(1)) * e_large) * inverse2;
    const T q_closed = (e_large - T(1) - z_large) * inverse2;
    const T dp_closed = ((z_large * z_large - T(2) * z_large + T(2)) * e_large - T(2)) * inverse3;
    const T dq_closed = ((z_large - T(2)) * e_large + z_large + T(2)) * inverse3;

    p = small ? p_series : p_closed;
    q = small ? q_series : q_closed;
    dp = small ? dp_series : dp_closed;
    dq = small ? dq_series : dq_closed;
  }
}

// Channels scanned together, one per vector lane. A tile never crosses a group, so all its
// lanes read the same B and C values. A group whose size is not a multiple of kLanes ends
// in a tile whose spare lanes repeat its first channel and are never written back.
constexpr int64_t kLanes = 8;

struct Shape {
  int64_t batch, channels, groups, per_group, tiles_per_group, length, d_state, chunk, chunks;
};

Shape read_shape(const torch::Tensor& u, const torch::Tensor& A, const torch::Tensor& B_tokens, int64_t chunk) {
  Shape s;
  s.batch = u.size(0);
  s.channels = u.size(1);
  s.length = u.size(2);
  s.groups = B_tokens.size(1);
  s.per_group = s.channels / s.groups;
  s.tiles_per_group = (s.per_group + kLanes - 1) / kLanes;
  s.d_state = A.size(1);
  s.chunk = chunk;
  s.chunks = (s.length + chunk - 1) / chunk;
  return s;
}

// One tile of channels of one batch item: which rows it reads and its per-lane constants.
template <typename T>
struct Tile {
  int64_t batch_index, group, first_channel, lanes;
  int64_t rows[kLanes];     // row of each lane in the (batch * channels, L) tensors
  std::vector<T> a;         // A transposed to (N, kLanes)
  T D[kLanes];

  Tile(const Shape& s, int64_t task, const T* A, const T* D_all) : a(s.d_state * kLanes) {
    const int64_t tile = task % s.tiles_per_group;
    const int64_t batch_group = task / s.tiles_per_group;
    batch_index = batch_group / s.groups;
    group = batch_group % s.groups;
    first_channel = group * s.per_group + tile * kLanes;
    lanes = std::min(kLanes, s.per_group - tile * kLanes);
    for (int64_t c = 0; c < kLanes; ++c) {
      const int64_t channel = first_channel + (c < lanes ? c : 0);
      rows[c] = batch_index * s.channels + channel;
      D[c] = D_all[channel];
      for (int64_t n = 0; n < s.d_state; ++n) a[n * kLanes + c] = A[channel * s.d_state + n];
    }
  }
};

// ---------------------------------------------------------------------------
// Forward
// ---------------------------------------------------------------------------

template <typename T, int MODE>
void forward_tiles(const Shape& s, const T* u, const T* delta, const T* A, const T* B, const T* C, const T* D,
                   T* y, T* chunk_states) {
  const int64_t N = s.d_state;
  const int64_t L = s.length;

  at::parallel_for(0, s.batch * s.groups * s.tiles_per_group, 1, [&](int64_t begin, int64_t end) {
    std::vector<T> state(N * kLanes);
    for (int64_t task = begin; task < end; ++task) {
      const Tile<T> tile(s, task, A, D);
      const T* a = tile.a.data();
      const T* B_rows = B + (tile.batch_index * s.groups + tile.group) * L * N;
      const T* C_rows = C + (tile.batch_index * s.groups + tile.group) * L * N;
      T* h = state.data();
      std::fill(state.begin(), state.end(), T(0));

      for (int64_t i = 0; i < L; ++i) {
        if (i % s.chunk == 0) {
          for (int64_t c = 0; c < tile.lanes; ++c)
            for (int64_t n = 0; n < N; ++n)
              chunk_states[(tile.rows[c] * s.chunks + i / s.chunk) * N + n] = h[n * kLanes + c];
        }
        const int64_t next = std::min(i + 1, L - 1);
        T u_now[kLanes], u_next[kLanes], dl[kLanes], out[kLanes];
        for (int64_t c = 0; c < kLanes; ++c) {
          u_now[c] = u[tile.rows[c] * L + i];
          u_next[c] = u[tile.rows[c] * L + next];
          dl[c] = delta[tile.rows[c] * L + i];
          out[c] = T(0);
        }
        for (int64_t n = 0; n < N; ++n) {
          const T b_value = B_rows[i * N + n];
          const T c_value = C_rows[i * N + n];
          T* h_n = h + n * kLanes;
          const T* a_n = a + n * kLanes;
#pragma omp simd
          for (int64_t c = 0; c < kLanes; ++c) {
            const T z = dl[c] * a_n[c];
            const T e = vector_exp(z);
            T p, q, dp, dq;
            hold_weights<T, MODE>(z, e, p, q, dp, dq);
            h_n[c] = e * h_n[c] + dl[c] * b_value * (p * u_now[c] + q * u_next[c]);
            out[c] += c_value * h_n[c];
          }
        }
        for (int64_t c = 0; c < tile.lanes; ++c) y[tile.rows[c] * L + i] = out[c] + tile.D[c] * u_now[c];
      }
    }
  });
}

// ---------------------------------------------------------------------------
// Backward
// ---------------------------------------------------------------------------

// Per-task buffers of one chunk, (chunk, N, kLanes) each: states, decays, hold weights and slopes.
template <typename T>
struct ChunkBuffer {
  std::vector<T> h, e, p, q, dp, dq;
  explicit ChunkBuffer(int64_t size) : h(size), e(size), p(size), q(size), dp(size), dq(size) {}
};

struct Gradients {
  void* u;
  void* delta;
  void* A_parts;  // (batch, channels, N), summed over batch by the caller
  void* B_parts;  // (blocks, batch, groups, L, N), summed over blocks by the caller
  void* C_parts;
  void* D_parts;  // (batch, channels)
};

template <typename T, int MODE>
void recompute_chunk(const Shape& s, const Tile<T>& tile, int64_t start, int64_t stop, const T* u, const T* delta,
                     const T* B_rows, const T* h_start, ChunkBuffer<T>& buffer) {
  const int64_t N = s.d_state;
  const int64_t L = s.length;
  const T* a = tile.a.data();
  for (int64_t i = start; i < stop; ++i) {
    const int64_t t = i - start;
    const int64_t next = std::min(i + 1, L - 1);
    T u_now[kLanes], u_next[kLanes], dl[kLanes];
    for (int64_t c = 0; c < kLanes; ++c) {
      u_now[c] = u[tile.rows[c] * L + i];
      u_next[c] = u[tile.rows[c] * L + next];
      dl[c] = delta[tile.rows[c] * L + i];
    }
    for (int64_t n = 0; n < N; ++n) {
      const int64_t at = (t * N + n) * kLanes;
      const T* h_before = t == 0 ? h_start + n * kLanes : buffer.h.data() + at - N * kLanes;
      const T b_value = B_rows[i * N + n];
      const T* a_n = a + n * kLanes;
      T* h_now = buffer.h.data() + at;
      T* e_now = buffer.e.data() + at;
      T* p_now = buffer.p.data() + at;
      T* q_now = buffer.q.data() + at;
      T* dp_now = buffer.dp.data() + at;
      T* dq_now = buffer.dq.data() + at;
#pragma omp simd
      for (int64_t c = 0; c < kLanes; ++c) {
        const T z = dl[c] * a_n[c];
        const T e = vector_exp(z);
        T p, q, dp, dq;
        hold_weights<T, MODE>(z, e, p, q, dp, dq);
        h_now[c] = e * h_before[c] + dl[c] * b_value * (p * u_now[c] + q * u_next[c]);
        e_now[c] = e;
        p_now[c] = p;
        q_now[c] = q;
        dp_now[c] = dp;
        dq_now[c] = dq;
      }
    }
  }
}

template <typename T, int MODE>
void backward_tile(const Shape& s, const Tile<T>& tile, const T* grad_y, const T* u, const T* delta, const T* B,
                   const T* C, const T* chunk_states, T* grad_B_rows, T* grad_C_rows, const Gradients& out,
                   ChunkBuffer<T>& buffer) {
  const int64_t N = s.d_state;
  const int64_t L = s.length;
  const T* a = tile.a.data();
  const T* B_rows = B + (tile.batch_index * s.groups + tile.group) * L * N;
  const T* C_rows = C + (tile.batch_index * s.groups + tile.group) * L * N;
  T* grad_u = static_cast<T*>(out.u);
  T* grad_delta = static_cast<T*>(out.delta);

  // carry = exp(z_{i+1}) g_{i+1}, zero after the last token. The A gradient is summed per
  // chunk in T, then into doubles, which keeps long sequences accurate in float32.
  std::vector<T> carry(N * kLanes, T(0));
  std::vector<T> h_start(N * kLanes);
  std::vector<T> grad_a_chunk(N * kLanes);
  std::vector<double> grad_a(N * kLanes, 0.0);
  double grad_D[kLanes] = {};

  for (int64_t chunk_index = s.chunks - 1; chunk_index >= 0; --chunk_index) {
    const int64_t start = chunk_index * s.chunk;
    const int64_t stop = std::min(start + s.chunk, L);
    for (int64_t c = 0; c < kLanes; ++c)
      for (int64_t n = 0; n < N; ++n)
        h_start[n * kLanes + c] = chunk_states[(tile.rows[c] * s.chunks + chunk_index) * N + n];
    recompute_chunk<T, MODE>(s, tile, start, stop, u, delta, B_rows, h_start.data(), buffer);
    std::fill(grad_a_chunk.begin(), grad_a_chunk.end(), T(0));

    for (int64_t i = stop - 1; i >= start; --i) {
      const int64_t t = i - start;
      const int64_t next = std::min(i + 1, L - 1);
      T u_now[kLanes], u_next[kLanes], dl[kLanes], gy[kLanes];
      T grad_dl[kLanes], grad_u_now[kLanes], grad_u_next[kLanes];
      for (int64_t c = 0; c < kLanes; ++c) {
        u_now[c] = u[tile.rows[c] * L + i];
        u_next[c] = u[tile.rows[c] * L + next];
        dl[c] = delta[tile.rows[c] * L + i];
        // Spare lanes get no output gradient, so everything they add below is zero.
        gy[c] = c < tile.lanes ? grad_y[tile.rows[c] * L + i] : T(0);
        grad_dl[c] = T(0);
        grad_u_now[c] = T(0);
        grad_u_next[c] = T(0);
      }

      for (int64_t n = 0; n < N; ++n) {
        const int64_t at = (t * N + n) * kLanes;
        const T* h_before = t == 0 ? h_start.data() + n * kLanes : buffer.h.data() + at - N * kLanes;
        const T* h_now = buffer.h.data() + at;
        const T* e_now = buffer.e.data() + at;
        const T* p_now = buffer.p.data() + at;
        const T* q_now = buffer.q.data() + at;
        const T* dp_now = buffer.dp.data() + at;
        const T* dq_now = buffer.dq.data() + at;
        const T* a_n = a + n * kLanes;
        T* carry_n = carry.data() + n * kLanes;
        T* grad_a_n = grad_a_chunk.data() + n * kLanes;
        const T b_value = B_rows[i * N + n];
        const T c_value = C_rows[i * N + n];
        T grad_b = T(0);
        T grad_c = T(0);
#pragma omp simd reduction(+ : grad_b, grad_c)
        for (int64_t c = 0; c < kLanes; ++c) {
          const T g = gy[c] * c_value + carry_n[c];
          const T drive = p_now[c] * u_now[c] + q_now[c] * u_next[c];
          const T grad_drive = g * dl[c] * b_value;
          const T grad_z = g * e_now[c] * h_before[c] + grad_drive * (dp_now[c] * u_now[c] + dq_now[c] * u_next[c]);
          grad_c += gy[c] * h_now[c];
          grad_b += g * dl[c] * drive;
          grad_a_n[c] += dl[c] * grad_z;
          grad_dl[c] += a_n[c] * grad_z + g * b_value * drive;
          grad_u_now[c] += grad_drive * p_now[c];
          grad_u_next[c] += grad_drive * q_now[c];
          carry_n[c] = e_now[c] * g;
        }
        grad_B_rows[i * N + n] += grad_b;
        grad_C_rows[i * N + n] += grad_c;
      }

      for (int64_t c = 0; c < tile.lanes; ++c) {
        const int64_t row = tile.rows[c] * L;
        grad_u[row + i] += grad_u_now[c] + gy[c] * tile.D[c];
        grad_u[row + next] += grad_u_next[c];  // the held last token takes its own look-ahead term
        grad_delta[row + i] = grad_dl[c];
        grad_D[c] += static_cast<double>(gy[c] * u_now[c]);
      }
    }
    for (int64_t k = 0; k < N * kLanes; ++k) grad_a[k] += grad_a_chunk[k];
  }

  for (int64_t c = 0; c < tile.lanes; ++c) {
    for (int64_t n = 0; n < N; ++n)
      static_cast<T*>(out.A_parts)[tile.rows[c] * N + n] = static_cast<T>(grad_a[n * kLanes + c]);
    static_cast<T*>(out.D_parts)[tile.rows[c]] = static_cast<T>(grad_D[c]);
  }
}

template <typename T, int MODE>
void backward_tiles(const Shape& s, int64_t blocks, const T* grad_y, const T* u, const T* delta, const T* A,
                    const T* B, const T* C, const T* D, const T* chunk_states, const Gradients& out) {
  const int64_t tiles_per_block = (s.tiles_per_group + blocks - 1) / blocks;
  const int64_t rows = s.length * s.d_state;

  // A task is one block of tiles of one (batch, group). Its tiles run one after the other
  // and add into the block's own slice of the B and C gradients, so no two threads write
  // the same value.
  at::parallel_for(0, s.batch * s.groups * blocks, 1, [&](int64_t begin, int64_t end) {
    ChunkBuffer<T> buffer(s.chunk * s.d_state * kLanes);
    for (int64_t task = begin; task < end; ++task) {
      const int64_t block = task / (s.batch * s.groups);
      const int64_t batch_group = task % (s.batch * s.groups);
      T* grad_B_rows = static_cast<T*>(out.B_parts) + (block * s.batch * s.groups + batch_group) * rows;
      T* grad_C_rows = static_cast<T*>(out.C_parts) + (block * s.batch * s.groups + batch_group) * rows;
      const int64_t first = block * tiles_per_block;
      const int64_t last = std::min(first + tiles_per_block, s.tiles_per_group);
      for (int64_t tile_index = first; tile_index < last; ++tile_index) {
        const Tile<T> tile(s, batch_group * s.tiles_per_group + tile_index, A, D);
        backward_tile<T, MODE>(s, tile, grad_y, u, delta, B, C, chunk_states, grad_B_rows, grad_C_rows, out, buffer);
      }
    }
  });
}

// ---------------------------------------------------------------------------
// Effective step size: softplus(delta + delta_bias) or delta + delta_bias
// ---------------------------------------------------------------------------

// One row of the effective step size. Not inlined: inside the parallel lambda GCC 12 does
// not vectorise it.
template <typename T>
__attribute__((noinline)) void effective_delta_row(const T* __restrict__ raw, T bias, bool use_softplus,
                                                   int64_t length, T* __restrict__ effective) {
  if (use_softplus) {
#pragma omp simd
    for (int64_t i = 0; i < length; ++i) effective[i] = softplus(raw[i] + bias);
  } else {
#pragma omp simd
    for (int64_t i = 0; i < length; ++i) effective[i] = raw[i] + bias;
  }
}

// One row of the backward. grad becomes the gradient of the raw step size in place, and the
// row's sum, its share of the delta_bias gradient, is returned.
template <typename T>
__attribute__((noinline)) T effective_delta_backward_row(const T* __restrict__ raw, T bias, bool use_softplus,
                                                         int64_t length, T* __restrict__ grad) {
  if (use_softplus) {
#pragma omp simd
    for (int64_t i = 0; i < length; ++i) grad[i] *= sigmoid(raw[i] + bias);
  }
  double sum = 0.0;
#pragma omp simd reduction(+ : sum)
  for (int64_t i = 0; i < length; ++i) sum += static_cast<double>(grad[i]);
  return static_cast<T>(sum);
}

template <typename T>
void effective_delta_rows(int64_t rows, int64_t channels, int64_t length, bool use_softplus, const T* raw,
                          const T* bias, T* effective) {
  at::parallel_for(0, rows, 1, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row)
      effective_delta_row(raw + row * length, bias[row % channels], use_softplus, length, effective + row * length);
  });
}

template <typename T>
void effective_delta_backward_rows(int64_t rows, int64_t channels, int64_t length, bool use_softplus, const T* raw,
                                   const T* bias, T* grad, T* row_sums) {
  at::parallel_for(0, rows, 1, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row)
      row_sums[row] = effective_delta_backward_row(raw + row * length, bias[row % channels], use_softplus, length,
                                                   grad + row * length);
  });
}

// ---------------------------------------------------------------------------
// Python bindings
// ---------------------------------------------------------------------------

void check_inputs(const std::vector<torch::Tensor>& tensors) {
  const auto dtype = tensors[0].scalar_type();
  TORCH_CHECK(dtype == torch::kFloat || dtype == torch::kDouble,
              "the CPU training scan takes float32 or float64 tensors, got ", dtype);
  for (const auto& t : tensors) {
    TORCH_CHECK(t.device().is_cpu(), "the CPU training scan got a tensor on ", t.device());
    TORCH_CHECK(t.scalar_type() == dtype, "the CPU training scan needs one dtype, got ", dtype, " and ",
                t.scalar_type());
    TORCH_CHECK(t.is_contiguous(), "the CPU training scan needs contiguous tensors");
  }
}

template <typename Function>
void dispatch_mode(int64_t mode, Function function) {
  if (mode == kZoh) function(std::integral_constant<int, kZoh>());
  else if (mode == kFoh) function(std::integral_constant<int, kFoh>());
  else if (mode == kFoh1) function(std::integral_constant<int, kFoh1>());
  else TORCH_CHECK(false, "unknown scan mode code ", mode, "; expected 0 (zoh), 1 (foh) or 2 (foh1)");
}

// delta is the effective step size, after bias and softplus, which the caller applies.
std::vector<torch::Tensor> forward(torch::Tensor u, torch::Tensor delta, torch::Tensor A, torch::Tensor B_tokens,
                                   torch::Tensor C_tokens, torch::Tensor D, int64_t mode, int64_t chunk) {
  check_inputs({u, delta, A, B_tokens, C_tokens, D});
  TORCH_CHECK(chunk > 0, "chunk must be positive, got ", chunk);
  const Shape s = read_shape(u, A, B_tokens, chunk);
  auto y = torch::empty_like(u);
  auto chunk_states = torch::empty({s.batch, s.channels, s.chunks, s.d_state}, u.options());
  AT_DISPATCH_FLOATING_TYPES(u.scalar_type(), "selective_scan_forward", [&] {
    dispatch_mode(mode, [&](auto mode_constant) {
      forward_tiles<scalar_t, decltype(mode_constant)::value>(
          s, u.data_ptr<scalar_t>(), delta.data_ptr<scalar_t>(), A.data_ptr<scalar_t>(),
          B_tokens.data_ptr<scalar_t>(), C_tokens.data_ptr<scalar_t>(), D.data_ptr<scalar_t>(),
          y.data_ptr<scalar_t>(), chunk_states.data_ptr<scalar_t>());
    });
  });
  return {y, chunk_states};
}

std::vector<torch::Tensor> backward(torch::Tensor grad_y, torch::Tensor u, torch::Tensor delta, torch::Tensor A,
                                    torch::Tensor B_tokens, torch::Tensor C_tokens, torch::Tensor D,
                                    torch::Tensor chunk_states, int64_t mode, int64_t chunk) {
  check_inputs({grad_y, u, delta, A, B_tokens, C_tokens, D, chunk_states});
  const Shape s = read_shape(u, A, B_tokens, chunk);
  // Split each group's tiles into blocks until there are about four tasks per thread, so
  // that small batches keep every thread busy. Each block costs one (L, N) slice of the B
  // and C gradients.
  const int64_t batch_groups = s.batch * s.groups;
  const int64_t target_tasks = 4 * static_cast<int64_t>(at::get_num_threads());
  const int64_t blocks =
      std::max<int64_t>(1, std::min<int64_t>(s.tiles_per_group, (target_tasks + batch_groups - 1) / batch_groups));

  auto grad_u = torch::zeros_like(u);
  auto grad_delta = torch::empty_like(delta);
  auto grad_A_parts = torch::empty({s.batch, s.channels, s.d_state}, u.options());
  auto grad_B_parts = torch::zeros({blocks, s.batch, s.groups, s.length, s.d_state}, u.options());
  auto grad_C_parts = torch::zeros({blocks, s.batch, s.groups, s.length, s.d_state}, u.options());
  auto grad_D_parts = torch::empty({s.batch, s.channels}, u.options());

  Gradients out{grad_u.data_ptr(), grad_delta.data_ptr(), grad_A_parts.data_ptr(),
                grad_B_parts.data_ptr(), grad_C_parts.data_ptr(), grad_D_parts.data_ptr()};
  AT_DISPATCH_FLOATING_TYPES(u.scalar_type(), "selective_scan_backward", [&] {
    dispatch_mode(mode, [&](auto mode_constant) {
      backward_tiles<scalar_t, decltype(mode_constant)::value>(
          s, blocks, grad_y.data_ptr<scalar_t>(), u.data_ptr<scalar_t>(), delta.data_ptr<scalar_t>(),
          A.data_ptr<scalar_t>(), B_tokens.data_ptr<scalar_t>(), C_tokens.data_ptr<scalar_t>(),
          D.data_ptr<scalar_t>(), chunk_states.data_ptr<scalar_t>(), out);
    });
  });

  auto grad_B = blocks == 1 ? grad_B_parts[0] : grad_B_parts.sum(0);
  auto grad_C = blocks == 1 ? grad_C_parts[0] : grad_C_parts.sum(0);
  return {grad_u, grad_delta, grad_A_parts.sum(0), grad_B, grad_C, grad_D_parts.sum(0)};
}

torch::Tensor effective_delta(torch::Tensor delta, torch::Tensor delta_bias, bool use_softplus) {
  check_inputs({delta, delta_bias});
  TORCH_CHECK(delta.dim() == 3 && delta_bias.dim() == 1 && delta_bias.size(0) == delta.size(1),
              "effective_delta takes delta (batch, channels, L) and delta_bias (channels)");
  auto effective = torch::empty_like(delta);
  AT_DISPATCH_FLOATING_TYPES(delta.scalar_type(), "effective_delta", [&] {
    effective_delta_rows<scalar_t>(delta.size(0) * delta.size(1), delta.size(1), delta.size(2), use_softplus,
                                   delta.data_ptr<scalar_t>(), delta_bias.data_ptr<scalar_t>(),
                                   effective.data_ptr<scalar_t>());
  });
  return effective;
}

// grad_effective is consumed: it becomes the gradient of the raw delta.
std::vector<torch::Tensor> effective_delta_backward(torch::Tensor grad_effective, torch::Tensor delta,
                                                    torch::Tensor delta_bias, bool use_softplus) {
  check_inputs({grad_effective, delta, delta_bias});
  TORCH_CHECK(grad_effective.sizes() == delta.sizes(), "effective_delta_backward: gradient and delta differ in shape");
  auto row_sums = torch::empty({delta.size(0), delta.size(1)}, delta.options());
  AT_DISPATCH_FLOATING_TYPES(delta.scalar_type(), "effective_delta_backward", [&] {
    effective_delta_backward_rows<scalar_t>(delta.size(0) * delta.size(1), delta.size(1), delta.size(2),
                                            use_softplus, delta.data_ptr<scalar_t>(),
                                            delta_bias.data_ptr<scalar_t>(), grad_effective.data_ptr<scalar_t>(),
                                            row_sums.data_ptr<scalar_t>());
  });
  return {grad_effective, row_sums.sum(0)};
}

}  // namespace

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.doc() = "Selective scan for training on CPU (forward and hand-written backward)";
  m.def("forward", &forward, "Return (y, state at every chunk start) for the effective step sizes delta");
  m.def("effective_delta", &effective_delta, "Return softplus(delta + delta_bias), or delta + delta_bias");
  m.def("effective_delta_backward", &effective_delta_backward,
        "Return the gradients of the raw delta (in grad_effective's memory) and of delta_bias");
  m.def("backward", &backward, "Return the gradients of u, delta (effective), A, B_tokens, C_tokens and D");
}
