"""The Python API: what the CLI does, callable from a scheduler or a notebook."""
