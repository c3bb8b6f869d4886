"""Stand-in for Airflow 2's ``airflow.models.dag.DAG`` (2.7+), with its keyword arguments."""
from _stub_core import DAGBase, VERSION

if VERSION != 2:
    raise ImportError("this stand-in is Airflow 3: import DAG from airflow.sdk")


def _signature(dag_id, description=None, schedule=None, schedule_interval=None, timetable=None, start_date=None, end_date=None,
               full_filepath=None, template_searchpath=None, template_undefined=None, user_defined_macros=None,
               user_defined_filters=None, default_args=None, concurrency=None, max_active_tasks=16, max_active_runs=16,
               max_consecutive_failed_dag_runs=0, dagrun_timeout=None, sla_miss_callback=None, default_view="grid",
               orientation="LR", catchup=True, on_success_callback=None, on_failure_callback=None, doc_md=None, params=None,
               access_control=None, is_paused_upon_creation=None, jinja_environment_kwargs=None,
               render_template_as_native_obj=False, tags=None, owner_links=None, auto_register=True, fail_stop=False,
               dag_display_name=None):
    pass


class DAG(DAGBase):
    signature = _signature
    module = "airflow.models.dag"
