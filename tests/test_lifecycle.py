"""The incident state machine, alone: (status, event) -> new status and timeline entries."""

from __future__ import annotations

import pytest

from alertmanager_receiver.lifecycle import (
    ACKNOWLEDGED,
    OPEN,
    RESOLVED,
    RESOLVING,
    Acknowledged,
    Assessed,
    FiringAlertJoined,
    QuietPeriodElapsed,
    ResolvedByOperator,
    advance,
)


def kinds(transition) -> list[str]:
    return [entry.kind for entry in transition.entries]


def test_an_open_incident_whose_alerts_all_resolved_starts_its_quiet_period():
    transition = advance(OPEN, Assessed(firing=False, quiet_period=300))
    assert transition.after == RESOLVING and kinds(transition) == ["all_resolved"]
    assert transition.entries[0].detail == {"quiet_period_seconds": 300}
    assert transition.columns(1000.0) == {"status": RESOLVING, "resolving_since": 1000.0}


def test_an_acknowledged_incident_also_starts_its_quiet_period_when_everything_resolved():
    assert advance(ACKNOWLEDGED, Assessed(firing=False, quiet_period=60)).after == RESOLVING


def test_a_resolving_incident_with_a_firing_alert_again_is_open_without_a_timeline_entry():
    transition = advance(RESOLVING, Assessed(firing=True, quiet_period=60))
    assert transition.after == OPEN and kinds(transition) == []
    assert transition.columns(5.0) == {"status": OPEN, "resolving_since": None}


def test_a_firing_alert_joining_a_resolving_incident_reopens_it_and_says_why():
    transition = advance(RESOLVING, FiringAlertJoined("DiskFull"))
    assert transition.after == OPEN and kinds(transition) == ["reopened"]
    assert transition.entries[0].detail == {"alert": "DiskFull", "reason": "recurred within the quiet period"}


@pytest.mark.parametrize("status", [OPEN, ACKNOWLEDGED])
def test_a_firing_alert_joining_an_active_incident_changes_nothing(status):
    transition = advance(status, FiringAlertJoined("DiskFull"))
    assert not transition.changed and transition.entries == () and transition.columns(1.0) == {}


def test_the_quiet_period_elapsing_resolves_only_a_resolving_incident():
    transition = advance(RESOLVING, QuietPeriodElapsed(300))
    assert transition.after == RESOLVED and kinds(transition) == ["resolved"]
    assert transition.entries[0].detail["reason"] == "all alerts resolved for 300s"
    assert transition.columns(7.0) == {"status": RESOLVED, "resolving_since": None, "resolved_at": 7.0}
    assert not advance(OPEN, QuietPeriodElapsed(300)).changed


def test_acknowledging_moves_only_an_open_incident_but_is_always_recorded():
    assert advance(OPEN, Acknowledged("alice")).after == ACKNOWLEDGED
    for status in (ACKNOWLEDGED, RESOLVING, RESOLVED):
        transition = advance(status, Acknowledged("bob"))
        assert transition.after == status and kinds(transition) == ["acknowledged"]
        assert transition.entries[0].detail == {"by": "bob"}


@pytest.mark.parametrize("status", [OPEN, ACKNOWLEDGED, RESOLVING])
def test_an_operator_resolves_any_active_incident_and_it_is_recorded_with_who(status):
    transition = advance(status, ResolvedByOperator("carol"))
    assert transition.after == RESOLVED and transition.changed
    assert transition.entries[0].detail == {"by": "carol", "reason": "resolved through the API"}


def test_resolving_a_resolved_incident_again_is_recorded_but_changes_no_column():
    transition = advance(RESOLVED, ResolvedByOperator("carol"))
    assert not transition.changed and kinds(transition) == ["resolved"] and transition.columns(9.0) == {}
