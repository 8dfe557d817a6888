"""Input-term coefficients of the three discretisations of the selective scan.

Every mode shares the decay ``h_i = exp(z_i) h_{i-1} + beta_i`` with ``z_i = delta_i * a``
and differs in the input term::

    beta_i = delta_i * b_i * (P(z_i) * u_i + Q(z_i) * u_{i+1})

- ``zoh``  (Mamba's simplified zero-order hold): P = 1, Q = 0.
- ``foh``  (exact first-order hold): P = p(z) = phi1(z) - phi2(z), Q = q(z) = phi2(z),
  where phi1(z) = (e^z - 1) / z and phi2(z) = (e^z - 1 - z) / z^2.
- ``foh1`` (first-order Taylor truncation of ``foh``): P = 1/2 + z/3, Q = 1/2 + z/6.

The last token has no successor, so callers hold it (``u_L := u_{L-1}``). Because
P + Q = phi1 for ``foh`` and P + Q = 1 + z/2 for ``foh1``, holding gives exactly the
last-token terms of both first-order modes without a special case.

phi2 and p lose all precision near z = 0 in float32 (they subtract numbers close to 1
and divide by z^2), so |z| < SERIES_RADIUS uses their Taylor series instead.
"""
from typing import List, Tuple

import torch

SCAN_MODES = ("zoh", "foh", "foh1")

# Below this |z| the series are used. With terms up to z^8 the truncation error at
# |z| = 0.5 is below about 1e-9 relative (the p series decays slowest), and above it the
# closed forms lose at most about 2 * eps / |z| ~ 5e-7 relative in float32.
SERIES_RADIUS = 0.5
SERIES_TERMS = 9


# The functions below are TorchScript-compiled by the inference scan, which is why the
# constants come in as default arguments rather than as globals.


def _factorial(k: int) -> float:
    result = 1.0
    for i in range(2, k + 1):
        result *= float(i)
    return result


def _series(z: torch.Tensor, first_term: int, weight_power: int, terms: int = SERIES_TERMS) -> torch.Tensor:
    """Sum over k < terms of (k + 1)^weight_power * z^k / (k + first_term)!, by Horner's rule."""
    result = torch.zeros_like(z)
    for k in range(terms - 1, -1, -1):
        coefficient = float((k + 1) ** weight_power) / _factorial(k + first_term)
        result = result * z + coefficient
    return result


def phi1(z: torch.Tensor, radius: float = SERIES_RADIUS) -> torch.Tensor:
    """(e^z - 1) / z, continuous at 0."""
    small = z.abs() < radius
    z_small = torch.where(small, z, torch.zeros_like(z))
    z_large = torch.where(small, -torch.ones_like(z), z)
    return torch.where(small, _series(z_small, 1, 0), torch.expm1(z_large) / z_large)


def phi2(z: torch.Tensor, radius: float = SERIES_RADIUS) -> torch.Tensor:
    """q(z) = (e^z - 1 - z) / z^2, the weight of the next token's input."""
    small = z.abs() < radius
    z_small = torch.where(small, z, torch.zeros_like(z))
    z_large = torch.where(small, -torch.ones_like(z), z)
    closed = (torch.expm1(z_large) - z_large) / (z_large * z_large)
    return torch.where(small, _series(z_small, 2, 0), closed)


def p_weight(z: torch.Tensor, radius: float = SERIES_RADIUS) -> torch.Tensor:
    """p(z) = phi1(z) - phi2(z) = (1 + (z - 1) e^z) / z^2, the weight of the current input."""
    small = z.abs() < radius
    z_small = torch.where(small, z, torch.zeros_like(z))
    z_large = torch.where(small, -torch.ones_like(z), z)
    closed = (1.0 + (z_large - 1.0) * torch.exp(z_large)) / (z_large * z_large)
    return torch.where(small, _series(z_small, 2, 1), closed)


def hold_weights(z: torch.Tensor, mode: str) -> Tuple[torch.Tensor, torch.Tensor]:
    """Return (P, Q): the weights of u_i and u_{i+1} in beta_i / (delta_i b_i). Q is 0 for zoh."""
    if mode == "zoh":
        return torch.ones_like(z), torch.zeros_like(z)
    if mode == "foh":
        return p_weight(z), phi2(z)
    if mode == "foh1":
        return 0.5 + z / 3.0, 0.5 + z / 6.0
    raise ValueError("unknown scan mode '" + mode + "'; expected zoh, foh or foh1")


# Radius and length of the series in foh_next_weight. With terms up to z^4 the truncation
# error at |z| = 0.25 is below 0.25^5 / 7! ~ 2e-7 (4e-7 relative to q), and above it the
# closed form loses at most about 2 * eps / |z| ~ 5e-7 relative in float32.
FAST_SERIES_RADIUS = 0.25
FAST_SERIES_TERMS = 5


def _horner_fused(z: torch.Tensor, coefficients: List[float]) -> torch.Tensor:
    """Sum over k of coefficients[k] * z^k (two or more coefficients), one tensor operation per term.

    The inference scan evaluates this on every state element of every token. There each
    multiply and each add is a full pass over memory, so addcmul fuses the two.
    """
    last = len(coefficients) - 1
    result = torch.add(z.new_full([], coefficients[last - 1]), z, alpha=coefficients[last])
    for k in range(last - 2, -1, -1):
        result = torch.addcmul(z.new_full([], coefficients[k]), result, z)
    return result


def foh_next_weight(
    z: torch.Tensor, expm1_z: torch.Tensor, radius: float = FAST_SERIES_RADIUS, terms: int = FAST_SERIES_TERMS
) -> torch.Tensor:
    """q(z) = phi2(z) for z <= 0 only, reusing expm1(z): the inference scan's cheaper form.

    The series runs on z clamped to [-radius, 0] and the closed form on z clamped to
    (-inf, -radius], so both stay finite everywhere, and a 0/1 weight picks one of them.
    """
    z_closed = torch.clamp(z, max=-radius)
    closed = (expm1_z - z) / (z_closed * z_closed)
    series = _horner_fused(torch.clamp(z, min=-radius), [1.0 / _factorial(k + 2) for k in range(terms)])

    # 1 where z > -radius, else 0 (2^100 (z + radius) is below 0 or above 1 for every other
    # float32 z). This select as a multiply-add and a clamp costs a fraction of a comparison and
    # torch.where on the CPU, measured on torch 1.13.
    gain = 2.0 ** 100
    in_series = torch.clamp(torch.add(z.new_full([], radius * gain), z, alpha=gain), 0.0, 1.0)
    return torch.addcmul(closed, in_series, series - closed)
