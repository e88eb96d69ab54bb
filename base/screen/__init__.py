"""The pygame window, painter and screen items shared by the kiosk and the hall screen."""
