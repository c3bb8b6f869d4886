"""Stand-in for Airflow 3's ``airflow.sdk`` (the Task SDK): DAG with its keyword arguments."""
from _stub_core import DAGBase, VERSION

if VERSION != 3:
    raise ImportError("No module named 'airflow.sdk' (this stand-in is Airflow 2)")


def _signature(dag_id, description=None, schedule=None, start_date=None, end_date=None, template_searchpath=None,
               template_undefined=None, user_defined_macros=None, user_defined_filters=None, default_args=None,
               max_active_tasks=16, max_active_runs=16, max_consecutive_failed_dag_runs=0, dagrun_timeout=None, catchup=False,
               on_success_callback=None, on_failure_callback=None, doc_md=None, params=None, access_control=None,
               is_paused_upon_creation=None, jinja_environment_kwargs=None, render_template_as_native_obj=False, tags=None,
               owner_links=None, auto_register=True, fail_fast=False, dag_display_name=None, deadline=None,
               disable_bundle_versioning=False):
    pass


class DAG(DAGBase):
    signature = _signature
    module = "airflow.sdk"
