"""The whole-night multitaper spectrogram of one EEG channel, and band powers per epoch.

Each 30-s scored epoch is one window (so a column of the picture is an epoch of the
hypnogram under it): linearly detrended, multiplied by ``K = 2 NW - 1`` discrete prolate
spheroidal (Slepian) tapers of time-bandwidth ``NW`` (default 3, K = 5; spectral
resolution 2 NW / 30 s = 0.2 Hz), Fourier-transformed, and the K periodograms averaged
with equal weights: the multitaper estimate Prerau et al. (2017, "Sleep
neurophysiological dynamics through the lens of multitaper spectral analysis",
Physiology 32:60-92) describe for sleep EEG, where K orthogonal tapers cut the variance
of a single-taper periodogram about K-fold at a resolution fixed by NW. (They also use
shorter windows for finer time; here one window is one scored epoch.) Power is a
one-sided density in uV^2/Hz, kept from 0.5 to 25 Hz and shown in dB (10 log10). Band powers (absolute uV^2 and relative to 0.5-25 Hz) per epoch come
from the same spectrum: delta 0.5-4, theta 4-8, alpha 8-12, sigma 12-15, beta 15-25 Hz.

The night is read lazily in chunks of ``chunk_epochs`` epochs (an 8-h study at 256 Hz
is never held whole) and each epoch's spectrum depends on that epoch alone, so chunked
and whole-signal results are the same numbers. The result is kept per study, channel
and parameters by :mod:`app.core.signals.night_cache`.

Examples
--------
>>> import numpy as np
>>> from app.core.signals.recording import Recording
>>> t = np.arange(0, 120, 1 / 100.0)
>>> rec = Recording.from_arrays(np.sin(2 * np.pi * 10.0 * t)[None] * 20, ["C4-M1"], 100.0)
>>> spec = night_spectrogram(rec)
>>> spec.channel, spec.power_db.shape, float(spec.freqs[spec.psd[0].argmax()])
('C4-M1', (4, 736), 10.0)
>>> round(spec.bands(0).relative["alpha"], 2)
1.0
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np
from scipy import fft as sp_fft
from scipy import signal as sps

from app.core.signals.channels import Source, parse_override
from app.core.signals.night_cache import night_arrays
from app.errors import ChannelError

BANDS: dict[str, tuple[float, float]] = {"delta": (0.5, 4.0), "theta": (4.0, 8.0),
                                         "alpha": (8.0, 12.0), "sigma": (12.0, 15.0),
                                         "beta": (15.0, 25.0)}
FMIN, FMAX, NW = 0.5, 25.0, 3.0
_MIN_FINITE = 0.5  # an epoch with less data than this is a gap in the picture, not a spectrum


@dataclass(frozen=True)
class BandPowers:
    """One epoch's power per band: absolute (uV^2) and relative to 0.5-25 Hz (0-1)."""

    absolute: dict[str, float]
    relative: dict[str, float]


@dataclass(frozen=True)
class Spectrogram:
    """Power spectral density per epoch of one channel (NaN rows: epochs without data)."""

    channel: str            # the derivation shown, e.g. "C4-M1"
    source: Source          # what was read (a channel, or plus - minus)
    freqs: np.ndarray       # (n_freqs,) Hz, FMIN..FMAX on the 1/30-Hz grid
    psd: np.ndarray         # (n_epochs, n_freqs) float32, uV^2/Hz
    epoch_sec: float
    sfreq: float
    nw: float
    n_tapers: int
    start_time: dt.datetime | None = None
    from_cache: bool = False

    @property
    def n_epochs(self) -> int:
        return int(self.psd.shape[0])

    @property
    def times(self) -> np.ndarray:
        """Each epoch's onset, seconds from the recording's start."""
        return np.arange(self.n_epochs) * self.epoch_sec

    @cached_property
    def power_db(self) -> np.ndarray:
        """(n_epochs, n_freqs) power in dB re 1 uV^2/Hz (what the picture shows)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return (10.0 * np.log10(np.maximum(self.psd, 1e-12))).astype(np.float32)

    @cached_property
    def band_power(self) -> np.ndarray:
        """(n_epochs, 5) absolute power per band of :data:`BANDS`, uV^2."""
        return band_powers(self.psd, self.freqs)

    @cached_property
    def relative_band_power(self) -> np.ndarray:
        """(n_epochs, 5) each band's share of the 0.5-25 Hz power (NaN: no data)."""
        df = float(self.freqs[1] - self.freqs[0]) if self.freqs.size > 1 else 1.0
        total = self.psd.sum(axis=1, dtype=np.float64) * df
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.band_power / total[:, None]

    def bands(self, epoch: int) -> BandPowers:
        """Band powers of epoch ``epoch`` (0-based), as the workstation lists them."""
        if not 0 <= epoch < self.n_epochs:
            raise ChannelError(f"Epoch {epoch} is outside this spectrogram's epochs 0 to "
                               f"{self.n_epochs - 1}.")
        names = list(BANDS)
        return BandPowers({n: float(v) for n, v in zip(names, self.band_power[epoch], strict=True)},
                          {n: float(v) for n, v in
                           zip(names, self.relative_band_power[epoch], strict=True)})


@lru_cache(maxsize=8)
def tapers(n: int, nw: float, k: int) -> np.ndarray:
    """(k, n) unit-energy DPSS tapers (scipy.signal.windows.dpss, l2-normalised), float32."""
    return sps.windows.dpss(n, nw, Kmax=k, norm=2).astype(np.float32)


def multitaper_psd(epochs: np.ndarray, sfreq: float, *, nw: float = NW,
                   n_tapers: int | None = None, fmin: float = FMIN, fmax: float = FMAX
                   ) -> tuple[np.ndarray, np.ndarray]:
    """(freqs, psd) of each row of ``epochs`` (uV): multitaper, one-sided, uV^2/Hz.

    Rows with under half their samples finite come back NaN; other non-finite samples
    are set to the row's mean before detrending (a short dropout, not a spectrum).
    Computed in single precision (twice as fast; ample for a picture in dB), summed in
    double.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> f, p = multitaper_psd(rng.normal(0, 10, (40, 3000)), 100.0)   # white, 10 uV rms
    >>> round(float(np.median(p.mean(axis=0))), 1)                    # 2 x 10^2 / 100 Hz
    2.0
    """
    x = np.array(epochs, np.float32)  # a copy: detrended in place
    n = x.shape[-1]
    k = int(n_tapers) if n_tapers is not None else max(int(round(2 * nw)) - 1, 1)
    freqs = sp_fft.rfftfreq(n, 1.0 / sfreq)
    keep = (freqs >= fmin - 1e-9) & (freqs <= min(fmax, sfreq / 2) + 1e-9)
    finite = np.isfinite(x)
    share = np.ones(x.shape[0])
    if not finite.all():
        share = finite.mean(axis=1)
        mean = np.where(finite, x, 0).sum(axis=1, dtype=np.float64) / np.maximum(
            finite.sum(axis=1), 1)
        np.copyto(x, mean[:, None].astype(np.float32), where=~finite)
    detrend_linear(x)
    psd = np.zeros((x.shape[0], int(keep.sum())))
    for taper in tapers(n, float(nw), k):  # one at a time: memory stays one chunk's size
        spec = sp_fft.rfft(x * taper, axis=-1)[:, keep]
        psd += np.square(spec.real, dtype=np.float64) + np.square(spec.imag, dtype=np.float64)
    psd *= 2.0 / (k * sfreq)  # mean over tapers; one-sided density
    nyquist = np.isclose(freqs[keep], sfreq / 2)
    psd[:, nyquist] /= 2.0  # the Nyquist bin has no negative-frequency twin
    psd[share < _MIN_FINITE] = np.nan
    return freqs[keep], psd


def detrend_linear(x: np.ndarray) -> np.ndarray:
    """Subtract each row's least-squares line from ``x``, in place; returns ``x``.

    What ``scipy.signal.detrend(type="linear")`` does, in closed form (a tenth of its
    time on a night of epochs).
    """
    n = x.shape[-1]
    t = np.arange(n, dtype=np.float64) - (n - 1) / 2.0
    mean = x.mean(axis=-1, dtype=np.float64)
    slope = (x @ t.astype(x.dtype)).astype(np.float64) / float(t @ t) if n > 1 else 0 * mean
    x -= mean[:, None].astype(x.dtype)
    x -= np.multiply.outer(slope, t).astype(x.dtype)
    return x


def band_powers(psd: np.ndarray, freqs: np.ndarray) -> np.ndarray:
    """(n_epochs, 5) absolute power (uV^2) per band of :data:`BANDS`; NaN beyond Nyquist.

    Bands are [lo, hi) except the last, which includes 25 Hz.
    """
    df = float(freqs[1] - freqs[0]) if freqs.size > 1 else 1.0
    out = np.full((psd.shape[0], len(BANDS)), np.nan)
    last = len(BANDS) - 1
    for j, (lo, hi) in enumerate(BANDS.values()):
        m = (freqs >= lo - 1e-9) & ((freqs < hi - 1e-9) | ((j == last) & (freqs <= hi + 1e-9)))
        if m.any() and freqs[-1] >= hi - 1e-9:
            out[:, j] = psd[:, m].sum(axis=1, dtype=np.float64) * df
    return out


def spectrogram_source(recording, channel: str | Source | None = None) -> Source:
    """The channel to analyse: ``channel`` (a name, ``"A - B"``, or a Source) or, by
    default, the central slot's source (C4-M1, C3-M2, ...), else the first EEG channel."""
    if isinstance(channel, Source):
        for name in (channel.plus, channel.minus):
            if name is not None:
                recording.channel(name)  # a mapping naming a channel the study lacks
        return channel
    if channel is not None:
        try:
            return parse_override(str(channel), recording.ch_names)
        except ChannelError:
            raise ChannelError(f"{recording.path.name} has no channel {channel!r}; its "
                               f"channels are: {', '.join(recording.ch_names)}.") from None
    src = recording.fill_slots(["central"])["central"]
    if src is not None:
        return src
    eeg = next(c for c in recording.channels if c.role == "EEG")  # opening checked one
    return Source(eeg.name, eeg.name, quality="substitute")


def night_spectrogram(recording, channel: str | Source | None = None, *, nw: float = NW,
                      fmin: float = FMIN, fmax: float = FMAX, chunk_epochs: int = 120,
                      cache: bool = True, progress: Callable[[float], None] | None = None
                      ) -> Spectrogram:
    """The multitaper spectrogram of a whole night, one 30-s window per epoch.

    Parameters
    ----------
    recording : Recording
        The study (read lazily, ``chunk_epochs`` epochs at a time).
    channel : str or Source, optional
        A channel name, ``"A - B"`` for a subtraction, or a Source; default the central
        slot's source (see :func:`spectrogram_source`).
    nw : float
        Time-bandwidth product; ``K = 2 nw - 1`` tapers.
    fmin, fmax : float
        Frequencies kept, Hz (fmax is capped at the channel's Nyquist frequency).
    cache : bool
        Read and keep the result in the night cache (:mod:`.night_cache`).
    progress : callable, optional
        Called with the share done (0-1) after each chunk; it may raise to stop.

    Examples
    --------
    >>> import numpy as np
    >>> from app.core.signals.recording import Recording
    >>> rng = np.random.default_rng(0)
    >>> rec = Recording.from_arrays(rng.normal(0, 10, (1, 6000)), ["EEG Fpz-Cz"], 100.0)
    >>> s = night_spectrogram(rec, "EEG Fpz-Cz", cache=False)
    >>> s.n_epochs, s.n_tapers, s.from_cache
    (2, 5, False)
    """
    src = spectrogram_source(recording, channel)
    plain = Source(src.name, src.plus, src.minus, src.quality)  # physical uV: no row gain
    sfreq = recording.channel(src.plus).sfreq
    k = max(int(round(2 * nw)) - 1, 1)
    n_ep, ep = recording.n_epochs, recording.epoch_sec
    n = int(round(ep * sfreq))

    def compute() -> dict[str, np.ndarray]:
        parts, freqs = [], None
        for e0 in range(0, n_ep, max(int(chunk_epochs), 1)):
            e1 = min(e0 + max(int(chunk_epochs), 1), n_ep)
            data = recording.get_window(e0 * ep, e1 * ep, [plain])[plain.name].data
            freqs, psd = multitaper_psd(data[: (e1 - e0) * n].reshape(e1 - e0, n), sfreq,
                                        nw=nw, n_tapers=k, fmin=fmin, fmax=fmax)
            parts.append(psd.astype(np.float32))
            if progress is not None:
                progress(e1 / n_ep)
        return {"freqs": freqs, "psd": np.concatenate(parts)}

    params = {"source": [plain.plus, plain.minus], "nw": nw, "k": k, "fmin": fmin,
              "fmax": fmax, "epoch_sec": ep, "sfreq": sfreq, "n_epochs": n_ep,
              "detrend": "linear"}
    if cache:
        arrays, hit = night_arrays(recording, "spectrogram", params, compute)
    else:
        arrays, hit = compute(), False
    return Spectrogram(src.name, src, arrays["freqs"], arrays["psd"], ep, sfreq, nw, k,
                       recording.start_time, hit)
