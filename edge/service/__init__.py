"""Running as a service: sd_notify, clean stops on signals, and the runtime loop itself."""

from edge.service.notify import Notifier
from edge.service.stop import StopFlag

__all__ = ["Notifier", "StopFlag"]
