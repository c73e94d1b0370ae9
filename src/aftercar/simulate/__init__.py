"""aftercar.simulate."""
