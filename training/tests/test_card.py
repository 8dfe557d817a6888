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


def write_card(tmp_path, evaluation):
    card_path = tmp_path / "fssm-x2.json"
    card_path.write_text(json.dumps({"name": "fssm-x2", "scale": 2, "evaluation": evaluation}))
    return card_path


def write_results(tmp_path, rows):
    results_path = tmp_path / "results.json"
    results_path.write_text(json.dumps(rows))
    return results_path


def test_card_adds_new_set(tmp_path):
    set14 = {"set": "Set14", "images": 14, "psnr": 31.0, "ssim": 0.8881}
    card_path = write_card(tmp_path, {"protocol": card.PROTOCOL, "sets": [set14], "not_measured": "B100: slow"})
    b100 = [{"set": "B100", "scale": 2, "method": "fssm-x2.pt", "psnr": 30.5, "ssim": 0.88, "images": [{}] * 100}]

    assert card.main([str(card_path), "--evaluation", str(write_results(tmp_path, b100)), "--not-measured", ""]) == 0

    evaluation = json.loads(card_path.read_text())["evaluation"]
    assert [entry["set"] for entry in evaluation["sets"]] == ["Set14", "B100"]
    assert evaluation["sets"][0] == set14
    assert "not_measured" not in evaluation


def test_card_replaces_remeasured_set(tmp_path):
    old_set5 = {"set": "Set5", "images": 5, "psnr": 30.0, "ssim": 0.9}
    set14 = {"set": "Set14", "images": 14, "psnr": 31.0, "ssim": 0.8881}
    card_path = write_card(tmp_path, {"protocol": card.PROTOCOL, "sets": [old_set5, set14], "not_measured": "B100: slow"})

    assert card.main([str(card_path), "--evaluation", str(write_results(tmp_path, results()))]) == 0

    evaluation = json.loads(card_path.read_text())["evaluation"]
    assert [entry["set"] for entry in evaluation["sets"]] == ["Set5", "Set14"]
    assert evaluation["sets"][0]["psnr"] == 34.123
    assert evaluation["not_measured"] == "B100: slow"


def test_card_rejects_other_model(tmp_path):
    card_path = write_card(tmp_path, {"protocol": card.PROTOCOL, "sets": []})
    other = [dict(row, method="fssm-x2.candidate.pt") for row in results()]

    assert card.main([str(card_path), "--evaluation", str(write_results(tmp_path, other))]) == 1
    assert json.loads(card_path.read_text())["evaluation"]["sets"] == []


def test_card_states_float_luma(tmp_path):
    card_path = tmp_path / "fssm-x2.json"
    card_path.write_text(json.dumps({"scale": 2}))
    float_luma = [dict(row, round_luma=False) for row in results()]

    assert card.main([str(card_path), "--evaluation", str(write_results(tmp_path, float_luma))]) == 0

    assert json.loads(card_path.read_text())["evaluation"]["protocol"].endswith("luma not rounded")


def test_card_rejects_mixed_protocols(tmp_path):
    set14 = {"set": "Set14", "images": 14, "psnr": 31.0, "ssim": 0.8881}
    card_path = write_card(tmp_path, {"protocol": card.PROTOCOL, "sets": [set14]})
    float_luma = [dict(row, round_luma=False) for row in results()]

    assert card.main([str(card_path), "--evaluation", str(write_results(tmp_path, float_luma))]) == 1

    assert json.loads(card_path.read_text())["evaluation"]["sets"] == [set14]
