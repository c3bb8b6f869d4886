from airflow.models.dag import DAG  # noqa: F401
