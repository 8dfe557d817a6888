"""Export a network to TorchScript for the Fiji plugin, with its JSON model card.

    python3 -m fssm.export --scale 2 --checkpoint runs/x2/last.pt --out ../plugin-resources/models/fssm-x2.pt
    python3 -m fssm.export --scale 2 --untrained --seed 0 --out /tmp/fssm-x2.pt --golden

The exported module takes a float32 (N, 3, H, W) RGB tensor in [0, 1], any H, W >= 1, and
returns (N, 3, scale * H, scale * W), unclamped. It is scripted, not traced: the scan's loop
must follow the input's sequence length, which tracing would freeze to the example size.

``--golden`` also writes a fixed input and the eager (not scripted) output of the same
weights as raw little-endian float32 files, so that other runtimes (the Java plugin) can
check that they reproduce Python.
"""
import argparse
import json
import logging
import sys
from pathlib import Path

import torch

from .model import FSSMConfig, MambaIRLight, build, count_parameters

log = logging.getLogger("fssm.export")

CARD_FORMAT = "fssm-model-card/1"
GOLDEN_SIZE = (20, 27)  # odd width on purpose: exercises uneven token counts


def load_network(scale: int, scan: str, checkpoint: Path | None, seed: int) -> tuple[MambaIRLight, dict]:
    """Return the network in eval mode and the training record to put in its card."""
    if checkpoint is None:
        torch.manual_seed(seed)
        return build(scale, scan).eval(), {"untrained": True, "seed": seed}

    state = torch.load(checkpoint, map_location="cpu")
    if state["config"]["scale"] != scale:
        raise ValueError(f"checkpoint {checkpoint} is a x{state['config']['scale']} network, not x{scale}")
    return network_from_state(state)


def network_from_state(state: dict) -> tuple[MambaIRLight, dict]:
    """Build the network of a loaded training checkpoint in eval mode, with its training record."""
    network = MambaIRLight(FSSMConfig.from_dict(state["config"]))
    network.load_state_dict(state["model"])
    return network.eval(), dict(state.get("record", {}), untrained=False)


def write_golden(network: MambaIRLight, out: Path, seed: int) -> dict:
    """Write a seeded input and the eager output as raw float32; return their shapes."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.rand(1, 3, *GOLDEN_SIZE, generator=generator)
    with torch.no_grad():
        y = network(x)
    stem = out.with_suffix("")
    input_path = Path(f"{stem}-golden-input.f32")
    output_path = Path(f"{stem}-golden-output.f32")
    x.numpy().astype("<f4").tofile(input_path)
    y.numpy().astype("<f4").tofile(output_path)
    return {
        "input": input_path.name,
        "output": output_path.name,
        "input_shape": list(x.shape),
        "output_shape": list(y.shape),
    }


def export(network: MambaIRLight, out: Path, record: dict, golden_seed: int | None = None) -> dict:
    """Script ``network`` into ``out`` and write the card ``out`` with suffix .json."""
    out.parent.mkdir(parents=True, exist_ok=True)
    scripted = torch.jit.script(network)
    scripted.save(str(out))

    config = network.config
    card = {
        "format": CARD_FORMAT,
        "name": out.stem,
        "architecture": "MambaIR-light",
        "scale": config.scale,
        "scan": config.scan,
        "parameters": count_parameters(network),
        "input": "float32 (N, 3, H, W), RGB in [0, 1], any H, W >= 1",
        "output": f"float32 (N, 3, {config.scale}H, {config.scale}W), unclamped",
        "config": config.to_dict(),
        "training": record,
        "exported_with": {"torch": torch.__version__},
    }
    if golden_seed is not None:
        card["golden"] = write_golden(network, out, golden_seed)
    out.with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n")
    log.info("wrote %s (x%d, scan %s, %d parameters)", out, config.scale, config.scan, card["parameters"])
    return card


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=int, choices=(2, 3, 4), required=True)
    parser.add_argument("--scan", choices=("foh", "foh1", "zoh"), default="foh",
                        help="scan mode of an untrained network (a checkpoint stores its own)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--checkpoint", type=Path, help="training checkpoint to export")
    source.add_argument("--untrained", action="store_true", help="export the seeded initial network")
    parser.add_argument("--seed", type=int, default=0, help="seed of the untrained weights and the golden input")
    parser.add_argument("--out", type=Path, required=True, help="TorchScript file to write (.pt)")
    parser.add_argument("--golden", action="store_true", help="also write a golden input/output pair")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    try:
        network, record = load_network(args.scale, args.scan, args.checkpoint, args.seed)
    except (OSError, KeyError, ValueError, RuntimeError) as error:
        log.error("cannot load the network: %s", error)
        return 1
    export(network, args.out, record, args.seed if args.golden else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
