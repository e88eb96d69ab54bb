"""qms printer: tickets rendered to ESC/POS bytes, printer links, status and the fake printer."""
