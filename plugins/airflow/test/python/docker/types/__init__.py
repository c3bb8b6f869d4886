"""Stand-ins for docker-py's ``Mount`` and ``DeviceRequest``, with their real arguments."""


class Mount(dict):
    def __init__(self, target, source, type="volume", read_only=False, consistency=None, propagation=None, no_copy=False,
                 labels=None, driver_config=None, tmpfs_size=None, tmpfs_mode=None):
        super().__init__(Target=target, Source=source, Type=type, ReadOnly=read_only)


class DeviceRequest(dict):
    def __init__(self, driver="", count=0, device_ids=None, capabilities=None, options=None):
        super().__init__(Driver=driver, Count=count, DeviceIDs=device_ids or [], Capabilities=capabilities or [], Options=options or {})
