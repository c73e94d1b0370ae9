"""aftercar.stats."""
