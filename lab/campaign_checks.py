"""Checks of a campaign's files against each other and against the lab, made before
anything opens or moves: placeholders fit parameters, and the bounds fit the devices."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from lab.campaign_config import CampaignConfig
from lab.errors import ConfigError, load_yaml_model, problems_of
from protocols import LabLimits, PreflightError, Protocol, preflight


def campaign_protocol(campaign: CampaignConfig) -> Protocol:
    """The campaign's protocol, checked against its parameters before any trial: every
    placeholder has a parameter whose unit fits where it is used."""
    protocol = load_yaml_model(Protocol, campaign.protocol)
    problems = []
    used = protocol.placeholders()
    for name, path in used.items():
        if name not in campaign.parameters:
            problems.append(f"{path}: placeholder {{{name}}} is not a campaign parameter")
    unused = set(campaign.parameters) - set(used)
    if unused:
        problems.append(f"parameters {sorted(unused)} are not used by protocol {protocol.name!r}")
    if set(used) <= set(campaign.parameters):
        space = campaign.search_space()
        for bound in ("lower", "upper"):
            values = {p.name: p.quantity(getattr(p, bound)) for p in space.parameters}
            try:
                protocol.fill(values)
            except ValidationError as err:
                problems += [
                    f"with parameters at their {bound} bounds: {p}" for p in problems_of(err)
                ]
                break
    if problems:
        raise ConfigError(campaign.protocol, problems)
    return protocol


def check_bounds(
    campaign: CampaignConfig, protocol: Protocol, limits: LabLimits, source: str | Path
) -> None:
    """Preflight the protocol with every parameter at its lower, then its upper bound,
    before the campaign starts. A bound the lab cannot honour (a temperature beyond the
    heater) is blamed on the parameter; a problem at both bounds (an unknown location)
    is the protocol's own."""
    space = campaign.search_space()
    placeholders = protocol.placeholders()
    found: dict[str, list] = {}
    for bound in ("lower", "upper"):
        values = {p.name: p.quantity(getattr(p, bound)) for p in space.parameters}
        try:
            preflight(protocol.fill(values), limits)
            found[bound] = []
        except PreflightError as err:
            found[bound] = err.violations
    problems: set[str] = set()
    for bound, violations in found.items():
        other = found["upper" if bound == "lower" else "lower"]
        for v in violations:
            owners = [name for name, path in placeholders.items() if v.concerns(path)]
            if owners:
                field = "min" if bound == "lower" else "max"
                problems |= {
                    f"parameters.{n}.{field}: {v.message} (used at {v.path})" for n in owners
                }
            elif v in other:
                problems.add(f"{protocol.name}: {v}")
    if problems:
        raise ConfigError(source, sorted(problems))
