"""The ports: what the core needs from the outside world, as ``typing.Protocol``s."""

from deltaglider.ports.cache import CachePort
from deltaglider.ports.clock import ClockPort
from deltaglider.ports.diff import DiffPort
from deltaglider.ports.hash import HashPort
from deltaglider.ports.logger import LoggerPort
from deltaglider.ports.metrics import MetricsPort
from deltaglider.ports.storage import ObjectHead, ProgressCallback, StoragePort

__all__ = [
    "CachePort",
    "ClockPort",
    "DiffPort",
    "HashPort",
    "LoggerPort",
    "MetricsPort",
    "ObjectHead",
    "ProgressCallback",
    "StoragePort",
]
