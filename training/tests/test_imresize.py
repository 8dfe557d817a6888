import numpy as np
import pytest
import torch

from fssm.imresize import (
    contributions,
    downscale,
    imresize,
    modcrop,
    output_length,
    round_to_uint8_range,
    to_uint8,
    upscale,
    weight_matrix,
)


@pytest.mark.parametrize("factor", [2, 3, 4])
def test_constant_image_stays_constant(factor):
    image = np.full((3, 24, 36), 87.0)

    assert np.allclose(downscale(image, factor), 87.0, atol=1e-12)
    assert np.allclose(upscale(image, factor), 87.0, atol=1e-12)


def test_downscale_matches_hand_computed_row():
    # Shrinking 4 pixels to 2: output pixel 1 samples u = 1/0.5 + 0.5*(1 - 2) = 1.5.
    # The widened kernel 0.5*cubic(0.5*d) at distances 0.5, 1.5, 2.5, 3.5 gives
    # 0.4335938, 0.1132813, -0.0351563, -0.0117188 on both sides. Mirroring folds
    # taps 0, -1, -2 onto pixels 1, 2, 3, so the weights for pixels 1..4 are
    # 0.546875, 0.3984375, 0.1015625, -0.046875; pixel 2 of the output is the mirror.
    row = np.array([[1.0, 2.0, 3.0, 4.0]])

    result = imresize(row, scale=(1.0, 0.5))

    assert result.shape == (1, 2)
    assert result[0, 0] == pytest.approx(1.4609375, abs=1e-12)
    assert result[0, 1] == pytest.approx(3.5390625, abs=1e-12)


def test_weight_matrix_matches_hand_computed_rows():
    shrink = weight_matrix(4, 2, 0.5)
    enlarge = weight_matrix(4, 8, 2.0)

    assert np.allclose(shrink[0], [0.546875, 0.3984375, 0.1015625, -0.046875])
    assert np.allclose(shrink[1], shrink[0][::-1])
    # Output pixel 2 of an enlargement samples u = 2/2 + 0.25 = 1.25: cubic at
    # 0.25, 0.75, 1.75 and 1.25, the last one mirrored from pixel 0 onto pixel 1.
    assert np.allclose(enlarge[1], [0.8671875 - 0.0703125, 0.2265625, -0.0234375, 0.0])


@pytest.mark.parametrize("in_length,out_length,scale", [(4, 2, 0.5), (12, 4, 1 / 3), (9, 36, 4.0), (7, 14, 2.0)])
def test_weight_rows_sum_to_one(in_length, out_length, scale):
    matrix = weight_matrix(in_length, out_length, scale)

    assert np.allclose(matrix.sum(axis=1), 1.0, atol=1e-12)


def test_contributions_drop_all_zero_taps():
    weights, source = contributions(100, 200, 2.0)

    assert weights.shape == source.shape
    assert np.all(np.any(weights != 0.0, axis=0))
    assert source.min() >= 0
    assert source.max() < 100


@pytest.mark.parametrize("factor", [2, 3, 4])
def test_upscale_reproduces_linear_ramp_inside(factor):
    columns = 20
    ramp = np.tile(np.arange(columns, dtype=np.float64), (8, 1))

    result = upscale(ramp, factor)

    # Output column x (1-based) samples u = x/s + 0.5*(1 - 1/s), i.e. the value u - 1.
    x = np.arange(1, columns * factor + 1)
    expected = x / factor + 0.5 * (1 - 1 / factor) - 1
    interior = slice(3 * factor, (columns - 3) * factor)
    assert np.allclose(result[4, interior], expected[interior], atol=1e-9)


@pytest.mark.parametrize("factor", [2, 3, 4])
def test_downscale_reproduces_linear_ramp_inside(factor):
    columns = 24 * factor
    ramp = np.tile(np.arange(columns, dtype=np.float64), (8 * factor, 1))

    result = downscale(ramp, factor)

    # The mean of each block of `factor` input columns, by symmetry of the kernel.
    expected = np.arange(columns // factor) * factor + (factor - 1) / 2
    assert np.allclose(result[4, 3:-3], expected[3:-3], atol=1e-9)


def test_shapes_of_numpy_and_batched_tensors():
    assert upscale(np.zeros((3, 5, 7)), 2).shape == (3, 10, 14)
    assert downscale(np.zeros((2, 3, 12, 9)), 3).shape == (2, 3, 4, 3)
    assert imresize(np.zeros((10, 10)), output_shape=(4, 6)).shape == (4, 6)
    assert tuple(upscale(torch.zeros(1, 3, 4, 6), 4).shape) == (1, 3, 16, 24)


def test_output_length_absorbs_rounding_of_one_third():
    assert output_length(480, 1 / 3) == 160
    assert output_length(318, 1 / 3) == 106
    assert output_length(5, 0.5) == 3


def test_torch_matches_numpy_and_keeps_dtype():
    generator = np.random.default_rng(0)
    image = generator.uniform(0, 255, size=(3, 30, 21))

    expected = downscale(image, 3)
    result64 = downscale(torch.from_numpy(image), 3)
    result32 = downscale(torch.from_numpy(image).float(), 3)

    assert result64.dtype == torch.float64
    assert result32.dtype == torch.float32
    assert np.allclose(result64.numpy(), expected, atol=1e-10)
    assert np.allclose(result32.numpy(), expected, atol=1e-3)


def test_non_integer_scale_factor_rejected():
    with pytest.raises(ValueError):
        upscale(np.zeros((4, 4)), 1.5)
    with pytest.raises(ValueError):
        imresize(np.zeros((4, 4)))


def test_modcrop_cuts_bottom_right():
    image = np.arange(7 * 11).reshape(7, 11)

    cropped = modcrop(image, 3)

    assert cropped.shape == (6, 9)
    assert np.array_equal(cropped, image[:6, :9])


def test_rounding_sends_ties_up_and_clamps():
    values = np.array([-3.0, 0.5, 1.5, 2.5, 254.49, 300.0])

    assert np.array_equal(round_to_uint8_range(values), [0.0, 1.0, 2.0, 3.0, 254.0, 255.0])
    assert np.array_equal(to_uint8(values), np.array([0, 1, 2, 3, 254, 255], dtype=np.uint8))
    assert torch.equal(round_to_uint8_range(torch.tensor(values)), torch.tensor([0.0, 1.0, 2.0, 3.0, 254.0, 255.0], dtype=torch.float64))
    assert np.allclose(round_to_uint8_range(np.array([0.5 / 255, 2.0]), peak=1.0), [1 / 255, 1.0])


def test_gathered_taps_match_dense_weight_matrices():
    # The dense matrices are the slow, obviously right form of the same resize.
    image = np.random.default_rng(2).uniform(0, 255, size=(3, 17, 23))

    for scale in (0.5, 1 / 3, 0.25, 2.0, 3.0, 4.0):
        rows = weight_matrix(17, output_length(17, scale), scale)
        columns = weight_matrix(23, output_length(23, scale), scale)
        expected = rows @ image @ columns.T

        assert np.allclose(imresize(image, scale), expected, atol=1e-9), scale
