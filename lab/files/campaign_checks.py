"""Checks of a campaign's files against each other and against the lab, made before
anything opens or moves: placeholders fit parameters, and the bounds fit the devices."""

from __future__ import annotations

from pathlib import Path

import pint
from pydantic import ValidationError

from devices import unit_symbol
from lab.errors import ConfigError, problems_of
from lab.files.campaign_file import CampaignConfig
from lab.files.yaml_reading import load_yaml_model
from planners import ChoiceParameter, ParameterValue, SearchSpace
from protocols import Dispense, LabLimits, Placeholder, PreflightError, Protocol, preflight
from protocols.models import Pipette
from protocols.plate_checks import PlateDevices

ureg = pint.get_application_registry()


def load_protocol(path: str | Path) -> Protocol:
    """Read and validate a protocol file; a :class:`ConfigError` names the file and field.

    Args:
        path: the protocol file.
    """
    return load_yaml_model(Protocol, path)


def campaign_protocol(campaign: CampaignConfig) -> Protocol:
    """The campaign's protocol, checked against its parameters before any trial: every
    placeholder has a parameter whose unit fits where it is used."""
    protocol = load_protocol(campaign.protocol)
    problems = []
    used = protocol.placeholders()
    for name, path in used.items():
        if name not in campaign.parameters:
            problems.append(f"{path}: placeholder {{{name}}} is not a campaign parameter")
    unused = set(campaign.parameters) - set(used)
    if unused:
        problems.append(f"parameters {sorted(unused)} are not used by protocol {protocol.name!r}")
    if set(used) <= set(campaign.parameters):
        for bound, values in corners(campaign.search_space())[:2]:
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


def corners(space: SearchSpace) -> list[tuple[str, dict[str, ParameterValue]]]:
    """Points that between them try each numeric parameter at both its bounds ("lower":
    all at the lowest, "upper": all at the highest) and each choice at least once (a
    choice goes round its list from one point to the next)."""
    longest = max(
        [2, *(len(p.choices) for p in space.parameters if isinstance(p, ChoiceParameter))]
    )
    points = []
    for i in range(longest):
        bound = "lower" if i % 2 == 0 else "upper"
        points.append(
            (
                bound,
                {
                    p.name: p.choices[i % len(p.choices)]
                    if isinstance(p, ChoiceParameter)
                    else p.quantity(getattr(p, bound))
                    for p in space.parameters
                },
            )
        )
    return points


def check_bounds(
    campaign: CampaignConfig, protocol: Protocol, limits: LabLimits, source: str | Path
) -> None:
    """Preflight the protocol with every parameter at its lower, then its upper bound,
    and with every choice, before the campaign starts. A bound the lab cannot honour (a
    temperature beyond the heater) or a choice it cannot (a reagent no pump holds) is
    blamed on the parameter; a problem at both bounds (an unknown location) is the
    protocol's own.

    Args:
        campaign: the checked campaign file.
        protocol: its protocol, with placeholders.
        limits: the limits read from the lab's devices.
        source: the campaign file, named in errors.
    """
    space = campaign.search_space()
    kinds = {p.name: p for p in space.parameters}
    placeholders = protocol.placeholders()
    found: list[tuple[str, dict[str, ParameterValue], list]] = []
    for bound, values in corners(space):
        try:
            preflight(protocol.fill(values), limits)
            found.append((bound, values, []))
        except PreflightError as err:
            found.append((bound, values, err.violations))
    problems: set[str] = set()
    for bound, values, violations in found:
        for v in violations:
            owners = [name for name, path in placeholders.items() if v.concerns(path)]
            for n in owners:
                if isinstance(kinds[n], ChoiceParameter):
                    problems.add(
                        f"parameters.{n}.choices: {v.message} (with {n} = {values[n]}, used "
                        f"at {v.path})"
                    )
                else:
                    field = "min" if bound == "lower" else "max"
                    problems.add(f"parameters.{n}.{field}: {v.message} (used at {v.path})")
            if not owners and sum(v in other for _, _, other in found) > 1:
                problems.add(f"{protocol.name}: {v}")
    capacity = _capacity_problem(space, protocol, limits)
    if capacity:
        problems.add(capacity)
    if problems:
        raise ConfigError(source, sorted(problems))


def _capacity_problem(space: SearchSpace, protocol: Protocol, limits: LabLimits) -> str | None:
    """Whether some corner of the space dispenses more than a vial (a plate protocol: a
    well) holds (a linear programme over the bounds and constraints), with a constraint
    that would prevent it."""
    fixed_ml, weights = 0.0, dict[str, float]()
    units = {p.name: p.unit for p in space.numeric}
    filling = Pipette if protocol.on_plate else Dispense
    for step in protocol.steps:
        if not isinstance(step, filling):
            continue
        if isinstance(step.volume, Placeholder):
            name = step.volume.key
            if name not in units:
                continue  # not a number: filling the protocol says so
            per_unit = float(ureg.Quantity(1.0, units[name]).m_as("mL"))
            weights[name] = weights.get(name, 0.0) + per_unit
        else:
            fixed_ml += float(step.volume.m_as("mL"))
    found = space.maximum(weights) if weights else (0.0, {})
    if protocol.on_plate:
        well = PlateDevices.of(limits.devices).handler_limits.get("well_volume")
        if well is None:
            return None  # preflight says the lab has no liquid handler
        capacity, unit, holder = well.high / 1000, "µL", "well"
    else:
        capacity, unit, holder = limits.vial_capacity.high, "mL", "vial"
    if found is None or found[0] + fixed_ml <= capacity + 1e-9:
        return None
    most, point = found
    scale = 1000 if unit == "µL" else 1
    where = ", ".join(f"{n} = {point[n]:g} {unit_symbol(units[n])}" for n in weights)
    at = f"at {where} " if where else ""
    terms = " + ".join(weights)
    advice = (
        f"add a constraint such as '{terms} <= {(capacity - fixed_ml) * scale:g} {unit}'"
        if terms and capacity > fixed_ml
        else "fill it with less"
    )
    verb = "fills a well with" if protocol.on_plate else "dispenses"
    return (
        f"parameters: {at}the protocol {verb} {(most + fixed_ml) * scale:g} {unit}, more "
        f"than a {holder}'s {capacity * scale:g} {unit}; {advice}"
    )
