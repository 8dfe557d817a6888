"""Selective scan for inference and export: a TorchScript loop over tokens, chunk by chunk.

Per chunk of T tokens the decays exp(z) and input terms beta are computed at once as
(T, batch, groups, channels_per_group, N) tensors, then a tight loop applies
h <- exp(z_t) h + beta_t, and the outputs are contracted with C for the whole chunk.
Only chunk-sized tensors of N-wide states exist, never L x channels x N, which keeps
memory bounded for long sequences (a 256 x 256 tile scans 65,536 tokens).

Being TorchScript, the loop bounds come from the input at run time, so an exported
network accepts any sequence length. Autograd through it is correct but slow: training
uses the hand-written backward of the compiled scan instead.
"""
import torch
import torch.nn.functional as F

from .hold import hold_weights

# Tokens per chunk: large enough that the per-chunk tensor ops amortise, small enough
# that a chunk's (T, batch, channels, N) tensors stay in cache-sized blocks.
DEFAULT_CHUNK = 64


@torch.jit.script
def selective_scan_chunked(
    u: torch.Tensor,
    delta: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: torch.Tensor,
    delta_bias: torch.Tensor,
    mode: str,
    delta_softplus: bool = True,
    chunk: int = DEFAULT_CHUNK,
) -> torch.Tensor:
    """Same contract and shapes as fssm.ops.scan_ref.selective_scan_ref."""
    batch, channels, length = u.shape
    groups, d_state = B.shape[1], A.shape[1]
    per_group = channels // groups

    delta = delta + delta_bias[None, :, None]
    if delta_softplus:
        delta = F.softplus(delta)

    # Token-major layouts so that one token's slice is contiguous.
    u_tok = u.permute(2, 0, 1).reshape(length, batch, groups, per_group, 1)
    delta_tok = delta.permute(2, 0, 1).reshape(length, batch, groups, per_group, 1)
    B_tok = B.permute(3, 0, 1, 2).reshape(length, batch, groups, 1, d_state)
    C_tok = C.permute(3, 0, 1, 2).reshape(length, batch, groups, 1, d_state)
    A_grouped = A.reshape(groups, per_group, d_state)

    # u_{i+1}, with the last token held.
    u_next_tok = torch.cat([u_tok[1:], u_tok[length - 1:]], dim=0)

    h = u.new_zeros(batch, groups, per_group, d_state)
    y_chunks: list[torch.Tensor] = []
    for start in range(0, length, chunk):
        end = min(start + chunk, length)
        delta_c = delta_tok[start:end]
        z = delta_c * A_grouped  # (T, batch, groups, per_group, N)
        decay = torch.exp(z)
        weight_now, weight_next = hold_weights(z, mode)
        drive = weight_now * u_tok[start:end]
        if mode != "zoh":
            drive = drive + weight_next * u_next_tok[start:end]
        beta = delta_c * B_tok[start:end] * drive

        states: list[torch.Tensor] = []
        for t in range(end - start):
            h = torch.addcmul(beta[t], decay[t], h)
            states.append(h)
        hs = torch.stack(states, dim=0)
        y_chunks.append((hs * C_tok[start:end]).sum(-1))

    y = torch.cat(y_chunks, dim=0).reshape(length, batch, channels)
    y = y + u.permute(2, 0, 1) * D
    return y.permute(1, 2, 0).contiguous()
