"""Pure queue logic: commands and a clock in, new state and events out. No I/O."""
