"""The running lab: its devices built from the lab file (real or simulated), the executor
that runs plans, the emergency stop, the interlocks and the monitor."""
