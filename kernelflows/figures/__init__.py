"""Every figure of the talk, by stable IDs (the figure catalogue of the talk).

``python -m kernelflows.figures`` regenerates them; lectures call :func:`draw`.
"""

from ..experiments.registry import SCALES
from .registry import FigureOutput, FigureSpec, draw, figures, get, register

__all__ = ["SCALES", "FigureOutput", "FigureSpec", "draw", "figures", "get", "register"]
