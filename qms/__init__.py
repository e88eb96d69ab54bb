"""The shell above the roles: the `qms` command line, the demo and the assembly of the config.

Nothing imports this package; it imports the roles (dispatcher, kiosk, display, printer).
"""
