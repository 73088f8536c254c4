"""Devices named in settings: checked when the configuration is built, before any data is read.

:func:`check_device_name` checks the spelling (no torch needed); :func:`resolve_device` also
checks that the device exists here. Both raise :class:`~embcollapse.errors.ConfigError` naming
the option.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .errors import ConfigError

if TYPE_CHECKING:
    import torch

DEVICE_NAMES = "auto, cpu, cuda, cuda:N or mps"
_DEVICE = re.compile(r"^(auto|cpu|cuda(:\d+)?|mps)$")


def check_device_name(device: str, option: str = "device") -> str:
    """``device`` if it is spelled as one of :data:`DEVICE_NAMES`, else :class:`ConfigError`."""
    if not isinstance(device, str) or not _DEVICE.match(device):
        raise ConfigError(f"{option}: unknown device {device!r}; expected {DEVICE_NAMES}")
    return device


def resolve_device(device: str | torch.device | None = "auto",
                   option: str = "device") -> torch.device:
    """``auto`` -> cuda when available, else cpu; anything else checked against this machine
    (CUDA present, GPU index below the number of GPUs, MPS present)."""
    import torch

    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if isinstance(device, torch.device):
        device = str(device)
    check_device_name(device, option)
    dev = torch.device(device)
    if dev.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ConfigError(f"{option}: {device!r} requested but CUDA is not available here "
                              f"(use cpu or auto)")
        if dev.index is not None and dev.index >= count:
            raise ConfigError(f"{option}: {device!r} requested but only {count} GPU(s) are "
                              f"visible (cuda:0..cuda:{count - 1})")
    if dev.type == "mps" and not (getattr(torch.backends, "mps", None)
                                  and torch.backends.mps.is_available()):
        raise ConfigError(f"{option}: 'mps' requested but MPS is not available here")
    return dev
