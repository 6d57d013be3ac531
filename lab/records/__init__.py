"""Reading back what was recorded: measurements from documents, step times, the sample
ledger."""
