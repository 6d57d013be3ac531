"""What people write: the lab, campaign and diagnostics files, read, checked against each
other and documented."""
