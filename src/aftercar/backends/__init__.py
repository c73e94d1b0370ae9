"""aftercar.backends."""
