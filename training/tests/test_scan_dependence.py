"""benchmarks.scan_dependence: swapping the scan mode and removing the state at inference."""
import torch

from benchmarks.scan_dependence import (format_table, measure_modes, scan_blocks, set_scan_mode,
                                         ssm_parameter_summary, without_state)
from fssm.model import build


def small_network() -> torch.nn.Module:
    torch.manual_seed(0)
    return build(2, embed_dim=12, depths=(1,)).eval()


def test_without_state_keeps_skip_term():
    network = small_network()
    ss2d = scan_blocks(network)[0]
    features = torch.rand(1, ss2d.d_inner, 5, 7)
    with torch.no_grad():
        ss2d.Ds.uniform_(0.5, 1.5)  # D = 1 everywhere would hide a mix-up of directions
    weights = {name: value.clone() for name, value in network.state_dict().items()}

    with torch.no_grad():
        with_state = ss2d.scan_directions(features)
        with without_state(network):
            skip_only = ss2d.scan_directions(features)
        after = ss2d.scan_directions(features)

    # The four directions scan the same pixels, so their skip terms add up to (sum of D_k) * x.
    D = ss2d.Ds.reshape(4, ss2d.d_inner).sum(dim=0).reshape(1, -1, 1)
    assert torch.allclose(skip_only, D * features.reshape(1, ss2d.d_inner, -1), atol=1e-6)
    assert not torch.allclose(with_state, skip_only, atol=1e-4)
    assert torch.equal(after, with_state)
    for name, value in network.state_dict().items():
        assert torch.equal(value, weights[name]), name


def test_set_scan_mode_changes_every_block():
    # Through a whole untrained network the modes differ by about 2e-7, so compare one scan block.
    network = small_network()
    ss2d = scan_blocks(network)[0]
    features = torch.rand(1, ss2d.d_inner, 5, 7)
    outputs = {}
    with torch.no_grad():
        for mode in ("foh", "zoh"):
            set_scan_mode(network, mode)
            assert all(block.scan_mode == mode for block in scan_blocks(network))
            outputs[mode] = ss2d.scan_directions(features)
    assert not torch.allclose(outputs["foh"], outputs["zoh"], atol=1e-4)


def test_table_rows_modes_and_stateless(noise_set):
    network = small_network()
    results = measure_modes(network, 2, "foh", [noise_set("noise")])

    assert list(results) == ["`zoh`", "`foh`", "`foh1`", "no state (C = 0)"]
    assert all(block.scan_mode == "foh" for block in scan_blocks(network))
    table = format_table(results, "foh")
    assert "| `foh` (trained) | " in table
    assert table.count("+0.0000") >= 1
    assert len(table.splitlines()) == 2 + 4


def test_parameter_summary_untrained_network():
    summary = ssm_parameter_summary(small_network())
    assert "1 scan blocks" in summary
    assert "max |log(-A) - log(n)| 0.000" in summary
    assert "D in [1.000, 1.000]" in summary
    median = float(summary.split("median ")[1].split()[0])
    assert 0.001 <= median <= 0.1
