"""fssm.card: measured results into a model card."""
import json

from fssm import card


def results(scale=2):
    return [
        {"set": "Set5", "scale": scale, "method": "bicubic", "psnr": 33.649, "ssim": 0.92951, "images": [{}] * 5},
        {"set": "Set5", "scale": scale, "method": "fssm-x2.pt", "psnr": 34.1234, "ssim": 0.93111, "images": [{}] * 5},
    ]


def test_card_gets_model_and_bicubic_rows(tmp_path):
    card_path = tmp_path / "fssm-x2.json"
    card_path.write_text(json.dumps({"scale": 2}))
    results_path = tmp_path / "results.json"
    results_path.write_text(json.dumps(results()))

    assert card.main([str(card_path), "--evaluation", str(results_path), "--not-measured", "B100: slow"]) == 0

    evaluation = json.loads(card_path.read_text())["evaluation"]
    assert evaluation["sets"] == [{"set": "Set5", "images": 5, "psnr": 34.123, "ssim": 0.9311,
                                   "bicubic_psnr": 33.649, "bicubic_ssim": 0.9295}]
    assert evaluation["not_measured"] == "B100: slow"


def test_card_rejects_results_of_another_scale(tmp_path):
    card_path = tmp_path / "fssm-x2.json"
    card_path.write_text(json.dumps({"scale": 2}))
    results_path = tmp_path / "results.json"
    results_path.write_text(json.dumps(results(scale=3)))

    assert card.main([str(card_path), "--evaluation", str(results_path)]) == 1
    assert "evaluation" not in json.loads(card_path.read_text())
