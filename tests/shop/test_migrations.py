import pytest
from sqlalchemy import inspect

from shop.db import Database
from shop.errors import ConfigError
from shop.models import Base
from shop.settings import Settings, load_settings


def test_migrations_from_empty_create_every_table_and_are_idempotent(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    db.migrate()
    db.migrate()
    tables = set(inspect(db.engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables
    db.dispose()


def test_default_database_is_sqlite_under_home(tmp_path):
    s = Settings(home=tmp_path / "h")
    assert s.resolved_database_url.startswith("sqlite:///") and str(tmp_path / "h") in s.resolved_database_url


def test_bad_database_url_says_what_to_fix():
    with pytest.raises(ConfigError, match="SHOPAGENT_DATABASE_URL"):
        Database("not a url")


def test_malformed_settings_name_the_variable(monkeypatch):
    monkeypatch.setenv("SHOPAGENT_MAX_STEPS", "lots")
    with pytest.raises(ConfigError, match="SHOPAGENT_MAX_STEPS"):
        load_settings()
    monkeypatch.delenv("SHOPAGENT_MAX_STEPS")
    with pytest.raises(ConfigError, match="SHOPAGENT_MODEL"):
        load_settings(model="gpt-4")


def test_model_default_depends_on_api_key(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("SHOPAGENT_MODEL", raising=False)
    assert load_settings().resolved_model == "offline"
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    assert load_settings().resolved_model == "openai:gpt-4o-mini"
