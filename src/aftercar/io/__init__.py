"""aftercar.io."""
