"""The execution clients' config: one-line errors naming the key, credentials never in config or repr."""

from __future__ import annotations

from decimal import Decimal

import pytest
from nautilus_trader.model.objects import Money

from macrofund.adapters.b3.config import B3ExecClientConfig
from macrofund.adapters.cme.config import CmeExecClientConfig
from macrofund.errors import ConfigError

SESSION = {"sender_comp_id": "MF", "target_comp_id": "B3", "port": 9880}


def test_password_comes_from_the_named_environment_variable_and_is_never_shown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MF_TEST_B3_PASSWORD", "s3cret-pw")
    config = B3ExecClientConfig(session=SESSION, password_env="MF_TEST_B3_PASSWORD")
    session = config.session_config()
    assert session.password is not None and session.password.get_secret_value() == "s3cret-pw"
    assert "s3cret-pw" not in repr(session) and "s3cret-pw" not in repr(config)


def test_missing_password_variable_is_a_one_line_error_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MF_TEST_NO_SUCH_VAR", raising=False)
    config = B3ExecClientConfig(session=SESSION, password_env="MF_TEST_NO_SUCH_VAR")
    with pytest.raises(ConfigError, match=r"^exec_clients\.B3\.password_env: .*MF_TEST_NO_SUCH_VAR") as info:
        config.session_config()
    assert "\n" not in str(info.value)


def test_bad_session_and_profile_keys_name_the_key() -> None:
    with pytest.raises(ConfigError, match=r"^exec_clients\.B3\.session\.port: "):
        B3ExecClientConfig(session={**SESSION, "port": 70000}).session_config()
    with pytest.raises(ConfigError, match=r"^exec_clients\.B3\.session\.sender_comp_id: "):
        B3ExecClientConfig(session={"target_comp_id": "B3"}).session_config()
    with pytest.raises(ConfigError, match=r"^exec_clients\.CME\.profile\.operator_id: "):
        CmeExecClientConfig(session=SESSION, profile={"location": "US,IL"}).venue_profile()
    with pytest.raises(ConfigError, match=r"^exec_clients\.B3\.profile\.memo_tagg: "):
        B3ExecClientConfig(session=SESSION, profile={"memo_tagg": 1}).venue_profile()


def test_starting_balances_are_exact_money_and_bad_ones_are_named() -> None:
    config = B3ExecClientConfig(session=SESSION, starting_balances=("12345678.91 BRL",))
    assert config.balances() == [Money(Decimal("12345678.91"), Money.from_str("1 BRL").currency)]
    with pytest.raises(ConfigError, match=r"starting_balances: 'lots BRL'"):
        B3ExecClientConfig(session=SESSION, starting_balances=("lots BRL",)).balances()


def test_venue_defaults() -> None:
    assert B3ExecClientConfig(session=SESSION).balances()[0].currency.code == "BRL"
    cme = CmeExecClientConfig(session=SESSION, profile={"operator_id": "OPS1", "location": "US,IL"})
    assert cme.balances()[0].currency.code == "USD"
    assert cme.venue_profile().logon_fields()[0] == (1603, "macrofund")
    assert cme.mass_cancel and not cme.cancel_on_reconnect
