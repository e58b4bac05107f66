"""On-call resolution: deterministic, DST-correct, with layers, restrictions and overrides."""

from __future__ import annotations

from datetime import UTC, datetime

from opsbook.config.model import validate
from opsbook.paging.schedule import Override, layers_of, on_call, shifts

PEOPLE = {"alice": {}, "bob": {}, "carol": {}}


def layers(schedule: dict[str, object], name: str = "primary") -> list:  # type: ignore[type-arg]
    config, problems = validate({"people": PEOPLE, "schedules": {name: schedule}})
    assert config is not None, problems
    return layers_of(name, config.paging.schedules[name], None)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


WEEKLY = {"timezone": "Europe/Paris", "rotation": "weekly", "handoff": "monday 09:00",
          "start": "2026-01-05", "members": ["alice", "bob"]}  # fmt: skip


def test_the_example_schedule_rotates_weekly_at_the_local_handoff() -> None:
    [layer] = layers(WEEKLY)
    assert on_call(layer, at("2026-01-05T09:00:00+01:00")).person == "alice"
    assert on_call(layer, at("2026-01-12T08:59:00+01:00")).person == "alice"
    assert on_call(layer, at("2026-01-12T09:00:00+01:00")).person == "bob"
    assert on_call(layer, at("2026-01-19T09:00:00+01:00")).person == "alice"


def test_the_handoff_stays_at_nine_local_across_the_dst_change() -> None:
    [layer] = layers(WEEKLY)
    # Paris moves to summer time on Sunday 2026-03-29; Monday's handoff is 09:00 CEST = 07:00 UTC
    before = on_call(layer, at("2026-03-30T06:59:00+00:00"))
    after = on_call(layer, at("2026-03-30T07:00:00+00:00"))
    assert (before.person, after.person) == ("bob", "alice")
    assert after.start == at("2026-03-30T09:00:00+02:00")
    assert before.start == at("2026-03-23T09:00:00+01:00")  # the week that spans the change
    assert (after.start - before.start).total_seconds() == 7 * 86400 - 3600
    # and back in October: Monday 2026-10-26 09:00 CET = 08:00 UTC
    assert on_call(layer, at("2026-10-26T07:59:00+00:00")).end == at("2026-10-26T08:00:00+00:00")


def test_the_same_config_and_time_always_give_the_same_person() -> None:
    moments = [at(f"2026-{m:02d}-{d:02d}T{h:02d}:17:00+00:00")
               for m in (1, 3, 6, 10, 11) for d in (1, 15, 28) for h in (0, 8, 23)]  # fmt: skip
    first = [on_call(layers(WEEKLY)[0], t).person for t in moments]
    again = [on_call(layers(WEEKLY)[0], t).person for t in moments]
    assert first == again
    assert set(first) == {"alice", "bob"}


def test_layers_and_business_hours_restrictions() -> None:
    schedule = {
        "timezone": "America/New_York",
        "layers": {
            "primary": {"members": ["alice", "bob"], "rotation": "daily", "handoff": "08:00"},
            "secondary": {"members": ["carol"], "rotation": "weekly", "handoff": "monday 08:00",
                          "restrictions": [{"days": ["monday", "tuesday", "wednesday",
                                                     "thursday", "friday"],
                                            "from": "09:00", "to": "17:00"}]},
        },
    }  # fmt: skip
    primary, secondary = layers(schedule, "oncall")
    monday_noon = at("2026-03-02T12:00:00-05:00")
    saturday_noon = at("2026-03-07T12:00:00-05:00")
    assert on_call(primary, monday_noon).person in {"alice", "bob"}
    assert on_call(secondary, monday_noon).person == "carol"
    assert on_call(secondary, saturday_noon).person is None
    assert on_call(secondary, at("2026-03-02T18:00:00-05:00")).person is None
    tuesday = on_call(primary, at("2026-03-03T12:00:00-05:00")).person
    assert tuesday != on_call(primary, monday_noon).person  # daily rotation


def test_custom_rotation_every_three_days() -> None:
    [layer] = layers({"rotation": "custom", "every": "3d", "handoff": "10:00",
                      "start": "2026-02-01", "members": ["alice", "bob", "carol"]})  # fmt: skip
    assert [on_call(layer, at(f"2026-02-{d:02d}T12:00:00+00:00")).person
            for d in (1, 3, 4, 7, 10)] == ["alice", "alice", "bob", "carol", "alice"]  # fmt: skip


def test_an_override_replaces_the_rotation_for_its_span() -> None:
    [layer] = layers(WEEKLY)
    cover = Override(1, "primary", None, "carol", at("2026-01-09T18:00:00+01:00"),
                     at("2026-01-12T09:00:00+01:00"))  # fmt: skip
    assert on_call(layer, at("2026-01-10T12:00:00+01:00"), [cover]).person == "carol"
    assert on_call(layer, at("2026-01-09T17:00:00+01:00"), [cover]).person == "alice"
    covered = list(shifts(layer, at("2026-01-08T00:00:00+01:00"), at("2026-01-14T00:00:00+01:00"),
                          [cover]))  # fmt: skip
    assert [(s.person, s.override) for s in covered] == [
        ("alice", None), ("carol", 1), ("bob", None),
    ]  # fmt: skip
    assert covered[1].start == cover.start and covered[1].end == cover.end


def test_schedule_errors_are_config_errors() -> None:
    _, problems = validate({"people": PEOPLE, "schedules": {"p": {"members": ["zed"]}}})
    assert problems[0].message == "'zed' is not in people:"
    _, problems = validate({"people": PEOPLE, "schedules": {"p": {"members": ["alice"],
                                                                 "rotation": "weekly",
                                                                 "handoff": "09:00"}}})  # fmt: skip
    assert "a weekly rotation hands off on a day" in problems[0].message
