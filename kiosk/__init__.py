"""qms kiosk: the touchscreen ticket app residents use."""
