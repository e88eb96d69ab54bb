"""The RS-485 bus: window displays, caller keypads and 好差评 rating pads over Modbus RTU.

`registers` and `frames` are pure (the register map, what a display shows); `master` owns the
serial port on one thread; `service` joins the master to the dispatcher; `emulator` is the
devices' fake, speaking the register map over a pseudo-terminal.
"""
