"""Scan-mode ablation: identical starts, resumable runs, the report."""
import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from fssm import ablation
from fssm.ablation import main, paired_differences
from fssm.train import TrainConfig, Trainer

# A reduced network and budget, so three modes and two seeds train in seconds.
TINY_ARGS = ["--iterations", "2", "--batch", "2", "--patch", "8", "--embed-dim", "12", "--depths", "1",
             "--threads", "1", "--device", "cpu"]


@pytest.fixture()
def evaluation_set(noise_set) -> Path:
    """One generated 24 x 24 RGB image in a folder named like a benchmark set."""
    return noise_set("Tiny", seed=1)


def run_ablation(out: Path, evaluation_set: Path, *extra: str) -> int:
    return main(TINY_ARGS + ["--sets", str(evaluation_set), "--out", str(out), *extra])


def test_modes_start_from_same_weights(tmp_path):
    base = TrainConfig(batch=2, patch_lr=8, model_overrides={"embed_dim": 12, "depths": [1]})
    networks = [Trainer(replace(base, scan=mode), tmp_path / mode, torch.device("cpu")).network
                for mode in ("foh", "foh1", "zoh")]
    reference = networks[0].state_dict()
    for network in networks[1:]:
        for name, value in network.state_dict().items():
            assert torch.equal(value, reference[name]), name


def test_report_compares_every_mode(tmp_path, evaluation_set):
    assert run_ablation(tmp_path, evaluation_set, "--seeds", "0", "1") == 0

    rows = json.loads((tmp_path / "ablation.json").read_text())
    assert sorted(row["mode"] for row in rows) == ["foh", "foh1", "zoh"]
    for row in rows:
        assert row["set"] == "Tiny"
        assert row["seeds"] == 2
        assert row["psnr_sd"] is not None
        assert sorted(row["psnr_per_seed"]) == ["0", "1"]
    report = (tmp_path / "ablation.md").read_text()
    for mode in ("foh", "foh1", "zoh"):
        assert f"| {mode} |" in report
    assert "minus foh trained with the same seed" in report
    for mode in ("foh", "foh1", "zoh"):
        for seed in (0, 1):
            saved = torch.load(tmp_path / f"{mode}-seed{seed}" / "last.pt")
            assert saved["step"] == 2
            assert saved["train_config"]["scan"] == mode
            assert saved["train_config"]["seed"] == seed


def test_paired_differences_per_seed():
    rows = [
        {"mode": "foh", "set": "Set5", "psnr_per_seed": {0: 30.0, 1: 31.0}},
        {"mode": "zoh", "set": "Set5", "psnr_per_seed": {0: 29.5, 1: 31.25}},
    ]

    differences = paired_differences(rows, "foh")

    assert len(differences) == 1
    assert differences[0]["mode"] == "zoh"
    assert differences[0]["per_seed"] == {0: -0.5, 1: 0.25}
    assert differences[0]["mean"] == pytest.approx(-0.125)


def test_modes_differ_after_training(tmp_path, evaluation_set):
    run_ablation(tmp_path, evaluation_set)

    foh = torch.load(tmp_path / "foh-seed0" / "last.pt")["model"]
    zoh = torch.load(tmp_path / "zoh-seed0" / "last.pt")["model"]
    assert any(not torch.equal(foh[name], zoh[name]) for name in foh)


def test_rerun_skips_finished_runs(tmp_path, evaluation_set):
    run_ablation(tmp_path, evaluation_set)
    checkpoint = tmp_path / "foh-seed0" / "last.pt"
    evaluation = tmp_path / "foh-seed0" / "evaluation.json"
    before = (checkpoint.stat().st_mtime_ns, evaluation.stat().st_mtime_ns)

    run_ablation(tmp_path, evaluation_set)

    assert (checkpoint.stat().st_mtime_ns, evaluation.stat().st_mtime_ns) == before


def test_added_set_evaluated_alone(tmp_path, evaluation_set, noise_set, monkeypatch):
    run_ablation(tmp_path, evaluation_set, "--modes", "foh")
    before = json.loads((tmp_path / "foh-seed0" / "evaluation.json").read_text())
    added = noise_set("Added", seed=2)
    evaluated = []
    real_evaluate = ablation.evaluate_module

    def recording_evaluate(network, hr_dir, *args, **kwargs):
        evaluated.append(hr_dir.name)
        return real_evaluate(network, hr_dir, *args, **kwargs)

    monkeypatch.setattr(ablation, "evaluate_module", recording_evaluate)

    main(TINY_ARGS + ["--modes", "foh", "--sets", str(evaluation_set), str(added), "--out", str(tmp_path)])

    assert evaluated == ["Added"]
    results = json.loads((tmp_path / "foh-seed0" / "evaluation.json").read_text())
    assert [result["set"] for result in results] == ["Tiny", "Added"]
    assert results[0] == before[0]
    rows = json.loads((tmp_path / "ablation.json").read_text())
    assert sorted(row["set"] for row in rows) == ["Added", "Tiny"]


def test_time_limit_stops_then_continues(tmp_path, evaluation_set):
    run_ablation(tmp_path, evaluation_set, "--max-minutes", "0")

    assert torch.load(tmp_path / "foh-seed0" / "last.pt")["step"] == 1
    assert not (tmp_path / "foh1-seed0").exists()
    assert not (tmp_path / "ablation.md").exists()

    run_ablation(tmp_path, evaluation_set)

    assert torch.load(tmp_path / "foh-seed0" / "last.pt")["step"] == 2
    assert (tmp_path / "ablation.md").exists()


def test_changed_settings_rejected(tmp_path, evaluation_set):
    run_ablation(tmp_path, evaluation_set, "--modes", "foh")

    with pytest.raises(ValueError, match="batch"):
        main(["--iterations", "2", "--batch", "1", "--patch", "8", "--embed-dim", "12", "--depths", "1",
              "--threads", "1", "--device", "cpu", "--modes", "foh",
              "--sets", str(evaluation_set), "--out", str(tmp_path)])


def test_missing_evaluation_set_rejected(tmp_path):
    with pytest.raises(SystemExit, match="not found"):
        main(TINY_ARGS + ["--sets", str(tmp_path / "absent"), "--out", str(tmp_path / "out")])
