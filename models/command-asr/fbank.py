"""Log-mel features exactly as sherpa-onnx 1.13.8 computes them for an offline NeMo CTC model.

OfflineRecognizerCtcImpl (nemo_ctc branch) + kaldi-native-fbank, as read from the sources:
  samples in [-1, 1] (normalize_samples=true), 16 kHz, frame 25 ms (400), shift 10 ms (160), snip_edges=false
  (frame f covers samples [160f-120, 160f+280), reflected at the edges; num_frames = (n + 80) // 160),
  dither 0, remove_dc_offset=false, preemphasis 0.97 (knf default, also x[0] -= 0.97 x[0]),
  periodic Hann window (2*pi/400), FFT padded to 512, power spectrum,
  librosa-style mel bank: 80 bins, 0..8000 Hz, Slaney mel scale, Slaney area norm, FFT bins 0..256,
  log(max(mel, FLT_EPSILON)), then per-utterance per-feature normalisation (metadata normalize_type=per_feature):
  (x - mean) / (sqrt(population var) + 1e-5).
The shipped model sets normalize_type="" and takes logmel() as is (it normalises inside its graph, model.normalize);
features() reproduces sherpa's per_feature variant and is kept for reference.
"""
import numpy as np

SR = 16000
N_MELS = 80
FRAME = 400
SHIFT = 160
NFFT = 512
PREEMPH = 0.97
EPS = np.finfo(np.float32).eps


def _mel_slaney(f):
    f = np.asarray(f, dtype=np.float64)
    return np.where(f <= 1000, f * 3 / 200.0, 15 + 14.545078505785561 * np.log(np.maximum(f, 1e-9) / 1000))


def _imel_slaney(m):
    m = np.asarray(m, dtype=np.float64)
    return np.where(m <= 15, 200.0 / 3 * m, 1000 * np.exp((m - 15) * 0.06875177742094911))


def vtlp(hz, alpha, f_hi=6000.0):
    """Vocal tract length perturbation (Jaitly & Hinton 2013): frequency f is read as alpha*f, piecewise linear so
    that Nyquist stays fixed. Moves the formants without touching pitch; training-time augmentation only."""
    nyq = SR / 2
    b = f_hi * min(alpha, 1.0) / alpha
    return np.where(hz <= b, hz * alpha, nyq - (nyq - f_hi * min(alpha, 1.0)) / (nyq - b) * (nyq - hz))


def mel_matrix(alpha=1.0):
    lo, hi = _mel_slaney(0.0), _mel_slaney(SR / 2)
    delta = (hi - lo) / (N_MELS + 1)
    hz = np.arange(NFFT // 2 + 1) * (SR / NFFT)
    if alpha != 1.0:
        hz = vtlp(hz, alpha)
    w = np.zeros((N_MELS, NFFT // 2 + 1), dtype=np.float64)
    for b in range(N_MELS):
        l, c, r = _imel_slaney([lo + b * delta, lo + (b + 1) * delta, lo + (b + 2) * delta])
        up = (hz - l) / (c - l)
        down = (r - hz) / (r - c)
        wt = np.where(hz <= c, up, down)
        wt = np.where((hz > l) & (hz < r), wt, 0.0)
        w[b] = wt * 2 / (r - l)
    return w.astype(np.float32)


_MEL = mel_matrix()
_WIN = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(FRAME) / FRAME)).astype(np.float32)


def num_frames(n):
    return (n + SHIFT // 2) // SHIFT


def frames(x):
    n = len(x)
    t = num_frames(n)
    starts = np.arange(t) * SHIFT + SHIFT // 2 - FRAME // 2
    idx = starts[:, None] + np.arange(FRAME)[None, :]
    # reflect: -1 -> 0, -2 -> 1; n -> n-1, n+1 -> n-2 (repeat until inside)
    for _ in range(4):
        idx = np.where(idx < 0, -idx - 1, idx)
        idx = np.where(idx >= n, 2 * n - 1 - idx, idx)
    return x[idx]


_WARPED = {}


def logmel(x, alpha=1.0):
    """x: float32 samples in [-1, 1] at 16 kHz -> (T, 80) log-mel, not normalised. alpha != 1: VTLP warp."""
    x = np.asarray(x, dtype=np.float32)
    f = frames(x).astype(np.float32)
    pre = f.copy()
    pre[:, 1:] -= PREEMPH * f[:, :-1]
    pre[:, 0] -= PREEMPH * f[:, 0]
    pre *= _WIN
    spec = np.fft.rfft(pre, n=NFFT, axis=1)
    power = (spec.real ** 2 + spec.imag ** 2).astype(np.float32)
    if alpha == 1.0:
        m = _MEL
    else:
        alpha = round(alpha, 2)
        m = _WARPED.get(alpha)
        if m is None:
            m = _WARPED[alpha] = mel_matrix(alpha)
    mel = power @ m.T
    return np.log(np.maximum(mel, EPS)).astype(np.float32)


def normalize(feat):
    mean = feat.mean(axis=0, keepdims=True)
    var = np.maximum((feat ** 2).mean(axis=0, keepdims=True) - mean ** 2, 0.0)
    return ((feat - mean) / (np.sqrt(var) + 1e-5)).astype(np.float32)


def features(x):
    return normalize(logmel(x))
