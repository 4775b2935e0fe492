"""Renderers: data in, text out. Nothing here opens the database."""
