"""Benchmark evaluation of super-resolution models with the literature's protocol.

For every high-resolution (HR) image of a folder, the steps are:

1. read it as RGB (grey is replicated) and crop it to a multiple of the scale;
2. make the low-resolution (LR) input with MATLAB-style bicubic downscaling,
   rounded to 8-bit;
3. super-resolve, then clamp and round the result to 8-bit;
4. convert both images to BT.601 luma and cut ``scale`` pixels from every border;
5. measure PSNR and SSIM.

Plain bicubic upscaling with the same kernel is the baseline.

Command line (run from ``training/``)::

    python3 -m fssm.evaluate HR_DIR [HR_DIR ...] --scale N [--model FILE.pt ...]
        [--bicubic] [--per-image] [--json OUT] [--device cpu] [--threads N]

From Python, :func:`evaluate_folder` takes any function that maps a
(1, 3, h, w) float32 tensor in [0, 1] to (1, 3, s*h, s*w), and
:func:`evaluate_module` wraps an in-memory ``torch.nn.Module``.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import math
import multiprocessing
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
import torch
from PIL import Image

from .imresize import downscale, modcrop, round_to_uint8_range, upscale
from .metrics import luma_psnr_ssim

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".bmp", ".jpg", ".jpeg", ".tif", ".tiff")

# PIL modes that convert to 8-bit RGB without losing range; 16-bit and float
# modes would be clipped silently by Image.convert("RGB").
_EIGHT_BIT_MODES = ("1", "L", "P", "RGB", "RGBA", "LA", "CMYK", "YCbCr")

UpscaleFn = Callable[[torch.Tensor], torch.Tensor]

LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"


def list_images(folder: Path) -> List[Path]:
    """Return the image files directly inside ``folder``, sorted by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"image folder not found: {folder}")
    images = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not images:
        raise ValueError(f"no images ({', '.join(IMAGE_SUFFIXES)}) found in {folder}")
    return images


def load_rgb(path: Path) -> np.ndarray:
    """Read an 8-bit image as a (3, H, W) float64 array of levels 0-255.

    Grey images are replicated to three channels and an alpha channel is dropped.
    """
    with Image.open(path) as image:
        if image.mode not in _EIGHT_BIT_MODES:
            raise ValueError(f"{path} has PIL mode {image.mode}; only 8-bit grey or colour images are supported")
        rgb = np.asarray(image.convert("RGB"), dtype=np.float64)
    return np.ascontiguousarray(rgb.transpose(2, 0, 1))


def make_lr(hr: np.ndarray, scale: int) -> np.ndarray:
    """Downscale a modcropped HR image (levels 0-255) by ``scale`` and round it to 8-bit levels."""
    return round_to_uint8_range(downscale(hr, scale))


def bicubic_upscaler(scale: int) -> UpscaleFn:
    """Return an upscale function that applies MATLAB-style bicubic upscaling.

    It recovers the 8-bit levels of its input and resizes them in float64, as
    MATLAB's imresize does for uint8 images, so the baseline does not depend
    on float32 rounding.
    """

    def upscale_bicubic(lr: torch.Tensor) -> torch.Tensor:
        levels = np.round(lr.detach().to("cpu", torch.float64).numpy() * 255.0)
        return torch.from_numpy(upscale(levels, scale) / 255.0)

    return upscale_bicubic


def evaluate_folder(
    hr_dir: Path,
    scale: int,
    upscale_fn: UpscaleFn,
    method: str = "model",
    device: Optional[torch.device] = None,
    round_luma: bool = True,
) -> Dict:
    """Measure Y-PSNR and Y-SSIM of ``upscale_fn`` on every HR image in ``hr_dir``.

    ``upscale_fn`` receives a (1, 3, h, w) float32 tensor in [0, 1] (on
    ``device`` when given) and must return a (1, 3, scale*h, scale*w) tensor.
    ``round_luma`` rounds Y to integer levels as MATLAB does (see
    :func:`fssm.metrics.rgb_to_luma`).
    Returns a dict with keys set, scale, method, psnr, ssim (means over the
    set) and images (a list of name, psnr, ssim per image).
    """
    hr_dir = Path(hr_dir)
    images = list_images(hr_dir)
    started = time.perf_counter()
    rows = [measure_image(path, scale, upscale_fn, method, device, round_luma) for path in images]
    return _set_result(hr_dir, scale, method, round_luma, rows, started)


def evaluate_folder_in_workers(
    hr_dir: Path, scale: int, model_path: Path, workers: int, threads: int = 1, round_luma: bool = True
) -> Dict:
    """Measure a TorchScript file on ``hr_dir`` like :func:`evaluate_folder`, in ``workers`` CPU processes.

    Each process loads the model once, runs ``threads`` torch threads and takes one whole
    image at a time, so it pays off only where many images of similar size share the work.
    NOTE: on Set5 at x4, two workers were 0.92 times as fast as one process with two threads
    (benchmarks/bench_workers.py). A set of many similar images has not been compared.
    """
    hr_dir = Path(hr_dir)
    images = list_images(hr_dir)
    started = time.perf_counter()
    method = Path(model_path).name

    # spawn, not fork, because torch's thread pools are not safe to use in a forked child.
    context = multiprocessing.get_context("spawn")
    measure = functools.partial(_measure_in_worker, scale=scale, method=method, round_luma=round_luma)
    initargs = (str(model_path), threads, logging.getLogger().getEffectiveLevel())
    with context.Pool(workers, initializer=_start_worker, initargs=initargs) as pool:
        rows = pool.map(measure, images, chunksize=1)
    return _set_result(hr_dir, scale, method, round_luma, rows, started)


# The model of a worker process of evaluate_folder_in_workers, loaded once by _start_worker.
_worker_model: Optional[torch.jit.ScriptModule] = None


def _start_worker(model_path: str, threads: int, log_level: int) -> None:
    """Set up logging and threads in a new worker process and load its model."""
    global _worker_model
    logging.basicConfig(level=log_level, format=LOG_FORMAT)
    torch.set_num_threads(threads)
    _worker_model = load_torchscript(Path(model_path))


def _measure_in_worker(path: Path, scale: int, method: str, round_luma: bool) -> Dict:
    """Measure one image with the worker's model."""
    return measure_image(path, scale, _worker_model, method, torch.device("cpu"), round_luma)


def measure_image(path: Path, scale: int, upscale_fn: UpscaleFn, method: str, device, round_luma: bool) -> Dict:
    """Downscale one HR image, super-resolve it and return its name, PSNR and SSIM."""
    hr = modcrop(load_rgb(path), scale)
    sr = _super_resolve(make_lr(hr, scale), scale, upscale_fn, device, path)
    image_psnr, image_ssim = luma_psnr_ssim(hr, sr, border=scale, round_luma=round_luma)
    logger.debug("%s x%d %s: PSNR %.4f dB, SSIM %.6f", path.name, scale, method, image_psnr, image_ssim)
    return {"name": path.name, "psnr": image_psnr, "ssim": image_ssim}


def _set_result(hr_dir: Path, scale: int, method: str, round_luma: bool, rows: List[Dict], started: float) -> Dict:
    """Average the per-image rows of one set and log the set's line."""
    result = {
        "set": hr_dir.name,
        "scale": scale,
        "method": method,
        "round_luma": round_luma,
        "psnr": float(np.mean([row["psnr"] for row in rows])),
        "ssim": float(np.mean([row["ssim"] for row in rows])),
        "images": rows,
    }
    logger.info(
        "%s x%d %s: PSNR %.4f dB, SSIM %.6f over %d images in %.1f s",
        result["set"], scale, method, result["psnr"], result["ssim"], len(rows), time.perf_counter() - started,
    )
    return result


def _super_resolve(lr: np.ndarray, scale: int, upscale_fn: UpscaleFn, device, path: Path) -> np.ndarray:
    """Run ``upscale_fn`` on LR levels and return its clamped, 8-bit-rounded output as levels 0-255."""
    lr_tensor = torch.from_numpy(lr / 255.0).to(torch.float32)[None]
    if device is not None:
        lr_tensor = lr_tensor.to(device)
    with torch.no_grad():
        output = upscale_fn(lr_tensor)

    expected = (1, 3, lr.shape[1] * scale, lr.shape[2] * scale)
    if tuple(output.shape) != expected:
        raise ValueError(
            f"upscaling {path.name} returned shape {tuple(output.shape)}, expected {expected}; "
            f"check that the model is trained for scale {scale}"
        )
    levels = output.detach().to("cpu", torch.float64)[0].numpy() * 255.0
    return round_to_uint8_range(levels)


def evaluate_module(
    module: torch.nn.Module, hr_dir: Path, scale: int, method: str = "model", round_luma: bool = True
) -> Dict:
    """Evaluate an in-memory network on ``hr_dir`` with :func:`evaluate_folder`.

    The module runs in eval mode on the device of its first parameter or
    buffer (CPU when it has none), and its previous train/eval mode is
    restored afterwards, so a training loop can call this between steps.
    """
    device = _module_device(module)
    was_training = module.training
    module.eval()
    try:
        return evaluate_folder(hr_dir, scale, module, method=method, device=device, round_luma=round_luma)
    finally:
        module.train(was_training)


def _module_device(module: torch.nn.Module) -> torch.device:
    for tensor in list(module.parameters()) + list(module.buffers()):
        return tensor.device
    return torch.device("cpu")


def load_torchscript(path: Path, device: str = "cpu") -> torch.jit.ScriptModule:
    """Load a TorchScript model file for inference on ``device``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model file not found: {path}")
    try:
        model = torch.jit.load(str(path), map_location=device)
    except (RuntimeError, ValueError) as error:
        raise ValueError(f"{path} is not a loadable TorchScript model ({error.__class__.__name__})") from error
    model.eval()
    return model


def format_table(results: Sequence[Dict], per_image: bool = False) -> str:
    """Format results as a plain-text table, one row per set and method."""
    name_width = max([len("set")] + [len(r["set"]) for r in results])
    method_width = max([len("method")] + [len(r["method"]) for r in results])
    if per_image:
        name_width = max([name_width] + [len(row["name"]) + 2 for r in results for row in r["images"]])

    lines = [f"{'set':<{name_width}}  {'scale':>5}  {'method':<{method_width}}  {'PSNR (dB)':>9}  {'SSIM':>6}"]
    for result in results:
        lines.append(
            f"{result['set']:<{name_width}}  {'x' + str(result['scale']):>5}  {result['method']:<{method_width}}  "
            f"{result['psnr']:9.2f}  {result['ssim']:6.4f}"
        )
        if per_image:
            for row in result["images"]:
                lines.append(
                    f"{'  ' + row['name']:<{name_width}}  {'':>5}  {'':<{method_width}}  "
                    f"{_format_psnr(row['psnr'])}  {row['ssim']:6.4f}"
                )
    return "\n".join(lines)


def _format_psnr(value: float) -> str:
    return f"{'inf':>9}" if math.isinf(value) else f"{value:9.2f}"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python3 -m fssm.evaluate",
        description="Measure Y-PSNR/SSIM of super-resolution models on folders of HR images "
        "(bicubic LR, BT.601 luma, border of `scale` pixels cut).",
    )
    parser.add_argument("hr_dirs", nargs="+", type=Path, metavar="HR_DIR", help="folder of high-resolution images (one benchmark set)")
    parser.add_argument("--scale", type=int, required=True, help="upscaling factor, e.g. 2, 3 or 4")
    parser.add_argument("--model", type=Path, action="append", default=[], metavar="FILE.pt", help="TorchScript model to evaluate; repeat for several models")
    parser.add_argument("--bicubic", action="store_true", help="add the bicubic baseline row (the default when no --model is given)")
    parser.add_argument("--per-image", action="store_true", help="print PSNR/SSIM of every image as well")
    parser.add_argument("--json", type=Path, metavar="OUT", help="write all results, per image included, to this JSON file")
    parser.add_argument("--float-luma", action="store_true", help="keep the fractions of Y instead of rounding it to integer levels like MATLAB")
    parser.add_argument("--device", default="cpu", help="torch device for the models, e.g. cpu or cuda (default: cpu)")
    parser.add_argument("--threads", type=int, help="CPU threads for torch, per process with --workers "
                        "(default: torch's own default, 1 with --workers)")
    parser.add_argument("--workers", type=int, default=1, help="CPU processes that measure a model's images in "
                        "parallel, each loading the model once (default: 1, in this process)")
    parser.add_argument("--verbose", action="store_true", help="log per-image results and full error traces")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format=LOG_FORMAT)

    if args.scale < 1:
        logger.error("--scale must be a positive integer, got %d", args.scale)
        return 2
    if args.workers < 1:
        logger.error("--workers must be a positive integer, got %d", args.workers)
        return 2
    if args.workers > 1 and args.device != "cpu":
        logger.error("--workers runs models on the CPU only, but --device is %s; drop one of the two", args.device)
        return 2
    if args.threads is not None:
        torch.set_num_threads(args.threads)

    try:
        results = _run(args)
        sys.stdout.write(format_table(results, per_image=args.per_image) + "\n")
        if args.json is not None:
            args.json.write_text(json.dumps(results, indent=2) + "\n")
            logger.info("wrote %s", args.json)
    except (OSError, ValueError, RuntimeError) as error:
        # OSError covers missing folders, unreadable images and an unwritable --json path.
        logger.error("%s", error)
        logger.debug("full trace", exc_info=True)
        return 1
    return 0


def _run(args: argparse.Namespace) -> List[Dict]:
    return evaluate_models(args.hr_dirs, args.scale, args.model, bicubic=args.bicubic or not args.model,
                           device=args.device, round_luma=not args.float_luma, workers=args.workers,
                           threads_per_worker=args.threads or 1)


def evaluate_models(
    hr_dirs: Sequence[Path],
    scale: int,
    model_paths: Sequence[Path],
    bicubic: bool = True,
    device: str = "cpu",
    round_luma: bool = True,
    workers: int = 1,
    threads_per_worker: int = 1,
) -> List[Dict]:
    """Evaluate bicubic (when asked) and each TorchScript file on every folder, set by set.

    With ``workers`` above 1 each model runs in that many CPU processes (see
    :func:`evaluate_folder_in_workers`); bicubic always runs in this process.
    """
    runs = []
    if bicubic:
        upscale_bicubic = bicubic_upscaler(scale)

        def run_bicubic(hr_dir: Path) -> Dict:
            return evaluate_folder(hr_dir, scale, upscale_bicubic, "bicubic", None, round_luma)

        runs.append(("bicubic", run_bicubic))
    for model_path in model_paths:
        runs.append((Path(model_path).name,
                     _model_runner(model_path, scale, device, round_luma, workers, threads_per_worker)))

    results = []
    for hr_dir in hr_dirs:
        for method, run in runs:
            try:
                result = run(hr_dir)
            except RuntimeError as error:
                # A TorchScript model raises RuntimeError for wrong input sizes or out of memory.
                raise RuntimeError(f"{method} failed on {hr_dir}: {error}") from error
            results.append(result)
    return results


def _model_runner(model_path: Path, scale: int, device: str, round_luma: bool, workers: int,
                  threads_per_worker: int) -> Callable[[Path], Dict]:
    """Load a TorchScript file and return a function that measures it on one folder."""
    if workers > 1:
        load_torchscript(model_path, "cpu")  # reports an invalid file before any worker starts
        return lambda hr_dir: evaluate_folder_in_workers(hr_dir, scale, model_path, workers, threads_per_worker,
                                                         round_luma)

    model = load_torchscript(model_path, device)
    method = Path(model_path).name
    return lambda hr_dir: evaluate_folder(hr_dir, scale, model, method, torch.device(device), round_luma)


if __name__ == "__main__":
    sys.exit(main())
