"""The alternating timer that the evaluation benchmarks share."""
from benchmarks.alternating import evaluate_alternately, format_table


def test_evaluations_alternate_keep_fastest():
    calls = []

    def evaluation(name, psnr_by_round):
        def evaluate():
            calls.append(name)
            return {"psnr": psnr_by_round[calls.count(name) - 1], "ssim": 0.5}
        return evaluate

    best = evaluate_alternately({"a": evaluation("a", [30.0, 31.0]), "b": evaluation("b", [32.0, 33.0])}, rounds=2)

    assert calls == ["a", "b", "a", "b"]
    assert set(best) == {"a", "b"}
    for name, (seconds, psnr, ssim) in best.items():
        assert seconds >= 0.0
        assert psnr in ({"a": (30.0, 31.0), "b": (32.0, 33.0)}[name])
        assert ssim == 0.5


def test_table_speed_up_over_baseline():
    table = format_table({"loop": (10.0, 30.0, 0.8), "compiled": (2.5, 30.0, 0.8)}, "scan path", "loop")

    lines = table.splitlines()
    assert lines[0].startswith("| scan path | best time (s) | speed-up over loop |")
    assert "| loop | 10.0 | 1.00x | 30.0000 | 0.80000 |" in lines
    assert "| compiled | 2.5 | 4.00x | 30.0000 | 0.80000 |" in lines
