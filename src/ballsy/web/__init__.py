"""The browser client (``/``) and admin dashboard (``/admin``): static files and their routes."""
