"""Small CTC command recognizers (input: normalised log-mel [N, 80, T]; output log-probs [N, ceil(ceil(T/2)/2), V]).

- "conv" (default): conv subsampling x4 + 6 residual depthwise-separable conv blocks (kernel 11, i.e. about
  +-2.2 s of context) + 1x1 output; fully parallel, fast to train on 2 CPU cores. ~0.9 M params.
- "gru": conv subsampling x4 + 2-layer bidirectional GRU(128). ~0.92 M params; about 3x slower to train on CPU.
"""
import torch
from torch import nn


def normalize(x, lengths=None):
    """Per-utterance per-bin mean/variance normalisation over the valid frames, two-pass and with a variance
    floor (+1), so near-constant bins (band-limited telephone audio, digital silence) stay near 0 instead of
    exploding. Done inside the graph: sherpa's own float32 per_feature normalisation of such bins is
    ill-conditioned and does not reproduce across implementations."""
    T = x.shape[2]
    if lengths is None:
        lengths = torch.full((x.shape[0],), T, dtype=torch.long)
    mask = (torch.arange(T).unsqueeze(0) < lengths.unsqueeze(1)).to(x.dtype).unsqueeze(1)  # [N, 1, T]
    n = lengths.to(x.dtype).view(-1, 1, 1)
    mean = (x * mask).sum(dim=2, keepdim=True) / n
    d = (x - mean) * mask
    var = (d * d).sum(dim=2, keepdim=True) / n
    return torch.clamp(d / torch.sqrt(var + 1.0), -10.0, 10.0)


def out_lengths(lengths):
    l1 = (lengths + 1) // 2  # conv k5 s2 p2: ceil(T/2)
    return (l1 + 1) // 2


class Block(nn.Module):
    def __init__(self, c, k, drop):
        super().__init__()
        self.dw = nn.Conv1d(c, c, k, padding=k // 2, groups=c)
        self.bn = nn.BatchNorm1d(c)
        self.pw = nn.Conv1d(c, c, 1)
        self.drop = nn.Dropout(drop)

    def forward(self, x):
        return x + self.drop(torch.relu(self.pw(self.bn(self.dw(x)))))


class CommandCtc(nn.Module):
    def __init__(self, vocab, feat=80, arch="conv", conv=192, hidden=128, layers=2, channels=256, blocks=6, k=11):
        super().__init__()
        self.arch = arch
        c = channels if arch == "conv" else conv
        self.sub = nn.Sequential(
            nn.Conv1d(feat, c, 5, stride=2, padding=2), nn.ReLU(),
            nn.Conv1d(c, c, 5, stride=2, padding=2), nn.ReLU(),
        )
        if arch == "conv":
            self.body = nn.Sequential(*[Block(c, k, 0.1) for _ in range(blocks)])
            self.out = nn.Conv1d(c, vocab, 1)
        else:
            self.conv3 = nn.Sequential(nn.Conv1d(c, c, 3, padding=1), nn.ReLU())
            self.rnn = nn.GRU(c, hidden, num_layers=layers, batch_first=True, bidirectional=True, dropout=0.1)
            self.drop = nn.Dropout(0.1)
            self.lin = nn.Linear(2 * hidden, vocab)

    out_lengths = staticmethod(out_lengths)

    def forward(self, x, lengths=None):
        """x: raw log-mel [N, 80, T] (sherpa normalize_type=""), lengths [N] int64 (valid frames)."""
        x = normalize(x, lengths)
        h = self.sub(x)
        if self.arch == "conv":
            return torch.log_softmax(self.out(self.body(h)).transpose(1, 2), dim=-1)
        h = self.conv3(h).transpose(1, 2)
        if lengths is not None and self.training:
            packed = nn.utils.rnn.pack_padded_sequence(h, out_lengths(lengths).cpu(), batch_first=True,
                                                       enforce_sorted=False)
            h, _ = self.rnn(packed)
            h, _ = nn.utils.rnn.pad_packed_sequence(h, batch_first=True)
        else:
            h, _ = self.rnn(h)
        return torch.log_softmax(self.lin(self.drop(h)), dim=-1)
