"""lowbit: low-bit neural-network weights on CPUs, from NumPy.

The real C++ library underneath (no copies of your arrays, the GIL released while it works):

* kernels on arrays: :func:`quantize`, :func:`dequantize`, :func:`gemv`, :func:`matmul`,
  :func:`cosine_similarity`, :func:`metrics`, :func:`formats`, :func:`isa`, :func:`set_isa`;
* model files: :func:`quantize_model` (``lowbit quantize``), :func:`inspect` (``lowbit inspect``);
* inference: :class:`Model` (generate, chat, score, logits);
* PyTorch (optional): :mod:`lowbit.calibrate` (statistics for ``quantize_model(calib=...)``) and
  :mod:`lowbit.torch` (a module evaluated exactly as quantized); :func:`read_tensors` and
  :func:`write_safetensors` under them.

Errors are :class:`Error` subclasses carrying the C++ message (:class:`FormatError`,
:class:`ModelFileError`, ...); bad arguments are also ``ValueError`` / ``TypeError``.
See docs/PYTHON.md.
"""

from ._lowbit import (
    __version__,
    ArgumentError,
    BusyError,
    CancelledError,
    ContextFullError,
    Error,
    FileSystemError,
    FormatError,
    Model,
    ModelFileError,
    OutOfMemoryError,
    QuantizedTensor,
    TextStream,
    UnsupportedError,
    cosine_similarity,
    dequantize,
    formats,
    gemv,
    inspect,
    isa,
    isas,
    matmul,
    metrics,
    quantize,
    quantize_model,
    read_tensors,
    set_isa,
    set_threads,
    threads,
    write_safetensors,
)

__all__ = [
    "__version__",
    "ArgumentError",
    "BusyError",
    "CancelledError",
    "ContextFullError",
    "Error",
    "FileSystemError",
    "FormatError",
    "Model",
    "ModelFileError",
    "OutOfMemoryError",
    "QuantizedTensor",
    "TextStream",
    "UnsupportedError",
    "cosine_similarity",
    "dequantize",
    "formats",
    "gemv",
    "inspect",
    "isa",
    "isas",
    "matmul",
    "metrics",
    "quantize",
    "quantize_model",
    "read_tensors",
    "set_isa",
    "set_threads",
    "threads",
    "write_safetensors",
]
