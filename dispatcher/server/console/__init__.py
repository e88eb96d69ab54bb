"""The center console: web pages for managers and window staff, served by the dispatcher."""
