"""aftercar.benchmark."""
