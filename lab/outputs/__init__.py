"""What a campaign leaves for people: tables, plots, the HTML report and bundles."""
