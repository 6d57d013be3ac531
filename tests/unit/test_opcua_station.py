"""The OPC UA station driver against a real asyncua server on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil

import pytest
from asyncua import Client, ua
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256

from devices import DeviceBusy, DeviceDisconnected, DeviceFault, DeviceRefused, DeviceTimeout
from devices.synthesis_station._opcua import OpcuaSecurity, OpcuaStationDriver
from simulators import Reservoir, StationFirmware
from simulators.opcua_station import (
    CLIENT_URI,
    SERVER_URI,
    OpcuaStationServer,
    StationServerSecurity,
    free_port,
    make_key_pair,
)
from tests.conftest import small_workcell

pytestmark = pytest.mark.usefixtures("no_leaked_tasks")
USERS = {"operator": "s3cret"}


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory):
    """Server and client key pairs, one trusted client and one stranger."""
    root = tmp_path_factory.mktemp("pki")

    async def make():
        server = await make_key_pair(root / "server", "station", SERVER_URI, server=True)
        client = await make_key_pair(root / "client", "lab", CLIENT_URI, server=False)
        stranger = await make_key_pair(root / "stranger", "lab", CLIENT_URI, server=False)
        return server, client, stranger

    server, client, stranger = asyncio.run(make())
    trusted = root / "trusted"
    trusted.mkdir()
    shutil.copy(client.certificate, trusted)
    return server, client, stranger, trusted


def station() -> StationFirmware:
    clock, cell = small_workcell()
    return StationFirmware(clock, cell, "slot", {1: Reservoir("cyan", 3.0)})


def security(pair, mode: str = "SignAndEncrypt", **kw) -> OpcuaSecurity:
    return OpcuaSecurity(
        mode=mode,
        certificate=pair.certificate,
        private_key=pair.private_key,
        username="operator",
        password="s3cret",
        application_uri=CLIENT_URI,
        **kw,
    )


async def serve(keys, modes=("SignAndEncrypt",), users=USERS) -> OpcuaStationServer:
    server_keys, _, _, trusted = keys
    server = OpcuaStationServer(
        station(),
        free_port(),
        StationServerSecurity(list(modes), users, server_keys, trusted),
    )
    await server.start()
    return server


@pytest.fixture
async def secured(keys):
    server = await serve(keys, modes=("SignAndEncrypt", "Sign"))
    driver = OpcuaStationDriver(
        server.endpoint, "station", security(keys[1]), timeout=2, method_timeout=2
    )
    await driver.connect()
    yield driver, server
    await driver.close()
    await server.stop()


async def test_signed_and_encrypted_session_reads_subscribes_and_calls(secured):
    driver, _ = secured
    assert await driver.identify() == "SDL-Sim,SynthStation,SN2001,1.0"
    assert await driver.pumps() == {1: "cyan"}
    assert await driver.level(1) == 3.0
    await driver.set_temperature(60.0)
    await asyncio.sleep(0.3)
    # the reading comes from the subscription, not from a read
    assert driver._values[driver._temperature_node] == pytest.approx(60.0, abs=0.5)
    with pytest.raises(DeviceFault, match=r"station \(command 'Dispense'\): no vial in slot"):
        await driver.dispense(1, 1.0, 10.0)


async def test_a_dispense_completes_through_the_subscription(secured):
    driver, server = secured
    cell = server.station.workcell
    cell.put("slot", cell.take("rack"))
    await driver.dispense(1, 1.25, 10.0)  # returns once LastCompleted reports it done
    assert server.station.vial().contents_ml == {"cyan": pytest.approx(1.25)}
    assert await driver.level(1) == pytest.approx(1.75)
    assert await driver.vial() == (server.station.vial().id, pytest.approx(1.25))


async def test_sign_only_mode_connects_too(keys):
    server = await serve(keys, modes=("Sign",))
    driver = OpcuaStationDriver(server.endpoint, "station", security(keys[1], "Sign"), timeout=2)
    try:
        await driver.connect()
        assert await driver.stir() == 0.0
    finally:
        await driver.close()
        await server.stop()


@pytest.mark.parametrize(
    ("case", "words"),
    [
        ("untrusted certificate", "refused the session"),
        ("anonymous", "refused the session"),
        ("wrong password", "refused the session"),
        ("policy mismatch", "refused the session"),
        ("insecure", "refusing an unsecured OPC UA link"),
    ],
)
async def test_security_rejections_are_clear(keys, case: str, words: str):
    _, client, stranger, _ = keys
    server = await serve(keys)
    sec = {
        "untrusted certificate": security(stranger),
        "anonymous": OpcuaSecurity(
            "SignAndEncrypt", client.certificate, client.private_key, application_uri=CLIENT_URI
        ),
        "wrong password": OpcuaSecurity(
            "SignAndEncrypt",
            client.certificate,
            client.private_key,
            username="operator",
            password="guess",
            application_uri=CLIENT_URI,
        ),
        "policy mismatch": security(client, "Sign"),
        "insecure": OpcuaSecurity("None"),
    }[case]
    driver = OpcuaStationDriver(server.endpoint, "station", sec, timeout=3)
    try:
        with pytest.raises(DeviceRefused, match=words):
            await driver.connect()
    finally:
        await driver.close()
        await server.stop()


async def test_insecure_link_only_when_allowed_and_with_a_warning(keys, caplog):
    server = await serve(keys, modes=("None",), users=None)
    driver = OpcuaStationDriver(
        server.endpoint, "station", OpcuaSecurity("None", allow_insecure=True), timeout=2
    )
    try:
        with caplog.at_level(logging.WARNING):
            await driver.connect()
        assert "NOT secured" in caplog.text
        assert await driver.identify() == "SDL-Sim,SynthStation,SN2001,1.0"
    finally:
        await driver.close()
        await server.stop()


async def test_reconnects_after_a_server_restart_and_restores_the_subscription(secured):
    driver, server = secured
    await server.restart(downtime_s=0.3)
    server.station.set_temperature(42.0)
    for _ in range(100):  # the supervisor reconnects with a short backoff
        await asyncio.sleep(0.1)
        if driver._values.get(driver._temperature_node) == pytest.approx(42.0, abs=0.5):
            break
    assert driver._values[driver._temperature_node] == pytest.approx(42.0, abs=0.5)
    await driver.set_stir(300.0)
    assert await driver.stir() == 300.0


async def test_faults_give_typed_errors(secured):
    driver, server = secured
    server.station.error_state = "overtemperature interlock"
    with pytest.raises(DeviceFault, match="overtemperature interlock"):
        await driver.set_stir(100.0)
    server.station.error_state = None
    server.method_delay_s = 5.0
    with pytest.raises(DeviceTimeout, match=r"'SetTemperature'.*not retried"):
        await driver.set_temperature(50.0)
    server.method_delay_s = 0.0


async def test_an_unreachable_server_is_reported(keys):
    driver = OpcuaStationDriver(
        f"opc.tcp://127.0.0.1:{free_port()}/none", "station", security(keys[1]), timeout=1
    )
    with pytest.raises((DeviceDisconnected, DeviceRefused)):
        await driver.connect()
    await driver.close()


async def test_emergency_stop_ends_a_dispense_and_latches_until_reset(secured):
    driver, server = secured
    plc = server.station
    cell = plc.workcell
    cell.put("slot", cell.take("rack"))
    plc.clock.speed = 1.0  # a 6 s dispense in real time: the stop must not wait for it
    await driver.set_stir(600.0)
    level = plc.level(1)
    dispensing = asyncio.create_task(driver.dispense(1, 1.0, 10.0))
    await asyncio.sleep(0.2)
    await driver.emergency_stop()  # returns once the PLC reports Status == estop
    assert plc.rpm == 0 and plc.setpoint_c == plc.ambient_c
    with pytest.raises(DeviceFault, match=r"stopped by emergency stop after 0\.0"):
        await dispensing
    # the stroke ended where it was: what it pumped in ~0.2 s at 10 mL/min is in the vial
    pumped = plc.vial().contents_ml["cyan"]
    assert 0 < pumped < 10.0 / 60 * 1.0
    assert level - plc.level(1) == pytest.approx(pumped)
    assert await driver.state() == "estop"
    with pytest.raises(DeviceFault, match="RESET required"):
        await driver.set_stir(300.0)
    await driver.stop()  # the safe state is always allowed
    await driver.reset()
    assert await driver.state() == "idle"
    await driver.set_stir(300.0)
    assert plc.rpm == 300.0


async def test_a_second_driver_on_the_same_station_is_refused(secured, keys):
    driver, server = secured
    second = OpcuaStationDriver(server.endpoint, "station2", security(keys[1]), timeout=2)
    with pytest.raises(DeviceBusy, match=r"station2: .*/sdl/station is in use by process \d+"):
        await second.connect()
    await driver.close()
    await second.connect()  # released with the first driver's close
    await second.close()


async def test_the_plc_refuses_sessions_that_bypass_its_security(keys, monkeypatch):
    """A hostile client that ignores the endpoint list opens an unsecured channel (no
    client certificate) and logs in with the right password: the PLC refuses the session
    before anything can be commanded."""
    server = await serve(keys)
    monkeypatch.setattr(Client, "find_endpoint", staticmethod(lambda eps, mode, uri: eps[0]))
    client = Client(server.endpoint, timeout=3)
    try:
        await client.connect_socket()
        await client.send_hello()
        await client.open_secure_channel()
        await client.create_session()
        with pytest.raises(ua.UaStatusCodeError, match="BadUserAccessDenied"):
            await client.activate_session(username="operator", password="s3cret")
        assert server.station.rpm == 0.0
    finally:
        client.disconnect_socket()
        await server.stop()


def test_private_keys_are_readable_by_their_owner_only(keys):
    for pair in keys[:3]:
        assert pair.private_key.stat().st_mode & 0o777 == 0o600
        assert pair.private_key.parent.stat().st_mode & 0o777 == 0o700


async def test_each_operation_gets_its_own_result(keys):
    """Two dispenses end in the same PLC scan, one of them failed: the failure reaches
    that dispense and no other (a global last-error would hand it to both, or the wrong
    one)."""
    clock, cell = small_workcell()
    plc = StationFirmware(
        clock, cell, "slot", {1: Reservoir("cyan", 3.0), 2: Reservoir("ink", 3.0)}
    )
    plc.pumps[2].jammed = True
    server_keys, client, _, trusted = keys
    server = OpcuaStationServer(
        plc, free_port(), StationServerSecurity(["SignAndEncrypt"], USERS, server_keys, trusted)
    )
    await server.start()
    driver = OpcuaStationDriver(server.endpoint, "station", security(client), timeout=2)
    try:
        await driver.connect()
        cell.put("slot", cell.take("rack"))
        for _ in range(3):
            good, jammed = await asyncio.gather(
                driver.dispense(1, 0.1, 10.0), driver.dispense(2, 0.1, 10.0), return_exceptions=True
            )
            assert good is None
            assert isinstance(jammed, DeviceFault) and "pump 2 jammed" in str(jammed)
        assert plc.vial().contents_ml == {"cyan": pytest.approx(0.3)}
    finally:
        await driver.close()
        await server.stop()


async def test_methods_declare_what_they_return(keys):
    """What a client browsing the PLC sees: each argument named, both outputs declared."""
    server = await serve(keys)
    client = Client(server.endpoint, timeout=3)
    client.application_uri = CLIENT_URI
    await client.set_security(
        SecurityPolicyBasic256Sha256,
        str(keys[1].certificate),
        str(keys[1].private_key),
        mode=ua.MessageSecurityMode.SignAndEncrypt,
    )
    client.set_user("operator")
    client.set_password("s3cret")
    try:
        await client.connect()
        ns = await client.get_namespace_index("urn:sdl:synthesis-station")
        station = await client.nodes.objects.get_child(f"{ns}:SynthesisStation")
        declared = {}
        for method in ("Dispense", "Stop", "EmergencyStop"):
            node = await station.get_child(f"{ns}:{method}")
            arguments = {}
            for kind in ("InputArguments", "OutputArguments"):
                with contextlib.suppress(ua.UaError):  # a method without inputs has none
                    found = await (await node.get_child(f"0:{kind}")).read_value()
                    arguments[kind] = [a.Name for a in found]
            declared[method] = arguments
        assert declared["Dispense"] == {
            "InputArguments": ["Pump", "Volume_mL", "Rate_mL_min"],
            "OutputArguments": ["Error", "Operation"],
        }
        assert declared["Stop"]["OutputArguments"] == ["Error", "Operation"]
        assert declared["EmergencyStop"]["OutputArguments"] == ["Error"]
    finally:
        await client.disconnect()
        await server.stop()


async def test_a_station_stops_itself_when_its_controller_goes_silent(secured):
    """Once a lab killed mid-stir left the block hot and stirring until the next start."""
    driver, server = secured
    firmware = server.station
    firmware.heartbeat_s = 0.4
    await driver.set_stir(600.0)
    await driver.set_temperature(60.0)
    for _ in range(10):  # 1 s of heartbeats: the station goes on
        await driver.heartbeat()
        await asyncio.sleep(0.1)
    assert firmware.rpm == 600.0 and not firmware.estopped
    await asyncio.sleep(0.8)  # silence
    assert firmware.rpm == 0 and firmware.setpoint_c == firmware.ambient_c
    assert firmware.estopped and firmware.controller_lost_at is not None
    assert await driver.state() == "estop"  # latched, as after an emergency stop
