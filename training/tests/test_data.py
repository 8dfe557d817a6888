from pathlib import Path

import numpy as np
import pytest
import torch

from fssm.data import DEFAULT_TRAIN_DIR, PatchSpec, TrainingPatches, augment, find_training_images
from fssm.imresize import downscale, to_uint8

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
T91 = SHARED_DATA / "train" / "T91"


@pytest.fixture(scope="module")
def patches():
    assert T91.is_dir(), f"training images not found at {T91}; the tests read them from ../shared/data"
    return TrainingPatches(scale=3, patch_lr=16, root=T91)


def test_default_folder_is_shared_training_set():
    assert DEFAULT_TRAIN_DIR.resolve() == (SHARED_DATA / "train").resolve()


def test_batch_shapes_types_and_range(patches):
    lr, hr = patches.sample_batch(step=0, batch_size=4, seed=7)

    assert lr.shape == (4, 3, 16, 16)
    assert hr.shape == (4, 3, 48, 48)
    assert lr.dtype == torch.float32
    assert hr.dtype == torch.float32
    assert float(lr.min()) >= 0.0
    assert float(lr.max()) <= 1.0
    assert float(hr.min()) >= 0.0
    assert float(hr.max()) <= 1.0


def test_patches_are_crops_of_whole_image_pair(patches):
    spec = PatchSpec(image=5, top=7, left=11, flip=False, rotations=0)
    whole_lr, whole_hr = patches.pair(spec.image)

    lr, hr = patches.crop(spec)

    assert np.array_equal(lr.numpy() * 255.0, whole_lr[:, 7:23, 11:27].astype(np.float32))
    assert np.array_equal(hr.numpy() * 255.0, whole_hr[:, 21:69, 33:81].astype(np.float32))


def test_whole_lr_is_rounded_bicubic_of_hr(patches):
    whole_lr, whole_hr = patches.pair(3)

    assert whole_lr.dtype == np.uint8
    assert whole_hr.shape[1] == 3 * whole_lr.shape[1]
    assert whole_hr.shape[2] == 3 * whole_lr.shape[2]
    assert np.array_equal(whole_lr, to_uint8(downscale(whole_hr.astype(np.float64), 3)))


@pytest.mark.parametrize("flip", [False, True])
@pytest.mark.parametrize("rotations", [0, 1, 2, 3])
def test_augmentation_keeps_whole_pair_aligned(patches, flip, rotations):
    whole_lr, whole_hr = patches.pair(0)

    augmented_lr = augment(whole_lr, flip, rotations).astype(np.int16)
    lr_of_augmented_hr = to_uint8(downscale(augment(whole_hr, flip, rotations).astype(np.float64), 3)).astype(np.int16)

    # Bicubic commutes with flips and quarter turns; only ties in the 8-bit
    # rounding may land on the other side.
    assert np.abs(lr_of_augmented_hr - augmented_lr).max() <= 1


@pytest.mark.parametrize("step", range(6))
def test_augmented_patches_stay_aligned(patches, step):
    # The LR patch must equal the downscaled HR patch away from its edges,
    # where the bicubic of the patch alone reads mirrored padding instead of the image.
    margin = 3
    lr, hr = patches.sample_batch(step=step, batch_size=4, seed=11)

    lr_levels = np.round(lr.numpy().astype(np.float64) * 255.0)
    lr_of_hr = to_uint8(downscale(np.round(hr.numpy().astype(np.float64) * 255.0), 3)).astype(np.float64)

    inner = (slice(None), slice(None), slice(margin, -margin), slice(margin, -margin))
    assert np.abs(lr_of_hr[inner] - lr_levels[inner]).max() <= 1.0


def test_sample_batch_is_deterministic(patches):
    first_lr, first_hr = patches.sample_batch(step=42, batch_size=8, seed=3)
    fresh = TrainingPatches(scale=3, patch_lr=16, root=T91)

    again_lr, again_hr = fresh.sample_batch(step=42, batch_size=8, seed=3)

    assert torch.equal(first_lr, again_lr)
    assert torch.equal(first_hr, again_hr)


def test_other_step_or_seed_gives_other_batch(patches):
    reference = patches.draw_specs(step=42, batch_size=8, seed=3)

    assert patches.draw_specs(step=43, batch_size=8, seed=3) != reference
    assert patches.draw_specs(step=42, batch_size=8, seed=4) != reference
    assert not torch.equal(patches.sample_batch(43, 8, 3)[0], patches.sample_batch(42, 8, 3)[0])


def test_batches_resume_at_step(patches):
    stream = patches.batches(batch_size=2, seed=5, start_step=10)

    step, lr, hr = next(stream)

    assert step == 10
    assert torch.equal(lr, patches.sample_batch(10, 2, 5)[0])
    assert torch.equal(hr, patches.sample_batch(10, 2, 5)[1])


def test_draws_use_all_augmentations(patches):
    specs = patches.draw_specs(step=0, batch_size=200, seed=1)

    assert {spec.rotations for spec in specs} == {0, 1, 2, 3}
    assert {spec.flip for spec in specs} == {False, True}
    assert len({spec.image for spec in specs}) > 50


def test_benchmark_folders_rejected():
    with pytest.raises(ValueError, match="benchmark"):
        TrainingPatches(scale=2, patch_lr=16, root=SHARED_DATA / "benchmarks" / "Set5")
    # A root above the benchmarks folder would pick up its images too.
    with pytest.raises(ValueError, match="benchmark"):
        find_training_images(SHARED_DATA)


def test_small_images_skipped_and_missing_folder_reported(tmp_path):
    with pytest.raises(ValueError, match="at least"):
        TrainingPatches(scale=4, patch_lr=200, root=T91)
    with pytest.raises(FileNotFoundError):
        TrainingPatches(scale=2, patch_lr=16, root=tmp_path / "absent")
