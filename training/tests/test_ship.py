"""Shipping a checkpoint: export, measure, replace the bundled model only when it is better."""
import json
from pathlib import Path

import pytest
import torch

from fssm.ship import main, ship
from fssm.train import TrainConfig, Trainer

TINY = {"embed_dim": 12, "depths": (1,), "d_state": 4}


@pytest.fixture()
def checkpoint(tmp_path) -> Path:
    """A x2 checkpoint of a reduced network after one training step."""
    trainer = Trainer(TrainConfig(batch=2, patch_lr=8, iterations=1, validate_every=0, model_overrides=dict(TINY)),
                      tmp_path / "run", torch.device("cpu"))
    trainer.train_step()
    path = tmp_path / "run" / "best.pt"
    trainer.save(path)
    return path


@pytest.fixture()
def folders(tmp_path):
    models, checkpoints = tmp_path / "models", tmp_path / "checkpoints"
    models.mkdir()
    checkpoints.mkdir()
    return models, checkpoints


def write_bundled_model(models: Path, set_name: str, psnr: float) -> None:
    (models / "fssm-x2.pt").write_bytes(b"bundled model")
    card = {"name": "fssm-x2", "scale": 2, "evaluation": {"sets": [{"set": set_name, "psnr": psnr}]}}
    (models / "fssm-x2.json").write_text(json.dumps(card))


def test_ship_installs_first_model(checkpoint, folders, noise_set):
    models, checkpoints = folders
    validation = noise_set("Tiny")

    assert ship(checkpoint, [validation], models, checkpoints, not_measured="B100: not run")

    card = json.loads((models / "fssm-x2.json").read_text())
    assert card["name"] == "fssm-x2"
    assert card["scale"] == 2
    assert card["evaluation"]["sets"][0]["set"] == "Tiny"
    assert "bicubic_psnr" in card["evaluation"]["sets"][0]
    assert card["evaluation"]["not_measured"] == "B100: not run"
    scripted = torch.jit.load(str(models / "fssm-x2.pt"))
    assert scripted(torch.rand(1, 3, 5, 7)).shape == (1, 3, 10, 14)
    assert (checkpoints / "fssm-x2.pt").read_bytes() == checkpoint.read_bytes()
    assert sorted(path.name for path in models.iterdir()) == ["fssm-x2.json", "fssm-x2.pt"]


def test_ship_keeps_better_bundled_model(checkpoint, folders, noise_set):
    models, checkpoints = folders
    validation = noise_set("Tiny")
    write_bundled_model(models, "Tiny", psnr=99.0)

    assert not ship(checkpoint, [validation], models, checkpoints)

    assert (models / "fssm-x2.pt").read_bytes() == b"bundled model"
    assert json.loads((models / "fssm-x2.json").read_text())["evaluation"]["sets"][0]["psnr"] == 99.0
    assert list(checkpoints.iterdir()) == []
    assert sorted(path.name for path in models.iterdir()) == ["fssm-x2.json", "fssm-x2.pt"]


def test_force_replaces_better_model(checkpoint, folders, noise_set):
    models, checkpoints = folders
    validation = noise_set("Tiny")
    write_bundled_model(models, "Tiny", psnr=99.0)

    assert ship(checkpoint, [validation], models, checkpoints, force=True, workers=2)

    assert (models / "fssm-x2.pt").read_bytes() != b"bundled model"
    assert json.loads((models / "fssm-x2.json").read_text())["evaluation"]["sets"][0]["images"] == 1
    assert (checkpoints / "fssm-x2.pt").exists()


def test_ship_keeps_model_without_comparable_figure(checkpoint, folders, noise_set):
    models, checkpoints = folders
    validation = noise_set("Tiny")
    write_bundled_model(models, "Other", psnr=1.0)

    assert not ship(checkpoint, [validation], models, checkpoints)

    assert (models / "fssm-x2.pt").read_bytes() == b"bundled model"
    assert list(checkpoints.iterdir()) == []


def test_ship_from_checkpoints_folder_itself(checkpoint, folders, noise_set):
    models, checkpoints = folders
    resumed = checkpoints / "fssm-x2.pt"
    resumed.write_bytes(checkpoint.read_bytes())

    assert ship(resumed, [noise_set("Tiny")], models, checkpoints)

    assert resumed.read_bytes() == checkpoint.read_bytes()
    assert sorted(path.name for path in checkpoints.iterdir()) == ["fssm-x2.pt"]
    assert sorted(path.name for path in models.iterdir()) == ["fssm-x2.json", "fssm-x2.pt"]


def test_cli_missing_checkpoint(tmp_path, noise_set):
    status = main([str(tmp_path / "absent.pt"), str(noise_set("Tiny")), "--models-dir", str(tmp_path)])

    assert status == 2


def test_cli_rejects_zero_workers(checkpoint, folders, noise_set):
    models, checkpoints = folders
    status = main([str(checkpoint), str(noise_set("Tiny")), "--models-dir", str(models), "--workers", "0"])

    assert status == 2
    assert list(models.iterdir()) == []
