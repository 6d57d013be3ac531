"""The lab server's event publisher: ids on every event, and a client that reconnects with
``Last-Event-ID`` gets what it missed."""

from __future__ import annotations

import asyncio
import json
import re

from lab.server._publisher import Publisher


async def _take(publisher: Publisher, n: int, last: int | None = None) -> list[str]:
    stream = publisher.stream(last)
    try:
        return [await asyncio.wait_for(anext(stream), 1.0) for _ in range(n)]
    finally:
        await stream.aclose()


def _id(text: str) -> int:
    found = re.match(r"id: (\d+)\n", text)
    assert found is not None, text
    return int(found.group(1))


async def test_every_event_has_an_id_and_its_data_says_the_same() -> None:
    publisher = Publisher()
    publisher.bind(asyncio.get_running_loop())
    publisher.publish("control", {"executor": "idle"})
    await asyncio.sleep(0)
    (text,) = await _take(publisher, 1)
    data = json.loads(text.split("data: ", 1)[1])
    assert _id(text) == data["seq"] and data["topic"] == "control"


async def test_a_client_that_reconnects_gets_what_it_missed_in_order() -> None:
    publisher = Publisher()
    publisher.bind(asyncio.get_running_loop())
    for i in range(10):
        publisher.publish("trial", {"trial": i})
    await asyncio.sleep(0)
    missed = await _take(publisher, 6, last=4)
    assert [_id(t) for t in missed] == [5, 6, 7, 8, 9, 10]
    assert [json.loads(t.split("data: ", 1)[1])["data"]["trial"] for t in missed] == list(
        range(4, 10)
    )


async def test_a_client_that_missed_more_than_the_history_gets_the_latest_of_each_topic() -> None:
    publisher = Publisher(history=5)
    publisher.bind(asyncio.get_running_loop())
    publisher.publish("control", {"executor": "running"})
    for i in range(20):
        publisher.publish("lab", {"tick": i})
    await asyncio.sleep(0)
    whole = await _take(publisher, 2, last=1)
    assert sorted(_id(t) for t in whole) == [1, 21]  # control's latest, lab's latest


async def test_events_from_several_threads_keep_their_numbers_in_order() -> None:
    publisher = Publisher(history=4000)
    publisher.bind(asyncio.get_running_loop())

    def burst(topic: str) -> None:
        for i in range(500):
            publisher.publish(topic, i)

    await asyncio.gather(*(asyncio.to_thread(burst, f"t{n}") for n in range(4)))
    await asyncio.sleep(0.05)
    everything = await _take(publisher, 2000, last=0)
    assert [_id(t) for t in everything] == list(range(1, 2001))
