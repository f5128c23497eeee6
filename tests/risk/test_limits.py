import json
from decimal import Decimal

import pytest

from config.settings import Settings
from risk import USER_WIDE_LIMITS, OverrideScope, RiskConfigError, RiskLimits


def test_from_settings_when_defaults_then_matches_settings_risk_fields():
    settings = Settings(_env_file=None)
    limits = RiskLimits.from_settings(settings)
    assert limits == RiskLimits()
    assert limits.risk_per_trade == settings.risk_per_trade
    assert limits.breaker_cooldown_minutes == settings.breaker_cooldown_minutes
    assert limits.max_open_positions == settings.max_open_positions


def test_from_settings_when_operator_changed_a_field_then_it_is_used():
    settings = Settings(_env_file=None, risk_per_trade=Decimal("0.02"), breaker_max_consecutive_losses=5)
    limits = RiskLimits.from_settings(settings)
    assert limits.risk_per_trade == Decimal("0.02")
    assert limits.breaker_max_consecutive_losses == 5


def test_from_settings_when_setting_out_of_range_then_clear_error():
    settings = Settings(_env_file=None, risk_per_trade=Decimal("0.5"))
    with pytest.raises(RiskConfigError, match=r"risk_per_trade must be greater than 0 and at most 0.1 \(got 0.5\)"):
        RiskLimits.from_settings(settings)


def test_with_overrides_when_text_values_then_converted_to_field_types():
    limits = RiskLimits().with_overrides({"risk_per_trade": "0.02", "max_leverage": "3", "min_confidence": 0.7})
    assert limits.risk_per_trade == Decimal("0.02")
    assert limits.max_leverage == 3 and isinstance(limits.max_leverage, int)
    assert limits.min_confidence == Decimal("0.7")


def test_with_overrides_when_percent_text_on_fraction_then_divided_by_hundred():
    assert RiskLimits().with_overrides({"breaker_daily_loss_pct": "3%"}).breaker_daily_loss_pct == Decimal("0.03")


def test_with_overrides_when_percent_text_on_non_fraction_then_rejected():
    with pytest.raises(RiskConfigError, match="min_reward_risk must be a number"):
        RiskLimits().with_overrides({"min_reward_risk": "2%"})


def test_with_overrides_when_none_or_empty_then_same_limits():
    limits = RiskLimits()
    assert limits.with_overrides(None) is limits
    assert limits.with_overrides({}) is limits


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"risk_per_trad": "0.01"}, "unknown risk setting 'risk_per_trad'; known settings: risk_per_trade"),
        ({"max_leverage": "2.5"}, r"max_leverage must be a whole number \(got '2.5'\)"),
        ({"max_leverage": 0}, r"max_leverage must be at least 1 and at most 125 \(got 0\)"),
        ({"max_open_positions": True}, "max_open_positions must be a number"),
        ({"risk_per_trade": None}, "risk_per_trade must be a number"),
        ({"risk_per_trade": "lots"}, "risk_per_trade must be a number"),
        ({"risk_per_trade": "NaN"}, "risk_per_trade must be a number"),
        ({"breaker_daily_loss_pct": "1"}, "breaker_daily_loss_pct must be greater than 0 and less than 1"),
        ({"min_atr_fraction": "0.2"}, r"min_atr_fraction \(0.2\) must be below max_atr_fraction \(0.10\)"),
        ({"min_stop_fraction": "0.2"}, r"min_stop_fraction \(0.2\) must be below max_stop_fraction \(0.15\)"),
    ],
)
def test_with_overrides_when_bad_value_then_error_names_key_and_value(overrides, message):
    limits = RiskLimits()
    with pytest.raises(RiskConfigError, match=message):
        limits.with_overrides(overrides)
    assert limits == RiskLimits()


def test_with_overrides_when_several_bad_values_then_every_problem_reported_at_once():
    with pytest.raises(RiskConfigError) as error:
        RiskLimits().with_overrides({"max_leverage": "x", "risk_per_trade": "9", "nope": 1})
    text = str(error.value)
    assert "max_leverage must be a number" in text
    assert "risk_per_trade must be" in text
    assert "unknown risk setting 'nope'" in text


def test_resolve_when_user_then_pair_overrides_then_pair_wins():
    limits = RiskLimits().resolve(
        {"risk_per_trade": "0.02", "max_open_positions": 2}, {"risk_per_trade": "0.005", "max_leverage": 2}
    )
    assert limits.risk_per_trade == Decimal("0.005")
    assert limits.max_leverage == 2
    assert limits.max_open_positions == 2


@pytest.mark.parametrize("key", sorted(USER_WIDE_LIMITS))
def test_with_overrides_when_user_wide_key_at_pair_scope_then_refused(key):
    value = RiskLimits().to_dict()[key]
    with pytest.raises(RiskConfigError, match=f"{key} applies to all of a user's pairs"):
        RiskLimits().with_overrides({key: value}, OverrideScope.PAIR)


def test_normalize_overrides_when_valid_then_json_safe_for_storage():
    stored = RiskLimits().normalize_overrides({"risk_per_trade": 0.02, "max_leverage": "4", "min_confidence": "70%"})
    assert stored == {"risk_per_trade": "0.02", "max_leverage": 4, "min_confidence": "0.7"}
    assert RiskLimits().with_overrides(json.loads(json.dumps(stored))).min_confidence == Decimal("0.7")


def test_normalize_overrides_when_cross_field_conflict_then_refused():
    with pytest.raises(RiskConfigError, match="must be below max_atr_fraction"):
        RiskLimits().normalize_overrides({"max_atr_fraction": "0.0001"})


def test_to_dict_when_dumped_and_reloaded_as_overrides_then_equal_limits():
    custom = RiskLimits().with_overrides({"risk_per_trade": "0.015", "max_trades_per_day": 4})
    assert RiskLimits().with_overrides(json.loads(json.dumps(custom.to_dict()))) == custom


def test_describe_when_known_key_then_meaning_and_range_and_unknown_key_then_error():
    assert RiskLimits.describe("max_leverage") == (
        "max_leverage: highest leverage used on perpetuals (at least 1 and at most 125)"
    )
    with pytest.raises(RiskConfigError, match="unknown risk setting"):
        RiskLimits.describe("leverage")
