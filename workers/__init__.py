"""Dramatiq broker and workers, and the import/export pipelines they run (stage, diff, apply)."""
