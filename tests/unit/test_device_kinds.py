"""Devices of any kind from the lab file: a kind named by entry point or import path, its
settings checked by its own model, protocols checked by capability. Each bad entry is
refused before anything starts, naming the file, the field and what to do."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab import ConfigError, load_lab_config
from protocols import PreflightError, Protocol, preflight
from tests.conftest import edit_yaml

BALANCE = {
    "kind": "mt_sics_balance",
    "pan": "scale",
    "capacity": "220 g",
}


def _with(example_dir: Path, entry: dict, place: str = "scale") -> Path:
    """The example lab with one more device, and a place for it the arm reaches."""

    def edit(lab: dict) -> None:
        lab["locations"][place] = {"xyz_mm": [100, 100, 0]}
        lab["devices"]["arm"]["reach"].append(place)
        lab["devices"]["balance"] = entry

    path = example_dir / "lab.yaml"
    edit_yaml(path, edit)
    return path


def _refusal(path: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_lab_config(path)
    assert str(path) in str(caught.value)  # the file is named
    return str(caught.value)


def test_a_device_of_an_installed_kind_is_read_with_its_own_settings(example_dir: Path):
    config = load_lab_config(_with(example_dir, BALANCE))
    assert config.package_devices == ["balance"]
    assert config.settings_of("balance").readability.m_as("mg") == pytest.approx(0.1)
    by_path = dict(BALANCE, **{"class": "sdl_balance.kind:BalanceKind"})
    del by_path["kind"]
    assert load_lab_config(_with(example_dir, by_path)).kind_name("balance") == by_path["class"]


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        (
            {"kind": "pH_probe"},
            "devices.balance.kind: no installed device kind 'pH_probe'; installed: analyser, "
            "epics_heating_block, mt_sics_balance, pylabrobot_liquid_handler, "
            "pylabrobot_plate_reader, robotic_arm, sila2_heating_block",
        ),
        (
            {"class": "no_such_package.kind:Kind"},
            "devices.balance.class: 'no_such_package.kind:Kind' does not import",
        ),
        ({"class": "sdl_balance.kind"}, "write it as package.module:Kind"),
        ({"class": "sdl_balance.kind:Nothing"}, "sdl_balance.kind has no 'Nothing'"),
        ({"class": "collections:OrderedDict"}, "is not a device kind"),
        ({"class": "sdl_balance:Balance"}, "is an ophyd-async device class; name its DeviceKind"),
        ({"kind": "mt_sics_balance", "class": "sdl_balance.kind:BalanceKind"}, "not both"),
        (
            dict(BALANCE, capacity="220 mL"),
            "devices.balance.capacity: '220 mL' has the wrong dimension",
        ),
        (dict(BALANCE, colour="red"), "devices.balance.colour: Extra inputs are not permitted"),
        ({k: v for k, v in BALANCE.items() if k != "pan"}, "devices.balance.pan: Field required"),
        (dict(BALANCE, transport={"type": "opcua"}), "speaks serial, sim, not opcua"),
        (dict(BALANCE, pan="nowhere"), "devices.balance: unknown location 'nowhere'"),
        (
            dict(BALANCE, pan="spectrometer"),
            "devices.balance: 'spectrometer' is where another device holds its vial",
        ),
    ],
)
def test_a_bad_device_entry_is_refused_naming_its_field(example_dir: Path, entry: dict, words: str):
    assert words in _refusal(_with(example_dir, entry))


def test_a_protocol_needing_a_capability_no_device_has_is_refused(example_dir: Path):
    config = load_lab_config(example_dir / "lab.yaml")
    protocol = Protocol.model_validate(
        {
            "name": "weighs",
            "steps": [
                {"step": "transfer", "source": "rack", "destination": "spectrometer"},
                {"step": "weigh"},
                {"step": "discard", "source": "spectrometer"},
            ],
        }
    )
    with pytest.raises(PreflightError) as caught:
        preflight(protocol, config.declared_limits())
    assert [str(v) for v in caught.value.violations] == [
        "steps.1: a weigh step needs a device that weighs, and this lab has none"
    ]


def test_a_step_is_checked_against_the_device_that_does_it(example_dir: Path):
    config = load_lab_config(_with(example_dir, BALANCE))
    limits = config.declared_limits()

    def problems(*steps: dict) -> list[str]:
        protocol = Protocol.model_validate({"name": "p", "steps": list(steps)})
        try:
            preflight(protocol, limits)
        except PreflightError as err:
            return [str(v) for v in err.violations]
        return []

    to_pan = {"step": "transfer", "source": "rack", "destination": "scale"}
    away = {"step": "discard", "source": "scale"}
    assert problems(to_pan, {"step": "weigh", "tare": True}, away) == []
    assert problems(to_pan, {"step": "weigh", "expected": "500 g"}, away) == [
        "steps.1.expected: 500 g is beyond what the balance weighs (0..220 g)"
    ]
    assert problems(to_pan, {"step": "weigh", "device": "station"}, away) == [
        "steps.1.device: station cannot do a weigh step (it needs a device that weighs; "
        "here balance can)"
    ]
    in_station = {"step": "transfer", "source": "rack", "destination": "synthesis_station"}
    assert problems(
        in_station, {"step": "weigh"}, {"step": "discard", "source": "synthesis_station"}
    ) == ["steps.1: needs the vial at 'scale' (it is at 'synthesis_station')"]


def test_a_step_no_package_offers_is_refused_with_the_steps_there_are():
    with pytest.raises(ValueError) as caught:
        Protocol.model_validate({"name": "p", "steps": [{"step": "centrifuge", "speed": "1 rpm"}]})
    message = str(caught.value)
    assert "unknown step 'centrifuge'" in message
    assert "the steps every lab knows are transfer, dispense, heat" in message


def test_a_package_step_keeps_its_placeholders_and_fills_them():
    import pint

    template = Protocol.model_validate(
        {"name": "p", "steps": [{"step": "weigh", "expected": "{dose}", "tolerance": "5 mg"}]}
    )
    assert template.placeholders() == {"dose": "steps.0.expected"}
    filled = template.fill({"dose": pint.get_application_registry().Quantity(1.5, "g")})
    assert filled.steps[0].fields.expected.m_as("g") == pytest.approx(1.5)
    assert filled.to_json_dict()["steps"][0] == {
        "step": "weigh",
        "tare": False,
        "expected": "1.5 gram",  # as every quantity of a protocol's JSON
        "tolerance": "5.0 milligram",
    }


def test_a_pylabrobot_backend_that_cannot_be_made_is_named_with_its_field():
    from devices import WallClock
    from lab.errors import ConfigError
    from lab.files.device_kinds import Wire
    from lab.runtime.plate_kinds import LiquidHandlerKind, LiquidHandlerSettings

    settings = LiquidHandlerSettings.model_validate(
        {
            "transport": {
                "type": "pylabrobot",
                "backend": "pylabrobot.liquid_handling.backends:NoSuchBackend",
            },
            "labware": {"tips": {"type": "hamilton_96_tiprack_300uL", "slot": 1}},
        }
    )
    with pytest.raises(ConfigError) as refused:
        LiquidHandlerKind().build(
            "handler", settings, Wire("handler", None, 5.0, WallClock()), None
        )
    text = str(refused.value)
    assert "devices.handler.transport" in text
    assert "backend pylabrobot.liquid_handling.backends:NoSuchBackend cannot be made" in text
