"""Training loop: checkpoints, exact resume, x2 -> x4 initialisation."""
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from fssm.train import TrainConfig, Trainer, main

# A network small enough to train a few steps in seconds; the loop does not depend on size.
TINY = {"embed_dim": 30, "depths": (1, 1), "d_state": 4}


@pytest.fixture()
def validation_dir(noise_set) -> Path:
    """One generated 24 x 24 RGB image, so validation runs fast."""
    return noise_set("validation")


def tiny_config(validation_dir: Path, iterations: int = 4, scale: int = 2) -> TrainConfig:
    return TrainConfig(scale=scale, iterations=iterations, batch=2, patch_lr=8, validate_every=100,
                       checkpoint_every=100, log_every=1, validation_dir=str(validation_dir),
                       model_overrides=dict(TINY))


def test_resume_continues_exactly(tmp_path, validation_dir):
    straight = Trainer(tiny_config(validation_dir), tmp_path / "straight", torch.device("cpu"))
    straight.run()

    first = Trainer(tiny_config(validation_dir), tmp_path / "split", torch.device("cpu"))
    first.train_step()
    first.train_step()
    first.save(tmp_path / "split" / "last.pt")
    second = Trainer(tiny_config(validation_dir), tmp_path / "split", torch.device("cpu"))
    second.load(tmp_path / "split" / "last.pt")
    second.run()

    assert second.step == straight.step == 4
    for name, value in straight.network.state_dict().items():
        assert torch.equal(value, second.network.state_dict()[name]), name
    assert second.scheduler.get_last_lr() == straight.scheduler.get_last_lr()


def test_run_writes_checkpoints_and_validation(tmp_path, validation_dir):
    trainer = Trainer(tiny_config(validation_dir, iterations=3), tmp_path, torch.device("cpu"))
    trainer.run()

    assert (tmp_path / "last.pt").exists()
    assert (tmp_path / "best.pt").exists()
    saved = torch.load(tmp_path / "last.pt")
    assert saved["step"] == 3
    assert saved["record"]["iterations"] == 3
    assert saved["history"][-1]["set"] == "validation"
    assert np.isfinite(saved["history"][-1]["psnr"])


def test_learning_rate_halves_at_milestones(tmp_path, validation_dir):
    config = tiny_config(validation_dir, iterations=20)
    assert config.milestones() == [10, 16, 18, 19]
    trainer = Trainer(config, tmp_path, torch.device("cpu"))
    for _ in range(10):
        trainer.train_step()
    assert trainer.scheduler.get_last_lr()[0] == pytest.approx(1e-4)



def test_reschedule_follows_shorter_schedule(tmp_path, validation_dir):
    # A run planned for 40 steps and stopped at 12 is shortened to 20: from then on its
    # learning rate is the one a 20-step run has (halved at 10, 16, 18 and 19).
    long = Trainer(tiny_config(validation_dir, iterations=40), tmp_path / "long", torch.device("cpu"))
    for _ in range(12):
        long.train_step()
    long.save(tmp_path / "long" / "last.pt")
    planned = Trainer(tiny_config(validation_dir, iterations=20), tmp_path / "planned", torch.device("cpu"))
    for _ in range(12):
        planned.train_step()

    resumed = Trainer(tiny_config(validation_dir, iterations=40), tmp_path / "long", torch.device("cpu"))
    resumed.load(tmp_path / "long" / "last.pt")
    resumed.reschedule(20)
    assert resumed.optimizer.param_groups[0]["lr"] == pytest.approx(1e-4)
    for _ in range(8):
        resumed.train_step()
        planned.train_step()
        assert resumed.scheduler.get_last_lr() == pytest.approx(planned.scheduler.get_last_lr())
    assert resumed.scheduler.get_last_lr()[0] == pytest.approx(2e-4 / 16)
    assert resumed.record()["schedule"] == ("halved at [10, 16, 18, 19] of 20 (replanned at step 12"
                                            " from 40 iterations, learning rate 2.00e-04 to 1.00e-04)")

    with pytest.raises(ValueError, match="already reached step 20"):
        resumed.reschedule(15)


def test_cli_resume_keeps_or_changes_length(tmp_path, validation_dir):
    first = Trainer(tiny_config(validation_dir, iterations=40), tmp_path / "first", torch.device("cpu"))
    first.train_step()
    first.save(tmp_path / "first" / "last.pt")

    main(["--resume", str(tmp_path / "first" / "last.pt"), "--out", str(tmp_path / "same"), "--max-minutes", "0"])
    assert torch.load(tmp_path / "same" / "last.pt")["train_config"]["iterations"] == 40

    main(["--resume", str(tmp_path / "first" / "last.pt"), "--iterations", "3", "--out", str(tmp_path / "short")])
    saved = torch.load(tmp_path / "short" / "last.pt")
    assert saved["step"] == 3
    assert saved["train_config"]["iterations"] == 3
    assert saved["replans"] == ["replanned at step 1 from 40 iterations, learning rate 2.00e-04 to 1.00e-04"]

def test_x4_starts_from_x2_body(tmp_path, validation_dir):
    x2 = Trainer(tiny_config(validation_dir, iterations=1), tmp_path / "x2", torch.device("cpu"))
    x2.run()
    x4 = Trainer(tiny_config(validation_dir, scale=4), tmp_path / "x4", torch.device("cpu"))
    x4.initialise_from(tmp_path / "x2" / "best.pt")

    x2_weights = x2.network.state_dict()
    for name, value in x4.network.state_dict().items():
        if name.startswith("upsample."):
            continue
        assert torch.equal(value, x2_weights[name]), name


def test_resume_keeps_starting_network(tmp_path, validation_dir):
    x2 = Trainer(tiny_config(validation_dir, iterations=1), tmp_path / "x2", torch.device("cpu"))
    x2.run()
    start = tmp_path / "x2" / "last.pt"
    x4 = Trainer(tiny_config(validation_dir, scale=4), tmp_path / "x4", torch.device("cpu"))
    x4.initialise_from(start)
    x4.train_step()
    x4.save(tmp_path / "x4" / "last.pt")

    resumed = Trainer(tiny_config(validation_dir, scale=4), tmp_path / "x4", torch.device("cpu"))
    resumed.load(tmp_path / "x4" / "last.pt")

    assert resumed.record()["initialised_from"] == f"{start} (x2 network at step 1)"


def test_same_scale_start_copies_every_weight(tmp_path, validation_dir):
    first = Trainer(tiny_config(validation_dir, iterations=1), tmp_path / "first", torch.device("cpu"))
    first.run()
    config = tiny_config(validation_dir)
    config.batch = 3
    second = Trainer(config, tmp_path / "second", torch.device("cpu"))
    second.initialise_from(tmp_path / "first" / "last.pt")

    first_weights = first.network.state_dict()
    for name, value in second.network.state_dict().items():
        assert torch.equal(value, first_weights[name]), name
    assert second.step == 0


def test_cli_rejects_benchmark_training_folder(tmp_path):
    benchmark = tmp_path / "benchmarks" / "Set5"
    benchmark.mkdir(parents=True)
    with pytest.raises(ValueError, match="benchmark"):
        main(["--scale", "2", "--iterations", "1", "--train-dir", str(benchmark), "--out", str(tmp_path / "run")])


def test_cli_resume_takes_new_reporting_settings(tmp_path, validation_dir):
    first = Trainer(tiny_config(validation_dir, iterations=40), tmp_path / "first", torch.device("cpu"))
    first.train_step()
    first.save(tmp_path / "first" / "last.pt")
    moved_validation = tmp_path / "moved" / "validation"
    shutil.copytree(validation_dir, moved_validation)

    main(["--resume", str(tmp_path / "first" / "last.pt"), "--out", str(tmp_path / "second"), "--max-minutes", "0",
          "--validate-every", "0", "--log-every", "7", "--validation-dir", str(moved_validation),
          "--batch", "2", "--scale", "2"])

    saved = torch.load(tmp_path / "second" / "last.pt")
    assert saved["train_config"]["validate_every"] == 0
    assert saved["train_config"]["log_every"] == 7
    assert saved["train_config"]["validation_dir"] == str(moved_validation.resolve())
    assert saved["train_config"]["batch"] == 2
    assert saved["history"] == []  # a stop at the time limit validates only when validate_every > 0


@pytest.mark.parametrize("option, value", [("--batch", "3"), ("--patch", "16"), ("--scale", "4"), ("--seed", "5"),
                                           ("--scan", "zoh")])
def test_cli_resume_rejects_new_run_setting(tmp_path, validation_dir, capsys, option, value):
    first = Trainer(tiny_config(validation_dir, iterations=40), tmp_path / "first", torch.device("cpu"))
    first.save(tmp_path / "first" / "last.pt")

    with pytest.raises(SystemExit):
        main(["--resume", str(tmp_path / "first" / "last.pt"), "--out", str(tmp_path / "second"), option, value])

    assert f"{option} {value} differs from the checkpoint's" in capsys.readouterr().err
    assert not (tmp_path / "second" / "last.pt").exists()


@pytest.mark.parametrize("option, value", [("--checkpoint-every", "0"), ("--log-every", "0"), ("--batch", "0"),
                                           ("--iterations", "-5"), ("--validate-every", "-1")])
def test_cli_rejects_invalid_count(tmp_path, capsys, option, value):
    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path / "run"), option, value])

    assert f"argument {option}: invalid value {value}" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
