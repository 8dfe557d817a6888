"""Add measured results to a model card written by fssm.export.

    python3 -m fssm.evaluate ../../shared/data/benchmarks/Set5 --scale 2 --bicubic \
        --model ../plugin-resources/models/fssm-x2.pt --json /tmp/x2.json
    python3 -m fssm.card ../plugin-resources/models/fssm-x2.json --evaluation /tmp/x2.json \
        --not-measured "Set14, B100: one pass takes hours on a 2-core CPU"

The card's "evaluation" list gets one entry per set: the model's PSNR/SSIM on luma next to
bicubic on the same images, with the number of images and the protocol.
"""
import argparse
import json
import sys
from pathlib import Path

PROTOCOL = "Y (BT.601) PSNR/SSIM, MATLAB-style bicubic LR, border of `scale` pixels cut, luma rounded"


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
    section = {"protocol": PROTOCOL, "sets": evaluation_entries(results, scale)}
    if not_measured:
        section["not_measured"] = not_measured
    return section


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("card", type=Path, help="JSON model card to update in place")
    parser.add_argument("--evaluation", type=Path, required=True, help="JSON written by fssm.evaluate --json")
    parser.add_argument("--not-measured", help="sets left out, and why")
    args = parser.parse_args(argv)

    card = json.loads(args.card.read_text())
    results = json.loads(args.evaluation.read_text())
    try:
        card["evaluation"] = evaluation_section(results, card["scale"], args.not_measured)
    except ValueError as error:
        print(f"fssm.card: {error}", file=sys.stderr)
        return 1
    args.card.write_text(json.dumps(card, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
