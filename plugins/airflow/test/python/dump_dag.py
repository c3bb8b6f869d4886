"""Imports a DAG file under the Airflow stand-ins and prints its structure as JSON: each DAG's
arguments and tasks (operator, arguments, upstream/downstream). With --run-id and --try, each task's
templated fields are also rendered the way Airflow renders them for that DAG run and try
(``{{ run_id }}``, ``{{ ti.try_number }}``, ``{% raw %}``; a value ending in one of the operator's
template_ext names a template file, which fails as in Airflow when there is no such file).

Usage: python3 dump_dag.py DAG_FILE [--run-id ID --try N]
"""
import argparse
import datetime
import importlib.util
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True

import _stub_core  # noqa: E402
from kubernetes.client.models import _Model  # noqa: E402
import pendulum  # noqa: E402


def to_json(value):
    if isinstance(value, datetime.timedelta):
        return {"timedelta": value.total_seconds()}
    if isinstance(value, pendulum.DateTime):
        return {"datetime": value.isoformat()}
    if isinstance(value, _Model):
        return {"k8s": type(value).__name__, **{k: to_json(v) for k, v in value.values.items()}}
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, _stub_core.DAGBase):
        return {"dag": value.dag_id}
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"cannot dump {value!r}")


class TemplateError(Exception):
    pass


_EXPR = re.compile(r"\{\{\s*(.*?)\s*\}\}")


def render_string(text, context, template_ext):
    if any(text.endswith(ext) for ext in template_ext):
        # Airflow reads it as a template file from the DAG's folder and template_searchpath (relative paths only, as Jinja's loader).
        for folder in context["__searchpath__"]:
            candidate = os.path.join(folder, text)
            if not os.path.isabs(text) and os.path.isfile(candidate):
                with open(candidate) as f:
                    return render_string_content(f.read(), context)
        raise TemplateError(f"TemplateNotFound: {text} (a value ending in {template_ext} is read as a template file from {context['__searchpath__']})")
    return render_string_content(text, context)


def render_string_content(text, context):
    out = []
    pos = 0
    for m in re.finditer(r"\{% raw %\}(.*?)\{% endraw %\}", text, re.S):
        out.append(render_plain(text[pos:m.start()], context))
        out.append(m.group(1))
        pos = m.end()
    out.append(render_plain(text[pos:], context))
    return "".join(out)


def render_plain(text, context):
    if "{%" in text or "{#" in text:
        raise TemplateError(f"unsupported template statement in {text!r}")

    def expr(m):
        e = m.group(1)
        if e in context and not e.startswith("__"):
            return str(context[e])
        literal = re.fullmatch(r"'([^']*)'", e)
        if literal:
            return literal.group(1)
        raise TemplateError(f"unknown template variable {e!r}")

    return _EXPR.sub(expr, text)


def render(value, context, template_ext):
    if isinstance(value, str):
        return render_string(value, context, template_ext)
    if isinstance(value, dict):
        return {k: render(v, context, template_ext) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, context, template_ext) for v in value]
    if isinstance(value, _Model):
        return {"k8s": type(value).__name__, **{k: render(to_json(v), context, template_ext) for k, v in value.values.items()}}
    return to_json(value)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dag_file")
    parser.add_argument("--run-id")
    parser.add_argument("--try", dest="try_number", type=int, default=1)
    args = parser.parse_args()
    spec = importlib.util.spec_from_file_location("orch_dag_under_test", args.dag_file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    dags = []
    for dag in _stub_core.DAGS:
        tasks = []
        for task in dag.tasks:
            entry = {
                "task_id": task.task_id,
                "operator": type(task).__name__,
                "kwargs": {k: to_json(v) for k, v in task.kwargs.items() if k != "dag"},
                "upstream": task.upstream,
                "downstream": task.downstream,
            }
            if args.run_id:
                searchpath = [os.path.dirname(os.path.abspath(args.dag_file))] + list(dag.kwargs.get("template_searchpath") or [])
                context = {"run_id": args.run_id, "ti.try_number": args.try_number, "__searchpath__": searchpath}
                try:
                    entry["rendered"] = {f: render(task.kwargs.get(f), context, type(task).template_ext) for f in type(task).template_fields if f in task.kwargs}
                except TemplateError as error:
                    entry["render_error"] = str(error)
            tasks.append(entry)
        dags.append({"dag_id": dag.dag_id, "module": type(dag).module, "kwargs": {k: to_json(v) for k, v in dag.kwargs.items()}, "tasks": tasks})
    json.dump({"airflow_version": _stub_core.VERSION, "dags": dags}, sys.stdout)


if __name__ == "__main__":
    main()
