// Selective scan for training on CPU: forward and hand-written backward.
//
// Layouts (all contiguous): u, delta, y (batch, channels, L); A (channels, N);
// B, C token-major (batch, groups, L, N), so that one token's N values are adjacent and
// the inner loops over the state index vectorise; D, delta_bias (channels).
// The maths and the gradient formulas are documented in fssm/ops/scan_train.py.
//
// The forward stores the state at the start of every chunk of `chunk` tokens. The
// backward walks the chunks from last to first, recomputes one chunk's states and
// hold weights into a small per-task buffer, then runs the adjoint recurrence through it.
// Written in C++14, which torch 1.13's extension builder compiles with.

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
  const float k = std::floor(xc * 1.44269504088896341f + 0.5f);
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
  const double k = std::floor(xc * 1.4426950408889634 + 0.5);
  double r = xc - k * 6.93147180369123816490e-01;
  r = r - k * 1.90821492927058770002e-10;
  // Taylor series of e^r to r^13: |r| <= ln2 / 2 gives a truncation error below 2e-17.
  double p = 1.0 / 6227020800.0;
  const double inverse_factorials[13] = {
      1.0 / 479001600.0, 1.0 / 39916800.0, 1.0 / 3628800.0, 1.0 / 362880.0, 1.0 / 40320.0,
      1.0 / 5040.0, 1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0, 1.0};
  for (int j = 0; j < 13; ++j) p = p * r + inverse_factorials[j];
  const int64_t bits = (static_cast<int64_t>(k) + 1023) << 52;
  double scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  return x < lowest ? 0.0 : p * scale;
}

// Series radius of the first-order-hold weights, and the number of terms of phi3's series
// that reaches the type's precision at |z| = 1 (1 / (terms + 3)! below its epsilon).
constexpr double kSeriesRadius = 1.0;
template <typename T> struct SeriesTerms { static constexpr int value = 17; };
template <> struct SeriesTerms<float> { static constexpr int value = 9; };

// Hold weights (P, Q) of u_i and u_{i+1} and their slopes dP/dz, dQ/dz at one z, without
// branches so that a loop over the state index vectorises. `e` is exp(z).
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
    const int terms = SeriesTerms<T>::value;
    T phi3 = T(0);
    for (int k = terms - 1; k >= 0; --k) {
      double factorial = 1.0;
      for (int j = 2; j <= k + 3; ++j) factorial *= j;
      phi3 = phi3 * z + T(1.0 / factorial);
    }
    const T phi2 = T(0.5) + z * phi3;
    const T q_series = phi2;
    const T p_series = T(0.5) + z * (phi2 - phi3);
    const T dq_series = phi2 - T(2) * phi3;
    const T dp_series = z * dq_series + T(2) * phi3;

    // Closed forms outside; z_large keeps the unused lanes away from 1 / 0.
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

template <typename T>
inline T effective_delta(T raw, bool softplus) {
  // torch.nn.functional.softplus with its default threshold of 20.
  if (!softplus) return raw;
  return raw > T(20) ? raw : std::log1p(std::exp(raw));
}

template <typename T>
inline T softplus_slope(T raw, bool softplus) {
  if (!softplus) return T(1);
  return raw > T(20) ? T(1) : T(1) / (T(1) + std::exp(-raw));
}

struct Shape {
  int64_t batch, channels, groups, length, d_state, chunk, chunks;
};

Shape read_shape(const torch::Tensor& u, const torch::Tensor& A, const torch::Tensor& B_tokens, int64_t chunk) {
  Shape s;
  s.batch = u.size(0);
  s.channels = u.size(1);
  s.length = u.size(2);
  s.groups = B_tokens.size(1);
  s.d_state = A.size(1);
  s.chunk = chunk;
  s.chunks = (s.length + chunk - 1) / chunk;
  return s;
}

// ---------------------------------------------------------------------------
// Forward
// ---------------------------------------------------------------------------

template <typename T, int MODE>
void forward_sequences(const Shape& s, const T* u, const T* delta, const T* A, const T* B, const T* C,
                       const T* D, const T* delta_bias, bool softplus, T* y, T* chunk_states) {
  const int64_t N = s.d_state;
  const int64_t L = s.length;
  const int64_t per_group = s.channels / s.groups;

  at::parallel_for(0, s.batch * s.channels, 1, [&](int64_t begin, int64_t end) {
    std::vector<T> h(N);
    for (int64_t sequence = begin; sequence < end; ++sequence) {
      const int64_t b = sequence / s.channels;
      const int64_t d = sequence % s.channels;
      const int64_t g = d / per_group;
      const T* u_row = u + sequence * L;
      const T* delta_row = delta + sequence * L;
      const T* a = A + d * N;
      const T* B_rows = B + (b * s.groups + g) * L * N;
      const T* C_rows = C + (b * s.groups + g) * L * N;
      T* y_row = y + sequence * L;
      T* states = chunk_states + sequence * s.chunks * N;
      std::fill(h.begin(), h.end(), T(0));
      T* hp = h.data();

      for (int64_t i = 0; i < L; ++i) {
        if (i % s.chunk == 0) std::copy(h.begin(), h.end(), states + (i / s.chunk) * N);
        const T dl = effective_delta(delta_row[i] + delta_bias[d], softplus);
        const T u_now = u_row[i];
        const T u_next = u_row[std::min(i + 1, L - 1)];
        const T* b_row = B_rows + i * N;
        const T* c_row = C_rows + i * N;
        T out = T(0);
#pragma omp simd reduction(+ : out)
        for (int64_t n = 0; n < N; ++n) {
          const T z = dl * a[n];
          const T e = vector_exp(z);
          T p, q, dp, dq;
          hold_weights<T, MODE>(z, e, p, q, dp, dq);
          hp[n] = e * hp[n] + dl * b_row[n] * (p * u_now + q * u_next);
          out += c_row[n] * hp[n];
        }
        y_row[i] = out + D[d] * u_now;
      }
    }
  });
}

// ---------------------------------------------------------------------------
// Backward
// ---------------------------------------------------------------------------

// Per-task buffers of one chunk: states h_i, decays and hold weights per token and state index.
template <typename T>
struct ChunkBuffer {
  std::vector<T> h, e, p, q, dp, dq;
  explicit ChunkBuffer(int64_t size) : h(size), e(size), p(size), q(size), dp(size), dq(size) {}
};

struct GradientPointers {
  void* u;
  void* delta;
  void* A_parts;       // (batch, channels, N), summed over batch by the caller
  void* B_parts;       // (blocks, batch, groups, L, N), summed over blocks by the caller
  void* C_parts;
  void* D_parts;       // (batch, channels)
  void* bias_parts;    // (batch, channels)
};

template <typename T, int MODE>
void backward_channel(const Shape& s, int64_t b, int64_t d, int64_t g, const T* grad_y, const T* u,
                      const T* delta, const T* A, const T* B, const T* C, const T* D, const T* delta_bias,
                      const T* chunk_states, bool softplus, T* grad_B_rows, T* grad_C_rows,
                      const GradientPointers& out, ChunkBuffer<T>& buffer, std::vector<T>& adjoint,
                      std::vector<double>& grad_a) {
  const int64_t N = s.d_state;
  const int64_t L = s.length;
  const int64_t sequence = b * s.channels + d;
  const T* u_row = u + sequence * L;
  const T* delta_row = delta + sequence * L;
  const T* gy_row = grad_y + sequence * L;
  const T* a = A + d * N;
  const T* B_rows = B + (b * s.groups + g) * L * N;
  const T* C_rows = C + (b * s.groups + g) * L * N;
  const T* states = chunk_states + sequence * s.chunks * N;
  T* grad_u_row = static_cast<T*>(out.u) + sequence * L;
  T* grad_delta_row = static_cast<T*>(out.delta) + sequence * L;
  const T bias = delta_bias[d];

  T* carry = adjoint.data();  // exp(z_{i+1}) g_{i+1}, zero after the last token
  std::fill(adjoint.begin(), adjoint.end(), T(0));
  std::fill(grad_a.begin(), grad_a.end(), 0.0);
  double grad_D = 0.0;
  double grad_bias = 0.0;
  T* hb = buffer.h.data();
  T* eb = buffer.e.data();
  T* pb = buffer.p.data();
  T* qb = buffer.q.data();
  T* dpb = buffer.dp.data();
  T* dqb = buffer.dq.data();

  for (int64_t c = s.chunks - 1; c >= 0; --c) {
    const int64_t start = c * s.chunk;
    const int64_t stop = std::min(start + s.chunk, L);
    const T* h_start = states + c * N;

    // Recompute the chunk's states and weights from its stored start state.
    for (int64_t i = start; i < stop; ++i) {
      const int64_t t = i - start;
      const T dl = effective_delta(delta_row[i] + bias, softplus);
      const T u_now = u_row[i];
      const T u_next = u_row[std::min(i + 1, L - 1)];
      const T* b_row = B_rows + i * N;
      const T* h_before = t == 0 ? h_start : hb + (t - 1) * N;
      T* h_now = hb + t * N;
      T* e_now = eb + t * N;
      T* p_now = pb + t * N;
      T* q_now = qb + t * N;
      T* dp_now = dpb + t * N;
      T* dq_now = dqb + t * N;
#pragma omp simd
      for (int64_t n = 0; n < N; ++n) {
        const T z = dl * a[n];
        const T e = vector_exp(z);
        T p, q, dp, dq;
        hold_weights<T, MODE>(z, e, p, q, dp, dq);
        h_now[n] = e * h_before[n] + dl * b_row[n] * (p * u_now + q * u_next);
        e_now[n] = e;
        p_now[n] = p;
        q_now[n] = q;
        dp_now[n] = dp;
        dq_now[n] = dq;
      }
    }

    // Adjoint recurrence through the chunk, last token first.
    for (int64_t i = stop - 1; i >= start; --i) {
      const int64_t t = i - start;
      const T raw = delta_row[i] + bias;
      const T dl = effective_delta(raw, softplus);
      const T gy = gy_row[i];
      const T u_now = u_row[i];
      const int64_t next = std::min(i + 1, L - 1);
      const T u_next = u_row[next];
      const T* b_row = B_rows + i * N;
      const T* c_row = C_rows + i * N;
      const T* h_before = t == 0 ? h_start : hb + (t - 1) * N;
      const T* h_now = hb + t * N;
      const T* e_now = eb + t * N;
      const T* p_now = pb + t * N;
      const T* q_now = qb + t * N;
      const T* dp_now = dpb + t * N;
      const T* dq_now = dqb + t * N;
      T* grad_b_row = grad_B_rows + i * N;
      T* grad_c_row = grad_C_rows + i * N;

      T grad_dl = T(0);
      T grad_u_now = T(0);
      T grad_u_next = T(0);
#pragma omp simd reduction(+ : grad_dl, grad_u_now, grad_u_next)
      for (int64_t n = 0; n < N; ++n) {
        const T g = gy * c_row[n] + carry[n];
        const T drive = p_now[n] * u_now + q_now[n] * u_next;
        const T g_drive = g * dl * b_row[n];
        const T g_z = g * e_now[n] * h_before[n] + g_drive * (dp_now[n] * u_now + dq_now[n] * u_next);
        grad_c_row[n] += gy * h_now[n];
        grad_b_row[n] += g * dl * drive;
        grad_a[n] += static_cast<double>(dl * g_z);
        grad_dl += a[n] * g_z + g * b_row[n] * drive;
        grad_u_now += g_drive * p_now[n];
        grad_u_next += g_drive * q_now[n];
        carry[n] = e_now[n] * g;
      }
      grad_u_row[i] += grad_u_now + gy * D[d];
      grad_u_row[next] += grad_u_next;  // the held last token takes its own look-ahead term
      const T grad_raw = grad_dl * softplus_slope(raw, softplus);
      grad_delta_row[i] = grad_raw;
      grad_bias += grad_raw;
      grad_D += static_cast<double>(gy * u_now);
    }
  }

  T* grad_A_row = static_cast<T*>(out.A_parts) + sequence * N;
  for (int64_t n = 0; n < N; ++n) grad_A_row[n] = static_cast<T>(grad_a[n]);
  static_cast<T*>(out.D_parts)[sequence] = static_cast<T>(grad_D);
  static_cast<T*>(out.bias_parts)[sequence] = static_cast<T>(grad_bias);
}

template <typename T, int MODE>
void backward_sequences(const Shape& s, int64_t blocks, const T* grad_y, const T* u, const T* delta, const T* A,
                        const T* B, const T* C, const T* D, const T* delta_bias, const T* chunk_states,
                        bool softplus, const GradientPointers& out) {
  const int64_t per_group = s.channels / s.groups;
  const int64_t per_block = (per_group + blocks - 1) / blocks;
  const int64_t rows = s.length * s.d_state;

  // A task is one block of channels of one (batch, group): its channels run one after the
  // other and add into the block's own slice of the B and C gradients, so no two threads
  // write the same value.
  at::parallel_for(0, s.batch * s.groups * blocks, 1, [&](int64_t begin, int64_t end) {
    ChunkBuffer<T> buffer(s.chunk * s.d_state);
    std::vector<T> adjoint(s.d_state);
    std::vector<double> grad_a(s.d_state);
    for (int64_t task = begin; task < end; ++task) {
      const int64_t block = task / (s.batch * s.groups);
      const int64_t bg = task % (s.batch * s.groups);
      const int64_t b = bg / s.groups;
      const int64_t g = bg % s.groups;
      T* grad_B_rows = static_cast<T*>(out.B_parts) + (block * s.batch * s.groups + bg) * rows;
      T* grad_C_rows = static_cast<T*>(out.C_parts) + (block * s.batch * s.groups + bg) * rows;
      const int64_t first = g * per_group + block * per_block;
      const int64_t last = std::min(first + per_block, (g + 1) * per_group);
      for (int64_t d = first; d < last; ++d) {
        backward_channel<T, MODE>(s, b, d, g, grad_y, u, delta, A, B, C, D, delta_bias, chunk_states, softplus,
                                  grad_B_rows, grad_C_rows, out, buffer, adjoint, grad_a);
      }
    }
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

std::vector<torch::Tensor> forward(torch::Tensor u, torch::Tensor delta, torch::Tensor A, torch::Tensor B_tokens,
                                   torch::Tensor C_tokens, torch::Tensor D, torch::Tensor delta_bias, int64_t mode,
                                   bool softplus, int64_t chunk) {
  check_inputs({u, delta, A, B_tokens, C_tokens, D, delta_bias});
  TORCH_CHECK(chunk > 0, "chunk must be positive, got ", chunk);
  const Shape s = read_shape(u, A, B_tokens, chunk);
  auto y = torch::empty_like(u);
  auto chunk_states = torch::empty({s.batch, s.channels, s.chunks, s.d_state}, u.options());
  AT_DISPATCH_FLOATING_TYPES(u.scalar_type(), "selective_scan_forward", [&] {
    dispatch_mode(mode, [&](auto mode_constant) {
      forward_sequences<scalar_t, decltype(mode_constant)::value>(
          s, u.data_ptr<scalar_t>(), delta.data_ptr<scalar_t>(), A.data_ptr<scalar_t>(),
          B_tokens.data_ptr<scalar_t>(), C_tokens.data_ptr<scalar_t>(), D.data_ptr<scalar_t>(),
          delta_bias.data_ptr<scalar_t>(), softplus, y.data_ptr<scalar_t>(), chunk_states.data_ptr<scalar_t>());
    });
  });
  return {y, chunk_states};
}

std::vector<torch::Tensor> backward(torch::Tensor grad_y, torch::Tensor u, torch::Tensor delta, torch::Tensor A,
                                    torch::Tensor B_tokens, torch::Tensor C_tokens, torch::Tensor D,
                                    torch::Tensor delta_bias, torch::Tensor chunk_states, int64_t mode, bool softplus,
                                    int64_t chunk) {
  check_inputs({grad_y, u, delta, A, B_tokens, C_tokens, D, delta_bias, chunk_states});
  const Shape s = read_shape(u, A, B_tokens, chunk);
  const int64_t per_group = s.channels / s.groups;
  // Enough channel blocks to keep every thread busy when batch x groups is small; each
  // block costs one more (L, N) slice of the B and C gradients.
  const int64_t wanted_tasks = 4 * static_cast<int64_t>(at::get_num_threads());
  const int64_t blocks =
      std::max<int64_t>(1, std::min<int64_t>(per_group, (wanted_tasks + s.batch * s.groups - 1) / (s.batch * s.groups)));

  auto grad_u = torch::zeros_like(u);
  auto grad_delta = torch::empty_like(delta);
  auto grad_A_parts = torch::empty({s.batch, s.channels, s.d_state}, u.options());
  auto grad_B_parts = torch::zeros({blocks, s.batch, s.groups, s.length, s.d_state}, u.options());
  auto grad_C_parts = torch::zeros({blocks, s.batch, s.groups, s.length, s.d_state}, u.options());
  auto grad_D_parts = torch::empty({s.batch, s.channels}, u.options());
  auto grad_bias_parts = torch::empty({s.batch, s.channels}, u.options());

  GradientPointers out{grad_u.data_ptr(), grad_delta.data_ptr(), grad_A_parts.data_ptr(), grad_B_parts.data_ptr(),
                       grad_C_parts.data_ptr(), grad_D_parts.data_ptr(), grad_bias_parts.data_ptr()};
  AT_DISPATCH_FLOATING_TYPES(u.scalar_type(), "selective_scan_backward", [&] {
    dispatch_mode(mode, [&](auto mode_constant) {
      backward_sequences<scalar_t, decltype(mode_constant)::value>(
          s, blocks, grad_y.data_ptr<scalar_t>(), u.data_ptr<scalar_t>(), delta.data_ptr<scalar_t>(),
          A.data_ptr<scalar_t>(), B_tokens.data_ptr<scalar_t>(), C_tokens.data_ptr<scalar_t>(),
          D.data_ptr<scalar_t>(), delta_bias.data_ptr<scalar_t>(), chunk_states.data_ptr<scalar_t>(), softplus, out);
    });
  });

  auto grad_B = blocks == 1 ? grad_B_parts[0] : grad_B_parts.sum(0);
  auto grad_C = blocks == 1 ? grad_C_parts[0] : grad_C_parts.sum(0);
  return {grad_u, grad_delta, grad_A_parts.sum(0), grad_B, grad_C, grad_D_parts.sum(0), grad_bias_parts.sum(0)};
}

}  // namespace

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.doc() = "Selective scan for training on CPU (forward and hand-written backward)";
  m.def("forward", &forward, "Return (y, state at every chunk start)");
  m.def("backward", &backward, "Return the gradients of u, delta, A, B_tokens, C_tokens, D, delta_bias");
}
