"""aftercar.vocab."""
