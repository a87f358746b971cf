"""The settings of the opt-in production behaviours: fault specs, error names, and how
``--like-production`` and the individual settings combine (:mod:`emulator.domain.production`)."""

from __future__ import annotations

import pytest

from emulator.domain.faults import (
    FaultCall,
    FaultRate,
    FaultRule,
    fault_call,
    fault_error,
    format_fault_spec,
    parse_fault_spec,
)
from emulator.domain.limits import (
    PRODUCTION_ADD_VISIBILITY_DELAY_SECONDS,
    PRODUCTION_LEASE_RATE_LIMIT,
)
from emulator.domain.production import (
    ProductionOptions,
    parse_fault_seed,
    parse_lease_rate_limit,
    parse_visibility_delay,
    resolve_production,
)

PRODUCTION_FAULTS = (
    FaultRate(FaultCall.LEASE, "TRANSIENT_ERROR", 0.02),
    FaultRate(FaultCall.LEASE, "DEADLINE_EXCEEDED", 0.01),
)


def test_a_fault_spec_lists_call_error_and_rate() -> None:
    rates = parse_fault_spec(" lease=TRANSIENT_ERROR:0.05, add=DeadlineExceededError:1")

    assert rates == (
        FaultRate(FaultCall.LEASE, "TRANSIENT_ERROR", 0.05),
        FaultRate(FaultCall.ADD, "DEADLINE_EXCEEDED", 1.0),
    )


@pytest.mark.parametrize(
    ("spec", "mention"),
    [
        ("lease", "'lease' is not call=ERROR:RATE"),
        ("lease=TRANSIENT_ERROR", "is not call=ERROR:RATE"),
        ("lease=:0.5", "is not call=ERROR:RATE"),
        ("fetch=TRANSIENT_ERROR:0.5", "call must be one of add, lease, modify_lease, delete"),
        ("lease=OOPS:0.5", "error must be TransientError, DeadlineExceededError"),
        ("lease=OK:0.5", "error must be"),
        ("lease=TRANSIENT_ERROR:half", "the rate must be a number, not 'half'"),
        ("lease=TRANSIENT_ERROR:0", "rate must be more than 0 and at most 1"),
        ("lease=TRANSIENT_ERROR:1.5", "rate must be more than 0 and at most 1"),
        ("lease=TRANSIENT_ERROR:nan", "rate must be more than 0"),
        ("lease=TRANSIENT_ERROR:0.6,lease=INTERNAL_ERROR:0.6", "add up to 1.2, more than 1"),
        ("lease=TRANSIENT_ERROR:0.5,", "'' is not call=ERROR:RATE"),
    ],
)
def test_a_bad_fault_spec_says_what_is_wrong(spec: str, mention: str) -> None:
    with pytest.raises(ValueError, match=None) as caught:
        parse_fault_spec(spec)

    assert mention in str(caught.value)


def test_a_spec_of_none_or_off_means_no_faults_and_round_trips() -> None:
    assert parse_fault_spec("none") == parse_fault_spec(" OFF ") == ()
    assert format_fault_spec(()) == "none"
    spec = "lease=TRANSIENT_ERROR:0.02,lease=DEADLINE_EXCEEDED:0.01"
    assert format_fault_spec(parse_fault_spec(spec)) == spec


def test_error_names_and_aliases() -> None:
    assert fault_error("TransientError") == "TRANSIENT_ERROR"
    assert fault_error("DeadlineExceededError") == "DEADLINE_EXCEEDED"
    assert fault_error("TASK_LEASE_EXPIRED") == "TASK_LEASE_EXPIRED"
    for bad in ("SKIPPED", "OK", "transient_error", 2, None):
        with pytest.raises(ValueError, match="error must be"):
            fault_error(bad)
    assert fault_call("modify_lease") is FaultCall.MODIFY_LEASE
    with pytest.raises(ValueError, match="not 'lease_by_tag'"):
        fault_call("lease_by_tag")


def test_rules_check_their_error_and_count() -> None:
    with pytest.raises(ValueError, match="error must be"):
        FaultRule(FaultCall.LEASE, "TransientError")  # aliases are read by fault_error only
    for count in (0, -1, 1_000_001, True):
        with pytest.raises(ValueError, match="count must be a whole number from 1 to 1000000"):
            FaultRule(FaultCall.LEASE, "TRANSIENT_ERROR", count=count)


def test_nothing_is_on_by_default() -> None:
    options = resolve_production()

    assert options == ProductionOptions()
    assert not options.enabled
    assert options.describe() == []


def test_like_production_turns_on_production_figures() -> None:
    options = resolve_production(like_production=True)

    assert options == ProductionOptions(
        lease_rate_limit=PRODUCTION_LEASE_RATE_LIMIT,
        add_visibility_delay_seconds=PRODUCTION_ADD_VISIBILITY_DELAY_SECONDS,
        fault_rates=PRODUCTION_FAULTS,
    )
    assert (PRODUCTION_LEASE_RATE_LIMIT, PRODUCTION_ADD_VISIBILITY_DELAY_SECONDS) == (10, 1.0)
    assert options.describe() == [
        "lease rate limit: 10 per queue per second",
        "add visibility delay: 1 s",
        "injected faults: lease=TRANSIENT_ERROR:0.02,lease=DEADLINE_EXCEEDED:0.01 "
        "(seed chosen at start)",
    ]


def test_individual_settings_override_like_production_and_zero_or_none_switch_off() -> None:
    options = resolve_production(
        like_production=True,
        lease_rate_limit=0,
        add_visibility_delay=2.5,
        inject_faults="none",
        inject_faults_seed=9,
    )

    assert options == ProductionOptions(None, 2.5, (), 9)
    assert resolve_production(lease_rate_limit=3) == ProductionOptions(lease_rate_limit=3)
    assert resolve_production(inject_faults=list(PRODUCTION_FAULTS)).fault_rates == (
        PRODUCTION_FAULTS
    )


@pytest.mark.parametrize(
    ("kwargs", "mention"),
    [
        ({"lease_rate_limit": -1}, "lease_rate_limit: must be a whole number of leases"),
        ({"lease_rate_limit": 2.5}, "lease_rate_limit: must be a whole number"),
        ({"add_visibility_delay": -1}, "add_visibility_delay: must be a number of seconds"),
        ({"add_visibility_delay": 2_592_001}, "from 0 to 2592000"),
        ({"add_visibility_delay": "1"}, "add_visibility_delay: must be a number"),
        ({"inject_faults": "lease=X:1"}, "inject_faults: 'lease=X:1': error must be"),
        ({"inject_faults": 5}, "inject_faults: must be a spec like"),
        ({"inject_faults_seed": -2}, "inject_faults_seed: must be a whole number from 0"),
    ],
)
def test_bad_values_name_the_parameter(kwargs: dict[str, object], mention: str) -> None:
    with pytest.raises(ValueError) as caught:
        resolve_production(**kwargs)  # type: ignore[arg-type]

    assert mention in str(caught.value)


def test_the_text_parsers_read_what_flags_and_variables_hold() -> None:
    assert parse_lease_rate_limit(" 10 ") == 10
    assert parse_lease_rate_limit("off") == parse_lease_rate_limit("0") == 0
    assert parse_visibility_delay("0.5") == 0.5
    assert parse_fault_seed("42") == 42
    for parse, text in (
        (parse_lease_rate_limit, "ten"),
        (parse_visibility_delay, "soon"),
        (parse_visibility_delay, "inf"),
        (parse_fault_seed, "1.5"),
    ):
        with pytest.raises(ValueError, match=repr(text)):
            parse(text)
