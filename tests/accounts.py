"""Sessions in several emulated accounts: moto keeps separate state per assumed account."""

from sandbox.provision import REGION, session_for

__all__ = ["REGION", "session_for"]
