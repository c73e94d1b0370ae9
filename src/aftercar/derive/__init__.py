"""aftercar.derive."""
