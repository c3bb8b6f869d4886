"""Shared machinery of the test stand-ins for Airflow: the DAG context, operators that record their
arguments (rejecting unknown ones with TypeError, as the real classes do), ``>>`` edges, and a registry
the dumper reads. Which Airflow major version is stood in for comes from ORCH_AIRFLOW_STUB_VERSION."""
import inspect
import os

VERSION = int(os.environ.get("ORCH_AIRFLOW_STUB_VERSION", "3"))
DAGS = []
_CONTEXT = []

_NOTSET = object()


def bind(cls_name, signature_func, args, kwargs):
    """Check ``kwargs`` against the real constructor's signature (written as ``signature_func``)."""
    try:
        bound = inspect.signature(signature_func).bind(*args, **kwargs)
    except TypeError as error:
        raise TypeError(f"{cls_name}.__init__() {error}") from None
    return {k: v for k, v in bound.arguments.items()}


class DAGBase:
    signature = None  # set by the version modules
    module = None

    def __init__(self, *args, **kwargs):
        self.kwargs = bind("DAG", type(self).signature, args, kwargs)
        self.dag_id = self.kwargs["dag_id"]
        self.tasks = []
        DAGS.append(self)

    def __enter__(self):
        _CONTEXT.append(self)
        return self

    def __exit__(self, *exc):
        _CONTEXT.pop()
        return False


class BaseOperatorStub:
    operator_signature = None
    template_fields = ()
    template_ext = ()

    def __init__(self, *args, **kwargs):
        params = list(inspect.signature(type(self).operator_signature).parameters.values())
        params += [p for p in inspect.signature(_base_operator_signature()).parameters.values() if p.name not in {q.name for q in params}]
        sig = inspect.Signature([p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in params])
        try:
            bound = sig.bind(*args, **kwargs)
        except TypeError as error:
            raise TypeError(f"{type(self).__name__}.__init__() {error}") from None
        self.kwargs = dict(bound.arguments)
        self.task_id = self.kwargs["task_id"]
        self.upstream = []
        self.downstream = []
        dag = self.kwargs.get("dag") or (_CONTEXT[-1] if _CONTEXT else None)
        if dag is None:
            raise RuntimeError(f"task {self.task_id} was created outside a DAG")
        if any(t.task_id == self.task_id for t in dag.tasks):
            raise ValueError(f"Task id '{self.task_id}' has already been added to the DAG")
        default_args = dag.kwargs.get("default_args") or {}
        for key, value in default_args.items():
            self.kwargs.setdefault(key, value)
        self.dag = dag
        dag.tasks.append(self)

    def _link(self, other):
        others = other if isinstance(other, (list, tuple)) else [other]
        for o in others:
            if not isinstance(o, BaseOperatorStub):
                raise TypeError(f"cannot set a dependency on {o!r}")
            if o.task_id not in self.downstream:
                self.downstream.append(o.task_id)
            if self.task_id not in o.upstream:
                o.upstream.append(self.task_id)
        return other

    def __rshift__(self, other):
        return self._link(other)

    def __rrshift__(self, other):
        for o in other if isinstance(other, (list, tuple)) else [other]:
            o._link(self)
        return self

    def __lshift__(self, other):
        for o in other if isinstance(other, (list, tuple)) else [other]:
            o._link(self)
        return other


def _base_operator_signature():
    """BaseOperator's keyword arguments in the targeted Airflow versions."""
    if VERSION == 2:
        def sig(*, task_id, owner="airflow", email=None, email_on_retry=True, email_on_failure=True, retries=0, retry_delay=None,
                retry_exponential_backoff=False, max_retry_delay=None, start_date=None, end_date=None, depends_on_past=False,
                ignore_first_depends_on_past=True, wait_for_past_depends_before_skipping=False, wait_for_downstream=False, dag=None,
                params=None, default_args=None, priority_weight=1, weight_rule="downstream", queue="default", pool=None, pool_slots=1,
                sla=None, execution_timeout=None, on_execute_callback=None, on_failure_callback=None, on_success_callback=None,
                on_retry_callback=None, on_skipped_callback=None, pre_execute=None, post_execute=None, trigger_rule="all_success",
                resources=None, run_as_user=None, task_concurrency=None, map_index_template=None, max_active_tis_per_dag=None,
                max_active_tis_per_dagrun=None, executor=None, executor_config=None, do_xcom_push=True, multiple_outputs=False,
                inlets=None, outlets=None, task_group=None, doc=None, doc_md=None, doc_json=None, doc_yaml=None, doc_rst=None,
                task_display_name=None, logger_name=None, allow_nested_operators=True):
            pass
    else:
        def sig(*, task_id, owner="airflow", email=None, email_on_retry=True, email_on_failure=True, retries=0, retry_delay=None,
                retry_exponential_backoff=False, max_retry_delay=None, start_date=None, end_date=None, depends_on_past=False,
                ignore_first_depends_on_past=True, wait_for_past_depends_before_skipping=False, wait_for_downstream=False, dag=None,
                params=None, default_args=None, priority_weight=1, weight_rule="downstream", queue="default", pool=None, pool_slots=1,
                execution_timeout=None, on_execute_callback=None, on_failure_callback=None, on_success_callback=None,
                on_retry_callback=None, on_skipped_callback=None, pre_execute=None, post_execute=None, trigger_rule="all_success",
                resources=None, run_as_user=None, map_index_template=None, max_active_tis_per_dag=None,
                max_active_tis_per_dagrun=None, executor=None, executor_config=None, do_xcom_push=True, multiple_outputs=False,
                inlets=None, outlets=None, task_group=None, doc=None, doc_md=None, doc_json=None, doc_yaml=None, doc_rst=None,
                task_display_name=None, logger_name=None, allow_nested_operators=True, render_template_as_native_obj=None):
            pass
    return sig
