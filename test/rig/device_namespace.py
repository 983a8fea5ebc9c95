"""The preopened directory a plugin sees (fd 3, `dev`): names of devices it may path_open."""
from typing import Dict, Optional

NAMESPACE_DIR = 'dev'
MAX_NAME_BYTES = 255


def name_problem(name: str) -> Optional[str]:
    if name in ('', '.', '..'):
        return 'is not a device name'
    if '/' in name:
        return "must not contain '/'"
    if len(name.encode('utf-8')) > MAX_NAME_BYTES:
        return f'is longer than {MAX_NAME_BYTES} bytes'
    return None


class DeviceNamespace:
    def __init__(self) -> None:
        self.devices: Dict[str, object] = {}

    def add(self, name: str, device: object) -> None:
        problem = name_problem(name)
        if problem:
            raise ValueError(f"device name '{name}' {problem}")
        if name in self.devices:
            raise ValueError(f"device name '{name}' is already in the namespace")
        self.devices[name] = device

    def lookup(self, name: str) -> Optional[object]:
        return self.devices.get(name)
