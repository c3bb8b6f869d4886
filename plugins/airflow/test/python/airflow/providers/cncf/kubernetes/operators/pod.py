"""Stand-in for ``KubernetesPodOperator`` (apache-airflow-providers-cncf-kubernetes), with its keyword arguments."""
from _stub_core import BaseOperatorStub


def _signature(*, kubernetes_conn_id="kubernetes_default", namespace=None, image=None, name=None, random_name_suffix=True,
               cmds=None, arguments=None, ports=None, volume_mounts=None, volumes=None, env_vars=None, env_from=None,
               secrets=None, in_cluster=None, cluster_context=None, labels=None, reattach_on_restart=True,
               startup_timeout_seconds=120, startup_check_interval_seconds=5, schedule_timeout_seconds=None, get_logs=True,
               base_container_name=None, base_container_status_polling_interval=1, init_container_logs=None,
               container_logs=None, image_pull_policy=None, annotations=None, container_resources=None, affinity=None,
               config_file=None, node_selector=None, image_pull_secrets=None, service_account_name=None,
               automount_service_account_token=None, hostnetwork=False, host_aliases=None, tolerations=None,
               security_context=None, container_security_context=None, dnspolicy=None, dns_config=None, hostname=None,
               subdomain=None, schedulername=None, full_pod_spec=None, init_containers=None, log_events_on_failure=False,
               do_xcom_push=False, pod_template_file=None, pod_template_dict=None, priority_class_name=None,
               pod_runtime_info_envs=None, termination_grace_period=None, configmaps=None, skip_on_exit_code=None,
               deferrable=False, poll_interval=2, log_pod_spec_on_failure=True, on_finish_action="delete_pod",
               is_delete_operator_pod=None, termination_message_policy="File", active_deadline_seconds=None, callbacks=None,
               progress_callback=None, logging_interval=None, trigger_kwargs=None, container_name_log_prefix_enabled=True,
               log_formatter=None):
    pass


class KubernetesPodOperator(BaseOperatorStub):
    operator_signature = _signature
    template_fields = ("image", "cmds", "annotations", "arguments", "env_vars", "labels", "config_file", "pod_template_file",
                       "pod_template_dict", "namespace", "container_resources", "volumes", "volume_mounts", "cluster_context",
                       "env_from", "node_selector", "kubernetes_conn_id", "base_container_name", "trigger_kwargs")
    template_ext = ("yaml", "yml", "json")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from kubernetes.client import models as k8s
        resources = self.kwargs.get("container_resources")
        if resources is not None and not isinstance(resources, k8s.V1ResourceRequirements):
            raise TypeError("container_resources must be a k8s.V1ResourceRequirements")
        for t in self.kwargs.get("tolerations") or []:
            if not isinstance(t, (k8s.V1Toleration, dict)):
                raise TypeError("tolerations must be k8s.V1Toleration objects")
