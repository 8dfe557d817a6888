"""Token-by-token selective scan: slow, obviously right, the yardstick for every fast path."""
import torch
import torch.nn.functional as F

from .hold import hold_weights


def selective_scan_ref(u, delta, A, B, C, D, delta_bias, mode: str, delta_softplus: bool = True):
    """Run the recurrence h_i = exp(delta_i a) h_{i-1} + beta_i one token at a time.

    Shapes: u, delta (batch, channels, L); A (channels, N); B, C (batch, groups, N, L);
    D, delta_bias (channels,). Channels are split evenly over the groups, in order.
    Returns y (batch, channels, L) with y_i = sum_n c_i h_i + D u_i.
    """
    batch, channels, length = u.shape
    groups, d_state = B.shape[1], A.shape[1]

    delta = delta + delta_bias[None, :, None]
    if delta_softplus:
        delta = F.softplus(delta)

    # Each channel reads the B and C rows of its group: (batch, channels, N, L).
    B_channel = B.repeat_interleave(channels // groups, dim=1)
    C_channel = C.repeat_interleave(channels // groups, dim=1)

    h = u.new_zeros(batch, channels, d_state)
    outputs = []
    for i in range(length):
        z = delta[:, :, i, None] * A  # (batch, channels, N)
        weight_now, weight_next = hold_weights(z, mode)
        u_next = u[:, :, min(i + 1, length - 1), None]  # the last token is held
        drive = weight_now * u[:, :, i, None] + weight_next * u_next
        beta = delta[:, :, i, None] * B_channel[:, :, :, i] * drive
        h = torch.exp(z) * h + beta
        outputs.append((h * C_channel[:, :, :, i]).sum(-1) + D * u[:, :, i])
    return torch.stack(outputs, dim=-1)
