"""The campaign loop: the runner that asks the planner and runs trials, approvals,
replaying a campaign's proposals, and the lab server's manager of campaigns."""
