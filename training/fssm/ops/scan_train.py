"""Selective scan for training: a custom autograd Function with a hand-written backward.

Autograd through the token loop of ``scan_chunked`` records a handful of tensors per
token and is far too slow to train with. Here the forward keeps only its inputs (plus,
on CPU, the state at every chunk start) and the backward recomputes the states, then
runs the adjoint recurrence from the last token to the first::

    g_i = gy_i c_i + exp(z_{i+1}) g_{i+1}          (the gradient of y with respect to h_i)

and collects the gradients of u, delta, A, B, C, D and delta_bias from it in one pass.
Per token i, with w_i = P(z_i) u_i + Q(z_i) u_{i+1} and beta_i = delta_i b_i w_i::

    dL/dz_i     = sum over n of g_i (exp(z_i) h_{i-1} + delta_i b_i (P'(z_i) u_i + Q'(z_i) u_{i+1}))
    dL/da      += delta_i dL/dz_i
    dL/ddelta_i = sum over n of (a dL/dz_i + g_i b_i w_i)
    dL/db_i     = g_i delta_i w_i, summed over the channels of the group
    dL/du_i    += g_i delta_i b_i P(z_i),  dL/du_{i+1} += g_i delta_i b_i Q(z_i)

The last token is held (u_L := u_{L-1}), so its Q term goes to u_{L-1} itself.

Two implementations share that maths:

- CPU: a C++ extension (``fssm/csrc/scan_cpu.cpp``) compiled on first use into
  ``training/build/`` (``~/.cache/fssm`` when the package directory is read-only).
  Without a working compiler ``is_available`` returns False and
  ``fssm.scan.selective_scan`` falls back to autograd through the inference loop.
- Any other device (CUDA): plain PyTorch tensor operations over the whole sequence,
  with a two-level (chunked) linear scan. It is also what the tests check on CPU.
"""
import hashlib
import logging
import math
import os
import shutil
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.autograd.function import once_differentiable

LOG = logging.getLogger(__name__)

# Tokens per chunk of the CPU kernel. The backward recomputes one chunk's states and
# weights into a per-thread buffer of 6 x CHUNK x N x 8 values (61 KiB in float32 at
# N = 10), small enough for the L2 cache; the forward stores one state per chunk.
CHUNK = 32

# |z| below which the first-order-hold weights and their slopes use series. With
# SERIES_TERMS terms the truncation error at |z| = 1 is below 1 / 20! ~ 4e-19, and
# above it the closed forms lose at most about a factor 12 to cancellation.
SERIES_RADIUS = 1.0
SERIES_TERMS = 17

MODE_CODES = {"zoh": 0, "foh": 1, "foh1": 2}

_SOURCE_DIR = Path(__file__).resolve().parent.parent / "csrc"
_BUILD_ROOT = Path(__file__).resolve().parents[2] / "build"

_cpu_extension = None
_cpu_extension_error = None


# ---------------------------------------------------------------------------
# Hold weights and their derivatives
# ---------------------------------------------------------------------------


def _phi3(z: torch.Tensor) -> torch.Tensor:
    """Return phi3(z) = (e^z - 1 - z - z^2/2) / z^3 = sum over k of z^k / (k + 3)!, series inside the radius."""
    small = z.abs() < SERIES_RADIUS
    z_small = torch.where(small, z, torch.zeros_like(z))
    z_large = torch.where(small, -torch.ones_like(z), z)
    series = torch.zeros_like(z)
    for k in range(SERIES_TERMS - 1, -1, -1):
        series = series * z_small + 1.0 / math.factorial(k + 3)
    closed = (torch.expm1(z_large) - z_large - 0.5 * z_large * z_large) / (z_large * z_large * z_large)
    return torch.where(small, series, closed)


def hold_weights_and_slopes(z: torch.Tensor, mode: str):
    """Return (P, Q, dP/dz, dQ/dz) of ``mode`` at z, all stable near z = 0.

    For ``foh`` everything follows from phi3 through phi2 = 1/2 + z phi3 and
    phi_k' = phi_k - k phi_(k+1): P = phi1 - phi2, Q = phi2, Q' = phi2 - 2 phi3 and
    P' = z Q' + 2 phi3. Outside the series radius the closed forms are used directly,
    because the upward recurrence from phi3 loses precision for large |z|.
    """
    if mode == "zoh":
        return torch.ones_like(z), torch.zeros_like(z), torch.zeros_like(z), torch.zeros_like(z)
    if mode == "foh1":
        return 0.5 + z / 3.0, 0.5 + z / 6.0, torch.full_like(z, 1.0 / 3.0), torch.full_like(z, 1.0 / 6.0)
    if mode != "foh":
        raise ValueError(f"unknown scan mode {mode!r}; expected one of {', '.join(MODE_CODES)}")

    small = z.abs() < SERIES_RADIUS
    phi3 = _phi3(z)
    phi2 = 0.5 + z * phi3
    q_series = phi2
    p_series = 0.5 + z * (phi2 - phi3)
    dq_series = phi2 - 2.0 * phi3
    dp_series = z * dq_series + 2.0 * phi3

    z_large = torch.where(small, -torch.ones_like(z), z)
    e = torch.exp(z_large)
    inverse = 1.0 / z_large
    inverse2 = inverse * inverse
    inverse3 = inverse2 * inverse
    p_closed = (1.0 + (z_large - 1.0) * e) * inverse2
    q_closed = (torch.expm1(z_large) - z_large) * inverse2
    dp_closed = ((z_large * z_large - 2.0 * z_large + 2.0) * e - 2.0) * inverse3
    dq_closed = ((z_large - 2.0) * e + z_large + 2.0) * inverse3

    return (
        torch.where(small, p_series, p_closed),
        torch.where(small, q_series, q_closed),
        torch.where(small, dp_series, dp_closed),
        torch.where(small, dq_series, dq_closed),
    )


# ---------------------------------------------------------------------------
# Device-agnostic path: tensor operations over whole sequences
# ---------------------------------------------------------------------------


def _linear_scan(decay: torch.Tensor, drive: torch.Tensor) -> torch.Tensor:
    """Solve h_t = decay_t h_(t-1) + drive_t along dim -2 (tokens), from h_(-1) = 0.

    The scan takes two levels of about sqrt(L) sequential steps each. First all chunks of T
    tokens are scanned at once from a zero state. Then the chunk start states are carried
    across chunks and added back times the running decay inside each chunk. That running
    decay is a product of decays, never a quotient, so nothing overflows when decays are tiny.
    """
    length = decay.shape[-2]
    chunk = max(1, math.isqrt(length - 1) + 1) if length > 1 else 1
    chunks = -(-length // chunk)
    pad = chunks * chunk - length
    if pad:
        decay = F.pad(decay, (0, 0, 0, pad), value=1.0)
        drive = F.pad(drive, (0, 0, 0, pad), value=0.0)
    lead = decay.shape[:-2]
    d_state = decay.shape[-1]
    decay = decay.reshape(*lead, chunks, chunk, d_state)
    drive = drive.reshape(*lead, chunks, chunk, d_state)

    local = [drive[..., 0, :]]
    for t in range(1, chunk):
        local.append(torch.addcmul(drive[..., t, :], decay[..., t, :], local[-1]))
    local = torch.stack(local, dim=-2)
    running_decay = torch.cumprod(decay, dim=-2)

    starts = [torch.zeros_like(local[..., 0, 0, :])]
    for k in range(chunks - 1):
        starts.append(torch.addcmul(local[..., k, -1, :], running_decay[..., k, -1, :], starts[-1]))
    starts = torch.stack(starts, dim=-2)

    states = torch.addcmul(local, running_decay, starts.unsqueeze(-2))
    return states.reshape(*lead, chunks * chunk, d_state)[..., :length, :]


class _GroupTensors:
    """One group's inputs in the layout (batch, channels_per_group, L, N) of the state."""

    def __init__(self, u, delta, A, B, C, mode):
        self.u = u.unsqueeze(-1)
        self.u_next = torch.cat([u[..., 1:], u[..., -1:]], dim=-1).unsqueeze(-1)
        self.delta = delta.unsqueeze(-1)
        self.A = A[None, :, None, :]
        self.B = B.transpose(-1, -2).unsqueeze(1)
        self.C = C.transpose(-1, -2).unsqueeze(1)
        z = self.delta * self.A
        self.decay = torch.exp(z)
        self.P, self.Q, self.dP, self.dQ = hold_weights_and_slopes(z, mode)
        self.drive = self.P * self.u + self.Q * self.u_next
        self.states = _linear_scan(self.decay, self.delta * self.B * self.drive)


def _effective_delta(delta, delta_bias, delta_softplus):
    delta = delta + delta_bias[None, :, None]
    return F.softplus(delta) if delta_softplus else delta


def _group_slices(channels, groups):
    per_group = channels // groups
    return [slice(g * per_group, (g + 1) * per_group) for g in range(groups)]


def _torch_forward(u, delta, A, B, C, D, delta_bias, mode, delta_softplus):
    delta = _effective_delta(delta, delta_bias, delta_softplus)
    groups = B.shape[1]
    y = torch.empty_like(u)
    # One group at a time bounds the (batch, channels, L, N) temporaries to one group's share.
    for g, channels in enumerate(_group_slices(u.shape[1], groups)):
        t = _GroupTensors(u[:, channels], delta[:, channels], A[channels], B[:, g], C[:, g], mode)
        y[:, channels] = (t.states * t.C).sum(-1)
    return y + D[None, :, None] * u


def _torch_backward(grad_y, u, delta_raw, A, B, C, D, delta_bias, mode, delta_softplus):
    delta = _effective_delta(delta_raw, delta_bias, delta_softplus)
    groups = B.shape[1]
    grad_u = grad_y * D[None, :, None]
    grad_delta = torch.empty_like(delta)
    grad_A = torch.empty_like(A)
    grad_B = torch.empty_like(B)
    grad_C = torch.empty_like(C)

    for g, channels in enumerate(_group_slices(u.shape[1], groups)):
        t = _GroupTensors(u[:, channels], delta[:, channels], A[channels], B[:, g], C[:, g], mode)
        gy = grad_y[:, channels].unsqueeze(-1)

        # Adjoint g_i = gy_i c_i + decay_(i+1) g_(i+1): a linear scan run on the flipped sequence.
        decay_next = torch.cat([t.decay[..., 1:, :], torch.ones_like(t.decay[..., :1, :])], dim=-2)
        adjoint = _linear_scan(decay_next.flip(-2), (gy * t.C).flip(-2)).flip(-2)
        states_before = torch.cat([torch.zeros_like(t.states[..., :1, :]), t.states[..., :-1, :]], dim=-2)

        grad_drive = adjoint * t.delta * t.B  # dL/dw
        grad_z = adjoint * t.decay * states_before + grad_drive * (t.dP * t.u + t.dQ * t.u_next)
        grad_A[channels] = (t.delta * grad_z).sum(dim=(0, 2))
        grad_delta[:, channels] = (t.A * grad_z + adjoint * t.B * t.drive).sum(-1)
        grad_B[:, g] = (adjoint * t.delta * t.drive).sum(1).transpose(-1, -2)
        grad_C[:, g] = (gy * t.states).sum(1).transpose(-1, -2)

        grad_u_next = (grad_drive * t.Q).sum(-1)
        grad_u[:, channels] += (grad_drive * t.P).sum(-1)
        grad_u[:, channels, 1:] += grad_u_next[..., :-1]
        grad_u[:, channels, -1] += grad_u_next[..., -1]

    if delta_softplus:
        grad_delta = grad_delta * torch.sigmoid(delta_raw + delta_bias[None, :, None])
    grad_D = (grad_y * u).sum(dim=(0, 2))
    grad_delta_bias = grad_delta.sum(dim=(0, 2))
    return grad_u, grad_delta, grad_A, grad_B, grad_C, grad_D, grad_delta_bias


# ---------------------------------------------------------------------------
# CPU path: the compiled extension
# ---------------------------------------------------------------------------


def _cpu_build_tag() -> str:
    """Name the build folder after everything that makes a built library unusable elsewhere."""
    digest = hashlib.sha256()
    digest.update(torch.__version__.encode())
    for source in sorted(_SOURCE_DIR.glob("*")):
        digest.update(source.read_bytes())
    # The library is built with -march=native, so a build folder on a shared disk must not
    # be reused by a machine with other instruction sets.
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as cpuinfo:
            flags = next((line for line in cpuinfo if line.startswith(("flags", "Features"))), "")
    except OSError:
        flags = ""
    digest.update(flags.encode())
    return digest.hexdigest()[:12]


def _build_root() -> Path:
    """Return training/build in a source checkout, else a per-user cache (an installed package may be read-only)."""
    if os.access(_BUILD_ROOT.parent, os.W_OK):
        return _BUILD_ROOT
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "fssm"


def load_cpu_extension():
    """Compile (first use only) and import the C++ scan; raise RuntimeError saying why it cannot be built."""
    global _cpu_extension, _cpu_extension_error
    if _cpu_extension is not None:
        return _cpu_extension
    if _cpu_extension_error is not None:
        raise RuntimeError(_cpu_extension_error)

    from torch.utils import cpp_extension

    compiler = os.environ.get("CXX", "c++")
    if shutil.which(compiler) is None:
        _cpu_extension_error = (
            f"cannot build the CPU training scan: C++ compiler {compiler!r} not found on PATH; "
            "install g++ (Debian: apt-get install g++ ninja-build libtorch-dev) or set CXX"
        )
        raise RuntimeError(_cpu_extension_error)
    if not cpp_extension.is_ninja_available():
        _cpu_extension_error = (
            "cannot build the CPU training scan: ninja not found on PATH; install it "
            "(Debian: apt-get install ninja-build, or pip install ninja)"
        )
        raise RuntimeError(_cpu_extension_error)

    build_dir = _build_root() / f"scan_cpu_{_cpu_build_tag()}"
    build_dir.mkdir(parents=True, exist_ok=True)
    LOG.info("loading the CPU training scan from %s (compiles on first use, about a minute)", build_dir)
    try:
        _cpu_extension = cpp_extension.load(
            name="fssm_scan_cpu",
            sources=[str(_SOURCE_DIR / "scan_cpu.cpp")],
            build_directory=str(build_dir),
            extra_cflags=["-O3", "-march=native", "-fopenmp-simd"],
            verbose=False,
        )
    except (OSError, RuntimeError, ImportError) as error:
        # Debian's torch ships without pybind11, so name the missing package before the compiler output.
        hint = ""
        if "pybind11" in str(error):
            hint = " (pybind11 headers missing: on Debian, apt-get install pybind11-dev)"
        _cpu_extension_error = f"cannot build the CPU training scan in {build_dir}{hint}: {error}"
        LOG.debug("CPU training scan build failed", exc_info=True)
        raise RuntimeError(_cpu_extension_error) from error
    return _cpu_extension


def is_available(device) -> bool:
    """Return whether ``selective_scan_train`` runs on ``device``.

    On CPU this builds the extension on first use and logs one warning if that fails.
    Other devices use the tensor-operation path, which needs nothing beyond PyTorch.
    """
    device = torch.device(device)
    if device.type != "cpu":
        return True
    try:
        load_cpu_extension()
    except RuntimeError as error:
        if not getattr(is_available, "_warned", False):
            LOG.warning("%s; falling back to autograd through the inference scan, which is much slower", error)
            is_available._warned = True
        return False
    return True


# ---------------------------------------------------------------------------
# Autograd Functions and the entry point
# ---------------------------------------------------------------------------


def _custom_fwd(function):
    # Keeps the scan in float32 under CUDA autocast: torch.amp.custom_fwd exists from torch 2.4,
    # torch.cuda.amp.custom_fwd before (it warns as deprecated after).
    if hasattr(torch.amp, "custom_fwd"):
        return torch.amp.custom_fwd(function, device_type="cuda", cast_inputs=torch.float32)
    return torch.cuda.amp.custom_fwd(cast_inputs=torch.float32)(function)


def _custom_bwd(function):
    if hasattr(torch.amp, "custom_bwd"):
        return torch.amp.custom_bwd(function, device_type="cuda")
    return torch.cuda.amp.custom_bwd(function)


class _TorchScan(torch.autograd.Function):
    # NOTE: written for CUDA but never run on a GPU; the tests check it on CPU only.

    @staticmethod
    @_custom_fwd
    def forward(ctx, u, delta, A, B, C, D, delta_bias, mode, delta_softplus):
        ctx.mode = mode
        ctx.delta_softplus = delta_softplus
        ctx.save_for_backward(u, delta, A, B, C, D, delta_bias)
        return _torch_forward(u, delta, A, B, C, D, delta_bias, mode, delta_softplus)

    @staticmethod
    @_custom_bwd
    @once_differentiable
    def backward(ctx, grad_y):
        inputs = ctx.saved_tensors
        grads = _torch_backward(grad_y.contiguous(), *inputs, ctx.mode, ctx.delta_softplus)
        return (*grads, None, None)


class _CpuScan(torch.autograd.Function):
    @staticmethod
    def forward(ctx, u, delta, A, B, C, D, delta_bias, mode, delta_softplus):
        extension = load_cpu_extension()
        # Token-major B and C: the kernel reads one token's N values of a group together.
        B_tokens = B.transpose(-1, -2).contiguous()
        C_tokens = C.transpose(-1, -2).contiguous()
        u, delta, A, D, delta_bias = (t.contiguous() for t in (u, delta, A, D, delta_bias))
        y, chunk_states = extension.forward(
            u, extension.effective_delta(delta, delta_bias, delta_softplus), A, B_tokens, C_tokens, D,
            MODE_CODES[mode], CHUNK,
        )
        ctx.mode = mode
        ctx.delta_softplus = delta_softplus
        # The effective delta is recomputed in the backward rather than kept: it would cost
        # one more (batch, channels, L) tensor per layer for the whole forward pass.
        ctx.save_for_backward(u, delta, A, B_tokens, C_tokens, D, delta_bias, chunk_states)
        return y

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_y):
        extension = load_cpu_extension()
        u, delta, A, B_tokens, C_tokens, D, delta_bias, chunk_states = ctx.saved_tensors
        effective = extension.effective_delta(delta, delta_bias, ctx.delta_softplus)
        grad_u, grad_effective, grad_A, grad_B, grad_C, grad_D = extension.backward(
            grad_y.contiguous(), u, effective, A, B_tokens, C_tokens, D, chunk_states, MODE_CODES[ctx.mode], CHUNK
        )
        grad_delta, grad_delta_bias = extension.effective_delta_backward(
            grad_effective, delta, delta_bias, ctx.delta_softplus
        )
        return (
            grad_u, grad_delta, grad_A, grad_B.transpose(-1, -2), grad_C.transpose(-1, -2),
            grad_D, grad_delta_bias, None, None,
        )


def selective_scan_torch(u, delta, A, B, C, D, delta_bias, mode: str, delta_softplus: bool = True):
    """Run the tensor-operation path on any device (same contract as ``selective_scan_train``)."""
    return _TorchScan.apply(u, delta, A, B, C, D, delta_bias, mode, delta_softplus)


def selective_scan_cpu(u, delta, A, B, C, D, delta_bias, mode: str, delta_softplus: bool = True):
    """Run the compiled CPU path; raise RuntimeError if the extension cannot be built."""
    return _CpuScan.apply(u, delta, A, B, C, D, delta_bias, mode, delta_softplus)


def selective_scan_train(u, delta, A, B, C, D, delta_bias, mode: str, delta_softplus: bool = True):
    """Run the selective scan with the hand-written backward on u's device.

    Same contract and shapes as ``fssm.ops.scan_ref.selective_scan_ref``, inputs already
    checked by ``fssm.scan.selective_scan``. The scan runs in float64 if any input is float64,
    else in float32, and y comes back in that dtype.
    """
    if mode not in MODE_CODES:
        raise ValueError(f"unknown scan mode {mode!r}; expected one of {', '.join(MODE_CODES)}")
    tensors = (u, delta, A, B, C, D, delta_bias)
    # One dtype for all, the widest given: a float64 model may still pass a float32 A.
    dtype = torch.float64 if any(t.dtype == torch.float64 for t in tensors) else torch.float32
    u, delta, A, B, C, D, delta_bias = (t.to(dtype) for t in tensors)
    if u.device.type == "cpu":
        return selective_scan_cpu(u, delta, A, B, C, D, delta_bias, mode, delta_softplus)
    return selective_scan_torch(u, delta, A, B, C, D, delta_bias, mode, delta_softplus)
