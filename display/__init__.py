"""qms display: the hall screen, the caller buttons and the voice."""
