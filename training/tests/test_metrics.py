import math

import numpy as np
import pytest

from fssm.metrics import crop_border, gaussian_window, luma_psnr_ssim, psnr, rgb_to_luma, ssim


def random_image(shape, seed=0):
    return np.random.default_rng(seed).uniform(0, 255, size=shape)


def test_psnr_of_identical_images_is_inf():
    image = random_image((20, 20))

    assert psnr(image, image.copy()) == math.inf


def test_psnr_hand_case():
    reference = np.zeros((4, 4))
    estimate = reference.copy()
    estimate[0, :] = 2.0  # squared error 4 on 4 of 16 pixels: MSE = 1

    assert psnr(reference, estimate) == pytest.approx(10 * math.log10(255**2), abs=1e-12)
    assert psnr(reference, estimate) == pytest.approx(48.1308036, abs=1e-6)


def test_ssim_of_identical_images_is_one():
    image = random_image((40, 50))

    assert ssim(image, image.copy()) == pytest.approx(1.0, abs=1e-12)


def test_ssim_of_constant_images_hand_case():
    # Constant 11x11 images leave one window with zero variances, so SSIM is
    # the luminance term (2*100*110 + C1) / (100^2 + 110^2 + C1), C1 = (0.01*255)^2.
    c1 = (0.01 * 255) ** 2
    expected = (2 * 100 * 110 + c1) / (100**2 + 110**2 + c1)

    assert ssim(np.full((11, 11), 100.0), np.full((11, 11), 110.0)) == pytest.approx(expected, abs=1e-12)


def test_ssim_drops_with_noise():
    image = random_image((64, 64))
    noise = np.random.default_rng(1).normal(0, 1, size=image.shape)

    slightly_noisy = ssim(image, image + 10 * noise)
    very_noisy = ssim(image, image + 40 * noise)

    assert slightly_noisy < 0.999
    assert very_noisy < slightly_noisy


def test_gaussian_window_matches_fspecial():
    window = gaussian_window()

    assert window.shape == (11, 11)
    assert window.sum() == pytest.approx(1.0, abs=1e-12)
    # fspecial('gaussian', 11, 1.5) has 0.0708 at its centre.
    assert window[5, 5] == pytest.approx(0.0708, abs=1e-4)


def test_luma_range_and_rounding():
    black = np.zeros((3, 2, 2))
    white = np.full((3, 2, 2), 255.0)
    red = np.zeros((3, 1, 1))
    red[0] = 255.0

    assert np.all(rgb_to_luma(black) == 16.0)
    assert np.allclose(rgb_to_luma(white), 235.0)
    # 16 + 65.481 = 81.481 before rounding.
    assert rgb_to_luma(red, round_to_levels=False)[0, 0] == pytest.approx(81.481)
    assert rgb_to_luma(red)[0, 0] == 81.0


def test_crop_border_and_size_checks():
    image = np.zeros((3, 20, 30))

    assert crop_border(image, 4).shape == (3, 12, 22)
    with pytest.raises(ValueError):
        crop_border(image, 10)
    with pytest.raises(ValueError):
        ssim(np.zeros((10, 30)), np.zeros((10, 30)))
    with pytest.raises(ValueError):
        psnr(np.zeros((4, 4)), np.zeros((4, 5)))


def test_luma_psnr_ssim_ignores_border():
    reference = random_image((3, 40, 40))
    estimate = reference.copy()
    estimate[:, :2, :] = 0.0

    image_psnr, image_ssim = luma_psnr_ssim(reference, estimate, border=2)

    assert image_psnr == math.inf
    assert image_ssim == pytest.approx(1.0)


def test_ssim_matches_direct_window_loop():
    # A slow reference: the 11x11 window applied at every 'valid' position.
    reference = random_image((16, 18), seed=3)
    estimate = reference + np.random.default_rng(4).normal(0, 15, size=reference.shape)
    window = gaussian_window()
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    values = []
    for top in range(16 - 10):
        for left in range(18 - 10):
            x = reference[top : top + 11, left : left + 11]
            y = estimate[top : top + 11, left : left + 11]
            mu_x, mu_y = (window * x).sum(), (window * y).sum()
            var_x = (window * x * x).sum() - mu_x**2
            var_y = (window * y * y).sum() - mu_y**2
            cov = (window * x * y).sum() - mu_x * mu_y
            values.append(((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2)))

    assert ssim(reference, estimate) == pytest.approx(np.mean(values), abs=1e-12)
