"""Add measured results to a model card written by fssm.export.

    python3 -m fssm.evaluate ../../shared/data/benchmarks/B100 --scale 2 --bicubic \
        --model ../plugin-resources/models/fssm-x2.pt --json /tmp/x2-b100.json
    python3 -m fssm.card ../plugin-resources/models/fssm-x2.json --evaluation /tmp/x2-b100.json \
        --not-measured ""

The card's "evaluation" list gets one entry per measured set: the model's PSNR/SSIM on luma
next to bicubic on the same images, with the number of images and the protocol. A set
measured again replaces its entry; the card's other sets stay, so sets can be added one
pass at a time. --not-measured replaces the note on missing sets ("" removes it); without
it the note stays. Results of a model file other than the card's are rejected, so that a
card never mixes two networks.
"""
import argparse
import json
import sys
from pathlib import Path
from typing import Optional

PROTOCOL = "Y (BT.601) PSNR/SSIM, MATLAB-style bicubic LR, border of `scale` pixels cut, luma rounded"
PROTOCOL_FLOAT_LUMA = PROTOCOL.replace("luma rounded", "luma not rounded")


def protocol_of(results: list) -> str:
    """Return the protocol of ``fssm.evaluate`` results; rows measured with rounded and float luma cannot mix."""
    rounded = {row.get("round_luma", True) for row in results}
    if len(rounded) > 1:
        raise ValueError("the results mix rounded and unrounded luma (--float-luma); measure every set the same way")
    return PROTOCOL if rounded != {False} else PROTOCOL_FLOAT_LUMA


def evaluation_entries(results: list, scale: int) -> list:
    """Pair each set's model row with its bicubic row."""
    bicubic = {row["set"]: row for row in results if row["method"] == "bicubic"}
    entries = []
    for row in results:
        if row["method"] == "bicubic":
            continue
        if row["scale"] != scale:
            raise ValueError(f"results for {row['set']} are at x{row['scale']}, the card is x{scale}")
        entry = {"set": row["set"], "images": len(row["images"]), "psnr": round(row["psnr"], 3),
                 "ssim": round(row["ssim"], 4)}
        if row["set"] in bicubic:
            entry["bicubic_psnr"] = round(bicubic[row["set"]]["psnr"], 3)
            entry["bicubic_ssim"] = round(bicubic[row["set"]]["ssim"], 4)
        entries.append(entry)
    return entries


def evaluation_section(results: list, scale: int, not_measured: str = None) -> dict:
    """Build the card's "evaluation" value from ``fssm.evaluate`` results."""
    section = {"protocol": protocol_of(results), "sets": evaluation_entries(results, scale)}
    if not_measured:
        section["not_measured"] = not_measured
    return section


def merge_evaluation(card: dict, results: list, not_measured: Optional[str] = None) -> dict:
    """Build ``card``'s evaluation section with ``results`` added, replacing sets measured again.

    A ``not_measured`` of None keeps the card's note, "" removes it, and other text replaces it.
    """
    name = card.get("name")
    for row in results:
        if row["method"] != "bicubic" and name and Path(row["method"]).stem != name:
            raise ValueError(f"the results are for {row['method']} but the card is {name}; "
                             f"evaluate {name}.pt instead")

    section = evaluation_section(results, card["scale"])
    previous = card.get("evaluation") or {}
    if previous.get("sets") and previous.get("protocol", PROTOCOL) != section["protocol"]:
        raise ValueError(f"the card's figures were measured as \"{previous.get('protocol', PROTOCOL)}\" but these"
                         f" as \"{section['protocol']}\"; measure them the same way")
    measured = {entry["set"]: entry for entry in section["sets"]}
    merged = [measured.pop(entry["set"], entry) for entry in previous.get("sets", [])]
    section["sets"] = merged + list(measured.values())

    note = previous.get("not_measured") if not_measured is None else not_measured
    if note:
        section["not_measured"] = note
    return section


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("card", type=Path, help="JSON model card to update in place")
    parser.add_argument("--evaluation", type=Path, required=True, help="JSON written by fssm.evaluate --json")
    parser.add_argument("--not-measured", help='sets left out, and why ("" removes the note; default: keep it)')
    args = parser.parse_args(argv)

    card = json.loads(args.card.read_text())
    results = json.loads(args.evaluation.read_text())
    try:
        card["evaluation"] = merge_evaluation(card, results, args.not_measured)
    except ValueError as error:
        print(f"fssm.card: {error}", file=sys.stderr)
        return 1
    args.card.write_text(json.dumps(card, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
