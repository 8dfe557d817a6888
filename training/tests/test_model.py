"""MambaIR-light: sizes, input checks and the TorchScript export."""
import json

import pytest
import torch

from fssm import export as export_module
from fssm.model import RGB_MEAN, DilatedDepthwiseConv2d, FSSMConfig, VSSBlock, build, count_parameters

EXPECTED_PARAMETERS = {2: 905_016, 3: 913_131, 4: 924_492}


@pytest.mark.parametrize("scan", ["foh", "foh1", "zoh"])
@pytest.mark.parametrize("scale", [2, 3, 4])
def test_parameter_count(scale, scan):
    assert count_parameters(build(scale, scan)) == EXPECTED_PARAMETERS[scale]


def test_vss_block_parameter_count():
    block = VSSBlock(FSSMConfig(), drop_path=0.0)
    assert count_parameters(block) == 30_596
    assert count_parameters(block.self_attention) == 25_344
    assert count_parameters(block.conv_blk) == 4_892


def test_narrow_network_fully_initialised():
    # 12 channels with a squeeze of 30 would leave channel attention no hidden channel.
    network = build(2, embed_dim=12, depths=(1,))
    for name, value in network.state_dict().items():
        assert value.numel() > 0, name
        assert torch.isfinite(value).all(), name


def test_ssm_initialisation():
    ss2d = build(2).layers[0].blocks[0].self_attention
    A = -torch.exp(ss2d.A_logs)
    assert torch.allclose(A[0], -torch.arange(1, 11, dtype=torch.float32))
    assert torch.all(ss2d.Ds == 1)
    dt = torch.nn.functional.softplus(ss2d.dt_projs_bias)
    assert dt.min() >= 1e-4 - 1e-9
    assert dt.max() <= 1e-1 + 1e-6


@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("size", [(1, 1), (5, 8), (9, 4)])
def test_output_shape(scale, size):
    network = build(scale).eval()
    with torch.no_grad():
        y = network(torch.rand(2, 3, *size))
    assert y.shape == (2, 3, scale * size[0], scale * size[1])


def test_constant_mean_image_passes_through_upsampler_bias():
    # With every convolution and projection zeroed, the network returns the RGB mean it added back.
    network = build(2).eval()
    with torch.no_grad():
        for parameter in network.parameters():
            parameter.zero_()
        y = network(torch.rand(1, 3, 4, 4))
    assert torch.allclose(y[0, :, 0, 0], torch.tensor(RGB_MEAN))


@pytest.mark.parametrize(
    "x, message",
    [
        (torch.rand(3, 8, 8), "expected an image batch"),
        (torch.rand(1, 1, 8, 8), "expected 3 \\(RGB\\) channels, got 1"),
        (torch.rand(1, 4, 8, 8), "expected 3 \\(RGB\\) channels, got 4"),
    ],
)
def test_bad_input_rejected(x, message):
    with pytest.raises(ValueError, match=message):
        build(2).eval()(x)


def test_nan_input_rejected():
    x = torch.rand(1, 3, 8, 8)
    x[0, 1, 2, 3] = float("nan")
    with pytest.raises(ValueError, match="NaN or infinite"):
        build(2).eval()(x)


def test_unknown_scan_mode_rejected():
    with pytest.raises(ValueError, match="unknown scan mode 'fo'"):
        build(2, "fo")


def test_unsupported_scale_rejected():
    with pytest.raises(ValueError, match="scale must be 2, 3 or 4, got 5"):
        build(5)


@pytest.mark.parametrize("scan", ["foh", "zoh"])
def test_export_matches_eager_at_three_sizes(tmp_path, scan):
    torch.manual_seed(0)
    network = build(3, scan).eval()
    path = tmp_path / "model.pt"
    export_module.export(network, path, {"untrained": True})

    loaded = torch.jit.load(str(path))
    # Sizes unlike any example: export must not freeze the sequence length.
    for size in [(1, 1), (7, 13), (33, 20)]:
        x = torch.rand(1, 3, *size)
        with torch.no_grad():
            expected = network(x)
            actual = loaded(x)
        assert actual.shape == expected.shape
        assert torch.allclose(actual, expected, atol=1e-5, rtol=1e-5), size


def test_exported_model_rejects_nan_with_message(tmp_path):
    path = tmp_path / "model.pt"
    export_module.export(build(2).eval(), path, {"untrained": True})
    loaded = torch.jit.load(str(path))
    x = torch.full((1, 3, 4, 4), float("nan"))
    with pytest.raises(Exception, match="NaN or infinite"):
        loaded(x)


def test_export_cli_writes_card_and_golden_pair(tmp_path):
    out = tmp_path / "fssm-x2.pt"
    assert export_module.main(["--scale", "2", "--untrained", "--seed", "3", "--out", str(out), "--golden"]) == 0

    card = json.loads(out.with_suffix(".json").read_text())
    assert card["scale"] == 2
    assert card["scan"] == "foh"
    assert card["parameters"] == EXPECTED_PARAMETERS[2]
    golden = card["golden"]
    x = torch.from_file(str(tmp_path / golden["input"]), size=3 * 20 * 27).view(*golden["input_shape"])
    y = torch.from_file(str(tmp_path / golden["output"]), size=3 * 40 * 54).view(*golden["output_shape"])
    torch.manual_seed(3)
    with torch.no_grad():
        assert torch.allclose(build(2).eval()(x), y, atol=1e-6)


def test_export_checkpoint_of_wrong_scale_rejected(tmp_path):
    checkpoint = tmp_path / "x3.pt"
    torch.save({"config": FSSMConfig(scale=3).to_dict(), "model": build(3).state_dict()}, checkpoint)
    code = export_module.main(["--scale", "2", "--checkpoint", str(checkpoint), "--out", str(tmp_path / "m.pt")])
    assert code == 1


@pytest.mark.parametrize("size", [(1, 1), (2, 5), (7, 9), (8, 8)])
def test_polyphase_dilated_conv_matches_dilated_conv(size):
    conv = DilatedDepthwiseConv2d(6).double()
    x = torch.rand(2, 6, *size, dtype=torch.float64, requires_grad=True)
    x_reference = x.detach().clone().requires_grad_()

    y = conv.polyphase_forward(x)
    y_reference = torch.nn.functional.conv2d(x_reference, conv.weight, conv.bias, padding=2, dilation=2, groups=6)
    weights = torch.rand_like(y)
    weight_grad = torch.autograd.grad((y * weights).sum(), [x, conv.weight])
    weight_grad_reference = torch.autograd.grad((y_reference * weights).sum(), [x_reference, conv.weight])

    assert torch.allclose(y, y_reference, atol=1e-12)
    assert torch.allclose(weight_grad[0], weight_grad_reference[0], atol=1e-12)
    assert torch.allclose(weight_grad[1], weight_grad_reference[1], atol=1e-12)
