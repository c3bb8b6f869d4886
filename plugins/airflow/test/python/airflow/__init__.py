"""Test stand-in for ``airflow`` (see _stub_core.py). ``from airflow import DAG`` is Airflow 2's spelling."""
from _stub_core import VERSION

if VERSION == 2:
    from airflow.models.dag import DAG  # noqa: F401
