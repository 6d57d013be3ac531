"""``python -m bench [--quick]``: every benchmark, one after another."""

import argparse

from bench import (
    api_latency,
    cli_start,
    estop_latency,
    interlock_reaction,
    mock_devices,
    notification_latency,
    overnight_soak,
    parallel_stations,
    planner_efficiency,
    planner_latency,
    push_latency,
    spectral_planner,
    transports,
)

parser = argparse.ArgumentParser(description="run every benchmark")
parser.add_argument("--quick", action="store_true", help="short runs")
quick = parser.parse_args().quick
cli_start.main(quick)
push_latency.main(quick)
estop_latency.main(quick)
api_latency.main(quick)
notification_latency.main(quick)
interlock_reaction.main(quick)
mock_devices.main(quick)
transports.main(quick)
planner_latency.main(quick)
planner_efficiency.main(quick)
spectral_planner.main(quick)
parallel_stations.main(quick)
overnight_soak.main(40 if quick else 500)
