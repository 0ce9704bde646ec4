"""PyTorch, imported only by the modules that need it (lowbit.calibrate, lowbit.torch)."""


def require_torch(module):
    """The torch module, or an ImportError saying which lowbit module needs it."""
    try:
        import torch
    except ImportError as e:  # pragma: no cover - depends on the machine
        raise ImportError(f"{module} needs PyTorch (Debian: python3-torch)") from e
    return torch
