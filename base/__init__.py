"""The small base every role stands on: paths, systemd notification, fonts, backoff, errors,
config reading and the pygame window both screens use. It imports no role."""

__version__ = "0.1.0"
