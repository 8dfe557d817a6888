"""The inference scan and the public entry point against the token-by-token reference."""
import math

import pytest
import torch

from fssm.ops.hold import foh_next_weight, p_weight, phi1, phi2
from fssm.ops.scan_chunked import selective_scan_chunked
from fssm.ops.scan_ref import selective_scan_ref
from fssm.scan import selective_scan

MODES = ("zoh", "foh", "foh1")


def make_inputs(batch, channels, length, groups, d_state, dtype=torch.float32, seed=0):
    """Random scan inputs in the ranges the network produces, all leaves."""
    g = torch.Generator().manual_seed(seed)
    u = torch.randn(batch, channels, length, generator=g, dtype=dtype)
    delta = torch.randn(batch, channels, length, generator=g, dtype=dtype) * 0.5
    A = -torch.exp(torch.randn(channels, d_state, generator=g, dtype=dtype))
    B = torch.randn(batch, groups, d_state, length, generator=g, dtype=dtype)
    C = torch.randn(batch, groups, d_state, length, generator=g, dtype=dtype)
    D = torch.randn(channels, generator=g, dtype=dtype)
    delta_bias = torch.randn(channels, generator=g, dtype=dtype) * 0.5 - 2.0
    return [u, delta, A, B, C, D, delta_bias]


def relative_error(actual, expected):
    return ((actual - expected).abs().max() / expected.abs().max().clamp_min(1e-12)).item()


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("length", [1, 2, 7, 64, 4097])
def test_chunked_forward_matches_reference(mode, length):
    inputs = make_inputs(2, 8, length, 2, 4)
    expected = selective_scan_ref(*[t.double() for t in inputs], mode)

    actual = selective_scan_chunked(*inputs, mode, True)

    assert actual.dtype == torch.float32
    assert relative_error(actual.double(), expected) < 1e-5


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("length", [1, 2, 7, 64, 4097])
def test_public_scan_gradients_match_reference(mode, length):
    inputs = make_inputs(1, 4, length, 2, 3, seed=1)
    reference_inputs = [t.double().requires_grad_() for t in inputs]
    fast_inputs = [t.clone().requires_grad_() for t in inputs]
    g = torch.Generator().manual_seed(2)
    weights = torch.randn(1, 4, length, generator=g)

    (selective_scan_ref(*reference_inputs, mode) * weights.double()).sum().backward()
    (selective_scan(*fast_inputs, mode) * weights).sum().backward()

    names = ["u", "delta", "A", "B", "C", "D", "delta_bias"]
    for name, fast, reference in zip(names, fast_inputs, reference_inputs):
        assert relative_error(fast.grad.double(), reference.grad) < 1e-4, name


@pytest.mark.parametrize("mode", MODES)
def test_chunked_gradcheck_float64(mode):
    inputs = [t.requires_grad_() for t in make_inputs(1, 4, 5, 2, 2, dtype=torch.float64)]

    def scan(*tensors):
        return selective_scan_chunked(*tensors, mode, True, 2)

    assert torch.autograd.gradcheck(scan, inputs)


@pytest.mark.parametrize("mode", MODES)
def test_extreme_delta_and_A_stay_finite(mode):
    # delta spans 1e-4 .. 10 and A spans -50 .. -0.01, so delta * A spans -500 .. -1e-6.
    length, channels, d_state = 64, 6, 5
    delta = torch.logspace(-4, 1, length).repeat(1, channels, 1)
    A = -torch.logspace(-2, math.log10(50), channels * d_state).reshape(channels, d_state)
    g = torch.Generator().manual_seed(3)
    u = torch.randn(1, channels, length, generator=g).requires_grad_()
    B = torch.randn(1, 1, d_state, length, generator=g)
    C = torch.randn(1, 1, d_state, length, generator=g)
    D = torch.ones(channels)
    bias = torch.zeros(channels)
    A.requires_grad_()
    delta.requires_grad_()

    y = selective_scan(u, delta, A, B, C, D, bias, mode, delta_softplus=False)
    y.sum().backward()

    assert torch.isfinite(y).all()
    assert torch.isfinite(u.grad).all()
    assert torch.isfinite(delta.grad).all()
    assert torch.isfinite(A.grad).all()
    expected = selective_scan_ref(u.double(), delta.double(), A.double(), B.double(), C.double(),
                                  D.double(), bias.double(), mode, delta_softplus=False)
    assert relative_error(y.detach().double(), expected) < 1e-5


def test_hold_weights_continuous_at_series_switch():
    # Just inside and just outside the radius where the series hands over to the closed
    # forms: both sides must agree with the float64 closed form, so there is no jump.
    z64 = torch.tensor([-0.5 + 1e-6, -0.5 - 1e-6, 0.5 - 1e-6, 0.5 + 1e-6], dtype=torch.float64)
    e = torch.exp(z64)
    exact = {
        phi1: (e - 1) / z64,
        phi2: (e - 1 - z64) / z64**2,
        p_weight: (z64 * e - e + 1) / z64**2,
    }
    for weight, expected in exact.items():
        values = weight(z64.float()).double()
        assert ((values - expected).abs() / expected).max() < 1e-6, weight.__name__


def test_hold_weights_match_closed_forms_in_float64():
    z = torch.linspace(-60.0, -1e-3, 5001, dtype=torch.float64)
    e = torch.exp(z)
    assert torch.allclose(phi1(z), (e - 1) / z, rtol=1e-9, atol=0)
    assert torch.allclose(phi2(z), (e - 1 - z) / z**2, rtol=1e-7, atol=0)
    assert torch.allclose(p_weight(z), (z * e - e + 1) / z**2, rtol=1e-7, atol=0)
    assert torch.allclose(p_weight(z) + phi2(z), phi1(z), rtol=1e-12, atol=0)


def test_hold_weights_accurate_near_zero_in_float32():
    z64 = -torch.logspace(-8, 0, 400, dtype=torch.float64)
    for weight in (phi1, phi2, p_weight):
        exact = weight(z64)
        approx = weight(z64.float()).double()
        assert relative_error(approx, exact) < 1e-6, weight.__name__


def test_fast_next_weight_matches_phi2():
    z64 = torch.cat([-torch.logspace(-8, 2.7, 2000, dtype=torch.float64), torch.zeros(1, dtype=torch.float64)])
    z = z64.float()
    fast = foh_next_weight(z, torch.expm1(z)).double()
    assert relative_error(fast, phi2(z64)) < 1e-6
    assert ((fast - phi2(z64)).abs() / phi2(z64)).max() < 2e-6


def scalar_problem_error(mode, steps):
    """Global error at t = 4 of h' = -2 h + sin t, h(0) = 0, scanned with `steps` steps."""
    t_end, a = 4.0, -2.0
    dt = t_end / steps
    times = torch.arange(steps + 1, dtype=torch.float64) * dt
    u = torch.sin(times).view(1, 1, -1)
    delta = torch.full_like(u, dt)
    ones = torch.ones(1, 1, 1, steps + 1, dtype=torch.float64)
    y = selective_scan_chunked(u, delta, torch.tensor([[a]], dtype=torch.float64), ones, ones,
                               torch.zeros(1, dtype=torch.float64), torch.zeros(1, dtype=torch.float64),
                               mode, False)
    # Token i integrates the interval [t_i, t_{i+1}], so token steps-1 ends at t = 4.
    exact = (2 * math.sin(t_end) - math.cos(t_end) + math.exp(a * t_end)) / 5
    return abs(y[0, 0, steps - 1].item() - exact)


@pytest.mark.parametrize("mode, order", [("zoh", 1.0), ("foh", 2.0), ("foh1", 2.0)])
def test_observed_order_on_scalar_problem(mode, order):
    errors = [scalar_problem_error(mode, steps) for steps in (400, 800, 1600)]
    observed = [math.log2(errors[i] / errors[i + 1]) for i in range(2)]
    for value in observed:
        assert abs(value - order) < 0.1, (errors, observed)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda t: t.__setitem__(0, t[0][0]), "u must be"),
        (lambda t: t.__setitem__(1, t[1][:, :, :-1]), "delta shape"),
        (lambda t: t.__setitem__(2, t[2][:-1]), "A must be"),
        (lambda t: t.__setitem__(3, t[3][:, :, :, :-1]), "B must be"),
        (lambda t: t.__setitem__(5, t[5][:-1]), "D must be"),
    ],
)
def test_bad_shapes_rejected(change, message):
    inputs = make_inputs(1, 4, 6, 2, 3)
    change(inputs)
    with pytest.raises(ValueError, match=message):
        selective_scan(*inputs, "foh")


def test_unknown_mode_rejected():
    with pytest.raises(ValueError, match="unknown scan mode 'fooh'"):
        selective_scan(*make_inputs(1, 4, 6, 2, 3), "fooh")


def test_groups_must_divide_channels():
    inputs = make_inputs(1, 4, 6, 3, 3)
    with pytest.raises(ValueError, match="split evenly"):
        selective_scan(*inputs, "foh")
