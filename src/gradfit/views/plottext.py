"""The words on the plots in English or Korean, and a font that can draw them.

Plot code writes its labels in English through :func:`tr`; inside
``with plot_language("ko"):`` they come out in Korean, drawn with a font that has
Hangul (Noto Sans CJK from Debian's fonts-noto-cjk, or another Korean font
Matplotlib knows). Without such a font the labels stay English, with one warning
that says what to install, rather than rows of empty boxes.
"""

from __future__ import annotations

import contextlib
import warnings
from contextvars import ContextVar
from typing import Iterator

import matplotlib
from matplotlib import font_manager

from ..errors import OptionError

PLOT_LANGUAGES = ("en", "ko")

#: Korean fonts in order of preference; the first one Matplotlib knows draws the Hangul
HANGUL_FONTS = ("Noto Sans CJK KR", "Noto Sans KR", "NanumGothic", "Malgun Gothic", "AppleGothic",
                "Noto Sans CJK JP", "UnDotum")

_language: ContextVar[str] = ContextVar("gradfit_plot_language", default="en")

#: English label (a str.format template) -> Korean
KOREAN = {
    "epoch": "에포크",
    "step": "스텝",
    "epoch (fraction of the data seen)": "에포크 (본 데이터의 비율)",
    "loss (training objective)": "손실 (학습 목적 함수)",
    "loss − exact optimum": "손실 − 정확한 최적값",
    "Learning curve": "학습 곡선",
    "Gap to the exact optimum": "정확한 최적값까지의 차이",
    "exact optimum": "정확한 최적값",
    "exact optimum ({label})": "정확한 최적값 ({label})",
    "full batch": "전체 배치",
    "per sample": "샘플 하나씩",
    "batch {size}": "배치 {size}",
    "data": "데이터",
    "fit: y = {equation}": "학습: y = {equation}",
    "exact: y = {equation}": "정확한 해: y = {equation}",
    "earlier lines, epochs {first}–{last}": "이전 직선, 에포크 {first}–{last}",
    "Data and fitted line": "데이터와 학습된 직선",
    "rows": "행",
    "predicted = actual": "예측 = 실제",
    "actual {name}": "실제 {name}",
    "predicted {name}": "예측 {name}",
    "Predicted vs actual (R² = {r2:.4f})": "예측 vs 실제 (R² = {r2:.4f})",
    "residual (actual − predicted)": "잔차 (실제 − 예측)",
    "Residuals": "잔차",
    "cost(W)": "비용(W)",
    "steps ({n} entries)": "갱신 ({n}개 기록)",
    "W (weight of {name})": "W ({name}의 가중치)",
    "cost": "비용",
    "Cost as a function of W": "W에 따른 비용",
    "b (intercept)": "b (절편)",
    "Loss over {x} and {y}": "{x}와 {y}에 대한 손실",
    "(others held at the fit)": "(나머지는 학습 결과에 고정)",
    "descent path ({n} entries)": "하강 경로 ({n}개 기록)",
    "descent path": "하강 경로",
    "start": "시작",
    "end": "끝",
    "current": "현재",
    "loss": "손실",
    "epoch {epoch}, step {step}: loss {loss:.5g}": "에포크 {epoch}, 스텝 {step}: 손실 {loss:.5g}",
    "epoch {epoch}: y = {equation}, loss {loss:.4g}": "에포크 {epoch}: y = {equation}, 손실 {loss:.4g}",
    "fit": "학습",
}


def current_language() -> str:
    """the language plots are labelled in right now ("en" unless inside :func:`plot_language`)"""
    return _language.get()


def tr(english: str, **values) -> str:
    """a label in the current plot language, from its English template"""
    template = KOREAN.get(english, english) if _language.get() == "ko" else english
    return template.format(**values) if values else template


def hangul_font() -> str | None:
    """the name of a font Matplotlib knows that has Hangul, or None"""
    known = {font.name for font in font_manager.fontManager.ttflist}
    return next((name for name in HANGUL_FONTS if name in known), None)


@contextlib.contextmanager
def plot_language(lang: str) -> Iterator[str]:
    """Label the plots drawn inside this block in ``lang`` ("en" or "ko").

    Yields the language actually used: "ko" needs a font with Hangul; without one
    the labels stay English and a warning names the package to install.
    """
    if lang not in PLOT_LANGUAGES:
        raise OptionError(f"option lang={lang!r} is not one of {list(PLOT_LANGUAGES)}")
    rc = {}
    if lang == "ko":
        font = hangul_font()
        if font is None:
            warnings.warn("Korean plot labels need a font with Hangul (Debian: apt-get install fonts-noto-cjk, "
                          "or make system-deps; if it was installed after Matplotlib first ran, remove "
                          f"Matplotlib's font cache in {matplotlib.get_cachedir()}); drawing English labels",
                          stacklevel=3)
            lang = "en"
        else:
            # Latin letters and digits stay in the default font; Hangul falls back to the Korean one
            rc = {"font.family": ["sans-serif", font], "axes.unicode_minus": False}
    token = _language.set(lang)
    try:
        with matplotlib.rc_context(rc):
            yield lang
    finally:
        _language.reset(token)
