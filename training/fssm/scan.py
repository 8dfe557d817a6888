"""Public entry point of the selective scan: checks its inputs, then picks an implementation.

- Gradients required: the compiled training scan with its hand-written backward
  (``fssm.ops.scan_train``), when it is available for the tensors' device.
- No gradients on the CPU (validation during training, evaluating a checkpoint): the same
  compiled scan when it is available, because its forward is faster than the chunked loop
  (about 4.4 times on Set5 with the whole network, ``benchmarks/bench_validation.py``).
- Otherwise (export, other devices, no compiled scan): the TorchScript chunked loop of
  ``fssm.ops.scan_chunked``. Exported networks always run that loop, so their outputs can
  differ from a checkpoint's in the last float32 digits.

``fssm.ops.scan_ref.selective_scan_ref`` is the token-by-token reference that tests hold
every path to.
"""
import torch

from .ops.hold import SCAN_MODES
from .ops.scan_chunked import selective_scan_chunked


def check_scan_inputs(u, delta, A, B, C, D, delta_bias, mode: str) -> None:
    """Raise ValueError naming the offending argument when shapes or mode do not fit."""
    if mode not in SCAN_MODES:
        raise ValueError(f"unknown scan mode {mode!r}; expected one of {', '.join(SCAN_MODES)}")
    if u.dim() != 3:
        raise ValueError(f"u must be (batch, channels, L), got shape {tuple(u.shape)}")
    batch, channels, length = u.shape
    if delta.shape != u.shape:
        raise ValueError(f"delta shape {tuple(delta.shape)} differs from u shape {tuple(u.shape)}")
    if A.dim() != 2 or A.shape[0] != channels:
        raise ValueError(f"A must be (channels={channels}, N), got shape {tuple(A.shape)}")
    d_state = A.shape[1]
    for name, tensor in (("B", B), ("C", C)):
        if tensor.dim() != 4 or tensor.shape[0] != batch or tensor.shape[2] != d_state or tensor.shape[3] != length:
            raise ValueError(
                f"{name} must be (batch={batch}, groups, N={d_state}, L={length}), got shape {tuple(tensor.shape)}"
            )
    groups = B.shape[1]
    if C.shape[1] != groups:
        raise ValueError(f"B has {groups} groups but C has {C.shape[1]}")
    if channels % groups != 0:
        raise ValueError(f"{channels} channels cannot be split evenly over {groups} groups")
    for name, tensor in (("D", D), ("delta_bias", delta_bias)):
        if tuple(tensor.shape) != (channels,):
            raise ValueError(f"{name} must be (channels={channels},), got shape {tuple(tensor.shape)}")


def _training_scan_available(device: torch.device) -> bool:
    try:
        from .ops import scan_train
    except ModuleNotFoundError as error:
        if error.name != __package__ + ".ops.scan_train":
            raise
        return False
    return scan_train.is_available(device)


def selective_scan(u, delta, A, B, C, D, delta_bias, mode: str, delta_softplus: bool = True):
    """Run the selective scan in ``mode`` ('zoh', 'foh' or 'foh1').

    Shapes: u, delta (batch, channels, L); A (channels, N), negative; B, C (batch, groups, N, L);
    D, delta_bias (channels,). Returns y (batch, channels, L) in u's dtype. The scan itself
    always runs in float32 or wider, also under bfloat16 autocast.
    """
    check_scan_inputs(u, delta, A, B, C, D, delta_bias, mode)
    out_dtype = u.dtype
    tensors = [u, delta, A, B, C, D, delta_bias]
    if any(t.dtype in (torch.float16, torch.bfloat16) for t in tensors):
        tensors = [t.float() for t in tensors]

    needs_grad = torch.is_grad_enabled() and any(t.requires_grad for t in tensors)
    compiled_forward = needs_grad or u.device.type == "cpu"
    if compiled_forward and _training_scan_available(u.device):
        from .ops import scan_train

        return scan_train.selective_scan_train(*tensors, mode, delta_softplus).to(out_dtype)
    with torch.autocast(u.device.type, enabled=False):
        return selective_scan_chunked(*tensors, mode, delta_softplus).to(out_dtype)
