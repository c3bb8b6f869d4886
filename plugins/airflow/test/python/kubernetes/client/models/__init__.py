"""Stand-ins for the kubernetes client's models the DAG files use, with their real keyword arguments."""


class _Model:
    fields = ()

    def __init__(self, **kwargs):
        unknown = set(kwargs) - set(self.fields)
        if unknown:
            raise TypeError(f"{type(self).__name__}.__init__() got an unexpected keyword argument '{sorted(unknown)[0]}'")
        self.values = {k: v for k, v in kwargs.items() if v is not None}


def _model(name, fields):
    return type(name, (_Model,), {"fields": tuple(fields) + ("local_vars_configuration",)})


V1ResourceRequirements = _model("V1ResourceRequirements", ["claims", "limits", "requests"])
V1Toleration = _model("V1Toleration", ["effect", "key", "operator", "toleration_seconds", "value"])
V1LocalObjectReference = _model("V1LocalObjectReference", ["name"])
V1EnvFromSource = _model("V1EnvFromSource", ["config_map_ref", "prefix", "secret_ref"])
V1SecretEnvSource = _model("V1SecretEnvSource", ["name", "optional"])
V1Volume = _model("V1Volume", ["name", "persistent_volume_claim", "secret", "config_map", "empty_dir", "host_path"])
V1PersistentVolumeClaimVolumeSource = _model("V1PersistentVolumeClaimVolumeSource", ["claim_name", "read_only"])
V1VolumeMount = _model("V1VolumeMount", ["mount_path", "mount_propagation", "name", "read_only", "recursive_read_only", "sub_path", "sub_path_expr"])
V1EnvVar = _model("V1EnvVar", ["name", "value", "value_from"])
