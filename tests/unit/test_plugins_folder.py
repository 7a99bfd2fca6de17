"""Airflow's plugin loader must not import our packages' files under their bare names."""

from __future__ import annotations

from pathlib import Path

PLUGINS = Path(__file__).resolve().parents[2] / "plugins"


def test_plugin_loader_skips_our_packages():
    from airflow._shared.module_loading import find_path_from_directory

    seen = [Path(p) for p in find_path_from_directory(str(PLUGINS), ".airflowignore", "glob")]
    python_files = [p.relative_to(PLUGINS) for p in seen if p.suffix == ".py"]
    # Otherwise plugins/reporting/sql.py would be loaded as the top-level module "sql", and a
    # file named like an installed library would replace that library for the whole process.
    # The one plugin file is reporting_plugin.py, at the top.
    assert python_files == [Path("reporting_plugin.py")]


def test_loading_plugins_leaves_installed_libraries_alone():
    import sys

    import requests
    from airflow._shared.plugins_manager.plugins_manager import _load_plugins_from_plugin_directory

    plugins, errors = _load_plugins_from_plugin_directory(str(PLUGINS))
    assert errors == {}
    assert [p.name for p in plugins] == ["reporting"]
    assert sys.modules["requests"] is requests
    assert not {"definition", "sql", "errors", "lifecycle", "request_store"} & set(sys.modules)
