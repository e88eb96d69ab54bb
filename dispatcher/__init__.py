"""qms dispatcher: the queue core, the calling policy, config, and (later) the LAN service."""

__version__ = "0.1.0"
