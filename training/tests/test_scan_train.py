"""The training scan's forward and hand-written gradients against the token-by-token reference.

Both paths are checked on CPU: the compiled C++ extension (built on first use, which takes
about a minute once) and the tensor-operation path that CUDA uses. Where CUDA is available,
the tensor-operation path also runs on the GPU ("cuda" below) in every test of the paths.
"""
import functools
import logging

import pytest
import torch

from fssm.ops import scan_train
from fssm.ops.hold import hold_weights
from fssm.ops.scan_ref import selective_scan_ref
from fssm.scan import selective_scan

MODES = ("zoh", "foh", "foh1")
INPUT_NAMES = ("u", "delta", "A", "B", "C", "D", "delta_bias")
PATHS = {"cpu": scan_train.selective_scan_cpu, "torch": scan_train.selective_scan_torch}


def selective_scan_on_cuda(*args):
    """Run the training scan on the GPU for CPU inputs; autograd carries the gradients back."""
    *tensors, mode, delta_softplus = args
    return scan_train.selective_scan_train(*(t.cuda() for t in tensors), mode, delta_softplus).cpu()


if torch.cuda.is_available():
    PATHS["cuda"] = selective_scan_on_cuda


@pytest.fixture(scope="module", autouse=True)
def two_threads():
    """Run with two threads so that the extension's parallel loops split work for real."""
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def cpu_extension():
    return scan_train.load_cpu_extension()


def scan_inputs(batch, channels, groups, d_state, length, dtype=torch.float64, seed=0):
    """Return random inputs of moderate size; delta is raw (before delta_bias and softplus)."""
    generator = torch.Generator().manual_seed(seed)

    def normal(*shape):
        return torch.randn(*shape, generator=generator, dtype=dtype)

    def uniform(*shape):
        return torch.rand(*shape, generator=generator, dtype=dtype)

    return [
        normal(batch, channels, length),
        normal(batch, channels, length) - 1.0,
        -(uniform(channels, d_state) * 4.0 + 0.1),
        normal(batch, groups, d_state, length),
        normal(batch, groups, d_state, length),
        normal(channels),
        normal(channels) * 0.3,
    ]


def gradients(scan, inputs, mode, grad_y, delta_softplus=True):
    """Return (y, gradients of every input) of ``scan`` for the output gradient ``grad_y``."""
    inputs = [t.detach().clone().requires_grad_() for t in inputs]
    y = scan(*inputs, mode, delta_softplus)
    return y.detach(), torch.autograd.grad(y, inputs, grad_y)


def relative_error(actual, expected):
    """Return max |actual - expected| relative to max |expected|."""
    scale = expected.abs().max().clamp_min(1e-30)
    return ((actual.double() - expected.double()).abs().max() / scale).item()


def reference_result(inputs, mode, delta_softplus=True):
    """Return (grad_y, y, gradients) of the float64 reference for a fixed random output gradient."""
    reference_inputs = [t.double() for t in inputs]
    expected_y = selective_scan_ref(*reference_inputs, mode, delta_softplus)
    grad_y = torch.randn(expected_y.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    _, expected_grads = gradients(selective_scan_ref, reference_inputs, mode, grad_y, delta_softplus)
    return grad_y, expected_y, expected_grads


def assert_matches_reference(path, inputs, mode, tolerance, delta_softplus=True, reference=None):
    """Check forward and all gradients of ``path`` against the float64 reference."""
    grad_y, expected_y, expected_grads = reference or reference_result(inputs, mode, delta_softplus)
    y, grads = gradients(PATHS[path], inputs, mode, grad_y.to(inputs[0].dtype), delta_softplus)

    assert relative_error(y, expected_y) < tolerance, f"{path} {mode}: y"
    for name, grad, expected in zip(INPUT_NAMES, grads, expected_grads):
        assert grad.dtype == inputs[0].dtype, f"{path} {mode}: grad {name} dtype"
        assert relative_error(grad, expected) < tolerance, f"{path} {mode}: grad {name}"


@functools.lru_cache(maxsize=None)
def long_sequence_case(mode):
    """Return (inputs, reference) for 4097 tokens, shared by both paths: the reference loop takes ~20 s."""
    inputs = scan_inputs(1, 2, 1, 4, 4097, dtype=torch.float32)
    return inputs, reference_result(inputs, mode)


# ---------------------------------------------------------------------------
# Hold weights and their slopes
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_hold_weights_match_hold_module(mode):
    z = -torch.logspace(-7, 1.7, 500, dtype=torch.float64)
    z = torch.cat([z, torch.zeros(1, dtype=torch.float64)])
    P, Q, _, _ = scan_train.hold_weights_and_slopes(z, mode)
    expected_P, expected_Q = hold_weights(z, mode)

    # hold.py's 9-term series is off by up to about 1.2e-9 relative at its radius |z| = 0.5.
    assert torch.allclose(P, expected_P, rtol=1e-8, atol=1e-12)
    assert torch.allclose(Q, expected_Q, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("mode", MODES)
def test_hold_slopes_match_finite_differences(mode):
    z = -torch.logspace(-7, 1.7, 500, dtype=torch.float64)
    step = 1e-5
    _, _, dP, dQ = scan_train.hold_weights_and_slopes(z, mode)
    P_plus, Q_plus = hold_weights(z + step, mode)
    P_minus, Q_minus = hold_weights(z - step, mode)

    assert torch.allclose(dP, (P_plus - P_minus) / (2 * step), rtol=1e-6, atol=1e-9)
    assert torch.allclose(dQ, (Q_plus - Q_minus) / (2 * step), rtol=1e-6, atol=1e-9)


def test_foh_slopes_continuous_at_series_radius_float32():
    radius = scan_train.SERIES_RADIUS
    below = torch.tensor([-radius * (1 - 1e-6)], dtype=torch.float32)
    above = torch.tensor([-radius * (1 + 1e-6)], dtype=torch.float32)
    for inside, outside in zip(scan_train.hold_weights_and_slopes(below, "foh"),
                               scan_train.hold_weights_and_slopes(above, "foh")):
        assert relative_error(inside, outside) < 2e-5


def test_foh_slopes_accurate_near_zero_float32():
    z64 = -torch.logspace(-8, 1, 300, dtype=torch.float64)
    expected = scan_train.hold_weights_and_slopes(z64, "foh")
    actual = scan_train.hold_weights_and_slopes(z64.float(), "foh")
    for name, value, reference in zip(("P", "Q", "dP", "dQ"), actual, expected):
        elementwise = ((value.double() - reference) / reference.abs()).abs().max().item()
        assert elementwise < 1e-5, name


# ---------------------------------------------------------------------------
# Gradients: float64 gradcheck on tiny cases
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("length", [1, 2, 5])
def test_gradcheck_float64(cpu_extension, path, mode, length):
    inputs = [t.requires_grad_() for t in scan_inputs(2, 6, 3, 3, length)]
    assert torch.autograd.gradcheck(lambda *args: PATHS[path](*args, mode, True), inputs)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("mode", MODES)
def test_gradcheck_without_softplus(cpu_extension, path, mode):
    inputs = scan_inputs(1, 4, 2, 2, 4)
    inputs[1] = inputs[1].abs() + 0.05  # delta used as given must stay positive
    inputs = [t.requires_grad_() for t in inputs]
    assert torch.autograd.gradcheck(lambda *args: PATHS[path](*args, mode, False), inputs)


# ---------------------------------------------------------------------------
# Forward and gradients against the reference
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("length", [1, 2, 7, 64])
def test_float32_matches_reference(cpu_extension, path, mode, length):
    inputs = scan_inputs(2, 12, 2, 10, length, dtype=torch.float32)
    assert_matches_reference(path, inputs, mode, tolerance=1e-4)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("mode", MODES)
def test_float32_long_sequence(cpu_extension, path, mode):
    inputs, reference = long_sequence_case(mode)
    assert_matches_reference(path, inputs, mode, tolerance=1e-4, reference=reference)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("offset", [-1, 0, 1, scan_train.CHUNK + 1])
def test_chunk_boundaries(cpu_extension, mode, offset):
    # The foh look-ahead of a chunk's last token reads the next chunk's first input.
    length = scan_train.CHUNK + offset
    inputs = scan_inputs(1, 3, 1, 3, length)
    assert_matches_reference("cpu", inputs, mode, tolerance=1e-7)
    assert_matches_reference("torch", inputs, mode, tolerance=1e-7)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("channels, groups", [(24, 1), (20, 2), (40, 2)])
def test_channel_tiles_and_blocks(cpu_extension, path, channels, groups):
    # Groups of 24, 10 and 20 channels: full and partial 8-channel tiles, and one batch item
    # so that the backward splits a group's tiles over several tasks.
    inputs = scan_inputs(1, channels, groups, 5, 40)
    assert_matches_reference(path, inputs, "foh", tolerance=1e-7)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("mode", MODES)
def test_extreme_delta_and_A_finite(cpu_extension, path, mode):
    # Effective step sizes from 1e-4 to 10 and decay rates from -50 to -0.01, given
    # directly (no softplus), so that z = delta * a spans -500 to -1e-6.
    generator = torch.Generator().manual_seed(3)
    batch, channels, groups, d_state, length = 2, 8, 2, 6, 96
    inputs = scan_inputs(batch, channels, groups, d_state, length, dtype=torch.float32)
    inputs[1] = 10.0 ** (torch.rand(batch, channels, length, generator=generator) * 5.0 - 4.0)
    inputs[2] = -(10.0 ** (torch.rand(channels, d_state, generator=generator) * 3.7 - 2.0))
    inputs[6] = torch.zeros(channels)

    grad_y = torch.randn(batch, channels, length, generator=generator)
    y, grads = gradients(PATHS[path], inputs, mode, grad_y, delta_softplus=False)

    assert torch.isfinite(y).all()
    for name, grad in zip(INPUT_NAMES, grads):
        assert torch.isfinite(grad).all(), name
    assert_matches_reference(path, inputs, mode, tolerance=1e-4, delta_softplus=False)


@pytest.mark.parametrize("mode", MODES)
def test_compiled_softplus_matches_torch(cpu_extension, mode):
    # Raw step sizes from -30 to 30 through the compiled scan's own softplus must give the
    # outputs and gradients of torch's softplus applied before a scan without softplus.
    generator = torch.Generator().manual_seed(4)
    batch, channels, groups, d_state, length = 2, 8, 2, 6, 96
    inputs = scan_inputs(batch, channels, groups, d_state, length, dtype=torch.float32)
    inputs[1] = torch.rand(batch, channels, length, generator=generator) * 60.0 - 30.0
    grad_y = torch.randn(batch, channels, length, generator=generator)

    compiled_y, compiled_grads = gradients(scan_train.selective_scan_cpu, inputs, mode, grad_y)

    def softplus_first(u, delta, A, B, C, D, delta_bias, mode, delta_softplus):
        effective = torch.nn.functional.softplus(delta + delta_bias[None, :, None])
        return scan_train.selective_scan_cpu(u, effective, A, B, C, D, torch.zeros_like(delta_bias), mode, False)

    expected_y, expected_grads = gradients(softplus_first, inputs, mode, grad_y)
    assert relative_error(compiled_y, expected_y) < 1e-6
    for name, grad, expected in zip(INPUT_NAMES, compiled_grads, expected_grads):
        assert relative_error(grad, expected) < 1e-5, name


# ---------------------------------------------------------------------------
# Entry point and fallback
# ---------------------------------------------------------------------------


def test_selective_scan_uses_training_scan(cpu_extension):
    inputs = [t.float().requires_grad_() for t in scan_inputs(1, 4, 2, 3, 9)]
    y = selective_scan(*inputs, "foh")
    assert "_CpuScan" in type(y.grad_fn).__name__


def test_cpu_inference_uses_compiled_forward(cpu_extension, monkeypatch):
    modes_run = []
    compiled = scan_train.selective_scan_cpu

    def recording(*args):
        modes_run.append(args[7])
        return compiled(*args)

    monkeypatch.setattr(scan_train, "selective_scan_cpu", recording)
    inputs = [t.float() for t in scan_inputs(2, 12, 2, 10, 70)]
    with torch.no_grad():
        y = selective_scan(*inputs, "foh")

    assert modes_run == ["foh"]
    assert y.dtype == torch.float32
    assert relative_error(y, selective_scan_ref(*[t.double() for t in inputs], "foh")) < 1e-5


def test_mixed_dtypes_run_in_float64(cpu_extension):
    inputs = scan_inputs(1, 4, 2, 3, 9)
    inputs[2] = inputs[2].float()  # the network passes A as float32
    inputs = [t.requires_grad_() for t in inputs]
    y = scan_train.selective_scan_train(*inputs, "foh")
    y.sum().backward()

    assert y.dtype == torch.float64
    assert inputs[2].grad.dtype == torch.float32
    assert torch.allclose(y, selective_scan_ref(*[t.double() for t in inputs], "foh"))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_bfloat16_autocast_keeps_scan_float32():
    inputs = [t.cuda() for t in scan_inputs(2, 12, 2, 10, 64, dtype=torch.float32)]
    rounded = [t.bfloat16() for t in inputs]

    with torch.autocast("cuda", dtype=torch.bfloat16):
        y = scan_train.selective_scan_train(*rounded, "foh", True)

    assert y.dtype == torch.float32
    expected = scan_train.selective_scan_train(*(t.float() for t in rounded), "foh", True)
    assert relative_error(y, expected) < 1e-5


def test_any_other_device_available():
    assert scan_train.is_available(torch.device("cuda"))


def test_missing_compiler_falls_back(monkeypatch, caplog):
    monkeypatch.setattr(scan_train, "_cpu_extension", None)
    monkeypatch.setattr(scan_train, "_cpu_extension_error", None)
    monkeypatch.setattr(scan_train.is_available, "_warned", False, raising=False)
    monkeypatch.setenv("CXX", "fssm-no-such-compiler")

    with pytest.raises(RuntimeError, match="C\\+\\+ compiler 'fssm-no-such-compiler' not found"):
        scan_train.load_cpu_extension()
    with caplog.at_level(logging.WARNING, logger=scan_train.__name__):
        assert not scan_train.is_available("cpu")
    assert "falling back" in caplog.text

    inputs = [t.requires_grad_() for t in scan_inputs(1, 4, 2, 3, 6)]
    y = selective_scan(*inputs, "foh")
    assert "_CpuScan" not in type(y.grad_fn).__name__
    assert torch.allclose(y, selective_scan_ref(*inputs, "foh"))


def test_missing_pybind11_named_in_error(monkeypatch):
    from torch.utils import cpp_extension

    def failing_build(**kwargs):
        raise RuntimeError("Error building extension 'fssm_scan_cpu': fatal error: pybind11/pybind11.h: No such file")

    monkeypatch.setattr(scan_train, "_cpu_extension", None)
    monkeypatch.setattr(scan_train, "_cpu_extension_error", None)
    monkeypatch.setattr(cpp_extension, "is_ninja_available", lambda: True)
    monkeypatch.setattr(cpp_extension, "load", failing_build)

    with pytest.raises(RuntimeError, match="apt-get install pybind11-dev"):
        scan_train.load_cpu_extension()
