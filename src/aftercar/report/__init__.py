"""aftercar.report."""
