"""Stand-in for ``DockerOperator`` (apache-airflow-providers-docker), with its keyword arguments."""
from _stub_core import BaseOperatorStub


def _signature(*, image, api_version=None, command=None, container_name=None, cpus=1.0, docker_url=None, environment=None,
               private_environment=None, env_file=None, force_pull=False, mem_limit=None, host_tmp_dir=None, network_mode=None,
               tls_ca_cert=None, tls_client_cert=None, tls_client_key=None, tls_verify=True, tls_hostname=None,
               tls_ssl_version=None, mount_tmp_dir=True, tmp_dir="/tmp/airflow", user=None, mounts=None, entrypoint=None,
               working_dir=None, xcom_all=False, docker_conn_id=None, dns=None, dns_search=None, auto_remove="never",
               shm_size=None, tty=False, hostname=None, privileged=False, cap_add=None, extra_hosts=None, retrieve_output=False,
               retrieve_output_path=None, timeout=60, device_requests=None, log_opts_max_size=None, log_opts_max_file=None,
               ipc_mode=None, skip_on_exit_code=None, port_bindings=None, ulimits=None, labels=None):
    pass


class DockerOperator(BaseOperatorStub):
    operator_signature = _signature
    template_fields = ("image", "command", "environment", "env_file", "container_name", "mounts")
    template_ext = (".sh", ".bash", ".env")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.kwargs.get("auto_remove", "never") not in ("never", "success", "force"):
            raise ValueError(f"Invalid `auto_remove` value {self.kwargs.get('auto_remove')!r}, expected one of 'never', 'success', or 'force'.")
        if self.kwargs.get("port_bindings") and self.kwargs.get("network_mode") == "host":
            raise ValueError("Port bindings is not supported in the host network mode")
