"""The playground's words in English and Korean (gradient: 그래디언트; the slope of a line: 기울기)."""

from __future__ import annotations

from ..errors import OptionError

LANGUAGES = {"en": "English", "ko": "한국어"}

WORDS = {
    "title": ("gradfit playground: watch gradient descent", "gradfit 놀이터: 경사 하강법을 지켜보기"),
    "data": ("Data", "데이터"),
    "features": ("Features", "특성"),
    "target": ("Target", "타깃"),
    "bias": ("Fit a bias b (H(x) = Wx + b)", "편향 b 학습 (H(x) = Wx + b)"),
    "loss": ("Loss", "손실"),
    "optimizer": ("Optimizer", "옵티마이저"),
    "momentum": ("Momentum", "모멘텀"),
    "nesterov": ("Nesterov", "네스테로프"),
    "beta1": ("β₁ (Adam)", "β₁ (Adam)"),
    "beta2": ("β₂ (Adam)", "β₂ (Adam)"),
    "rho": ("ρ (RMSprop)", "ρ (RMSprop)"),
    "lr": ("Learning rate (log scale)", "학습률 (로그 눈금)"),
    "lr_auto": ("auto (a safe rate for this data)", "auto (이 데이터에 안전한 학습률)"),
    "on_change": ("When the learning rate changes", "학습률을 바꾸면"),
    "continue": ("continue from this step", "이 스텝에서 이어서"),
    "restart": ("restart from the start", "처음부터 다시"),
    "batch": ("Batch", "배치"),
    "full": ("full", "전체"),
    "one": ("1 (per sample)", "1 (샘플 하나씩)"),
    "k": ("k rows", "k개 행"),
    "batch_size": ("k", "k"),
    "epochs": ("Epochs", "에포크"),
    "preprocess": ("Preprocessing", "전처리"),
    "seed": ("Seed", "시드"),
    "params": ("Surface over", "손실 곡면의 두 축"),
    "race": ("Race these optimizers on the same start", "같은 시작점에서 경주할 옵티마이저"),
    "run": ("▶ Run", "▶ 실행"),
    "pause": ("❚❚ Pause", "❚❚ 멈춤"),
    "step": ("Step +1", "스텝 +1"),
    "reset": ("⟲ Replay", "⟲ 다시 보기"),
    "surface": ("Loss surface", "손실 곡면"),
    "curve": ("Learning curve", "학습 곡선"),
    "line": ("Data and fitted line", "데이터와 학습된 직선"),
    "pred": ("Predicted vs actual", "예측 vs 실제"),
    "table": ("This step's numbers", "이 스텝의 숫자"),
    "export": ("Export", "내보내기"),
    "export_gradfit": ("gradfit", "gradfit"),
    "export_torch": ("PyTorch loop", "PyTorch 반복문"),
    "surface3d": ("3-D surface", "3차원 곡면"),
    "epoch_axis": ("epoch", "에포크"),
    "loss_axis": ("loss", "손실"),
    "gap": ("loss − exact optimum", "손실 − 정확한 최적값"),
    "exact": ("exact optimum", "정확한 최적값"),
    "start": ("start", "시작"),
    "now": ("now", "현재"),
    "data_points": ("data", "데이터"),
    "fit": ("fit", "학습"),
    "status": ("step {step} of {steps} · epoch {epoch:.2f} · loss {loss:.6g} · gap to the optimum {gap:.3g}",
               "스텝 {step}/{steps} · 에포크 {epoch:.2f} · 손실 {loss:.6g} · 최적값까지의 차이 {gap:.3g}"),
    "start_row": ("Step 0 is the start: W and b before any update. Press Step +1.",
                  "스텝 0은 시작점입니다: 갱신하기 전의 W와 b. 스텝 +1을 누르세요."),
    "row": ("row", "행"),
    "x": ("x (descent's units)", "x (하강 단위)"),
    "y": ("y (descent's units)", "y (하강 단위)"),
    "prediction": ("prediction ŷ", "예측 ŷ"),
    "residual": ("residual ŷ − y", "잔차 ŷ − y"),
    "param": ("parameter", "매개변수"),
    "before": ("before", "갱신 전"),
    "gradient": ("gradient", "그래디언트"),
    "minus_lr_grad": ("−lr·gradient", "−lr·그래디언트"),
    "update": ("update", "갱신량"),
    "after": ("after", "갱신 후"),
    "after_data": ("after (data's units)", "갱신 후 (데이터 단위)"),
    "step_caption": ("Step {step} (epoch {epoch}, batch rows {rows}); lr = {lr:.4g}; loss {before:.6g} → {after:.6g}",
                     "스텝 {step} (에포크 {epoch}, 배치의 행 {rows}); lr = {lr:.4g}; 손실 {before:.6g} → {after:.6g}"),
    "more_rows": ("… and {more} more rows", "… 외 {more}개 행"),
    "units_note": ("Numbers in the descent's units (after preprocessing), where the optimizer works.",
                   "숫자는 옵티마이저가 일하는 하강 단위(전처리 후)입니다."),
    "export_note": ("Paste into Python: it prints the coefficients and intercept on screen.",
                    "파이썬에 붙여 넣으면 화면의 계수와 절편을 출력합니다."),
    "adaptive_note": ("Adam, RMSprop and Adagrad divide each gradient entry by its own size: an entry that is only "
                      "round-off (the intercept of centered data) can make the two programs part in that entry.",
                      "Adam, RMSprop, Adagrad는 그래디언트의 각 성분을 그 크기로 나눕니다. 반올림 오차뿐인 성분(중심화한 "
                      "데이터의 절편)은 두 프로그램에서 달라질 수 있습니다."),
    "error": ("error: {message}", "오류: {message}"),
    "language": ("Language", "언어"),
}


def word(key: str, lang: str, **values) -> str:
    """the text of ``key`` in ``lang``"""
    if lang not in LANGUAGES:
        raise OptionError(f"option lang={lang!r} is not one of {list(LANGUAGES)}")
    text = WORDS[key][list(LANGUAGES).index(lang)]
    return text.format(**values) if values else text
