"""MATLAB-compatible bicubic resizing, the resampling that defines SR benchmarks.

The super-resolution literature makes its low-resolution inputs and its
bicubic baseline with MATLAB's ``imresize(..., 'bicubic')``. Its output
differs from PIL, OpenCV and ``torch.nn.functional.interpolate`` by tenths of
a dB, so evaluation and training data use this module instead. It follows
MATLAB's documented algorithm:

* cubic convolution kernel with a = -0.5 (Keys);
* when shrinking by a factor s < 1, the kernel is stretched to ``kernel(s*x)*s``
  so that it also low-pass filters (antialiasing);
* output pixel x (1-based) samples the input at ``u = x/s + 0.5*(1 - 1/s)``;
* taps outside the image are mirrored with the edge pixel repeated
  (symmetric padding), and each row of weights is normalised to sum 1.

Each axis is resized as a weighted sum of a few gathered, shifted copies of
the image (4 to 6 taps when enlarging, about 4*factor when shrinking).
Arrays may be numpy arrays or torch tensors of shape (..., H, W); the last
two axes are resized.
"""

from __future__ import annotations

import math
from typing import Sequence, Tuple, Union

import numpy as np
import torch

Image = Union[np.ndarray, torch.Tensor]

# Support of the unscaled cubic kernel: it is non-zero on (-2, 2).
_KERNEL_WIDTH = 4.0


def cubic(x: np.ndarray) -> np.ndarray:
    """Evaluate the Keys cubic convolution kernel with a = -0.5."""
    absx = np.abs(x)
    absx2 = absx * absx
    absx3 = absx2 * absx
    inner = (1.5 * absx3 - 2.5 * absx2 + 1.0) * (absx <= 1.0)
    outer = (-0.5 * absx3 + 2.5 * absx2 - 4.0 * absx + 2.0) * ((absx > 1.0) & (absx <= 2.0))
    return inner + outer


def contributions(in_length: int, out_length: int, scale: float, antialiasing: bool = True):
    """Return the taps that resize one axis: ``(weights, source)``, both (out_length, taps).

    Output pixel i is ``sum_j weights[i, j] * input[source[i, j]]`` with 0-based
    ``source``. ``scale`` is out/in; MATLAB uses the requested factor here, not
    the ratio of the rounded lengths, and so does this function.
    """
    if in_length < 1 or out_length < 1:
        raise ValueError(f"axis lengths must be positive, got in={in_length}, out={out_length}")
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale}")

    shrink = scale < 1.0 and antialiasing
    kernel_width = _KERNEL_WIDTH / scale if shrink else _KERNEL_WIDTH

    # Sample positions in 1-based input coordinates, as MATLAB defines them.
    x = np.arange(1, out_length + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1.0 - 1.0 / scale)

    # Every tap that can touch the kernel support, one row per output pixel.
    left = np.floor(u - kernel_width / 2.0)
    taps = int(math.ceil(kernel_width)) + 2
    indices = left[:, None] + np.arange(taps, dtype=np.float64)[None, :]

    distance = u[:, None] - indices
    if shrink:
        weights = scale * cubic(scale * distance)
    else:
        weights = cubic(distance)
    weights /= weights.sum(axis=1, keepdims=True)

    # Symmetric padding: index sequence 1..n, n..1 repeated, edge pixel included twice.
    period = 2 * in_length
    wrapped = np.mod(indices.astype(np.int64) - 1, period)
    source = np.where(wrapped < in_length, wrapped, period - 1 - wrapped)

    # Tap columns that are zero for every output pixel only cost time.
    used = np.any(weights != 0.0, axis=0)
    return weights[:, used], source[:, used]


def weight_matrix(in_length: int, out_length: int, scale: float, antialiasing: bool = True) -> np.ndarray:
    """Build the dense (out_length, in_length) float64 matrix that resizes one axis."""
    weights, source = contributions(in_length, out_length, scale, antialiasing)
    matrix = np.zeros((out_length, in_length), dtype=np.float64)
    rows = np.broadcast_to(np.arange(out_length)[:, None], source.shape)
    # Mirrored taps can land on the same input pixel, so accumulate.
    np.add.at(matrix, (rows, source), weights)
    return matrix


def output_length(in_length: int, scale: float) -> int:
    """Return MATLAB's output length ``ceil(scale * in_length)``.

    A relative tolerance of 1e-9 absorbs the rounding error of factors such as
    1/3, so that 480 * (1/3) gives 160 and not 161.
    """
    product = scale * in_length
    nearest = round(product)
    if abs(product - nearest) <= 1e-9 * max(1.0, abs(product)):
        return int(nearest)
    return int(math.ceil(product))


def imresize(
    image: Image,
    scale: Union[float, Tuple[float, float], None] = None,
    output_shape: Union[Sequence[int], None] = None,
    antialiasing: bool = True,
) -> Image:
    """Resize the last two axes of ``image`` like MATLAB's bicubic imresize.

    Give either ``scale`` (a factor for both axes, or (scale_h, scale_w)) or
    ``output_shape`` (H, W); with only ``output_shape``, each factor is the
    ratio of lengths. The result is float64 for numpy input and keeps the
    dtype and device of a floating-point tensor. No rounding or clamping is
    done: call :func:`round_to_uint8_range` for 8-bit semantics.
    """
    if image.ndim < 2:
        raise ValueError(f"image must have at least 2 dimensions (..., H, W), got shape {tuple(image.shape)}")
    in_h, in_w = int(image.shape[-2]), int(image.shape[-1])
    scale_h, scale_w, out_h, out_w = _resolve_geometry(in_h, in_w, scale, output_shape)

    taps_h = contributions(in_h, out_h, scale_h, antialiasing)
    taps_w = contributions(in_w, out_w, scale_w, antialiasing)

    if isinstance(image, torch.Tensor):
        dtype = image.dtype if image.is_floating_point() else torch.float64
        data = image.to(dtype)
    else:
        data = np.asarray(image, dtype=np.float64)

    # MATLAB resizes the axis with the smaller factor first. The order only
    # changes floating-point rounding, but matching it costs nothing.
    if scale_h <= scale_w:
        return _resize_axis(_resize_axis(data, taps_h, -2), taps_w, -1)
    return _resize_axis(_resize_axis(data, taps_w, -1), taps_h, -2)


def _resize_axis(data: Image, taps, axis: int) -> Image:
    """Resize one axis as a weighted sum of gathered slices, one slice per tap.

    This costs O(taps) per output pixel, where a dense weight matrix would
    cost O(input length).
    """
    weights, source = taps
    # Shape that broadcasts a per-output-pixel weight along ``axis``.
    weight_shape = (-1, 1) if axis == -2 else (-1,)
    result = None
    for tap in range(weights.shape[1]):
        if isinstance(data, torch.Tensor):
            index = torch.from_numpy(source[:, tap]).to(data.device)
            column = torch.from_numpy(weights[:, tap]).to(device=data.device, dtype=data.dtype)
            term = torch.index_select(data, data.dim() + axis, index) * column.reshape(weight_shape)
        else:
            term = np.take(data, source[:, tap], axis=axis) * weights[:, tap].reshape(weight_shape)
        result = term if result is None else result + term
    return result


def _resolve_geometry(in_h, in_w, scale, output_shape):
    if scale is None and output_shape is None:
        raise ValueError("give either scale or output_shape")

    if scale is not None:
        if isinstance(scale, (tuple, list)):
            scale_h, scale_w = float(scale[0]), float(scale[1])
        else:
            scale_h = scale_w = float(scale)
        if scale_h <= 0 or scale_w <= 0:
            raise ValueError(f"scale must be positive, got {scale}")

    if output_shape is not None:
        out_h, out_w = int(output_shape[0]), int(output_shape[1])
        if out_h < 1 or out_w < 1:
            raise ValueError(f"output_shape must be positive, got {tuple(output_shape)}")
        if scale is None:
            scale_h, scale_w = out_h / in_h, out_w / in_w
    else:
        out_h, out_w = output_length(in_h, scale_h), output_length(in_w, scale_w)

    return scale_h, scale_w, out_h, out_w


def downscale(image: Image, factor: int) -> Image:
    """Shrink the last two axes by an integer ``factor`` with antialiasing."""
    _check_factor(factor)
    return imresize(image, scale=1.0 / factor)


def upscale(image: Image, factor: int) -> Image:
    """Enlarge the last two axes by an integer ``factor``."""
    _check_factor(factor)
    return imresize(image, scale=float(factor))


def _check_factor(factor: int) -> None:
    if int(factor) != factor or factor < 1:
        raise ValueError(f"scale factor must be a positive integer, got {factor}")


def modcrop(image: Image, scale: int) -> Image:
    """Crop the bottom and right edges so that H and W are multiples of ``scale``."""
    _check_factor(scale)
    height, width = int(image.shape[-2]), int(image.shape[-1])
    height -= height % scale
    width -= width % scale
    if height == 0 or width == 0:
        raise ValueError(f"image of shape {tuple(image.shape)} is smaller than the scale {scale}")
    return image[..., :height, :width]


def round_to_uint8_range(image: Image, peak: float = 255.0) -> Image:
    """Clamp to [0, peak] and round to the nearest of 256 levels, ties up.

    Values are in units where ``peak`` is white (255 for 0-255 images, 1 for
    [0, 1] images) and stay in that unit. Ties round upwards, as MATLAB's
    conversion to uint8 does for non-negative values. The ``round`` of numpy
    and torch sends ties to even, so it would differ on exact .5 values.
    """
    if isinstance(image, torch.Tensor):
        levels = torch.clamp(image * (255.0 / peak), 0.0, 255.0)
        return torch.floor(levels + 0.5) * (peak / 255.0)
    levels = np.clip(np.asarray(image, dtype=np.float64) * (255.0 / peak), 0.0, 255.0)
    return np.floor(levels + 0.5) * (peak / 255.0)


def to_uint8(image: np.ndarray, peak: float = 255.0) -> np.ndarray:
    """Round a float array to 8-bit like :func:`round_to_uint8_range` and cast it to uint8."""
    levels = np.clip(np.asarray(image, dtype=np.float64) * (255.0 / peak), 0.0, 255.0)
    return np.floor(levels + 0.5).astype(np.uint8)
